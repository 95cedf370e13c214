//! The model benchmark: a 1,000-message thread whose assistant replies stream as 50 deltas each.
//!
//! Reports build time, saved size against the JSON of the same content, load time, and the cost of a
//! delta with one commit per 100 ms batch against one commit per delta.
//! Targets: saved size ≤ 0.6× the JSON; load ≤ 150 ms.
//!
//! `cargo bench -p chatsync-model --bench thread_workload`

use std::time::{Duration, Instant};

use chatsync_model::automerge::ActorId;
use chatsync_model::{
    Index, Limits, MessageEnd, MessageId, MessageStatus, NewMessage, ReadAt, Role, Thread,
    ThreadId, ThreadInit, Usage,
};

const MESSAGES: usize = 1_000;
const DELTAS_PER_REPLY: usize = 50;
/// Tokens arrive every 25 ms; the browser store commits once per 100 ms of streaming.
const TOKEN_INTERVAL_MS: u64 = 25;
const BATCH_MS: u64 = 100;
const LOAD_RUNS: usize = 10;

const WORDS: &[&str] = &[
    "the",
    "document",
    "sync",
    "merge",
    "offline",
    "device",
    "change",
    "message",
    "reply",
    "token",
    "stream",
    "history",
    "conflict",
    "order",
    "replica",
    "relay",
    "storage",
    "thread",
    "model",
    "assistant",
    "because",
    "which",
    "every",
    "without",
    "converge",
    "automerge",
    "list",
    "text",
    "browser",
    "indexeddb",
    "snapshot",
    "chunk",
    "compaction",
    "latency",
    "network",
    "user",
];

/// A deterministic word stream (a linear congruential generator: no randomness crate needed).
struct Words(u64);

impl Words {
    fn next(&mut self) -> &'static str {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        WORDS[(self.0 >> 33) as usize % WORDS.len()]
    }

    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| self.next())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Commits {
    PerBatch,
    PerDelta,
}

struct Built {
    thread: Thread,
    build: Duration,
    deltas: usize,
    /// Time in `append_delta` calls alone.
    delta_time: Duration,
    /// Time in the commits made while streaming, and their number.
    commit_time: Duration,
    commits: usize,
}

fn build(commits: Commits) -> Built {
    let id = ThreadId::new("benchThread").unwrap();
    let actor = ActorId::from(b"bench-device".to_vec());
    let mut now = 1_763_800_000_000u64;
    let mut words = Words(42);
    let started = Instant::now();
    let mut thread = Thread::create(ThreadInit::new(id, actor, now), Limits::default()).unwrap();
    let mut deltas = 0;
    let mut delta_time = Duration::ZERO;
    let mut commit_time = Duration::ZERO;
    let mut stream_commits = 0;
    for i in 0..MESSAGES {
        let message_id = MessageId::new(format!("msg-{i:04}")).unwrap();
        if i % 2 == 0 {
            let text = words.sentence(20);
            thread
                .append_message(NewMessage::new(message_id, Role::User, text), now)
                .unwrap();
            thread.commit();
            continue;
        }
        let mut reply = NewMessage::new(message_id.clone(), Role::Assistant, "");
        reply.model = Some("bench-model".into());
        thread.append_message(reply, now).unwrap();
        thread.commit();
        let mut last_commit = now;
        for d in 0..DELTAS_PER_REPLY {
            now += TOKEN_INTERVAL_MS;
            let token = if d == 0 {
                words.next().to_owned()
            } else {
                format!(" {}", words.next())
            };
            let t = Instant::now();
            thread.append_delta(&message_id, &token, now).unwrap();
            delta_time += t.elapsed();
            deltas += 1;
            if commits == Commits::PerDelta || now - last_commit >= BATCH_MS {
                let t = Instant::now();
                thread.commit();
                commit_time += t.elapsed();
                stream_commits += 1;
                last_commit = now;
            }
        }
        let usage = Some(Usage {
            input_tokens: 20,
            output_tokens: DELTAS_PER_REPLY as u64,
        });
        let end = MessageEnd {
            status: MessageStatus::Complete,
            usage,
        };
        thread.finish_message(&message_id, end, now).unwrap();
        thread.commit();
    }
    Built {
        thread,
        build: started.elapsed(),
        deltas,
        delta_time,
        commit_time,
        commits: stream_commits,
    }
}

/// The JSON a plain store would keep for the same messages: every stored field, nothing derived.
fn json_of(thread: &Thread, at: ReadAt) -> Vec<u8> {
    let mut view = serde_json::to_value(thread.view(at)).unwrap();
    for message in view["messages"].as_array_mut().unwrap() {
        let m = message.as_object_mut().unwrap();
        m.remove("siblings");
        m.remove("siblingIndex");
    }
    serde_json::to_vec(&view).unwrap()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn load_times(id: &ThreadId, bytes: &[u8], at: ReadAt) -> (Duration, Duration) {
    let mut load = Vec::new();
    let mut load_and_view = Vec::new();
    for _ in 0..LOAD_RUNS {
        let started = Instant::now();
        let thread = Thread::load(
            id.clone(),
            bytes,
            ActorId::from(b"reader".to_vec()),
            Limits::default(),
        )
        .unwrap();
        load.push(started.elapsed());
        let view = thread.view(at);
        load_and_view.push(started.elapsed());
        assert_eq!(view.messages.len(), MESSAGES);
    }
    (median(load), median(load_and_view))
}

/// What a device that shows the thread spends on a message another device appends: merging the
/// change, then rebuilding its view (which every incoming change costs, in the worker's critical path).
fn remote_message_times(writer: &mut Thread, at: ReadAt) -> (Duration, Duration) {
    let bytes = writer.save().unwrap();
    let mut reader = Thread::load(
        writer.id().clone(),
        &bytes,
        ActorId::from(b"reader".to_vec()),
        Limits::default(),
    )
    .unwrap();
    std::hint::black_box(reader.view(at));
    let (mut apply, mut view) = (Vec::new(), Vec::new());
    for i in 0..LOAD_RUNS {
        let id = MessageId::new(format!("remote-{i}")).unwrap();
        writer
            .append_message(
                NewMessage::new(id, Role::User, "from another device"),
                at.now_ms,
            )
            .unwrap();
        writer.commit();
        let started = Instant::now();
        reader.merge(writer).unwrap();
        apply.push(started.elapsed());
        let started = Instant::now();
        std::hint::black_box(reader.view(at));
        view.push(started.elapsed());
    }
    (median(apply), median(view))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    println!(
        "chatsync-model thread workload: {MESSAGES} messages, assistant replies streamed as {DELTAS_PER_REPLY} deltas each"
    );
    println!(
        "(one commit per {BATCH_MS} ms batch = every {} deltas, vs one commit per delta)\n",
        BATCH_MS / TOKEN_INTERVAL_MS
    );
    let at = ReadAt::new(u64::MAX / 2);
    let mut rows = Vec::new();
    for commits in [Commits::PerBatch, Commits::PerDelta] {
        let Built {
            mut thread,
            build,
            deltas,
            delta_time,
            commit_time,
            commits: stream_commits,
        } = build(commits);
        // The streaming cost of one delta: its own call plus its share of the commits.
        let per_delta_us = (delta_time + commit_time).as_secs_f64() * 1e6 / deltas as f64;
        let changes = thread.automerge().clone().get_changes(&[]).len();
        let saved = thread.save().unwrap();
        let json = json_of(&thread, at);
        let (load, load_view) = load_times(thread.id(), &saved, at);
        let name = match commits {
            Commits::PerBatch => "commit per 100 ms batch",
            Commits::PerDelta => "commit per delta",
        };
        println!("{name}:");
        println!("  build:            {} total ({deltas} deltas)", ms(build));
        println!(
            "  per delta:        {per_delta_us:.2} µs = append_delta {:.2} µs + commits {:.2} µs ({stream_commits} commits of {:.1} µs)",
            delta_time.as_secs_f64() * 1e6 / deltas as f64,
            commit_time.as_secs_f64() * 1e6 / deltas as f64,
            commit_time.as_secs_f64() * 1e6 / stream_commits as f64
        );
        println!("  changes:          {changes}");
        println!(
            "  saved size:       {} bytes; JSON of the same content {} bytes; ratio {:.2} (target ≤ 0.60)",
            saved.len(),
            json.len(),
            saved.len() as f64 / json.len() as f64
        );
        println!(
            "  load:             {} (median of {LOAD_RUNS}); load + full view {} (target ≤ 150 ms)",
            ms(load),
            ms(load_view)
        );
        // A stream writes the summary (totals and activity computed from every message) into the
        // index every 250 ms: what that costs on a long thread.
        let mut index = Index::new(ActorId::from(b"bench".to_vec()));
        let start = Instant::now();
        for _ in 0..LOAD_RUNS {
            std::hint::black_box(thread.summary(at));
        }
        let summary_time = start.elapsed() / LOAD_RUNS as u32;
        let summary = thread.summary(at);
        let start = Instant::now();
        for _ in 0..LOAD_RUNS {
            index.upsert(&summary, at.now_ms).unwrap();
        }
        println!(
            "  summary:          {} (totals of {} input tokens); index upsert {}\n",
            ms(summary_time),
            summary.total_input_tokens,
            ms(start.elapsed() / LOAD_RUNS as u32)
        );
        let (apply, view) = remote_message_times(&mut thread, at);
        println!(
            "  another device's message: apply {}, then the view {} (median of {LOAD_RUNS})\n",
            ms(apply),
            ms(view)
        );
        rows.push((per_delta_us, saved.len()));
    }
    println!(
        "per-delta commits cost {:.1}× the time per delta and {:.1}× the saved size of batched commits",
        rows[1].0 / rows[0].0,
        rows[1].1 as f64 / rows[0].1 as f64
    );
}
