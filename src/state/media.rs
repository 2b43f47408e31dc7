//! Uploaded images' metadata (their bytes live in the store, by hash).

use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaRec {
    pub id: u64,
    pub owner: u64,
    /// Hex SHA-256 of the bytes: the blob's key and the HTTP ETag.
    pub hash: String,
    pub content_type: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
}

#[derive(Default)]
pub struct MediaIndex {
    by_id: DashMap<u64, MediaRec>,
    /// (owner, hash) → id: the same image uploaded again by the same user is the same media.
    by_owner_hash: DashMap<(u64, String), u64>,
    last_id: AtomicU64,
}

impl MediaIndex {
    pub fn next_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire) + 1
    }

    pub fn insert(&self, rec: MediaRec) {
        self.last_id.fetch_max(rec.id, Ordering::AcqRel);
        self.by_owner_hash
            .insert((rec.owner, rec.hash.clone()), rec.id);
        self.by_id.insert(rec.id, rec);
    }

    pub fn last_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire)
    }

    pub fn raise_last_id(&self, id: u64) {
        self.last_id.fetch_max(id, Ordering::AcqRel);
    }

    pub fn all(&self) -> Vec<MediaRec> {
        self.by_id.iter().map(|m| m.clone()).collect()
    }

    pub fn get(&self, id: u64) -> Option<MediaRec> {
        self.by_id.get(&id).map(|m| m.clone())
    }

    pub fn find(&self, owner: u64, hash: &str) -> Option<u64> {
        self.by_owner_hash
            .get(&(owner, hash.to_owned()))
            .map(|id| *id)
    }
}
