//! Parts streamed concurrently: two devices appending to different parts of one message (and
//! adding parts of their own) converge, and keep every delta in its part.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::automerge::ActorId;
use chatsync_model::view::PartView;
use chatsync_model::{
    Limits, MessageId, NewMessage, NewPart, PartId, ReadAt, Role, Thread, ThreadId, ThreadInit,
    ToolCallId, ToolCallStart, ToolCallStatus,
};
use proptest::prelude::*;

use super::cases;

fn actor(r: usize) -> ActorId {
    ActorId::from(format!("device-{r}").into_bytes())
}

fn copy(thread: &mut Thread, r: usize) -> Thread {
    let bytes = thread.save().unwrap();
    Thread::load(
        ThreadId::new("t").unwrap(),
        &bytes,
        actor(r),
        Limits::default(),
    )
    .unwrap()
}

fn texts(thread: &Thread, id: &MessageId) -> Vec<(Option<String>, String)> {
    thread
        .message(id, ReadAt::new(1))
        .unwrap()
        .parts
        .into_iter()
        .filter_map(|p| match p {
            PartView::Text(t) | PartView::Reasoning(t) => Some((t.id.map(String::from), t.text)),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn two_devices_streaming_into_two_parts_of_one_message_converge(
        a in proptest::collection::vec("[a-z ]{0,6}", 1..12),
        b in proptest::collection::vec("[A-Z ]{0,6}", 1..12),
        b_adds_a_part in any::<bool>(),
        a_first in any::<bool>(),
    ) {
        let id = MessageId::new("m").unwrap();
        let mut start = Thread::create(ThreadInit::new(ThreadId::new("t").unwrap(), actor(9), 1), Limits::default()).unwrap();
        let mut message = NewMessage::new(id.clone(), Role::Assistant, "");
        message.parts = vec![
            NewPart::Text { id: Some(PartId::new("p1").unwrap()), text: String::new() },
            NewPart::Reasoning { id: Some(PartId::new("p2").unwrap()), text: String::new() },
        ];
        start.append_message(message, 1).unwrap();
        let mut ra = copy(&mut start, 0);
        let mut rb = copy(&mut start, 1);
        for (i, delta) in a.iter().enumerate() {
            ra.append_part_delta(&id, &PartId::new("p1").unwrap(), delta, 2 + i as u64).unwrap();
            if i % 3 == 0 { ra.commit(); }
        }
        for (i, delta) in b.iter().enumerate() {
            rb.append_part_delta(&id, &PartId::new("p2").unwrap(), delta, 2 + i as u64).unwrap();
            if b_adds_a_part && i == 0 {
                rb.append_part(&id, NewPart::StepStart, 2).unwrap();
                rb.append_part(&id, NewPart::Text { id: Some(PartId::new("p3").unwrap()), text: "b".into() }, 2).unwrap();
            }
        }
        let (mut ca, mut cb) = (copy(&mut ra, 3), copy(&mut rb, 4));
        if a_first {
            ra.merge(&mut cb).unwrap();
            rb.merge(&mut ca).unwrap();
        } else {
            rb.merge(&mut ca).unwrap();
            ra.merge(&mut cb).unwrap();
        }
        prop_assert_eq!(ra.view(ReadAt::new(1)), rb.view(ReadAt::new(1)));
        let got = texts(&ra, &id);
        prop_assert_eq!(&got[0], &(Some("p1".into()), a.concat()));
        prop_assert_eq!(&got[1], &(Some("p2".into()), b.concat()));
        prop_assert_eq!(got.len(), if b_adds_a_part { 3 } else { 2 });
        let content = ra.message(&id, ReadAt::new(1)).unwrap().content;
        let expected = if b_adds_a_part { format!("{}b", a.concat()) } else { a.concat() };
        prop_assert_eq!(content, expected);
    }
}

/// One write of a streamed reply.
#[derive(Clone, Debug)]
enum Write {
    Delta(String),
    Tool,
    StepStart,
    Commit,
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        4 => "[a-z]{1,5}".prop_map(Write::Delta),
        1 => Just(Write::Tool),
        1 => Just(Write::StepStart),
        1 => Just(Write::Commit),
    ]
}

/// What a part should read as: its text, a tool call's id, or a step boundary.
fn shown(part: &PartView) -> String {
    match part {
        PartView::Text(t) => format!("text:{}", t.text),
        PartView::Tool(t) => format!("tool:{}", t.tool_call_id),
        PartView::StepStart => "step".into(),
        other => format!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(cases(64))]

    /// Deltas interleaved with tool calls and step boundaries keep their order: consecutive
    /// deltas make one text part, and each tool call or step sits between the texts around it —
    /// on the writer and on a replica that loads it, commits wherever they fell.
    #[test]
    fn a_part_stream_interleaved_with_tool_calls_keeps_its_order(steps in proptest::collection::vec(write(), 1..40)) {
        let id = MessageId::new("m").unwrap();
        let mut t = Thread::create(ThreadInit::new(ThreadId::new("t").unwrap(), actor(0), 1), Limits::default()).unwrap();
        t.append_message(NewMessage::new(id.clone(), Role::Assistant, ""), 1).unwrap();
        let mut expected: Vec<String> = Vec::new();
        let mut tools = 0;
        for step in &steps {
            match step {
                Write::Delta(text) => {
                    t.append_delta(&id, text, 2).unwrap();
                    match expected.last_mut() {
                        Some(last) if last.starts_with("text:") => last.push_str(text),
                        _ => expected.push(format!("text:{text}")),
                    }
                }
                Write::Tool => {
                    let call = ToolCallStart {
                        id: ToolCallId::new(format!("tc{tools}")).unwrap(),
                        message_id: id.clone(),
                        tool_name: "search".into(),
                        provider_call_id: None,
                        input: Default::default(),
                        status: ToolCallStatus::Running,
                    };
                    t.start_tool_call(call, 2).unwrap();
                    expected.push(format!("tool:tc{tools}"));
                    tools += 1;
                }
                Write::StepStart => {
                    t.append_part(&id, NewPart::StepStart, 2).unwrap();
                    expected.push("step".into());
                }
                Write::Commit => {
                    t.commit();
                }
            }
        }
        let got: Vec<String> = t.message(&id, ReadAt::new(2)).unwrap().parts.iter().map(shown).collect();
        prop_assert_eq!(&got, &expected);
        let loaded = copy(&mut t, 1);
        let again: Vec<String> = loaded.message(&id, ReadAt::new(2)).unwrap().parts.iter().map(shown).collect();
        prop_assert_eq!(&again, &expected);
        let content: String = steps.iter().filter_map(|s| match s { Write::Delta(d) => Some(d.as_str()), _ => None }).collect();
        prop_assert_eq!(loaded.message(&id, ReadAt::new(2)).unwrap().content, content);
    }
}
