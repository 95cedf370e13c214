//! The local-only threads' summaries: a second index document, held beside the synced one and
//! never synced, so a thread that never leaves the device leaves no title, preview or count in the
//! document every device and the relay receive.
//!
//! Reads see both documents (`list`, `get`, `usage`, retention, projects' counts); a write goes to
//! the document that holds the thread, and a new thread's summary to the local one when it says
//! `localOnly` (fixed at the thread's creation). The sync protocol, `save`, `heads` and `merge` see
//! only the synced document: the store keeps the local one (`local_mut`) in storage itself.
//! Preferences, profile and projects stay in the synced document.

use super::Index;
use super::record::Record;
use crate::{ModelError, ThreadId};

impl Index {
    /// Holds `local` as this index's local-only part (see the [module docs](self)).
    pub fn set_local(&mut self, local: Index) {
        self.local = Some(Box::new(local));
    }

    /// The local-only part, for the store to save.
    pub fn local_mut(&mut self) -> Option<&mut Index> {
        self.local.as_deref_mut()
    }

    /// Whether this document itself (not its local part) has a record of the thread.
    pub(super) fn holds(&self, id: &ThreadId) -> bool {
        !Record::read(&self.doc, id.as_str()).is_empty()
    }

    /// The document that holds the thread's record: the local part when it does.
    pub(super) fn home(&self, id: &ThreadId) -> &Index {
        match &self.local {
            Some(local) if local.holds(id) => local,
            _ => self,
        }
    }

    /// Runs a write on the local part when `local` (and there is one), else on this document.
    pub(super) fn write_in<R>(&mut self, local: bool, f: impl FnOnce(&mut Index) -> R) -> R {
        match self.local.as_deref_mut() {
            Some(part) if local => f(part),
            _ => f(self),
        }
    }

    /// Every record of this document, then of the local part's.
    pub(super) fn all_records(&self) -> Vec<(String, Record)> {
        let mut all = Record::all(&self.doc);
        if let Some(local) = &self.local {
            all.extend(Record::all(&local.doc));
        }
        all
    }

    /// Whether the thread's record is in the local part.
    pub(super) fn is_local(&self, id: &ThreadId) -> bool {
        self.local.as_ref().is_some_and(|local| local.holds(id))
    }

    /// Moves the local-only summaries this document holds (written before there was a local part,
    /// or by such a store on another device) into the local part, every field as it is, and erases
    /// them here. The synced document's history still holds the old values: Automerge keeps every
    /// value ever written. Returns whether anything moved; nothing does without a local part.
    pub fn move_local_only(&mut self, now_ms: u64) -> Result<bool, ModelError> {
        let Some(local) = self.local.as_deref_mut() else {
            return Ok(false);
        };
        let mut moved = Vec::new();
        for (prefix, record) in Record::all(&self.doc) {
            if record.u64("localOnly").is_some_and(|v| v > 0) {
                local.begin_write(now_ms)?;
                for (name, value) in record.iter() {
                    local.put(&format!("{prefix}/{name}"), Some(value.clone()))?;
                }
                moved.push(prefix);
            }
        }
        if moved.is_empty() {
            return Ok(false);
        }
        self.begin_write(now_ms)?;
        for prefix in &moved {
            // No field is named "": every key of the record goes.
            self.erase_record(prefix, "")?;
        }
        Ok(true)
    }
}
