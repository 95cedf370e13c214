//! Who is connecting: HS256 JWTs whose `sub` is the user id, or — for local development only — a token
//! that simply is the user id.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The longest user id accepted (it is stored with every document).
const MAX_USER_LEN: usize = 256;

/// How tokens are checked.
#[derive(Clone)]
pub enum Auth {
    /// HS256 with this secret; `exp` enforced.
    Jwt {
        /// Signs tokens.
        encoding: EncodingKey,
        /// Checks them.
        decoding: DecodingKey,
    },
    /// The token is the user id. Only for a relay bound to loopback.
    InsecureDev,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.write_str(match self {
            Self::Jwt { .. } => "Auth::Jwt",
            Self::InsecureDev => "Auth::InsecureDev",
        })
    }
}

/// Why a token was refused. Clients get only "unauthorized"; the reason is logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No token was given.
    #[error("no token")]
    Missing,
    /// The token is not a valid, unexpired HS256 JWT signed with our secret.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The user id is empty or too long.
    #[error("unusable user id")]
    BadUser,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

/// Who a valid token names, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The user id (the token's `sub`).
    pub user: String,
    /// When the token expires (its `exp`); `None` for development auth, whose tokens never do. A
    /// WebSocket opened with the token is closed then (code 4001), so a revoked or leaked token stops
    /// working within its lifetime even on a socket that never reconnects.
    pub expires_at: Option<SystemTime>,
}

impl Auth {
    /// JWT auth with `secret`.
    pub fn jwt(secret: &[u8]) -> Self {
        Self::Jwt {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// The user a token names, and when it expires. A JWT must carry `exp` and `sub`, be unexpired,
    /// and — if it has `nbf` — already be valid.
    pub fn verify(&self, token: Option<&str>) -> Result<Verified, AuthError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(AuthError::Missing)?;
        let verified = match self {
            Self::InsecureDev => Verified {
                user: token.to_owned(),
                expires_at: None,
            },
            Self::Jwt { decoding, .. } => {
                let mut validation = Validation::new(Algorithm::HS256);
                validation.leeway = 0;
                validation.validate_nbf = true;
                validation.set_required_spec_claims(&["exp", "sub"]);
                let claims = jsonwebtoken::decode::<Claims>(token, decoding, &validation)
                    .map_err(|e| AuthError::Invalid(e.to_string()))?
                    .claims;
                Verified {
                    user: claims.sub,
                    expires_at: UNIX_EPOCH.checked_add(Duration::from_secs(claims.exp)),
                }
            }
        };
        if verified.user.is_empty() || verified.user.len() > MAX_USER_LEN {
            return Err(AuthError::BadUser);
        }
        Ok(verified)
    }

    /// A token for `user`, valid for `ttl` from `now`. With dev auth, the user id itself.
    pub fn issue(&self, user: &str, ttl: Duration, now: SystemTime) -> String {
        match self {
            Self::InsecureDev => user.to_owned(),
            Self::Jwt { encoding, .. } => {
                let exp = now
                    .checked_add(ttl)
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(u64::MAX, |d| d.as_secs());
                let claims = Claims {
                    sub: user.to_owned(),
                    exp,
                };
                // HS256 over a small JSON object cannot fail.
                jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, encoding)
                    .expect("HS256 signing")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_token_issued_with_the_secret_names_its_user() {
        let auth = Auth::jwt(b"secret");
        let token = auth.issue("alice", HOUR, SystemTime::now());
        let verified = auth.verify(Some(&token)).unwrap();
        assert_eq!(verified.user, "alice");
        let expires_at = verified.expires_at.expect("a JWT expires");
        let left = expires_at.duration_since(SystemTime::now()).unwrap();
        assert!(
            left > HOUR - Duration::from_secs(5) && left <= HOUR,
            "{left:?}"
        );
    }

    /// A token signed now with `claims` (a JSON object), for claims `issue` never writes.
    fn signed(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap()
    }

    fn unix_now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn a_token_not_yet_valid_is_refused() {
        let auth = Auth::jwt(b"secret");
        let now = unix_now();
        let early =
            signed(serde_json::json!({ "sub": "alice", "exp": now + 3600, "nbf": now + 600 }));
        assert!(matches!(
            auth.verify(Some(&early)),
            Err(AuthError::Invalid(_))
        ));
        let valid =
            signed(serde_json::json!({ "sub": "alice", "exp": now + 3600, "nbf": now - 1 }));
        assert_eq!(auth.verify(Some(&valid)).unwrap().user, "alice");
        let no_exp = signed(serde_json::json!({ "sub": "alice" }));
        assert!(matches!(
            auth.verify(Some(&no_exp)),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn expired_forged_unsigned_and_missing_tokens_are_refused() {
        let auth = Auth::jwt(b"secret");
        let expired = auth.issue("alice", HOUR, SystemTime::now() - 2 * HOUR);
        assert!(matches!(
            auth.verify(Some(&expired)),
            Err(AuthError::Invalid(_))
        ));
        let forged = Auth::jwt(b"other").issue("alice", HOUR, SystemTime::now());
        assert!(matches!(
            auth.verify(Some(&forged)),
            Err(AuthError::Invalid(_))
        ));
        // {"alg":"none"} . {"sub":"alice","exp":<far future>} . (no signature)
        let none =
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.";
        assert!(matches!(
            auth.verify(Some(none)),
            Err(AuthError::Invalid(_))
        ));
        assert_eq!(auth.verify(None), Err(AuthError::Missing));
        assert_eq!(auth.verify(Some("")), Err(AuthError::Missing));
        assert!(matches!(
            auth.verify(Some("garbage")),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn dev_auth_takes_the_token_as_the_user() {
        assert_eq!(
            Auth::InsecureDev.verify(Some("bob")).unwrap(),
            Verified {
                user: "bob".into(),
                expires_at: None
            }
        );
        let long = "x".repeat(MAX_USER_LEN + 1);
        assert_eq!(
            Auth::InsecureDev.verify(Some(&long)),
            Err(AuthError::BadUser)
        );
    }
}
