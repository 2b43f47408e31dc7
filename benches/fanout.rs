//! Publishing one event to 10,000 in-process subscribers: build the event once, encode it
//! once per codec, push the shared bytes to every outbox.
//!
//! `cargo bench --bench fanout`

use criterion::{criterion_group, criterion_main, Criterion};
use starling::app::App;
use starling::config::Durability;
use starling::hub::StreamKey;
use starling::outbox::Outbox;
use starling::store::{Op, Seq};
use starling::Config;
use starling_protocol::Codec;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SUBSCRIBERS: u64 = 10_000;

fn user(id: u64) -> Op {
    Op::CreateUser {
        id,
        username: format!("user{id}"),
        email: format!("user{id}@example.com"),
        password_hash: String::new(),
        created_at: 0,
    }
}

struct World {
    app: App,
    outboxes: Vec<Arc<Outbox>>,
    next_tweet: u64,
    _dir: tempfile::TempDir,
}

/// User 1 has 10,000 followers, each with a socket subscribed to `home` (JSON and
/// MessagePack alternating) and to `hashtag:bench`.
fn world() -> World {
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = Config::new(dir.path());
    config.durability = Durability::Relaxed;
    config.jwt_secret = Some("bench".into());
    let app = App::open(config, tokio::sync::watch::channel(false).1).expect("app");
    for id in 1..=SUBSCRIBERS + 1 {
        app.commit(|_| Ok(Some(user(id)))).expect("user");
    }
    for follower in 2..=SUBSCRIBERS + 1 {
        app.commit(|s| {
            Ok(Some(Op::Follow {
                follower,
                followee: 1,
                follow_id: s.graph.next_id(),
                at: 0,
            }))
        })
        .expect("follow");
    }
    let mut outboxes = Vec::new();
    for follower in 2..=SUBSCRIBERS + 1 {
        let codec = if follower % 2 == 0 {
            Codec::Json
        } else {
            Codec::MsgPack
        };
        let outbox = Arc::new(Outbox::new(follower, codec, usize::MAX / 2));
        app.hub
            .subscribe(StreamKey::Home(follower), "home", &outbox, None);
        app.hub.subscribe(
            StreamKey::Hashtag("bench".into()),
            "hashtag:bench",
            &outbox,
            None,
        );
        outboxes.push(outbox);
    }
    app.hub.publish_pending(&app, Seq::MAX);
    World {
        app,
        outboxes,
        next_tweet: 1,
        _dir: dir,
    }
}

fn post(world: &mut World, hashtags: &[&str]) {
    let id = world.next_tweet;
    world.next_tweet += 1;
    world
        .app
        .commit(|_| {
            Ok(Some(Op::CreateTweet {
                id,
                author: 1,
                text: "a post for everyone #bench".into(),
                created_at: 1_796_000_000_000,
                hashtags: hashtags.iter().map(|s| s.to_string()).collect(),
                mentions: Vec::new(),
                media: Vec::new(),
                reply_to: None,
                quote_of: None,
                client_key: None,
            }))
        })
        .expect("post");
}

fn drain(world: &World) {
    for outbox in &world.outboxes {
        outbox.drain();
    }
}

fn publish(c: &mut Criterion) {
    let mut world = world();
    let mut group = c.benchmark_group("publish_to_10k");
    group.sample_size(30);
    // A followed author's post: one event to 10,000 `home` streams (and one `user:` stream).
    group.bench_function("home_of_10k_followers", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                post(&mut world, &[]);
                let start = Instant::now();
                world.app.hub.publish_pending(&world.app, Seq::MAX);
                spent += start.elapsed();
                drain(&world);
            }
            spent
        })
    });
    // A tagged post from an author nobody follows... is still followed here, so this is
    // 20,000 deliveries: 10,000 on `home` and 10,000 on the one `hashtag:bench` stream.
    group.bench_function("home_and_hashtag_20k_deliveries", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                post(&mut world, &["bench"]);
                let start = Instant::now();
                world.app.hub.publish_pending(&world.app, Seq::MAX);
                spent += start.elapsed();
                drain(&world);
            }
            spent
        })
    });
    group.finish();
    println!(
        "deliveries counted by the hub: {}",
        world
            .app
            .hub
            .deliveries
            .load(std::sync::atomic::Ordering::Relaxed)
    );
}

criterion_group!(benches, publish);
criterion_main!(benches);
