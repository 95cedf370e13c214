//! Index documents, including replicas that start offline before they ever met.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::collections::BTreeSet;

use chatsync_model::automerge::ActorId;
use chatsync_model::{Index, ListOptions, ThreadId, ThreadStatus, ThreadSummary};
use proptest::prelude::*;

use super::{cases, merge_orders};

#[derive(Clone, Debug)]
enum Op {
    Create { title: String },
    Rename { pick: usize, title: String },
    Status { pick: usize, status: u8 },
    Activity { pick: usize, count: u64 },
    Sync { from: usize, to: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => "[a-z ]{0,10}".prop_map(|title| Op::Create { title }),
        2 => (0..32usize, "[a-z ]{0,10}").prop_map(|(pick, title)| Op::Rename { pick, title }),
        2 => (0..32usize, 0..3u8).prop_map(|(pick, status)| Op::Status { pick, status }),
        2 => (0..32usize, 0..50u64).prop_map(|(pick, count)| Op::Activity { pick, count }),
        1 => (0..4usize, 0..4usize).prop_map(|(from, to)| Op::Sync { from, to }),
    ]
}

fn summary(id: &ThreadId, title: &str, now: u64) -> ThreadSummary {
    ThreadSummary {
        title: title.to_owned(),
        created_at: now,
        last_activity_at: now,
        ..ThreadSummary::new(id.clone())
    }
}

fn copy(index: &mut Index) -> Index {
    let all = index.with_automerge(|doc| doc.save());
    Index::load(&all, ActorId::from(b"copy".to_vec())).unwrap()
}

fn scenario() -> impl Strategy<Value = (usize, Vec<(usize, Op)>, Vec<Vec<usize>>)> {
    (2..=4usize).prop_flat_map(|n| {
        (
            Just(n),
            proptest::collection::vec((0..n, op()), 0..40),
            merge_orders(n),
        )
    })
}

proptest! {
    #![proptest_config(cases(128))]

    /// Every replica starts its own index, offline: no shared genesis.
    #[test]
    fn indexes_started_apart_merge_without_losing_threads((n, ops, orders) in scenario()) {
        let mut replicas: Vec<Index> = (0..n)
            .map(|r| Index::new(ActorId::from(format!("device-{r}").into_bytes())))
            .collect();
        let mut created: Vec<ThreadId> = Vec::new();
        let mut deleted: BTreeSet<ThreadId> = BTreeSet::new();
        for (step, (r, op)) in ops.into_iter().enumerate() {
            let now = 100 + step as u64;
            let pick = |i: usize| (!created.is_empty()).then(|| created[i % created.len()].clone());
            match op {
                Op::Create { title } => {
                    let id = ThreadId::new(format!("t{step}")).unwrap();
                    replicas[r].upsert(&summary(&id, &title, now), now).unwrap();
                    created.push(id);
                }
                Op::Rename { pick: p, title } => {
                    if let Some(id) = pick(p)
                        && let Some(mut s) = replicas[r].get(&id)
                    {
                        s.title = title;
                        let _ = replicas[r].upsert(&s, now);
                    }
                }
                Op::Status { pick: p, status } => {
                    if let Some(id) = pick(p) {
                        let status =
                            [ThreadStatus::Active, ThreadStatus::Archived, ThreadStatus::Deleted][status as usize];
                        if replicas[r].set_status(&id, status, now).is_ok() && status == ThreadStatus::Deleted {
                            deleted.insert(id);
                        }
                    }
                }
                Op::Activity { pick: p, count } => {
                    if let Some(id) = pick(p)
                        && let Some(mut s) = replicas[r].get(&id)
                    {
                        s.message_count = count;
                        s.last_activity_at = now;
                        let _ = replicas[r].upsert(&s, now);
                    }
                }
                Op::Sync { from, to } => {
                    let (from, to) = (from % n, to % n);
                    if from != to {
                        let mut source = copy(&mut replicas[from]);
                        replicas[to].merge(&mut source).unwrap();
                    }
                }
            }
        }
        let mut snapshots: Vec<Index> = replicas.iter_mut().map(copy).collect();
        for (r, order) in orders.iter().enumerate() {
            for &o in order {
                let mut other = copy(&mut snapshots[o]);
                replicas[r].merge(&mut other).unwrap();
            }
        }
        let all = ListOptions { include_archived: true, ..ListOptions::default() };
        let first = replicas[0].list(all.clone());
        for replica in &replicas[1..] {
            prop_assert_eq!(&replica.list(all.clone()), &first);
        }
        let listed: BTreeSet<ThreadId> = first.iter().map(|s| s.id.clone()).collect();
        for id in &created {
            // Created and not deleted: listed. Deleted anywhere: never listed, whatever happened after.
            prop_assert_eq!(listed.contains(id), !deleted.contains(id), "thread {}", id);
        }
    }
}
