//! A thread's token totals and activity, computed from its messages: never a stored counter, which
//! two devices incrementing at once would make drift. Computed once and kept until the messages
//! change (a stream takes a summary every 250 ms, and its deltas change no total).

use automerge::ObjType;

use super::Thread;
use crate::access;
use crate::schema::key;
use crate::usage::{ACTIVITY_WINDOW_MS, Activity, QUARTER_MS};

/// What [`Thread::totals`] counts.
#[derive(Clone, Debug, Default)]
pub(super) struct Totals {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Per quarter hour, in the order first seen.
    pub activity: Vec<Activity>,
}

impl Thread {
    /// The usage of every message summed — on every branch, since each reply cost its tokens — and
    /// messages and tokens per quarter hour of the window before `now_ms`.
    pub(super) fn totals(&self, now_ms: u64) -> Totals {
        let all = self.totals.get_or_init(|| self.count_totals());
        let oldest = now_ms.saturating_sub(ACTIVITY_WINDOW_MS) / QUARTER_MS;
        Totals {
            activity: all
                .activity
                .iter()
                .filter(|a| a.quarter >= oldest)
                .copied()
                .collect(),
            ..*all
        }
    }

    /// Forgets the totals: the messages changed.
    pub(super) fn recount(&mut self) {
        self.totals.take();
    }

    fn count_totals(&self) -> Totals {
        let mut totals = Totals::default();
        let Ok(messages) = self.container(key::MESSAGES, ObjType::Map) else {
            return totals;
        };
        let doc = &self.doc;
        for (_, message) in access::Fields::of(doc, &messages).objects(ObjType::Map) {
            // One pass over the message's fields costs less than three lookups.
            let f = access::Fields::of(doc, message);
            let input = f.u64("inputTokens").unwrap_or(0);
            let output = f.u64("outputTokens").unwrap_or(0);
            totals.input_tokens = totals.input_tokens.saturating_add(input);
            totals.output_tokens = totals.output_tokens.saturating_add(output);
            let quarter = f.u64("createdAt").unwrap_or(0) / QUARTER_MS;
            let tokens = input.saturating_add(output);
            match totals.activity.iter_mut().find(|a| a.quarter == quarter) {
                Some(a) => {
                    a.messages += 1;
                    a.tokens = a.tokens.saturating_add(tokens);
                }
                None => totals.activity.push(Activity {
                    quarter,
                    messages: 1,
                    tokens,
                }),
            }
        }
        totals
    }
}
