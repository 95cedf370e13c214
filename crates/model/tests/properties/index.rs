//! Index documents, including replicas that start offline before they ever met: threads, trash,
//! purges, projects and preferences, written concurrently and merged in any order.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::collections::BTreeSet;

use chatsync_model::automerge::{ActorId, ROOT, ReadDoc};
use chatsync_model::{
    FieldValue, Index, ListOptions, ModelError, Patch, PatchTarget, ProjectId, ThreadId,
    ThreadStatus, ThreadSummary,
};
use proptest::prelude::*;

use super::{cases, merge_orders};

#[derive(Clone, Debug)]
enum Op {
    Create { title: String },
    Rename { pick: usize, title: String },
    Status { pick: usize, status: u8 },
    Activity { pick: usize, count: u64 },
    Trash { pick: usize },
    Restore { pick: usize },
    Purge { pick: usize },
    Move { pick: usize, project: Option<u8> },
    CreateProject { project: u8 },
    DeleteProject { project: u8 },
    Preference { field: u8, value: u64 },
    Sync { from: usize, to: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => "[a-z ]{0,10}".prop_map(|title| Op::Create { title }),
        2 => (0..32usize, "[a-z ]{0,10}").prop_map(|(pick, title)| Op::Rename { pick, title }),
        2 => (0..32usize, 0..3u8).prop_map(|(pick, status)| Op::Status { pick, status }),
        2 => (0..32usize, 0..50u64).prop_map(|(pick, count)| Op::Activity { pick, count }),
        2 => (0..32usize).prop_map(|pick| Op::Trash { pick }),
        2 => (0..32usize).prop_map(|pick| Op::Restore { pick }),
        1 => (0..32usize).prop_map(|pick| Op::Purge { pick }),
        2 => (0..32usize, proptest::option::of(0..3u8))
            .prop_map(|(pick, project)| Op::Move { pick, project }),
        1 => (0..3u8).prop_map(|project| Op::CreateProject { project }),
        1 => (0..3u8).prop_map(|project| Op::DeleteProject { project }),
        2 => (0..3u8, 1..100u64).prop_map(|(field, value)| Op::Preference { field, value }),
        2 => (0..4usize, 0..4usize).prop_map(|(from, to)| Op::Sync { from, to }),
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

fn project(n: u8) -> ProjectId {
    ProjectId::new(format!("p{n}")).unwrap()
}

/// A patch setting one of three number preferences.
fn preference(field: u8, value: u64) -> Patch {
    let name = [
        "maxContextMessages",
        "dailyMessageLimit",
        "keepNewestThreads",
    ][field as usize];
    let mut patch = Patch::new(PatchTarget::Preferences);
    patch.set(name, Some(FieldValue::Number(value))).unwrap();
    patch
}

fn copy(index: &mut Index) -> Index {
    let all = index.with_automerge(|doc| doc.save());
    Index::load(&all, ActorId::from(b"copy".to_vec())).unwrap()
}

/// The index's keys of one thread.
fn keys_of(index: &mut Index, id: &ThreadId) -> usize {
    let prefix = format!("{id}/");
    index.with_automerge(|doc| doc.keys(ROOT).filter(|k| k.starts_with(&prefix)).count())
}

fn scenario() -> impl Strategy<Value = (usize, Vec<(usize, Op)>, Vec<Vec<usize>>)> {
    (2..=4usize).prop_flat_map(|n| {
        (
            Just(n),
            proptest::collection::vec((0..n, op()), 0..48),
            merge_orders(n),
        )
    })
}

/// What the ops did, for the checks after the merge.
#[derive(Default)]
struct Seen {
    created: Vec<ThreadId>,
    purged: BTreeSet<ThreadId>,
    deleted_projects: BTreeSet<String>,
    /// Every value written per preference field.
    written: [Vec<u64>; 3],
}

fn apply(replicas: &mut [Index], r: usize, op: Op, seen: &mut Seen, now: u64) {
    let n = replicas.len();
    let pick =
        |i: usize| (!seen.created.is_empty()).then(|| seen.created[i % seen.created.len()].clone());
    let index = &mut replicas[r];
    match op {
        Op::Create { title } => {
            let id = ThreadId::new(format!("t{now}")).unwrap();
            index.upsert(&summary(&id, &title, now), now).unwrap();
            seen.created.push(id);
        }
        Op::Rename { pick: p, title } => {
            if let Some(id) = pick(p)
                && let Some(mut s) = index.get(&id)
            {
                s.title = title;
                let _ = index.upsert(&s, now);
            }
        }
        Op::Activity { pick: p, count } => {
            if let Some(id) = pick(p)
                && let Some(mut s) = index.get(&id)
            {
                s.message_count = count;
                s.last_activity_at = now;
                let _ = index.upsert(&s, now);
            }
        }
        Op::Move {
            pick: p,
            project: to,
        } => {
            if let Some(id) = pick(p)
                && let Some(mut s) = index.get(&id)
            {
                s.project_id = to.map(|t| project(t).to_string());
                let _ = index.upsert(&s, now);
            }
        }
        Op::Status { pick: p, status } => {
            if let Some(id) = pick(p) {
                let status = [
                    ThreadStatus::Active,
                    ThreadStatus::Archived,
                    ThreadStatus::Deleted,
                ][status as usize];
                if index.set_status(&id, status, now).is_ok() && status == ThreadStatus::Deleted {
                    seen.purged.insert(id);
                }
            }
        }
        Op::Trash { pick: p } => {
            if let Some(id) = pick(p) {
                let _ = index.trash(&id, now);
            }
        }
        Op::Restore { pick: p } => {
            if let Some(id) = pick(p) {
                let _ = index.restore(&id, now);
            }
        }
        Op::Purge { pick: p } => {
            if let Some(id) = pick(p) {
                index.purge(&id, now).unwrap();
                seen.purged.insert(id);
            }
        }
        Op::CreateProject { project: p } => {
            let mut name = Patch::new(PatchTarget::Project);
            name.set("name", Some(FieldValue::Text(format!("project {p}"))))
                .unwrap();
            let _ = index.create_project(&project(p), &name, now);
        }
        Op::DeleteProject { project: p } => {
            if index.delete_project(&project(p), now).is_ok() {
                seen.deleted_projects.insert(project(p).to_string());
            }
        }
        Op::Preference { field, value } => {
            index
                .set_preferences(&preference(field, value), now)
                .unwrap();
            seen.written[field as usize].push(value);
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

proptest! {
    #![proptest_config(cases(64))]

    /// Every replica starts its own index, offline: no shared genesis.
    #[test]
    fn indexes_started_apart_merge_without_losing_threads((n, ops, orders) in scenario()) {
        let mut replicas: Vec<Index> = (0..n)
            .map(|r| Index::new(ActorId::from(format!("device-{r}").into_bytes())))
            .collect();
        let mut seen = Seen::default();
        for (step, (r, op)) in ops.into_iter().enumerate() {
            apply(&mut replicas, r, op, &mut seen, 100 + step as u64);
        }
        let mut snapshots: Vec<Index> = replicas.iter_mut().map(copy).collect();
        for (r, order) in orders.iter().enumerate() {
            for &o in order {
                let mut other = copy(&mut snapshots[o]);
                replicas[r].merge(&mut other).unwrap();
            }
        }
        let options = [
            ListOptions { include_archived: true, ..ListOptions::default() },
            ListOptions { trashed: true, ..ListOptions::default() },
            ListOptions { include_archived: true, project_id: Some(project(0)), ..ListOptions::default() },
        ];
        let first = &replicas[0];
        for replica in &replicas[1..] {
            for o in &options {
                prop_assert_eq!(replica.list(o.clone()), first.list(o.clone()));
            }
            prop_assert_eq!(replica.summaries(), first.summaries());
            prop_assert_eq!(replica.preferences(), first.preferences());
            prop_assert_eq!(replica.list_projects(true), first.list_projects(true));
        }
        let all: BTreeSet<ThreadId> = first.summaries().iter().map(|s| s.id.clone()).collect();
        for id in &seen.created {
            // Created and not purged: kept. Purged anywhere: gone, whatever happened after — a
            // restore or an upsert racing the purge does not bring it back.
            prop_assert_eq!(all.contains(id), !seen.purged.contains(id), "thread {}", id);
        }
        // A device that never saw the purge cannot write it back, nor restore it.
        for replica in &mut replicas {
            replica.sweep_purged(10_000).unwrap();
            for id in &seen.purged {
                prop_assert_eq!(replica.get(id).map(|s| s.status), Some(ThreadStatus::Deleted));
                let upsert = replica.upsert(&summary(id, "back", 10_001), 10_001);
                prop_assert!(matches!(upsert, Err(ModelError::Purged { .. })), "{:?}", upsert);
                let restore = replica.restore(id, 10_001);
                prop_assert!(matches!(restore, Err(ModelError::Purged { .. })), "{:?}", restore);
                prop_assert_eq!(keys_of(replica, id), 1, "a purged thread kept more than its tombstone");
            }
        }
        let summaries = replicas[0].summaries();
        for s in &summaries {
            if let Some(p) = &s.project_id {
                prop_assert!(!seen.deleted_projects.contains(p), "thread {} in deleted project {}", s.id, p);
            }
        }
        for p in replicas[0].list_projects(true) {
            prop_assert!(!seen.deleted_projects.contains(p.id.as_str()));
            let count = summaries
                .iter()
                .filter(|s| s.trashed_at.is_none() && s.project_id.as_deref() == Some(p.id.as_str()))
                .count();
            prop_assert_eq!(p.thread_count, count as u64);
        }
        // Each preference is a value some device wrote, or its default.
        let prefs = replicas[0].preferences();
        let values = [prefs.max_context_messages, prefs.daily_message_limit.unwrap_or(0), prefs.keep_newest_threads.unwrap_or(0)];
        let defaults = [50, 0, 0];
        for field in 0..3 {
            let v = values[field];
            prop_assert!(
                seen.written[field].contains(&v) || (seen.written[field].is_empty() && v == defaults[field]),
                "preference {} is {}, written {:?}", field, v, seen.written[field]
            );
        }
    }
}
