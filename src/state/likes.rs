//! Likes: who liked what, and each user's likes in the order they were made (the
//! `likes:<username>` feed pages by like id, not by tweet id).

use dashmap::DashMap;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Likes {
    /// (tweet, user) → like id.
    by_pair: DashMap<(u64, u64), u64>,
    /// user → like id → tweet.
    by_user: DashMap<u64, BTreeMap<u64, u64>>,
    /// tweet → users who like it (to undo likes when the tweet is deleted).
    by_tweet: DashMap<u64, Vec<u64>>,
    last_id: AtomicU64,
}

impl Likes {
    pub fn next_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire) + 1
    }

    pub fn likes(&self, user: u64, tweet: u64) -> bool {
        self.by_pair.contains_key(&(tweet, user))
    }

    pub fn insert(&self, user: u64, tweet: u64, like_id: u64) {
        self.last_id.fetch_max(like_id, Ordering::AcqRel);
        self.by_pair.insert((tweet, user), like_id);
        self.by_user.entry(user).or_default().insert(like_id, tweet);
        self.by_tweet.entry(tweet).or_default().push(user);
    }

    /// Returns whether the like existed.
    pub fn remove(&self, user: u64, tweet: u64) -> bool {
        let Some((_, like_id)) = self.by_pair.remove(&(tweet, user)) else {
            return false;
        };
        if let Some(mut likes) = self.by_user.get_mut(&user) {
            likes.remove(&like_id);
        }
        if let Some(mut users) = self.by_tweet.get_mut(&tweet) {
            users.retain(|&u| u != user);
        }
        true
    }

    /// Forgets every like of a deleted tweet.
    pub fn remove_tweet(&self, tweet: u64) {
        let users = self
            .by_tweet
            .remove(&tweet)
            .map(|(_, u)| u)
            .unwrap_or_default();
        for user in users {
            if let Some((_, like_id)) = self.by_pair.remove(&(tweet, user)) {
                if let Some(mut likes) = self.by_user.get_mut(&user) {
                    likes.remove(&like_id);
                }
            }
        }
    }

    pub fn last_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire)
    }

    pub fn raise_last_id(&self, id: u64) {
        self.last_id.fetch_max(id, Ordering::AcqRel);
    }

    /// Every like as (user, tweet, like id), for snapshots.
    pub fn all(&self) -> Vec<(u64, u64, u64)> {
        self.by_pair
            .iter()
            .map(|e| (e.key().1, e.key().0, *e.value()))
            .collect()
    }

    /// A user's likes before the cursor, newest first: (like id, tweet).
    pub fn page(&self, user: u64, before: Option<u64>, limit: usize) -> Vec<(u64, u64)> {
        let Some(likes) = self.by_user.get(&user) else {
            return Vec::new();
        };
        likes
            .range(..before.unwrap_or(u64::MAX))
            .rev()
            .take(limit)
            .map(|(&like, &tweet)| (like, tweet))
            .collect()
    }
}
