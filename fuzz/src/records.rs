//! The relay target's input format: a sequence of records, each one frame that a socket delivered to
//! one of two connections.
//!
//! ```text
//! record   header byte, then for `binary` and `error` a 2-byte little-endian length and that many
//!          bytes (fewer if the input ends first)
//! header   bit 0: the connection (0 or 1); bits 1-2: 0 binary, 1 text, 2 keepalive, 3 error;
//!          bits 3-7: flags, which the relay target ignores and the hub target reads as what
//!          storage and the clock do around the frame (see `parse_flagged`)
//! ```
//!
//! Length-prefixed rather than split on a separator, so a frame can hold any bytes, and the seed
//! writer can turn real frames into records exactly.

/// What a socket delivered: the relay's `Inbound`, less `Closed` (the end of the input closes both
/// sockets). Its own type, so the seed writer needs no relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A binary frame.
    Binary(Vec<u8>),
    /// A text frame.
    Text,
    /// A ping or pong.
    Keepalive,
    /// The socket failed, with this message.
    Error(String),
}

/// What a record's header says the frame is.
const BINARY: u8 = 0;
const TEXT: u8 = 1;
const KEEPALIVE: u8 = 2;
const ERROR: u8 = 3;

/// The frames of `input`, each with the connection (0 or 1) it goes to.
pub fn parse(input: &[u8]) -> Vec<(usize, Record)> {
    parse_flagged(input)
        .into_iter()
        .map(|(conn, record, _)| (conn, record))
        .collect()
}

/// The frames of `input`, each with the connection it goes to and its header's flags (bits 3-7,
/// shifted down).
pub fn parse_flagged(mut input: &[u8]) -> Vec<(usize, Record, u8)> {
    let mut records = Vec::new();
    while let Some((&header, rest)) = input.split_first() {
        input = rest;
        let conn = usize::from(header & 1);
        let flags = header >> 3;
        let record = match (header >> 1) & 3 {
            TEXT => Record::Text,
            KEEPALIVE => Record::Keepalive,
            kind => {
                let (payload, rest) = take_payload(input);
                input = rest;
                if kind == BINARY {
                    Record::Binary(payload.to_vec())
                } else {
                    Record::Error(String::from_utf8_lossy(payload).into_owned())
                }
            }
        };
        records.push((conn, record, flags));
    }
    records
}

fn take_payload(input: &[u8]) -> (&[u8], &[u8]) {
    let (len, rest) = match input {
        [lo, hi, rest @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), rest),
        _ => (0, &[][..]),
    };
    rest.split_at(len.min(rest.len()))
}

/// The record of a binary frame for connection `conn`: the inverse of [`parse`], for the seed writer.
pub fn binary(conn: usize, frame: &[u8]) -> Vec<u8> {
    let len = u16::try_from(frame.len()).expect("seed frames fit a record");
    let mut out = vec![(conn as u8 & 1) | (BINARY << 1)];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(frame);
    out
}

/// The record of a text frame (which the relay refuses) for connection `conn`.
pub fn text(conn: usize) -> Vec<u8> {
    vec![(conn as u8 & 1) | (TEXT << 1)]
}

/// The record of a ping or pong for connection `conn`.
pub fn keepalive(conn: usize) -> Vec<u8> {
    vec![(conn as u8 & 1) | (KEEPALIVE << 1)]
}

/// The record of a socket error for connection `conn`.
pub fn error(conn: usize, message: &str) -> Vec<u8> {
    let len = u16::try_from(message.len()).expect("seed errors fit a record");
    let mut out = vec![(conn as u8 & 1) | (ERROR << 1)];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(message.as_bytes());
    out
}
