//! Every limit and knob of the server, from flags and `STARLING_*` environment variables.
//! Tests build a [`Config`] with [`Config::new`] and change the fields they care about.

use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// When an acknowledged write is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Durability {
    /// Reply only after a group-commit flush covers the write (nothing acknowledged is lost).
    Sync,
    /// Reply at once and flush on a timer: a crash loses at most `--flush-interval-ms` of
    /// acknowledged writes.
    Relaxed,
}

/// `starling serve` options.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on, for HTTP and WebSocket alike.
    #[arg(long, env = "STARLING_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Data folder (sled database). Created when missing.
    #[arg(long, env = "STARLING_DATA", default_value = "./data")]
    pub data: PathBuf,

    /// Secret for HS256 access tokens. Without one, a secret is generated on first start and
    /// kept in the data folder, so tokens survive restarts.
    #[arg(long, env = "STARLING_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Turn every rate limit off (load tests, test suites).
    #[arg(long, env = "STARLING_NO_RATE_LIMITS")]
    pub no_rate_limits: bool,

    /// When an acknowledged write is on disk.
    #[arg(long, env = "STARLING_DURABILITY", value_enum, default_value = "sync")]
    pub durability: Durability,

    /// In relaxed mode, how often the log is flushed (the loss window after a crash).
    #[arg(long, env = "STARLING_FLUSH_INTERVAL_MS", default_value_t = 100)]
    pub flush_interval_ms: u64,

    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "STARLING_ACCESS_TTL_SECS", default_value_t = 15 * 60)]
    pub access_ttl_secs: u64,

    /// Lifetime of refresh tokens, in seconds.
    #[arg(long, env = "STARLING_REFRESH_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_ttl_secs: u64,

    /// Time a new socket has to authenticate, in milliseconds.
    #[arg(long, env = "STARLING_AUTH_TIMEOUT_MS", default_value_t = 10_000)]
    pub auth_timeout_ms: u64,

    /// Interval between WebSocket pings, in seconds; a socket silent for two is closed.
    #[arg(long, env = "STARLING_PING_INTERVAL_SECS", default_value_t = 25)]
    pub ping_interval_secs: u64,

    /// Argon2id memory cost in KiB (OWASP's recommended 19 MiB by default).
    #[arg(long, env = "STARLING_ARGON2_MEMORY_KIB", default_value_t = 19 * 1024)]
    pub argon2_memory_kib: u32,

    /// Argon2id iterations.
    #[arg(long, env = "STARLING_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// Password hashes computed at once. Each takes one core for ~60 ms, so on a small
    /// machine one at a time keeps a login storm from starving every other socket.
    #[arg(long, env = "STARLING_HASH_CONCURRENCY", default_value_t = 1)]
    pub hash_concurrency: usize,

    /// Subscriptions one socket may hold.
    #[arg(long, env = "STARLING_MAX_SUBSCRIPTIONS", default_value_t = 64)]
    pub max_subscriptions: usize,

    /// Bytes one socket's outbound queue may hold before the socket is closed with 4013.
    #[arg(long, env = "STARLING_OUTBOX_BYTES", default_value_t = 1024 * 1024)]
    pub outbox_bytes: usize,
}

impl Config {
    /// The defaults, with the data folder given: what `starling serve --data DIR` runs.
    pub fn new(data: impl Into<PathBuf>) -> Config {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: Config,
        }
        use clap::Parser;
        let mut config = Wrapper::parse_from(["starling"]).config;
        config.data = data.into();
        config
    }

    pub fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.access_ttl_secs)
    }

    pub fn auth_timeout(&self) -> Duration {
        Duration::from_millis(self.auth_timeout_ms)
    }

    pub fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.ping_interval_secs.max(1))
    }
}
