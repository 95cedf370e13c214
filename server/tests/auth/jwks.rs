//! Keys from a JWKS: RS256 and ES256, rotation, unknown keys, a flood of them, a provider that is
//! down or hangs.

use std::time::{Duration, Instant, UNIX_EPOCH};

use chatsync_relay::auth::AuthError;

use crate::support::*;

#[tokio::test]
async fn an_rs256_token_is_checked_with_the_providers_jwks() {
    let key = SigningKey::rsa("rsa-1", 0);
    let provider = Provider::start(&[&key]).await;
    let auth = jwks_auth(jwks_config(&provider.url()), provider_rules());
    let claims = claims("alice");
    let verified = auth
        .authenticate(Some(&key.sign(&claims)))
        .await
        .expect("a valid RS256 token");
    assert_eq!(verified.user, "alice");
    let exp = claims["exp"].as_u64().unwrap();
    assert_eq!(
        verified.expires_at,
        Some(UNIX_EPOCH + Duration::from_secs(exp))
    );
    assert_eq!(provider.fetches(), 1);
    // Cached: the next token costs no fetch.
    auth.authenticate(Some(&key.sign(&claims))).await.unwrap();
    assert_eq!(provider.fetches(), 1);
}

#[tokio::test]
async fn an_es256_token_is_checked_with_the_providers_jwks() {
    let key = SigningKey::p256("ec-1");
    let provider = Provider::start(&[&key]).await;
    let auth = jwks_auth(jwks_config(&provider.url()), provider_rules());
    let verified = auth
        .authenticate(Some(&key.sign(&claims("bob"))))
        .await
        .expect("a valid ES256 token");
    assert_eq!(verified.user, "bob");
}

#[tokio::test]
async fn a_rotated_key_is_fetched_when_a_token_first_names_it() {
    let old = SigningKey::rsa("old", 0);
    let new = SigningKey::p256("new");
    let provider = Provider::start(&[&old]).await;
    // The default budget (a refetch at most every 10 s after a burst of two): a rotation right
    // after start is still picked up at once.
    let config = chatsync_relay::auth::JwksConfig {
        fetch_timeout: Duration::from_millis(500),
        ..chatsync_relay::auth::JwksConfig::new(provider.url())
    };
    let auth = jwks_auth(config, provider_rules());
    assert_eq!(auth.prefetch_keys().await, Some(Ok(1)));
    auth.authenticate(Some(&old.sign(&claims("alice"))))
        .await
        .unwrap();
    provider.publish(&[&new]);
    let verified = auth
        .authenticate(Some(&new.sign(&claims("alice"))))
        .await
        .expect("the new key is fetched");
    assert_eq!(verified.user, "alice");
    assert_eq!(provider.fetches(), 2);
    // The withdrawn key is gone with the old set.
    assert_eq!(
        auth.authenticate(Some(&old.sign(&claims("alice")))).await,
        Err(AuthError::UnknownKey {
            kid: Some("old".into())
        })
    );
}

#[tokio::test]
async fn a_token_signed_by_a_key_the_provider_does_not_publish_is_refused() {
    let published = SigningKey::rsa("published", 0);
    let stranger = SigningKey::rsa("stranger", 1);
    let provider = Provider::start(&[&published]).await;
    let auth = jwks_auth(jwks_config(&provider.url()), provider_rules());
    assert_eq!(
        auth.authenticate(Some(&stranger.sign(&claims("alice"))))
            .await,
        Err(AuthError::UnknownKey {
            kid: Some("stranger".into())
        })
    );
    // Claiming a published kid does not help: the signature does not verify.
    let impostor = stranger.sign_as(&claims("alice"), Some("published"));
    assert!(matches!(
        auth.authenticate(Some(&impostor)).await,
        Err(AuthError::Invalid(_))
    ));
    // A kid-less token may use the only key of its algorithm, and must still be signed by it.
    let no_kid = published.sign_as(&claims("alice"), None);
    assert_eq!(
        auth.authenticate(Some(&no_kid)).await.unwrap().user,
        "alice"
    );
    let no_kid_stranger = stranger.sign_as(&claims("alice"), None);
    assert!(auth.authenticate(Some(&no_kid_stranger)).await.is_err());
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_the_jwks_within_the_budget() {
    let key = SigningKey::p256("real");
    let forger = SigningKey::p256("forger");
    let provider = Provider::start(&[&key]).await;
    let config = chatsync_relay::auth::JwksConfig {
        refetch_interval: Duration::from_secs(10),
        ..jwks_config(&provider.url())
    };
    let auth = jwks_auth(config, provider_rules());
    auth.prefetch_keys().await.unwrap().unwrap();
    // Signed up front: ES256 signing is slow in a debug build, and only the checking is timed.
    let tokens: Vec<String> = (0..200)
        .map(|i| forger.sign_as(&claims("mallory"), Some(&format!("kid-{i}"))))
        .collect();
    let started = Instant::now();
    let flood = tokens.into_iter().map(|token| {
        let auth = auth.clone();
        tokio::spawn(async move { auth.authenticate(Some(&token)).await })
    });
    let results = futures_util::future::join_all(flood).await;
    for result in results {
        assert!(
            matches!(result.unwrap(), Err(AuthError::UnknownKey { .. })),
            "a forged kid must be 401"
        );
    }
    // The prefetch and one refetch (the burst); then nothing for 10 s, however many tokens come.
    assert!(provider.fetches() <= 2, "{} fetches", provider.fetches());
    // None waited out a budget: a refused kid is answered at once (one shared fetch at most).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Real users were never affected.
    let valid = key.sign(&claims("alice"));
    assert_eq!(auth.authenticate(Some(&valid)).await.unwrap().user, "alice");
    assert!(provider.fetches() <= 2);
}

#[tokio::test]
async fn a_provider_that_is_down_is_keys_unavailable_until_it_is_back() {
    let key = SigningKey::rsa("k", 0);
    let provider = Provider::start(&[&key]).await;
    provider.behave(Behaviour::Fail(500));
    let auth = jwks_auth(jwks_config(&provider.url()), provider_rules());
    let token = key.sign(&claims("alice"));
    assert!(matches!(
        auth.prefetch_keys().await,
        Some(Err(AuthError::KeysUnavailable(reason))) if reason.contains("500")
    ));
    let refused = auth.authenticate(Some(&token)).await.unwrap_err();
    assert!(refused.is_unavailable(), "{refused:?}");
    provider.behave(Behaviour::Serve);
    // Once the budget allows a fetch again (200 ms here), the token is good.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(auth.authenticate(Some(&token)).await.unwrap().user, "alice");
}

#[tokio::test]
async fn a_provider_answering_garbage_or_too_much_is_keys_unavailable() {
    let key = SigningKey::p256("k");
    let provider = Provider::start(&[&key]).await;
    let config = chatsync_relay::auth::JwksConfig {
        refetch_interval: std::time::Duration::ZERO,
        ..jwks_config(&provider.url())
    };
    let auth = jwks_auth(config, provider_rules());
    let token = key.sign(&claims("alice"));
    for (behaviour, reason) in [
        (Behaviour::Garbage, "not a JWKS"),
        (Behaviour::Huge, "larger than"),
    ] {
        provider.behave(behaviour);
        match auth.authenticate(Some(&token)).await {
            Err(AuthError::KeysUnavailable(why)) => assert!(why.contains(reason), "{why}"),
            other => panic!("{behaviour:?}: {other:?}"),
        }
    }
    provider.behave(Behaviour::Serve);
    assert_eq!(auth.authenticate(Some(&token)).await.unwrap().user, "alice");
}

#[tokio::test]
async fn a_provider_that_is_not_listening_is_keys_unavailable() {
    let key = SigningKey::p256("k");
    let provider = Provider::start(&[&key]).await;
    let url = provider.url();
    provider.stop();
    drop(provider);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let auth = jwks_auth(jwks_config(&url), provider_rules());
    let refused = auth
        .authenticate(Some(&key.sign(&claims("alice"))))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AuthError::KeysUnavailable(_)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_hanging_provider_delays_only_the_tokens_that_need_it_and_no_longer_than_the_timeout() {
    let known = SigningKey::rsa("known", 0);
    let rotated = SigningKey::p256("rotated");
    let provider = Provider::start(&[&known]).await;
    let config = chatsync_relay::auth::JwksConfig {
        fetch_timeout: Duration::from_secs(3),
        ..jwks_config(&provider.url())
    };
    let auth = jwks_auth(config, provider_rules());
    auth.prefetch_keys().await.unwrap().unwrap();
    provider.behave(Behaviour::Hang);
    let waiting = tokio::spawn({
        let auth = auth.clone();
        let token = rotated.sign(&claims("bob"));
        async move {
            let started = Instant::now();
            (auth.authenticate(Some(&token)).await, started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // While that fetch hangs, a user whose key is cached is served at once.
    let started = Instant::now();
    let verified = auth.authenticate(Some(&known.sign(&claims("alice")))).await;
    assert_eq!(verified.unwrap().user, "alice");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let (result, waited) = waiting.await.unwrap();
    assert!(
        matches!(&result, Err(AuthError::KeysUnavailable(_))),
        "{result:?}"
    );
    // It waited for the fetch's timeout (3 s), and no longer.
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
}

#[tokio::test]
async fn cached_keys_keep_working_while_the_provider_is_down_and_withdrawn_keys_stop() {
    let kept = SigningKey::rsa("kept", 0);
    let withdrawn = SigningKey::p256("withdrawn");
    let provider = Provider::start(&[&kept, &withdrawn]).await;
    let config = chatsync_relay::auth::JwksConfig {
        cache_for: Duration::from_millis(100),
        refetch_interval: Duration::from_millis(50),
        ..jwks_config(&provider.url())
    };
    let auth = jwks_auth(config, provider_rules());
    auth.prefetch_keys().await.unwrap().unwrap();
    provider.behave(Behaviour::Fail(503));
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Expired cache, provider down: the last keys stay in use.
    for _ in 0..3 {
        let token = kept.sign(&claims("alice"));
        assert_eq!(auth.authenticate(Some(&token)).await.unwrap().user, "alice");
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    provider.behave(Behaviour::Serve);
    provider.publish(&[&kept]);
    // The next use after the cache expires refreshes it in the background; the withdrawn key
    // then stops working.
    let token = withdrawn.sign(&claims("alice"));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match auth.verify(Some(&token)) {
            Err(AuthError::UnknownKey { .. }) => break,
            _ if Instant::now() > deadline => panic!("the withdrawn key still works"),
            _ => tokio::time::sleep(Duration::from_millis(60)).await,
        }
    }
}

#[tokio::test]
async fn the_synchronous_entry_point_uses_cached_keys_and_starts_the_fetch_it_lacks() {
    let key = SigningKey::rsa("k", 0);
    let provider = Provider::start(&[&key]).await;
    let auth = jwks_auth(jwks_config(&provider.url()), provider_rules());
    let token = key.sign(&claims("alice"));
    // Nothing fetched yet: refused as unavailable (not as forged), and the fetch starts.
    assert!(auth.verify(Some(&token)).unwrap_err().is_unavailable());
    let deadline = Instant::now() + Duration::from_secs(5);
    while auth.verify(Some(&token)).is_err() {
        assert!(Instant::now() < deadline, "the keys never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(auth.verify(Some(&token)).unwrap().user, "alice");
    assert_eq!(provider.fetches(), 1);
}
