//! Starling: a real-time Twitter-like backend over WebSockets.
//!
//! Code map (each module owns one concept; see ARCHITECTURE.md for the path of a write):
//! - [`config`]: every flag and knob; never reads anything but flags and env vars.
//! - [`server`]: accept loop, HTTP routes, WebSocket upgrade; never holds state of its own.
//! - [`session`]: one socket's life (auth deadline, decode, dispatch, replies, pings); the
//!   socket's only writer.
//! - [`handlers`]: what each request does, as functions of (app, viewer, request); never
//!   touch a socket.
//! - [`app`]: the shared [`app::App`] and the one write path, `App::commit`.
//! - [`state`]: the in-memory graph in concurrent maps; never awaits, never does I/O.
//! - [`store`]: the sled operation log with group commit, metadata, refresh tokens; never
//!   interprets an operation.
//! - [`auth`]: argon2id passwords, JWT access tokens, rotating refresh tokens.
//! - [`error`]: `ApiError` (the client's mistake) and `Fault` (the server's).
//! - [`hub`]: subscriptions, replay history and the publisher; builds each event once and
//!   never waits on a socket.
//! - [`outbox`]: one socket's bounded queue of pushed events.
//! - [`ratelimit`]: token buckets per user and class, and per address.
//! - [`media`]: image validation by magic bytes, storage by hash, Media objects.
//! - [`metrics`]: Prometheus text at `GET /metrics`.
//! - [`web`]: the browser client, widget and client module served from the binary; CORS.
//! - [`bot`]: `starling seed` (synthetic graphs) and `starling bot` (the load generator);
//!   never used by the server itself.

pub mod app;
pub mod auth;
pub mod bot;
pub mod config;
pub mod error;
pub mod handlers;
pub mod hub;
pub mod media;
pub mod metrics;
pub mod outbox;
pub mod ratelimit;
pub mod server;
pub mod session;
pub mod state;
pub mod store;
pub mod web;

use app::App;
pub use config::Config;
pub use error::Fault;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// How long shutdown waits for sockets to close before writing the last flush anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves on `listener` until `shutdown` resolves, then stops accepting, closes every socket
/// with 1001, waits for them to drain and flushes the log. Errors only when the data folder
/// cannot be opened or read.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Fault> {
    raise_open_file_limit();
    let (stop_tx, stop_rx) = watch::channel(false);
    let flush_interval = Duration::from_millis(config.flush_interval_ms.max(1));
    let app = {
        let stop_rx = stop_rx.clone();
        tokio::task::spawn_blocking(move || App::open(config, stop_rx))
            .await
            .map_err(|e| Fault(format!("start-up task failed: {e}")))??
    };
    let app = Arc::new(app);
    let committer = {
        let app = app.clone();
        let stop_rx = stop_rx.clone();
        tokio::spawn(async move { app.store.run_committer(flush_interval, stop_rx).await })
    };
    let publisher = {
        let app = app.clone();
        let stop_rx = stop_rx.clone();
        tokio::spawn(async move { app.hub.run_publisher(&app, stop_rx).await })
    };
    let maintenance = tokio::spawn(maintain(app.clone(), stop_rx.clone()));
    let snapshots = tokio::spawn(snapshot_when_due(app.clone(), stop_rx.clone()));
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving");
    }
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    tokio::select! {
        _ = server::serve(listener, app.clone(), stop_rx.clone(), alive_tx) => {}
        _ = shutdown => {}
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    // Every connection task holds a sender; `recv` returns `None` once all are gone.
    if tokio::time::timeout(DRAIN_TIMEOUT, alive_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!("some sockets did not close in time");
    }
    let _ = committer.await;
    let _ = publisher.await;
    let _ = maintenance.await;
    let _ = snapshots.await;
    // Every write is in; a last snapshot makes the next start-up fast.
    {
        let app = app.clone();
        tokio::task::spawn_blocking(move || app.snapshot())
            .await
            .map_err(|e| Fault(format!("final snapshot task failed: {e}")))??;
    }
    app.store.flush_blocking()?;
    tracing::info!("stopped");
    Ok(())
}

/// Housekeeping every few seconds: idle streams, refilled rate buckets, expired
/// `client_key`s; hourly, expired refresh tokens.
async fn maintain(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        app.hub.sweep();
        app.limiter.prune();
        app.state.tweets.prune_client_keys(auth::now_ms());
        // Hourly: a full scan of the refresh-token records.
        ticks += 1;
        if ticks.is_multiple_of(360) {
            let worker = app.clone();
            let pruned = tokio::task::spawn_blocking(move || {
                auth::refresh::prune(
                    worker.store.tokens(),
                    auth::now_ms(),
                    worker.refresh_ttl_ms(),
                )
            })
            .await;
            if let Ok(Err(e)) = pruned {
                tracing::warn!(error = %e, "pruning refresh tokens failed");
            }
        }
    }
}

/// Takes a snapshot when the timer or the log's growth says so, one at a time.
async fn snapshot_when_due(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_secs(app.config.snapshot_interval_secs);
    let max_ops = app.config.snapshot_log_ops;
    let mut last_seq = app
        .store
        .manifest()
        .ok()
        .flatten()
        .map(|m| m.seq)
        .unwrap_or(0);
    let mut last_at = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let grown = app.store.appended().saturating_sub(last_seq);
        let timer_due = !interval.is_zero() && last_at.elapsed() >= interval && grown > 0;
        let size_due = max_ops > 0 && grown >= max_ops;
        if !(timer_due || size_due) {
            continue;
        }
        let worker = app.clone();
        match tokio::task::spawn_blocking(move || worker.snapshot()).await {
            Ok(Ok(stats)) => last_seq = stats.seq,
            Ok(Err(e)) => tracing::error!(error = %e, "snapshot failed; the log keeps everything"),
            Err(e) => tracing::error!(error = %e, "snapshot task failed"),
        }
        last_at = tokio::time::Instant::now();
    }
}

/// Raises the soft open-file limit to the hard one: each socket is a file descriptor.
pub fn raise_open_file_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
