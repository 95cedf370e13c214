//! What a signed token must say, whoever signed it: unexpired (`exp` required), already valid
//! (`nbf`, when present), from the configured issuer and for the configured audience (when set), and
//! naming its user in the configured claim.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::{AuthError, Verified};

/// The claim that names the user unless configured otherwise.
pub const DEFAULT_USER_CLAIM: &str = "sub";

/// The clock skew tolerated on `exp` and `nbf` unless configured otherwise. jsonwebtoken's own
/// default is 60 s, which would keep a token alive a minute past its expiry (Clerk's session tokens
/// live only 60 s); a few seconds cover the skew between NTP-synced clocks.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);

/// The checks every token passes after its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRules {
    /// The `iss` a token must carry, if set.
    pub issuer: Option<String>,
    /// The `aud` values accepted (a token must name one of them), if any are set.
    pub audience: Vec<String>,
    /// The claim holding the user id (a string).
    pub user_claim: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
}

impl Default for TokenRules {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: Vec::new(),
            user_claim: DEFAULT_USER_CLAIM.to_owned(),
            leeway: DEFAULT_LEEWAY,
        }
    }
}

impl TokenRules {
    /// The token's user and expiry, if `key` signed it with `alg` and its claims pass.
    pub fn check(
        &self,
        token: &str,
        alg: Algorithm,
        key: &DecodingKey,
    ) -> Result<Verified, AuthError> {
        let mut validation = Validation::new(alg);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        if self.audience.is_empty() {
            // Provider tokens carry an `aud` (Firebase's project, Supabase's "authenticated"):
            // without a configured audience there is nothing to compare it with.
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.audience);
            validation.required_spec_claims.insert("aud".into());
        }
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?
            .claims;
        let user = match claims.get(&self.user_claim) {
            Some(Value::String(user)) => user.clone(),
            _ => {
                return Err(AuthError::UserClaim {
                    claim: self.user_claim.clone(),
                });
            }
        };
        // `exp` was validated as a number of seconds, which may have a fraction (a NumericDate).
        // One past what SystemTime can hold counts as never, as before.
        let exp = claims.get("exp").and_then(|exp| match exp.as_u64() {
            Some(seconds) => Some(Duration::from_secs(seconds)),
            None => exp
                .as_f64()
                .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok()),
        });
        Ok(Verified {
            user,
            expires_at: exp.and_then(|d| UNIX_EPOCH.checked_add(d)),
        })
    }

    /// The claims of a token `issue` signs: these rules' user claim, issuer and first audience.
    pub fn claims_for(&self, user: &str, exp: u64) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert(self.user_claim.clone(), Value::from(user));
        claims.insert("exp".into(), Value::from(exp));
        if let Some(issuer) = &self.issuer {
            claims.insert("iss".into(), Value::from(issuer.as_str()));
        }
        if let Some(audience) = self.audience.first() {
            claims.insert("aud".into(), Value::from(audience.as_str()));
        }
        claims
    }

    /// Seconds since the epoch of `now + ttl` (saturating).
    pub fn expiry(ttl: Duration, now: SystemTime) -> u64 {
        now.checked_add(ttl)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(u64::MAX, |d| d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    fn hs256(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap()
    }

    #[test]
    fn exp_names_the_expiry_even_with_a_fraction() {
        let rules = TokenRules::default();
        let key = DecodingKey::from_secret(b"secret");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let token = hs256(serde_json::json!({ "sub": "a", "exp": now + 100 }));
        let verified = rules.check(&token, Algorithm::HS256, &key).unwrap();
        assert_eq!(
            verified.expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(now + 100))
        );
        let fractional = hs256(serde_json::json!({ "sub": "a", "exp": now as f64 + 100.5 }));
        let verified = rules.check(&fractional, Algorithm::HS256, &key).unwrap();
        assert_eq!(
            verified.expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(now + 100) + Duration::from_millis(500))
        );
        let textual = hs256(serde_json::json!({ "sub": "a", "exp": "soon" }));
        assert!(rules.check(&textual, Algorithm::HS256, &key).is_err());
    }
}
