//! The objects that travel inside replies and events.

use serde::{Deserialize, Serialize};

/// A user as shown on a profile page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: u64,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub followers: u64,
    pub following: u64,
    pub tweets: u64,
    /// Milliseconds since the Unix epoch.
    pub joined_at: u64,
}

/// The short form of a user, inside tweets and notifications ("Profile-lite").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub id: u64,
    pub username: String,
    pub display_name: String,
}

/// An uploaded image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub id: u64,
    /// The type recognised from the image's first bytes, e.g. `image/png`.
    pub content_type: String,
    /// Size of the image in bytes.
    pub bytes: u64,
    /// Where to fetch it: `/media/<id>`, relative to the server.
    pub url: String,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
}

/// A tweet, reply, quote or retweet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tweet {
    pub id: u64,
    pub author: UserRef,
    /// Empty for a plain retweet.
    pub text: String,
    pub created_at: u64,
    /// Lower-cased, without `#`, in order of first appearance.
    pub hashtags: Vec<String>,
    /// Usernames (as registered) of existing users mentioned, without `@`.
    pub mentions: Vec<String>,
    pub media: Vec<Media>,
    pub reply_to: Option<u64>,
    pub quote_of: Option<u64>,
    /// For a retweet, the tweet retweeted.
    pub retweet_of: Option<Box<Tweet>>,
    pub likes: u64,
    pub retweets: u64,
    pub replies: u64,
    /// Per viewer: left out of pushed events, which are encoded once for every recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liked_by_me: Option<bool>,
    /// Per viewer: left out of pushed events, which are encoded once for every recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retweeted_by_me: Option<bool>,
}

/// Why a notification was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Followed,
    Liked,
    Retweeted,
    Replied,
    Mentioned,
    Quoted,
}

/// Something another user did that concerns you.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: u64,
    pub kind: NotificationKind,
    pub by: UserRef,
    #[serde(default)]
    pub tweet_id: Option<u64>,
    pub created_at: u64,
}

/// Limits the server advertises in the `auth` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub text_graphemes: u64,
    pub frame_bytes: u64,
    pub media_bytes: u64,
    pub media_per_tweet: u64,
    pub subscriptions: u64,
    pub page_max: u64,
    pub bio_chars: u64,
    pub display_name_chars: u64,
}

/// One ranked hashtag of `trending`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrendingTag {
    pub tag: String,
    pub count: u64,
    pub rank: u64,
}
