//! The CBOR under the wire messages, on minicbor: a message's map is read as keys with where their
//! values start, and each value is read when the message asks for it, as the type it expects.
//!
//! minicbor has no generic value tree and no serde: the browser package carries this codec rather
//! than ciborium's, which was 11 KB of its gzipped wasm. Skipping a value uses a heap stack, so a
//! deeply nested frame cannot overflow the stack.
//!
//! Every message is a small fixed shape: the largest, `ephemeral`, has 7 fields, and the JS side sends
//! no more than that. So a map or array read here holds at most [`MAX_ENTRIES`] entries, and a
//! longer one is refused before its entries are read: the key lookups below scan a map's entries,
//! which stays linear in the frame only while that count is bounded.

use minicbor::Decoder;
use minicbor::data::Type;

use crate::message::DecodeError;

/// The most entries a map (or items an array) of a message may hold: several times what any message
/// shape needs (7 fields at most), so a newer peer's extra fields still fit, while a frame of 80,000
/// keys is refused at its map's header instead of costing seconds of key comparisons.
pub(crate) const MAX_ENTRIES: u64 = 64;

/// The entries of one CBOR map in a frame: text keys with the position of their values. Entries with
/// other keys are skipped; the first of two equal keys wins. At most [`MAX_ENTRIES`] entries, counting
/// skipped and repeated ones.
pub(crate) struct Map<'a> {
    frame: &'a [u8],
    entries: Vec<(String, usize)>,
}

impl<'a> Map<'a> {
    /// Reads the map at the start of `frame`, which must hold nothing after it.
    pub fn whole_frame(frame: &'a [u8]) -> Result<Self, DecodeError> {
        let mut d = Decoder::new(frame);
        match d.datatype().map_err(malformed)? {
            Type::Map | Type::MapIndef => {}
            _ => {
                d.skip().map_err(malformed)?;
                return Err(DecodeError::NotAMap);
            }
        }
        let map = Self::read(&mut d, "the message")?;
        match frame.len() - d.position() {
            0 => Ok(map),
            trailing => Err(DecodeError::TrailingBytes(trailing)),
        }
    }

    /// Reads the map `d` is at, leaving `d` after it. `what` names it in a refusal.
    fn read(d: &mut Decoder<'a>, what: &'static str) -> Result<Self, DecodeError> {
        let frame = d.input();
        let declared = d.map().map_err(malformed)?;
        if declared.is_some_and(|n| n > MAX_ENTRIES) {
            return Err(too_many(what));
        }
        let mut entries: Vec<(String, usize)> = Vec::new();
        let mut read = 0;
        loop {
            match declared {
                Some(n) if read == n => break,
                None if d.datatype().map_err(malformed)? == Type::Break => {
                    // The break byte that ends an indefinite-length map.
                    d.set_position(d.position() + 1);
                    break;
                }
                _ if read == MAX_ENTRIES => return Err(too_many(what)),
                _ => read += 1,
            }
            let key = match d.datatype().map_err(malformed)? {
                Type::String | Type::StringIndef => Some(text(d).ok_or_else(|| {
                    DecodeError::Cbor("a map key is not well-formed text".into())
                })?),
                _ => {
                    d.skip().map_err(malformed)?;
                    None
                }
            };
            let at = d.position();
            d.skip().map_err(malformed)?;
            // At most MAX_ENTRIES earlier keys to compare with.
            if let Some(key) = key
                && !entries.iter().any(|(k, _)| *k == key)
            {
                entries.push((key, at));
            }
        }
        Ok(Self { frame, entries })
    }

    /// A decoder at `field`'s value; `null` and `undefined` count as absent.
    pub fn get(&self, field: &str) -> Option<Decoder<'a>> {
        let (_, at) = self.entries.iter().find(|(k, _)| *k == field)?;
        let mut d = Decoder::new(self.frame);
        d.set_position(*at);
        match d.datatype() {
            Ok(Type::Null | Type::Undefined) => None,
            _ => Some(d),
        }
    }

    /// The map under `field`, if there is one.
    pub fn map(&self, field: &'static str) -> Result<Option<Map<'a>>, DecodeError> {
        let Some(mut d) = self.get(field) else {
            return Ok(None);
        };
        match d.datatype() {
            Ok(Type::Map | Type::MapIndef) => Self::read(&mut d, field).map(Some),
            _ => Err(DecodeError::WrongType {
                field,
                expected: "a map",
            }),
        }
    }
}

/// Reads text of definite or indefinite length.
pub(crate) fn text(d: &mut Decoder<'_>) -> Option<String> {
    d.str_iter().ok()?.collect::<Result<String, _>>().ok()
}

/// Reads a byte string of definite or indefinite length.
pub(crate) fn bytes(d: &mut Decoder<'_>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for chunk in d.bytes_iter().ok()? {
        out.extend_from_slice(chunk.ok()?);
    }
    Some(out)
}

/// Reads an array of at most [`MAX_ENTRIES`] texts; `field` names it in a refusal.
pub(crate) fn texts(d: &mut Decoder<'_>, field: &'static str) -> Result<Vec<String>, DecodeError> {
    let wrong_type = DecodeError::WrongType {
        field,
        expected: "an array of strings",
    };
    let declared = d.array().map_err(|_| wrong_type.clone())?;
    if declared.is_some_and(|n| n > MAX_ENTRIES) {
        return Err(too_many(field));
    }
    let mut out = Vec::new();
    loop {
        match declared {
            Some(n) if out.len() as u64 == n => return Ok(out),
            None if d.datatype().map_err(|_| wrong_type.clone())? == Type::Break => return Ok(out),
            _ if out.len() as u64 == MAX_ENTRIES => return Err(too_many(field)),
            _ => {}
        }
        out.push(text(d).ok_or_else(|| wrong_type.clone())?);
    }
}

fn too_many(what: &'static str) -> DecodeError {
    DecodeError::TooManyEntries {
        what,
        limit: MAX_ENTRIES,
    }
}

/// What went wrong, from the error's kind and position: minicbor's own `Display` (its messages for
/// every case) costs 3 KB of the browser's wasm, and a refused frame needs no more than this.
fn malformed(e: minicbor::decode::Error) -> DecodeError {
    let kind = if e.is_end_of_input() {
        "the CBOR ends early"
    } else if e.is_type_mismatch() {
        "a CBOR value of the wrong type"
    } else {
        "malformed CBOR"
    };
    DecodeError::Cbor(match e.position() {
        Some(at) => format!("{kind} at byte {at}"),
        None => kind.to_owned(),
    })
}

/// One value of a message being encoded.
pub(crate) enum Value<'a> {
    Text(&'a str),
    Texts(&'a [String]),
    Bytes(&'a [u8]),
    Uint(u64),
    /// A map of the entries that are set.
    Map(Vec<(&'a str, Value<'a>)>),
    Bool(bool),
}

/// Encodes a map of `entries`, in their order.
pub(crate) fn encode_map(entries: &[(&str, Value<'_>)]) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    // Writing into a Vec cannot fail.
    write_map(&mut e, entries).expect("CBOR into a Vec");
    e.into_writer()
}

type Encoder = minicbor::Encoder<Vec<u8>>;
type EncodeResult = Result<(), minicbor::encode::Error<core::convert::Infallible>>;

fn write_map(e: &mut Encoder, entries: &[(&str, Value<'_>)]) -> EncodeResult {
    e.map(entries.len() as u64)?;
    for (key, value) in entries {
        e.str(key)?;
        match value {
            Value::Text(s) => {
                e.str(s)?;
            }
            Value::Texts(items) => {
                e.array(items.len() as u64)?;
                for item in *items {
                    e.str(item)?;
                }
            }
            Value::Bytes(b) => {
                e.bytes(b)?;
            }
            Value::Uint(n) => {
                e.u64(*n)?;
            }
            Value::Bool(b) => {
                e.bool(*b)?;
            }
            Value::Map(entries) => write_map(e, entries)?,
        }
    }
    Ok(())
}
