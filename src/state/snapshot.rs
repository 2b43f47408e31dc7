//! The whole state as snapshot chunks, and back.
//!
//! [`State::export`] copies every record out (the caller holds the write lock, so the copy
//! is one consistent instant); encoding and writing happen after the lock is released.
//! [`State::restore`] rebuilds a fresh state from the chunks. Derived indexes (hashtags,
//! replies, by-author lists, trending) are rebuilt, not stored.

use super::{MediaRec, NotificationRec, State, TweetRec, User};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Records per chunk: big enough to amortise per-chunk overhead, small enough that no
/// chunk is a large allocation.
const ROWS_PER_CHUNK: usize = 10_000;

/// The highest id of each kind ever given out, so ids are never reused after a restart
/// (the record with the highest id may have been deleted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub users: u64,
    pub tweets: u64,
    pub likes: u64,
    pub follows: u64,
    pub notifications: u64,
    pub media: u64,
}

/// One piece of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "rows", rename_all = "snake_case")]
pub enum Chunk {
    Counters(Counters),
    Users(Vec<User>),
    Tweets(Vec<TweetRec>),
    /// (user, tweet, like id)
    Likes(Vec<(u64, u64, u64)>),
    /// (follower, followee, follow id)
    Follows(Vec<(u64, u64, u64)>),
    /// (user, that user's notifications, ascending)
    Notifications(Vec<(u64, Vec<NotificationRec>)>),
    Media(Vec<MediaRec>),
    /// (author, key, tweet, posted at)
    ClientKeys(Vec<(u64, String, u64, u64)>),
}

impl Chunk {
    pub fn encode(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("snapshot chunks always encode")
    }

    pub fn decode(bytes: &[u8]) -> Result<Chunk, rmp_serde::decode::Error> {
        rmp_serde::from_slice(bytes)
    }
}

fn chunked<T>(rows: Vec<T>, wrap: fn(Vec<T>) -> Chunk, out: &mut Vec<Chunk>) {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        out.push(wrap(rows.by_ref().take(ROWS_PER_CHUNK).collect()));
    }
}

impl State {
    /// Copies the whole state out as chunks. Hold the write lock while calling it.
    pub fn export(&self) -> Vec<Chunk> {
        let mut out = vec![Chunk::Counters(Counters {
            users: self.users.last_id(),
            tweets: self.tweets.last_id(),
            likes: self.likes.last_id(),
            follows: self.graph.last_id(),
            notifications: self.notifications.last_id(),
            media: self.media.last_id(),
        })];
        chunked(self.users.all(), Chunk::Users, &mut out);
        chunked(self.media.all(), Chunk::Media, &mut out);
        chunked(self.tweets.all(), Chunk::Tweets, &mut out);
        chunked(self.likes.all(), Chunk::Likes, &mut out);
        chunked(self.graph.all(), Chunk::Follows, &mut out);
        chunked(self.notifications.all(), Chunk::Notifications, &mut out);
        chunked(self.tweets.all_client_keys(), Chunk::ClientKeys, &mut out);
        out
    }

    /// Builds a state from snapshot chunks (in any order).
    pub fn restore(chunks: impl IntoIterator<Item = Chunk>) -> State {
        let mut state = State::default();
        let mut tweets = Vec::new();
        let mut follows = Vec::new();
        for chunk in chunks {
            match chunk {
                Chunk::Counters(c) => {
                    state.users.raise_last_id(c.users);
                    state.tweets.raise_last_id(c.tweets);
                    state.likes.raise_last_id(c.likes);
                    state.graph.raise_last_id(c.follows);
                    state.notifications.raise_last_id(c.notifications);
                    state.media.raise_last_id(c.media);
                }
                Chunk::Users(rows) => rows.into_iter().for_each(|u| state.users.insert(u)),
                Chunk::Tweets(rows) => tweets.extend(rows),
                Chunk::Likes(rows) => rows
                    .into_iter()
                    .for_each(|(user, tweet, id)| state.likes.insert(user, tweet, id)),
                Chunk::Follows(rows) => follows.extend(rows),
                Chunk::Notifications(rows) => rows
                    .into_iter()
                    .for_each(|(user, list)| state.notifications.restore(user, list)),
                Chunk::Media(rows) => rows.into_iter().for_each(|m| state.media.insert(m)),
                Chunk::ClientKeys(rows) => rows
                    .into_iter()
                    .for_each(|(a, k, t, at)| state.tweets.restore_client_key(a, k, t, at)),
            }
        }
        let started = std::time::Instant::now();
        let last_follow = state.graph.last_id();
        // The follow graph and the tweets are independent: build them side by side.
        let graph = std::thread::scope(|scope| {
            let graph = scope.spawn(|| super::Graph::from_edges(follows));
            // Ascending, so every index list is built by appending.
            tweets.sort_unstable_by_key(|t| t.id);
            for tweet in tweets {
                if tweet.retweet_of.is_none() {
                    state.trending.record(&tweet.hashtags, tweet.created_at);
                }
                state.tweets.restore(tweet);
            }
            graph
                .join()
                .expect("building the follow graph does not panic")
        });
        state.graph = graph;
        state.graph.raise_last_id(last_follow);
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            "tweets and follow graph restored"
        );
        state
    }

    /// A digest of everything the state holds, independent of map order: equal digests
    /// mean equal states (tests compare a live state with a restored one).
    pub fn digest(&self) -> String {
        let mut chunks = self.export();
        for chunk in &mut chunks {
            match chunk {
                Chunk::Counters(_) => {}
                Chunk::Users(r) => r.sort_by_key(|u| u.id),
                Chunk::Tweets(r) => r.sort_by_key(|t| t.id),
                Chunk::Likes(r) | Chunk::Follows(r) => r.sort(),
                Chunk::Notifications(r) => r.sort_by_key(|(u, _)| *u),
                Chunk::Media(r) => r.sort_by_key(|m| m.id),
                Chunk::ClientKeys(r) => r.sort(),
            }
        }
        // Merge same-kind chunks by sorting all rows of a kind together.
        let mut by_kind: std::collections::BTreeMap<String, Vec<Vec<u8>>> = Default::default();
        for chunk in &chunks {
            let kind = match chunk {
                Chunk::Counters(_) => "counters",
                Chunk::Users(_) => "users",
                Chunk::Tweets(_) => "tweets",
                Chunk::Likes(_) => "likes",
                Chunk::Follows(_) => "follows",
                Chunk::Notifications(_) => "notifications",
                Chunk::Media(_) => "media",
                Chunk::ClientKeys(_) => "client_keys",
            };
            let rows: Vec<Vec<u8>> = match chunk {
                Chunk::Counters(c) => vec![rmp_serde::to_vec(c).unwrap_or_default()],
                Chunk::Users(r) => r
                    .iter()
                    .map(|x| rmp_serde::to_vec(x).unwrap_or_default())
                    .collect(),
                Chunk::Tweets(r) => r
                    .iter()
                    .map(|x| rmp_serde::to_vec(x).unwrap_or_default())
                    .collect(),
                Chunk::Likes(r) | Chunk::Follows(r) => r
                    .iter()
                    .map(|x| rmp_serde::to_vec(x).unwrap_or_default())
                    .collect(),
                Chunk::Notifications(r) => r
                    .iter()
                    .map(|x| rmp_serde::to_vec(x).unwrap_or_default())
                    .collect(),
                Chunk::Media(r) => r
                    .iter()
                    .map(|x| rmp_serde::to_vec(x).unwrap_or_default())
                    .collect(),
                Chunk::ClientKeys(r) => r
                    .iter()
                    .map(|x| rmp_serde::to_vec(x).unwrap_or_default())
                    .collect(),
            };
            by_kind.entry(kind.to_owned()).or_default().extend(rows);
        }
        let mut hasher = Sha256::new();
        for (kind, mut rows) in by_kind {
            rows.sort();
            hasher.update(kind.as_bytes());
            for row in rows {
                hasher.update((row.len() as u64).to_be_bytes());
                hasher.update(&row);
            }
        }
        // As a set: ties in rank may order differently after a restore (a deleted tweet's
        // use time is not kept), which is presentation, not state.
        let mut trending: Vec<String> = self
            .trending
            .top(crate::auth::now_ms(), usize::MAX)
            .iter()
            .map(|t| format!("{}:{}:{:.6}", t.tag, t.count, t.score))
            .collect();
        trending.sort();
        hasher.update(trending.join(",").as_bytes());
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
