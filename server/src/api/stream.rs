//! `POST /api/stream`: a reply streamed into a thread as NDJSON, one JSON object per line —
//! `{ "threadId", "messageId", "role"?, "parentId"?, "provider"?, "model"? }` (the message is created
//! `streaming` if absent), then `{ "delta": "…" }` lines, last `{ "finish": { "status", "usage"? } }`.
//!
//! Deltas are committed at most every 100 ms (one Automerge change per batch, as the browser's
//! streams), each batch stored and synced to every device before the next. The answer
//! `{ "value": Message }` comes once the finished message is stored. A body that ends, breaks, stalls
//! or goes wrong before `finish` leaves the message `interrupted`, with every delta received.

use std::time::Duration;

use axum::body::{Body, Bytes};
use chatsync_model::input::{Fields, FinishMessageInput};
use chatsync_model::{MessageId, MessageStatus, NewMessage, ReadAt, Role, Thread};
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use tokio::time::Instant;

use super::documents::{self, Deleted, Listing, ThreadRef};
use super::error::ApiError;
use super::{ApiState, json};
use crate::storage::Storage;

/// Deltas are committed at most this often.
pub(crate) const BATCH: Duration = Duration::from_millis(100);

/// The longest one streamed reply may take in all; a stream is also cut when no line arrives for
/// `http_request_timeout`.
pub(super) const MAX_STREAM_DURATION: Duration = Duration::from_secs(30 * 60);

/// One line of the stream, after the first.
enum Line {
    Delta(String),
    Finish(FinishMessageInput),
}

/// How reading the next line went.
pub(super) enum Next {
    Line(Bytes),
    /// The body ended (cleanly) with no further line.
    End,
    /// The body broke off (the client went away).
    Broken,
    /// No line within the idle timeout.
    Stalled,
    /// A line over the limit.
    TooLong,
}

/// Splits a body into lines, each bounded in length (blank lines skipped, or kept for a format
/// where they mean something: server-sent events end each event with one). Each byte is searched once and moved at most
/// once (lines are cut out of the buffer by offset, and the consumed prefix is dropped only before
/// reading more), so a body of tiny chunks or tiny lines costs time linear in its length.
pub(super) struct Lines<B> {
    body: B,
    keep_blank: bool,
    buffer: Vec<u8>,
    /// Where the next line starts in `buffer`.
    start: usize,
    /// How far `buffer` has been searched for a newline.
    scanned: usize,
    max_line: usize,
    ended: bool,
}

impl<B: Stream<Item = Result<Bytes, axum::Error>> + Unpin> Lines<B> {
    pub(super) fn new(body: B, max_line: usize) -> Self {
        Self {
            body,
            keep_blank: false,
            buffer: Vec::new(),
            start: 0,
            scanned: 0,
            max_line,
            ended: false,
        }
    }

    /// Blank lines are returned (as empty lines) rather than skipped.
    pub(super) fn keeping_blank_lines(mut self) -> Self {
        self.keep_blank = true;
        self
    }

    pub(super) async fn next(&mut self, idle: Duration) -> Next {
        loop {
            if let Some(offset) = self.buffer[self.scanned..].iter().position(|b| *b == b'\n') {
                let end = self.scanned + offset;
                let line = trim(&self.buffer[self.start..end]);
                let line = (!line.is_empty()).then(|| Bytes::copy_from_slice(line));
                self.start = end + 1;
                self.scanned = self.start;
                match line {
                    Some(line) => return Next::Line(line),
                    None if self.keep_blank => return Next::Line(Bytes::new()),
                    None => continue,
                }
            }
            self.scanned = self.buffer.len();
            if self.buffer.len() - self.start > self.max_line {
                return Next::TooLong;
            }
            if self.ended {
                let rest = trim(&self.buffer[self.start..]);
                let rest = (!rest.is_empty()).then(|| Bytes::copy_from_slice(rest));
                self.buffer.clear();
                (self.start, self.scanned) = (0, 0);
                return rest.map_or(Next::End, Next::Line);
            }
            if self.start > 0 {
                self.buffer.drain(..self.start);
                self.scanned -= self.start;
                self.start = 0;
            }
            match tokio::time::timeout(idle, self.body.next()).await {
                Err(_) => return Next::Stalled,
                Ok(None) => self.ended = true,
                Ok(Some(Err(_))) => return Next::Broken,
                Ok(Some(Ok(chunk))) => self.buffer.extend_from_slice(&chunk),
            }
        }
    }
}

fn trim(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

/// When a token that expires at `expires_at` (wall clock) stops being valid, on the monotonic clock
/// the stream's timers use.
pub(super) fn token_deadline(expires_at: Option<std::time::SystemTime>) -> Option<Instant> {
    expires_at.map(|at| {
        let left = at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO);
        Instant::now() + left
    })
}

/// Serves one stream; runs in a task of its own, so a client that goes away does not cut the
/// storing of what it sent short.
///
/// The token is checked again as lines come: once it expires (`expires_at`), no further line is
/// taken — the stream is refused `401 unauthorized`, as a request with that token would be, and
/// the message is kept `interrupted` — as `/sync` closes a socket whose token expires.
pub(crate) async fn run<S: Storage>(
    state: ApiState<S>,
    user: String,
    expires_at: Option<std::time::SystemTime>,
    body: Body,
) -> Result<Value, ApiError> {
    let expiry = token_deadline(expires_at);
    let expired = || expiry.is_some_and(|at| Instant::now() >= at);
    let limits = state.app.relay.limits().clone();
    let idle = limits.http_request_timeout;
    let mut lines = Lines::new(body.into_data_stream(), limits.max_request_body_bytes);
    let first = match lines.next(idle).await {
        Next::Line(line) => line,
        Next::TooLong => return Err(line_too_long(limits.max_request_body_bytes)),
        Next::Stalled => return Err(ApiError::Timeout(idle)),
        Next::End | Next::Broken => {
            return Err(ApiError::InvalidInput(
                "the stream's first line must name the thread and the message".into(),
            ));
        }
    };
    if expired() {
        return Err(ApiError::Unauthorized);
    }
    let (thread, message_id) = open(&state, &user, &first).await?;
    let mut writer = Batches {
        state: &state,
        user: &user,
        thread: &thread,
        message: message_id,
        pending: String::new(),
        last_commit: None,
    };
    let deadline = Instant::now() + MAX_STREAM_DURATION;
    loop {
        let flush_at = writer.flush_at();
        let next = tokio::select! {
            next = lines.next(idle) => next,
            () = sleep_until(flush_at) => {
                if let Err(e) = writer.flush().await {
                    return Err(writer.interrupt(e).await);
                }
                continue;
            }
            () = tokio::time::sleep_until(deadline) => {
                let e = ApiError::Timeout(MAX_STREAM_DURATION);
                return Err(writer.interrupt(e).await);
            }
            () = sleep_until(expiry) => {
                return Err(writer.interrupt(ApiError::Unauthorized).await);
            }
            // Shutdown waits for every request: a stream is cut rather than waited for.
            () = state.app.shutdown.cancelled() => {
                let e = ApiError::Busy("the relay is shutting down; the reply is kept as interrupted".into());
                return Err(writer.interrupt(e).await);
            }
        };
        let line = match next {
            Next::Line(line) => line,
            Next::End => {
                let e = ApiError::InvalidInput("the stream ended before its `finish` line".into());
                return Err(writer.interrupt(e).await);
            }
            Next::Broken => {
                let e =
                    ApiError::InvalidInput("the stream broke off before its `finish` line".into());
                return Err(writer.interrupt(e).await);
            }
            Next::Stalled => return Err(writer.interrupt(ApiError::Timeout(idle)).await),
            Next::TooLong => {
                let e = line_too_long(limits.max_request_body_bytes);
                return Err(writer.interrupt(e).await);
            }
        };
        if expired() {
            return Err(writer.interrupt(ApiError::Unauthorized).await);
        }
        match parse_line(&line) {
            Ok(Line::Delta(text)) => {
                writer.pending.push_str(&text);
                if writer.pending.len() > limits.max_request_body_bytes {
                    // A batch is bounded like a request body: store it now.
                    if let Err(e) = writer.flush().await {
                        return Err(writer.interrupt(e).await);
                    }
                }
            }
            Ok(Line::Finish(end)) => return writer.finish(end).await,
            Err(e) => return Err(writer.interrupt(e).await),
        }
    }
}

pub(super) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

pub(super) fn line_too_long(max: usize) -> ApiError {
    ApiError::TooLarge(format!("a line of the stream is over {max} bytes"))
}

/// Reads the first line and makes sure the message exists and is open: created `streaming` if
/// absent, continued if `pending` or `streaming`, refused if finished.
async fn open<S: Storage>(
    state: &ApiState<S>,
    user: &str,
    line: &[u8],
) -> Result<(ThreadRef, MessageId), ApiError> {
    let value = parse_json(line)?;
    let source = &value;
    let mut f = Fields::of(&source).map_err(|_| not_an_object("the first line"))?;
    let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
    let message_id = MessageId::new(f.required_string("messageId")?)?;
    let role: Role = f.parsed("role")?.unwrap_or(Role::Assistant);
    let parent_id = f.string("parentId")?.map(MessageId::new).transpose()?;
    let provider = f.string("provider")?;
    let model = f.string("model")?;
    f.finish()?;
    let id = message_id.clone();
    documents::write_thread(
        &state.app.relay,
        user,
        &thread,
        Deleted::NotFound,
        move |t, now| match t.message(&id, stored_state(now)) {
            Some(existing) if existing.status.is_open() => Ok(()),
            Some(existing) => Err(ApiError::InvalidTransition(format!(
                "message {:?} is {}: it cannot be streamed into",
                id.as_str(),
                existing.status
            ))),
            None => {
                let message = NewMessage {
                    id: id.clone(),
                    role,
                    content: String::new(),
                    status: Some(MessageStatus::Streaming),
                    parent_id,
                    provider,
                    model,
                    metadata: None,
                    parts: Vec::new(),
                };
                Ok(t.append_message(message, now)?)
            }
        },
    )
    .await?;
    Ok((thread, message_id))
}

pub(super) fn stored_state(now: u64) -> ReadAt {
    ReadAt {
        now_ms: now,
        stale_after_ms: u64::MAX,
    }
}

fn parse_json(line: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(line)
        .map_err(|e| ApiError::InvalidInput(format!("a line of the stream is not valid JSON: {e}")))
}

fn not_an_object(what: &str) -> ApiError {
    ApiError::InvalidInput(format!("{what} must be a JSON object"))
}

/// A line after the first: `{ "delta": "…" }` or `{ "finish": { … } }`.
fn parse_line(line: &[u8]) -> Result<Line, ApiError> {
    let value = parse_json(line)?;
    let source = &value;
    let mut f = Fields::of(&source).map_err(|_| not_an_object("a line of the stream"))?;
    let parsed = if f.has("finish") {
        let end: FinishMessageInput = f
            .nested("finish")?
            .ok_or_else(|| ApiError::InvalidInput("`finish` must be an object".into()))?;
        Line::Finish(end)
    } else {
        let delta = f.string("delta")?.ok_or_else(|| {
            ApiError::InvalidInput("a line must be `{\"delta\": …}` or `{\"finish\": …}`".into())
        })?;
        Line::Delta(delta)
    };
    f.finish()?;
    Ok(parsed)
}

/// The deltas received and not yet committed, and when the last batch was.
struct Batches<'a, S> {
    state: &'a ApiState<S>,
    user: &'a str,
    thread: &'a ThreadRef,
    message: MessageId,
    pending: String,
    last_commit: Option<Instant>,
}

impl<S: Storage> Batches<'_, S> {
    /// When the pending deltas are due: at once after a quiet spell, else 100 ms after the last
    /// batch.
    fn flush_at(&self) -> Option<Instant> {
        if self.pending.is_empty() {
            return None;
        }
        Some(self.last_commit.map_or_else(Instant::now, |at| at + BATCH))
    }

    /// Commits, stores and syncs the pending deltas as one change.
    async fn flush(&mut self) -> Result<(), ApiError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let text = std::mem::take(&mut self.pending);
        let id = self.message.clone();
        self.write(Listing::Later, move |t, now| {
            Ok(t.append_delta(&id, &text, now)?)
        })
        .await?;
        self.last_commit = Some(Instant::now());
        Ok(())
    }

    /// The pending deltas and the end, as one change; the finished message.
    async fn finish(mut self, end: FinishMessageInput) -> Result<Value, ApiError> {
        let text = std::mem::take(&mut self.pending);
        let id = self.message.clone();
        let written = self
            .write(Listing::Update, move |t, now| {
                if !text.is_empty() {
                    t.append_delta(&id, &text, now)?;
                }
                let (end, details) = end.into_model();
                t.finish_message_with(&id, end, details, now)?;
                Ok(t.message(&id, ReadAt::new(now)))
            })
            .await;
        match written {
            Ok(message) => json(&message),
            Err(e) => Err(self.interrupt(e).await),
        }
    }

    /// Stores what was received and marks the message `interrupted`; returns `why`, the error to
    /// answer with.
    async fn interrupt(mut self, why: ApiError) -> ApiError {
        let text = std::mem::take(&mut self.pending);
        let id = self.message.clone();
        let interrupted = self
            .write(Listing::Update, move |t, now| {
                // Deltas the model refuses (over the content limit) are dropped; the rest is kept.
                if !text.is_empty() {
                    let _ = t.append_delta(&id, &text, now);
                }
                Ok(t.interrupt_message(&id, now)?)
            })
            .await;
        if let Err(e) = interrupted {
            tracing::warn!(error = %e, "a broken stream's message could not be marked interrupted");
        }
        why
    }

    async fn write<T: Send + 'static>(
        &self,
        listing: Listing,
        f: impl FnOnce(&mut Thread, u64) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        documents::write_thread_listed(
            &self.state.app.relay,
            self.user,
            self.thread,
            Deleted::NotFound,
            listing,
            f,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(
        chunks: Vec<&'static [u8]>,
        max_line: usize,
    ) -> Lines<impl Stream<Item = Result<Bytes, axum::Error>> + Unpin> {
        let chunks = chunks.into_iter().map(|c| Ok(Bytes::from_static(c)));
        Lines::new(futures_util::stream::iter(chunks), max_line)
    }

    async fn all(
        mut lines: Lines<impl Stream<Item = Result<Bytes, axum::Error>> + Unpin>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            match lines.next(Duration::from_secs(1)).await {
                Next::Line(line) => out.push(String::from_utf8(line.to_vec()).unwrap()),
                Next::End => return out,
                Next::TooLong => {
                    out.push("<too long>".into());
                    return out;
                }
                _ => panic!("the body neither broke nor stalled"),
            }
        }
    }

    #[tokio::test]
    async fn lines_split_across_chunks_blank_lines_and_a_last_line_without_newline() {
        let lines = lines_of(
            vec![b"{\"a\"", b":1}\n\n  \r\n{\"b\":2}\n{\"c\"", b":3}"],
            100,
        );
        assert_eq!(all(lines).await, ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
    }

    #[tokio::test]
    async fn a_body_of_one_byte_chunks_is_split_like_one_chunk() {
        let body: &'static [u8] = b"{\"delta\":\"x\"}\n{\"delta\":\"y\"}\n";
        let chunks = (0..body.len()).map(|i| &body[i..i + 1]).collect();
        assert_eq!(
            all(lines_of(chunks, 100)).await,
            ["{\"delta\":\"x\"}", "{\"delta\":\"y\"}"]
        );
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_refused_after_the_lines_before_it() {
        let lines = lines_of(vec![b"ok\n", b"0123456789", b"0123456789"], 12);
        assert_eq!(all(lines).await, ["ok", "<too long>"]);
    }
}
