//! Damaged bytes: loading them is refused with an error or yields a readable document; never a panic.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::automerge::ActorId;
use chatsync_model::{
    Index, Limits, MessageId, NewMessage, ReadAt, Role, Thread, ThreadId, ThreadInit,
};
use proptest::prelude::*;

use super::cases;

fn saved_thread() -> Vec<u8> {
    let id = ThreadId::new("corrupt").unwrap();
    let mut thread = Thread::create(
        ThreadInit::new(id, ActorId::from(b"a".to_vec()), 1),
        Limits::default(),
    )
    .unwrap();
    for i in 0..4 {
        let m = NewMessage::new(
            MessageId::new(format!("m{i}")).unwrap(),
            Role::User,
            "hello there",
        );
        thread.append_message(m, 2 + i).unwrap();
        thread.commit();
    }
    thread.save().unwrap()
}

#[derive(Clone, Debug)]
enum Damage {
    Flip { at: usize, bits: u8 },
    Truncate { at: usize },
    Insert { at: usize, byte: u8 },
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    let one = prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, bits)| Damage::Flip { at, bits }),
        any::<usize>().prop_map(|at| Damage::Truncate { at }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Damage::Insert { at, byte }),
    ];
    proptest::collection::vec(one, 1..4)
}

fn apply(mut bytes: Vec<u8>, damage: &[Damage]) -> Vec<u8> {
    for d in damage {
        if bytes.is_empty() {
            break;
        }
        match *d {
            Damage::Flip { at, bits } => {
                let i = at % bytes.len();
                bytes[i] ^= bits;
            }
            Damage::Truncate { at } => bytes.truncate(at % bytes.len()),
            Damage::Insert { at, byte } => {
                let i = at % bytes.len();
                bytes.insert(i, byte);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn damaged_thread_bytes_never_panic(damage in damage()) {
        let bytes = apply(saved_thread(), &damage);
        let id = ThreadId::new("corrupt").unwrap();
        if let Ok(mut thread) = Thread::load(id, &bytes, ActorId::from(b"b".to_vec()), Limits::default()) {
            let _ = thread.view(ReadAt::new(10));
            let _ = thread.append_message(
                NewMessage::new(MessageId::new("after").unwrap(), Role::User, "x"),
                11,
            );
            let _ = thread.save();
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let id = ThreadId::new("random").unwrap();
        let _ = Thread::load(id, &bytes, ActorId::from(b"b".to_vec()), Limits::default());
        let _ = Index::load(&bytes, ActorId::from(b"b".to_vec()));
    }
}
