//! The CBOR under the wire messages, on minicbor: a message's map is read as keys with where their
//! values start, and each value is read when the message asks for it, as the type it expects.
//!
//! minicbor has no generic value tree and no serde: the browser package carries this codec rather
//! than ciborium's, which was 11 KB of its gzipped wasm. Skipping a value uses a heap stack, so a
//! deeply nested frame cannot overflow the stack.

use minicbor::Decoder;
use minicbor::data::Type;

use crate::message::DecodeError;

/// The entries of one CBOR map in a frame: text keys with the position of their values. Entries with
/// other keys are skipped; the first of two equal keys wins.
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
        let map = Self::read(&mut d)?;
        match frame.len() - d.position() {
            0 => Ok(map),
            trailing => Err(DecodeError::TrailingBytes(trailing)),
        }
    }

    /// Reads the map `d` is at, leaving `d` after it.
    fn read(d: &mut Decoder<'a>) -> Result<Self, DecodeError> {
        let frame = d.input();
        let mut remaining = d.map().map_err(malformed)?;
        let mut entries: Vec<(String, usize)> = Vec::new();
        loop {
            match remaining {
                Some(0) => break,
                Some(n) => remaining = Some(n - 1),
                None if d.datatype().map_err(malformed)? == Type::Break => {
                    // The break byte that ends an indefinite-length map.
                    d.set_position(d.position() + 1);
                    break;
                }
                None => {}
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

    /// The map under `field`, if there is one; `Err(())` if the value is something else.
    pub fn map(&self, field: &str) -> Option<Result<Map<'a>, ()>> {
        let mut d = self.get(field)?;
        Some(match d.datatype() {
            Ok(Type::Map | Type::MapIndef) => Self::read(&mut d).map_err(|_| ()),
            _ => Err(()),
        })
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

/// Reads an array of text.
pub(crate) fn texts(d: &mut Decoder<'_>) -> Option<Vec<String>> {
    let mut remaining = d.array().ok()?;
    let mut out = Vec::new();
    loop {
        match remaining {
            Some(0) => return Some(out),
            Some(n) => remaining = Some(n - 1),
            None if d.datatype().ok()? == Type::Break => return Some(out),
            None => {}
        }
        out.push(text(d)?);
    }
}

fn malformed(e: minicbor::decode::Error) -> DecodeError {
    DecodeError::Cbor(e.to_string())
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
