//! A check of a peer's Automerge sync message, run before Automerge decodes it.
//!
//! Automerge 0.12 trusts what a sync message declares about itself. The Bloom filter in a `have` says
//! how many probes a lookup takes, and answering the message looks up every change of the document,
//! each lookup allocating a vector of all its probes: 2^26 probes held the relay for seconds and
//! 260 MB for a message of a few dozen bytes, 2^30 asks 4 GB per lookup (and aborts the process where
//! memory is short), and 0 bits per entry divides by zero inside Automerge. So every sync payload a
//! peer sends is read here first, in one pass that allocates nothing, and refused if it declares
//! what Automerge never writes.
//!
//! The layout, as `Message::parse` and `BloomFilter::parse` in automerge's `sync.rs` and
//! `sync/bloom.rs` read it (every count and length LEB128):
//!
//! ```text
//! type         0x42 (v1) or 0x43 (v2)
//! heads        count, 32-byte hashes
//! need         count, 32-byte hashes
//! have         count, each: last-sync heads (count, hashes), then a Bloom filter (length, bytes)
//! changes      count, each: length, bytes (an Automerge chunk)
//! flags        optional: length, bytes
//! ```
//!
//! A Bloom filter is either empty or: entries, bits per entry, probes, then
//! `ceil(entries × bits per entry / 8)` bytes of bits.

use std::fmt;

/// The first byte of a v1 sync message (automerge's `MESSAGE_TYPE_SYNC`).
const SYNC_V1: u8 = 0x42;
/// The first byte of a v2 sync message (`MESSAGE_TYPE_SYNC_V2`).
const SYNC_V2: u8 = 0x43;
const HASH_BYTES: u64 = 32;
/// Automerge sends at most one `have` (none while it still needs changes); each one more multiplies
/// the work of answering by the document's change count.
pub(crate) const MAX_HAVES: u64 = 8;
/// Automerge writes 10 bits per entry (`BITS_PER_ENTRY`, a 1% false-positive rate); 64 would give
/// one in ten billion. More only makes the filter bigger.
pub(crate) const MAX_BITS_PER_ENTRY: u64 = 64;
/// Automerge writes 7 probes (`NUM_PROBES`); each lookup of every change computes this many, so the
/// cap bounds that work to a few times the usual.
pub(crate) const MAX_PROBES: u64 = 64;
/// Automerge computes a probe modulo `8 × the filter's bytes` as a `u32`: a longer filter overflows it.
const MAX_BLOOM_BYTES: u64 = (u32::MAX / 8) as u64;
/// Every Automerge chunk starts with a header of 4 magic bytes, a 4-byte checksum, a type byte and a
/// LEB128 length, so a shorter change cannot be one.
pub(crate) const MIN_CHUNK_BYTES: u64 = 10;

/// Why a peer's sync message is refused before Automerge reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncMessageError {
    /// The first byte is not a sync message's (0x42 or 0x43), or there is none.
    #[error("not an Automerge sync message: it does not start with 0x42 or 0x43")]
    UnknownType {
        /// The first byte, if the message has one.
        found: Option<u8>,
    },
    /// The message ends inside `part`.
    #[error("the message ends inside its {part}")]
    Truncated {
        /// Where it ends.
        part: Part,
    },
    /// A LEB128 number in `part` is overlong, or too large for the field Automerge reads it into.
    #[error("a malformed or oversized number in the {part}")]
    BadNumber {
        /// Where the number is.
        part: Part,
    },
    /// `part` declares more items than the bytes left could hold.
    #[error("the {part} declares {declared} items; the {room} bytes left hold at most {fit}")]
    CountTooLarge {
        /// The list.
        part: Part,
        /// How many items it declares.
        declared: u64,
        /// The bytes left in the message.
        room: u64,
        /// How many items those bytes could hold.
        fit: u64,
    },
    /// `part` declares more bytes than the message has left.
    #[error("the {part} declares {declared} bytes; {room} are left")]
    LengthTooLarge {
        /// The field.
        part: Part,
        /// Its declared length.
        declared: u64,
        /// The bytes left in the message.
        room: u64,
    },
    /// A list of hashes is not sorted and free of repeats, as Automerge writes them. A `need` naming one
    /// change a hundred thousand times would otherwise be answered with as many copies of it.
    #[error("the {part} hashes are not sorted and unique")]
    UnsortedHashes {
        /// The list.
        part: Part,
    },
    /// More `have` entries than any Automerge peer sends.
    #[error("{declared} have entries; at most {limit} are accepted")]
    TooManyHaves {
        /// How many the message declares.
        declared: u64,
        /// The most accepted.
        limit: u64,
    },
    /// A Bloom filter's bits per entry is 0 (Automerge would divide by zero) or absurdly many.
    #[error("a Bloom filter with {found} bits per entry; 1 to {limit} are accepted")]
    BloomBitsPerEntry {
        /// The declared bits per entry.
        found: u64,
        /// The most accepted.
        limit: u64,
    },
    /// A Bloom filter's probe count is 0 or so large that every lookup would cost seconds.
    #[error("a Bloom filter with {found} probes; 1 to {limit} are accepted")]
    BloomProbes {
        /// The declared probes.
        found: u64,
        /// The most accepted.
        limit: u64,
    },
    /// A Bloom filter's bits are not as many bytes as its entries and bits per entry imply.
    #[error("a Bloom filter of {found} bytes where its parameters imply {expected}")]
    BloomLength {
        /// `ceil(entries × bits per entry / 8)`.
        expected: u64,
        /// The bytes it has.
        found: u64,
    },
    /// A Bloom filter too large for Automerge's `u32` probe arithmetic.
    #[error("a Bloom filter of {bytes} bytes; at most {limit} are accepted")]
    BloomTooLarge {
        /// Its bytes.
        bytes: u64,
        /// The most accepted.
        limit: u64,
    },
    /// A change shorter than an Automerge chunk header.
    #[error("a change of {length} bytes; a chunk has at least {min}")]
    ChangeTooShort {
        /// Its length.
        length: u64,
        /// The shortest chunk.
        min: u64,
    },
}

/// A part of a sync message, to say where it is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The sender's heads.
    Heads,
    /// The hashes the sender asks for.
    Need,
    /// The list of `have` entries.
    Have,
    /// The heads of a `have` (the last sync).
    LastSync,
    /// A `have`'s Bloom filter.
    Bloom,
    /// The list of changes.
    Changes,
    /// One change.
    Change,
    /// The flags after the changes.
    Flags,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Heads => "heads",
            Self::Need => "need",
            Self::Have => "have list",
            Self::LastSync => "last-sync heads",
            Self::Bloom => "Bloom filter",
            Self::Changes => "change list",
            Self::Change => "change",
            Self::Flags => "flags",
        })
    }
}

/// What the check learnt on the way.
#[derive(Debug)]
pub(crate) struct Envelope<'a> {
    /// How many heads the sender has.
    pub heads: u64,
    /// The flags' bytes (none in a message from before they were added).
    pub flags: &'a [u8],
}

/// Checks `data` as a sync message from a peer. Linear in its length; allocates nothing.
pub(crate) fn check(data: &[u8]) -> Result<Envelope<'_>, SyncMessageError> {
    use SyncMessageError as E;
    let mut r = Reader { rest: data };
    match r.rest.split_first() {
        Some((&(SYNC_V1 | SYNC_V2), rest)) => r.rest = rest,
        other => {
            return Err(E::UnknownType {
                found: other.map(|(b, _)| *b),
            });
        }
    }
    let heads = r.hashes(Part::Heads)?;
    r.hashes(Part::Need)?;
    // A `have` takes at least two bytes: its two counts.
    let haves = r.count(Part::Have, 2)?;
    if haves > MAX_HAVES {
        return Err(E::TooManyHaves {
            declared: haves,
            limit: MAX_HAVES,
        });
    }
    for _ in 0..haves {
        r.hashes(Part::LastSync)?;
        check_bloom(r.bytes(Part::Bloom)?)?;
    }
    let changes = r.count(Part::Changes, 1 + MIN_CHUNK_BYTES)?;
    for _ in 0..changes {
        let change = r.bytes(Part::Change)?;
        if (change.len() as u64) < MIN_CHUNK_BYTES {
            return Err(E::ChangeTooShort {
                length: change.len() as u64,
                min: MIN_CHUNK_BYTES,
            });
        }
    }
    let flags = if r.rest.is_empty() {
        &[][..]
    } else {
        r.bytes(Part::Flags)?
    };
    // Automerge ignores whatever follows the flags — which is how the flags themselves were added to
    // v1 messages without breaking older peers — so a later version may append more here.
    Ok(Envelope { heads, flags })
}

/// Checks a `have`'s Bloom filter, as `BloomFilter::parse` reads it.
fn check_bloom(bytes: &[u8]) -> Result<(), SyncMessageError> {
    use SyncMessageError as E;
    if bytes.is_empty() {
        // An empty filter: Automerge writes one for no entries.
        return Ok(());
    }
    let mut r = Reader { rest: bytes };
    let entries = r.u32(Part::Bloom)?;
    let bits_per_entry = r.u32(Part::Bloom)?;
    let probes = r.u32(Part::Bloom)?;
    if !(1..=MAX_BITS_PER_ENTRY).contains(&bits_per_entry) {
        return Err(E::BloomBitsPerEntry {
            found: bits_per_entry,
            limit: MAX_BITS_PER_ENTRY,
        });
    }
    if !(1..=MAX_PROBES).contains(&probes) {
        return Err(E::BloomProbes {
            found: probes,
            limit: MAX_PROBES,
        });
    }
    // At most 2^32 × 64 bits: no overflow.
    let expected = (entries * bits_per_entry).div_ceil(8);
    let found = r.rest.len() as u64;
    if expected != found {
        return Err(E::BloomLength { expected, found });
    }
    if found > MAX_BLOOM_BYTES {
        return Err(E::BloomTooLarge {
            bytes: found,
            limit: MAX_BLOOM_BYTES,
        });
    }
    Ok(())
}

/// Reads a message front to back.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A LEB128 `u64`, refused where automerge's `leb128_u64` refuses it: overlong, or over 64 bits.
    fn leb128(&mut self, part: Part) -> Result<u64, SyncMessageError> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let Some((&byte, rest)) = self.rest.split_first() else {
                return Err(SyncMessageError::Truncated { part });
            };
            self.rest = rest;
            // The tenth byte holds only a u64's top bit (and so cannot continue).
            if shift == 63 && byte > 1 {
                return Err(SyncMessageError::BadNumber { part });
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                // A last byte of 0 after the first one only pads the number.
                if byte == 0 && shift > 0 {
                    return Err(SyncMessageError::BadNumber { part });
                }
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// A LEB128 number Automerge reads as a `u32`.
    fn u32(&mut self, part: Part) -> Result<u64, SyncMessageError> {
        let value = self.leb128(part)?;
        if value > u64::from(u32::MAX) {
            return Err(SyncMessageError::BadNumber { part });
        }
        Ok(value)
    }

    /// A count of items that each take at least `min_bytes`, refused if the bytes left cannot hold it.
    fn count(&mut self, part: Part, min_bytes: u64) -> Result<u64, SyncMessageError> {
        let declared = self.leb128(part)?;
        let room = self.rest.len() as u64;
        let fit = room / min_bytes;
        if declared > fit {
            return Err(SyncMessageError::CountTooLarge {
                part,
                declared,
                room,
                fit,
            });
        }
        Ok(declared)
    }

    /// A length-prefixed byte string.
    fn bytes(&mut self, part: Part) -> Result<&'a [u8], SyncMessageError> {
        let declared = self.leb128(part)?;
        let room = self.rest.len() as u64;
        if declared > room {
            return Err(SyncMessageError::LengthTooLarge {
                part,
                declared,
                room,
            });
        }
        // `declared` fits in the slice's length, so in a usize.
        let (bytes, rest) = self.rest.split_at(declared as usize);
        self.rest = rest;
        Ok(bytes)
    }

    /// A list of hashes in ascending order without repeats; returns how many.
    fn hashes(&mut self, part: Part) -> Result<u64, SyncMessageError> {
        let count = self.count(part, HASH_BYTES)?;
        let (list, rest) = self.rest.split_at((count * HASH_BYTES) as usize);
        self.rest = rest;
        let mut previous: Option<&[u8]> = None;
        for hash in list.chunks_exact(HASH_BYTES as usize) {
            if previous.is_some_and(|p| p >= hash) {
                return Err(SyncMessageError::UnsortedHashes { part });
            }
            previous = Some(hash);
        }
        Ok(count)
    }
}
