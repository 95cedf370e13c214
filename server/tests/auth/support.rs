//! What the auth cases share: signing keys generated here, an identity provider serving their JWKS on
//! 127.0.0.1 (which can be told to fail or hang, and counts its fetches), tokens, and a relay.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chatsync_relay::auth::{Auth, JwksConfig, JwtConfig, TokenRules};
use chatsync_relay::relay::{Identity, Limits, Relay};
use chatsync_relay::storage::SqliteStorage;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const ISSUER: &str = "https://issuer.test/";
pub const AUDIENCE: &str = "chatsync-tests";

/// A private key of the provider's, with its `kid`.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    encoding: EncodingKey,
    /// The public half as a JWK (with `kid`, `alg` and `use`).
    pub jwk: Value,
    /// The public half as PEM (SubjectPublicKeyInfo).
    pub public_pem: String,
}

/// RSA key generation is slow in a debug build: each test binary makes two and reuses them.
fn rsa_key(slot: usize) -> rsa::RsaPrivateKey {
    static KEYS: [OnceLock<rsa::RsaPrivateKey>; 2] = [OnceLock::new(), OnceLock::new()];
    KEYS[slot]
        .get_or_init(|| rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key"))
        .clone()
}

impl SigningKey {
    /// An RS256 key (one of two per test binary: `slot` 0 or 1).
    pub fn rsa(kid: &str, slot: usize) -> Self {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        let private = rsa_key(slot);
        let der = private.to_pkcs1_der().expect("PKCS#1");
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("PEM");
        Self::new(
            kid,
            Algorithm::RS256,
            EncodingKey::from_rsa_der(der.as_bytes()),
            public_pem,
        )
    }

    /// A fresh ES256 (P-256) key.
    pub fn p256(kid: &str) -> Self {
        use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let private = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let der = private.to_pkcs8_der().expect("PKCS#8");
        let public_pem = private
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("PEM");
        Self::new(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_der(der.as_bytes()),
            public_pem,
        )
    }

    fn new(kid: &str, alg: Algorithm, encoding: EncodingKey, public_pem: String) -> Self {
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).expect("JWK");
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        Self {
            kid: kid.to_owned(),
            alg,
            encoding,
            jwk: serde_json::to_value(jwk).expect("JWK JSON"),
            public_pem,
        }
    }

    /// `claims` signed with this key, the header naming its `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(claims, Some(&self.kid))
    }

    /// `claims` signed with this key, the header naming `kid` (or none).
    pub fn sign_as(&self, claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(self.alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signing")
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The claims of a valid provider token for `user`, an hour long.
pub fn claims(user: &str) -> Value {
    json!({ "sub": user, "iss": ISSUER, "aud": AUDIENCE, "iat": unix_now(), "exp": unix_now() + 3600 })
}

/// `claims` with `changes` merged in (a `null` removes the claim).
pub fn with(mut claims: Value, changes: Value) -> Value {
    let object = claims.as_object_mut().unwrap();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            object.remove(name);
        } else {
            object.insert(name.clone(), value.clone());
        }
    }
    claims
}

/// What the provider does when asked for its JWKS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Serve,
    /// Answers with this status.
    Fail(u16),
    /// Never answers.
    Hang,
    /// Answers 200 with a body that is not a JWKS.
    Garbage,
    /// Answers 200 with a JWKS of 1 MiB.
    Huge,
}

struct ProviderState {
    keys: Mutex<Vec<Value>>,
    behaviour: Mutex<Behaviour>,
    fetches: AtomicUsize,
}

/// An identity provider serving a JWKS at `/.well-known/jwks.json` on 127.0.0.1.
pub struct Provider {
    pub addr: SocketAddr,
    state: Arc<ProviderState>,
    shutdown: CancellationToken,
}

impl Provider {
    /// Serves the public halves of `keys`.
    pub async fn start(keys: &[&SigningKey]) -> Self {
        let state = Arc::new(ProviderState {
            keys: Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect()),
            behaviour: Mutex::new(Behaviour::Serve),
            fetches: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/.well-known/jwks.json", axum::routing::get(jwks))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown.cancelled_owned())
                    .await
                    .unwrap();
            }
        });
        Self {
            addr,
            state,
            shutdown,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    /// Publishes `keys` instead (a rotation).
    pub fn publish(&self, keys: &[&SigningKey]) {
        *self.state.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    pub fn behave(&self, behaviour: Behaviour) {
        *self.state.behaviour.lock().unwrap() = behaviour;
    }

    /// How many times the JWKS was asked for.
    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn jwks(State(state): State<Arc<ProviderState>>) -> Response {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    let behaviour = *state.behaviour.lock().unwrap();
    match behaviour {
        Behaviour::Serve => {
            let keys = state.keys.lock().unwrap().clone();
            axum::Json(json!({ "keys": keys })).into_response()
        }
        Behaviour::Fail(status) => StatusCode::from_u16(status).unwrap().into_response(),
        Behaviour::Hang => std::future::pending().await,
        Behaviour::Garbage => "<html>surprise</html>".into_response(),
        Behaviour::Huge => {
            let padding = "x".repeat(1 << 20);
            axum::Json(json!({ "keys": [], "padding": padding })).into_response()
        }
    }
}

/// The test JWKS settings for `url`: quick timeouts, and no refetch budget to wait out unless a
/// case sets one.
pub fn jwks_config(url: &str) -> JwksConfig {
    JwksConfig {
        refetch_interval: Duration::from_millis(200),
        fetch_timeout: Duration::from_millis(500),
        ..JwksConfig::new(url)
    }
}

/// The rules of the test provider: its issuer and audience.
pub fn provider_rules() -> TokenRules {
    TokenRules {
        issuer: Some(ISSUER.into()),
        audience: vec![AUDIENCE.into()],
        ..TokenRules::default()
    }
}

/// Auth with the JWKS of `provider` and `rules`.
pub fn jwks_auth(jwks: JwksConfig, rules: TokenRules) -> Auth {
    Auth::from_config(JwtConfig {
        jwks: Some(jwks),
        rules,
        ..JwtConfig::default()
    })
    .expect("JWKS auth")
}

/// A relay with `auth`, serving HTTP on 127.0.0.1 until dropped.
pub struct TestRelay {
    pub addr: SocketAddr,
    pub relay: Arc<Relay<SqliteStorage>>,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl TestRelay {
    pub async fn start(auth: Auth) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).await.unwrap();
        let identity = Identity {
            storage_id: "auth-tests".into(),
            index_secret: b"index-secret".to_vec(),
        };
        let relay = Arc::new(Relay::new(storage, auth, Limits::default(), identity));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        tokio::spawn({
            let (relay, shutdown) = (relay.clone(), shutdown.clone());
            async move {
                chatsync_relay::server::run(listener, relay, shutdown)
                    .await
                    .unwrap();
            }
        });
        Self {
            addr,
            relay,
            shutdown,
            _dir: dir,
        }
    }

    /// `GET /api/me` with `token` as a bearer token: the status and the JSON body.
    pub async fn me(&self, token: &str) -> (u16, Value) {
        // reqwest is built without a default TLS provider (the relay passes its own).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let response = reqwest::Client::new()
            .get(format!("http://{}/api/me", self.addr))
            .bearer_auth(token)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("GET /api/me");
        let status = response.status().as_u16();
        let body = response.bytes().await.expect("body");
        (status, serde_json::from_slice(&body).expect("JSON body"))
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
