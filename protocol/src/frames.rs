//! Frames: what a client sends ([`ClientFrame`], [`Request`]), what the server answers
//! ([`ServerFrame`] with a [`Reply`]) and what it pushes ([`EventFrame`], [`Event`]).

use crate::codes::ErrorCode;
use crate::objects::*;
use serde::{Deserialize, Serialize};

/// One client frame: a request and the optional `id` its reply will carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(flatten)]
    pub request: Request,
}

/// Every request of the contract, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    Auth(req::Auth),
    Signup(req::Signup),
    Login(req::Login),
    Post(req::Post),
    Delete(req::TweetId),
    Like(req::TweetId),
    Unlike(req::TweetId),
    Retweet(req::TweetId),
    Unretweet(req::TweetId),
    Follow(req::Username),
    Unfollow(req::Username),
    Profile(req::Username),
    UpdateProfile(req::UpdateProfile),
    Timeline(req::Timeline),
    Tweet(req::TweetId),
    Followers(req::UserPage),
    Following(req::UserPage),
    Search(req::Search),
    Trending(req::Trending),
    Notifications(req::Page),
    Subscribe(req::Subscribe),
    Unsubscribe(req::Stream),
    Upload(req::Upload),
    Ping(req::Ping),
}

impl Request {
    /// The `type` of the request as spelled on the wire (for logs and metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Auth(_) => "auth",
            Request::Signup(_) => "signup",
            Request::Login(_) => "login",
            Request::Post(_) => "post",
            Request::Delete(_) => "delete",
            Request::Like(_) => "like",
            Request::Unlike(_) => "unlike",
            Request::Retweet(_) => "retweet",
            Request::Unretweet(_) => "unretweet",
            Request::Follow(_) => "follow",
            Request::Unfollow(_) => "unfollow",
            Request::Profile(_) => "profile",
            Request::UpdateProfile(_) => "update_profile",
            Request::Timeline(_) => "timeline",
            Request::Tweet(_) => "tweet",
            Request::Followers(_) => "followers",
            Request::Following(_) => "following",
            Request::Search(_) => "search",
            Request::Trending(_) => "trending",
            Request::Notifications(_) => "notifications",
            Request::Subscribe(_) => "subscribe",
            Request::Unsubscribe(_) => "unsubscribe",
            Request::Upload(_) => "upload",
            Request::Ping(_) => "ping",
        }
    }
}

/// The fields of each request.
pub mod req {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Auth {
        pub token: String,
    }

    /// Also the body of `POST /api/signup`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Signup {
        pub username: String,
        pub email: String,
        pub password: String,
    }

    /// Also the body of `POST /api/login`; `login` is a username or an email.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Login {
        pub login: String,
        pub password: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct Post {
        pub text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reply_to: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub quote_of: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub media: Option<Vec<u64>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub client_key: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct TweetId {
        pub tweet_id: u64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Username {
        pub username: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct UpdateProfile {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub bio: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub display_name: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Timeline {
        pub feed: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub limit: Option<u64>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct UserPage {
        pub username: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub limit: Option<u64>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Search {
        pub hashtags: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub limit: Option<u64>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct Trending {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub limit: Option<u64>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct Page {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub limit: Option<u64>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Subscribe {
        pub stream: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub since: Option<u64>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Stream {
        pub stream: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Upload {
        pub content_type: String,
        /// Base64 (standard alphabet, padded) in JSON; `bin` in MessagePack.
        #[serde(with = "crate::frames::binary")]
        pub data: Vec<u8>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct Ping {}

    /// `POST /api/refresh` and `POST /api/logout` body.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RefreshToken {
        pub refresh_token: String,
    }
}

/// Bytes as base64 text in human-readable formats (JSON) and as `bin` in MessagePack; either
/// form is accepted when decoding.
pub(crate) mod binary {
    use base64::Engine as _;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
        } else {
            s.serialize_bytes(bytes)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct BytesOrBase64;
        impl<'de> Visitor<'de> for BytesOrBase64 {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("base64 text or binary data")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map_err(|e| E::custom(format!("invalid base64: {e}")))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        d.deserialize_any(BytesOrBase64)
    }
}

/// One server frame. `D` is the reply data: [`Reply`] when the server encodes, and any type
/// the client expects (or `serde_json::Value`) when a client decodes.
// Frames live briefly and move once into the encoder; boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<D = Reply> {
    /// The success reply to the request with the same `id`.
    Result {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        data: D,
    },
    /// The failure reply to the request with the same `id`.
    Error(ErrorFrame),
    /// A push on a subscribed stream.
    Event(EventFrame),
}

/// A failure reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    /// The request's `id`; absent when the request had none or it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub code: ErrorCode,
    pub message: String,
    /// Only with `rate_limited`: how long to wait before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// A push on a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFrame {
    pub stream: String,
    /// Rises strictly within the stream.
    pub cursor: u64,
    #[serde(flatten)]
    pub event: Event,
}

/// What happened, tagged by `event`, with its `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum Event {
    Tweet(Tweet),
    Deleted(TweetRef),
    Counts(Counts),
    Notification(Notification),
    Gap(reply::Stream),
}

/// `{tweet_id}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TweetRef {
    pub tweet_id: u64,
}

/// A tweet's counts after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub tweet_id: u64,
    pub likes: u64,
    pub retweets: u64,
    pub replies: u64,
}

/// The data of every success reply. Untagged: the client knows what it asked for.
// Replies live briefly and move once into the encoder; boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    Session(reply::Session),
    Tweet(reply::TweetData),
    Likes(reply::Likes),
    Retweets(reply::Retweets),
    Follow(reply::Follow),
    ProfileView(reply::ProfileView),
    Profile(reply::ProfileData),
    Tweets(reply::Tweets),
    Thread(reply::Thread),
    Users(reply::Users),
    Trending(reply::Trending),
    Notifications(reply::Notifications),
    Subscribed(reply::Subscribed),
    Stream(reply::Stream),
    Media(reply::MediaData),
    Pong(reply::Pong),
    Empty(reply::Empty),
}

/// The data of each success reply.
pub mod reply {
    use crate::objects::*;
    use serde::{Deserialize, Serialize};

    /// `auth`, `signup` and `login` over WebSocket; the HTTP auth endpoints answer the same
    /// shape (without `limits`). Tokens only come back from `signup` and `login`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Session {
        /// `null` for a guest.
        pub user: Option<Profile>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub access_token: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub refresh_token: Option<String>,
        /// When the access token expires (ms since the epoch).
        pub expires_at: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub limits: Option<Limits>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct TweetData {
        pub tweet: Tweet,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Likes {
        pub tweet_id: u64,
        pub likes: u64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Retweets {
        pub tweet_id: u64,
        pub retweets: u64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Follow {
        pub username: String,
        /// Whether you now follow them.
        pub following: bool,
        /// Their follower count.
        pub followers: u64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ProfileView {
        pub profile: Profile,
        pub followed_by_me: bool,
        pub follows_me: bool,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ProfileData {
        pub profile: Profile,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Tweets {
        pub items: Vec<Tweet>,
        /// Pass back as `before` for the next page; `null` at the end.
        pub next: Option<u64>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Thread {
        pub tweet: Tweet,
        #[serde(default)]
        pub parent: Option<Tweet>,
        pub replies: Vec<Tweet>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Users {
        pub users: Vec<Profile>,
        pub next: Option<u64>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Trending {
        pub hashtags: Vec<TrendingTag>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Notifications {
        pub items: Vec<Notification>,
        pub next: Option<u64>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Subscribed {
        pub stream: String,
        pub cursor: u64,
        pub recovered: bool,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Stream {
        pub stream: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct MediaData {
        pub media: Media,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Pong {
        pub now: u64,
    }

    /// `{}`
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct Empty {}
}

/// The HTTP API's token reply (`signup`, `login`, `refresh`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    pub user: Profile,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: u64,
}

/// The HTTP API's guest token reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestToken {
    pub access_token: String,
    pub expires_at: u64,
}

/// The HTTP API's error body: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpError {
    pub error: HttpErrorBody,
}

/// See [`HttpError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}
