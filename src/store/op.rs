//! Operations: every change to the state, as it is written to the log and replayed.
//!
//! An operation is recorded only after it was checked against the state it applies to, so
//! applying a logged operation never fails, and replaying the log in order rebuilds exactly
//! the state that was live. Ids and timestamps are decided before logging and carried in the
//! operation, so replay is deterministic.

use serde::{Deserialize, Serialize};

/// One state change. Encoded with MessagePack named fields, so fields can be added later
/// (with `#[serde(default)]`) without breaking old logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    CreateUser {
        id: u64,
        username: String,
        email: String,
        password_hash: String,
        created_at: u64,
    },
    UpdateProfile {
        user_id: u64,
        bio: Option<String>,
        display_name: Option<String>,
    },
    /// A tweet, reply or quote. Hashtags are normalised and mentions resolved to user ids
    /// before logging.
    CreateTweet {
        id: u64,
        author: u64,
        text: String,
        created_at: u64,
        hashtags: Vec<String>,
        mentions: Vec<u64>,
        media: Vec<u64>,
        reply_to: Option<u64>,
        quote_of: Option<u64>,
        client_key: Option<String>,
    },
    /// A retweet is a tweet of its own (`id`) pointing at the original.
    Retweet {
        id: u64,
        user: u64,
        tweet_id: u64,
        created_at: u64,
    },
    /// Deletes a tweet, reply, quote or retweet; retweets of it go with it.
    DeleteTweet {
        id: u64,
    },
    Like {
        user: u64,
        tweet_id: u64,
        like_id: u64,
        at: u64,
    },
    Unlike {
        user: u64,
        tweet_id: u64,
    },
    Follow {
        follower: u64,
        followee: u64,
        follow_id: u64,
        at: u64,
    },
    Unfollow {
        follower: u64,
        followee: u64,
    },
    /// An uploaded image; its bytes are in the store's media tree under `hash`.
    CreateMedia {
        id: u64,
        owner: u64,
        hash: String,
        content_type: String,
        bytes: u64,
        width: u32,
        height: u32,
        created_at: u64,
    },
}

impl Op {
    pub fn encode(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("operations always encode")
    }

    pub fn decode(bytes: &[u8]) -> Result<Op, rmp_serde::decode::Error> {
        rmp_serde::from_slice(bytes)
    }
}
