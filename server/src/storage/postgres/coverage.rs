//! What a new snapshot provably holds of what is stored: the test that keeps a compaction from
//! deleting a chunk another relay appended and the compacting relay never saw.
//!
//! A chunk records the heads its writer had right after it, and every change in the chunk is one of
//! those heads or an ancestor of one. A snapshot holding a change holds all its ancestors. So a chunk
//! is held exactly when the snapshot has all its heads — one lookup per head, no chunk parsed.

use automerge::{Automerge, ChangeHash, ReadDoc};

use crate::storage::StorageError;

/// The verdict on one snapshot.
#[derive(Debug)]
pub(super) struct Coverage {
    /// The snapshot's heads.
    pub(super) heads: Vec<ChangeHash>,
    /// Whether it holds the snapshot it replaces (true when there was none).
    pub(super) holds_old_snapshot: bool,
    /// The sequence numbers of the chunks it holds: the ones a compaction may delete.
    pub(super) chunks: Vec<i64>,
}

/// Loads `snapshot` (CPU-heavy: run on the blocking pool) and checks it against the stored
/// snapshot's heads (`None` if there is no stored snapshot) and each chunk's `(seq, heads)`.
pub(super) fn check(
    snapshot: &[u8],
    old_snapshot_heads: Option<&[ChangeHash]>,
    chunks: &[(i64, Vec<ChangeHash>)],
) -> Result<Coverage, StorageError> {
    let doc = Automerge::load(snapshot).map_err(|e| StorageError::Snapshot(e.to_string()))?;
    // No heads recorded means nothing is known about what it holds: never counted as held.
    let holds = |heads: &[ChangeHash]| !heads.is_empty() && doc.get_missing_deps(heads).is_empty();
    Ok(Coverage {
        heads: doc.get_heads(),
        holds_old_snapshot: old_snapshot_heads.is_none_or(holds),
        chunks: chunks
            .iter()
            .filter(|(_, heads)| holds(heads))
            .map(|(seq, _)| *seq)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::*;

    fn change(doc: &mut AutoCommit, key: &str) -> Vec<ChangeHash> {
        doc.put(ROOT, key, 1).unwrap();
        doc.get_heads()
    }

    #[test]
    fn only_chunks_whose_heads_the_snapshot_has_are_held() {
        let mut ours = AutoCommit::new();
        let seen = change(&mut ours, "a");
        let mut theirs = ours.fork();
        let unseen = change(&mut theirs, "b");
        let snapshot = ours.save();
        let verdict = check(&snapshot, None, &[(1, seen), (2, unseen), (3, Vec::new())]).unwrap();
        assert_eq!(verdict.chunks, [1]);
        assert!(verdict.holds_old_snapshot);
    }

    #[test]
    fn a_snapshot_behind_the_stored_one_does_not_replace_it() {
        let mut ours = AutoCommit::new();
        change(&mut ours, "a");
        let mut theirs = ours.fork();
        let stored = change(&mut theirs, "b");
        let verdict = check(&ours.save(), Some(&stored), &[]).unwrap();
        assert!(!verdict.holds_old_snapshot);
        ours.merge(&mut theirs).unwrap();
        assert!(
            check(&ours.save(), Some(&stored), &[])
                .unwrap()
                .holds_old_snapshot
        );
    }
}
