//! Artifacts: versioned documents the assistant writes.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::view::ArtifactView;
use chatsync_model::{ArtifactId, ArtifactStatus, ArtifactUpsert, MessageId, Role, Thread};

use crate::support::{append, at, mid, new_thread, replica};

fn plan(content: &str, status: ArtifactStatus, message: Option<MessageId>) -> ArtifactUpsert {
    ArtifactUpsert {
        id: ArtifactId::new("plan-1").unwrap(),
        kind: "plan".into(),
        title: "Trip plan".into(),
        content: content.into(),
        status,
        message_id: message,
    }
}

fn only_artifact(thread: &Thread) -> ArtifactView {
    let artifacts = thread.artifacts();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    artifacts.into_iter().next().unwrap()
}

#[test]
fn a_new_artifact_starts_at_version_one() {
    let mut thread = new_thread();
    append(&mut thread, "a1", Role::Assistant, "Here is a plan", at(1));
    thread
        .upsert_artifact(
            plan("1. Fly", ArtifactStatus::Draft, Some(mid("a1"))),
            at(2),
        )
        .unwrap();
    let artifact = only_artifact(&thread);
    assert_eq!(artifact.id.as_str(), "plan-1");
    assert_eq!(artifact.kind, "plan");
    assert_eq!(artifact.title, "Trip plan");
    assert_eq!(artifact.content, "1. Fly");
    assert_eq!(artifact.status, ArtifactStatus::Draft);
    assert_eq!(artifact.version, 1);
    assert_eq!((artifact.created_at, artifact.updated_at), (at(2), at(2)));
    assert_eq!(artifact.message_id, Some(mid("a1")));
    assert_eq!(
        thread.view(chatsync_model::ReadAt::new(at(2))).artifacts,
        [artifact]
    );
}

#[test]
fn each_update_bumps_the_version_by_one() {
    let mut thread = new_thread();
    append(&mut thread, "a1", Role::Assistant, "Here is a plan", at(1));
    thread
        .upsert_artifact(
            plan("1. Fly", ArtifactStatus::Draft, Some(mid("a1"))),
            at(2),
        )
        .unwrap();
    thread
        .upsert_artifact(plan("1. Fly\n2. Eat", ArtifactStatus::Draft, None), at(3))
        .unwrap();
    thread
        .upsert_artifact(plan("1. Fly\n2. Eat", ArtifactStatus::Final, None), at(4))
        .unwrap();
    let artifact = only_artifact(&thread);
    assert_eq!(artifact.version, 3);
    assert_eq!(artifact.content, "1. Fly\n2. Eat");
    assert_eq!(artifact.status, ArtifactStatus::Final);
    assert_eq!((artifact.created_at, artifact.updated_at), (at(2), at(4)));
    assert_eq!(
        artifact.message_id, None,
        "the latest version names no message"
    );
}

#[test]
fn upserting_exactly_the_stored_state_changes_nothing() {
    let mut thread = new_thread();
    thread
        .upsert_artifact(plan("1. Fly", ArtifactStatus::Draft, None), at(2))
        .unwrap();
    let heads = thread.heads();
    thread
        .upsert_artifact(plan("1. Fly", ArtifactStatus::Draft, None), at(3))
        .unwrap();
    assert_eq!(thread.pending_ops(), 0);
    assert_eq!(thread.heads(), heads);
    let artifact = only_artifact(&thread);
    assert_eq!((artifact.version, artifact.updated_at), (1, at(2)));
}

#[test]
fn concurrent_updates_on_two_replicas_both_count() {
    let mut a = new_thread();
    a.upsert_artifact(plan("1. Fly", ArtifactStatus::Draft, None), at(1))
        .unwrap();
    let mut b = replica(&mut a, "device-b");
    a.upsert_artifact(plan("1. Fly\n2. Eat", ArtifactStatus::Draft, None), at(2))
        .unwrap();
    b.upsert_artifact(plan("0. Pack\n1. Fly", ArtifactStatus::Draft, None), at(2))
        .unwrap();
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();

    let merged = only_artifact(&a);
    assert_eq!(merged.version, 3);
    assert_eq!(merged, only_artifact(&b));
    // Both edits were stored as diffs, so both survive.
    assert_eq!(merged.content, "0. Pack\n1. Fly\n2. Eat");
}
