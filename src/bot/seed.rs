//! `starling seed`: a large synthetic graph written straight into a data folder as a
//! snapshot, in seconds, so load tests start from a realistic state.
//!
//! Seeded users are `user1`, `user2`, ... with email `userN@seed.invalid` and the password
//! `seeded-password` (one hash computed once and shared). Users 1..=C are celebrities.

use crate::error::Fault;
use crate::state::snapshot::{Chunk, Counters};
use crate::state::{TweetRec, User};
use crate::store::Store;
use clap::Args;
use std::path::PathBuf;

/// The password of every seeded user.
pub const SEEDED_PASSWORD: &str = "seeded-password";

/// Rows per chunk written.
const ROWS: usize = 50_000;

#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// The data folder to create (must not hold a database yet).
    #[arg(long, default_value = "./data")]
    pub data: PathBuf,
    /// Number of users.
    #[arg(long, default_value_t = 1000)]
    pub users: u64,
    /// Accounts each user follows (random, distinct).
    #[arg(long, default_value_t = 10)]
    pub follows: u64,
    /// Celebrities: users 1..=C, each followed by `--celebrity-followers` users.
    #[arg(long, default_value_t = 0)]
    pub celebrities: u64,
    /// Followers of each celebrity (users C+1 onwards, in order).
    #[arg(long, default_value_t = 0)]
    pub celebrity_followers: u64,
    /// Tweets, spread over random authors and the last hour.
    #[arg(long, default_value_t = 0)]
    pub tweets: u64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// A small, fast, deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// What the seed wrote.
#[derive(Debug)]
pub struct Seeded {
    pub users: u64,
    pub follows: u64,
    pub tweets: u64,
    pub bytes: u64,
}

pub fn run(args: &SeedArgs) -> Result<Seeded, Fault> {
    let store = Store::open(&args.data, crate::config::Durability::Sync)?;
    if store.appended() > 0 {
        return Err(Fault(format!(
            "{} already holds a database; seed writes into a new folder",
            args.data.display()
        )));
    }
    let now = crate::auth::now_ms();
    let hash = {
        use argon2::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(SEEDED_PASSWORD.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Fault(format!("hashing the seeded password: {e}")))?
    };
    let mut rng = Rng::new(args.seed);
    let n = args.users.max(1);
    let mut tweet_counts = vec![0u64; n as usize + 1];
    let mut chunks: Vec<Chunk> = Vec::new();

    // Tweets first, so users' counts are known.
    let mut rows = Vec::with_capacity(ROWS);
    for id in 1..=args.tweets {
        let author = 1 + rng.below(n);
        tweet_counts[author as usize] += 1;
        let tag = format!("tag{}", id % 50);
        rows.push(TweetRec {
            id,
            author,
            text: format!("seeded tweet {id} #{tag}"),
            created_at: now.saturating_sub(3_600_000) + id * 3_600_000 / args.tweets.max(1),
            hashtags: vec![tag],
            mentions: Vec::new(),
            media: Vec::new(),
            reply_to: None,
            quote_of: None,
            retweet_of: None,
            likes: 0,
            retweets: 0,
            replies: 0,
        });
        if rows.len() == ROWS {
            chunks.push(Chunk::Tweets(std::mem::take(&mut rows)));
        }
    }
    if !rows.is_empty() {
        chunks.push(Chunk::Tweets(rows));
    }

    let mut users = Vec::with_capacity(ROWS);
    for id in 1..=n {
        users.push(User {
            id,
            username: format!("user{id}"),
            email: format!("user{id}@seed.invalid"),
            password_hash: hash.clone(),
            display_name: format!("User {id}"),
            bio: String::new(),
            joined_at: now,
            tweets: tweet_counts[id as usize],
        });
        if users.len() == ROWS {
            chunks.push(Chunk::Users(std::mem::take(&mut users)));
        }
    }
    if !users.is_empty() {
        chunks.push(Chunk::Users(users));
    }

    let mut follow_id = 0u64;
    let mut edges = Vec::with_capacity(ROWS);
    let mut push_edge =
        |edges: &mut Vec<(u64, u64, u64)>, chunks: &mut Vec<Chunk>, a: u64, b: u64| {
            follow_id += 1;
            edges.push((a, b, follow_id));
            if edges.len() == ROWS {
                chunks.push(Chunk::Follows(std::mem::take(edges)));
            }
        };
    let celebrities = args.celebrities.min(n);
    for celebrity in 1..=celebrities {
        let fans = args.celebrity_followers.min(n - 1);
        for k in 0..fans {
            // Users after the celebrities, in order, wrapping around.
            let mut fan = 1 + (celebrities + k) % n;
            if fan == celebrity {
                fan = 1 + (fan % n);
            }
            push_edge(&mut edges, &mut chunks, fan, celebrity);
        }
    }
    // Everyone but yourself and the celebrities can be picked.
    let available = n.saturating_sub(1 + celebrities);
    let per_user = args.follows.min(available);
    let mut mine = std::collections::HashSet::with_capacity(per_user as usize);
    for user in 1..=n {
        mine.clear();
        while (mine.len() as u64) < per_user {
            let other = 1 + celebrities + rng.below(n - celebrities);
            if other != user {
                mine.insert(other);
            }
        }
        let mut sorted: Vec<u64> = mine.iter().copied().collect();
        sorted.sort_unstable();
        for other in sorted {
            push_edge(&mut edges, &mut chunks, user, other);
        }
    }
    if !edges.is_empty() {
        chunks.push(Chunk::Follows(edges));
    }
    let follows = follow_id;
    chunks.push(Chunk::Counters(Counters {
        users: n,
        tweets: args.tweets,
        likes: 0,
        follows,
        notifications: 0,
        media: 0,
    }));
    let manifest = store.write_snapshot(1, chunks.iter().map(Chunk::encode))?;
    store.flush_blocking()?;
    Ok(Seeded {
        users: n,
        follows,
        tweets: args.tweets,
        bytes: manifest.bytes,
    })
}
