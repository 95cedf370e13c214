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

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl FromStr for DocumentId {
    type Err = DocumentIdError;
    fn from_str(s: &str) -> Result<Self, DocumentIdError> {
        let bytes = bs58::decode(s)
            .with_check(None)
            .into_vec()
            .map_err(|_| DocumentIdError::NotBase58Check(s.chars().take(64).collect()))?;
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
        let short = bs58::encode([1u8; 8]).with_check().into_string();
        assert_eq!(
            short.parse::<DocumentId>(),
            Err(DocumentIdError::WrongLength(8))
        );
        assert!("0OIl".parse::<DocumentId>().is_err());
    }
}
