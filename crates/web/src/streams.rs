//! Whether an open stream (a `pending` or `streaming` message) still has a writer, as a view shows
//! it. Streams this store instance writes are live. A stream another store of this device wrote has
//! a Web Lock (`locks.rs`): free means its writer is gone, so it shows `interrupted` at once; held
//! means live. Anything else — no Web Locks, or a stream from another device, which has no lock
//! here — falls back on staleness: silent for [`STALE_STREAM_MS`], it shows `interrupted`.

use std::rc::Rc;

use chatsync_model::view::MessageView;
use chatsync_model::{MessageId, MessageStatus, ReadAt};
use js_sys::{Array, Reflect};
use wasm_bindgen::JsValue;

use crate::handle::ThreadHandle;
use crate::inner::StoreInner;
use crate::util::now_ms;

/// A stream nobody here is writing and no lock speaks for, silent this long, shows as interrupted —
/// its writer is gone. Streams written by this store instance keep the model's longer window, so a
/// model that pauses to think is not shown as interrupted to its own writer; so do streams whose
/// writer holds their lock.
pub(crate) const STALE_STREAM_MS: u64 = 5_000;

/// What this store instance knows of a stream someone else writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// Its lock is being looked at.
    Checking,
    /// Another store of this device holds its lock: live.
    Held,
    /// Its lock was free when the message was last updated at `updated_at`: the writer is gone (a
    /// later update means someone writes it again, and it is looked at again).
    Gone { updated_at: u64 },
    /// No lock can say (another device's stream, or no Web Locks): staleness decides.
    Unknown,
}

/// What judging a view's streams found.
#[derive(Default)]
pub(crate) struct Judged {
    /// Some message is still open: it may turn interrupted with time.
    pub open: bool,
    /// Streams nothing is known of yet, to look at their locks.
    pub to_check: Vec<MessageId>,
}

impl ThreadHandle {
    /// Sets the status of each open stream in `messages` that this instance does not write, from
    /// what is known of its writer (see the module docs).
    pub fn judge_streams(&self, messages: &mut [MessageView], now: u64) -> Judged {
        let mut judged = Judged::default();
        let locks = self.locks.borrow().as_ref().is_some_and(|l| l.available());
        for message in messages.iter_mut().filter(|m| m.status.is_open()) {
            judged.open = true;
            if self.writes(&message.id) {
                continue;
            }
            let known = self.liveness(&message.id);
            let stale = now.saturating_sub(message.updated_at) > STALE_STREAM_MS;
            match known {
                Some(Liveness::Held | Liveness::Checking) => {}
                Some(Liveness::Gone { updated_at }) if message.updated_at <= updated_at => {
                    message.status = MessageStatus::Interrupted;
                }
                Some(Liveness::Unknown) if stale => message.status = MessageStatus::Interrupted,
                Some(Liveness::Unknown) => {}
                // Never looked at, or written again since its writer went.
                Some(Liveness::Gone { .. }) | None if locks => {
                    self.set_liveness(&message.id, Liveness::Checking);
                    judged.to_check.push(message.id.clone());
                }
                Some(Liveness::Gone { .. }) | None if stale => {
                    message.status = MessageStatus::Interrupted;
                }
                Some(Liveness::Gone { .. }) | None => {}
            }
        }
        judged
    }

    /// Looks at the locks of streams `ids` (see [`Liveness`]), then repaints; a held lock is waited
    /// on, so the view turns interrupted the moment its writer goes.
    pub async fn check_streams(self: &Rc<Self>, ids: Vec<MessageId>) {
        let Some(locks) = self.locks.borrow().clone() else {
            return;
        };
        for id in ids {
            let author = self.with_thread(|t| t.message_author(&id)).ok().flatten();
            let held = match author {
                Some(author) if locks.is_local(&author) => locks.is_held(&self.id, &id).await,
                _ => None,
            };
            let liveness = match held {
                Some(true) => Liveness::Held,
                Some(false) => self.gone(&id),
                None => Liveness::Unknown,
            };
            self.set_liveness(&id, liveness);
            if liveness == Liveness::Held {
                let handle = Rc::downgrade(self);
                let locks = Rc::clone(&locks);
                crate::util::spawn(async move {
                    let Some(thread) = handle.upgrade().map(|h| h.id.clone()) else {
                        return;
                    };
                    locks.released(&thread, &id).await;
                    if let Some(handle) = handle.upgrade() {
                        let gone = handle.gone(&id);
                        handle.set_liveness(&id, gone);
                        handle.repaint_now();
                    }
                });
            }
        }
        self.repaint_now();
    }

    /// A stream whose writer is gone, as of the message's latest update.
    fn gone(&self, id: &MessageId) -> Liveness {
        let updated_at = self
            .with_thread(|t| t.message(id, ReadAt::new(now_ms())).map(|m| m.updated_at))
            .ok()
            .flatten()
            .unwrap_or(0);
        Liveness::Gone { updated_at }
    }

    fn liveness(&self, id: &MessageId) -> Option<Liveness> {
        let others = self.others.borrow();
        others.iter().find(|(m, _)| m == id).map(|(_, l)| *l)
    }

    fn set_liveness(&self, id: &MessageId, liveness: Liveness) {
        let mut others = self.others.borrow_mut();
        match others.iter_mut().find(|(m, _)| m == id) {
            Some(entry) => entry.1 = liveness,
            None => others.push((id.clone(), liveness)),
        }
    }
}

/// Before a thread opens: the locks of the open streams its view would show are looked at first,
/// so a stream whose writer is gone shows `interrupted` in the very first view.
pub(crate) async fn settle(store: &StoreInner, handle: &Rc<ThreadHandle>) {
    handle.attach_locks(store.locks());
    if !store.locks().available() || !handle.may_show_streams() {
        return;
    }
    let at = ReadAt::new(now_ms());
    let Ok(open) = handle.with_thread(|t| {
        t.messages(at)
            .into_iter()
            .filter(|m| m.status.is_open())
            .map(|m| m.id)
            .collect::<Vec<_>>()
    }) else {
        return;
    };
    let ids: Vec<MessageId> = open
        .into_iter()
        .filter(|id| !handle.writes(id) && handle.liveness(id).is_none())
        .collect();
    for id in &ids {
        handle.set_liveness(id, Liveness::Checking);
    }
    if ids.is_empty() {
        // A stored view's statuses were derived when it was stored: derive them now.
        handle.repaint_now();
    } else {
        handle.check_streams(ids).await;
    }
}

/// Whether a view (as JavaScript has it) shows a message that is, or was, streaming: `interrupted`
/// too, since a stored view may hold a status derived when it was stored.
pub(crate) fn shows_streams(view: &JsValue) -> bool {
    let messages = Reflect::get(view, &"messages".into()).unwrap_or(JsValue::UNDEFINED);
    Array::from(&messages).iter().any(|m| {
        let status = Reflect::get(&m, &"status".into())
            .ok()
            .and_then(|s| s.as_string());
        matches!(
            status.as_deref(),
            Some("pending" | "streaming" | "interrupted")
        )
    })
}
