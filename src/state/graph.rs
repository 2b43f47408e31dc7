//! The follow graph in both directions. Each edge has a rising follow id, which orders the
//! followers/following pages (newest first) and is their cursor.

use dashmap::DashMap;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Graph {
    /// (follower, followee) → follow id.
    edges: DashMap<(u64, u64), u64>,
    /// followee → follow id → follower.
    followers: DashMap<u64, BTreeMap<u64, u64>>,
    /// follower → follow id → followee.
    following: DashMap<u64, BTreeMap<u64, u64>>,
    last_id: AtomicU64,
}

impl Graph {
    pub fn next_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire) + 1
    }

    pub fn last_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire)
    }

    pub fn raise_last_id(&self, id: u64) {
        self.last_id.fetch_max(id, Ordering::AcqRel);
    }

    /// Every edge as (follower, followee, follow id), for snapshots.
    pub fn all(&self) -> Vec<(u64, u64, u64)> {
        self.edges
            .iter()
            .map(|e| (e.key().0, e.key().1, *e.value()))
            .collect()
    }

    pub fn follows(&self, follower: u64, followee: u64) -> bool {
        self.edges.contains_key(&(follower, followee))
    }

    pub fn insert(&self, follower: u64, followee: u64, follow_id: u64) {
        self.last_id.fetch_max(follow_id, Ordering::AcqRel);
        self.edges.insert((follower, followee), follow_id);
        self.followers
            .entry(followee)
            .or_default()
            .insert(follow_id, follower);
        self.following
            .entry(follower)
            .or_default()
            .insert(follow_id, followee);
    }

    /// Returns whether the edge existed.
    pub fn remove(&self, follower: u64, followee: u64) -> bool {
        let Some((_, follow_id)) = self.edges.remove(&(follower, followee)) else {
            return false;
        };
        if let Some(mut m) = self.followers.get_mut(&followee) {
            m.remove(&follow_id);
        }
        if let Some(mut m) = self.following.get_mut(&follower) {
            m.remove(&follow_id);
        }
        true
    }

    pub fn follower_count(&self, user: u64) -> u64 {
        self.followers
            .get(&user)
            .map(|m| m.len() as u64)
            .unwrap_or(0)
    }

    pub fn following_count(&self, user: u64) -> u64 {
        self.following
            .get(&user)
            .map(|m| m.len() as u64)
            .unwrap_or(0)
    }

    /// Everyone `user` follows (for the home timeline merge).
    pub fn followees(&self, user: u64) -> Vec<u64> {
        self.following
            .get(&user)
            .map(|m| m.values().copied().collect())
            .unwrap_or_default()
    }

    /// Everyone who follows `user` (for fan-out).
    pub fn follower_ids(&self, user: u64) -> Vec<u64> {
        self.followers
            .get(&user)
            .map(|m| m.values().copied().collect())
            .unwrap_or_default()
    }

    /// (follow id, user) pages, newest edge first.
    pub fn followers_page(&self, user: u64, before: Option<u64>, limit: usize) -> Vec<(u64, u64)> {
        page(&self.followers, user, before, limit)
    }

    pub fn following_page(&self, user: u64, before: Option<u64>, limit: usize) -> Vec<(u64, u64)> {
        page(&self.following, user, before, limit)
    }
}

fn page(
    map: &DashMap<u64, BTreeMap<u64, u64>>,
    user: u64,
    before: Option<u64>,
    limit: usize,
) -> Vec<(u64, u64)> {
    let Some(m) = map.get(&user) else {
        return Vec::new();
    };
    m.range(..before.unwrap_or(u64::MAX))
        .rev()
        .take(limit)
        .map(|(&id, &u)| (id, u))
        .collect()
}
