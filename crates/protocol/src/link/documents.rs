//! The documents of a [`Link`](super::Link): one [`DocSession`] each with the relay, whether the
//! document is held by the driver or still being fetched, and what to resume from on the next join.
//!
//! The driver owns the documents it holds and lends them through [`Documents`]: a closure-taking
//! trait rather than `&mut AutoCommit` arguments, because the link needs a different document for
//! each frame and timer, and because drivers keep documents behind wrappers that only lend them for
//! the length of a call (the model's `Thread::with_automerge`, the browser store's `RefCell`s).
//! A document being fetched has no driver copy yet: the link keeps it until it is whole, then hands
//! it over in [`LinkEvent::Fetched`](super::LinkEvent::Fetched).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasher;

use automerge::{AutoCommit, ChangeHash};

use super::LinkEvent;
use super::by_id::ById;
use crate::{DocSession, DocumentId, Message, SyncError};

/// The documents a driver holds, lent to the link one call at a time.
///
/// A closure-taking trait rather than `&mut AutoCommit` arguments: a frame or a timer needs a
/// document the driver cannot name in advance, and drivers keep documents behind wrappers that lend
/// them only for the length of a call (the model's `Thread::with_automerge`, the browser store's
/// `RefCell`s). Implemented for maps of plain documents, which tests and simple drivers use.
pub trait Documents {
    /// Runs `f` on the driver's copy of document `id`; returns false (without running it) if the
    /// driver holds no such document.
    fn with_doc(&mut self, id: DocumentId, f: &mut dyn FnMut(&mut AutoCommit)) -> bool;
}

impl<S: BuildHasher> Documents for HashMap<DocumentId, AutoCommit, S> {
    fn with_doc(&mut self, id: DocumentId, f: &mut dyn FnMut(&mut AutoCommit)) -> bool {
        self.get_mut(&id).map(f).is_some()
    }
}

impl Documents for BTreeMap<DocumentId, AutoCommit> {
    fn with_doc(&mut self, id: DocumentId, f: &mut dyn FnMut(&mut AutoCommit)) -> bool {
        self.get_mut(&id).map(f).is_some()
    }
}

/// A session's state saved for the next connection to the same relay storage (see
/// [`DocSession::resume`]): a driver with storage keeps it across restarts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedSync {
    /// The relay storage it was shared with; a relay with another storage gets a fresh session.
    pub relay_storage: Option<String>,
    /// [`DocSession::saved_state`] bytes.
    pub state: Vec<u8>,
}

/// The relay this link is joined to, as the documents need to know it.
pub(crate) struct Relay<'a> {
    /// Its peer id: the `targetId` of every frame.
    pub(crate) peer: &'a str,
    /// Its storage id: saved states are resumed only with the same storage.
    pub(crate) storage: Option<&'a str>,
}

/// One document of the link.
struct Entry {
    session: DocSession,
    /// While fetching: the document as far as it arrived (the driver holds none yet).
    fetching: Option<Box<AutoCommit>>,
    /// What the next join resumes from.
    saved: Option<SavedSync>,
    /// The relay heads last announced in [`LinkEvent::Acknowledged`].
    announced: Option<Vec<ChangeHash>>,
    /// When to poll again for changes held while a message is in flight (ms). Taken from the
    /// session's `wake_at` after each flush, and only if still ahead: a session's `wake_at` stays
    /// in the past once its hold ran out with nothing to send, and a timer armed from it would
    /// fire forever.
    held_until: Option<u64>,
}

/// Every document of a link, with its session.
pub(crate) struct DocumentSet {
    /// In id order, so that frames leave in the same order on every run (the simulation replays seeds).
    entries: ById<Entry>,
    /// Documents whose session was dropped on this connection (released, or a fetch replaced by a
    /// hold): the relay keeps its side of that session, so the next one starts over with it
    /// ([`DocSession::start_over`]).
    dropped: Vec<DocumentId>,
    /// The relay said it understands a sync reset (in a dropped session).
    reset_understood: bool,
    batch_hold_ms: Option<u64>,
}

impl DocumentSet {
    pub(crate) fn new(batch_hold_ms: Option<u64>) -> Self {
        Self {
            entries: ById::default(),
            dropped: Vec::new(),
            reset_understood: false,
            batch_hold_ms,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn ids(&self) -> Vec<DocumentId> {
        self.entries.keys().copied().collect()
    }

    fn new_session(&self) -> DocSession {
        self.batch_hold_ms
            .map_or_else(DocSession::new, DocSession::batching)
    }

    /// Starts holding a document the driver has; `false` if it was held already. A document being
    /// fetched becomes held (the driver got it some other way).
    pub(crate) fn hold(
        &mut self,
        id: DocumentId,
        saved: Option<SavedSync>,
        relay: Option<&Relay<'_>>,
        docs: &mut (impl Documents + ?Sized),
    ) -> bool {
        match self.entries.get(&id) {
            Some(entry) if entry.fetching.is_none() => return false,
            // The fetch's session gives way to a new one.
            Some(_) => self.release(id),
            None => {}
        }
        let mut entry = Entry {
            session: self.new_session(),
            fetching: None,
            saved,
            announced: None,
            held_until: None,
        };
        if let Some(relay) = relay {
            self.start(id, &mut entry, relay, docs);
        }
        self.entries.insert(id, entry);
        true
    }

    /// Starts fetching; `false` if the document is held or being fetched already.
    pub(crate) fn fetch(&mut self, id: DocumentId, empty: AutoCommit) -> bool {
        if self.entries.contains_key(&id) {
            return false;
        }
        // A fetch starts fresh: there is nothing to resume from, and nothing to batch.
        let entry = Entry {
            session: DocSession::new(),
            fetching: Some(Box::new(empty)),
            saved: None,
            announced: None,
            held_until: None,
        };
        self.entries.insert(id, entry);
        true
    }

    pub(crate) fn release(&mut self, id: DocumentId) {
        if let Some(entry) = self.entries.remove(&id) {
            self.reset_understood |= entry.session.peer_understands_reset();
            self.dropped.push(id);
        }
    }

    /// A new session on the connection just joined: resumed from the saved state when that was
    /// shared with this relay's storage (another storage never saw those heads), and starting over
    /// with the relay when an earlier session of the document on this connection was dropped.
    fn start(
        &mut self,
        id: DocumentId,
        entry: &mut Entry,
        relay: &Relay<'_>,
        docs: &mut (impl Documents + ?Sized),
    ) {
        entry.announced = None;
        if entry.fetching.is_some() {
            entry.session = DocSession::new();
            return;
        }
        entry.session = self.new_session();
        if let Some(saved) = entry.saved.clone()
            && saved.relay_storage.as_deref() == relay.storage
        {
            let fresh = self.new_session();
            if let Some(resumed) =
                with_doc(id, entry, docs, |_, doc| fresh.resume(&saved.state, doc))
            {
                entry.session = resumed;
            }
        }
        if let Some(i) = self.dropped.iter().position(|d| *d == id) {
            self.dropped.swap_remove(i);
            entry.session.start_over(self.reset_understood);
        }
    }

    /// The relay answered `join`: every document starts a session with it.
    pub(crate) fn start_all(&mut self, relay: &Relay<'_>, docs: &mut (impl Documents + ?Sized)) {
        // A new connection: the relay has no session from before.
        self.dropped.clear();
        self.reset_understood = false;
        let mut entries = std::mem::take(&mut self.entries);
        for (id, entry) in entries.iter_mut() {
            self.start(*id, entry, relay, docs);
        }
        self.entries = entries;
    }

    /// The connection ended: each session that heard the relay is saved for the next one.
    pub(crate) fn save_all(&mut self, relay_storage: Option<&str>) {
        for entry in self.entries.values_mut() {
            if entry.session.their_heads().is_some() {
                entry.saved = Some(SavedSync {
                    relay_storage: relay_storage.map(str::to_owned),
                    state: entry.session.saved_state(),
                });
            }
        }
    }

    /// Applies a sync payload from the relay. Announces moved relay heads and changes; returns
    /// whether a fetch is now complete (the caller replies, then [`DocumentSet::finish_fetch`]).
    pub(crate) fn receive(
        &mut self,
        id: DocumentId,
        data: &[u8],
        docs: &mut (impl Documents + ?Sized),
        events: &mut VecDeque<LinkEvent>,
    ) -> Result<bool, SyncError> {
        let fresh = self.new_session();
        let Some(entry) = self.entries.get_mut(&id) else {
            // Not ours (a relay that shares unasked): ignored, as automerge-repo does without a
            // share policy.
            return Ok(false);
        };
        let outcome = with_doc(id, entry, docs, |session, doc| {
            let before = doc.get_heads();
            session.receive(doc, data)?;
            let changed = doc.get_heads() != before;
            Ok::<_, SyncError>((changed, session.holds_what_they_advertised(doc)))
        });
        let Some((changed, complete)) = outcome.transpose()? else {
            // The driver lent no document: it left memory (or is loading) and the driver has not
            // released it here yet. The relay counts this payload as delivered and would never
            // send its changes again: the session starts over, with its first message once the
            // document is back.
            let understood = entry.session.peer_understands_reset();
            entry.session = fresh;
            entry.session.start_over(understood);
            return Ok(false);
        };
        if entry.fetching.is_some() {
            return Ok(complete);
        }
        let theirs = entry.session.their_heads().map(<[ChangeHash]>::to_vec);
        if theirs.is_some() && entry.announced != theirs {
            entry.announced.clone_from(&theirs);
            events.push_back(LinkEvent::Acknowledged {
                document: id,
                heads: theirs.unwrap_or_default(),
            });
        }
        if changed {
            events.push_back(LinkEvent::Changed { document: id });
        }
        Ok(false)
    }

    /// Hands a complete fetch over to the driver: the document is held from now on.
    pub(crate) fn finish_fetch(&mut self, id: DocumentId, events: &mut VecDeque<LinkEvent>) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let Some(doc) = entry.fetching.take() else {
            return;
        };
        let heads = entry.session.their_heads().unwrap_or_default().to_vec();
        entry.announced = Some(heads.clone());
        events.push_back(LinkEvent::Fetched { document: id, doc });
        events.push_back(LinkEvent::Acknowledged {
            document: id,
            heads,
        });
    }

    /// The relay has no such document for us: a fetch of it ends (a held one stays held).
    pub(crate) fn unavailable(&mut self, id: DocumentId) {
        if self.entries.get(&id).is_some_and(|e| e.fetching.is_some()) {
            self.entries.remove(&id);
        }
    }

    /// Queues every payload the document's session has ready: a `request` while fetching, a `sync`
    /// otherwise.
    pub(crate) fn flush(
        &mut self,
        now_ms: u64,
        id: DocumentId,
        from: (&str, &Relay<'_>),
        docs: &mut (impl Documents + ?Sized),
        transmits: &mut VecDeque<Vec<u8>>,
    ) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let requesting = entry.fetching.is_some();
        let payloads = with_doc(id, entry, docs, |session, doc| {
            std::iter::from_fn(|| session.poll_message(doc, now_ms)).collect::<Vec<_>>()
        });
        entry.held_until = entry.session.wake_at().filter(|wake| *wake > now_ms);
        let (sender, relay) = from;
        for data in payloads.unwrap_or_default() {
            let (sender_id, target_id, document_id) =
                (sender.to_owned(), relay.peer.to_owned(), id);
            let message = if requesting {
                Message::Request {
                    sender_id,
                    target_id,
                    document_id,
                    data,
                }
            } else {
                Message::Sync {
                    sender_id,
                    target_id,
                    document_id,
                    data,
                }
            };
            transmits.push_back(message.encode());
        }
    }

    /// The documents whose held batch is due at `now_ms`.
    pub(crate) fn due(&self, now_ms: u64) -> Vec<DocumentId> {
        self.entries
            .iter()
            .filter(|(_, e)| e.held_until.is_some_and(|w| w <= now_ms))
            .map(|(id, _)| *id)
            .collect()
    }

    /// The earliest time a held batch is due (ms).
    pub(crate) fn next_wake(&self) -> Option<u64> {
        self.entries.values().filter_map(|e| e.held_until).min()
    }

    /// Whether the relay's heads on this connection cover `heads` of a held document.
    pub(crate) fn acknowledged(
        &mut self,
        id: DocumentId,
        heads: &[ChangeHash],
        docs: &mut (impl Documents + ?Sized),
    ) -> bool {
        let Some(entry) = self.entries.get_mut(&id) else {
            return false;
        };
        entry.fetching.is_none()
            && with_doc(id, entry, docs, |session, doc| {
                session.has_acknowledged(doc, heads)
            })
            .unwrap_or(false)
    }

    /// The state worth keeping of a document's session: the one shared on this connection (while
    /// joined to `relay_storage`), or the one saved from an earlier connection.
    pub(crate) fn saved_sync(
        &self,
        id: DocumentId,
        joined_storage: Option<Option<&str>>,
    ) -> Option<SavedSync> {
        let entry = self.entries.get(&id)?;
        match joined_storage {
            Some(storage) if entry.session.their_heads().is_some() => Some(SavedSync {
                relay_storage: storage.map(str::to_owned),
                state: entry.session.saved_state(),
            }),
            _ => entry.saved.clone(),
        }
    }
}

/// Runs `f` on the document of `entry`: the one being fetched, or the driver's.
fn with_doc<R>(
    id: DocumentId,
    entry: &mut Entry,
    docs: &mut (impl Documents + ?Sized),
    f: impl FnOnce(&mut DocSession, &mut AutoCommit) -> R,
) -> Option<R> {
    let session = &mut entry.session;
    if let Some(doc) = &mut entry.fetching {
        return Some(f(session, doc));
    }
    let mut f = Some(f);
    let mut out = None;
    docs.with_doc(id, &mut |doc| {
        if let Some(f) = f.take() {
            out = Some(f(session, doc));
        }
    });
    out
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_fetching_entry_lends_its_own_document_and_a_held_one_the_drivers() {
        let id = DocumentId::from_bytes([1; 16]);
        let mut driver: HashMap<DocumentId, AutoCommit> = HashMap::new();
        let mut fetching = Entry {
            session: DocSession::new(),
            fetching: Some(Box::default()),
            saved: None,
            announced: None,
            held_until: None,
        };
        assert_eq!(
            with_doc(id, &mut fetching, &mut driver, |_, d| d.get_heads().len()),
            Some(0)
        );
        fetching.fetching = None;
        assert_eq!(with_doc(id, &mut fetching, &mut driver, |_, _| ()), None);
        driver.insert(id, AutoCommit::default());
        assert_eq!(
            with_doc(id, &mut fetching, &mut driver, |_, _| ()),
            Some(())
        );
    }
}
