//! Public keys that sign users' tokens: one from a PEM file, or a set from a JWKS document. Only
//! RS256 (RSA) and ES256 (P-256) keys are kept — never a symmetric (`oct`) key, which would let anyone
//! who can read the public JWKS sign tokens.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// One verification key.
#[derive(Clone)]
pub struct PublicKey {
    /// Its `kid`, if it has one.
    pub kid: Option<String>,
    /// The one algorithm it verifies (RS256 or ES256).
    pub alg: Algorithm,
    /// The key.
    pub key: DecodingKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({:?}, kid {:?})", self.alg, self.kid)
    }
}

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text holds neither an RSA nor an EC public key (or certificate).
    #[error("not a PEM-encoded RSA or EC (P-256) public key or certificate")]
    NotAPublicKey,
    /// The JWKS document is not JSON with a `keys` array.
    #[error("not a JWKS document (a JSON object with a `keys` array): {0}")]
    NotAJwkSet(String),
    /// The JWKS document has no key this relay can use.
    #[error("the JWKS has no RS256 (RSA) or ES256 (P-256) signing key")]
    NoUsableKey,
}

impl PublicKey {
    /// The key in a PEM file: an RSA key verifies RS256, an EC key ES256. `PUBLIC KEY`,
    /// `RSA PUBLIC KEY` and `CERTIFICATE` blocks are read.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let (alg, key) = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            (Algorithm::RS256, key)
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            (Algorithm::ES256, key)
        } else {
            return Err(KeyError::NotAPublicKey);
        };
        Ok(Self {
            kid: None,
            alg,
            key,
        })
    }

    /// The key of `jwk`, if it is an RS256 or ES256 signing key.
    fn from_jwk(jwk: &Jwk) -> Option<Self> {
        if matches!(
            jwk.common.public_key_use,
            Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
        ) {
            return None;
        }
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => return None,
        };
        // A key that names another algorithm (RS512, say) is not used for this one.
        match jwk.common.key_algorithm {
            None => {}
            Some(KeyAlgorithm::RS256) if alg == Algorithm::RS256 => {}
            Some(KeyAlgorithm::ES256) if alg == Algorithm::ES256 => {}
            Some(_) => return None,
        }
        let key = DecodingKey::from_jwk(jwk).ok()?;
        Some(Self {
            kid: jwk.common.key_id.clone(),
            alg,
            key,
        })
    }
}

/// The usable keys of a JWKS document.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<PublicKey>,
}

impl KeySet {
    /// Reads a JWKS document. Keys this relay cannot use (encryption keys, other algorithms, entries
    /// it cannot parse) are skipped, so one odd entry does not cost every user their sign-in.
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, KeyError> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document =
            serde_json::from_slice(json).map_err(|e| KeyError::NotAJwkSet(e.to_string()))?;
        let keys: Vec<PublicKey> = document
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(|jwk| PublicKey::from_jwk(&jwk))
            .collect();
        if keys.is_empty() {
            return Err(KeyError::NoUsableKey);
        }
        Ok(Self { keys })
    }

    /// The key for a token whose header names `kid` and `alg`. A token without a `kid` may use the
    /// set's only key for its algorithm.
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<&PublicKey> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.alg == alg && k.kid.as_deref() == Some(kid)),
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.alg == alg);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_entries_are_skipped_and_a_set_without_usable_keys_is_refused() {
        // An HMAC key, an encryption key, an RS512 key, a P-384 key and garbage: none usable.
        let json = br#"{"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "h"},
            {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB", "kid": "e"},
            {"kty": "RSA", "alg": "RS512", "n": "AQAB", "e": "AQAB", "kid": "r5"},
            {"kty": "EC", "crv": "P-384", "x": "AQAB", "y": "AQAB", "kid": "p3"},
            {"what": "ever"}
        ]}"#;
        assert_eq!(
            KeySet::from_jwks_json(json).unwrap_err(),
            KeyError::NoUsableKey
        );
        let with_one = br#"{"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "h"},
            {"kty": "RSA", "use": "sig", "alg": "RS256", "n": "AQAB", "e": "AQAB", "kid": "r"}
        ]}"#;
        let set = KeySet::from_jwks_json(with_one).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.find(Some("r"), Algorithm::RS256).is_some());
        assert!(set.find(Some("r"), Algorithm::ES256).is_none());
        assert!(set.find(Some("h"), Algorithm::RS256).is_none());
        assert!(set.find(None, Algorithm::RS256).is_some());
        assert!(matches!(
            KeySet::from_jwks_json(b"<html>"),
            Err(KeyError::NotAJwkSet(_))
        ));
    }

    #[test]
    fn text_that_is_not_a_public_key_is_refused() {
        assert_eq!(
            PublicKey::from_pem(b"not a key").unwrap_err(),
            KeyError::NotAPublicKey
        );
    }
}
