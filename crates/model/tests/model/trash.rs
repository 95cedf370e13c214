//! Unarchive, trash, restore and purge in the index.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::automerge::ReadDoc;
use chatsync_model::view_json::to_json_text;
use chatsync_model::{Index, ListOptions, ModelError, ReadAt, Role, ThreadId, ThreadStatus};

use crate::support::{T0, actor, append, new_thread, prefs, thread_id};

const DAY: u64 = 86_400_000;

fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// An index holding the test thread, with one user message.
fn listed() -> Index {
    let mut thread = new_thread();
    append(&mut thread, "m1", Role::User, "secret plans", T0);
    let mut index = Index::new(actor("device-a"));
    index.upsert(&thread.summary(ReadAt::new(T0)), T0).unwrap();
    index
}

fn ids(index: &Index, options: ListOptions) -> Vec<String> {
    index
        .list(options)
        .into_iter()
        .map(|s| s.id.to_string())
        .collect()
}

fn trashed() -> ListOptions {
    ListOptions {
        trashed: true,
        ..ListOptions::default()
    }
}

#[test]
fn an_archived_thread_can_be_unarchived() {
    let mut index = listed();
    index
        .set_status(&thread_id(), ThreadStatus::Archived, T0 + 1)
        .unwrap();
    assert!(ids(&index, ListOptions::default()).is_empty());
    index
        .set_status(&thread_id(), ThreadStatus::Active, T0 + 2)
        .unwrap();
    assert_eq!(ids(&index, ListOptions::default()), ["thread-1"]);
    let mut thread = new_thread();
    thread.set_status(ThreadStatus::Archived, T0 + 1).unwrap();
    thread.set_status(ThreadStatus::Active, T0 + 2).unwrap();
    assert_eq!(thread.status(), ThreadStatus::Active);
}

#[test]
fn a_trashed_thread_is_listed_only_in_the_trash_and_restores_as_it_was() {
    let mut index = listed();
    index
        .set_status(&thread_id(), ThreadStatus::Archived, T0 + 1)
        .unwrap();
    index.trash(&thread_id(), T0 + 2).unwrap();
    index.trash(&thread_id(), T0 + 3).unwrap();
    let all = ListOptions {
        include_archived: true,
        ..ListOptions::default()
    };
    assert!(ids(&index, all.clone()).is_empty());
    let in_trash = index.list(trashed());
    assert_eq!(in_trash.len(), 1);
    assert_eq!(
        in_trash[0].trashed_at,
        Some(T0 + 2),
        "trashing twice keeps the first time"
    );
    let value: serde_json::Value =
        serde_json::from_str(&to_json_text(&in_trash[0], &is_json)).unwrap();
    assert_eq!(value["trashedAt"], T0 + 2);
    assert_eq!(value, serde_json::to_value(&in_trash[0]).unwrap());

    index.restore(&thread_id(), T0 + 4).unwrap();
    assert!(ids(&index, trashed()).is_empty());
    assert_eq!(ids(&index, all), ["thread-1"]);
    assert_eq!(
        index.get(&thread_id()).unwrap().status,
        ThreadStatus::Archived
    );
    let err = index.restore(&thread_id(), T0 + 5).unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::InvalidTransition {
                action: "restore",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_thread_is_restorable_for_the_configured_period_only() {
    let mut index = listed();
    index.trash(&thread_id(), T0).unwrap();
    let heads = index.heads();
    let err = index.restore(&thread_id(), T0 + 30 * DAY).unwrap_err();
    assert!(
        err.to_string().contains("past its time in the trash"),
        "{err}"
    );
    assert_eq!(index.heads(), heads);
    let policy = index.preferences().retention();
    assert_eq!(
        index.threads_to_purge(&policy, T0 + 30 * DAY - 1),
        Vec::<ThreadId>::new()
    );
    assert_eq!(
        index.threads_to_purge(&policy, T0 + 30 * DAY),
        [thread_id()]
    );

    let week = prefs(serde_json::json!({ "trashRetentionDays": 7 }));
    index.set_preferences(&week, T0).unwrap();
    assert!(index.restore(&thread_id(), T0 + 7 * DAY).is_err());
    index.restore(&thread_id(), T0 + 7 * DAY - 1).unwrap();
}

#[test]
fn a_purge_leaves_only_a_tombstone_that_refuses_every_write() {
    let mut index = listed();
    index.trash(&thread_id(), T0 + 1).unwrap();
    index.purge(&thread_id(), T0 + 2).unwrap();
    let keys: Vec<String> = index.with_automerge(|doc| {
        doc.keys(chatsync_model::automerge::ROOT)
            .filter(|k| k.starts_with("thread-1/"))
            .collect()
    });
    assert_eq!(
        keys,
        ["thread-1/deleted"],
        "the summary's fields are erased"
    );
    // The document's history still holds the old preview; a rebuilt index holds only the present.
    let contains = |bytes: &[u8]| bytes.windows(12).any(|w| w == b"secret plans");
    assert!(contains(&index.save().unwrap()));
    let mut rebuilt = index.rebuilt(actor("b")).unwrap();
    assert!(
        !contains(&rebuilt.save().unwrap()),
        "the rebuilt index kept the purged text"
    );
    assert_eq!(rebuilt.get(&thread_id()), index.get(&thread_id()));
    let mut index = Index::load(&rebuilt.save().unwrap(), actor("b")).unwrap();
    let summary = index.get(&thread_id()).unwrap();
    assert_eq!(summary.status, ThreadStatus::Deleted);
    assert!(index.contains(&thread_id()) && index.is_purged(&thread_id()));
    assert!(index.summaries().is_empty() && index.list(trashed()).is_empty());
    let thread = new_thread();
    for err in [
        index
            .upsert(&thread.summary(ReadAt::new(T0)), T0 + 3)
            .unwrap_err(),
        index.restore(&thread_id(), T0 + 3).unwrap_err(),
        index.trash(&thread_id(), T0 + 3).unwrap_err(),
        index
            .set_status(&thread_id(), ThreadStatus::Active, T0 + 3)
            .unwrap_err(),
    ] {
        assert!(matches!(err, ModelError::Purged { .. }), "{err}");
        assert_eq!(err.code(), "purged");
    }
    let mut moved = new_thread();
    let err = moved.move_to_project(&index, None, T0 + 3).unwrap_err();
    assert_eq!(err.code(), "purged");
    index.purge(&thread_id(), T0 + 4).unwrap();
}

#[test]
fn an_unknown_thread_can_be_purged_ahead_of_its_summary() {
    let mut index = Index::new(actor("a"));
    let id = ThreadId::new("later").unwrap();
    assert!(matches!(
        index.trash(&id, T0),
        Err(ModelError::NotFound { .. })
    ));
    index.purge(&id, T0).unwrap();
    assert!(index.is_purged(&id));
}

#[test]
fn a_summary_written_on_a_device_that_missed_the_purge_is_swept() {
    let mut a = listed();
    let mut b = Index::load(&a.save().unwrap(), actor("b")).unwrap();
    a.purge(&thread_id(), T0 + 1).unwrap();
    let mut thread = new_thread();
    append(&mut thread, "m2", Role::User, "more plans", T0 + 2);
    b.upsert(&thread.summary(ReadAt::new(T0 + 2)), T0 + 2)
        .unwrap();
    let mut b_copy = Index::load(&b.save().unwrap(), actor("c")).unwrap();
    a.merge(&mut b_copy).unwrap();
    assert!(a.summaries().is_empty(), "purge wins");
    assert!(a.sweep_purged(T0 + 3).unwrap());
    let saved = a.save().unwrap();
    let mut reloaded = Index::load(&saved, actor("d")).unwrap();
    assert_eq!(reloaded.get(&thread_id()).unwrap().title, "");
    assert!(!reloaded.sweep_purged(T0 + 4).unwrap());
}

#[test]
fn set_status_deleted_purges() {
    let mut index = listed();
    index
        .set_status(&thread_id(), ThreadStatus::Deleted, T0 + 1)
        .unwrap();
    assert!(index.is_purged(&thread_id()) && index.is_deleted(&thread_id()));
}
