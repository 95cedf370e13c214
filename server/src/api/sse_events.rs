//! Server-sent events read from a request body, for the UI message stream on `/api/stream`: each
//! event's `data:` lines joined, `[DONE]` told apart from a JSON chunk.

use std::time::Duration;

use serde_json::Value;

use super::error::ApiError;
use super::stream::{Lines, Next};

/// One event of the body.
pub(super) enum Event {
    Chunk(Value),
    Done,
}

/// Server-sent events from a body: `data:` lines joined until a blank line; comments (`:`) and
/// the `event`, `id` and `retry` fields are skipped (the AI SDK sends none but keep-alive
/// comments).
pub(super) struct Events<B> {
    lines: Lines<B>,
    max: usize,
}

/// How reading the next event went.
pub(super) enum NextEvent {
    Event(Event),
    /// The body ended with no further event.
    End,
    Failed(Next),
    Invalid(ApiError),
}

impl<B> Events<B>
where
    B: futures_util::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin,
{
    pub(super) fn new(lines: Lines<B>, max: usize) -> Self {
        Self { lines, max }
    }

    pub(super) async fn next(&mut self, idle: Duration) -> NextEvent {
        let mut data: Option<Vec<u8>> = None;
        loop {
            let line = match self.lines.next(idle).await {
                Next::Line(line) => line,
                Next::End => match data {
                    Some(data) => return parse_event(&data),
                    None => return NextEvent::End,
                },
                other => return NextEvent::Failed(other),
            };
            if line.is_empty() {
                match data.take() {
                    Some(data) => return parse_event(&data),
                    None => continue,
                }
            }
            if line.starts_with(b":") {
                continue;
            }
            let (field, value) = match line.iter().position(|b| *b == b':') {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (&line[..], &b""[..]),
            };
            let value = value.strip_prefix(b" ").unwrap_or(value);
            match field {
                b"data" => {
                    let buffer = data.get_or_insert_with(Vec::new);
                    if !buffer.is_empty() {
                        buffer.push(b'\n');
                    }
                    buffer.extend_from_slice(value);
                    if buffer.len() > self.max {
                        return NextEvent::Failed(Next::TooLong);
                    }
                }
                b"event" | b"id" | b"retry" => {}
                _ => {
                    return NextEvent::Invalid(ApiError::InvalidInput(format!(
                        "a line of the event stream is not a server-sent event field: {:?}",
                        String::from_utf8_lossy(&line[..line.len().min(64)])
                    )));
                }
            }
        }
    }
}

fn parse_event(data: &[u8]) -> NextEvent {
    if data.trim_ascii() == b"[DONE]" {
        return NextEvent::Event(Event::Done);
    }
    match serde_json::from_slice(data) {
        Ok(value) => NextEvent::Event(Event::Chunk(value)),
        Err(e) => NextEvent::Invalid(ApiError::InvalidInput(format!(
            "an event's data is not a JSON chunk: {e}"
        ))),
    }
}
