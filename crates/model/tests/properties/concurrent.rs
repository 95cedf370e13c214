//! Concurrent edits of the same records on every replica at once, from a shared start: preference
//! edits, a thread moved to several projects, restore racing purge.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::automerge::ActorId;
use chatsync_model::{
    FieldValue, Index, Limits, ModelError, Patch, PatchTarget, ProjectId, ReadAt, Thread, ThreadId,
    ThreadInit, ThreadStatus,
};
use proptest::prelude::*;

use super::{cases, merge_orders};

fn actor(r: usize) -> ActorId {
    ActorId::from(format!("device-{r}").into_bytes())
}

fn copy(index: &mut Index) -> Index {
    let all = index.with_automerge(|doc| doc.save());
    Index::load(&all, ActorId::from(b"copy".to_vec())).unwrap()
}

/// Everyone receives everyone's changes, each in its own order.
fn merge_all(replicas: &mut [Index], orders: &[Vec<usize>]) {
    let mut snapshots: Vec<Index> = replicas.iter_mut().map(copy).collect();
    for (r, order) in orders.iter().enumerate() {
        for &o in order {
            replicas[r].merge(&mut copy(&mut snapshots[o])).unwrap();
        }
    }
}

/// Replicas of one index, each loaded from the same saved start.
fn replicas_of(start: &mut Index, n: usize) -> Vec<Index> {
    let bytes = start.save().unwrap();
    (0..n)
        .map(|r| Index::load(&bytes, actor(r)).unwrap())
        .collect()
}

/// One replica's edit: a value for some of four fields.
type Edit = [Option<u64>; 4];

fn patch(edit: &Edit) -> Patch {
    let mut patch = Patch::new(PatchTarget::Preferences);
    let numbers = [
        "maxContextMessages",
        "dailyMessageLimit",
        "monthlyTokenLimit",
    ];
    for (name, value) in numbers.iter().zip(edit) {
        if let Some(v) = value {
            patch.set(name, Some(FieldValue::Number(*v))).unwrap();
        }
    }
    if let Some(v) = edit[3] {
        patch
            .set("enableContextMemory", Some(FieldValue::Bool(v % 2 == 0)))
            .unwrap();
    }
    patch
}

fn named(name: &str) -> Patch {
    let mut patch = Patch::new(PatchTarget::Project);
    patch
        .set("name", Some(FieldValue::Text(name.into())))
        .unwrap();
    patch
}

fn edits(n: usize) -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(
        proptest::array::uniform4(proptest::option::of(1..1000u64)),
        n,
    )
}

fn thread_id() -> ThreadId {
    ThreadId::new("t").unwrap()
}

proptest! {
    #![proptest_config(cases(64))]

    /// Edits of different fields all survive; of the same field, one of the values written wins,
    /// the same one everywhere.
    #[test]
    fn concurrent_preference_edits_merge_per_field(
        (n, edits, orders) in (2..=4usize).prop_flat_map(|n| (Just(n), edits(n), merge_orders(n)))
    ) {
        let mut start = Index::new(actor(9));
        start.set_preferences(&patch(&[None, None, Some(7), None]), 1).unwrap();
        let mut replicas = replicas_of(&mut start, n);
        for (r, edit) in edits.iter().enumerate() {
            replicas[r].set_preferences(&patch(edit), 10).unwrap();
        }
        merge_all(&mut replicas, &orders);
        let prefs = replicas[0].preferences();
        for replica in &replicas[1..] {
            prop_assert_eq!(&replica.preferences(), &prefs);
        }
        let got = [
            Some(prefs.max_context_messages),
            prefs.daily_message_limit,
            prefs.monthly_token_limit,
        ];
        let defaults = [Some(50), None, Some(7)];
        for field in 0..3 {
            let written: Vec<u64> = edits.iter().filter_map(|e| e[field]).collect();
            match written.len() {
                0 => prop_assert_eq!(got[field], defaults[field], "field {} changed", field),
                _ => prop_assert!(got[field].is_some_and(|v| written.contains(&v)), "field {}: {:?} of {:?}", field, got[field], written),
            }
        }
        let memory: Vec<bool> = edits.iter().filter_map(|e| e[3].map(|v| v % 2 == 0)).collect();
        prop_assert!(memory.is_empty() && prefs.enable_context_memory || memory.contains(&prefs.enable_context_memory));
    }

    /// Each replica moves the thread to a project of its choice (or out of any) at once; one
    /// project wins, the same in every thread replica and, once re-summarized, in every index. A
    /// project deleted meanwhile reads as none.
    #[test]
    fn a_thread_moved_to_several_projects_at_once_ends_in_one(
        (n, moves, delete, orders) in (2..=4usize).prop_flat_map(|n| (
            Just(n),
            proptest::collection::vec(proptest::option::of(0..3u8), n),
            proptest::option::of(0..3u8),
            merge_orders(n),
        ))
    ) {
        let mut start = Index::new(actor(9));
        for p in 0..3 {
            start.create_project(&ProjectId::new(format!("p{p}")).unwrap(), &named("P"), 1).unwrap();
        }
        let mut thread = Thread::create(ThreadInit::new(thread_id(), actor(9), 1), Limits::default()).unwrap();
        start.upsert(&thread.summary(ReadAt::new(1)), 1).unwrap();
        let thread_bytes = thread.save().unwrap();
        let mut threads: Vec<Thread> = (0..n)
            .map(|r| Thread::load(thread_id(), &thread_bytes, actor(r), Limits::default()).unwrap())
            .collect();
        let mut indexes = replicas_of(&mut start, n);
        for r in 0..n {
            let to = moves[r].map(|p| ProjectId::new(format!("p{p}")).unwrap());
            threads[r].move_to_project(&indexes[r], to.as_ref(), 10).unwrap();
            indexes[r].upsert(&threads[r].summary(ReadAt::new(10)), 10).unwrap();
        }
        if let Some(p) = delete {
            indexes[0].delete_project(&ProjectId::new(format!("p{p}")).unwrap(), 11).unwrap();
        }
        merge_all(&mut indexes, &orders);
        let saved: Vec<Vec<u8>> = threads.iter_mut().map(|t| t.save().unwrap()).collect();
        for (r, order) in orders.iter().enumerate() {
            for &o in order {
                threads[r].load_incremental(&saved[o]).unwrap();
            }
        }
        let winner = threads[0].view(ReadAt::new(20)).project_id;
        let chosen: Vec<Option<String>> = moves.iter().map(|m| m.map(|p| format!("p{p}"))).collect();
        prop_assert!(chosen.contains(&winner), "{:?} not among {:?}", winner, chosen);
        for r in 0..n {
            prop_assert_eq!(&threads[r].view(ReadAt::new(20)).project_id, &winner);
            // The store re-summarizes a thread after merging its changes.
            indexes[r].upsert(&threads[r].summary(ReadAt::new(20)), 20).unwrap();
        }
        merge_all(&mut indexes, &orders);
        let deleted = delete.map(|p| format!("p{p}"));
        let expected = winner.clone().filter(|w| Some(w) != deleted.as_ref());
        for index in &indexes {
            prop_assert_eq!(&index.get(&thread_id()).unwrap().project_id, &expected);
            prop_assert_eq!(index.resolve_project_id(winner.clone()), expected.clone());
            let counts: u64 = index.list_projects(true).iter().map(|p| p.thread_count).sum();
            prop_assert_eq!(counts, u64::from(expected.is_some()));
        }
    }

    /// Some replicas restore a trashed thread while others purge it: purge wins everywhere, and no
    /// replica can write it back afterwards.
    #[test]
    fn restore_racing_purge_ends_purged(
        (n, purges, orders) in (2..=4usize).prop_flat_map(|n| (
            Just(n),
            proptest::collection::vec(any::<bool>(), n),
            merge_orders(n),
        ))
    ) {
        let mut start = Index::new(actor(9));
        let thread = Thread::create(ThreadInit::new(thread_id(), actor(9), 1), Limits::default()).unwrap();
        let summary = thread.summary(ReadAt::new(1));
        start.upsert(&summary, 1).unwrap();
        start.trash(&thread_id(), 2).unwrap();
        let mut replicas = replicas_of(&mut start, n);
        for (r, purge) in purges.iter().enumerate() {
            if *purge {
                replicas[r].purge(&thread_id(), 10).unwrap();
            } else {
                replicas[r].restore(&thread_id(), 10).unwrap();
                // A restored thread's device keeps writing its summary.
                replicas[r].upsert(&summary, 11).unwrap();
            }
        }
        merge_all(&mut replicas, &orders);
        let any_purge = purges.contains(&true);
        for replica in &mut replicas {
            let status = replica.get(&thread_id()).map(|s| s.status);
            if any_purge {
                prop_assert_eq!(status, Some(ThreadStatus::Deleted));
                prop_assert!(replica.summaries().is_empty());
                let upsert = replica.upsert(&summary, 30);
                prop_assert!(matches!(upsert, Err(ModelError::Purged { .. })), "{:?}", upsert);
                let trash = replica.trash(&thread_id(), 30);
                prop_assert!(matches!(trash, Err(ModelError::Purged { .. })), "{:?}", trash);
            } else {
                prop_assert_eq!(status, Some(ThreadStatus::Active));
                prop_assert_eq!(replica.list(Default::default()).len(), 1);
            }
        }
    }
}
