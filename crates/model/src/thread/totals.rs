//! A thread's token totals and activity, computed from its messages every time they are read:
//! never a stored counter, which two devices incrementing at once would make drift.

use automerge::ObjType;

use super::Thread;
use crate::access;
use crate::schema::key;
use crate::sorted::sorted;
use crate::usage::{ACTIVITY_WINDOW_MS, Activity, QUARTER_MS};

/// What [`Thread::totals`] counts.
#[derive(Default)]
pub(super) struct Totals {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Per quarter hour within the activity window, oldest first.
    pub activity: Vec<Activity>,
}

impl Thread {
    /// Sums the usage of every message — on every branch, since each reply cost its tokens — and
    /// counts messages and tokens per quarter hour of the window before `now_ms`.
    pub(super) fn totals(&self, now_ms: u64) -> Totals {
        let mut totals = Totals::default();
        let Ok(messages) = self.container(key::MESSAGES, ObjType::Map) else {
            return totals;
        };
        let oldest = now_ms.saturating_sub(ACTIVITY_WINDOW_MS) / QUARTER_MS;
        let mut activity: Vec<Activity> = Vec::new();
        let doc = &self.doc;
        for (_, message) in access::Fields::of(doc, &messages).objects(ObjType::Map) {
            let input = access::get_u64(doc, message, "inputTokens").unwrap_or(0);
            let output = access::get_u64(doc, message, "outputTokens").unwrap_or(0);
            totals.input_tokens = totals.input_tokens.saturating_add(input);
            totals.output_tokens = totals.output_tokens.saturating_add(output);
            let quarter = access::get_u64(doc, message, "createdAt").unwrap_or(0) / QUARTER_MS;
            if quarter < oldest {
                continue;
            }
            let tokens = input.saturating_add(output);
            match activity.iter_mut().find(|a| a.quarter == quarter) {
                Some(a) => {
                    a.messages += 1;
                    a.tokens = a.tokens.saturating_add(tokens);
                }
                None => activity.push(Activity {
                    quarter,
                    messages: 1,
                    tokens,
                }),
            }
        }
        totals.activity = sorted(activity, &|a, b| a.quarter.cmp(&b.quarter));
        totals
    }
}
