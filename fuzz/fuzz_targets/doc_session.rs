//! `DocSession::receive` of arbitrary sync payloads against a small real document (a thread with
//! every part of the schema), then the polls that answer it: what the relay does with the `data` of
//! every `sync` and `request`. The check in `crates/protocol/src/sync_check.rs` must refuse whatever
//! would make Automerge panic, allocate or loop, before Automerge reads it; a refused payload must
//! leave the document unchanged; and polling must fall silent, since the relay polls until `None`.
//!
//! A panic raised inside Automerge while it applies a payload the check let through is known
//! (`chatsync_fuzz::panics`: a crafted document chunk among the changes) and contained: the input
//! ends there. Any other panic — in the check, in polling — is a crash.
#![no_main]

use std::panic::{AssertUnwindSafe, catch_unwind};

use chatsync_fuzz::{fixtures, panics};
use chatsync_protocol::DocSession;
use chatsync_protocol::automerge::AutoCommit;
use libfuzzer_sys::fuzz_target;

/// Polls after which a session that still has something to say is stuck: a first answer, Automerge's
/// follow-up, and room to spare.
const MAX_POLLS: usize = 8;

thread_local! {
    /// Built once: writing the thread costs more than most inputs do.
    static DOCUMENT: AutoCommit = fixtures::thread(b"relay").into_automerge();
}

fuzz_target!(|data: &[u8]| {
    let mut doc = DOCUMENT.with(Clone::clone);
    let heads = doc.get_heads();
    let mut session = DocSession::new();
    // The document and session are dropped if Automerge panics: nothing of them is used after.
    let receive = AssertUnwindSafe(|| session.receive(&mut doc, data));
    let Ok(received) = panics::containing(|| catch_unwind(receive)) else {
        return;
    };
    if received.is_err() {
        assert_eq!(
            doc.get_heads(),
            heads,
            "a refused payload changed the document"
        );
    }
    let silent = (0..MAX_POLLS).any(|_| session.poll_message(&mut doc, 0).is_none());
    assert!(
        silent,
        "the session still had messages after {MAX_POLLS} polls"
    );
    // What the relay keeps of a session for the peer's next connection must resume one.
    let mut resumed = DocSession::new().resume(&session.saved_state(), &mut doc);
    let _ = resumed.poll_message(&mut doc, 0);
});
