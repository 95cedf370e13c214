//! Re-sealing Automerge chunks after a mutation.
//!
//! Every Automerge chunk carries the first 4 bytes of the SHA-256 of its type, length and data, and
//! loading refuses a chunk whose checksum does not match. Almost every mutation of a saved document
//! breaks it, so a fuzzer mutating real documents would test little beyond the checksum. The model
//! target loads each input twice: as it is, and with its chunks' checksums recomputed here.
//!
//! ```text
//! chunk   magic 85 6f 4a 83, checksum (4 bytes), type (1 byte), data length (LEB128), data
//! ```

use sha2::{Digest, Sha256};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Chunk type 2 (a compressed change) is checksummed over its uncompressed bytes: not re-sealed.
const COMPRESSED_CHANGE: u8 = 2;

/// `bytes` with the checksum of every chunk it starts with recomputed, chunk after chunk, up to the
/// first that is malformed or truncated (left as it is, with what follows).
pub fn reseal(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut at = 0;
    while let Some(next) = reseal_one(&mut out, at) {
        at = next;
    }
    out
}

/// Re-seals the chunk at `at`; returns where the next one starts.
fn reseal_one(bytes: &mut [u8], at: usize) -> Option<usize> {
    let chunk = bytes.get(at..)?;
    if chunk.get(..4)? != MAGIC {
        return None;
    }
    let chunk_type = *chunk.get(8)?;
    let (len, len_bytes) = leb128(chunk.get(9..)?)?;
    let data_start = 9 + len_bytes;
    let data_end = data_start.checked_add(usize::try_from(len).ok()?)?;
    let data = chunk.get(data_start..data_end)?;
    if chunk_type != COMPRESSED_CHANGE {
        let mut length = Vec::new();
        write_leb128(&mut length, len);
        let mut hasher = Sha256::new();
        hasher.update([chunk_type]);
        hasher.update(&length);
        hasher.update(data);
        let digest = hasher.finalize();
        bytes[at + 4..at + 8].copy_from_slice(&digest[..4]);
    }
    Some(at + data_end)
}

/// A LEB128 `u64` and how many bytes it took; `None` if truncated or longer than 10 bytes.
fn leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn write_leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
