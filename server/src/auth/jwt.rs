//! Checking signed JWTs: the token's algorithm picks its one key source — HS256 the secret, RS256
//! and ES256 the PEM key or the JWKS (by `kid`) — and then [`TokenRules`] check its claims.

use std::time::{Duration, SystemTime};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};

use super::{
    AuthError, JwksConfig, JwksSetupError, JwksSource, KeyError, KeyLookupError, PublicKey,
    TokenRules, Verified,
};

/// Checks signed JWTs: HS256 with the secret, RS256 / ES256 with the public key or the JWKS.
pub struct JwtAuth {
    secret: Option<Secret>,
    public: Option<PublicKeys>,
    rules: TokenRules,
}

impl std::fmt::Debug for JwtAuth {
    /// Which keys and rules, for the start-up log; never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let public = match &self.public {
            Some(PublicKeys::Pem(key)) => format!("{:?} key from PEM", key.alg),
            Some(PublicKeys::Jwks(jwks)) => format!("JWKS {}", jwks.url()),
            None => "none".into(),
        };
        f.debug_struct("JwtAuth")
            .field("hs256", &self.secret.is_some())
            .field("public", &public)
            .field("rules", &self.rules)
            .finish()
    }
}

struct Secret {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

enum PublicKeys {
    /// One key from a PEM file; a token's `kid` is not consulted.
    Pem(PublicKey),
    /// The provider's JWKS.
    Jwks(JwksSource),
}

/// What [`super::Auth::from_config`] builds a [`JwtAuth`] from.
#[derive(Debug, Clone, Default)]
pub struct JwtConfig {
    /// The HS256 secret, if HS256 tokens are accepted (and `issue` signs with it).
    pub secret: Option<Vec<u8>>,
    /// A PEM public key (RSA → RS256, EC P-256 → ES256) or certificate.
    pub public_key_pem: Option<Vec<u8>>,
    /// Where to fetch the provider's JWKS.
    pub jwks: Option<JwksConfig>,
    /// The claims every token must pass.
    pub rules: TokenRules,
}

/// Why a [`JwtConfig`] cannot check tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthSetupError {
    /// Neither a secret, a public key nor a JWKS URL.
    #[error("no key to check tokens with")]
    NoKey,
    /// A PEM key and a JWKS URL: which one signs is ambiguous.
    #[error("give either a public key file or a JWKS URL, not both")]
    TwoPublicKeySources,
    /// The PEM text is not a usable public key.
    #[error("the public key: {0}")]
    PublicKey(#[from] KeyError),
    /// The JWKS source cannot be set up.
    #[error(transparent)]
    Jwks(#[from] JwksSetupError),
    /// The user claim is empty.
    #[error("the user id claim must be named")]
    NoUserClaim,
}

impl JwtAuth {
    /// HS256 with `secret` and the default rules.
    pub(super) fn hs256(secret: &[u8]) -> Self {
        Self {
            secret: Some(Secret::new(secret)),
            public: None,
            rules: TokenRules::default(),
        }
    }

    /// As `config` says.
    pub(super) fn new(config: JwtConfig) -> Result<Self, AuthSetupError> {
        if config.rules.user_claim.is_empty() {
            return Err(AuthSetupError::NoUserClaim);
        }
        let public = match (config.public_key_pem, config.jwks) {
            (Some(_), Some(_)) => return Err(AuthSetupError::TwoPublicKeySources),
            (Some(pem), None) => Some(PublicKeys::Pem(PublicKey::from_pem(&pem)?)),
            (None, Some(jwks)) => Some(PublicKeys::Jwks(JwksSource::new(jwks)?)),
            (None, None) => None,
        };
        let secret = config.secret.as_deref().map(Secret::new);
        if secret.is_none() && public.is_none() {
            return Err(AuthSetupError::NoKey);
        }
        Ok(Self {
            secret,
            public,
            rules: config.rules,
        })
    }

    /// Fetches the JWKS now, if there is one.
    pub(super) async fn prefetch_keys(&self) -> Option<Result<usize, AuthError>> {
        match &self.public {
            Some(PublicKeys::Jwks(jwks)) => {
                Some(jwks.prefetch().await.map_err(|e| lookup_error(e, None)))
            }
            _ => None,
        }
    }

    /// An HS256 token for `user`, if there is a secret.
    pub(super) fn sign(&self, user: &str, ttl: Duration, now: SystemTime) -> Option<String> {
        let secret = self.secret.as_ref()?;
        let claims = self.rules.claims_for(user, TokenRules::expiry(ttl, now));
        // HS256 over a small JSON object cannot fail.
        Some(
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &secret.encoding)
                .expect("HS256 signing"),
        )
    }
}

impl Secret {
    fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }
}

/// Which key checks a token.
enum Signer<'a> {
    Key(&'a DecodingKey),
    Jwks(&'a JwksSource),
}

impl JwtAuth {
    /// The claims every token must pass.
    pub fn rules(&self) -> &TokenRules {
        &self.rules
    }

    pub(super) fn verify_cached(&self, token: &str) -> Result<Verified, AuthError> {
        let (alg, kid) = header(token)?;
        match self.signer(alg)? {
            Signer::Key(key) => self.rules.check(token, alg, key),
            Signer::Jwks(jwks) => {
                let key = jwks
                    .cached(kid.as_deref(), alg)
                    .map_err(|e| lookup_error(e, kid))?;
                self.rules.check(token, alg, &key.key)
            }
        }
    }

    pub(super) async fn verify_fetching(&self, token: &str) -> Result<Verified, AuthError> {
        let (alg, kid) = header(token)?;
        match self.signer(alg)? {
            Signer::Key(key) => self.rules.check(token, alg, key),
            Signer::Jwks(jwks) => {
                let key = jwks
                    .key(kid.as_deref(), alg)
                    .await
                    .map_err(|e| lookup_error(e, kid))?;
                self.rules.check(token, alg, &key.key)
            }
        }
    }

    /// The key for tokens signed with `alg`. Each algorithm has exactly one source, so a token
    /// cannot pick a weaker check (e.g. HS256 with a public key as the secret).
    fn signer(&self, alg: Algorithm) -> Result<Signer<'_>, AuthError> {
        match alg {
            Algorithm::HS256 => match &self.secret {
                Some(secret) => Ok(Signer::Key(&secret.decoding)),
                None => Err(AuthError::Invalid("HS256 tokens are not accepted".into())),
            },
            Algorithm::RS256 | Algorithm::ES256 => match &self.public {
                Some(PublicKeys::Pem(key)) if key.alg == alg => Ok(Signer::Key(&key.key)),
                Some(PublicKeys::Pem(key)) => Err(AuthError::Invalid(format!(
                    "the token is signed with {alg:?}, the configured public key verifies {:?}",
                    key.alg
                ))),
                Some(PublicKeys::Jwks(jwks)) => Ok(Signer::Jwks(jwks)),
                None => Err(AuthError::Invalid(format!(
                    "{alg:?} tokens are not accepted (no public key or JWKS URL is configured)"
                ))),
            },
            other => Err(AuthError::Invalid(format!(
                "{other:?} tokens are not accepted"
            ))),
        }
    }
}

/// The token's algorithm and `kid`, read before its signature is checked (to pick the key).
fn header(token: &str) -> Result<(Algorithm, Option<String>), AuthError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
    Ok((header.alg, header.kid))
}

fn lookup_error(error: KeyLookupError, kid: Option<String>) -> AuthError {
    match error {
        KeyLookupError::Unknown => AuthError::UnknownKey { kid },
        KeyLookupError::Unavailable(reason) => AuthError::KeysUnavailable(reason),
    }
}
