//! Chunks other relays stored, as they commit: how a relay learns that a document it holds in memory
//! changed on another relay, so it can read what it lacks and sync its own peers.

use std::str::FromStr;

use automerge::ChangeHash;
use chatsync_protocol::DocumentId;
use tokio::sync::broadcast;

/// One chunk another relay stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChange {
    /// The document it belongs to.
    pub document: DocumentId,
    /// Its sequence number: read it (and any after it) with [`super::Storage::chunks_from`].
    pub seq: u64,
    /// The document's heads on the relay that stored it, right after. Empty when there were too many
    /// to name (then the reader loads the document to be sure it has everything).
    pub heads: Vec<ChangeHash>,
}

/// What the feed delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeNotice {
    /// Another relay stored a chunk.
    Stored(StoredChange),
    /// Another relay purged this document: a copy in memory must go at once, not serve reads until
    /// it is evicted.
    Purged(DocumentId),
    /// Notices may have been lost (the database connection dropped, or this relay fell behind):
    /// anything in memory may be behind storage.
    Missed,
    /// Another relay took back `grantee`'s access to `document`: their sessions here end.
    Revoked {
        /// The shared document.
        document: DocumentId,
        /// Whose access was taken back.
        grantee: String,
    },
}

/// A subscription to [`ChangeNotice`]s.
#[derive(Debug)]
pub struct ChangeFeed {
    receiver: broadcast::Receiver<ChangeNotice>,
}

impl ChangeFeed {
    pub(crate) fn new(receiver: broadcast::Receiver<ChangeNotice>) -> Self {
        Self { receiver }
    }

    /// The next notice; `None` once the storage is closed. Falling too far behind reads as
    /// [`ChangeNotice::Missed`].
    pub async fn next(&mut self) -> Option<ChangeNotice> {
        match self.receiver.recv().await {
            Ok(notice) => Some(notice),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(ChangeNotice::Missed),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// PostgreSQL refuses notification payloads of 8,000 bytes or more; past this many bytes of heads,
/// they are left out.
const MAX_PAYLOAD: usize = 7_000;

/// The heads as a notification names them (in hex, comma-separated), or nothing if they would make
/// the payload too long. The payload is `<writer> <document> <seq> <heads>`, put together by the
/// append's SQL (`postgres.rs`) so that it is sent in the append's own transaction.
pub(crate) fn payload_heads(heads: &[ChangeHash]) -> String {
    let heads: Vec<String> = heads.iter().map(ToString::to_string).collect();
    let heads = heads.join(",");
    if heads.len() <= MAX_PAYLOAD {
        heads
    } else {
        String::new()
    }
}

/// What a purge's notification says in place of a chunk's number: `<writer> <document> purged`.
pub(crate) const PURGED: &str = "purged";

/// The writer and the notice a payload names; `None` if it is not one of ours.
pub(crate) fn decode_payload(payload: &str) -> Option<(&str, ChangeNotice)> {
    let mut parts = payload.splitn(4, ' ');
    let writer = parts.next()?;
    let document = DocumentId::from_str(parts.next()?).ok()?;
    let seq = parts.next()?;
    if seq == PURGED {
        return parts
            .next()
            .is_none()
            .then_some((writer, ChangeNotice::Purged(document)));
    }
    let seq = seq.parse().ok()?;
    let heads = parts
        .next()?
        .split(',')
        .filter(|h| !h.is_empty())
        .map(ChangeHash::from_str)
        .collect::<Result<_, _>>()
        .ok()?;
    Some((
        writer,
        ChangeNotice::Stored(StoredChange {
            document,
            seq,
            heads,
        }),
    ))
}

/// The word that marks a revoke's payload, `<writer> revoke <document> <grantee>` (a document id
/// is never this word, so the two kinds cannot be confused).
const REVOKE: &str = "revoke";

/// The payload telling other relays that `grantee` lost their access to `document`. The grantee is
/// written in hex: a share link's holder has a NUL-prefixed id, which PostgreSQL refuses in text.
pub(crate) fn revoke_payload(writer: &str, document: &DocumentId, grantee: &str) -> String {
    let hex: String = grantee.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{writer} {REVOKE} {document} {hex}")
}

/// The writer, document and grantee a revoke's payload names; `None` if it is not one.
pub(crate) fn decode_revoke(payload: &str) -> Option<(&str, DocumentId, String)> {
    let mut parts = payload.splitn(4, ' ');
    let writer = parts.next()?;
    if parts.next()? != REVOKE {
        return None;
    }
    let document = DocumentId::from_str(parts.next()?).ok()?;
    let hex = parts.next()?.as_bytes();
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes = hex
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some((writer, document, String::from_utf8(bytes).ok()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_revoke_payload_reads_back_and_is_never_a_stored_change() {
        let document = DocumentId::from_bytes([7; 16]);
        let payload = revoke_payload("relay-a", &document, "bob smith");
        assert_eq!(
            decode_revoke(&payload),
            Some(("relay-a", document, "bob smith".to_owned()))
        );
        assert_eq!(decode_payload(&payload), None);
        assert_eq!(decode_revoke(&format!("relay-a {document} 42 ")), None);
        // A share link's holder: its id starts with NUL, which must not reach PostgreSQL's text.
        let link = revoke_payload("relay-a", &document, "\0link-7");
        assert!(!link.contains('\0'), "{link:?}");
        assert_eq!(
            decode_revoke(&link),
            Some(("relay-a", document, "\0link-7".to_owned()))
        );
        assert_eq!(decode_revoke(&format!("relay-a revoke {document} 6")), None);
        assert_eq!(
            decode_revoke(&format!("relay-a revoke {document} zz")),
            None
        );
    }

    use super::*;

    #[test]
    fn a_payload_reads_back_as_what_was_stored() {
        let document = DocumentId::from_bytes([7; 16]);
        let heads = vec![ChangeHash([1; 32]), ChangeHash([2; 32])];
        let payload = format!("relay-a {document} 42 {}", payload_heads(&heads));
        let (writer, change) = decode_payload(&payload).unwrap();
        assert_eq!(writer, "relay-a");
        assert_eq!(
            change,
            ChangeNotice::Stored(StoredChange {
                document,
                seq: 42,
                heads
            })
        );
    }

    #[test]
    fn a_purge_payload_reads_back_as_the_purged_document() {
        let document = DocumentId::from_bytes([7; 16]);
        let payload = format!("relay-a {document} {PURGED}");
        assert_eq!(
            decode_payload(&payload),
            Some(("relay-a", ChangeNotice::Purged(document)))
        );
        assert_eq!(decode_payload(&format!("{payload} extra")), None);
    }

    #[test]
    fn too_many_heads_are_left_out_rather_than_refused_by_postgres() {
        let document = DocumentId::from_bytes([7; 16]);
        let heads: Vec<ChangeHash> = (0..200u8).map(|n| ChangeHash([n; 32])).collect();
        let payload = format!("relay-a {document} 1 {}", payload_heads(&heads));
        assert!(payload.len() < 8_000);
        let Some((_, ChangeNotice::Stored(change))) = decode_payload(&payload) else {
            panic!("not a stored change: {payload}");
        };
        assert!(change.heads.is_empty());
    }

    #[test]
    fn a_foreign_payload_is_ignored() {
        assert_eq!(decode_payload("hello"), None);
        assert_eq!(decode_payload("a notadocid 1 "), None);
    }
}
