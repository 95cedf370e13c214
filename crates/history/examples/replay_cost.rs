//! What a history call costs as a thread grows: each call loads the document and replays its
//! changes. Prints the time of `History::load` (grouping), `view_at` and `restore` for threads of
//! 50 and 200 exchanges, each reply streamed in 10 changes.
//!   cargo run --release -p chatsync-history --example replay_cost

use std::time::Instant;

use automerge::ActorId;
use chatsync_history::{History, RestoreTarget};
use chatsync_model::{
    Limits, MessageEnd, MessageId, MessageStatus, NewMessage, Role, Thread, ThreadId, ThreadInit,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id = ThreadId::new("2Nf4zVZb2xtf4zWbGkqWmDLBMVNv")?;
    for exchanges in [50u64, 200] {
        let actor = ActorId::from(b"device-a-instance".to_vec());
        let mut thread =
            Thread::create(ThreadInit::new(id.clone(), actor, 1_000), Limits::default())?;
        let mut now = 2_000;
        for i in 0..exchanges {
            let question = MessageId::new(format!("q{i}"))?;
            thread.append_message(
                NewMessage::new(question, Role::User, "How does this work, in a few words?"),
                now,
            )?;
            thread.commit();
            let reply = MessageId::new(format!("r{i}"))?;
            thread.append_message(
                NewMessage::new(reply.clone(), Role::Assistant, ""),
                now + 10,
            )?;
            thread.commit();
            for d in 0..10 {
                thread.append_delta(
                    &reply,
                    "some twenty tokens of a streamed reply, ",
                    now + 100 * (d + 1),
                )?;
                thread.commit();
            }
            let end = MessageEnd {
                status: MessageStatus::Complete,
                usage: None,
            };
            thread.finish_message(&reply, end, now + 1_200)?;
            thread.commit();
            now += 2_000;
        }
        let bytes = thread.save()?;
        let started = Instant::now();
        let mut history = History::load(id.clone(), &bytes)?;
        let versions = history.versions().len();
        let load = started.elapsed();
        let middle = history.versions()[versions / 2].version.clone();
        let started = Instant::now();
        history.view_at(&middle)?;
        let view = started.elapsed();
        let started = Instant::now();
        let change = History::load(id.clone(), &bytes)?
            .restore(
                &middle,
                RestoreTarget::Thread,
                ActorId::from(b"device-a-other".to_vec()),
                now,
            )?
            .unwrap_or_default();
        let restore = started.elapsed();
        println!(
            "{exchanges} exchanges ({} B, {versions} versions): history {load:.1?}, viewAt {view:.1?}, restore (load included) {restore:.1?}, its change {} B",
            bytes.len(),
            change.len()
        );
    }
    Ok(())
}
