//! Durable storage in sled: the operation log with group commit, metadata, refresh tokens.
//!
//! The interface is narrow on purpose (open, append, wait for durability, replay, metadata),
//! so another engine, or a shared log for several nodes, is a local change. The store never
//! knows what an operation means; the state never knows how it is stored.
//!
//! Group commit: appending only writes into sled's in-memory pages and wakes the committer
//! task; the committer flushes (one fsync) and then publishes the highest sequence number the
//! flush covered. Every write appended while a flush runs is covered by the next one, so under
//! load one fsync acknowledges a whole batch.

pub mod op;
pub mod snapshot;

use crate::config::Durability;
use crate::error::Fault;
pub use op::Op;
pub use snapshot::Manifest;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The on-disk format version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A file in the data folder saying a Starling database lives there, so a database whose
/// contents vanished is told apart from a new one.
const MARKER: &str = "STARLING";
const MARKER_TEXT: &str = "This folder holds a Starling database (sled). Do not edit.\n";

/// A position in the log. Sequence numbers start at 1 and rise by one per operation.
pub type Seq = u64;

pub struct Store {
    db: sled::Db,
    log: sled::Tree,
    meta: sled::Tree,
    tokens: sled::Tree,
    media: sled::Tree,
    snapshot: sled::Tree,
    durability: Durability,
    /// The last sequence number appended (visible in memory, maybe not yet on disk).
    appended: AtomicU64,
    /// The last sequence number known to be on disk.
    durable: watch::Sender<Seq>,
    /// Wakes the committer when something waits for a flush.
    flush_wanted: Notify,
    flushes: AtomicU64,
    flushed_ops: AtomicU64,
    flush_micros: AtomicU64,
}

/// Group-commit counters, for metrics.
#[derive(Debug, Clone, Copy)]
pub struct FlushStats {
    pub flushes: u64,
    pub ops: u64,
    pub micros: u64,
}

impl Store {
    /// Opens (or creates) the database in `dir`, refusing one it cannot read.
    pub fn open(dir: &Path, durability: Durability) -> Result<Store, Fault> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Fault(format!("cannot create data folder {}: {e}", dir.display())))?;
        let marker = dir.join(MARKER);
        let existed = marker.exists();
        let config = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            // Flushing is ours: the committer flushes on demand (sync) or on a timer (relaxed).
            .flush_every_ms(None);
        // The previous holder of the folder may still be letting go of its lock (a restart in
        // the same process, or a process that is just exiting): wait a little for it.
        let mut attempts = 0;
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(e) if e.to_string().contains("could not acquire lock") && attempts < 50 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => {
                    return Err(Fault(format!(
                        "cannot open data folder {}: {e}",
                        dir.display()
                    )))
                }
            }
        };
        let meta = db.open_tree("meta")?;
        match meta.get("schema")? {
            None if existed => {
                return Err(Fault(format!(
                    "data folder {} is damaged: it was a Starling database but its contents \
                     are gone (no schema version); restore it from a backup",
                    dir.display()
                )));
            }
            None if db.tree_names().len() > 2 || !db.is_empty() => {
                return Err(Fault(format!(
                    "data folder {} holds data but no schema version: not a Starling database",
                    dir.display()
                )));
            }
            None => {
                meta.insert("schema", &SCHEMA_VERSION.to_be_bytes())?;
                db.flush()?;
                std::fs::write(&marker, MARKER_TEXT)
                    .map_err(|e| Fault(format!("cannot write {}: {e}", marker.display())))?;
            }
            Some(v) => {
                let version = <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| Fault("the schema version in meta is corrupt".into()))?;
                if version > SCHEMA_VERSION {
                    return Err(Fault(format!(
                        "data folder {} was written by a newer Starling (schema {version}, this \
                         build reads up to {SCHEMA_VERSION})",
                        dir.display()
                    )));
                }
            }
        }
        let log = db.open_tree("log")?;
        let tokens = db.open_tree("tokens")?;
        let media = db.open_tree("media")?;
        let snapshot = db.open_tree("snapshot")?;
        let logged = match log.last()? {
            Some((key, _)) => seq_of(&key)?,
            None => 0,
        };
        let snapshotted = match meta.get("snapshot")? {
            Some(bytes) => {
                rmp_serde::from_slice::<Manifest>(&bytes)
                    .map_err(|e| Fault(format!("the snapshot manifest is corrupt: {e}")))?
                    .seq
            }
            None => 0,
        };
        // The log may be trimmed empty right after a snapshot: numbering continues after both.
        let last = logged.max(snapshotted);
        Ok(Store {
            db,
            log,
            meta,
            tokens,
            media,
            snapshot,
            durability,
            appended: AtomicU64::new(last),
            durable: watch::channel(last).0,
            flush_wanted: Notify::new(),
            flushes: AtomicU64::new(0),
            flushed_ops: AtomicU64::new(0),
            flush_micros: AtomicU64::new(0),
        })
    }

    /// Every logged operation after `after` (the snapshot's sequence number), in order, for
    /// start-up. A record that does not decode, or a hole in the numbering, stops start-up:
    /// carrying on would serve a state that never existed.
    pub fn replay(&self, after: Seq, mut apply: impl FnMut(Seq, Op)) -> Result<u64, Fault> {
        let mut count = 0;
        for (expected, entry) in (after + 1..).zip(self.log.range((after + 1).to_be_bytes()..)) {
            let (key, value) = entry?;
            let seq = seq_of(&key)?;
            if seq != expected {
                return Err(Fault(format!(
                    "the log is missing records {expected} to {}: the data folder is damaged",
                    seq - 1
                )));
            }
            let op = Op::decode(&value)
                .map_err(|e| Fault(format!("log record {seq} is corrupt: {e}")))?;
            apply(seq, op);
            count += 1;
        }
        Ok(count)
    }

    /// Appends one operation and returns its sequence number. The caller holds the write
    /// lock, so sequence order is the order operations are applied in.
    pub fn append(&self, op: &Op) -> Result<Seq, Fault> {
        let seq = self.appended.load(Ordering::Acquire) + 1;
        self.log.insert(seq.to_be_bytes(), op.encode())?;
        self.appended.store(seq, Ordering::Release);
        if self.durability == Durability::Sync {
            self.flush_wanted.notify_one();
        }
        Ok(seq)
    }

    /// The last sequence number appended: anything a reader sees now is covered by it.
    pub fn appended(&self) -> Seq {
        self.appended.load(Ordering::Acquire)
    }

    /// Whether replies must wait for the flush that covers what they show.
    pub fn acks_wait_for_flush(&self) -> bool {
        self.durability == Durability::Sync
    }

    /// A receiver of the durable sequence number, for sessions that hold replies until it
    /// covers them. (A failed flush stops the process, so it does not close in practice.)
    pub fn durable(&self) -> watch::Receiver<Seq> {
        self.durable.subscribe()
    }

    /// Waits until `seq` is on disk (at once in relaxed mode).
    pub async fn wait_durable(&self, seq: Seq) -> Result<(), Fault> {
        if !self.acks_wait_for_flush() {
            return Ok(());
        }
        let mut rx = self.durable.subscribe();
        self.flush_wanted.notify_one();
        rx.wait_for(|d| *d >= seq)
            .await
            .map(|_| ())
            .map_err(|_| Fault("the log committer stopped".into()))
    }

    /// Flushes everything written so far, outside the log's batching (refresh tokens).
    pub async fn sync(&self) -> Result<(), Fault> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// The group-commit loop. Runs until `stop` resolves, then flushes one last time.
    pub async fn run_committer(&self, flush_interval: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            let stopping = match self.durability {
                Durability::Sync => tokio::select! {
                    _ = self.flush_wanted.notified() => false,
                    _ = stop.changed() => true,
                },
                Durability::Relaxed => tokio::select! {
                    _ = tokio::time::sleep(flush_interval) => false,
                    _ = stop.changed() => true,
                },
            };
            let target = self.appended();
            let previous = *self.durable.borrow();
            if target > previous || stopping {
                let started = std::time::Instant::now();
                if let Err(e) = self.db.flush_async().await {
                    // Fail-stop, as databases do on a failed fsync: what is on disk can no
                    // longer be known, so nothing more may be acknowledged or shown. A
                    // restart recovers from what the disk holds.
                    tracing::error!(error = %e, "log flush failed; stopping the server");
                    eprintln!("starling: log flush failed ({e}); stopping");
                    std::process::exit(70);
                }
                self.durable.send_replace(target);
                self.flushes.fetch_add(1, Ordering::Relaxed);
                self.flushed_ops
                    .fetch_add(target.saturating_sub(previous), Ordering::Relaxed);
                self.flush_micros
                    .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
            if stopping || *stop.borrow() {
                return;
            }
        }
    }

    pub fn flush_stats(&self) -> FlushStats {
        FlushStats {
            flushes: self.flushes.load(Ordering::Relaxed),
            ops: self.flushed_ops.load(Ordering::Relaxed),
            micros: self.flush_micros.load(Ordering::Relaxed),
        }
    }

    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, Fault> {
        Ok(self.meta.get(key)?.map(|v| v.to_vec()))
    }

    pub fn meta_put(&self, key: &str, value: &[u8]) -> Result<(), Fault> {
        self.meta.insert(key, value)?;
        Ok(())
    }

    /// Stores an image's bytes under their hash (content-addressed: the same bytes are
    /// stored once). Durable with the next flush, like the log.
    pub fn put_blob(&self, hash: &str, bytes: &[u8]) -> Result<(), Fault> {
        if !self.media.contains_key(hash)? {
            self.media.insert(hash, bytes)?;
        }
        Ok(())
    }

    pub fn get_blob(&self, hash: &str) -> Result<Option<sled::IVec>, Fault> {
        Ok(self.media.get(hash)?)
    }

    /// The refresh-token tree (hashes only; see `auth::refresh`).
    pub fn tokens(&self) -> &sled::Tree {
        &self.tokens
    }
}

fn seq_of(key: &[u8]) -> Result<Seq, Fault> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| Fault("a log key is corrupt".into()))
}

impl Store {
    /// Flushes everything from a blocking context (start-up).
    pub fn flush_blocking(&self) -> Result<(), Fault> {
        self.db.flush()?;
        Ok(())
    }
}
