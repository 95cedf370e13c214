//! The rules every token passes, whoever signed it: a PEM key, issuer, audience, `exp`, `nbf`, the
//! user claim, and HS256 beside a provider.

use std::time::{Duration, SystemTime};

use chatsync_relay::auth::{Auth, AuthError, JwtConfig, TokenRules};
use chatsync_relay::config::{Cli, Command};
use clap::Parser;
use serde_json::json;

use crate::support::*;

/// Auth with `key`'s public half as a PEM key and the provider's rules.
fn pem_auth(key: &SigningKey, rules: TokenRules) -> Auth {
    Auth::from_config(JwtConfig {
        public_key_pem: Some(key.public_pem.clone().into_bytes()),
        rules,
        ..JwtConfig::default()
    })
    .expect("PEM auth")
}

#[test]
fn a_pem_key_file_checks_rs256_and_es256_tokens_through_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    for key in [SigningKey::rsa("ignored", 0), SigningKey::p256("ignored")] {
        let path = dir.path().join("key.pem");
        std::fs::write(&path, &key.public_pem).unwrap();
        let cli = Cli::parse_from([
            "chatsync-relay".as_ref(),
            "serve".as_ref(),
            "--jwt-public-key".as_ref(),
            path.as_os_str(),
            "--jwt-issuer".as_ref(),
            ISSUER.as_ref(),
            "--jwt-audience".as_ref(),
            AUDIENCE.as_ref(),
        ]);
        let Command::Serve(serve) = cli.command else {
            panic!("serve")
        };
        let auth = serve.auth.auth(None).expect("PEM auth");
        // A PEM key has no kid: whatever the token's header says, the one key checks it.
        let verified = auth.verify(Some(&key.sign(&claims("alice")))).unwrap();
        assert_eq!(verified.user, "alice", "{:?}", key.alg);
        let other = if key.alg == jsonwebtoken::Algorithm::RS256 {
            SigningKey::rsa("other", 1)
        } else {
            SigningKey::p256("other")
        };
        assert!(matches!(
            auth.verify(Some(&other.sign(&claims("alice")))),
            Err(AuthError::Invalid(_))
        ));
    }
}

#[test]
fn an_rsa_key_does_not_check_es256_tokens_nor_hs256_ones_made_from_it() {
    let rsa = SigningKey::rsa("r", 0);
    let auth = pem_auth(&rsa, provider_rules());
    let es256 = SigningKey::p256("e").sign(&claims("alice"));
    assert!(matches!(
        auth.verify(Some(&es256)),
        Err(AuthError::Invalid(_))
    ));
    // The classic confusion: HS256 with the public key as the secret.
    let confused = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims("alice"),
        &jsonwebtoken::EncodingKey::from_secret(rsa.public_pem.as_bytes()),
    )
    .unwrap();
    assert!(matches!(
        auth.verify(Some(&confused)),
        Err(AuthError::Invalid(_))
    ));
}

#[test]
fn the_wrong_issuer_or_audience_is_refused_when_they_are_set() {
    let key = SigningKey::p256("k");
    let auth = pem_auth(&key, provider_rules());
    for changes in [
        json!({ "iss": "https://someone-else.test/" }),
        json!({ "iss": null }),
        json!({ "aud": "another-app" }),
        json!({ "aud": null }),
    ] {
        let token = key.sign(&with(claims("alice"), changes.clone()));
        assert!(
            matches!(auth.verify(Some(&token)), Err(AuthError::Invalid(_))),
            "{changes}"
        );
    }
    // An audience list naming ours is fine.
    let listed = key.sign(&with(
        claims("alice"),
        json!({ "aud": ["other", AUDIENCE] }),
    ));
    assert_eq!(auth.verify(Some(&listed)).unwrap().user, "alice");
    // Without configured issuer and audience, neither is looked at.
    let lax = pem_auth(&key, TokenRules::default());
    let foreign = key.sign(&with(
        claims("alice"),
        json!({ "iss": "https://anyone.test/", "aud": "anything" }),
    ));
    assert_eq!(lax.verify(Some(&foreign)).unwrap().user, "alice");
}

#[test]
fn an_expired_token_is_refused_beyond_the_leeway() {
    let key = SigningKey::rsa("k", 0);
    let auth = pem_auth(&key, provider_rules());
    let now = unix_now();
    let expired = key.sign(&with(claims("alice"), json!({ "exp": now - 60 })));
    assert!(matches!(
        auth.verify(Some(&expired)),
        Err(AuthError::Invalid(reason)) if reason.contains("Expired")
    ));
    // Within the default 5 s leeway (clock skew), still accepted.
    let just = key.sign(&with(claims("alice"), json!({ "exp": now - 2 })));
    assert!(auth.verify(Some(&just)).is_ok());
    let strict = pem_auth(
        &key,
        TokenRules {
            leeway: Duration::ZERO,
            ..provider_rules()
        },
    );
    assert!(strict.verify(Some(&just)).is_err());
    let no_exp = key.sign(&with(claims("alice"), json!({ "exp": null })));
    assert!(matches!(
        auth.verify(Some(&no_exp)),
        Err(AuthError::Invalid(_))
    ));
}

#[test]
fn a_token_not_yet_valid_is_refused() {
    let key = SigningKey::p256("k");
    let auth = pem_auth(&key, provider_rules());
    let now = unix_now();
    let early = key.sign(&with(claims("alice"), json!({ "nbf": now + 60 })));
    assert!(matches!(
        auth.verify(Some(&early)),
        Err(AuthError::Invalid(reason)) if reason.contains("NotValidYet") || reason.contains("Immature")
    ));
    let valid = key.sign(&with(claims("alice"), json!({ "nbf": now - 1 })));
    assert_eq!(auth.verify(Some(&valid)).unwrap().user, "alice");
}

#[test]
fn a_configured_user_claim_names_the_user_and_its_absence_is_refused() {
    let key = SigningKey::rsa("k", 0);
    let rules = TokenRules {
        user_claim: "user_id".into(),
        ..provider_rules()
    };
    let auth = pem_auth(&key, rules);
    let token = key.sign(&with(
        claims("provider-subject"),
        json!({ "user_id": "alice" }),
    ));
    assert_eq!(auth.verify(Some(&token)).unwrap().user, "alice");
    let missing = key.sign(&claims("provider-subject"));
    assert_eq!(
        auth.verify(Some(&missing)),
        Err(AuthError::UserClaim {
            claim: "user_id".into()
        })
    );
    let not_a_string = key.sign(&with(claims("x"), json!({ "user_id": 42 })));
    assert_eq!(
        auth.verify(Some(&not_a_string)),
        Err(AuthError::UserClaim {
            claim: "user_id".into()
        })
    );
    // The default claim is `sub`, and a token without one is refused the same way.
    let default = pem_auth(&key, provider_rules());
    let no_sub = key.sign(&with(claims("x"), json!({ "sub": null })));
    assert_eq!(
        default.verify(Some(&no_sub)),
        Err(AuthError::UserClaim {
            claim: "sub".into()
        })
    );
    let empty = key.sign(&with(claims("x"), json!({ "sub": "" })));
    assert_eq!(default.verify(Some(&empty)), Err(AuthError::BadUser));
}

#[tokio::test]
async fn hs256_tokens_keep_working_beside_a_provider() {
    let key = SigningKey::rsa("k", 0);
    let provider = Provider::start(&[&key]).await;
    let auth = Auth::from_config(JwtConfig {
        secret: Some(b"backend-secret-0123456789".to_vec()),
        jwks: Some(jwks_config(&provider.url())),
        rules: provider_rules(),
        ..JwtConfig::default()
    })
    .unwrap();
    // Tokens the relay issues carry the configured issuer and audience.
    let hs256 = auth.issue("backend-user", Duration::from_secs(60), SystemTime::now());
    let verified = auth.authenticate(Some(&hs256)).await.unwrap();
    assert_eq!(verified.user, "backend-user");
    let rs256 = key.sign(&claims("provider-user"));
    assert_eq!(
        auth.authenticate(Some(&rs256)).await.unwrap().user,
        "provider-user"
    );
    // The plain HS256 auth of before is unchanged.
    let plain = Auth::jwt(b"backend-secret-0123456789");
    let token = plain.issue("alice", Duration::from_secs(60), SystemTime::now());
    assert_eq!(plain.verify(Some(&token)).unwrap().user, "alice");
    // A relay with only a provider accepts no HS256 token, and cannot issue one.
    let provider_only = jwks_auth(jwks_config(&provider.url()), provider_rules());
    assert!(matches!(
        provider_only.authenticate(Some(&hs256)).await,
        Err(AuthError::Invalid(_))
    ));
    assert_eq!(
        provider_only.try_issue("alice", Duration::from_secs(60), SystemTime::now()),
        None
    );
}
