//! The home timeline page and the cost of a post reaching every index.
//!
//! `cargo bench --bench timeline`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use starling::state::State;
use starling::store::Op;
use std::hint::black_box;

const FOLLOWED: u64 = 1_000;
const TWEETS_EACH: u64 = 100;

fn user(id: u64) -> Op {
    Op::CreateUser {
        id,
        username: format!("user{id}"),
        email: format!("user{id}@example.com"),
        password_hash: String::new(),
        created_at: 0,
    }
}

fn tweet(id: u64, author: u64, text: &str, hashtags: &[&str]) -> Op {
    Op::CreateTweet {
        id,
        author,
        text: text.to_owned(),
        created_at: 1_796_000_000_000 + id,
        hashtags: hashtags.iter().map(|s| s.to_string()).collect(),
        mentions: Vec::new(),
        media: Vec::new(),
        reply_to: None,
        quote_of: None,
        client_key: None,
    }
}

/// User 1 follows users 2..=1001; each of those posted 100 tweets, interleaved in time.
fn graph() -> State {
    let state = State::default();
    for id in 1..=FOLLOWED + 1 {
        state.apply(&user(id));
    }
    for followee in 2..=FOLLOWED + 1 {
        state.apply(&Op::Follow {
            follower: 1,
            followee,
            follow_id: followee,
            at: 0,
        });
    }
    let mut id = 0;
    for _round in 0..TWEETS_EACH {
        for author in 2..=FOLLOWED + 1 {
            id += 1;
            state.apply(&tweet(id, author, "hello #bench", &["bench"]));
        }
    }
    state
}

fn home_timeline(c: &mut Criterion) {
    let state = graph();
    let newest = FOLLOWED * TWEETS_EACH;
    let mut group = c.benchmark_group("home_timeline");
    group.bench_function("first_page_20_following_1000", |b| {
        b.iter(|| black_box(state.home_page(1, None, 21)))
    });
    group.bench_function("deep_page_20_following_1000", |b| {
        b.iter(|| black_box(state.home_page(1, Some(newest / 2), 21)))
    });
    group.bench_function("page_100_following_1000", |b| {
        b.iter(|| black_box(state.home_page(1, None, 101)))
    });
    group.finish();
}

fn post_fan_in(c: &mut Criterion) {
    let state = graph();
    let mut next = FOLLOWED * TWEETS_EACH;
    c.bench_function("post_apply_3_hashtags", |b| {
        b.iter_batched(
            || {
                next += 1;
                tweet(
                    next,
                    2,
                    "a #rust post about #tokio and #sled",
                    &["rust", "tokio", "sled"],
                )
            },
            |op| black_box(state.apply(&op)),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, home_timeline, post_fan_in);
criterion_main!(benches);
