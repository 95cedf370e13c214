//! Command-line configuration. Every flag also reads a `CHATSYNC_…` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::auth::{Auth, AuthSetupError, JwksConfig, JwtConfig, TokenRules};
use crate::relay::Limits;
use crate::storage::PostgresOptions;

/// The chatsync relay.
#[derive(Debug, Parser)]
#[command(name = "chatsync-relay", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The relay's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve sync over WebSocket, storing in SQLite (the default) or PostgreSQL.
    Serve(Box<ServeArgs>),
    /// Print a token for a user, signed with the configured secret.
    Token(Box<TokenArgs>),
}

/// How tokens are checked.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// HS256 secret for the app backend's tokens.
    #[arg(long, env = "CHATSYNC_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// An identity provider's JWKS URL (Clerk, Auth0, Supabase, Firebase, …): RS256 and ES256 tokens
    /// are checked with its keys, fetched at start, cached, and fetched again when a token names an
    /// unknown `kid` (a rotation).
    #[arg(long, env = "CHATSYNC_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// A PEM file with the public key (RSA for RS256, EC P-256 for ES256) or certificate that signs
    /// tokens, instead of a JWKS URL.
    #[arg(long, env = "CHATSYNC_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,
    /// The `iss` every token must carry (checked when set).
    #[arg(long, env = "CHATSYNC_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// The `aud` every token must carry (checked when set); several values, comma-separated, accept
    /// any of them.
    #[arg(long, env = "CHATSYNC_JWT_AUDIENCE", value_delimiter = ',')]
    pub jwt_audience: Vec<String>,
    /// The claim holding the user id.
    #[arg(long, env = "CHATSYNC_JWT_USER_CLAIM", default_value = crate::auth::DEFAULT_USER_CLAIM)]
    pub jwt_user_claim: String,
    /// Seconds of clock skew tolerated on `exp` and `nbf`: a few cover NTP-synced clocks without
    /// keeping short-lived provider tokens (Clerk's live 60 s) alive much past their expiry.
    #[arg(long, env = "CHATSYNC_JWT_LEEWAY_SECS", default_value_t = crate::auth::DEFAULT_LEEWAY.as_secs())]
    pub jwt_leeway_secs: u64,
    /// Seconds fetched JWKS keys are used before they are fetched again (in the background), so a
    /// key the provider withdrew stops working.
    #[arg(long, env = "CHATSYNC_JWKS_CACHE_SECS", default_value_t = 600)]
    pub jwks_cache_secs: u64,
    /// After a burst of two, at most one JWKS fetch per this many seconds, however many tokens name
    /// unknown keys: a flood of forged `kid`s must not hammer the provider. (0: no bound but one
    /// fetch at a time.)
    #[arg(
        long,
        env = "CHATSYNC_JWKS_REFETCH_INTERVAL_SECS",
        default_value_t = 10
    )]
    pub jwks_refetch_interval_secs: u64,
    /// Development only: the token is the user id. Refused unless listening on loopback.
    #[arg(long, env = "CHATSYNC_INSECURE_DEV_AUTH")]
    pub insecure_dev_auth: bool,
}

/// `serve`'s flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CHATSYNC_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Where the SQLite file lives (the embedded default, for one relay; unused with
    /// `--database-url`).
    #[arg(long, env = "CHATSYNC_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Store in PostgreSQL instead (`postgres://user:password@host/database`): several relays on one
    /// database serve every user the same way and pass each other's changes on.
    #[arg(long, env = "CHATSYNC_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most PostgreSQL connections this relay holds (plus one that listens for other relays'
    /// changes). Appends of one document queue on its row anyway; more connections serve more
    /// documents at once.
    #[arg(long, env = "CHATSYNC_DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
    /// Seconds a PostgreSQL statement may run before the database cancels it (and the write is
    /// refused), so a stuck database cannot hold writers forever.
    #[arg(
        long,
        env = "CHATSYNC_DATABASE_STATEMENT_TIMEOUT_SECS",
        default_value_t = 10
    )]
    pub database_statement_timeout_secs: u64,
    /// Seconds a storage call waits for a PostgreSQL connection (connecting included) before it
    /// fails: while the database is unreachable, writes are refused after this long.
    #[arg(
        long,
        env = "CHATSYNC_DATABASE_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 5
    )]
    pub database_acquire_timeout_secs: u64,
    /// Token checking.
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Largest WebSocket message a client may send, bytes. Automerge 0.12 holds about 80 bytes of
    /// memory per text character it applies, and a frame carries text deflated: 12 MB of text in one
    /// 6 MB frame took the relay to 1.1 GB. 4 MiB is still several long threads' worth of changes.
    /// (What the relay sends, e.g. cold loads, is not limited by this.)
    #[arg(long, env = "CHATSYNC_MAX_FRAME_BYTES", default_value_t = 4 << 20)]
    pub max_frame_bytes: usize,
    /// Largest stored document, bytes.
    #[arg(long, env = "CHATSYNC_MAX_DOCUMENT_BYTES", default_value_t = 256 << 20)]
    pub max_document_bytes: u64,
    /// Most messages one connection may send per second.
    #[arg(long, env = "CHATSYNC_MAX_FRAMES_PER_SECOND", default_value_t = 2_000)]
    pub max_frames_per_second: u32,
    /// Most bytes one connection may send per second.
    #[arg(long, env = "CHATSYNC_MAX_BYTES_PER_SECOND", default_value_t = 64 << 20)]
    pub max_bytes_per_second: u64,
    /// Frames queued for a connection before it counts as too slow and is closed.
    #[arg(long, env = "CHATSYNC_MAX_QUEUED_FRAMES", default_value_t = 4_096)]
    pub max_queued_frames: usize,
    /// Bytes queued for a connection before it counts as too slow and is closed: a few cold loads of
    /// long threads are hundreds of MB in a handful of frames.
    #[arg(long, env = "CHATSYNC_MAX_QUEUED_BYTES", default_value_t = 64 << 20)]
    pub max_queued_bytes: usize,
    /// Seconds a new WebSocket may take to send `join` before it is closed (1008), so sockets that
    /// never speak do not pile up.
    #[arg(long, env = "CHATSYNC_JOIN_TIMEOUT_SECS", default_value_t = 10)]
    pub join_timeout_secs: u64,
    /// Seconds between pings on an open WebSocket: proxies drop sockets idle for about a minute.
    #[arg(long, env = "CHATSYNC_PING_INTERVAL_SECS", default_value_t = 20)]
    pub ping_interval_secs: u64,
    /// Seconds without any frame or pong from a peer before its socket is closed (1001) as dead.
    #[arg(long, env = "CHATSYNC_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Most WebSockets one user may have open; more are closed at once with 1013 (try again later).
    /// A device with several tabs uses one each.
    #[arg(long, env = "CHATSYNC_MAX_CONNECTIONS_PER_USER", default_value_t = 32)]
    pub max_connections_per_user: usize,
    /// Most documents one WebSocket may have open (1008 beyond): every one is held in memory.
    #[arg(
        long,
        env = "CHATSYNC_MAX_DOCUMENTS_PER_CONNECTION",
        default_value_t = 1_000
    )]
    pub max_documents_per_connection: usize,
    /// Bytes of documents in memory one WebSocket's open documents may take before it may open no
    /// more (1013). Counted as stored bytes plus 8 KiB a document.
    #[arg(long, env = "CHATSYNC_MAX_DOCUMENT_BYTES_PER_CONNECTION", default_value_t = 256 << 20)]
    pub max_document_bytes_per_connection: u64,
    /// Bytes of one user's documents in memory before none of theirs is loaded (1013), counted the same way.
    #[arg(long, env = "CHATSYNC_MAX_DOCUMENT_BYTES_PER_USER", default_value_t = 512 << 20)]
    pub max_document_bytes_per_user: u64,
    /// Bytes of documents in memory, relay-wide, before no further document is loaded (1013), after
    /// evicting those nobody is connected to.
    #[arg(long, env = "CHATSYNC_MAX_DOCUMENT_BYTES_IN_MEMORY", default_value_t = 2 << 30)]
    pub max_document_bytes_in_memory: u64,
    /// Most TCP connections served at once; more are closed as they are accepted, so the relay never
    /// runs out of file descriptors (it is also kept below `ulimit -n`, less a reserve for storage).
    #[arg(long, env = "CHATSYNC_MAX_TCP_CONNECTIONS", default_value_t = 4_096)]
    pub max_tcp_connections: usize,
    /// Seconds an HTTP connection may take to send a request's headers (from opening, or from its
    /// previous response) before it is closed: silent and half-sent requests must not hold sockets.
    #[arg(long, env = "CHATSYNC_HTTP_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub http_header_timeout_secs: u64,
    /// Seconds an HTTP request may take, its body included, before it is answered 408.
    #[arg(long, env = "CHATSYNC_HTTP_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub http_request_timeout_secs: u64,
    /// Largest HTTP request body, bytes (413 beyond).
    #[arg(long, env = "CHATSYNC_MAX_REQUEST_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_request_body_bytes: usize,
    /// Requests to `/api/*` one user may make per second, and as many again in a burst (429 beyond):
    /// one backend's loop must not starve the relay's other users. A streamed reply counts once.
    #[arg(
        long,
        env = "CHATSYNC_MAX_API_REQUESTS_PER_SECOND",
        default_value_t = 200
    )]
    pub max_api_requests_per_second: u32,
    /// Bytes of documents to keep in memory once nobody is connected to them.
    #[arg(long, env = "CHATSYNC_MEMORY_BUDGET_BYTES", default_value_t = 512 << 20)]
    pub memory_budget_bytes: u64,
    /// Seconds before an unused document is evicted from memory.
    #[arg(long, env = "CHATSYNC_IDLE_EVICTION_SECS", default_value_t = 60)]
    pub idle_eviction_secs: u64,
    /// A folder of static files to serve at `/` (the demo app), beside the API.
    #[arg(long, env = "CHATSYNC_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// Serve `/metrics` on this address instead of the main one (e.g. a private interface), so
    /// scrapers never compete with clients.
    #[arg(long, env = "CHATSYNC_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

/// `token`'s flags.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Token checking (the secret signs the token).
    #[command(flatten)]
    pub auth: AuthArgs,
    /// The user id (the token's `sub`).
    #[arg(long)]
    pub user: String,
    /// How long the token is valid: a number with s, m, h or d.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: Duration,
}

/// Why the configuration cannot start a relay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No way to check tokens was configured.
    #[error(
        "no --jwt-secret (CHATSYNC_JWT_SECRET), --jwks-url (CHATSYNC_JWKS_URL) or --jwt-public-key \
         (CHATSYNC_JWT_PUBLIC_KEY) given; for local development only, pass --insecure-dev-auth"
    )]
    NoAuth,
    /// Dev auth on a reachable address.
    #[error("--insecure-dev-auth is only allowed on a loopback address, not {0}")]
    DevAuthNotLoopback(SocketAddr),
    /// Dev auth and real keys were both given.
    #[error(
        "give either --insecure-dev-auth or a key (--jwt-secret, --jwks-url, --jwt-public-key), not both"
    )]
    BothAuth,
    /// A secret too short to resist guessing.
    #[error("the JWT secret must be at least 16 bytes")]
    WeakSecret,
    /// The public key file cannot be read.
    #[error("reading the public key file {path}: {source}")]
    PublicKeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The keys given cannot check tokens.
    #[error(transparent)]
    Keys(#[from] AuthSetupError),
    /// `token` signs with the secret, and there is none.
    #[error("issuing a token needs --jwt-secret (CHATSYNC_JWT_SECRET)")]
    NoSecretToSign,
}

impl AuthArgs {
    /// The validated auth mode; `listen` is where the relay will be reachable, if serving.
    pub fn auth(&self, listen: Option<SocketAddr>) -> Result<Auth, ConfigError> {
        let has_key =
            self.jwt_secret.is_some() || self.jwks_url.is_some() || self.jwt_public_key.is_some();
        match (has_key, self.insecure_dev_auth) {
            (true, true) => return Err(ConfigError::BothAuth),
            (false, false) => return Err(ConfigError::NoAuth),
            (false, true) => {
                return match listen {
                    Some(addr) if !addr.ip().is_loopback() => {
                        Err(ConfigError::DevAuthNotLoopback(addr))
                    }
                    _ => Ok(Auth::InsecureDev),
                };
            }
            (true, false) => {}
        }
        if self.jwt_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err(ConfigError::WeakSecret);
        }
        let public_key_pem = match &self.jwt_public_key {
            Some(path) => {
                Some(
                    std::fs::read(path).map_err(|source| ConfigError::PublicKeyFile {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let jwks = self.jwks_url.as_ref().map(|url| JwksConfig {
            cache_for: Duration::from_secs(self.jwks_cache_secs),
            refetch_interval: Duration::from_secs(self.jwks_refetch_interval_secs),
            ..JwksConfig::new(url.clone())
        });
        let config = JwtConfig {
            secret: self.jwt_secret.as_ref().map(|s| s.as_bytes().to_vec()),
            public_key_pem,
            jwks,
            rules: TokenRules {
                issuer: self.jwt_issuer.clone().filter(|i| !i.is_empty()),
                audience: self
                    .jwt_audience
                    .iter()
                    .filter(|a| !a.is_empty())
                    .cloned()
                    .collect(),
                user_claim: self.jwt_user_claim.clone(),
                leeway: Duration::from_secs(self.jwt_leeway_secs),
            },
        };
        Ok(Auth::from_config(config)?)
    }
}

impl ServeArgs {
    /// The PostgreSQL to store in, if one was given.
    pub fn postgres(&self) -> Option<PostgresOptions> {
        let url = self.database_url.as_ref().filter(|url| !url.is_empty())?;
        Some(PostgresOptions {
            url: url.clone(),
            max_connections: self.database_max_connections,
            statement_timeout: Duration::from_secs(self.database_statement_timeout_secs.max(1)),
            acquire_timeout: Duration::from_secs(self.database_acquire_timeout_secs.max(1)),
        })
    }

    /// The limits these flags set.
    pub fn limits(&self) -> Limits {
        Limits {
            max_frame_bytes: self.max_frame_bytes,
            max_document_bytes: self.max_document_bytes,
            max_frames_per_second: self.max_frames_per_second,
            max_bytes_per_second: self.max_bytes_per_second,
            max_queued_frames: self.max_queued_frames,
            max_queued_bytes: self.max_queued_bytes,
            memory_budget_bytes: self.memory_budget_bytes,
            idle_eviction: Duration::from_secs(self.idle_eviction_secs),
            join_timeout: Duration::from_secs(self.join_timeout_secs),
            ping_interval: Duration::from_secs(self.ping_interval_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_connections_per_user: self.max_connections_per_user,
            max_documents_per_connection: self.max_documents_per_connection,
            max_document_bytes_per_connection: self.max_document_bytes_per_connection,
            max_document_bytes_per_user: self.max_document_bytes_per_user,
            max_document_bytes_in_memory: self.max_document_bytes_in_memory,
            max_tcp_connections: self.max_tcp_connections,
            http_header_timeout: Duration::from_secs(self.http_header_timeout_secs),
            http_request_timeout: Duration::from_secs(self.http_request_timeout_secs),
            max_request_body_bytes: self.max_request_body_bytes,
            max_api_requests_per_second: self.max_api_requests_per_second,
        }
    }
}

/// "90s", "15m", "1h", "7d".
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number followed by s, m, h or d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit must be s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_args(secret: Option<&str>, dev: bool) -> AuthArgs {
        AuthArgs {
            jwt_secret: secret.map(str::to_owned),
            jwks_url: None,
            jwt_public_key: None,
            jwt_issuer: None,
            jwt_audience: Vec::new(),
            jwt_user_claim: "sub".into(),
            jwt_leeway_secs: 5,
            jwks_cache_secs: 600,
            jwks_refetch_interval_secs: 10,
            insecure_dev_auth: dev,
        }
    }

    #[test]
    fn every_auth_flag_has_its_environment_variable() {
        use clap::CommandFactory;
        let cli = Cli::command();
        let serve = cli.find_subcommand("serve").unwrap();
        for (flag, variable) in [
            ("jwt-secret", "CHATSYNC_JWT_SECRET"),
            ("jwks-url", "CHATSYNC_JWKS_URL"),
            ("jwt-public-key", "CHATSYNC_JWT_PUBLIC_KEY"),
            ("jwt-issuer", "CHATSYNC_JWT_ISSUER"),
            ("jwt-audience", "CHATSYNC_JWT_AUDIENCE"),
            ("jwt-user-claim", "CHATSYNC_JWT_USER_CLAIM"),
            ("jwt-leeway-secs", "CHATSYNC_JWT_LEEWAY_SECS"),
            ("jwks-cache-secs", "CHATSYNC_JWKS_CACHE_SECS"),
            (
                "jwks-refetch-interval-secs",
                "CHATSYNC_JWKS_REFETCH_INTERVAL_SECS",
            ),
        ] {
            let arg = serve
                .get_arguments()
                .find(|a| a.get_long() == Some(flag))
                .unwrap_or_else(|| panic!("--{flag}"));
            assert_eq!(
                arg.get_env().and_then(|v| v.to_str()),
                Some(variable),
                "--{flag}"
            );
        }
    }

    #[test]
    fn the_provider_flags_are_read() {
        let cli = Cli::parse_from([
            "chatsync-relay",
            "serve",
            "--jwks-url",
            "https://example.test/.well-known/jwks.json",
            "--jwt-issuer",
            "https://example.test/",
            "--jwt-audience",
            "app,api",
            "--jwt-user-claim",
            "user_id",
            "--jwt-leeway-secs",
            "2",
        ]);
        let Command::Serve(serve) = cli.command else {
            panic!("serve")
        };
        let auth = &serve.auth;
        assert_eq!(
            auth.jwks_url.as_deref(),
            Some("https://example.test/.well-known/jwks.json")
        );
        assert_eq!(auth.jwt_issuer.as_deref(), Some("https://example.test/"));
        assert_eq!(auth.jwt_audience, ["app", "api"]);
        assert_eq!(auth.jwt_user_claim, "user_id");
        assert_eq!(auth.jwt_leeway_secs, 2);
        let Ok(Auth::Jwt(jwt)) = auth.auth(None) else {
            panic!("JWKS auth")
        };
        assert_eq!(jwt.rules().audience, ["app", "api"]);
        assert_eq!(jwt.rules().leeway, Duration::from_secs(2));
    }

    #[test]
    fn unusable_provider_settings_are_refused_at_start() {
        let mut args = auth_args(None, false);
        args.jwks_url = Some("not a url".into());
        assert!(matches!(args.auth(None), Err(ConfigError::Keys(_))));
        let mut args = auth_args(None, false);
        args.jwt_public_key = Some("/nonexistent/key.pem".into());
        assert!(matches!(
            args.auth(None),
            Err(ConfigError::PublicKeyFile { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("key.pem");
        std::fs::write(&garbage, "not a key").unwrap();
        let mut args = auth_args(None, false);
        args.jwt_public_key = Some(garbage);
        assert!(matches!(args.auth(None), Err(ConfigError::Keys(_))));
        let mut args = auth_args(None, true);
        args.jwks_url = Some("https://example.test/jwks".into());
        assert!(matches!(args.auth(None), Err(ConfigError::BothAuth)));
        let mut args = auth_args(None, false);
        args.jwks_url = Some("https://example.test/jwks".into());
        args.jwt_user_claim = String::new();
        assert!(matches!(args.auth(None), Err(ConfigError::Keys(_))));
    }

    #[test]
    fn the_relay_refuses_to_start_without_a_way_to_check_tokens() {
        let loopback: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let public: SocketAddr = "0.0.0.0:1".parse().unwrap();
        assert!(matches!(
            auth_args(None, false).auth(Some(loopback)),
            Err(ConfigError::NoAuth)
        ));
        assert!(matches!(
            auth_args(None, true).auth(Some(public)),
            Err(ConfigError::DevAuthNotLoopback(_))
        ));
        assert!(matches!(
            auth_args(None, true).auth(Some(loopback)),
            Ok(Auth::InsecureDev)
        ));
        assert!(matches!(
            auth_args(Some("short"), false).auth(None),
            Err(ConfigError::WeakSecret)
        ));
        assert!(matches!(
            auth_args(Some("0123456789abcdef"), true).auth(None),
            Err(ConfigError::BothAuth)
        ));
    }

    #[test]
    fn a_database_url_selects_postgres_with_its_pool_settings() {
        let serve = |args: &[&str]| match Cli::parse_from(
            ["chatsync-relay", "serve", "--insecure-dev-auth"]
                .iter()
                .chain(args),
        )
        .command
        {
            Command::Serve(args) => args,
            Command::Token(_) => unreachable!(),
        };
        if std::env::var_os("CHATSYNC_DATABASE_URL").is_none() {
            assert!(serve(&[]).postgres().is_none(), "SQLite stays the default");
        }
        let options = serve(&[
            "--database-url",
            "postgres://relay@db/chatsync",
            "--database-max-connections",
            "4",
            "--database-statement-timeout-secs",
            "3",
        ])
        .postgres()
        .unwrap();
        assert_eq!(options.url, "postgres://relay@db/chatsync");
        assert_eq!(options.max_connections, 4);
        assert_eq!(options.statement_timeout, Duration::from_secs(3));
        assert_eq!(options.acquire_timeout, Duration::from_secs(5));
    }

    #[test]
    fn ttls_read_with_their_unit() {
        assert_eq!(parse_ttl("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_ttl("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_ttl("2d").unwrap(), Duration::from_secs(172_800));
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("").is_err());
    }
}
