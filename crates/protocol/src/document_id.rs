//! automerge-repo document ids: base58check (Bitcoin alphabet) of 16 bytes.

use std::fmt;
use std::str::FromStr;

/// A document id: 16 bytes, written as base58check (27–28 characters). A thread's id is its document id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

/// Why a string is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentIdError {
    /// Not base58, or the checksum does not match.
    #[error("{0:?} is not base58check")]
    NotBase58Check(String),
    /// Valid base58check, but not 16 bytes.
    #[error("a document id holds 16 bytes, this one {0}")]
    WrongLength(usize),
}

impl DocumentId {
    /// The id of exactly these 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// A new id from 16 random bytes (the caller brings the randomness: the protocol has none), shaped
    /// as a UUIDv4 — automerge-repo refuses ids that are not, so every id we mint must be one.
    pub fn new_v4(random: [u8; 16]) -> Self {
        let mut bytes = random;
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
        Self(bytes)
    }

    /// A document id that only someone knowing `secret` can compute from `name` — e.g. each user's index
    /// document, derived by the relay from the user id with a secret of its own, so nobody can claim
    /// another user's index before they do.
    pub fn derive(secret: &[u8], name: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(secret)
            .chain_update([0])
            .chain_update(name.as_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self::new_v4(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses an `automerge:<id>` URL, ignoring a `#heads` suffix, or a bare id.
    pub fn from_url(url: &str) -> Result<Self, DocumentIdError> {
        let id = url.strip_prefix("automerge:").unwrap_or(url);
        let id = id.split_once('#').map_or(id, |(id, _)| id);
        id.parse()
    }

    /// The `automerge:<id>` URL.
    pub fn to_url(&self) -> String {
        format!("automerge:{self}")
    }
}

/// base58check's checksum: the first 4 bytes of SHA-256 applied twice. Written here rather than
/// through bs58's `check` feature, which brings a second major version of sha2 (the one Automerge
/// uses is already linked): 2 KB of the browser package's brotli wasm.
fn checksum(payload: &[u8]) -> [u8; 4] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(Sha256::digest(payload));
    [digest[0], digest[1], digest[2], digest[3]]
}

/// `payload` followed by its checksum, in base58.
fn encode_check(payload: &[u8]) -> String {
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&checksum(payload));
    bs58::encode(bytes).into_string()
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_check(&self.0))
    }
}

impl FromStr for DocumentId {
    type Err = DocumentIdError;
    fn from_str(s: &str) -> Result<Self, DocumentIdError> {
        let not_base58check = || DocumentIdError::NotBase58Check(s.chars().take(64).collect());
        let mut bytes = bs58::decode(s).into_vec().map_err(|_| not_base58check())?;
        let Some(split) = bytes.len().checked_sub(4) else {
            return Err(not_base58check());
        };
        if bytes[split..] != checksum(&bytes[..split]) {
            return Err(not_base58check());
        }
        bytes.truncate(split);
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| DocumentIdError::WrongLength(b.len()))?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn ids_captured_from_automerge_repo_parse_and_print_back() {
        for id in [
            "bQsq314HiQ6Sk4sLcK1zrchCxv7",
            "J3YfJCkkstS83TAC8ixWYBpsJds",
            "3QvbdebKHwfmYNJE8J7Ffked2ECr",
        ] {
            let parsed: DocumentId = id.parse().unwrap();
            assert_eq!(parsed.to_string(), id);
            assert_eq!(
                DocumentId::from_url(&format!("automerge:{id}#abc|def")).unwrap(),
                parsed
            );
        }
    }

    #[test]
    fn new_ids_are_uuid_v4_shaped_as_automerge_repo_requires() {
        let id = DocumentId::new_v4([0xff; 16]);
        assert_eq!(id.as_bytes()[6] >> 4, 4);
        assert_eq!(id.as_bytes()[8] >> 6, 0b10);
        let derived = DocumentId::derive(b"s", "alice");
        assert_eq!(derived.as_bytes()[6] >> 4, 4);
    }

    #[test]
    fn derived_ids_depend_on_both_the_secret_and_the_name() {
        let a = DocumentId::derive(b"s1", "alice");
        assert_eq!(a, DocumentId::derive(b"s1", "alice"));
        assert_ne!(a, DocumentId::derive(b"s2", "alice"));
        assert_ne!(a, DocumentId::derive(b"s1", "bob"));
        assert_eq!(a.to_string().parse::<DocumentId>().unwrap(), a);
    }

    #[test]
    fn bad_checksums_and_lengths_are_refused() {
        let good = DocumentId::from_bytes([7; 16]).to_string();
        let mut bad = good.clone().into_bytes();
        bad[3] = if bad[3] == b'2' { b'3' } else { b'2' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(matches!(
            bad.parse::<DocumentId>(),
            Err(DocumentIdError::NotBase58Check(_))
        ));
        let short = encode_check(&[1u8; 8]);
        assert_eq!(
            short.parse::<DocumentId>(),
            Err(DocumentIdError::WrongLength(8))
        );
        assert!("0OIl".parse::<DocumentId>().is_err());
        // Shorter than a checksum, and the empty string.
        assert!(matches!(
            "2g".parse::<DocumentId>(),
            Err(DocumentIdError::NotBase58Check(_))
        ));
        assert!(matches!(
            "".parse::<DocumentId>(),
            Err(DocumentIdError::NotBase58Check(_))
        ));
    }

    #[test]
    fn the_checksum_is_base58checks() {
        // Bitcoin's base58check of a version-0 address payload (a known test vector).
        let payload = [
            0x00, 0x01, 0x09, 0x66, 0x77, 0x60, 0x06, 0x95, 0x3d, 0x55, 0x67, 0x43, 0x9e, 0x5e,
            0x39, 0xf8, 0x6a, 0x0d, 0x27, 0x3b, 0xee,
        ];
        assert_eq!(encode_check(&payload), "16UwLL9Risc3QfPqBUvKofHmBQ7wMtjvM");
    }
}
