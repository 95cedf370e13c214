//! Who is connecting. A token is a JWT signed with HS256 (a shared secret: the app backend mints
//! it), or with RS256 / ES256 by an identity provider (Clerk, Auth0, Supabase, Firebase, …) whose
//! public keys come from a PEM file or its JWKS URL. Whoever signed it, the same [`TokenRules`]
//! apply: `exp` required and `nbf` honoured within a small leeway, the issuer and audience checked
//! when configured, the user id read from a configured claim (`sub` by default). For local
//! development only, a token may simply be the user id.
//!
//! - [`JwtAuth`]: which key checks a token, by its algorithm and `kid`.
//! - [`keys`]: public keys from PEM and JWKS documents.
//! - [`jwks`]: the JWKS fetched, cached and refetched for unknown `kid`s within a budget.
//! - [`rules`]: the claims every token must pass.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

mod fetch_budget;
pub mod jwks;
mod jwt;
pub mod keys;
pub mod rules;

pub use jwks::{JwksConfig, JwksSetupError, JwksSource, KeyLookupError};
pub use jwt::{AuthSetupError, JwtAuth, JwtConfig};
pub use keys::{KeyError, KeySet, PublicKey};
pub use rules::{DEFAULT_LEEWAY, DEFAULT_USER_CLAIM, TokenRules};

/// The longest user id accepted (it is stored with every document).
const MAX_USER_LEN: usize = 256;

/// How tokens are checked. Cheap to clone (shared).
#[derive(Clone)]
pub enum Auth {
    /// Signed JWTs, checked as [`JwtAuth`] says.
    Jwt(Arc<JwtAuth>),
    /// The token is the user id. Only for a relay bound to loopback.
    InsecureDev,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Jwt(jwt) => write!(f, "Auth::Jwt({jwt:?})"),
            Self::InsecureDev => f.write_str("Auth::InsecureDev"),
        }
    }
}

/// Why a token was refused. Clients get only "unauthorized" (or, for
/// [`AuthError::KeysUnavailable`], "try again later"); the reason is logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No token was given.
    #[error("no token")]
    Missing,
    /// The token is malformed, badly signed, expired, not yet valid, from another issuer or for
    /// another audience, or uses an algorithm this relay does not accept.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The user id is empty or too long.
    #[error("unusable user id")]
    BadUser,
    /// The token names a signing key (`kid`) the provider does not publish.
    #[error("the token is signed with an unknown key (kid {kid:?})")]
    UnknownKey {
        /// The token's `kid`, if it has one.
        kid: Option<String>,
    },
    /// The provider's keys could not be fetched, so the token cannot be checked now. Not the
    /// caller's fault: answered 503.
    #[error("the identity provider's keys are unavailable: {0}")]
    KeysUnavailable(String),
    /// The claim that should name the user is missing or not a string.
    #[error("the token has no string `{claim}` claim naming the user")]
    UserClaim {
        /// The configured claim.
        claim: String,
    },
}

impl AuthError {
    /// Whether the refusal is the relay's (its identity provider is unreachable), not the token's:
    /// the client should try again later rather than sign in again.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::KeysUnavailable(_))
    }
}

/// Who a valid token names, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The user id (the token's `sub`, or the configured claim).
    pub user: String,
    /// When the token expires (its `exp`); `None` for development auth, whose tokens never do. A
    /// WebSocket opened with the token is closed then (code 4001), so a revoked or leaked token stops
    /// working within its lifetime even on a socket that never reconnects.
    pub expires_at: Option<SystemTime>,
}

impl Auth {
    /// HS256 auth with `secret` and the default [`TokenRules`].
    pub fn jwt(secret: &[u8]) -> Self {
        Self::Jwt(Arc::new(JwtAuth::hs256(secret)))
    }

    /// JWT auth as `config` says.
    pub fn from_config(config: JwtConfig) -> Result<Self, AuthSetupError> {
        Ok(Self::Jwt(Arc::new(JwtAuth::new(config)?)))
    }

    /// The user a token names, and when it expires, using only keys already at hand: a token
    /// signed by a JWKS key not (yet) cached is refused, and a refetch starts in the background.
    /// Handlers use [`Auth::authenticate`], which waits for that refetch.
    pub fn verify(&self, token: Option<&str>) -> Result<Verified, AuthError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(AuthError::Missing)?;
        let verified = match self {
            Self::InsecureDev => Verified {
                user: token.to_owned(),
                expires_at: None,
            },
            Self::Jwt(jwt) => jwt.verify_cached(token)?,
        };
        usable(verified)
    }

    /// [`Auth::verify`], but a token signed by a key the JWKS cache does not hold makes the relay
    /// fetch the JWKS again (within its budget) and waits for that fetch (bounded by its timeout).
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Verified, AuthError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(AuthError::Missing)?;
        let verified = match self {
            Self::InsecureDev => Verified {
                user: token.to_owned(),
                expires_at: None,
            },
            Self::Jwt(jwt) => jwt.verify_fetching(token).await?,
        };
        usable(verified)
    }

    /// Fetches the JWKS now, if there is one, so the first users do not wait for it. Returns how
    /// many usable keys it has.
    pub async fn prefetch_keys(&self) -> Option<Result<usize, AuthError>> {
        match self {
            Self::Jwt(jwt) => jwt.prefetch_keys().await,
            Self::InsecureDev => None,
        }
    }

    /// A token for `user`, valid for `ttl` from `now`, signed with the HS256 secret (carrying the
    /// configured issuer, first audience and user claim). With dev auth, the user id itself. `None`
    /// if there is no secret to sign with (public-key auth only).
    pub fn try_issue(&self, user: &str, ttl: Duration, now: SystemTime) -> Option<String> {
        match self {
            Self::InsecureDev => Some(user.to_owned()),
            Self::Jwt(jwt) => jwt.sign(user, ttl, now),
        }
    }

    /// [`Auth::try_issue`] for auth that has a secret (or dev auth).
    ///
    /// # Panics
    /// If this auth checks public-key tokens only: it has nothing to sign with.
    pub fn issue(&self, user: &str, ttl: Duration, now: SystemTime) -> String {
        self.try_issue(user, ttl, now)
            .expect("issuing a token needs the HS256 secret")
    }
}

/// Refuses user ids that are empty or too long to store.
fn usable(verified: Verified) -> Result<Verified, AuthError> {
    if verified.user.is_empty() || verified.user.len() > MAX_USER_LEN {
        return Err(AuthError::BadUser);
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use std::time::UNIX_EPOCH;

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
