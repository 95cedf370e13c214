//! Model loading of arbitrary bytes: `Thread::load` and `Index::load`, then everything a UI reads of
//! what loads (`view`, `summary`, the view as the browser package's JSON, the thread list) and a write
//! after it. Stored or synced bytes may be damaged or foreign; loading refuses them with an error or
//! yields a readable document, never a panic.
//!
//! Each input is loaded as it is and again with its Automerge chunks' checksums recomputed
//! (`chatsync_fuzz::chunks`): mutations of the real saved documents in the seeds then reach the
//! document decoder and the model's readers instead of stopping at the checksum.
//!
//! The bytes are loaded by `AutoCommit::load`, whose panics on hostile input are Automerge's and
//! known (`chatsync_fuzz::panics`): contained, they end the input. What loads goes through
//! `Thread::from_automerge` and `Index::from_automerge` (what `Thread::load` and `Index::load` do
//! after the same call), where any panic is a crash.
#![no_main]

use std::panic::catch_unwind;

use chatsync_fuzz::{chunks, fixtures, panics};
use chatsync_model::automerge::{ActorId, AutoCommit};
use chatsync_model::view_json::to_json_text;
use chatsync_model::{Index, Limits, ListOptions, MessageId, NewMessage, ReadAt, Role, Thread};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    load(bytes);
    let resealed = chunks::reseal(bytes);
    if resealed != bytes {
        load(&resealed);
    }
});

fn load(bytes: &[u8]) {
    let actor = || ActorId::from(b"fuzz".to_vec());
    let at = ReadAt::new(5_000);
    let Ok(Ok(doc)) = panics::containing(|| catch_unwind(|| AutoCommit::load(bytes))) else {
        return;
    };
    let thread = Thread::from_automerge(
        fixtures::thread_id(),
        doc.clone().with_actor(actor()),
        Limits::default(),
    );
    if let Ok(mut thread) = thread {
        let view = thread.view(at);
        let text = to_json_text(&view, &|t| {
            serde_json::from_str::<serde_json::Value>(t).is_ok()
        });
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_ok(),
            "the view's JSON text is not JSON: {text}"
        );
        let _ = thread.summary(at);
        let message = NewMessage::new(MessageId::new("after").expect("an id"), Role::User, "x");
        if thread.append_message(message, 5_001).is_ok() {
            thread.commit();
            let _ = thread.view(at);
        }
    }
    let index = Index::from_automerge(doc.with_actor(actor()));
    let all = ListOptions {
        include_archived: true,
        ..ListOptions::default()
    };
    for summary in index.list(all) {
        let _ = index.get(&summary.id);
    }
}
