//! Projects in the index: create, update, archive, delete; threads in them; counts.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::view_json::to_json_text;
use chatsync_model::{
    Index, ListOptions, ModelError, Patch, PatchTarget, ProjectId, ReadAt, ThreadSummary,
};
use serde_json::json;

use crate::support::{T0, actor, append, new_thread, thread_id};

fn fields(value: serde_json::Value) -> Patch {
    crate::support::patch(PatchTarget::Project, value)
}

fn named(name: &str) -> Patch {
    fields(json!({ "name": name }))
}

fn pid(id: &str) -> ProjectId {
    ProjectId::new(id).unwrap()
}

fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

fn thread(id: &str, project: Option<&str>, at: u64) -> ThreadSummary {
    ThreadSummary {
        title: id.into(),
        status: chatsync_model::ThreadStatus::Active,
        created_at: at,
        last_activity_at: at,
        project_id: project.map(Into::into),
        ..ThreadSummary::new(chatsync_model::ThreadId::new(id).unwrap())
    }
}

#[test]
fn a_project_has_every_field_of_the_sources_and_writes_them_as_json() {
    let mut index = Index::new(actor("a"));
    let init = fields(json!({
        "name": "Website",
        "description": "The shop",
        "path": "/src/shop",
        "type": "web",
        "framework": "react",
        "language": "typescript",
        "status": "active",
        "lastOpened": 5,
        "settings": { "model": "x" },
        "metadata": { "color": "red" },
    }));
    let project = index.create_project(&pid("p1"), &init, T0).unwrap();
    assert_eq!(project.name, "Website");
    assert_eq!(project.fields.text("type"), Some("web"));
    assert_eq!((project.created_at, project.updated_at), (T0, T0));
    assert_eq!((project.thread_count, project.last_activity_at), (0, None));
    let value: serde_json::Value = serde_json::from_str(&to_json_text(&project, &is_json)).unwrap();
    assert_eq!(value, serde_json::to_value(&project).unwrap());
    assert_eq!(value["type"], "web");
    assert_eq!(value["lastOpened"], 5);
    assert_eq!(value["settings"]["model"], "x");
    assert_eq!(value["threadCount"], 0);
    assert_eq!(value["archived"], false);

    let patch = fields(json!({ "name": "Shop", "description": null, "lastOpened": 9 }));
    let updated = index.update_project(&pid("p1"), &patch, T0 + 1).unwrap();
    assert_eq!(updated.name, "Shop");
    assert_eq!(updated.fields.get("description"), None);
    assert_eq!(
        updated.fields.text("framework"),
        Some("react"),
        "untouched fields stay"
    );
    assert_eq!(
        (updated.fields.get("lastOpened"), updated.updated_at),
        (Some(&chatsync_model::FieldValue::Number(9)), T0 + 1)
    );
}

#[test]
fn bad_projects_are_refused_with_typed_errors() {
    let mut index = Index::new(actor("a"));
    index.create_project(&pid("p"), &named("P"), T0).unwrap();
    let heads = index.heads();
    let err = index
        .create_project(&pid("p"), &named("again"), T0)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::AlreadyExists {
                kind: "project",
                ..
            }
        ),
        "{err}"
    );
    let err = Patch::from_json(PatchTarget::Project, &json!({ "name": " " })).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let err = index
        .create_project(&pid("q"), &fields(json!({ "path": "/x" })), T0)
        .unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    let err = Patch::from_json(PatchTarget::Project, &json!({ "metadata": [1] })).unwrap_err();
    assert!(matches!(err, ModelError::InvalidJson { .. }), "{err}");
    let err = index
        .update_project(&pid("nope"), &Patch::new(PatchTarget::Project), T0)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::NotFound {
                kind: "project",
                ..
            }
        ),
        "{err}"
    );
    assert!(ProjectId::new("has/slash").is_err());
    assert!(Patch::from_json(PatchTarget::Project, &json!({ "colour": 1 })).is_err());
    let err = index
        .update_project(&pid("p"), &fields(json!({ "name": null })), T0)
        .unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    assert_eq!(index.heads(), heads, "a refused write changed the index");
}

#[test]
fn archived_projects_are_listed_only_when_asked() {
    let mut index = Index::new(actor("a"));
    index.create_project(&pid("b"), &named("Beta"), T0).unwrap();
    index
        .create_project(&pid("a"), &named("Alpha"), T0)
        .unwrap();
    index.archive_project(&pid("b"), T0 + 1).unwrap();
    let names = |all| -> Vec<String> {
        index
            .list_projects(all)
            .into_iter()
            .map(|p| p.name)
            .collect()
    };
    assert_eq!(names(false), ["Alpha"]);
    assert_eq!(names(true), ["Alpha", "Beta"]);
    let unarchive = fields(json!({ "archived": false }));
    index.update_project(&pid("b"), &unarchive, T0 + 2).unwrap();
    assert_eq!(index.list_projects(false).len(), 2);
}

#[test]
fn threads_are_listed_and_counted_by_project() {
    let mut index = Index::new(actor("a"));
    index.create_project(&pid("p"), &named("P"), T0).unwrap();
    index.upsert(&thread("t1", Some("p"), T0 + 10), T0).unwrap();
    index.upsert(&thread("t2", Some("p"), T0 + 30), T0).unwrap();
    index.upsert(&thread("t3", None, T0 + 40), T0).unwrap();
    index.upsert(&thread("t4", Some("p"), T0 + 50), T0).unwrap();
    index
        .trash(&chatsync_model::ThreadId::new("t4").unwrap(), T0 + 60)
        .unwrap();
    let project = index.project(&pid("p")).unwrap();
    assert_eq!(project.thread_count, 2, "trashed threads are not counted");
    assert_eq!(project.last_activity_at, Some(T0 + 30));
    let in_p = index.list(ListOptions {
        project_id: Some(pid("p")),
        ..ListOptions::default()
    });
    let ids: Vec<String> = in_p.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(ids, ["t2", "t1"]);
}

#[test]
fn deleting_a_project_leaves_its_threads_working_in_no_project() {
    let mut index = Index::new(actor("a"));
    index.create_project(&pid("p"), &named("P"), T0).unwrap();
    let mut thread = new_thread();
    thread
        .move_to_project(&index, Some(&pid("p")), T0 + 1)
        .unwrap();
    index
        .upsert(&thread.summary(ReadAt::new(T0 + 1)), T0 + 1)
        .unwrap();
    assert_eq!(index.project(&pid("p")).unwrap().thread_count, 1);

    index.delete_project(&pid("p"), T0 + 2).unwrap();
    assert!(index.project(&pid("p")).is_none());
    assert!(index.list_projects(true).is_empty());
    assert_eq!(index.get(&thread_id()).unwrap().project_id, None);
    let view = thread.view(ReadAt::new(T0 + 3));
    assert_eq!(index.resolve_project_id(view.project_id), None);
    // The thread keeps working, and can no longer be moved into the deleted project.
    append(
        &mut thread,
        "m1",
        chatsync_model::Role::User,
        "still here",
        T0 + 3,
    );
    index
        .upsert(&thread.summary(ReadAt::new(T0 + 3)), T0 + 3)
        .unwrap();
    assert_eq!(index.get(&thread_id()).unwrap().project_id, None);
    let err = thread
        .move_to_project(&index, Some(&pid("p")), T0 + 4)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::NotFound {
                kind: "project",
                ..
            }
        ),
        "{err}"
    );
    // Ids are not reused, and a deleted project cannot be written.
    assert!(
        index
            .create_project(&pid("p"), &named("P2"), T0 + 5)
            .is_err()
    );
    assert!(
        index
            .update_project(&pid("p"), &Patch::new(PatchTarget::Project), T0 + 5)
            .is_err()
    );
    assert!(index.delete_project(&pid("p"), T0 + 5).is_err());
    thread.move_to_project(&index, None, T0 + 6).unwrap();
}

#[test]
fn a_rename_racing_a_deletion_stays_deleted() {
    let mut a = Index::new(actor("a"));
    a.create_project(&pid("p"), &named("P"), T0).unwrap();
    let mut b = Index::load(&a.save().unwrap(), actor("b")).unwrap();
    a.delete_project(&pid("p"), T0 + 1).unwrap();
    let rename = named("renamed");
    b.update_project(&pid("p"), &rename, T0 + 2).unwrap();
    let mut b_copy = Index::load(&b.save().unwrap(), actor("c")).unwrap();
    a.merge(&mut b_copy).unwrap();
    assert!(a.project(&pid("p")).is_none());
    assert!(
        a.sweep_purged(T0 + 3).unwrap(),
        "the rename's leftovers are erased"
    );
    assert!(!a.sweep_purged(T0 + 4).unwrap());
    assert!(a.project(&pid("p")).is_none());
}
