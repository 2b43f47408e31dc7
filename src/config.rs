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

    /// Kernel send buffer per socket, in bytes (0: the system's autotuned default). Bounded,
    /// it caps the kernel memory a reader that stops reading can pin, and lets its outbox
    /// overflow (4013) soon instead of after megabytes.
    #[arg(long, env = "STARLING_SOCKET_SEND_BUFFER", default_value_t = 256 * 1024)]
    pub socket_send_buffer: usize,

    /// Seconds between snapshots (0: none on a timer). A snapshot is taken only when the
    /// log has grown since the last one.
    #[arg(long, env = "STARLING_SNAPSHOT_INTERVAL_SECS", default_value_t = 300)]
    pub snapshot_interval_secs: u64,

    /// Log records after which a snapshot is taken whatever the timer says (0: never), so
    /// restart time stays bounded under heavy writing.
    #[arg(long, env = "STARLING_SNAPSHOT_LOG_OPS", default_value_t = 1_000_000)]
    pub snapshot_log_ops: u64,

    /// Events each live stream keeps for `subscribe` with `since`.
    #[arg(long, env = "STARLING_REPLAY_EVENTS", default_value_t = 1000)]
    pub replay_events: usize,

    /// Seconds each stream's events stay replayable (and an unsubscribed stream is kept).
    #[arg(long, env = "STARLING_REPLAY_SECS", default_value_t = 300)]
    pub replay_secs: u64,

    /// Rate of posts (post, delete, update_profile) per user, as BURST:PER_MINUTE.
    #[arg(long, env = "STARLING_RATE_POST", default_value = "30:30")]
    pub rate_post: Rate,

    /// Rate of likes and retweets (and their undoing) per user.
    #[arg(long, env = "STARLING_RATE_ENGAGE", default_value = "60:120")]
    pub rate_engage: Rate,

    /// Rate of follows and unfollows per user.
    #[arg(long, env = "STARLING_RATE_FOLLOW", default_value = "30:30")]
    pub rate_follow: Rate,

    /// Rate of reads and searches per user.
    #[arg(long, env = "STARLING_RATE_READ", default_value = "120:600")]
    pub rate_read: Rate,

    /// Rate of subscribes and unsubscribes per user.
    #[arg(long, env = "STARLING_RATE_SUBSCRIBE", default_value = "60:300")]
    pub rate_subscribe: Rate,

    /// Rate of uploads per user.
    #[arg(long, env = "STARLING_RATE_UPLOAD", default_value = "10:10")]
    pub rate_upload: Rate,

    /// Rate of signups and logins per client address.
    #[arg(long, env = "STARLING_RATE_AUTH", default_value = "10:10")]
    pub rate_auth: Rate,

    /// Requests refused for rate within a minute after which a socket is closed with 4029.
    #[arg(long, env = "STARLING_MAX_REFUSALS", default_value_t = 100)]
    pub max_refusals_per_minute: u32,

    /// Origins whose pages may call the HTTP API (`/api/*`), comma-separated
    /// (`https://a.example,http://localhost:3000`), or `*` for any.
    #[arg(long, env = "STARLING_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: crate::web::CorsOrigins,
}

/// A token-bucket rate: up to `burst` at once, refilling at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub per_minute: u32,
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Rate, String> {
        let (burst, per_minute) = s
            .split_once(':')
            .ok_or_else(|| format!("expected BURST:PER_MINUTE, got {s:?}"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|e| format!("{v:?} in {s:?}: {e}"))
        };
        Ok(Rate {
            burst: parse(burst)?.max(1),
            per_minute: parse(per_minute)?,
        })
    }
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
