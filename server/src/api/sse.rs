//! `POST /api/stream` with `Content-Type: text/event-stream`: the AI SDK's UI message stream, the
//! body exactly as `toUIMessageStreamResponse()` sends it (`data: {chunk}` events, then
//! `data: [DONE]`), so a server route can tee its reply into a thread. The thread and message are
//! named in the query: `?threadId=…` and optionally `messageId` (else the `start` chunk's
//! `messageId`, else a fresh one), `parentId`, `provider`, `model`. The message is created
//! `streaming` if absent (an assistant reply), continued if open.
//!
//! Chunks become writes as [`ui_chunks`](super::ui_chunks) says, committed at most every 100 ms
//! like NDJSON deltas. `finish` (or `[DONE]`), `error` and `abort` end the message `complete`,
//! `error` or `cancelled`; the answer `{ "value": Message }` comes once that is stored. A body that
//! ends, breaks or stalls before its end, or a chunk that is malformed or refused, leaves the
//! message `interrupted` holding every chunk before it, and is answered with the typed error.

use axum::body::Body;
use axum::extract::Query;
use axum::http::Uri;
use chatsync_model::{
    ApprovalDecision, Json, MessageEnd, MessageId, MessageStatus, NewMessage, ReadAt, Role, Thread,
};
use serde_json::Value;
use tokio::time::Instant;

use super::documents::{self, Deleted, Listing, ThreadRef, new_id};
use super::error::ApiError;
use super::sse_events::{Event, Events, NextEvent};
use super::stream::{self, BATCH, Lines, MAX_STREAM_DURATION, Next, stored_state};
use super::ui_chunks::{Chunks, End, Op};
use super::{ApiState, json};
use crate::storage::Storage;

/// Whether a request's body is a UI message stream (and not NDJSON).
pub(crate) fn is_event_stream(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"))
        })
}

/// What the query names.
#[derive(Debug)]
pub(crate) struct Target {
    thread: String,
    message_id: Option<String>,
    parent_id: Option<String>,
    provider: Option<String>,
    model: Option<String>,
}

impl Target {
    /// Reads `?threadId=…&messageId=…&parentId=…&provider=…&model=…`; any other parameter is refused.
    pub(crate) fn from_uri(uri: &Uri) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|e| ApiError::InvalidInput(format!("the query is malformed: {e}")))?;
        let mut target = Self {
            thread: String::new(),
            message_id: None,
            parent_id: None,
            provider: None,
            model: None,
        };
        for (key, value) in pairs {
            let slot = match key.as_str() {
                "threadId" => {
                    target.thread = value;
                    continue;
                }
                "messageId" => &mut target.message_id,
                "parentId" => &mut target.parent_id,
                "provider" => &mut target.provider,
                "model" => &mut target.model,
                other => {
                    return Err(ApiError::InvalidInput(format!(
                        "unknown query parameter `{other}`, expected one of `threadId`, \
                         `messageId`, `parentId`, `provider`, `model`"
                    )));
                }
            };
            *slot = Some(value);
        }
        if target.thread.is_empty() {
            return Err(ApiError::InvalidInput(
                "a UI message stream names its thread in the query: `/api/stream?threadId=…`"
                    .into(),
            ));
        }
        Ok(target)
    }
}

/// Serves one UI message stream. Like the NDJSON stream, it takes no further chunk once the
/// caller's token expires (`expires_at`): refused `401 unauthorized`, the message kept `interrupted`.
pub(crate) async fn run<S: Storage>(
    state: ApiState<S>,
    user: String,
    expires_at: Option<std::time::SystemTime>,
    target: Target,
    body: Body,
) -> Result<Value, ApiError> {
    let expiry = stream::token_deadline(expires_at);
    let expired = || expiry.is_some_and(|at| Instant::now() >= at);
    if expired() {
        return Err(ApiError::Unauthorized);
    }
    let limits = state.app.relay.limits().clone();
    let idle = limits.http_request_timeout;
    let max = limits.max_request_body_bytes;
    let lines = Lines::new(body.into_data_stream(), max).keeping_blank_lines();
    let mut events = Events::new(lines, max);
    let thread = ThreadRef::parse(&target.thread)?;
    // The first event may name the message (`start`'s `messageId`).
    let first = match events.next(idle).await {
        NextEvent::Event(event) => event,
        NextEvent::End | NextEvent::Failed(Next::End | Next::Broken) => {
            return Err(ApiError::InvalidInput(
                "the UI message stream ended before its first chunk".into(),
            ));
        }
        NextEvent::Failed(Next::Stalled) => return Err(ApiError::Timeout(idle)),
        NextEvent::Failed(_) => return Err(stream::line_too_long(max)),
        NextEvent::Invalid(e) => return Err(e),
    };
    let from_start = match &first {
        Event::Chunk(chunk) => Chunks::start_of(chunk).flatten().map(str::to_owned),
        Event::Done => None,
    };
    let message = MessageId::new(
        target
            .message_id
            .clone()
            .or(from_start)
            .unwrap_or_else(new_id),
    )?;
    open(&state, &user, &thread, &message, &target).await?;
    let mut writer = Writer {
        state: &state,
        user: &user,
        thread: &thread,
        message: message.clone(),
        pending: Vec::new(),
        last_commit: None,
    };
    let mut chunks = Chunks::new(message, new_id);
    let mut next_event = Some(NextEvent::Event(first));
    let deadline = Instant::now() + MAX_STREAM_DURATION;
    loop {
        let event = match next_event.take() {
            Some(event) => event,
            None => {
                let flush_at = writer.flush_at();
                tokio::select! {
                    event = events.next(idle) => event,
                    () = stream::sleep_until(flush_at) => {
                        if let Err(e) = writer.flush().await {
                            return Err(writer.interrupt(e).await);
                        }
                        continue;
                    }
                    () = tokio::time::sleep_until(deadline) => {
                        return Err(writer.interrupt(ApiError::Timeout(MAX_STREAM_DURATION)).await);
                    }
                    () = stream::sleep_until(expiry) => {
                        return Err(writer.interrupt(ApiError::Unauthorized).await);
                    }
                    () = state.app.shutdown.cancelled() => {
                        let e = ApiError::Busy("the relay is shutting down; the reply is kept as interrupted".into());
                        return Err(writer.interrupt(e).await);
                    }
                }
            }
        };
        if expired() {
            return Err(writer.interrupt(ApiError::Unauthorized).await);
        }
        let chunk = match event {
            NextEvent::Event(Event::Chunk(chunk)) => chunk,
            NextEvent::Event(Event::Done) => {
                // `[DONE]` without `finish`: the stream ended cleanly all the same.
                let end = End {
                    status: MessageStatus::Complete,
                    finish_reason: None,
                    error: None,
                };
                return writer.finish(end).await;
            }
            NextEvent::End | NextEvent::Failed(Next::End) => {
                let e = ApiError::InvalidInput(
                    "the UI message stream ended before its `finish` chunk".into(),
                );
                return Err(writer.interrupt(e).await);
            }
            NextEvent::Failed(Next::Broken) => {
                let e = ApiError::InvalidInput(
                    "the UI message stream broke off before its `finish` chunk".into(),
                );
                return Err(writer.interrupt(e).await);
            }
            NextEvent::Failed(Next::Stalled) => {
                return Err(writer.interrupt(ApiError::Timeout(idle)).await);
            }
            NextEvent::Failed(_) => return Err(writer.interrupt(stream::line_too_long(max)).await),
            NextEvent::Invalid(e) => return Err(writer.interrupt(e).await),
        };
        match chunks.read(&chunk) {
            Ok(read) => {
                writer.pending.extend(read.ops);
                if let Some(end) = read.end {
                    return writer.finish(end).await;
                }
                // A batch is bounded in writes, as an NDJSON batch is in bytes: store it now.
                if writer.pending.len() > 10_000
                    && let Err(e) = writer.flush().await
                {
                    return Err(writer.interrupt(e).await);
                }
            }
            Err(e) => return Err(writer.interrupt(e).await),
        }
    }
}

/// Makes sure the message exists and is open: created `streaming` (an assistant reply) if absent.
async fn open<S: Storage>(
    state: &ApiState<S>,
    user: &str,
    thread: &ThreadRef,
    id: &MessageId,
    target: &Target,
) -> Result<(), ApiError> {
    let id = id.clone();
    let parent_id = target.parent_id.clone().map(MessageId::new).transpose()?;
    let (provider, model) = (target.provider.clone(), target.model.clone());
    documents::write_thread(
        &state.app.relay,
        user,
        thread,
        Deleted::NotFound,
        move |t, now| match t.message(&id, stored_state(now)) {
            Some(existing) if existing.status.is_open() => Ok(()),
            Some(existing) => Err(ApiError::InvalidTransition(format!(
                "message {:?} is {}: it cannot be streamed into",
                id.as_str(),
                existing.status
            ))),
            None => {
                let mut message = NewMessage::new(id, Role::Assistant, "");
                message.status = Some(MessageStatus::Streaming);
                message.parent_id = parent_id;
                message.provider = provider;
                message.model = model;
                Ok(t.append_message(message, now)?)
            }
        },
    )
    .await
}

/// The writes received and not yet committed, and when the last batch was.
struct Writer<'a, S> {
    state: &'a ApiState<S>,
    user: &'a str,
    thread: &'a ThreadRef,
    message: MessageId,
    pending: Vec<Op>,
    last_commit: Option<Instant>,
}

impl<S: Storage> Writer<'_, S> {
    fn flush_at(&self) -> Option<Instant> {
        if self.pending.is_empty() {
            return None;
        }
        Some(self.last_commit.map_or_else(Instant::now, |at| at + BATCH))
    }

    /// Commits, stores and syncs the pending writes as one change. Writes the model refuses stop
    /// the batch: those before are stored, and the refusal is returned.
    async fn flush(&mut self) -> Result<(), ApiError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let ops = std::mem::take(&mut self.pending);
        let id = self.message.clone();
        let refused = self
            .write(Listing::Later, move |t, now| {
                Ok(apply_all(t, &id, ops, now).err())
            })
            .await?;
        self.last_commit = Some(Instant::now());
        refused.map_or(Ok(()), Err)
    }

    /// The pending writes and the end, as one change; the finished message.
    async fn finish(mut self, end: End) -> Result<Value, ApiError> {
        let ops = std::mem::take(&mut self.pending);
        let id = self.message.clone();
        let written = self
            .write(Listing::Update, move |t, now| {
                if let Err(e) = apply_all(t, &id, ops, now) {
                    return Ok(Err(e));
                }
                let details = chatsync_model::FinishDetails {
                    finish_reason: end.finish_reason,
                    error: end.error,
                };
                let status = end.status;
                t.finish_message_with(
                    &id,
                    MessageEnd {
                        status,
                        usage: None,
                    },
                    details,
                    now,
                )?;
                Ok(Ok(t.message(&id, ReadAt::new(now))))
            })
            .await;
        match written {
            Ok(Ok(message)) => json(&message),
            Ok(Err(e)) | Err(e) => Err(self.interrupt(e).await),
        }
    }

    /// Stores what was received (what the model takes of it) and marks the message
    /// `interrupted`; returns `why`.
    async fn interrupt(mut self, why: ApiError) -> ApiError {
        let ops = std::mem::take(&mut self.pending);
        let id = self.message.clone();
        let interrupted = self
            .write(Listing::Update, move |t, now| {
                let _ = apply_all(t, &id, ops, now);
                // Already ended (a `finish` the model took, then refused later) is left as it is.
                match t.interrupt_message(&id, now) {
                    Err(chatsync_model::ModelError::InvalidTransition { .. }) => Ok(()),
                    other => Ok(other?),
                }
            })
            .await;
        if let Err(e) = interrupted {
            tracing::warn!(error = %e, "a broken UI message stream's message could not be marked interrupted");
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

/// Applies `ops` in order, stopping at the first the model refuses (every model write validates
/// before it writes, so the ones before stay whole).
fn apply_all(t: &mut Thread, id: &MessageId, ops: Vec<Op>, now: u64) -> Result<(), ApiError> {
    for op in coalesced(ops) {
        apply(t, id, op, now)?;
    }
    Ok(())
}

/// Consecutive deltas to one part, joined: one splice rather than one per token.
fn coalesced(ops: Vec<Op>) -> Vec<Op> {
    let mut out: Vec<Op> = Vec::with_capacity(ops.len());
    for op in ops {
        if let (Some(Op::Delta(last, text)), Op::Delta(part, more)) = (out.last_mut(), &op)
            && last == part
        {
            text.push_str(more);
            continue;
        }
        out.push(op);
    }
    out
}

fn apply(t: &mut Thread, id: &MessageId, op: Op, now: u64) -> Result<(), ApiError> {
    match op {
        Op::Part(part) => t.append_part(id, part, now)?,
        Op::Delta(part, text) => t.append_part_delta(id, &part, &text, now)?,
        Op::StartTool(call, options) => {
            let exists = t.tool_calls().iter().any(|c| c.id == call.id);
            // A call a previous request of the same reply started (a continuation) goes on.
            if !exists {
                t.start_tool_call_with(call, options, now)?;
            }
        }
        Op::SetToolInput(call, input) => t.set_tool_call_input(&call, input, now)?,
        Op::FinishTool(call, outcome) => t.finish_tool_call(&call, outcome, now)?,
        Op::RequestApproval(request, call) => {
            t.request_approval_for(request, Some(&call), now)?;
        }
        Op::DecideApproval(approval, approve, reason) => {
            let decision = ApprovalDecision {
                approve,
                decided_by: "user".into(),
                reason,
            };
            t.decide_approval(&approval, decision, now)?;
        }
        Op::ResetStep => {
            t.reset_step(id, now)?;
        }
        Op::Metadata(update) => {
            let current = t
                .message(id, stored_state(now))
                .and_then(|m| m.metadata)
                .map(|m| m.to_value());
            let merged = super::merge::merge_metadata(current, Some(update)).map(Json::from);
            t.update_message_metadata(id, merged, now)?;
        }
    }
    Ok(())
}
