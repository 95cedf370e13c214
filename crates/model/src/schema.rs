//! The layout of a thread document, its schema version, and migration of older documents.
//!
//! Migrations are deterministic: the change they make is authored by an actor derived from the document's
//! heads and the versions involved, at commit time 0. Two devices that migrate the same document from the
//! same heads therefore produce byte-identical changes, which Automerge merges as one — so neither
//! device's new containers can hide the other's (Automerge keeps only one of two objects created
//! concurrently under the same key).

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};

use crate::{ModelError, access};

/// The thread-document schema this build writes.
///
/// 2: `meta` may hold `summary` and `localOnly`, and token totals are read from every message. A
/// version-1 build would drop neither, but would sync a local-only thread it opened, so it opens
/// version 2 read-only.
///
/// 3: messages hold ordered `parts` (text and reasoning each in a `Text` of its own, tool calls,
/// files, sources, data, step boundaries), `content` being their text; `finishReason` and `error`;
/// approvals may name a `toolCallId`; tool calls may be `dynamic` or `inputStreaming`. A version-2
/// build would show a new message's content as empty and would stream into no part, so it opens
/// version 3 read-only.
pub const THREAD_SCHEMA_VERSION: u64 = 3;

/// Keys of the thread document.
pub(crate) mod key {
    pub const SCHEMA: &str = "schema";
    pub const META: &str = "meta";
    pub const SETTINGS: &str = "settings";
    pub const MESSAGES: &str = "messages";
    pub const ORDER: &str = "order";
    pub const SELECTED: &str = "selected";
    pub const ARTIFACTS: &str = "artifacts";
    pub const TOOL_CALLS: &str = "toolCalls";
    pub const APPROVALS: &str = "approvals";
    pub const SESSION: &str = "session";
    pub const CONTEXT: &str = "context";
}

/// Every top-level container of a current thread document.
pub(crate) const CONTAINERS: &[(&str, ObjType)] = &[
    (key::META, ObjType::Map),
    (key::SETTINGS, ObjType::Map),
    (key::MESSAGES, ObjType::Map),
    (key::ORDER, ObjType::List),
    (key::SELECTED, ObjType::Map),
    (key::ARTIFACTS, ObjType::Map),
    (key::TOOL_CALLS, ObjType::Map),
    (key::APPROVALS, ObjType::Map),
    (key::SESSION, ObjType::Map),
    (key::CONTEXT, ObjType::Map),
];

/// The schema version a document declares; a document without one (an empty document made by
/// `repo.create()` in automerge-repo, or a pre-release layout) is version 0.
pub(crate) fn version_of(doc: &impl ReadDoc) -> u64 {
    access::get_u64(doc, &ROOT, key::SCHEMA).unwrap_or(0)
}

/// Whether the document lacks anything the current schema has.
pub(crate) fn needs_migration(doc: &impl ReadDoc) -> bool {
    version_of(doc) < THREAD_SCHEMA_VERSION
        || CONTAINERS
            .iter()
            .any(|(k, ty)| access::get_obj(doc, &ROOT, k, *ty).is_none())
}

/// Creates the missing containers and stamps the current version. Used by genesis and by migration.
pub(crate) fn create_missing_containers(doc: &mut AutoCommit) -> Result<(), ModelError> {
    for (k, ty) in CONTAINERS {
        if access::get_obj(doc, &ROOT, k, *ty).is_none() {
            doc.put_object(ROOT, *k, *ty)?;
        }
    }
    access::put_if_changed(doc, &ROOT, key::SCHEMA, THREAD_SCHEMA_VERSION)?;
    Ok(())
}

/// Brings an older document up to [`THREAD_SCHEMA_VERSION`] in one deterministic change, then hands the
/// document back to `device_actor`.
///
/// Version 0 → 1: create the containers a thread needs (an empty automerge-repo document becomes an
/// empty thread). 1 → 2: only the version changes — the new fields are optional and the totals are
/// computed from what version 1 already stored. 2 → 3: only the version changes — a message stored
/// without `parts` reads as one text part holding its `content` (so its content stays exactly what
/// it was), which also covers messages a version-2 device writes offline after another device
/// migrated; rewriting every message into parts would cost a change as large as the thread for no
/// reader's gain. Later versions add their steps here, each reading what the previous one left.
pub(crate) fn migrate(doc: &mut AutoCommit, device_actor: &ActorId) -> Result<(), ModelError> {
    let from = version_of(doc);
    doc.commit();
    let heads = doc.get_heads();
    doc.set_actor(migration_actor(from, &heads));
    let result = create_missing_containers(doc);
    match result {
        Ok(()) => {
            doc.commit_with(automerge::transaction::CommitOptions::default().with_time(0));
        }
        Err(_) => {
            doc.rollback();
        }
    }
    doc.set_actor(device_actor.clone());
    result
}

/// An actor id that depends only on where the migration starts: the source version and the heads.
fn migration_actor(from: u64, heads: &[automerge::ChangeHash]) -> ActorId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&from.to_be_bytes());
    bytes[8..].copy_from_slice(&THREAD_SCHEMA_VERSION.to_be_bytes());
    // Heads are SHA-256 hashes: folding them with XOR keeps the result uniformly spread.
    for head in heads {
        for (i, b) in head.0.iter().enumerate() {
            bytes[i % 16] ^= b;
        }
    }
    ActorId::from(bytes.to_vec())
}
