//! The follow graph in both directions. Each edge has a rising follow id, which orders the
//! followers/following pages (newest first) and is their cursor.

use super::IdHash;
use dashmap::DashMap;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Graph {
    /// (follower, followee) → follow id.
    edges: DashMap<(u64, u64), u64, IdHash>,
    /// followee → follow id → follower.
    followers: DashMap<u64, BTreeMap<u64, u64>, IdHash>,
    /// follower → follow id → followee.
    following: DashMap<u64, BTreeMap<u64, u64>, IdHash>,
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

    /// Builds the graph from a snapshot's edges in bulk: maps sized up front, each side's
    /// per-user maps built from sorted runs instead of edge by edge, in parallel.
    pub fn from_edges(mut edges: Vec<(u64, u64, u64)>) -> Graph {
        let graph = Graph {
            edges: DashMap::with_capacity_and_hasher(edges.len(), IdHash::default()),
            followers: DashMap::default(),
            following: DashMap::default(),
            last_id: AtomicU64::new(edges.iter().map(|e| e.2).max().unwrap_or(0)),
        };
        let this = &graph;
        let by_follower = {
            let mut v: Vec<(u64, u64, u64)> = edges.iter().map(|&(a, b, id)| (a, id, b)).collect();
            v.sort_unstable();
            v
        };
        edges.sort_unstable_by_key(|&(a, b, id)| (b, id, a));
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for (a, b, id) in &edges {
                    this.edges.insert((*a, *b), *id);
                }
            });
            scope.spawn(|| group_into(&this.following, &by_follower));
            let by_followee: Vec<(u64, u64, u64)> =
                edges.iter().map(|&(a, b, id)| (b, id, a)).collect();
            group_into(&this.followers, &by_followee);
        });
        graph
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
    map: &DashMap<u64, BTreeMap<u64, u64>, IdHash>,
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

/// Inserts runs of (user, follow id, other) sorted by user then follow id as one map per
/// user.
fn group_into(map: &DashMap<u64, BTreeMap<u64, u64>, IdHash>, sorted: &[(u64, u64, u64)]) {
    for run in sorted.chunk_by(|x, y| x.0 == y.0) {
        let user = run[0].0;
        map.insert(
            user,
            run.iter().map(|&(_, id, other)| (id, other)).collect(),
        );
    }
}
