//! A JWKS fetched from the identity provider and cached. A token naming a `kid` the cache does not
//! hold makes the relay fetch the set again (a key rotation), within a small fetch budget; callers
//! waiting for the same fetch share it, and no lock is held while it runs. Tokens whose key is
//! cached never wait: an expired cache is refreshed in the background, and a provider that is down
//! leaves the last keys in use.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use jsonwebtoken::Algorithm;

use super::fetch_budget::FetchBudget;
use super::keys::{KeySet, PublicKey};

/// The largest JWKS document read (providers publish a few keys: a few KB).
const MAX_JWKS_BYTES: usize = 256 << 10;

/// Where the keys are and how they are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksConfig {
    /// The provider's JWKS URL (`https://…/.well-known/jwks.json`).
    pub url: String,
    /// How long fetched keys are used before they are fetched again in the background (so a key
    /// the provider withdrew stops working).
    pub cache_for: Duration,
    /// After a burst of two fetches, at most one fetch per this interval — however many tokens name
    /// unknown keys.
    pub refetch_interval: Duration,
    /// How long one fetch may take, connecting included.
    pub fetch_timeout: Duration,
}

impl JwksConfig {
    /// The defaults for `url`: keys cached 10 minutes, a refetch at most every 10 s after a burst of
    /// two, 5 s per fetch.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            cache_for: Duration::from_secs(600),
            refetch_interval: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

/// Why a JWKS could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksSetupError {
    /// The URL is not an absolute http(s) URL.
    #[error("the JWKS URL {url:?} is not an http:// or https:// URL")]
    BadUrl {
        /// The URL given.
        url: String,
    },
    /// The HTTP client could not be built (e.g. no system TLS roots).
    #[error("cannot build the HTTP client for the JWKS: {0}")]
    Client(String),
}

/// Why no key could be found for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLookupError {
    /// The set (fetched successfully) has no key with this `kid` and algorithm.
    Unknown,
    /// The keys could not be fetched: the provider is down, slow or answering garbage.
    Unavailable(String),
}

/// The cached JWKS of one provider. Cheap to clone (shared).
#[derive(Clone)]
pub struct JwksSource {
    inner: Arc<Inner>,
}

struct Inner {
    url: reqwest::Url,
    config: JwksConfig,
    client: reqwest::Client,
    state: Mutex<State>,
}

struct State {
    /// The last set fetched successfully.
    keys: Option<Arc<KeySet>>,
    fetched_at: Option<Instant>,
    /// Why the latest fetch failed, until one succeeds.
    last_error: Option<String>,
    budget: FetchBudget,
    in_flight: Option<Shared<BoxFuture<'static, ()>>>,
}

impl std::fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JwksSource({})", self.inner.url)
    }
}

impl JwksSource {
    /// A source for `config`; nothing is fetched until [`JwksSource::prefetch`] or a token needs it.
    pub fn new(config: JwksConfig) -> Result<Self, JwksSetupError> {
        let url = reqwest::Url::parse(&config.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| JwksSetupError::BadUrl {
                url: config.url.clone(),
            })?;
        if url.scheme() == "http" && !is_loopback(&url) {
            tracing::warn!(%url, "the JWKS URL is plain http: whoever is on the path can sign tokens");
        }
        let client = http_client(config.fetch_timeout)?;
        let state = State {
            keys: None,
            fetched_at: None,
            last_error: None,
            budget: FetchBudget::new(config.refetch_interval, Instant::now()),
            in_flight: None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                url,
                config,
                client,
                state: Mutex::new(state),
            }),
        })
    }

    /// The URL the keys come from.
    pub fn url(&self) -> &str {
        self.inner.url.as_str()
    }

    /// Fetches the keys now (at start, so the first users do not wait), within the budget.
    /// Returns how many usable keys the provider published.
    pub async fn prefetch(&self) -> Result<usize, KeyLookupError> {
        if let Some(fetch) = self.start_fetch() {
            fetch.await;
        }
        let state = self.state();
        match (&state.keys, &state.last_error) {
            (_, Some(error)) => Err(KeyLookupError::Unavailable(error.clone())),
            (Some(keys), None) => Ok(keys.len()),
            (None, None) => Err(KeyLookupError::Unavailable("not fetched yet".into())),
        }
    }

    /// The cached key for `kid` and `alg`, without waiting. On a miss a refetch starts in the
    /// background (within the budget), for the next attempt.
    pub fn cached(&self, kid: Option<&str>, alg: Algorithm) -> Result<PublicKey, KeyLookupError> {
        let found = self.lookup(kid, alg);
        if found.is_err() {
            drop(self.start_fetch());
        }
        found
    }

    /// The key for `kid` and `alg`, fetching the set again if it is not cached and the budget
    /// allows. Waits at most for one fetch (bounded by the fetch timeout).
    pub async fn key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<PublicKey, KeyLookupError> {
        if let Ok(key) = self.lookup(kid, alg) {
            return Ok(key);
        }
        if let Some(fetch) = self.start_fetch() {
            fetch.await;
        }
        self.lookup(kid, alg)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Looks `kid` up in the cache; an expired cache is refreshed in the background.
    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Result<PublicKey, KeyLookupError> {
        let (keys, last_error, expired) = {
            let state = self.state();
            let expired = state
                .fetched_at
                .is_some_and(|at| at.elapsed() >= self.inner.config.cache_for);
            (state.keys.clone(), state.last_error.clone(), expired)
        };
        if expired {
            drop(self.start_fetch());
        }
        if let Some(key) = keys.as_ref().and_then(|k| k.find(kid, alg)) {
            return Ok(key.clone());
        }
        // Not found: if the latest fetch failed, the key may well exist — say so, rather than
        // calling a valid token forged.
        match (keys, last_error) {
            (_, Some(error)) => Err(KeyLookupError::Unavailable(error)),
            (None, None) => Err(KeyLookupError::Unavailable("not fetched yet".into())),
            (Some(_), None) => Err(KeyLookupError::Unknown),
        }
    }

    /// The fetch under way, or a new one if the budget allows; `None` if neither (or if there is no
    /// tokio runtime to run it on).
    fn start_fetch(&self) -> Option<Shared<BoxFuture<'static, ()>>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let mut state = self.state();
        if let Some(fetch) = &state.in_flight {
            return Some(fetch.clone());
        }
        if !state.budget.try_take(Instant::now()) {
            return None;
        }
        // Spawned, so it finishes (and clears `in_flight`) even if every caller gives up waiting.
        let task = runtime.spawn(fetch_into(self.inner.clone()));
        let fetch = async move {
            let _ = task.await;
        }
        .boxed()
        .shared();
        state.in_flight = Some(fetch.clone());
        Some(fetch)
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Fetches the set and stores the outcome.
async fn fetch_into(inner: Arc<Inner>) {
    // Clears `in_flight` however this task ends, a panic included.
    struct Done(Arc<Inner>);
    impl Drop for Done {
        fn drop(&mut self) {
            let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.in_flight = None;
        }
    }
    let done = Done(inner.clone());
    let outcome = download(&inner).await;
    {
        let mut state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(keys) => {
                tracing::info!(url = %inner.url, keys = keys.len(), "fetched the JWKS");
                state.keys = Some(Arc::new(keys));
                state.fetched_at = Some(Instant::now());
                state.last_error = None;
            }
            Err(error) => {
                tracing::warn!(url = %inner.url, %error, "could not fetch the JWKS");
                state.last_error = Some(error);
            }
        }
    }
    drop(done);
}

/// GETs the JWKS document, bounded in size and (by the client) in time.
async fn download(inner: &Inner) -> Result<KeySet, String> {
    let mut response = inner
        .client
        .get(inner.url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the JWKS URL answered HTTP {status}"));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
    {
        return Err(format!("the JWKS is larger than {MAX_JWKS_BYTES} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!("the JWKS is larger than {MAX_JWKS_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    KeySet::from_jwks_json(&body).map_err(|e| e.to_string())
}

/// reqwest's error with its causes (its own message alone is often just "error sending request").
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An HTTP/1.1 client over rustls with the *ring* provider and the system's trusted roots (the
/// platform verifier, as reqwest's default TLS does). `HTTPS_PROXY` and `NO_PROXY` are honoured.
fn http_client(timeout: Duration) -> Result<reqwest::Client, JwksSetupError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| JwksSetupError::Client(e.to_string()))?
        .with_platform_verifier()
        .map_err(|e| JwksSetupError::Client(e.to_string()))?
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("chatsync-relay/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| JwksSetupError::Client(describe(&e)))
}
