//! Durability: snapshots replayed exactly (property test), `kill -9` under load at several
//! points (during snapshots too), graceful shutdown, relaxed mode, damaged data folders.

use crate::support::*;
use proptest::prelude::*;
use serde_json::json;
use starling::state::State;
use starling::store::Op;
use starling_protocol::{close, reply, req, Codec, Request};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

// ---------------------------------------------------------------------------------------
// Property: snapshot at any point + replay of the rest == the live state.

#[derive(Debug, Clone)]
enum Action {
    Post { user: u8, tag: u8, reply: bool },
    Delete { user: u8, pick: u8 },
    Like { user: u8, pick: u8 },
    Unlike { user: u8, pick: u8 },
    Retweet { user: u8, pick: u8 },
    Unretweet { user: u8, pick: u8 },
    Follow { user: u8, other: u8 },
    Unfollow { user: u8, other: u8 },
    Bio { user: u8 },
}

fn action() -> impl Strategy<Value = Action> {
    let u = 1u8..6;
    prop_oneof![
        3 => (u.clone(), 0u8..4, any::<bool>()).prop_map(|(user, tag, reply)| Action::Post { user, tag, reply }),
        1 => (u.clone(), any::<u8>()).prop_map(|(user, pick)| Action::Delete { user, pick }),
        2 => (u.clone(), any::<u8>()).prop_map(|(user, pick)| Action::Like { user, pick }),
        1 => (u.clone(), any::<u8>()).prop_map(|(user, pick)| Action::Unlike { user, pick }),
        1 => (u.clone(), any::<u8>()).prop_map(|(user, pick)| Action::Retweet { user, pick }),
        1 => (u.clone(), any::<u8>()).prop_map(|(user, pick)| Action::Unretweet { user, pick }),
        2 => (u.clone(), u.clone()).prop_map(|(user, other)| Action::Follow { user, other }),
        1 => (u.clone(), u.clone()).prop_map(|(user, other)| Action::Unfollow { user, other }),
        1 => u.prop_map(|user| Action::Bio { user }),
    ]
}

/// Turns an action into a valid operation against `state`, as the handlers would (or
/// nothing, when the action makes no sense there).
fn to_op(state: &State, action: &Action, now: u64) -> Option<Op> {
    let existing = |pick: u8| -> Option<u64> {
        let last = state.tweets.last_id();
        (1..=last)
            .rev()
            .filter(|id| state.tweets.exists(*id))
            .nth(pick as usize % 4)
    };
    Some(match *action {
        Action::Post { user, tag, reply } => {
            let reply_to = if reply {
                existing(0).and_then(|t| state.tweets.original_of(t))
            } else {
                None
            };
            Op::CreateTweet {
                id: state.tweets.next_id(),
                author: user as u64,
                text: format!("post #t{tag} @user{}", (user % 5) + 1),
                created_at: now,
                hashtags: vec![format!("t{tag}")],
                mentions: vec![(user as u64 % 5) + 1],
                media: Vec::new(),
                reply_to,
                quote_of: None,
                client_key: Some(format!("k{}", state.tweets.next_id())),
            }
        }
        Action::Delete { user, pick } => {
            let id = existing(pick)?;
            let t = state.tweets.get(id)?;
            if t.author != user as u64 {
                return None;
            }
            Op::DeleteTweet { id }
        }
        Action::Like { user, pick } => {
            let id = state.tweets.original_of(existing(pick)?)?;
            if state.likes.likes(user as u64, id) {
                return None;
            }
            Op::Like {
                user: user as u64,
                tweet_id: id,
                like_id: state.likes.next_id(),
                at: now,
            }
        }
        Action::Unlike { user, pick } => {
            let id = state.tweets.original_of(existing(pick)?)?;
            Op::Unlike {
                user: user as u64,
                tweet_id: id,
            }
        }
        Action::Retweet { user, pick } => {
            let id = state.tweets.original_of(existing(pick)?)?;
            if state.tweets.retweet_by(user as u64, id).is_some() {
                return None;
            }
            Op::Retweet {
                id: state.tweets.next_id(),
                user: user as u64,
                tweet_id: id,
                created_at: now,
            }
        }
        Action::Unretweet { user, pick } => {
            let id = state.tweets.original_of(existing(pick)?)?;
            Op::DeleteTweet {
                id: state.tweets.retweet_by(user as u64, id)?,
            }
        }
        Action::Follow { user, other } => {
            if user == other || state.graph.follows(user as u64, other as u64) {
                return None;
            }
            Op::Follow {
                follower: user as u64,
                followee: other as u64,
                follow_id: state.graph.next_id(),
                at: now,
            }
        }
        Action::Unfollow { user, other } => Op::Unfollow {
            follower: user as u64,
            followee: other as u64,
        },
        Action::Bio { user } => Op::UpdateProfile {
            user_id: user as u64,
            bio: Some(format!("bio {now}")),
            display_name: None,
        },
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_snapshot_plus_replay_is_exactly_the_live_state(actions in prop::collection::vec(action(), 1..120), cut in any::<prop::sample::Index>()) {
        let now = starling::auth::now_ms();
        let live = State::default();
        let mut log = Vec::new();
        for id in 1..=5u64 {
            let op = Op::CreateUser { id, username: format!("user{id}"), email: format!("u{id}@example.com"), password_hash: String::new(), created_at: now };
            live.apply(&op);
            log.push(op);
        }
        for a in &actions {
            if let Some(op) = to_op(&live, a, now) {
                live.apply(&op);
                log.push(op);
            }
        }
        let at = cut.index(log.len() + 1);
        // Snapshot the state as it was after `at` operations, restore it, replay the rest.
        let partial = State::default();
        log[..at].iter().for_each(|op| { partial.apply(op); });
        let restored = State::restore(partial.export());
        log[at..].iter().for_each(|op| { restored.apply(op); });
        prop_assert_eq!(restored.digest(), live.digest());
        // And a full replay of the log, as start-up without a snapshot does.
        let replayed = State::default();
        log.iter().for_each(|op| { replayed.apply(op); });
        prop_assert_eq!(replayed.digest(), live.digest());
    }
}

// ---------------------------------------------------------------------------------------
// The real binary.

struct Proc {
    child: Child,
    addr: std::net::SocketAddr,
}

async fn spawn_server(data: &Path, extra: &[&str]) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_starling"));
    cmd.arg("serve")
        .args([
            "--listen",
            "127.0.0.1:0",
            "--jwt-secret",
            SECRET,
            "--no-rate-limits",
        ])
        .args(["--argon2-memory-kib", "1024", "--argon2-iterations", "1"])
        .arg("--data")
        .arg(data)
        .args(extra)
        .env("STARLING_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn starling");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(url) = line.strip_prefix("starling listening on http://") {
                return url.trim().parse().expect("address");
            }
        }
        panic!("starling exited before listening");
    })
    .await
    .expect("starling starts in time");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Proc { child, addr }
}

impl Proc {
    fn kill9(&mut self) {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }

    async fn wait_exit(&mut self) -> std::process::ExitStatus {
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("exits in time")
            .expect("wait")
    }
}

async fn signup(addr: std::net::SocketAddr, name: &str) -> String {
    let (status, body) = http(
        addr,
        "POST",
        "/api/signup",
        &[],
        json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse"}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

/// What one writer had acknowledged.
#[derive(Default)]
struct Acked {
    tweets: Vec<(u64, String)>,
    likes: Vec<u64>,
    follows: Vec<String>,
}

/// Writes as `name` until the socket dies, recording every acknowledged write.
async fn write_until_killed(
    addr: std::net::SocketAddr,
    token: String,
    name: String,
    round: usize,
    others: Vec<String>,
    acked: std::sync::Arc<std::sync::Mutex<Acked>>,
) {
    let mut c = Client::authed(addr, Codec::MsgPack, &token).await;
    for i in 0.. {
        let text = format!("{name} round {round} post {i}");
        let Ok(t) = c
            .request::<reply::TweetData>(Request::Post(req::Post {
                text: text.clone(),
                ..Default::default()
            }))
            .await
        else {
            return;
        };
        acked.lock().unwrap().tweets.push((t.tweet.id, text));
        let Ok(_) = c
            .request::<reply::Likes>(Request::Like(req::TweetId {
                tweet_id: t.tweet.id,
            }))
            .await
        else {
            return;
        };
        acked.lock().unwrap().likes.push(t.tweet.id);
        let other = &others[i % others.len()];
        let Ok(_) = c
            .request::<reply::Follow>(Request::Follow(req::Username {
                username: other.clone(),
            }))
            .await
        else {
            return;
        };
        acked.lock().unwrap().follows.push(other.clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tmp");
    let names: Vec<String> = (0..4).map(|i| format!("writer{i}")).collect();
    let mut tokens = Vec::new();
    let mut server = spawn_server(dir.path(), &[]).await;
    for n in &names {
        tokens.push(signup(server.addr, n).await);
    }
    let acked: Vec<_> = names
        .iter()
        .map(|_| std::sync::Arc::new(std::sync::Mutex::new(Acked::default())))
        .collect();
    // Kill points: early, later, and with snapshots every few operations, so some kills
    // land in the middle of one.
    let rounds: [(u64, &[&str]); 3] =
        [(300, &[]), (700, &[]), (900, &["--snapshot-log-ops", "40"])];
    for (round, (ms, extra)) in rounds.iter().enumerate() {
        if round > 0 {
            server = spawn_server(dir.path(), extra).await;
            verify(server.addr, &tokens[0], &names, &acked).await;
        }
        let mut writers = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let others: Vec<String> = names.iter().filter(|o| *o != n).cloned().collect();
            writers.push(tokio::spawn(write_until_killed(
                server.addr,
                tokens[i].clone(),
                n.clone(),
                round,
                others,
                acked[i].clone(),
            )));
        }
        tokio::time::sleep(Duration::from_millis(*ms)).await;
        server.kill9();
        for w in writers {
            let _ = tokio::time::timeout(PATIENCE, w)
                .await
                .expect("writers notice the kill");
        }
        let _ = server.wait_exit().await;
    }
    let server = spawn_server(dir.path(), &[]).await;
    let total: usize = acked.iter().map(|a| a.lock().unwrap().tweets.len()).sum();
    assert!(
        total > 10,
        "the load did write ({total} acknowledged posts)"
    );
    verify(server.addr, &tokens[0], &names, &acked).await;
}

/// Every acknowledged write is there, and the counts agree with the edges (nothing
/// half-applied).
async fn verify(
    addr: std::net::SocketAddr,
    token: &str,
    names: &[String],
    acked: &[std::sync::Arc<std::sync::Mutex<Acked>>],
) {
    let mut c = Client::authed(addr, Codec::Json, token).await;
    let mut like_edges: std::collections::HashMap<u64, u64> = Default::default();
    let mut follower_edges: std::collections::HashMap<String, u64> = Default::default();
    for (name, acked) in names.iter().zip(acked) {
        let (tweets, likes, follows) = {
            let a = acked.lock().unwrap();
            (a.tweets.clone(), a.likes.clone(), a.follows.clone())
        };
        // All of the user's tweets, page by page.
        let mut seen = std::collections::HashMap::new();
        let mut before = None;
        loop {
            let page = c.feed(&format!("user:{name}"), before, Some(100)).await;
            for t in &page.items {
                seen.insert(t.id, (t.text.clone(), t.likes));
            }
            match page.next {
                Some(n) => before = Some(n),
                None => break,
            }
        }
        for (id, text) in &tweets {
            assert_eq!(
                seen.get(id).map(|s| &s.0),
                Some(text),
                "acknowledged tweet {id} of {name}"
            );
        }
        for id in &likes {
            assert!(
                seen.get(id).is_some_and(|s| s.1 >= 1),
                "acknowledged like of {id}"
            );
        }
        let following: reply::Users = c
            .ok(Request::Following(req::UserPage {
                username: name.clone(),
                before: None,
                limit: Some(100),
            }))
            .await;
        let following: Vec<String> = following.users.iter().map(|u| u.username.clone()).collect();
        for f in &follows {
            assert!(following.contains(f), "{name} follows {f}");
        }
        for f in following {
            *follower_edges.entry(f).or_default() += 1;
        }
        // Likes as edges: every tweet in the user's likes feed.
        let mut before = None;
        loop {
            let page = c.feed(&format!("likes:{name}"), before, Some(100)).await;
            for t in &page.items {
                *like_edges.entry(t.id).or_default() += 1;
            }
            match page.next {
                Some(n) => before = Some(n),
                None => break,
            }
        }
    }
    for (tweet, likers) in like_edges {
        let thread: reply::Thread = c.ok(Request::Tweet(req::TweetId { tweet_id: tweet })).await;
        assert_eq!(
            thread.tweet.likes, likers,
            "tweet {tweet}'s like count matches its likes"
        );
    }
    for name in names {
        let p: reply::ProfileView = c
            .ok(Request::Profile(req::Username {
                username: name.clone(),
            }))
            .await;
        assert_eq!(
            p.profile.followers,
            follower_edges.get(name).copied().unwrap_or(0),
            "{name}'s follower count"
        );
    }
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1001_exits_0_and_keeps_everything() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut server = spawn_server(dir.path(), &[]).await;
    let token = signup(server.addr, "alice").await;
    let mut c = Client::authed(server.addr, Codec::Json, &token).await;
    let t = c.post("before the shutdown").await;
    let pid = server.child.id().expect("running") as i32;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(c.close_code().await, Some(close::GOING_AWAY));
    let status = server.wait_exit().await;
    assert!(status.success(), "exit status {status:?}");

    let server = spawn_server(dir.path(), &[]).await;
    let mut c = Client::authed(server.addr, Codec::Json, &token).await;
    let thread: reply::Thread = c.ok(Request::Tweet(req::TweetId { tweet_id: t.id })).await;
    assert_eq!(thread.tweet.text, "before the shutdown");
}

#[tokio::test]
async fn relaxed_mode_acknowledges_and_flushes_within_its_window() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut server = spawn_server(
        dir.path(),
        &["--durability", "relaxed", "--flush-interval-ms", "50"],
    )
    .await;
    let token = signup(server.addr, "alice").await;
    let mut c = Client::authed(server.addr, Codec::Json, &token).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(c.post(&format!("relaxed {i}")).await.id);
    }
    // The documented loss window is one flush interval; wait well past it, then crash.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill9();
    let _ = server.wait_exit().await;
    let server = spawn_server(dir.path(), &[]).await;
    let mut c = Client::authed(server.addr, Codec::Json, &token).await;
    let mut got = c.feed_ids("user:alice").await;
    got.reverse();
    assert_eq!(got, ids);
}

async fn start_error(data: &Path) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    starling::run(listener, test_config(data), std::future::pending())
        .await
        .expect_err("start-up refuses the folder")
        .to_string()
}

async fn folder_with_data() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let mut server = TestServer::start_with(|c| c.data = dir.path().to_path_buf()).await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    c.post("something to lose").await;
    drop(c);
    server.stop().await;
    dir
}

#[tokio::test]
async fn a_corrupt_log_record_stops_start_up_with_a_clear_message() {
    let dir = folder_with_data().await;
    {
        let db = open_sled(dir.path());
        let log = db.open_tree("log").expect("log");
        // The graceful stop wrote a snapshot and trimmed the log: add a bad record after it.
        let next = log
            .last()
            .expect("read")
            .map(|(k, _)| u64::from_be_bytes(k.as_ref().try_into().unwrap()) + 1);
        let seq = next.unwrap_or_else(|| {
            let meta = db.open_tree("meta").expect("meta");
            let m: starling::store::Manifest =
                rmp_serde::from_slice(&meta.get("snapshot").unwrap().unwrap()).unwrap();
            m.seq + 1
        });
        log.insert(seq.to_be_bytes(), b"\xc1garbage".to_vec())
            .expect("insert");
        db.flush().expect("flush");
    }
    let err = start_error(dir.path()).await;
    assert!(
        err.contains("log record") && err.contains("corrupt"),
        "{err}"
    );
}

#[tokio::test]
async fn a_damaged_snapshot_stops_start_up() {
    let dir = folder_with_data().await;
    {
        let db = open_sled(dir.path());
        let snapshot = db.open_tree("snapshot").expect("tree");
        let (key, mut value) = snapshot
            .first()
            .expect("read")
            .map(|(k, v)| (k, v.to_vec()))
            .expect("a chunk");
        let last = value.len() - 1;
        value[last] ^= 0xff;
        snapshot.insert(key, value).expect("insert");
        db.flush().expect("flush");
    }
    let err = start_error(dir.path()).await;
    assert!(err.contains("checksum") && err.contains("damaged"), "{err}");
}

#[tokio::test]
async fn a_folder_whose_database_vanished_is_not_started_empty() {
    let dir = folder_with_data().await;
    for entry in std::fs::read_dir(dir.path()).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n != "STARLING") {
            if path.is_dir() {
                std::fs::remove_dir_all(&path).expect("rm");
            } else {
                std::fs::remove_file(&path).expect("rm");
            }
        }
    }
    let err = start_error(dir.path()).await;
    assert!(err.contains("damaged"), "{err}");
}

/// Opens a data folder's sled directly, waiting for a just-stopped server to let go of it.
fn open_sled(path: &Path) -> sled::Db {
    for _ in 0..50 {
        match sled::open(path) {
            Ok(db) => return db,
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    sled::open(path).expect("sled opens")
}
