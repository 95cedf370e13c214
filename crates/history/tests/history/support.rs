//! Threads to read the history of, written as apps write them.

use automerge::ActorId;
use chatsync_history::{History, VersionKind};
use chatsync_model::{
    Limits, MessageEnd, MessageId, MessageStatus, NewMessage, Role, Thread, ThreadId, ThreadInit,
};

pub const DEVICE_A: &[u8] = b"device-a";
pub const DEVICE_B: &[u8] = b"device-b";

pub fn id() -> ThreadId {
    ThreadId::new("2Nf4zVZb2xtf4zWbGkqWmDLBMVNv").unwrap()
}

/// An actor of `device`: its prefix, then a suffix of this instance's.
pub fn actor(device: &[u8], instance: u8) -> ActorId {
    let mut bytes = device.to_vec();
    bytes.extend_from_slice(&[instance; 8]);
    ActorId::from(bytes)
}

pub fn mid(id: &str) -> MessageId {
    MessageId::new(id).unwrap()
}

pub fn new_thread(device: &[u8]) -> Thread {
    Thread::create(
        ThreadInit::new(id(), actor(device, 1), 1_000),
        Limits::default(),
    )
    .unwrap()
}

/// A user message, one change.
pub fn send(thread: &mut Thread, id: &str, text: &str, at: u64) {
    thread
        .append_message(NewMessage::new(mid(id), Role::User, text), at)
        .unwrap();
    thread.commit();
}

/// A reply streamed in `tokens.len()` changes (one per delta, as batches of 100 ms would be), then
/// finished in one more.
pub fn stream_reply(thread: &mut Thread, id: &str, tokens: &[&str], at: u64) {
    thread
        .append_message(NewMessage::new(mid(id), Role::Assistant, ""), at)
        .unwrap();
    thread.commit();
    for (i, token) in tokens.iter().enumerate() {
        thread
            .append_delta(&mid(id), token, at + 100 * (i as u64 + 1))
            .unwrap();
        thread.commit();
    }
    let end = MessageEnd {
        status: MessageStatus::Complete,
        usage: None,
    };
    thread
        .finish_message(&mid(id), end, at + 100 * (tokens.len() as u64 + 1))
        .unwrap();
    thread.commit();
}

pub fn history(thread: &mut Thread) -> History {
    History::load(id(), &thread.save().unwrap()).unwrap()
}

pub fn kinds(history: &mut History) -> Vec<VersionKind> {
    history.versions().iter().map(|v| v.kind).collect()
}

/// The messages of a view as (id, content).
pub fn contents(view: &chatsync_model::ThreadView) -> Vec<(String, String)> {
    view.messages
        .iter()
        .map(|m| (m.id.to_string(), m.content.clone()))
        .collect()
}
