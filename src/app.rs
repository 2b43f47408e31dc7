//! [`App`]: everything a handler needs (config, state, store, keys, hasher) and the one
//! write path, [`App::commit`].

use crate::auth::{self, Hasher, Keys};
use crate::config::Config;
use crate::error::{ApiError, Fault};
use crate::hub::{Hub, ReplayWindow};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::state::snapshot::Chunk;
use crate::state::State;
use crate::store::{Op, Seq, Store};
use base64::Engine as _;
use starling_protocol::{limits, Limits};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use tokio::sync::watch;

/// What a snapshot took.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotStats {
    pub seq: Seq,
    pub chunks: u32,
    pub bytes: u64,
    /// How long writers waited (the copy under the write lock).
    pub pause: std::time::Duration,
    /// The whole snapshot, writing and trimming included.
    pub total: std::time::Duration,
}

/// What a commit did: its place in the log (what a reply showing it must wait for).
#[derive(Debug, Clone, Copy)]
pub struct Committed {
    pub seq: Seq,
}

pub struct App {
    pub config: Config,
    pub state: State,
    pub store: Store,
    pub keys: Keys,
    pub hasher: Hasher,
    pub limiter: RateLimiter,
    pub metrics: Metrics,
    pub hub: Hub,
    /// Flips to `true` when the server shuts down; sessions close with 1001.
    pub shutdown: watch::Receiver<bool>,
    /// Serialises check → append → apply, so log order is apply order (see `commit`).
    write_lock: Mutex<()>,
    /// Set while a snapshot copies the state under the write lock.
    snapshotting: std::sync::atomic::AtomicBool,
    next_conn_id: AtomicU64,
}

impl App {
    /// Opens the store, replays the log into memory and loads (or makes) the JWT secret.
    /// Blocking: call it from `spawn_blocking`.
    pub fn open(config: Config, shutdown: watch::Receiver<bool>) -> Result<App, Fault> {
        let started = std::time::Instant::now();
        let store = Store::open(&config.data, config.durability)?;
        let (state, snapshot_seq) = match store.load_snapshot(|index, bytes| {
            Chunk::decode(bytes)
                .map_err(|e| Fault(format!("snapshot chunk {index} is corrupt: {e}")))
        })? {
            Some((manifest, decoded)) => {
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    bytes = manifest.bytes,
                    "snapshot read and decoded"
                );
                (State::restore(decoded), manifest.seq)
            }
            None => (State::default(), 0),
        };
        let replayed = store.replay(snapshot_seq, |_, op| {
            state.apply(&op);
        })?;
        tracing::info!(
            snapshot_seq,
            replayed,
            users = state.users.count(),
            tweets = state.tweets.count(),
            ms = started.elapsed().as_millis() as u64,
            "state loaded"
        );
        let secret = match &config.jwt_secret {
            Some(secret) if !secret.is_empty() => secret.as_bytes().to_vec(),
            _ => stored_secret(&store)?,
        };
        let keys = Keys::new(&secret, config.access_ttl_secs)?;
        let hasher = Hasher::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.hash_concurrency,
        )?;
        let window = ReplayWindow {
            events: config.replay_events,
            age: std::time::Duration::from_secs(config.replay_secs),
        };
        Ok(App {
            hub: Hub::new(window, store.appended()),
            limiter: RateLimiter::new(&config),
            metrics: Metrics::default(),
            config,
            state,
            store,
            keys,
            hasher,
            shutdown,
            write_lock: Mutex::new(()),
            snapshotting: std::sync::atomic::AtomicBool::new(false),
            next_conn_id: AtomicU64::new(1),
        })
    }

    /// The one way state changes. `check` runs under the write lock against the current
    /// state and returns the operation to make (or the client's error); the operation is
    /// appended to the log and only then applied, so whatever observes it is covered by its
    /// sequence number. The caller acknowledges once that number is durable.
    ///
    /// `check` may also find there is nothing to do (an idempotent request repeated) and
    /// return `None`: nothing is logged then.
    pub fn commit(
        &self,
        check: impl FnOnce(&State) -> Result<Option<Op>, ApiError>,
    ) -> Result<Committed, ApiError> {
        // A panic while holding the lock can only come from a bug in `apply`; the lock
        // guards no data of its own, so carrying on is no worse than the panic itself.
        let _guard = self.write_guard();
        let Some(op) = check(&self.state)? else {
            return Ok(Committed {
                seq: self.store.appended(),
            });
        };
        let seq = self.store.append(&op)?;
        let effects = self.state.apply(&op);
        // Still under the lock: events show this operation's state, and the hub's queue is
        // in log order.
        self.hub.enqueue(seq, crate::hub::prepare(self, &effects));
        Ok(Committed { seq })
    }

    /// Takes a snapshot: copies the state under the write lock (the only time writers
    /// wait), then encodes and writes it and trims the log it covers. Blocking: call it
    /// from `spawn_blocking`.
    pub fn snapshot(&self) -> Result<SnapshotStats, Fault> {
        let started = std::time::Instant::now();
        let (seq, chunks) = {
            let _guard = self.write_guard();
            self.snapshotting.store(true, Ordering::Release);
            let copied = (self.store.appended(), self.state.export());
            self.snapshotting.store(false, Ordering::Release);
            copied
        };
        let pause = started.elapsed();
        let manifest = self
            .store
            .write_snapshot(seq, chunks.iter().map(Chunk::encode))?;
        let stats = SnapshotStats {
            seq,
            chunks: manifest.chunks,
            bytes: manifest.bytes,
            pause,
            total: started.elapsed(),
        };
        let m = &self.metrics;
        m.snapshots.fetch_add(1, Ordering::Relaxed);
        m.snapshot_micros
            .fetch_add(stats.total.as_micros() as u64, Ordering::Relaxed);
        m.snapshot_pause_micros
            .store(pause.as_micros() as u64, Ordering::Relaxed);
        m.snapshot_bytes.store(stats.bytes, Ordering::Relaxed);
        tracing::info!(
            seq,
            chunks = stats.chunks,
            bytes = stats.bytes,
            pause_ms = pause.as_millis() as u64,
            total_ms = stats.total.as_millis() as u64,
            "snapshot written"
        );
        Ok(stats)
    }

    /// Takes the write lock. While a snapshot holds it (seconds, for a large state) a
    /// writer on a runtime worker hands that worker's other tasks to another thread first,
    /// so sockets keep being served; otherwise waits are a few microseconds and plain.
    fn write_guard(&self) -> std::sync::MutexGuard<'_, ()> {
        match self.write_lock.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                let lock = || {
                    self.write_lock
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                };
                if self.snapshotting.load(Ordering::Acquire) {
                    blocking(lock)
                } else {
                    lock()
                }
            }
        }
    }

    /// The limits advertised in the `auth` reply.
    pub fn limits(&self) -> Limits {
        Limits {
            text_graphemes: limits::TEXT_GRAPHEMES as u64,
            frame_bytes: limits::FRAME_BYTES as u64,
            media_bytes: limits::MEDIA_BYTES as u64,
            media_per_tweet: limits::MEDIA_PER_TWEET as u64,
            subscriptions: self.config.max_subscriptions as u64,
            page_max: limits::PAGE_MAX as u64,
            bio_chars: limits::BIO_CHARS as u64,
            display_name_chars: limits::DISPLAY_NAME_CHARS as u64,
        }
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The refresh-token lifetime in milliseconds.
    pub fn refresh_ttl_ms(&self) -> u64 {
        self.config.refresh_ttl_secs.saturating_mul(1000)
    }
}

/// The generated JWT secret kept in `meta`, made on first start.
fn stored_secret(store: &Store) -> Result<Vec<u8>, Fault> {
    if let Some(secret) = store.meta_get("jwt_secret")? {
        return Ok(secret);
    }
    let secret = base64::engine::general_purpose::STANDARD
        .encode(auth::random_bytes::<32>())
        .into_bytes();
    store.meta_put("jwt_secret", &secret)?;
    store.flush_blocking()?;
    tracing::info!("generated a JWT secret and kept it in the data folder");
    Ok(secret)
}

/// Runs blocking or CPU-heavy work from async code: on a multi-threaded runtime's worker it
/// first hands the worker's other tasks to another thread (`block_in_place`); anywhere else
/// (a current-thread runtime, a plain thread) it just runs.
pub fn blocking<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}
