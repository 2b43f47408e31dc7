//! `starling bot`: the load generator. It connects many sockets to a running server as
//! seeded users (minting their tokens with the server's `--jwt-secret`), runs one scenario
//! for a bounded time, and reports what it measured, with the server's CPU per delivery or
//! request read from `/metrics` (the figure that stays fair when bot and server share a
//! machine).
//!
//! Scenarios: `connect` (idle subscribed sockets; connect rate; server memory per socket),
//! `fanout` (publishers at a fixed open-loop rate to a hashtag every subscriber follows;
//! latency from publish to receipt; loss and duplicates), `celebrity` (one user's posts to
//! all their online followers; time to the last one), `ingest` (acknowledged posts per
//! second with a window of requests in flight), `mixed` (reads, likes, follows, posts).

pub mod client;
pub mod seed;

use crate::auth::Keys;
use crate::error::Fault;
use clap::{Args, ValueEnum};
use client::{BotConn, Incoming};
use serde::Serialize;
use starling_protocol::{req, Codec, Request};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    Connect,
    Fanout,
    Celebrity,
    Ingest,
    Mixed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CodecArg {
    Json,
    Msgpack,
}

#[derive(Debug, Clone, Args)]
pub struct BotArgs {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub server: SocketAddr,
    /// The server's JWT secret, to mint tokens for seeded users.
    #[arg(long, env = "STARLING_JWT_SECRET")]
    pub jwt_secret: String,
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Sockets (subscribers, writers or readers, by scenario).
    #[arg(long, default_value_t = 100)]
    pub sockets: usize,
    /// How long the load runs.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// fanout: posts per second over all publishers; mixed: requests per second overall.
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// fanout: publishing sockets.
    #[arg(long, default_value_t = 2)]
    pub publishers: usize,
    /// ingest: requests in flight per socket.
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// celebrity: the celebrity's user id; its followers are the users after it.
    #[arg(long, default_value_t = 1)]
    pub celebrity: u64,
    /// celebrity: posts to make.
    #[arg(long, default_value_t = 10)]
    pub posts: usize,
    /// The first seeded user id the bot signs in as.
    #[arg(long, default_value_t = 1)]
    pub first_user: u64,
    #[arg(long, value_enum, default_value = "json")]
    pub codec: CodecArg,
    /// Source addresses to spread sockets over (127.0.0.2 onwards), past the ~28k ephemeral
    /// ports of one address.
    #[arg(long, default_value_t = 8)]
    pub sources: u8,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
}

impl BotArgs {
    fn codec(&self) -> Codec {
        match self.codec {
            CodecArg::Json => Codec::Json,
            CodecArg::Msgpack => Codec::MsgPack,
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    fn of(mut micros: Vec<u64>) -> Latency {
        if micros.is_empty() {
            return Latency::default();
        }
        micros.sort_unstable();
        let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
        Latency {
            samples: micros.len(),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: *micros.last().unwrap_or(&0) as f64 / 1000.0,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub scenario: String,
    pub codec: String,
    pub sockets: usize,
    pub seconds: f64,
    /// Requests sent and acknowledged (posts for fanout, celebrity, ingest).
    pub sent: u64,
    pub acked: u64,
    pub errors: u64,
    /// Events that should have arrived, arrived (unique), and arrived twice.
    pub expected_deliveries: u64,
    pub received: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub per_second: f64,
    pub latency: Latency,
    /// celebrity: per post, the time until its last follower had it.
    pub time_to_last: Latency,
    pub connect_per_second: f64,
    pub server_rss_before: u64,
    pub server_rss_after: u64,
    pub server_rss_per_socket: f64,
    pub server_cpu_seconds: f64,
    /// Server CPU per delivery (fanout, celebrity) or per request (ingest, mixed), in µs.
    pub server_cpu_us_per_op: f64,
}

impl Report {
    pub fn human(&self) -> String {
        let mut s = format!(
            "scenario {} ({}), {} sockets, {:.1} s\n",
            self.scenario, self.codec, self.sockets, self.seconds
        );
        s += &format!(
            "  requests: sent {} acked {} errors {}\n",
            self.sent, self.acked, self.errors
        );
        if self.expected_deliveries > 0 {
            s += &format!(
                "  deliveries: expected {} received {} lost {} duplicates {}\n",
                self.expected_deliveries, self.received, self.lost, self.duplicates
            );
        }
        s += &format!("  throughput: {:.0}/s\n", self.per_second);
        if self.latency.samples > 0 {
            s += &format!(
                "  latency ms: p50 {:.2} p99 {:.2} p999 {:.2} max {:.2} ({} samples)\n",
                self.latency.p50_ms,
                self.latency.p99_ms,
                self.latency.p999_ms,
                self.latency.max_ms,
                self.latency.samples
            );
        }
        if self.time_to_last.samples > 0 {
            s += &format!(
                "  time to last follower ms: p50 {:.1} max {:.1}\n",
                self.time_to_last.p50_ms, self.time_to_last.max_ms
            );
        }
        if self.connect_per_second > 0.0 {
            s += &format!("  connects/s: {:.0}\n", self.connect_per_second);
        }
        s += &format!(
            "  server: rss {} → {} bytes ({:.0} bytes/socket), cpu {:.2} s ({:.2} µs/op)\n",
            self.server_rss_before,
            self.server_rss_after,
            self.server_rss_per_socket,
            self.server_cpu_seconds,
            self.server_cpu_us_per_op
        );
        s
    }
}

/// Runs one scenario and returns its report.
pub async fn run(args: &BotArgs) -> Result<Report, Fault> {
    crate::raise_open_file_limit();
    let keys = Keys::new(args.jwt_secret.as_bytes(), 3600)?;
    let before = client::server_usage(args.server).await?;
    let started = Instant::now();
    let mut report = match args.scenario {
        Scenario::Connect => connect(args, &keys).await?,
        Scenario::Fanout => fanout(args, &keys).await?,
        Scenario::Celebrity => celebrity(args, &keys).await?,
        Scenario::Ingest => ingest(args, &keys).await?,
        Scenario::Mixed => mixed(args, &keys).await?,
    };
    let after = client::server_usage(args.server).await?;
    report.scenario = format!("{:?}", args.scenario).to_lowercase();
    report.codec = args.codec().name().to_owned();
    if report.seconds == 0.0 {
        report.seconds = started.elapsed().as_secs_f64();
    }
    report.server_rss_before = before.0;
    report.server_rss_after = after.0;
    report.server_cpu_seconds = after.1 - before.1;
    let ops = match args.scenario {
        Scenario::Fanout | Scenario::Celebrity => report.received,
        _ => report.acked,
    };
    if ops > 0 {
        report.server_cpu_us_per_op = report.server_cpu_seconds * 1e6 / ops as f64;
    }
    Ok(report)
}

fn token(keys: &Keys, user: u64) -> String {
    keys.issue_user(user, &format!("user{user}")).0
}

fn progress(args: &BotArgs, line: String) {
    if !args.quiet {
        eprintln!("[bot] {line}");
    }
}

/// Opens and authenticates `count` sockets as users `first..`, `concurrency` at a time.
async fn open_many(
    args: &BotArgs,
    keys: &Keys,
    first: u64,
    count: usize,
) -> Result<Vec<BotConn>, Fault> {
    let mut conns = Vec::with_capacity(count);
    let mut pending = futures::stream::FuturesUnordered::new();
    let mut next = 0usize;
    use futures::StreamExt;
    // Enough handshakes in flight to keep the server busy without a SYN flood.
    const CONCURRENCY: usize = 256;
    while conns.len() < count {
        while next < count && pending.len() < CONCURRENCY {
            let user = first + next as u64;
            let source = client::source_addr(args.sources, next);
            let t = token(keys, user);
            let server = args.server;
            let codec = args.codec();
            pending.push(async move { BotConn::open(server, source, codec, user, &t).await });
            next += 1;
        }
        match pending.next().await {
            Some(Ok(conn)) => {
                conns.push(conn);
                if conns.len() % 1000 == 0 {
                    progress(args, format!("{} sockets connected", conns.len()));
                }
            }
            Some(Err(e)) => return Err(e),
            None => break,
        }
    }
    Ok(conns)
}

async fn connect(args: &BotArgs, keys: &Keys) -> Result<Report, Fault> {
    let before = client::server_usage(args.server).await?;
    let started = Instant::now();
    let mut conns = open_many(args, keys, args.first_user, args.sockets).await?;
    subscribe_all(&mut conns, "home").await?;
    let connect_secs = started.elapsed().as_secs_f64();
    progress(
        args,
        format!(
            "{} sockets authenticated and subscribed in {connect_secs:.1} s",
            conns.len()
        ),
    );
    // Let the server settle, then hold the sockets idle for the rest of the run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = client::server_usage(args.server).await?;
    let hold = Duration::from_secs(args.duration_secs.saturating_sub(2));
    tokio::time::sleep(hold).await;
    let n = conns.len();
    drop(conns);
    Ok(Report {
        sockets: n,
        seconds: started.elapsed().as_secs_f64(),
        sent: n as u64,
        acked: n as u64,
        connect_per_second: n as f64 / connect_secs.max(1e-9),
        server_rss_per_socket: (during.0 as f64 - before.0 as f64) / n.max(1) as f64,
        ..Report::default()
    })
}

/// (sent at, received at) in micros since the run's epoch, for every receipt.
type Arrivals = Arc<Mutex<Vec<(u64, u64)>>>;

/// What receivers collected.
#[derive(Default)]
struct Received {
    unique: u64,
    duplicates: u64,
    latencies: Vec<u64>,
}

/// Reads events on `conn` until `stop`, recording each tweet's latency (the text carries the
/// micros since `epoch` at which it was sent) and duplicates.
fn receive(
    mut conn: BotConn,
    epoch: Instant,
    stop: Arc<AtomicBool>,
    live: Arc<AtomicU64>,
    out: Arc<Mutex<Received>>,
    arrivals: Option<Arrivals>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen = HashSet::new();
        let mut local = Received::default();
        let mut mine = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let frame = match tokio::time::timeout(Duration::from_millis(200), conn.next()).await {
                Ok(Ok(Some(f))) => f,
                Ok(_) => break,
                Err(_) => continue,
            };
            if let Incoming::Event {
                tweet_id: Some(id),
                text,
            } = frame
            {
                let now = epoch.elapsed().as_micros() as u64;
                if !seen.insert(id) {
                    local.duplicates += 1;
                    continue;
                }
                local.unique += 1;
                live.fetch_add(1, Ordering::Relaxed);
                if let Some(sent) = text.as_deref().and_then(client::sent_micros) {
                    local.latencies.push(now.saturating_sub(sent));
                    mine.push((sent, now));
                }
            }
        }
        let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
        o.unique += local.unique;
        o.duplicates += local.duplicates;
        o.latencies.extend(local.latencies);
        if let Some(a) = arrivals {
            a.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
        }
    })
}

/// Subscribes every socket to `stream`: all requests first, then all replies.
async fn subscribe_all(conns: &mut [BotConn], stream: &str) -> Result<(), Fault> {
    for c in conns.iter_mut() {
        c.send(Request::Subscribe(req::Subscribe {
            stream: stream.to_owned(),
            since: None,
        }))
        .await?;
    }
    for c in conns.iter_mut() {
        c.expect_reply().await?;
    }
    Ok(())
}

async fn fanout(args: &BotArgs, keys: &Keys) -> Result<Report, Fault> {
    let mut subs_ready = open_many(args, keys, args.first_user, args.sockets).await?;
    subscribe_all(&mut subs_ready, "hashtag:bench").await?;
    let publishers = open_many(
        args,
        keys,
        args.first_user + args.sockets as u64,
        args.publishers.max(1),
    )
    .await?;
    let epoch = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(Mutex::new(Received::default()));
    let live = Arc::new(AtomicU64::new(0));
    let receivers: Vec<_> = subs_ready
        .into_iter()
        .map(|c| receive(c, epoch, stop.clone(), live.clone(), received.clone(), None))
        .collect();
    let sent = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = epoch + Duration::from_secs(args.duration_secs);
    let per_publisher = args.rate / publishers.len() as f64;
    let mut tasks = Vec::new();
    for mut p in publishers {
        let (sent, acked, errors) = (sent.clone(), acked.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            // Open loop: posts go out on the clock, replies are counted as they come.
            let period = Duration::from_secs_f64(1.0 / per_publisher.max(0.001));
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut outstanding = 0u64;
            loop {
                tokio::select! {
                    _ = tick.tick(), if Instant::now() < deadline => {
                        let text = format!("bench {} #bench", epoch.elapsed().as_micros());
                        if p.send(Request::Post(req::Post { text, ..Default::default() })).await.is_err() { break; }
                        sent.fetch_add(1, Ordering::Relaxed);
                        outstanding += 1;
                    }
                    frame = p.next() => match frame {
                        Ok(Some(Incoming::Result)) => { acked.fetch_add(1, Ordering::Relaxed); outstanding -= 1; }
                        Ok(Some(Incoming::Error(_))) => { errors.fetch_add(1, Ordering::Relaxed); outstanding -= 1; }
                        Ok(Some(_)) => {}
                        _ => break,
                    },
                }
                if Instant::now() >= deadline && outstanding == 0 {
                    break;
                }
            }
        }));
    }
    let mut last_report = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            progress(
                args,
                format!(
                    "posts sent {} acked {}",
                    sent.load(Ordering::Relaxed),
                    acked.load(Ordering::Relaxed)
                ),
            );
        }
    }
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    let elapsed = epoch.elapsed().as_secs_f64();
    // Stragglers: wait until every expected delivery is in, or 5 s of nothing new.
    let acked_posts = acked.load(Ordering::Relaxed);
    let expected = acked_posts * args.sockets as u64;
    let mut last = 0;
    let mut quiet_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let got = live.load(Ordering::Relaxed);
        if got >= expected || quiet_since.elapsed() > Duration::from_secs(5) {
            break;
        }
        if got != last {
            last = got;
            quiet_since = Instant::now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in receivers {
        let _ = r.await;
    }
    let r = received.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Report {
        sockets: args.sockets,
        seconds: elapsed,
        sent: sent.load(Ordering::Relaxed),
        acked: acked_posts,
        errors: errors.load(Ordering::Relaxed),
        expected_deliveries: expected,
        received: r.unique,
        lost: expected.saturating_sub(r.unique),
        duplicates: r.duplicates,
        per_second: r.unique as f64 / elapsed.max(1e-9),
        latency: Latency::of(r.latencies.clone()),
        ..Report::default()
    })
}

async fn celebrity(args: &BotArgs, keys: &Keys) -> Result<Report, Fault> {
    let mut ready = open_many(args, keys, args.celebrity + 1, args.sockets).await?;
    subscribe_all(&mut ready, "home").await?;
    let mut star = open_many(args, keys, args.celebrity, 1).await?.remove(0);
    let epoch = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(Mutex::new(Received::default()));
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let live = Arc::new(AtomicU64::new(0));
    let receivers: Vec<_> = ready
        .into_iter()
        .map(|c| {
            receive(
                c,
                epoch,
                stop.clone(),
                live.clone(),
                received.clone(),
                Some(arrivals.clone()),
            )
        })
        .collect();
    let gap = Duration::from_secs_f64(args.duration_secs as f64 / args.posts.max(1) as f64);
    let (mut acked, mut errors) = (0u64, 0u64);
    let mut sent_at = Vec::new();
    for i in 0..args.posts {
        let sent = epoch.elapsed().as_micros() as u64;
        star.send(Request::Post(req::Post {
            text: format!("bench {sent} celebrity post {i}"),
            ..Default::default()
        }))
        .await?;
        match star.expect_reply().await {
            Ok(()) => acked += 1,
            Err(_) => errors += 1,
        }
        sent_at.push(sent);
        progress(args, format!("celebrity post {} of {}", i + 1, args.posts));
        tokio::time::sleep(gap).await;
    }
    let expected = acked * args.sockets as u64;
    // Until every delivery is in, or 5 s of nothing new.
    let (mut last, mut quiet) = (0, Instant::now());
    while live.load(Ordering::Relaxed) < expected && quiet.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let got = live.load(Ordering::Relaxed);
        if got != last {
            last = got;
            quiet = Instant::now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in receivers {
        let _ = r.await;
    }
    let elapsed = epoch.elapsed().as_secs_f64();
    let r = received.lock().unwrap_or_else(|e| e.into_inner());
    let arrivals = arrivals.lock().unwrap_or_else(|e| e.into_inner());
    let to_last: Vec<u64> = sent_at
        .iter()
        .filter_map(|s| {
            arrivals
                .iter()
                .filter(|(sent, _)| sent == s)
                .map(|(_, at)| at - s)
                .max()
        })
        .collect();
    Ok(Report {
        sockets: args.sockets,
        seconds: elapsed,
        sent: args.posts as u64,
        acked,
        errors,
        expected_deliveries: expected,
        received: r.unique,
        lost: expected.saturating_sub(r.unique),
        duplicates: r.duplicates,
        per_second: r.unique as f64 / elapsed.max(1e-9),
        latency: Latency::of(r.latencies.clone()),
        time_to_last: Latency::of(to_last),
        ..Report::default()
    })
}

async fn ingest(args: &BotArgs, keys: &Keys) -> Result<Report, Fault> {
    let conns = open_many(args, keys, args.first_user, args.sockets).await?;
    let epoch = Instant::now();
    let deadline = epoch + Duration::from_secs(args.duration_secs);
    let mut tasks = Vec::new();
    for mut c in conns {
        let window = args.window.max(1);
        tasks.push(tokio::spawn(async move {
            let (mut sent, mut acked, mut errors, mut outstanding) = (0u64, 0u64, 0u64, 0usize);
            let mut latencies = Vec::new();
            let mut in_flight = std::collections::VecDeque::new();
            loop {
                while outstanding < window && Instant::now() < deadline {
                    let text = format!("ingest {} from a bot", sent);
                    if c.send(Request::Post(req::Post {
                        text,
                        ..Default::default()
                    }))
                    .await
                    .is_err()
                    {
                        return (sent, acked, errors, latencies);
                    }
                    in_flight.push_back(Instant::now());
                    sent += 1;
                    outstanding += 1;
                }
                if outstanding == 0 {
                    break;
                }
                match c.next().await {
                    Ok(Some(Incoming::Result)) => {
                        acked += 1;
                        outstanding -= 1;
                        if let Some(t) = in_flight.pop_front() {
                            latencies.push(t.elapsed().as_micros() as u64);
                        }
                    }
                    Ok(Some(Incoming::Error(_))) => {
                        errors += 1;
                        outstanding -= 1;
                        in_flight.pop_front();
                    }
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            (sent, acked, errors, latencies)
        }));
    }
    Ok(tally(tasks, epoch, args.sockets).await)
}

/// What one request-making task did: sent, acknowledged, refused, latencies in µs.
type Tally = (u64, u64, u64, Vec<u64>);

/// Adds up the tasks' tallies into a report of requests per second.
async fn tally(
    tasks: Vec<tokio::task::JoinHandle<Tally>>,
    epoch: Instant,
    sockets: usize,
) -> Report {
    let (mut sent, mut acked, mut errors, mut latencies) = (0, 0, 0, Vec::new());
    for t in tasks {
        if let Ok((s, a, e, l)) = t.await {
            sent += s;
            acked += a;
            errors += e;
            latencies.extend(l);
        }
    }
    let elapsed = epoch.elapsed().as_secs_f64();
    Report {
        sockets,
        seconds: elapsed,
        sent,
        acked,
        errors,
        per_second: acked as f64 / elapsed.max(1e-9),
        latency: Latency::of(latencies),
        ..Report::default()
    }
}

async fn mixed(args: &BotArgs, keys: &Keys) -> Result<Report, Fault> {
    let conns = open_many(args, keys, args.first_user, args.sockets).await?;
    let epoch = Instant::now();
    let deadline = epoch + Duration::from_secs(args.duration_secs);
    let per_socket = args.rate / args.sockets.max(1) as f64;
    let users = args.first_user + args.sockets as u64;
    let mut tasks = Vec::new();
    for (i, mut c) in conns.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut rng = seed::Rng::new(i as u64 + 7);
            let period = Duration::from_secs_f64(1.0 / per_socket.max(0.001));
            let (mut sent, mut acked, mut errors) = (0u64, 0u64, 0u64);
            let mut latencies = Vec::new();
            let mut last_tweet = None;
            while Instant::now() < deadline {
                let roll = rng.below(100);
                let request = match roll {
                    0..=49 => Request::Timeline(req::Timeline {
                        feed: "home".into(),
                        before: None,
                        limit: Some(20),
                    }),
                    50..=64 => match last_tweet {
                        Some(id) => Request::Like(req::TweetId { tweet_id: id }),
                        None => Request::Trending(req::Trending { limit: None }),
                    },
                    65..=74 => {
                        // Anyone but yourself (following yourself is refused).
                        let me = c.user;
                        let mut other = 1 + rng.below(users);
                        if other == me {
                            other = if other > 1 { other - 1 } else { other + 1 };
                        }
                        Request::Follow(req::Username {
                            username: format!("user{other}"),
                        })
                    }
                    75..=84 => Request::Post(req::Post {
                        text: format!("mixed #load {}", rng.next_u64() % 1000),
                        ..Default::default()
                    }),
                    85..=94 => Request::Profile(req::Username {
                        username: format!("user{}", 1 + rng.below(users)),
                    }),
                    _ => Request::Search(req::Search {
                        hashtags: vec!["load".into()],
                        before: None,
                        limit: Some(20),
                    }),
                };
                let start = Instant::now();
                if c.send(request).await.is_err() {
                    break;
                }
                sent += 1;
                match c.expect_reply_tweet().await {
                    Ok(tweet) => {
                        acked += 1;
                        if tweet.is_some() {
                            last_tweet = tweet;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "mixed request refused");
                        errors += 1
                    }
                }
                latencies.push(start.elapsed().as_micros() as u64);
                tokio::time::sleep(period.saturating_sub(start.elapsed())).await;
            }
            (sent, acked, errors, latencies)
        }));
    }
    Ok(tally(tasks, epoch, args.sockets).await)
}
