//! Builds a thread, streams an assistant reply into it token by token (one Automerge change per 100 ms
//! of streaming, as the browser store does), saves and reloads it, and prints the view as JSON.
//!
//! `cargo run -p chatsync-model --example stream_reply`

use chatsync_model::automerge::ActorId;
use chatsync_model::{
    Index, Limits, MessageEnd, MessageId, MessageStatus, NewMessage, ReadAt, Role, Thread,
    ThreadId, ThreadInit, Usage,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let actor = ActorId::from(b"example-device".to_vec());
    let id = ThreadId::new("4XTTM4Kf8NGfR1Yy8dqE9YkD2Rz")?;
    let mut now = 1_763_800_000_000u64;
    let mut thread = Thread::create(
        ThreadInit::new(id.clone(), actor.clone(), now),
        Limits::default(),
    )?;

    let question = MessageId::new("msg-1")?;
    thread.append_message(
        NewMessage::new(
            question,
            Role::User,
            "How do two offline devices   end up with the same chat?",
        ),
        now,
    )?;
    let reply = MessageId::new("msg-2")?;
    let mut start = NewMessage::new(reply.clone(), Role::Assistant, "");
    start.provider = Some("local".into());
    start.model = Some("stand-in".into());
    thread.append_message(start, now)?;
    thread.commit();

    let answer = "Each device keeps the conversation as an Automerge document. Edits made offline are \
                  recorded as changes; when the devices meet, each sends the other what it lacks, and \
                  both apply the same set of changes, which Automerge orders the same way everywhere.";
    let mut last_commit = now;
    let mut changes = 0;
    for token in answer.split_inclusive(' ') {
        now += 25; // a token every 25 ms
        thread.append_delta(&reply, token, now)?;
        if now - last_commit >= 100 {
            changes += usize::from(thread.commit().is_some());
            last_commit = now;
        }
    }
    let usage = Usage {
        input_tokens: 14,
        output_tokens: answer.split(' ').count() as u64,
    };
    let end = MessageEnd {
        status: MessageStatus::Complete,
        usage: Some(usage),
    };
    thread.finish_message(&reply, end, now)?;
    changes += usize::from(thread.commit().is_some());

    let bytes = thread.save()?;
    let reloaded = Thread::load(id, &bytes, actor.clone(), Limits::default())?;
    let view = reloaded.view(ReadAt::new(now));

    let mut index = Index::new(actor);
    index.upsert(&reloaded.summary(ReadAt::new(now)), now)?;

    eprintln!(
        "streamed {} tokens in {changes} changes; saved {} bytes; reloaded view:",
        answer.split(' ').count(),
        bytes.len()
    );
    println!("{}", serde_json::to_string_pretty(&view)?);
    eprintln!(
        "thread list: {}",
        serde_json::to_string(&index.list(Default::default()))?
    );
    Ok(())
}
