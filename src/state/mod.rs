//! The whole graph in memory: concurrent maps and atomics, never an `.await`.
//!
//! Reads go straight to the maps. Changes come only through [`State::apply`], with an
//! operation that was checked and logged first (see `App::commit`), so the same operations
//! replayed at start-up rebuild the same state, notifications and ids included.
//!
//! Locking rule: code here never holds a guard of one map while taking another guard of
//! any map. Readers may hold guards of different maps at once; with writers that never
//! nest, that cannot deadlock. Nobody ever takes two guards of the same map.

pub mod graph;
pub mod ids;
pub mod likes;
pub mod media;
pub mod notifications;
pub mod snapshot;
pub mod trending;
pub mod tweets;
pub mod users;

use crate::store::Op;
pub use graph::Graph;
pub use likes::Likes;
pub use media::{MediaIndex, MediaRec};
pub use notifications::{NotificationRec, Notifications};
use starling_protocol::NotificationKind;
pub use trending::Trending;
pub use tweets::{TweetRec, Tweets};
pub use users::{User, Users};

#[derive(Default)]
pub struct State {
    pub users: Users,
    pub tweets: Tweets,
    pub likes: Likes,
    pub graph: Graph,
    pub notifications: Notifications,
    pub trending: Trending,
    pub media: MediaIndex,
}

/// A fast, unkeyed hasher for maps keyed by server-assigned ids, which clients cannot
/// choose, so hash flooding is not a concern (FxHash's mixing step).
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Builds [`IdHasher`]s.
pub type IdHash = std::hash::BuildHasherDefault<IdHasher>;

/// Effects (and so events) one operation reports at most; see `hub::EFFECTS_PER_OP`.
pub const MAX_EFFECTS: usize = 1000;

/// What an applied operation changed that someone may be watching (for live events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A new tweet, reply, quote or retweet.
    Tweet(u64),
    /// A tweet left every index (its record, for routing the event).
    Deleted(TweetRec),
    /// A tweet's likes, retweets or replies changed.
    Counts(u64),
    /// A notification for a user.
    Notified(u64, NotificationRec),
}

impl State {
    /// Applies a checked, logged operation and says what it changed. Never fails: checks
    /// happen before logging.
    pub fn apply(&self, op: &Op) -> Vec<Effect> {
        let mut effects = Vec::new();
        match op {
            Op::CreateUser {
                id,
                username,
                email,
                password_hash,
                created_at,
            } => self.users.insert(User {
                id: *id,
                username: username.clone(),
                email: email.clone(),
                password_hash: password_hash.clone(),
                display_name: username.clone(),
                bio: String::new(),
                joined_at: *created_at,
                tweets: 0,
            }),
            Op::UpdateProfile {
                user_id,
                bio,
                display_name,
            } => self
                .users
                .update_profile(*user_id, bio.as_deref(), display_name.as_deref()),
            Op::CreateTweet {
                id,
                author,
                text,
                created_at,
                hashtags,
                mentions,
                media,
                reply_to,
                quote_of,
                client_key,
            } => {
                let tweet = TweetRec {
                    id: *id,
                    author: *author,
                    text: text.clone(),
                    created_at: *created_at,
                    hashtags: hashtags.clone(),
                    mentions: mentions.clone(),
                    media: media.clone(),
                    reply_to: *reply_to,
                    quote_of: *quote_of,
                    retweet_of: None,
                    likes: 0,
                    retweets: 0,
                    replies: 0,
                };
                self.tweets.insert(tweet, client_key.as_deref());
                self.users.add_tweets(*author, 1);
                self.trending.record(hashtags, *created_at);
                effects.push(Effect::Tweet(*id));
                let mut notify = |user: Option<u64>, kind| {
                    if let Some(user) = user {
                        if let Some(n) =
                            self.notifications
                                .add(user, kind, *author, Some(*id), *created_at)
                        {
                            effects.push(Effect::Notified(user, n));
                        }
                    }
                };
                if let Some(parent) = reply_to {
                    notify(
                        self.tweets.get(*parent).map(|t| t.author),
                        NotificationKind::Replied,
                    );
                }
                if let Some(quoted) = quote_of {
                    notify(
                        self.tweets.get(*quoted).map(|t| t.author),
                        NotificationKind::Quoted,
                    );
                }
                for user in mentions {
                    notify(Some(*user), NotificationKind::Mentioned);
                }
                if let Some(parent) = reply_to {
                    effects.push(Effect::Counts(*parent));
                }
            }
            Op::Retweet {
                id,
                user,
                tweet_id,
                created_at,
            } => {
                let original = self.tweets.get(*tweet_id);
                self.tweets.insert(
                    TweetRec {
                        id: *id,
                        author: *user,
                        text: String::new(),
                        created_at: *created_at,
                        hashtags: Vec::new(),
                        mentions: Vec::new(),
                        media: Vec::new(),
                        reply_to: None,
                        quote_of: None,
                        retweet_of: Some(*tweet_id),
                        likes: 0,
                        retweets: 0,
                        replies: 0,
                    },
                    None,
                );
                effects.push(Effect::Tweet(*id));
                effects.push(Effect::Counts(*tweet_id));
                if let Some(original) = original {
                    if let Some(n) = self.notifications.add(
                        original.author,
                        NotificationKind::Retweeted,
                        *user,
                        Some(*tweet_id),
                        *created_at,
                    ) {
                        effects.push(Effect::Notified(original.author, n));
                    }
                }
            }
            Op::DeleteTweet { id } => self.delete(*id, &mut effects),
            Op::Like {
                user,
                tweet_id,
                like_id,
                at,
            } => {
                self.likes.insert(*user, *tweet_id, *like_id);
                self.tweets.bump(*tweet_id, |t| t.likes += 1);
                effects.push(Effect::Counts(*tweet_id));
                if let Some(author) = self.tweets.get(*tweet_id).map(|t| t.author) {
                    if let Some(n) = self.notifications.add(
                        author,
                        NotificationKind::Liked,
                        *user,
                        Some(*tweet_id),
                        *at,
                    ) {
                        effects.push(Effect::Notified(author, n));
                    }
                }
            }
            Op::Unlike { user, tweet_id } => {
                if self.likes.remove(*user, *tweet_id) {
                    self.tweets
                        .bump(*tweet_id, |t| t.likes = t.likes.saturating_sub(1));
                    effects.push(Effect::Counts(*tweet_id));
                }
            }
            Op::Follow {
                follower,
                followee,
                follow_id,
                at,
            } => {
                self.graph.insert(*follower, *followee, *follow_id);
                if let Some(n) = self.notifications.add(
                    *followee,
                    NotificationKind::Followed,
                    *follower,
                    None,
                    *at,
                ) {
                    effects.push(Effect::Notified(*followee, n));
                }
            }
            Op::Unfollow { follower, followee } => {
                self.graph.remove(*follower, *followee);
            }
            Op::CreateMedia {
                id,
                owner,
                hash,
                content_type,
                bytes,
                width,
                height,
                created_at: _,
            } => self.media.insert(MediaRec {
                id: *id,
                owner: *owner,
                hash: hash.clone(),
                content_type: content_type.clone(),
                bytes: *bytes,
                width: *width,
                height: *height,
            }),
        }
        effects
    }

    /// Removes a tweet from every index and count; its retweets go with it, its replies
    /// stay.
    fn delete(&self, id: u64, effects: &mut Vec<Effect>) {
        let Some((tweet, retweets)) = self.tweets.remove(id) else {
            return;
        };
        self.likes.remove_tweet(id);
        if tweet.retweet_of.is_none() {
            self.users.add_tweets(tweet.author, -1);
            self.trending.forget(&tweet.hashtags, tweet.created_at);
        }
        if let Some(parent) = tweet.reply_to {
            effects.push(Effect::Counts(parent));
        }
        if let Some(original) = tweet.retweet_of {
            effects.push(Effect::Counts(original));
        }
        effects.push(Effect::Deleted(tweet));
        for retweet in retweets {
            if let Some((rt, _)) = self.tweets.remove(retweet) {
                self.likes.remove_tweet(retweet);
                // Event cursors leave room for 1024 events per operation; past that,
                // clients drop retweets of the deleted tweet on its own `deleted` event.
                if effects.len() < MAX_EFFECTS {
                    effects.push(Effect::Deleted(rt));
                }
            }
        }
    }
}

impl State {
    /// A user's full profile, with the follow counts from the graph.
    pub fn profile(&self, id: u64) -> Option<starling_protocol::Profile> {
        let mut profile = self.users.profile_base(id)?;
        profile.followers = self.graph.follower_count(id);
        profile.following = self.graph.following_count(id);
        Some(profile)
    }
}

impl State {
    /// The home timeline: the user's own tweets and the tweets and retweets of everyone
    /// they follow, newest first, below `before`.
    ///
    /// Merged on read rather than fanned out on write: a page costs one binary search per
    /// followee plus the items it yields (see BENCHMARKS.md), and no per-user timeline
    /// copies are kept, so a post to a million followers costs the same as any other.
    pub fn home_page(&self, user: u64, before: Option<u64>, limit: usize) -> Vec<u64> {
        let mut top = ids::TopIds::new(limit);
        self.tweets.offer_author(user, before, &mut top);
        for followee in self.graph.followees(user) {
            self.tweets.offer_author(followee, before, &mut top);
        }
        top.into_desc()
    }
}
