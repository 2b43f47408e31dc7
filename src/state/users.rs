//! Accounts: users by id, by username and by email (both unique case-insensitively).

use dashmap::DashMap;
use starling_protocol::rules;
use starling_protocol::{Profile, UserRef};
use std::sync::atomic::{AtomicU64, Ordering};

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub email: String,
    /// The PHC string of the argon2id hash; never leaves the server.
    pub password_hash: String,
    pub display_name: String,
    pub bio: String,
    pub joined_at: u64,
    /// Tweets, replies and quotes written (retweets not counted).
    pub tweets: u64,
}

#[derive(Default)]
pub struct Users {
    by_id: DashMap<u64, User>,
    by_name: DashMap<String, u64>,
    by_email: DashMap<String, u64>,
    /// The highest user id given out.
    last_id: AtomicU64,
}

impl Users {
    /// The id the next account gets. Only meaningful under the write lock.
    pub fn next_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire) + 1
    }

    pub fn insert(&self, user: User) {
        self.last_id.fetch_max(user.id, Ordering::AcqRel);
        self.by_name
            .insert(rules::username_key(&user.username), user.id);
        self.by_email.insert(rules::email_key(&user.email), user.id);
        self.by_id.insert(user.id, user);
    }

    pub fn update_profile(&self, id: u64, bio: Option<&str>, display_name: Option<&str>) {
        if let Some(mut user) = self.by_id.get_mut(&id) {
            if let Some(bio) = bio {
                user.bio = bio.to_owned();
            }
            if let Some(name) = display_name {
                user.display_name = name.to_owned();
            }
        }
    }

    /// Changes a user's tweet count by `delta`.
    pub fn add_tweets(&self, id: u64, delta: i64) {
        if let Some(mut user) = self.by_id.get_mut(&id) {
            user.tweets = user.tweets.saturating_add_signed(delta);
        }
    }

    pub fn name_taken(&self, username: &str) -> bool {
        self.by_name.contains_key(&rules::username_key(username))
    }

    pub fn email_taken(&self, email: &str) -> bool {
        self.by_email.contains_key(&rules::email_key(email))
    }

    pub fn id_by_name(&self, username: &str) -> Option<u64> {
        self.by_name
            .get(&rules::username_key(username))
            .map(|id| *id)
    }

    /// The user a login names, by username or by email.
    pub fn find_login(&self, login: &str) -> Option<User> {
        let id = if login.contains('@') {
            self.by_email.get(&rules::email_key(login)).map(|id| *id)
        } else {
            self.id_by_name(login)
        }?;
        self.get(id)
    }

    pub fn get(&self, id: u64) -> Option<User> {
        self.by_id.get(&id).map(|u| u.clone())
    }

    pub fn exists(&self, id: u64) -> bool {
        self.by_id.contains_key(&id)
    }

    pub fn count(&self) -> usize {
        self.by_id.len()
    }

    /// The highest id given out (for snapshots: ids are never reused).
    pub fn last_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire)
    }

    pub fn raise_last_id(&self, id: u64) {
        self.last_id.fetch_max(id, Ordering::AcqRel);
    }

    /// Every user, for snapshots.
    pub fn all(&self) -> Vec<User> {
        self.by_id.iter().map(|u| u.clone()).collect()
    }

    /// A profile without the follow counts, which live in the graph (see
    /// `State::profile`).
    pub fn profile_base(&self, id: u64) -> Option<Profile> {
        self.by_id.get(&id).map(|u| Profile {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            bio: u.bio.clone(),
            followers: 0,
            following: 0,
            tweets: u.tweets,
            joined_at: u.joined_at,
        })
    }

    pub fn user_ref(&self, id: u64) -> Option<UserRef> {
        self.by_id.get(&id).map(|u| UserRef {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
        })
    }
}
