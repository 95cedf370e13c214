//! Messages on a document, carried to its hub document: open the document (loading it once),
//! step it — on the blocking pool when the step is Automerge-heavy — and carry out what it asks.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chatsync_protocol::DocumentId;
use chatsync_protocol::hub::{
    Close, ConnId, Ephemeral, HubConnection, HubDocument, Refusal, SyncRequest,
};

use super::connection::Frame;
use super::cpu::Weight;
use super::document::{Carried, DocState, Guest, LoadedDocument};
use super::outbox::Outbox;
use super::shares::{Standing, carries_changes};
use super::tasks::Runner;
use super::{Metrics, Relay};
use crate::storage::{ShareAccess, Storage};

/// Where a step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// On the async worker that asked for it (light hub work).
    Inline,
    /// On the blocking pool, with this weight.
    Pool(Weight),
}

/// Who is speaking: the connection, as the document code needs it.
pub(crate) struct Speaker<'a> {
    pub(crate) hub: &'a HubConnection,
    pub(crate) outbox: &'a Outbox,
}

/// Why a connection's frame ended it.
#[derive(Debug)]
pub(crate) enum Ended {
    /// Refused by the relay; the connection tells the client why.
    Refused(Refusal),
    /// Refused by a document, which said already what to tell the client.
    Closed(Close),
}

impl From<Refusal> for Ended {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl<S: Storage> Relay<S> {
    /// A `sync` or `request` from a connection: apply it, store what is new, then answer every peer.
    pub(crate) async fn handle_sync(
        self: &Arc<Self>,
        from: &Speaker<'_>,
        request: SyncRequest,
    ) -> Result<(), Ended> {
        Metrics::inc(&self.metrics.sync_in);
        let id = request.document;
        let user = from.hub.user();
        let standing = self.standing(&id, user).await?;
        let guest = matches!(standing, Standing::Grantee { .. });
        // A grantee is served by the normal path: the cold load answers the owner's devices only.
        if !guest && request.is_cold_load() && self.serve_cold_load(from, id).await? {
            return Ok(());
        }
        let read_only = matches!(
            standing,
            Standing::Grantee {
                access: ShareAccess::Read,
                ..
            }
        );
        // Decoding the message is Automerge work: on the blocking pool, not this async worker.
        let refused = read_only && {
            let data = request.data.clone();
            let weight = super::cpu::Weight::of(data.len() as u64);
            self.cpu.run(weight, move || carries_changes(&data)).await?
        };
        if refused {
            // Nothing of it is applied: the device hears the document is unavailable to it, and its
            // session (if any) ends, so the relay never re-asks for the changes it refused.
            self.metrics.refused("read_only_share");
            tracing::info!(user, document = %id, "a read-only grantee's changes were refused");
            self.drop_grantee(&id, user).await;
            from.outbox.send(Frame::Binary(from.hub.unavailable(id)));
            return Ok(());
        }
        let opener = standing.opener(user).to_owned();
        let opened = match standing {
            Standing::Stranger => None,
            _ => {
                self.open_document(&id, &opener, !guest && request.creates())
                    .await?
            }
        };
        let Some(document) = opened else {
            self.metrics.refused("document_unavailable");
            tracing::info!(user, document = %id, "document unavailable to this user");
            from.outbox.send(Frame::Binary(from.hub.unavailable(id)));
            return Ok(());
        };
        let conn = from.hub.id();
        let peer_id = from.hub.peer_id().unwrap_or_default().to_owned();
        let outbox = from.outbox.clone();
        let now = self.now();
        let guest = guest.then(|| Guest {
            user: user.to_owned(),
            peer_id: peer_id.clone(),
        });
        let (result, carried) = self
            .step(
                &document,
                Some(conn),
                request.data,
                |hub, data| hub.cost_of_sync(data),
                move |state, data| {
                    state.outboxes.entry(conn).or_insert(outbox);
                    if let Some(guest) = guest {
                        state.guests.insert(conn, guest);
                    }
                    state.hub.handle_sync(now, conn, &peer_id, &data)
                },
            )
            .await?;
        result?;
        let stores = !carried.tasks.is_empty();
        self.run_tasks(&document, carried, Runner::Connection(conn))
            .await?;
        if stores {
            self.document_changed(&opener, &id);
            self.changes_stored(&opener, &id);
        }
        Ok(())
    }

    /// A device opening a thread it has none of, while the relay does not have it in memory: answered
    /// with the stored bytes at once, instead of loading the document into Automerge first (the hub
    /// connection decides whether it may). Returns whether it answered.
    async fn serve_cold_load(&self, from: &Speaker<'_>, id: DocumentId) -> Result<bool, Refusal> {
        if self.loaded(&id).is_some() {
            return Ok(false);
        }
        // The owner's row first: another user's id costs one indexed lookup, never a read of their
        // document, and takes the normal path's answer (unavailable, as for a missing one).
        if !self.may_load(&id, from.hub.user()).await? {
            return Ok(false);
        }
        let stored = self.storage.load(&id).await.map_err(|e| {
            tracing::error!(document = %id, error = %e, "loading a document failed");
            Refusal::Storage
        })?;
        let Some(frame) = stored.and_then(|stored| from.hub.cold_load_reply(id, stored)) else {
            return Ok(false);
        };
        Metrics::inc(&self.metrics.sync_out);
        from.outbox.send(Frame::Binary(frame));
        tracing::debug!(document = %id, "cold load served from storage");
        Ok(true)
    }

    /// An `ephemeral` message: forwarded, once per (session, count), to the document's other
    /// connections — the owner's and those of the users it is shared with.
    pub(crate) async fn handle_ephemeral(
        self: &Arc<Self>,
        from: &Speaker<'_>,
        document: DocumentId,
        message: Ephemeral,
    ) {
        let user = from.hub.user();
        let opener = match self.standing(&document, user).await {
            Ok(Standing::Stranger) | Err(_) => return,
            Ok(standing) => standing.opener(user).to_owned(),
        };
        let Ok(Some(document)) = self.open_document(&document, &opener, false).await else {
            return;
        };
        let conn = from.hub.id();
        let _ = self
            .step(
                &document,
                Some(conn),
                message,
                |_, _| 0,
                move |state, message| state.hub.handle_ephemeral(conn, &message),
            )
            .await;
    }

    /// One step of `document`: `run` with `input` under the document's lock — on the blocking pool
    /// when `cost` says it is heavy — then its frames sent and its refusals told. What is left (the
    /// storage tasks) is returned, for after the lock is released.
    pub(crate) async fn step<I, T>(
        &self,
        document: &Arc<LoadedDocument>,
        own: Option<ConnId>,
        input: I,
        cost: impl Fn(&HubDocument, &I) -> u64,
        run: impl FnOnce(&mut DocState, I) -> T + Send + 'static,
    ) -> Result<(T, Carried), Refusal>
    where
        I: Send + 'static,
        T: Send + 'static,
    {
        let place = |hub: &HubDocument, input: &I| match Weight::of(cost(hub, input)) {
            Weight::Light => Place::Inline,
            heavy => Place::Pool(heavy),
        };
        self.step_in(document, own, input, place, run).await
    }

    /// [`Relay::step`], run where `place` says: code that is not the hub's own (a backend's change)
    /// runs on the blocking pool however small, so a panic in it cannot take down an async worker.
    pub(crate) async fn step_in<I, T>(
        &self,
        document: &Arc<LoadedDocument>,
        own: Option<ConnId>,
        input: I,
        place: impl Fn(&HubDocument, &I) -> Place,
        run: impl FnOnce(&mut DocState, I) -> T + Send + 'static,
    ) -> Result<(T, Carried), Refusal>
    where
        I: Send + 'static,
        T: Send + 'static,
    {
        // A heavy step's permit is taken before the document's lock, never while holding it: other
        // connections' light steps on this document go on while it waits for a core. Where a step
        // runs depends on the document, so it is looked at under the lock, and if it turns out
        // heavy without a permit, the lock is let go to wait for one, and taken again.
        let mut permit = None;
        let (mut state, place) = loop {
            let state = document.state.clone().lock_owned().await;
            if document.poisoned.load(Ordering::Acquire) {
                return Err(Refusal::Panicked);
            }
            let place = place(&state.hub, &input);
            if place == Place::Pool(Weight::Heavy) && permit.is_none() {
                drop(state);
                permit = Some(self.cpu.heavy_permit().await?);
                continue;
            }
            break (state, place);
        };
        let step = move || {
            let value = run(&mut state, input);
            (value, state.carry(own))
        };
        let stepped = match place {
            // A light step can meet an Automerge panic too (a damaged change): caught here like one
            // on the pool, so the copy is poisoned rather than left half-changed for the next step.
            Place::Inline => std::panic::catch_unwind(std::panic::AssertUnwindSafe(step))
                .map_err(|_| Refusal::Panicked),
            Place::Pool(_) => super::cpu::Cpu::run_now(step).await,
        };
        drop(permit);
        let (value, carried) = match stepped {
            Ok(stepped) => stepped,
            Err(refusal) => {
                // Automerge panicked mid-step on the blocking pool: this copy may be half-changed.
                document.poisoned.store(true, Ordering::Release);
                self.forget_copy(document, own).await;
                return Err(refusal);
            }
        };
        self.metrics
            .sync_out
            .fetch_add(carried.sent, Ordering::Relaxed);
        for label in &carried.refused {
            self.metrics.refused(label);
        }
        if carried.forget {
            // Its sessions are closed already (the hub said so).
            self.remove_copy(document);
        } else {
            self.with_hub(|hub| hub.document_resized(&document.id, carried.stored_bytes));
        }
        document.stepped.notify_waiters();
        Ok((value, carried))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use automerge::ROOT;
    use automerge::transaction::Transactable;
    use futures_util::FutureExt;

    use super::*;
    use crate::relay::Open;

    /// Review of issue 11: a heavy step took the document's lock and then waited for a CPU permit,
    /// so every other step on the document waited for a core too.
    #[tokio::test]
    async fn a_heavy_step_waits_for_its_permit_without_holding_the_documents_lock() {
        let (relay, _dir) = crate::relay::test_relay().await;
        let id = DocumentId::from_bytes([3; 16]);
        relay
            .with_document("alice", &id, Open::CreateIfAbsent, |doc| {
                doc.put(ROOT, "k", 1).unwrap();
            })
            .await
            .unwrap();
        let document = relay.loaded(&id).expect("in memory");
        // Every heavy permit is busy elsewhere.
        let mut busy = Vec::new();
        while let Some(permit) = relay.cpu.heavy_permit().now_or_never() {
            busy.push(permit.unwrap());
        }
        let (stepping, copy) = (relay.clone(), document.clone());
        let heavy = tokio::spawn(async move {
            let heavy = |_: &HubDocument, _: &()| Place::Pool(Weight::Heavy);
            let stepped = stepping.step_in(&copy, None, (), heavy, |_, ()| ()).await;
            stepped.map(|_| ())
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!heavy.is_finished(), "the heavy step waits for a permit");
        assert!(
            document.state.try_lock().is_ok(),
            "the document's lock is free meanwhile"
        );
        drop(busy);
        heavy.await.unwrap().unwrap();
    }
}
