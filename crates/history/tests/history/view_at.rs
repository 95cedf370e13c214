//! The thread as it was at a version.

use chatsync_history::{HistoryError, Version};
use chatsync_model::ReadAt;

use crate::support::*;

#[test]
fn each_version_shows_the_thread_as_it_was() {
    let mut thread = new_thread(DEVICE_A);
    send(&mut thread, "m1", "What is a CRDT?", 2_000);
    stream_reply(
        &mut thread,
        "m2",
        &["A conflict-free ", "replicated data type."],
        3_000,
    );
    thread.set_title("CRDTs", 9_000).unwrap();
    thread.commit();

    let mut history = history(&mut thread);
    let versions: Vec<_> = history
        .versions()
        .iter()
        .map(|v| v.version.clone())
        .collect();
    let created = history.view_at(&versions[0]).unwrap();
    assert!(created.messages.is_empty());
    assert_eq!(created.title, "New conversation");
    let sent = history.view_at(&versions[1]).unwrap();
    assert_eq!(contents(&sent), [("m1".into(), "What is a CRDT?".into())]);
    assert_eq!(sent.title, "What is a CRDT?");
    let replied = history.view_at(&versions[2]).unwrap();
    assert_eq!(
        replied.messages[1].content,
        "A conflict-free replicated data type."
    );
    assert_eq!(
        replied.messages[1].status,
        chatsync_model::MessageStatus::Complete
    );
    assert_eq!(replied.title, "What is a CRDT?");
    // The last version is the live view.
    let now = history.view_at(&versions[3]).unwrap();
    let live = thread.view(ReadAt::new(9_000));
    assert_eq!(contents(&now), contents(&live));
    assert_eq!(now.title, "CRDTs");
}

#[test]
fn a_version_that_is_not_there_is_refused() {
    let mut thread = new_thread(DEVICE_A);
    send(&mut thread, "m1", "Hi", 2_000);
    let mut history = history(&mut thread);
    assert!(matches!(
        Version::parse("nope"),
        Err(HistoryError::InvalidVersion(_))
    ));
    assert!(matches!(
        Version::parse(""),
        Err(HistoryError::InvalidVersion(_))
    ));
    let unknown = Version::parse(&"ab".repeat(32)).unwrap();
    let error = history.view_at(&unknown).unwrap_err();
    assert!(matches!(error, HistoryError::UnknownVersion(_)));
    assert_eq!(error.code(), "not_found");
    // A version's text form reads back as itself.
    let version = history.versions()[1].version.clone();
    assert_eq!(Version::parse(&version.to_string()).unwrap(), version);
}
