//! Prometheus text exposition at `GET /metrics`: sockets, frames and bytes by codec,
//! requests by type and outcome, fan-out deliveries and overflows, log flushes, snapshots,
//! and the process's resident memory and CPU time.

use crate::app::App;
use dashmap::DashMap;
use starling_protocol::Codec;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters the session and the HTTP routes update as they go.
#[derive(Default)]
pub struct Metrics {
    pub sockets_open: AtomicI64,
    pub sockets_authenticated: AtomicI64,
    frames_in: [AtomicU64; 2],
    bytes_in: [AtomicU64; 2],
    frames_out: [AtomicU64; 2],
    bytes_out: [AtomicU64; 2],
    /// (request type, outcome: `ok` or the error code) → count.
    requests: DashMap<(&'static str, &'static str), AtomicU64>,
    /// Close codes the server sent → count.
    closes: DashMap<u16, AtomicU64>,
    pub snapshots: AtomicU64,
    pub snapshot_micros: AtomicU64,
    pub snapshot_pause_micros: AtomicU64,
    pub snapshot_bytes: AtomicU64,
}

impl Metrics {
    pub fn frame_in(&self, codec: Codec, bytes: usize) {
        self.frames_in[codec.index()].fetch_add(1, Ordering::Relaxed);
        self.bytes_in[codec.index()].fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn frame_out(&self, codec: Codec, bytes: usize) {
        self.frames_out[codec.index()].fetch_add(1, Ordering::Relaxed);
        self.bytes_out[codec.index()].fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn request(&self, kind: &'static str, outcome: &'static str) {
        if let Some(n) = self.requests.get(&(kind, outcome)) {
            n.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.requests
            .entry((kind, outcome))
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn closed(&self, code: u16) {
        self.closes
            .entry(code)
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// The whole exposition.
pub fn render(app: &App) -> String {
    let m = &app.metrics;
    let mut out = String::with_capacity(4096);
    let mut gauge = |name: &str, help: &str, kind: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let one = |v: f64| vec![(String::new(), v)];
    let by_codec = |a: &[AtomicU64; 2]| {
        Codec::ALL
            .iter()
            .map(|c| {
                (
                    format!("{{codec=\"{}\"}}", c.name()),
                    a[c.index()].load(Ordering::Relaxed) as f64,
                )
            })
            .collect::<Vec<_>>()
    };
    gauge(
        "starling_sockets_open",
        "WebSocket connections open.",
        "gauge",
        &one(m.sockets_open.load(Ordering::Relaxed) as f64),
    );
    gauge(
        "starling_sockets_authenticated",
        "WebSocket connections past authentication.",
        "gauge",
        &one(m.sockets_authenticated.load(Ordering::Relaxed) as f64),
    );
    gauge(
        "starling_frames_in_total",
        "Data frames received.",
        "counter",
        &by_codec(&m.frames_in),
    );
    gauge(
        "starling_bytes_in_total",
        "Bytes of data frames received.",
        "counter",
        &by_codec(&m.bytes_in),
    );
    gauge(
        "starling_frames_out_total",
        "Data frames sent (replies and events).",
        "counter",
        &by_codec(&m.frames_out),
    );
    gauge(
        "starling_bytes_out_total",
        "Bytes of data frames sent.",
        "counter",
        &by_codec(&m.bytes_out),
    );
    let mut requests: Vec<(String, f64)> = m
        .requests
        .iter()
        .map(|e| {
            (
                format!("{{type=\"{}\",outcome=\"{}\"}}", e.key().0, e.key().1),
                e.value().load(Ordering::Relaxed) as f64,
            )
        })
        .collect();
    requests.sort_by(|a, b| a.0.cmp(&b.0));
    gauge(
        "starling_requests_total",
        "WebSocket requests by type and outcome.",
        "counter",
        &requests,
    );
    let mut closes: Vec<(String, f64)> = m
        .closes
        .iter()
        .map(|e| {
            (
                format!("{{code=\"{}\"}}", e.key()),
                e.value().load(Ordering::Relaxed) as f64,
            )
        })
        .collect();
    closes.sort_by(|a, b| a.0.cmp(&b.0));
    gauge(
        "starling_closes_total",
        "Sockets closed by the server, by close code.",
        "counter",
        &closes,
    );
    gauge(
        "starling_fanout_deliveries_total",
        "Events pushed to socket outboxes.",
        "counter",
        &one(app.hub.deliveries.load(Ordering::Relaxed) as f64),
    );
    gauge(
        "starling_outbox_overflows_total",
        "Pushes refused by a full outbox (the socket is closed with 4013).",
        "counter",
        &one(app.hub.overflows.load(Ordering::Relaxed) as f64),
    );
    gauge(
        "starling_streams",
        "Streams with subscribers or replay history.",
        "gauge",
        &one(app.hub.stream_count() as f64),
    );
    let flush = app.store.flush_stats();
    gauge(
        "starling_log_flushes_total",
        "Group-commit flushes of the log.",
        "counter",
        &one(flush.flushes as f64),
    );
    gauge(
        "starling_log_flushed_ops_total",
        "Operations made durable by those flushes.",
        "counter",
        &one(flush.ops as f64),
    );
    gauge(
        "starling_log_flush_seconds_total",
        "Time spent in log flushes.",
        "counter",
        &one(flush.micros as f64 / 1e6),
    );
    gauge(
        "starling_log_appended",
        "The last log sequence number appended.",
        "gauge",
        &one(app.store.appended() as f64),
    );
    gauge(
        "starling_snapshots_total",
        "Snapshots written.",
        "counter",
        &one(m.snapshots.load(Ordering::Relaxed) as f64),
    );
    gauge(
        "starling_snapshot_seconds_total",
        "Time spent writing snapshots.",
        "counter",
        &one(m.snapshot_micros.load(Ordering::Relaxed) as f64 / 1e6),
    );
    gauge(
        "starling_snapshot_pause_seconds_last",
        "How long writers waited during the last snapshot.",
        "gauge",
        &one(m.snapshot_pause_micros.load(Ordering::Relaxed) as f64 / 1e6),
    );
    gauge(
        "starling_snapshot_bytes_last",
        "Size of the last snapshot.",
        "gauge",
        &one(m.snapshot_bytes.load(Ordering::Relaxed) as f64),
    );
    gauge(
        "starling_users",
        "Accounts.",
        "gauge",
        &one(app.state.users.count() as f64),
    );
    gauge(
        "starling_tweets",
        "Tweets held (retweets included).",
        "gauge",
        &one(app.state.tweets.count() as f64),
    );
    let (rss, cpu) = process_usage();
    gauge(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        "gauge",
        &one(rss as f64),
    );
    gauge(
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        "counter",
        &one(cpu),
    );
    out
}

/// Resident bytes and CPU seconds of this process, from /proc (zeros elsewhere).
pub fn process_usage() -> (u64, f64) {
    // SAFETY: sysconf only reads a system constant.
    let (page, ticks) = unsafe {
        (
            libc::sysconf(libc::_SC_PAGESIZE),
            libc::sysconf(libc::_SC_CLK_TCK),
        )
    };
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * page.max(1) as u64)
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces) start after ") ".
            let rest = s.rsplit_once(") ")?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / ticks.max(1) as f64)
        })
        .unwrap_or(0.0);
    (rss, cpu)
}
