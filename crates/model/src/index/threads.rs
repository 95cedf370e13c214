//! The index's thread summaries: upsert, status, trash, restore, purge, listing, and what retention
//! and usage read from them.
//!
//! Trash and purge live here alone, not in the thread documents: the index is what every device
//! lists from and what the relay checks, and one place cannot disagree with itself. A trashed thread
//! has `trashedAt`; a purged one keeps only `deleted: true`, a tombstone no write clears.

use automerge::ScalarValue;

use super::Index;
use super::record::Record;
use crate::retention::{RetentionPolicy, threads_to_purge};
use crate::sorted::sorted;
use crate::usage::{ACTIVITY_WINDOW_MS, Activity, QUARTER_MS, UsageReport, usage};
use crate::view::ThreadSummary;
use crate::{ModelError, ProjectId, ThreadId, ThreadStatus};

const TOMBSTONE: &str = "deleted";
const TRASHED_AT: &str = "trashedAt";
/// Activity fields are `u<quarter>`, holding the messages in the top 24 bits and the tokens in the
/// low 40 (a trillion tokens a quarter hour is out of reach): one plain integer per bucket.
const ACTIVITY: char = 'u';
const TOKEN_BITS: u32 = 40;

fn pack(a: &Activity) -> u64 {
    (a.messages.min((1 << 24) - 1) << TOKEN_BITS) | a.tokens.min((1 << TOKEN_BITS) - 1)
}

/// Which threads [`Index::list`] returns. Purged threads are never listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Include archived threads.
    pub include_archived: bool,
    /// Only the threads of this project.
    pub project_id: Option<ProjectId>,
    /// List the trash instead: only trashed threads, archived or not.
    pub trashed: bool,
}

fn purged(id: &ThreadId) -> ModelError {
    ModelError::Purged { id: id.to_string() }
}

impl Index {
    /// Records a thread's summary, writing only the fields that changed. `trashed_at` is not
    /// written (see [`Index::trash`]); activity older than the window is dropped. Refused for a purged
    /// thread, so no device brings one back.
    pub fn upsert(&mut self, summary: &ThreadSummary, now_ms: u64) -> Result<(), ModelError> {
        let id = &summary.id;
        if self.is_purged(id) {
            // The thread's own document still says `deleted` and still has its title: the flush
            // after a deletion writes that summary again, and must leave no text here.
            return match summary.status {
                ThreadStatus::Deleted => Ok(()),
                _ => Err(purged(id)),
            };
        }
        if summary.status == ThreadStatus::Deleted {
            return self.purge(id, now_ms);
        }
        let local = summary.local_only || self.is_local(id);
        self.write_in(local, |home| home.write_summary(summary, now_ms))
    }

    /// [`Index::upsert`]'s writes, in this document.
    fn write_summary(&mut self, summary: &ThreadSummary, now_ms: u64) -> Result<(), ModelError> {
        let id = &summary.id;
        let listed = Record::read(&self.doc, id.as_str());
        // A copy of the thread behind what the list shows (another device's messages listed before
        // they arrived here) would put the list back for every device: it waits for them. Both
        // count, not the time alone: devices stamp with their own clocks, and one whose clock runs
        // behind must still list the messages it adds.
        let behind = |field, ours| listed.u64(field).is_some_and(|theirs| theirs > ours);
        if behind("lastActivityAt", summary.last_activity_at)
            && behind("messageCount", summary.message_count)
        {
            return Ok(());
        }
        self.begin_write(now_ms)?;
        let s = summary;
        let texts = [
            ("title", Some(s.title.as_str())),
            ("preview", Some(s.preview.as_str())),
            ("projectId", s.project_id.as_deref()),
            ("summary", s.summary.as_deref()),
            ("status", Some(s.status.as_str())),
        ];
        for (field, value) in texts {
            self.put(&format!("{id}/{field}"), value.map(ScalarValue::from))?;
        }
        let numbers = [
            ("createdAt", Some(s.created_at)),
            ("lastActivityAt", Some(s.last_activity_at)),
            ("messageCount", Some(s.message_count)),
            ("totalInputTokens", Some(s.total_input_tokens)),
            ("totalOutputTokens", Some(s.total_output_tokens)),
            ("localOnly", s.local_only.then_some(1)),
        ];
        for (field, value) in numbers {
            self.put(&format!("{id}/{field}"), value.map(ScalarValue::Uint))?;
        }
        let oldest = now_ms.saturating_sub(ACTIVITY_WINDOW_MS) / QUARTER_MS;
        for name in listed.names() {
            if activity_quarter(name).is_some_and(|q| q < oldest) {
                self.put(&format!("{id}/{name}"), None)?;
            }
        }
        for a in &s.activity {
            if a.quarter >= oldest {
                let key = format!("{id}/{ACTIVITY}{}", a.quarter);
                self.put(&key, Some(ScalarValue::Uint(pack(a))))?;
            }
        }
        Ok(())
    }

    /// The summary of a known thread that is not purged, or why not.
    fn live(&self, id: &ThreadId) -> Result<ThreadSummary, ModelError> {
        match self.get(id) {
            None => Err(ModelError::NotFound {
                kind: "thread",
                id: id.to_string(),
            }),
            Some(s) if s.status == ThreadStatus::Deleted => Err(purged(id)),
            Some(s) => Ok(s),
        }
    }

    /// Archives or unarchives a listed thread (trashed or not); [`ThreadStatus::Deleted`] purges it.
    pub fn set_status(
        &mut self,
        id: &ThreadId,
        status: ThreadStatus,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        let current = self.live(id)?;
        if status == ThreadStatus::Deleted {
            return self.purge(id, now_ms);
        }
        let activity = now_ms.max(current.last_activity_at);
        self.write_in(self.is_local(id), |home| {
            home.begin_write(now_ms)?;
            home.put(&format!("{id}/lastActivityAt"), Some(activity.into()))?;
            home.put(&format!("{id}/status"), Some(status.as_str().into()))
        })
    }

    /// Moves a thread to the trash: it leaves every list but the trash's, and can be restored until
    /// the user's `trashRetentionDays` have passed. Trashing a trashed thread keeps its first time.
    pub fn trash(&mut self, id: &ThreadId, now_ms: u64) -> Result<(), ModelError> {
        if self.live(id)?.trashed_at.is_some() {
            return Ok(());
        }
        self.write_in(self.is_local(id), |home| {
            home.begin_write(now_ms)?;
            home.put(&format!("{id}/{TRASHED_AT}"), Some(now_ms.into()))
        })
    }

    /// Takes a thread out of the trash, as it was before (archived or not). Refused for a thread not
    /// in the trash, or past its time there.
    pub fn restore(&mut self, id: &ThreadId, now_ms: u64) -> Result<(), ModelError> {
        let current = self.live(id)?;
        let refuse = |state: &str| ModelError::InvalidTransition {
            kind: "thread",
            id: id.to_string(),
            state: state.into(),
            action: "restore",
        };
        let trashed_at = current
            .trashed_at
            .ok_or_else(|| refuse("not in the trash"))?;
        if self.trash_retention().trash_expired(trashed_at, now_ms) {
            return Err(refuse("past its time in the trash"));
        }
        self.write_in(self.is_local(id), |home| {
            home.begin_write(now_ms)?;
            home.put(&format!("{id}/{TRASHED_AT}"), None)
        })
    }

    /// Purges a thread: erases its summary, leaving a tombstone that refuses every later write and
    /// wins over any concurrent one. Works for any id, listed or not (a thread the index has not
    /// heard of yet stays purged when it arrives); purging twice is harmless. The thread's own
    /// document is the caller's to erase.
    /// A local-only thread's tombstone stays in the local part, with nothing of it synced.
    pub fn purge(&mut self, id: &ThreadId, now_ms: u64) -> Result<(), ModelError> {
        self.write_in(self.is_local(id), |home| {
            home.begin_write(now_ms)?;
            home.erase_record(id.as_str(), TOMBSTONE)?;
            home.put(&format!("{id}/{TOMBSTONE}"), Some(true.into()))
        })
    }

    /// Erases what concurrent writes left beside a tombstone — of a thread (a summary upserted on a
    /// device that had not seen the purge yet) or of a deleted project. Call after merging remote
    /// changes; returns whether anything was erased.
    pub fn sweep_purged(&mut self, now_ms: u64) -> Result<bool, ModelError> {
        let leftovers = self.purged_with_leftovers();
        if leftovers.is_empty() {
            return Ok(false);
        }
        self.begin_write(now_ms)?;
        for prefix in leftovers {
            self.erase_record(&prefix, TOMBSTONE)?;
        }
        Ok(true)
    }

    /// The records (threads and projects) whose tombstone has other fields beside it.
    pub(super) fn purged_with_leftovers(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (prefix, r) in Record::all(&self.doc) {
            if r.bool(TOMBSTONE) == Some(true) && r.names().nth(1).is_some() {
                out.push(prefix);
            }
        }
        out
    }

    /// Whether the thread is purged: one lookup, cheap enough to check before every write.
    pub fn is_purged(&self, id: &ThreadId) -> bool {
        let home = self.home(id);
        crate::access::get_bool(&home.doc, &automerge::ROOT, &format!("{id}/{TOMBSTONE}"))
            == Some(true)
    }

    /// Every purged thread's id, in id order within each document (the synced one, then the local
    /// part): what a device or the relay may still hold the bytes
    /// of and has to erase.
    pub fn purged_ids(&self) -> Vec<ThreadId> {
        let mut out = Vec::new();
        for (prefix, record) in self.all_records() {
            if record.bool(TOMBSTONE) == Some(true)
                && let Ok(id) = ThreadId::new(prefix)
            {
                out.push(id);
            }
        }
        out
    }

    /// The same as [`Index::is_purged`] (the name from before there was a trash).
    pub fn is_deleted(&self, id: &ThreadId) -> bool {
        self.is_purged(id)
    }

    /// One thread's summary, if the index has it; a purged thread's reads as
    /// [`ThreadStatus::Deleted`] with nothing else.
    pub fn get(&self, id: &ThreadId) -> Option<ThreadSummary> {
        let record = Record::read(&self.home(id).doc, id.as_str());
        let deleted = self.deleted_projects();
        summary_from(id.clone(), &record, &deleted)
    }

    /// Whether the index has heard of this thread, purged ones included: one lookup, for checking
    /// many ids at once (a full [`Index::get`] reads every field).
    pub fn contains(&self, id: &ThreadId) -> bool {
        self.holds(id) || self.is_local(id)
    }

    /// Every thread that is not purged — archived and trashed ones too, local-only ones too — in id
    /// order within each document: what retention and usage count.
    pub fn summaries(&self) -> Vec<ThreadSummary> {
        let deleted = self.deleted_projects();
        let mut out = Vec::new();
        for (prefix, record) in self.all_records() {
            if let Ok(id) = ThreadId::new(prefix)
                && let Some(s) = summary_from(id, &record, &deleted)
                && s.status != ThreadStatus::Deleted
            {
                out.push(s);
            }
        }
        out
    }

    /// The threads `options` asks for, latest activity first (ties by id).
    pub fn list(&self, options: ListOptions) -> Vec<ThreadSummary> {
        let wanted_project = options.project_id.as_ref().map(ProjectId::as_str);
        let mut out = Vec::new();
        for s in self.summaries() {
            if options.trashed == s.trashed_at.is_some()
                && (options.trashed || options.include_archived || s.status == ThreadStatus::Active)
                && (wanted_project.is_none() || s.project_id.as_deref() == wanted_project)
            {
                out.push(s);
            }
        }
        sorted(out, &|a, b| {
            b.last_activity_at
                .cmp(&a.last_activity_at)
                .then_with(|| a.id.cmp(&b.id))
        })
    }

    /// What the user used today and this month (see [`usage`](crate::usage())).
    pub fn usage(&self, now_ms: u64, utc_offset_minutes: i32) -> Result<UsageReport, ModelError> {
        usage(
            &self.summaries(),
            &self.preferences(),
            now_ms,
            utc_offset_minutes,
        )
    }

    /// The threads `policy` purges now (see [`threads_to_purge`](crate::threads_to_purge)); the
    /// user's own is `index.preferences().retention()`.
    pub fn threads_to_purge(&self, policy: &RetentionPolicy, now_ms: u64) -> Vec<ThreadId> {
        threads_to_purge(&self.summaries(), policy, now_ms)
    }
}

/// The quarter of an activity field's name (`u<quarter>`): decimal digits, read by hand (a
/// `str::parse` would add its own copy of the parser to the browser package).
fn activity_quarter(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(ACTIVITY)?;
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.bytes().try_fold(0u64, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// A summary from a thread's record. `None` for a record without a known status (stray keys from a
/// foreign writer).
fn summary_from(id: ThreadId, r: &Record, deleted_projects: &[String]) -> Option<ThreadSummary> {
    if r.bool(TOMBSTONE) == Some(true) {
        return Some(tombstone(id));
    }
    let status: ThreadStatus = r.str("status")?.parse().ok()?;
    let mut activity = Vec::new();
    for (name, value) in r.iter() {
        if let Some(quarter) = activity_quarter(name)
            && let ScalarValue::Uint(packed) = value
        {
            activity.push(Activity {
                quarter,
                messages: packed >> TOKEN_BITS,
                tokens: packed & ((1 << TOKEN_BITS) - 1),
            });
        }
    }
    let u64_of = |k: &str| r.u64(k).unwrap_or(0);
    Some(ThreadSummary {
        title: r.str("title").unwrap_or_default(),
        status,
        created_at: u64_of("createdAt"),
        last_activity_at: u64_of("lastActivityAt"),
        message_count: u64_of("messageCount"),
        preview: r.str("preview").unwrap_or_default(),
        project_id: r.str("projectId").filter(|p| !deleted_projects.contains(p)),
        summary: r.str("summary"),
        total_input_tokens: u64_of("totalInputTokens"),
        total_output_tokens: u64_of("totalOutputTokens"),
        trashed_at: r.u64(TRASHED_AT),
        local_only: r.u64("localOnly").is_some_and(|v| v > 0),
        activity,
        id,
    })
}

fn tombstone(id: ThreadId) -> ThreadSummary {
    ThreadSummary {
        status: ThreadStatus::Deleted,
        ..ThreadSummary::new(id)
    }
}
