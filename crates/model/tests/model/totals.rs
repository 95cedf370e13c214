//! Token totals, the summary text, local-only threads, usage and retention.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::view_json::to_json_text;
use chatsync_model::{
    Index, Limits, MessageEnd, MessageStatus, NewMessage, Preferences, ReadAt, RetentionPolicy,
    Role, Thread, ThreadId, ThreadInit, ThreadSummary, Usage, threads_to_purge, usage,
};

use crate::support::{T0, actor, append, mid, new_thread, prefs, replica, thread_id, view_at};

const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Appends an assistant reply that used `input` and `output` tokens.
fn reply(thread: &mut Thread, id: &str, input: u64, output: u64, now: u64) {
    thread
        .append_message(NewMessage::new(mid(id), Role::Assistant, ""), now)
        .unwrap();
    let end = MessageEnd {
        status: MessageStatus::Complete,
        usage: Some(Usage {
            input_tokens: input,
            output_tokens: output,
        }),
    };
    thread.finish_message(&mid(id), end, now).unwrap();
}

#[test]
fn totals_are_summed_from_every_message_and_shown_in_summary_and_view() {
    let mut thread = new_thread();
    append(&mut thread, "q", Role::User, "hi", T0);
    reply(&mut thread, "a1", 10, 20, T0 + 1);
    thread
        .regenerate_message(
            &mid("a1"),
            chatsync_model::Regenerate {
                new_id: mid("a2"),
                provider: None,
                model: None,
            },
            T0 + 2,
        )
        .unwrap();
    let end = MessageEnd {
        status: MessageStatus::Complete,
        usage: Some(Usage {
            input_tokens: 11,
            output_tokens: 5,
        }),
    };
    thread.finish_message(&mid("a2"), end, T0 + 3).unwrap();
    let summary = thread.summary(ReadAt::new(T0 + 4));
    assert_eq!(summary.message_count, 2, "the active path");
    assert_eq!(
        (summary.total_input_tokens, summary.total_output_tokens),
        (21, 25)
    );
    let view = view_at(&thread, T0 + 4);
    assert_eq!(
        (view.total_input_tokens, view.total_output_tokens),
        (21, 25)
    );
    for text in [
        to_json_text(&summary, &is_json),
        to_json_text(&view, &is_json),
    ] {
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["totalInputTokens"], 21);
        assert_eq!(value["totalOutputTokens"], 25);
        assert!(value.get("summary").is_none() && value.get("activity").is_none());
    }
}

#[test]
fn totals_never_drift_under_concurrent_appends() {
    let mut a = new_thread();
    let mut b = replica(&mut a, "device-b");
    reply(&mut a, "from-a", 100, 1, T0 + 1);
    reply(&mut b, "from-b", 200, 2, T0 + 1);
    a.merge(&mut replica(&mut b, "device-c")).unwrap();
    b.merge(&mut replica(&mut a, "device-d")).unwrap();
    for t in [&a, &b] {
        let s = t.summary(ReadAt::new(T0 + 2));
        assert_eq!((s.total_input_tokens, s.total_output_tokens), (300, 3));
        assert_eq!(s.activity.iter().map(|x| x.messages).sum::<u64>(), 2);
    }
}

#[test]
fn the_summary_text_is_settable_clearable_and_reaches_the_index() {
    let mut thread = new_thread();
    thread
        .set_summary(Some("Trip to Lisbon".into()), T0 + 1)
        .unwrap();
    assert_eq!(
        view_at(&thread, T0 + 2).summary.as_deref(),
        Some("Trip to Lisbon")
    );
    let mut index = Index::new(actor("a"));
    index
        .upsert(&thread.summary(ReadAt::new(T0 + 2)), T0 + 2)
        .unwrap();
    let listed = index.get(&thread_id()).unwrap();
    assert_eq!(listed.summary.as_deref(), Some("Trip to Lisbon"));
    let value: serde_json::Value = serde_json::from_str(&to_json_text(&listed, &is_json)).unwrap();
    assert_eq!(value["summary"], "Trip to Lisbon");
    thread.set_summary(None, T0 + 3).unwrap();
    index
        .upsert(&thread.summary(ReadAt::new(T0 + 3)), T0 + 3)
        .unwrap();
    assert_eq!(index.get(&thread_id()).unwrap().summary, None);
    let err = thread
        .set_summary(Some("x".repeat(40_000)), T0 + 4)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
}

#[test]
fn a_local_only_thread_says_so_in_its_views() {
    let mut init = ThreadInit::new(thread_id(), actor("a"), T0);
    init.local_only = Preferences {
        save_conversation_history: false,
        ..Preferences::default()
    }
    .new_thread_local_only(None);
    let mut thread = Thread::create(init, Limits::default()).unwrap();
    assert!(thread.local_only());
    assert!(view_at(&thread, T0).local_only);
    let mut index = Index::new(actor("a"));
    index.upsert(&thread.summary(ReadAt::new(T0)), T0).unwrap();
    assert!(index.get(&thread_id()).unwrap().local_only);
    let reloaded = replica(&mut thread, "b");
    assert!(
        reloaded.local_only(),
        "the flag is stored, not taken from today's preference"
    );
    assert!(!new_thread().local_only());
    let value: serde_json::Value =
        serde_json::from_str(&to_json_text(&view_at(&thread, T0), &is_json)).unwrap();
    assert_eq!(value["localOnly"], true);
}

/// 2026-12-01 00:00 UTC.
const DEC_1: u64 = 20_788 * DAY;

#[test]
fn usage_counts_today_and_this_month_in_the_callers_time_zone() {
    let mut thread = Thread::create(
        ThreadInit::new(thread_id(), actor("a"), DEC_1 - 40 * DAY),
        Limits::default(),
    )
    .unwrap();
    reply(&mut thread, "last-month", 1000, 0, DEC_1 - 2 * DAY); // 29 November
    reply(&mut thread, "nov-30-late", 10, 5, DEC_1 - 2 * HOUR); // 30 Nov 22:00 UTC
    reply(&mut thread, "dec-1", 1, 2, DEC_1 + HOUR); // 1 Dec 01:00 UTC
    reply(&mut thread, "dec-1-b", 3, 4, DEC_1 + 10 * HOUR);
    let now = DEC_1 + 12 * HOUR;
    let mut index = Index::new(actor("a"));
    index
        .upsert(&thread.summary(ReadAt::new(now)), now)
        .unwrap();
    let limits =
        prefs(serde_json::json!({ "dailyMessageLimit": 100, "monthlyTokenLimit": 50_000 }));
    index.set_preferences(&limits, now).unwrap();

    let utc = index.usage(now, 0).unwrap();
    assert_eq!((utc.messages_today, utc.tokens_this_month), (2, 10));
    assert_eq!(
        (utc.daily_message_limit, utc.monthly_token_limit),
        (Some(100), Some(50_000))
    );
    // In Kolkata (UTC+5:30) it is 17:30 on 1 December, and 30 Nov 22:00 UTC was 1 Dec 03:30.
    let india = index.usage(now, 330).unwrap();
    assert_eq!((india.messages_today, india.tokens_this_month), (3, 25));
    // In New York (UTC-5) it is 07:00 on 1 December; 01:00 UTC was still 30 November there.
    let new_york = index.usage(now, -300).unwrap();
    assert_eq!(
        (new_york.messages_today, new_york.tokens_this_month),
        (1, 7)
    );
    // Late on 30 November in New York, this month is November: 01:00 UTC on 1 December is in it,
    // 10:00 UTC is not.
    let nov = index.usage(DEC_1 + 4 * HOUR, -300).unwrap();
    assert_eq!(nov.tokens_this_month, 1018);
    assert_eq!(nov.messages_today, 2, "30 Nov 22:00 and 1 Dec 01:00 UTC");
    let value: serde_json::Value = serde_json::from_str(&to_json_text(&utc, &is_json)).unwrap();
    assert_eq!(value, serde_json::to_value(utc).unwrap());
    assert_eq!(value["messagesToday"], 2);
    assert_eq!(value["tokensThisMonth"], 10);
    assert_eq!(value["dailyMessageLimit"], 100);
    assert!(index.usage(now, 24 * 60).is_err());

    // Trashed threads' messages were sent: they count. Purged ones are gone.
    index.trash(&thread_id(), now).unwrap();
    assert_eq!(index.usage(now, 0).unwrap().messages_today, 2);
    index.purge(&thread_id(), now).unwrap();
    assert_eq!(index.usage(now, 0).unwrap().messages_today, 0);
}

#[test]
fn usage_adds_up_across_threads_and_devices() {
    let now = DEC_1 + HOUR;
    let mut summaries = Vec::new();
    for id in ["t1", "t2"] {
        let tid = ThreadId::new(id).unwrap();
        let mut t =
            Thread::create(ThreadInit::new(tid, actor("a"), DEC_1), Limits::default()).unwrap();
        reply(&mut t, "r", 5, 5, DEC_1 + MINUTE);
        summaries.push(t.summary(ReadAt::new(now)));
    }
    let report = usage(&summaries, &Preferences::default(), now, 0).unwrap();
    assert_eq!((report.messages_today, report.tokens_this_month), (2, 20));
    assert_eq!(report.daily_message_limit, None);
    let value = serde_json::to_value(report).unwrap();
    assert!(value.get("dailyMessageLimit").is_none());
}

#[test]
fn activity_older_than_the_window_leaves_the_index() {
    let mut thread = Thread::create(
        ThreadInit::new(thread_id(), actor("a"), T0),
        Limits::default(),
    )
    .unwrap();
    reply(&mut thread, "old", 1, 1, T0);
    let mut index = Index::new(actor("a"));
    index.upsert(&thread.summary(ReadAt::new(T0)), T0).unwrap();
    assert_eq!(index.get(&thread_id()).unwrap().activity.len(), 1);
    let later = T0 + 40 * DAY;
    reply(&mut thread, "new", 1, 1, later);
    index
        .upsert(&thread.summary(ReadAt::new(later)), later)
        .unwrap();
    let activity = index.get(&thread_id()).unwrap().activity;
    assert_eq!(activity.len(), 1);
    assert_eq!(activity[0].quarter, later / (15 * MINUTE));
    // The totals keep counting everything.
    assert_eq!(index.get(&thread_id()).unwrap().total_input_tokens, 2);
}

fn at(id: &str, last_activity: u64, trashed_at: Option<u64>) -> ThreadSummary {
    ThreadSummary {
        last_activity_at: last_activity,
        trashed_at,
        ..ThreadSummary::new(ThreadId::new(id).unwrap())
    }
}

#[test]
fn retention_keeps_the_newest_and_the_recently_active() {
    let now = 100 * DAY;
    let summaries = [
        at("old", 10 * DAY, None),
        at("mid", 80 * DAY, None),
        at("new", 99 * DAY, None),
        at("newer", 99 * DAY, None),
        at("binned", 99 * DAY, Some(95 * DAY)),
        at("binned-long-ago", 99 * DAY, Some(60 * DAY)),
    ];
    let names = |policy: RetentionPolicy| -> Vec<String> {
        threads_to_purge(&summaries, &policy, now)
            .into_iter()
            .map(|id| id.to_string())
            .collect()
    };
    assert_eq!(names(RetentionPolicy::default()), ["binned-long-ago"]);
    let newest_two = RetentionPolicy {
        keep_newest_threads: Some(2),
        ..RetentionPolicy::default()
    };
    assert_eq!(
        names(newest_two),
        ["old", "mid", "binned-long-ago"],
        "in the order given"
    );
    let thirty_days = RetentionPolicy {
        keep_active_days: Some(30),
        ..RetentionPolicy::default()
    };
    assert_eq!(names(thirty_days), ["old", "binned-long-ago"]);
    // A relay-wide default fills what the user left unset, and never overrides what they set.
    assert_eq!(RetentionPolicy::default().or(newest_two), newest_two);
    assert_eq!(thirty_days.or(newest_two).keep_active_days, Some(30));
    assert_eq!(thirty_days.or(newest_two).keep_newest_threads, Some(2));
}

#[test]
fn retention_reads_the_users_policy_from_the_index() {
    let mut index = Index::new(actor("a"));
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        let s = at(id, (i as u64 + 1) * DAY, None);
        index.upsert(&s, T0).unwrap();
    }
    let keep_one = prefs(serde_json::json!({ "keepNewestThreads": 1 }));
    index.set_preferences(&keep_one, T0).unwrap();
    let policy = index.preferences().retention();
    let purged = index.threads_to_purge(&policy, 4 * DAY);
    assert_eq!(
        purged,
        [ThreadId::new("a").unwrap(), ThreadId::new("b").unwrap()]
    );
    for id in &purged {
        index.purge(id, 4 * DAY).unwrap();
    }
    assert_eq!(index.summaries().len(), 1);
    assert!(index.threads_to_purge(&policy, 4 * DAY).is_empty());
}

#[test]
fn totals_follow_every_change_after_being_read() {
    let mut a = new_thread();
    let mut b = replica(&mut a, "device-b");
    let read = |t: &Thread| {
        let s = t.summary(ReadAt::new(T0 + 10));
        (
            s.total_input_tokens,
            s.activity.iter().map(|x| x.messages).sum::<u64>(),
        )
    };
    assert_eq!(read(&a), (0, 0));
    reply(&mut a, "one", 5, 0, T0 + 1);
    assert_eq!(read(&a), (5, 1), "a local reply");
    a.append_delta(&mid("one"), "x", T0 + 2).unwrap_err();
    reply(&mut b, "two", 7, 0, T0 + 1);
    a.merge(&mut replica(&mut b, "device-c")).unwrap();
    assert_eq!(read(&a), (12, 2), "a merged reply");
    let bytes = replica(&mut a, "device-d").save().unwrap();
    b.load_incremental(&bytes).unwrap();
    assert_eq!(read(&b), (12, 2), "loaded changes");
}
