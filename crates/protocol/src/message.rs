//! automerge-repo wire messages: one CBOR map per binary WebSocket frame.
//!
//! Each field is read as the type it must have, so every refusal names the field at fault. CBOR
//! `undefined` (which the JS side sends for an absent `storageId`) reads as absent.

use crate::cbor::{self, Map, Value};
use crate::{DocumentId, DocumentIdError};

/// A peer's self-description in `join` and `peer`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    /// The peer's storage id, when it persists documents.
    pub storage_id: Option<String>,
    /// Whether the peer keeps nothing (a browser tab without storage); absent means not said.
    pub is_ephemeral: Option<bool>,
}

/// One wire message. Field names follow the JS side; peer ids are free-form strings.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// Client → server: the first message on a socket.
    Join {
        /// The joining peer.
        sender_id: String,
        /// Its metadata.
        peer_metadata: PeerMetadata,
        /// Protocol versions it speaks (`["1"]` when absent).
        supported_protocol_versions: Vec<String>,
    },
    /// Server → client: the answer to `join`.
    Peer {
        /// The server's peer id.
        sender_id: String,
        /// The client's peer id.
        target_id: String,
        /// The server's metadata.
        peer_metadata: PeerMetadata,
        /// The version both speak.
        selected_protocol_version: String,
    },
    /// A refusal; the socket closes after it.
    Error {
        /// Who refuses.
        sender_id: String,
        /// Who is refused.
        target_id: String,
        /// Why, for people.
        message: String,
    },
    /// "I want this document": an Automerge sync message for a document the sender lacks.
    Request {
        /// Sender.
        sender_id: String,
        /// Receiver.
        target_id: String,
        /// The document.
        document_id: DocumentId,
        /// An Automerge sync message.
        data: Vec<u8>,
    },
    /// An Automerge sync message for a document.
    Sync {
        /// Sender.
        sender_id: String,
        /// Receiver.
        target_id: String,
        /// The document.
        document_id: DocumentId,
        /// An Automerge sync message.
        data: Vec<u8>,
    },
    /// The sender does not have the document (or will not say it has).
    DocUnavailable {
        /// Sender.
        sender_id: String,
        /// Receiver.
        target_id: String,
        /// The document.
        document_id: DocumentId,
    },
    /// Presence and the like, forwarded to the document's other peers; deduped on (session, count).
    Ephemeral {
        /// The original sender (kept when forwarded).
        sender_id: String,
        /// Receiver.
        target_id: String,
        /// The document.
        document_id: DocumentId,
        /// The sender's session.
        session_id: String,
        /// Increases per message within a session.
        count: u64,
        /// CBOR-encoded application data.
        data: Vec<u8>,
    },
    /// Heads gossip subscription; kept as raw CBOR fields this relay does not act on yet.
    RemoteSubscriptionChange {
        /// Sender.
        sender_id: String,
        /// Receiver.
        target_id: String,
        /// The whole message as CBOR, re-encoded unchanged.
        raw: Vec<u8>,
    },
    /// Heads gossip: a storage's new heads for a document.
    RemoteHeadsChanged {
        /// Sender.
        sender_id: String,
        /// Receiver.
        target_id: String,
        /// The document.
        document_id: DocumentId,
        /// The whole message as CBOR, re-encoded unchanged.
        raw: Vec<u8>,
    },
    /// The sender is going away.
    Leave {
        /// Sender.
        sender_id: String,
    },
}

/// Why a frame is not a wire message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not one well-formed CBOR item.
    #[error("malformed CBOR: {0}")]
    Cbor(String),
    /// Bytes follow the message.
    #[error("{0} bytes follow the CBOR message")]
    TrailingBytes(usize),
    /// The item is not a map.
    #[error("a message must be a CBOR map")]
    NotAMap,
    /// `type` names no message this protocol knows.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// A required field is absent.
    #[error("{message_type} message lacks `{field}`")]
    MissingField {
        /// The message type.
        message_type: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong CBOR type.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A map or array holds more entries than any message needs: refused before they are read.
    #[error("{what} has more than {limit} entries")]
    TooManyEntries {
        /// The map or array: `the message`, or the field holding it.
        what: &'static str,
        /// The most accepted.
        limit: u64,
    },
    /// `documentId` is not a document id.
    #[error("bad documentId: {0}")]
    DocumentId(#[from] DocumentIdError),
}

impl Message {
    /// The `join` a client sends first: protocol version 1. `is_ephemeral` tells the server whether
    /// this peer keeps what it syncs (a browser store does; a passing backend process does not).
    pub fn join(sender_id: impl Into<String>, is_ephemeral: bool) -> Self {
        Self::Join {
            sender_id: sender_id.into(),
            peer_metadata: PeerMetadata {
                storage_id: None,
                is_ephemeral: Some(is_ephemeral),
            },
            supported_protocol_versions: vec!["1".into()],
        }
    }

    /// A client's sync payload for a document: a `request` while it is still asking for a document it
    /// does not hold (so the server may answer `doc-unavailable`), a `sync` otherwise.
    pub fn for_document(
        requesting: bool,
        sender_id: impl Into<String>,
        target_id: impl Into<String>,
        document_id: DocumentId,
        data: Vec<u8>,
    ) -> Self {
        let (sender_id, target_id) = (sender_id.into(), target_id.into());
        if requesting {
            Self::Request {
                sender_id,
                target_id,
                document_id,
                data,
            }
        } else {
            Self::Sync {
                sender_id,
                target_id,
                document_id,
                data,
            }
        }
    }

    /// The message's `type` string.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Join { .. } => "join",
            Self::Peer { .. } => "peer",
            Self::Error { .. } => "error",
            Self::Request { .. } => "request",
            Self::Sync { .. } => "sync",
            Self::DocUnavailable { .. } => "doc-unavailable",
            Self::Ephemeral { .. } => "ephemeral",
            Self::RemoteSubscriptionChange { .. } => "remote-subscription-change",
            Self::RemoteHeadsChanged { .. } => "remote-heads-changed",
            Self::Leave { .. } => "leave",
        }
    }

    /// Decodes one frame.
    pub fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        let map = Map::whole_frame(frame)?;
        let fields = Fields {
            map: &map,
            message_type: "unknown",
        };
        let kind = fields.string("type")?;
        let message_type = KNOWN_TYPES
            .iter()
            .find(|t| **t == kind)
            .ok_or_else(|| DecodeError::UnknownType(kind.chars().take(64).collect()))?;
        let f = Fields {
            map: &map,
            message_type,
        };
        let sender_id = f.string("senderId")?;
        Ok(match *message_type {
            "join" => Self::Join {
                sender_id,
                peer_metadata: f.peer_metadata()?,
                supported_protocol_versions: match f.map.get("supportedProtocolVersions") {
                    None => vec!["1".to_owned()],
                    Some(mut d) => cbor::texts(&mut d, "supportedProtocolVersions")?,
                },
            },
            "peer" => Self::Peer {
                sender_id,
                target_id: f.string("targetId")?,
                peer_metadata: f.peer_metadata()?,
                selected_protocol_version: f.string("selectedProtocolVersion")?,
            },
            "error" => Self::Error {
                sender_id,
                target_id: f.string("targetId")?,
                message: f.string("message")?,
            },
            "request" => Self::Request {
                sender_id,
                target_id: f.string("targetId")?,
                document_id: f.document_id()?,
                data: f.bytes("data")?,
            },
            "sync" => Self::Sync {
                sender_id,
                target_id: f.string("targetId")?,
                document_id: f.document_id()?,
                data: f.bytes("data")?,
            },
            "doc-unavailable" => Self::DocUnavailable {
                sender_id,
                target_id: f.string("targetId")?,
                document_id: f.document_id()?,
            },
            "ephemeral" => Self::Ephemeral {
                sender_id,
                target_id: f.string("targetId")?,
                document_id: f.document_id()?,
                session_id: f.string("sessionId")?,
                count: f.uint("count")?,
                data: f.bytes("data")?,
            },
            "remote-subscription-change" => Self::RemoteSubscriptionChange {
                sender_id,
                target_id: f.string("targetId")?,
                raw: frame.to_vec(),
            },
            "remote-heads-changed" => Self::RemoteHeadsChanged {
                sender_id,
                target_id: f.string("targetId")?,
                document_id: f.document_id()?,
                raw: frame.to_vec(),
            },
            _ => Self::Leave { sender_id },
        })
    }

    /// Encodes the message as one CBOR map, keys in the JS side's order.
    pub fn encode(&self) -> Vec<u8> {
        if let Self::RemoteSubscriptionChange { raw, .. } | Self::RemoteHeadsChanged { raw, .. } =
            self
        {
            return raw.clone();
        }
        let document_id = match self {
            Self::Request { document_id, .. }
            | Self::Sync { document_id, .. }
            | Self::DocUnavailable { document_id, .. }
            | Self::Ephemeral { document_id, .. } => document_id.to_string(),
            _ => String::new(),
        };
        let mut map = vec![("type", Value::Text(self.type_name()))];
        let text = Value::Text;
        match self {
            Self::Join {
                sender_id,
                peer_metadata,
                supported_protocol_versions,
            } => map.extend([
                ("senderId", text(sender_id)),
                ("peerMetadata", metadata_value(peer_metadata)),
                (
                    "supportedProtocolVersions",
                    Value::Texts(supported_protocol_versions),
                ),
            ]),
            Self::Peer {
                sender_id,
                target_id,
                peer_metadata,
                selected_protocol_version,
            } => map.extend([
                ("senderId", text(sender_id)),
                ("peerMetadata", metadata_value(peer_metadata)),
                ("selectedProtocolVersion", text(selected_protocol_version)),
                ("targetId", text(target_id)),
            ]),
            Self::Error {
                sender_id,
                target_id,
                message,
            } => map.extend([
                ("senderId", text(sender_id)),
                ("message", text(message)),
                ("targetId", text(target_id)),
            ]),
            Self::Request {
                sender_id,
                target_id,
                data,
                ..
            }
            | Self::Sync {
                sender_id,
                target_id,
                data,
                ..
            } => map.extend([
                ("targetId", text(target_id)),
                ("documentId", text(&document_id)),
                ("data", Value::Bytes(data)),
                ("senderId", text(sender_id)),
            ]),
            Self::DocUnavailable {
                sender_id,
                target_id,
                ..
            } => map.extend([
                ("documentId", text(&document_id)),
                ("targetId", text(target_id)),
                ("senderId", text(sender_id)),
            ]),
            Self::Ephemeral {
                sender_id,
                target_id,
                session_id,
                count,
                data,
                ..
            } => map.extend([
                ("targetId", text(target_id)),
                ("documentId", text(&document_id)),
                ("data", Value::Bytes(data)),
                ("count", Value::Uint(*count)),
                ("sessionId", text(session_id)),
                ("senderId", text(sender_id)),
            ]),
            Self::Leave { sender_id } => map.push(("senderId", text(sender_id))),
            Self::RemoteSubscriptionChange { .. } | Self::RemoteHeadsChanged { .. } => {}
        }
        cbor::encode_map(&map)
    }
}

const KNOWN_TYPES: &[&str] = &[
    "join",
    "peer",
    "error",
    "request",
    "sync",
    "doc-unavailable",
    "ephemeral",
    "remote-subscription-change",
    "remote-heads-changed",
    "leave",
];

fn metadata_value(m: &PeerMetadata) -> Value<'_> {
    let mut map = Vec::new();
    if let Some(id) = &m.storage_id {
        map.push(("storageId", Value::Text(id)));
    }
    if let Some(ephemeral) = m.is_ephemeral {
        map.push(("isEphemeral", Value::Bool(ephemeral)));
    }
    Value::Map(map)
}

struct Fields<'a> {
    map: &'a Map<'a>,
    message_type: &'static str,
}

impl<'a> Fields<'a> {
    fn required(&self, field: &'static str) -> Result<minicbor::Decoder<'a>, DecodeError> {
        self.map.get(field).ok_or(DecodeError::MissingField {
            message_type: self.message_type,
            field,
        })
    }

    fn string(&self, field: &'static str) -> Result<String, DecodeError> {
        cbor::text(&mut self.required(field)?).ok_or(DecodeError::WrongType {
            field,
            expected: "a string",
        })
    }

    fn bytes(&self, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        cbor::bytes(&mut self.required(field)?).ok_or(DecodeError::WrongType {
            field,
            expected: "a byte string",
        })
    }

    fn uint(&self, field: &'static str) -> Result<u64, DecodeError> {
        self.required(field)?
            .u64()
            .map_err(|_| DecodeError::WrongType {
                field,
                expected: "a non-negative integer",
            })
    }

    fn document_id(&self) -> Result<DocumentId, DecodeError> {
        Ok(self.string("documentId")?.parse()?)
    }

    fn peer_metadata(&self) -> Result<PeerMetadata, DecodeError> {
        let Some(map) = self.map.map("peerMetadata")? else {
            return Ok(PeerMetadata::default());
        };
        Ok(PeerMetadata {
            storage_id: match map.get("storageId") {
                None => None,
                Some(mut d) => Some(cbor::text(&mut d).ok_or(DecodeError::WrongType {
                    field: "peerMetadata.storageId",
                    expected: "a string",
                })?),
            },
            is_ephemeral: match map.get("isEphemeral") {
                None => None,
                Some(mut d) => Some(d.bool().map_err(|_| DecodeError::WrongType {
                    field: "peerMetadata.isEphemeral",
                    expected: "a boolean",
                })?),
            },
        })
    }
}
