//! Each user's notifications, ascending by id. Made while applying operations, so replay
//! makes the same ones with the same ids.

use dashmap::DashMap;
use starling_protocol::NotificationKind;
use std::sync::atomic::{AtomicU64, Ordering};

/// Notifications kept per user; older ones are dropped. A person reads the recent ones, and
/// the bound keeps a celebrity's memory in check.
pub const KEPT_PER_USER: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NotificationRec {
    pub id: u64,
    pub kind: NotificationKind,
    pub by: u64,
    pub tweet_id: Option<u64>,
    pub created_at: u64,
}

#[derive(Default)]
pub struct Notifications {
    by_user: DashMap<u64, Vec<NotificationRec>>,
    last_id: AtomicU64,
}

impl Notifications {
    /// Records a notification for `user` and returns it; nothing when users notify
    /// themselves.
    pub fn add(
        &self,
        user: u64,
        kind: NotificationKind,
        by: u64,
        tweet_id: Option<u64>,
        at: u64,
    ) -> Option<NotificationRec> {
        if user == by {
            return None;
        }
        let id = self.last_id.fetch_add(1, Ordering::AcqRel) + 1;
        let rec = NotificationRec {
            id,
            kind,
            by,
            tweet_id,
            created_at: at,
        };
        let mut list = self.by_user.entry(user).or_default();
        list.push(rec.clone());
        if list.len() > KEPT_PER_USER {
            let excess = list.len() - KEPT_PER_USER;
            list.drain(..excess);
        }
        Some(rec)
    }

    pub fn last_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire)
    }

    pub fn raise_last_id(&self, id: u64) {
        self.last_id.fetch_max(id, Ordering::AcqRel);
    }

    /// Every user's notifications, for snapshots.
    pub fn all(&self) -> Vec<(u64, Vec<NotificationRec>)> {
        self.by_user
            .iter()
            .map(|e| (*e.key(), e.value().clone()))
            .collect()
    }

    /// Puts back a user's notifications (ascending ids) from a snapshot.
    pub fn restore(&self, user: u64, list: Vec<NotificationRec>) {
        if let Some(last) = list.last() {
            self.last_id.fetch_max(last.id, Ordering::AcqRel);
        }
        self.by_user.insert(user, list);
    }

    pub fn page(&self, user: u64, before: Option<u64>, limit: usize) -> Vec<NotificationRec> {
        let Some(list) = self.by_user.get(&user) else {
            return Vec::new();
        };
        let end = match before {
            Some(b) => list.partition_point(|n| n.id < b),
            None => list.len(),
        };
        list[..end].iter().rev().take(limit).cloned().collect()
    }
}
