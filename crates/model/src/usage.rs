//! What a user has used: messages today and tokens this month, against the limits in their
//! [`Preferences`], counted from the threads' messages.
//!
//! Each thread's summary carries its [`Activity`]: messages and tokens per quarter hour (UTC) of the
//! last [`ACTIVITY_WINDOW_MS`], computed from the messages' creation times and usage, so the index
//! can count without opening any thread, and a count never drifts under concurrent writes (it is
//! recomputed from the merged messages, not incremented).
//!
//! "Today" is the caller's local calendar day: from local midnight, local time being UTC plus
//! `utc_offset_minutes` (`-new Date().getTimezoneOffset()` in a browser: +330 in India, -300 in New
//! York in winter). "This month" runs from local midnight of the first day of the local month. Every
//! message counts, whatever its role and on every branch (a regeneration is one more message), in
//! every thread not purged — archived and trashed ones too, since their messages were sent; a
//! message's tokens (input plus output) count at the time it was created. Quarter hours line up with
//! every time zone's midnight (all offsets in use are multiples of 15 minutes).

use serde::{Deserialize, Serialize};

use crate::view::ThreadSummary;
use crate::{ModelError, Preferences};

/// One quarter hour, ms.
pub const QUARTER_MS: u64 = 15 * 60_000;
const DAY_MS: i64 = 86_400_000;
/// How far back a summary's activity goes: a month and the widest time-zone span, with a margin.
pub const ACTIVITY_WINDOW_MS: u64 = 35 * DAY_MS as u64;
/// The widest offset accepted: UTC-18:00 to UTC+18:00, as ISO 8601 allows.
const MAX_OFFSET_MINUTES: i32 = 18 * 60;

/// Messages created in one quarter hour of one thread, and their tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Activity {
    /// The quarter hour: its start in ms since the epoch, divided by [`QUARTER_MS`].
    pub quarter: u64,
    /// Messages created in it.
    pub messages: u64,
    /// Their input and output tokens.
    pub tokens: u64,
}

/// What [`usage`] reports, with the limits from the preferences. JSON field names are the JS API's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    /// Messages created since local midnight.
    pub messages_today: u64,
    /// Tokens of messages created since the local month began.
    pub tokens_this_month: u64,
    /// The preference of the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_message_limit: Option<u64>,
    /// The preference of the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_token_limit: Option<u64>,
}

/// Counts what the threads of `summaries` used (see the [module docs](self) for what counts).
pub fn usage(
    summaries: &[ThreadSummary],
    preferences: &Preferences,
    now_ms: u64,
    utc_offset_minutes: i32,
) -> Result<UsageReport, ModelError> {
    let [today, tomorrow, month, next_month] = local_periods(now_ms, utc_offset_minutes)?;
    let mut report = UsageReport {
        daily_message_limit: preferences.daily_message_limit,
        monthly_token_limit: preferences.monthly_token_limit,
        ..UsageReport::default()
    };
    for a in summaries.iter().flat_map(|s| &s.activity) {
        let start = a.quarter.saturating_mul(QUARTER_MS);
        if (today..tomorrow).contains(&start) {
            report.messages_today += a.messages;
        }
        if (month..next_month).contains(&start) {
            report.tokens_this_month += a.tokens;
        }
    }
    Ok(report)
}

/// The UTC times (ms) at which today, tomorrow, this month and next month begin, local time.
fn local_periods(now_ms: u64, offset_minutes: i32) -> Result<[u64; 4], ModelError> {
    if offset_minutes.abs() > MAX_OFFSET_MINUTES {
        return Err(ModelError::InvalidValue {
            field: "utc offset",
            value: offset_minutes.to_string(),
            expected: "minutes from -1080 to 1080",
        });
    }
    let offset_ms = i64::from(offset_minutes) * 60_000;
    let local = i64::try_from(now_ms).unwrap_or(i64::MAX / 2) + offset_ms;
    let day = local.div_euclid(DAY_MS);
    let (year, month, day_of_month) = civil_from_days(day);
    let month_first = day - (day_of_month - 1);
    let utc = |local_day: i64| u64::try_from(local_day * DAY_MS - offset_ms).unwrap_or(0);
    Ok([
        utc(day),
        utc(day + 1),
        utc(month_first),
        utc(month_first + days_in_month(year, month)),
    ])
}

/// Year, month (1–12) and day (1–31) of a day counted from 1970-01-01, in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const HOUR: u64 = 3_600_000;
    const DAY: u64 = DAY_MS as u64;

    #[test]
    fn civil_dates_match_the_calendar() {
        for (days, expected) in [
            (0, (1970, 1, 1)),
            (11_016, (2000, 2, 29)),
            (19_783, (2024, 3, 1)),
            (20_818, (2026, 12, 31)),
            (-1, (1969, 12, 31)),
        ] {
            assert_eq!(civil_from_days(days), expected, "day {days}");
        }
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2026, 11), 30);
    }

    #[test]
    fn today_and_this_month_follow_the_local_calendar() {
        // 2026-12-01 02:00 UTC: in New York (UTC-5) it is still 30 November.
        let midnight = 20_788 * DAY;
        let now = midnight + 2 * HOUR;
        let [today, tomorrow, month, next] = local_periods(now, 0).unwrap();
        assert_eq!(
            [today, tomorrow, month],
            [midnight, midnight + DAY, midnight]
        );
        assert_eq!(next, midnight + 31 * DAY);
        let [today, tomorrow, month, next] = local_periods(now, -300).unwrap();
        assert_eq!(today, midnight - 19 * HOUR, "NY midnight is 05:00 UTC");
        assert_eq!(tomorrow, midnight + 5 * HOUR);
        assert_eq!(month, today - 29 * DAY, "November began 29 days earlier");
        assert_eq!(next, tomorrow);
        let [today, ..] = local_periods(now, 330).unwrap();
        assert_eq!(
            today,
            midnight - 5 * HOUR - HOUR / 2,
            "India: 18:30 UTC the day before"
        );
        assert!(local_periods(now, 1081).is_err());
        assert!(local_periods(u64::MAX, 0).is_ok());
    }
}
