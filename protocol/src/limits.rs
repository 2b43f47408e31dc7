//! Limits fixed by the contract. The server advertises them (and its configurable ones) in the
//! `auth` reply's `limits` object, so clients never need to hard-code them.

/// Tweet text length, in extended grapheme clusters after trimming: what a reader sees as
/// one character, so an emoji family or a flag counts as one.
pub const TEXT_GRAPHEMES: usize = 250;
/// The largest WebSocket frame (and message) a client may send, uploads aside. It bounds the
/// memory one socket can make the server buffer.
pub const FRAME_BYTES: usize = 64 * 1024;
/// The largest image a client may upload.
pub const MEDIA_BYTES: usize = 5 * 1024 * 1024;
/// The largest WebSocket message a client may send when it is an `upload`: a
/// [`MEDIA_BYTES`] image in base64 plus room for the rest of the frame.
pub const UPLOAD_FRAME_BYTES: usize = MEDIA_BYTES / 3 * 4 + 64 * 1024;
/// Images attached to one tweet.
pub const MEDIA_PER_TWEET: usize = 4;
/// Username length bounds (characters of `[A-Za-z0-9_]`).
pub const USERNAME_MIN: usize = 3;
/// See [`USERNAME_MIN`].
pub const USERNAME_MAX: usize = 15;
/// Password length bounds, in characters. The upper bound keeps one hash cheap to compute.
pub const PASSWORD_MIN: usize = 8;
/// See [`PASSWORD_MIN`].
pub const PASSWORD_MAX: usize = 128;
/// The longest email address (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// Bio length, in characters (Unicode scalar values).
pub const BIO_CHARS: usize = 160;
/// Display name length, in characters (Unicode scalar values).
pub const DISPLAY_NAME_CHARS: usize = 50;
/// A hashtag's length after the `#`, in characters.
pub const HASHTAG_CHARS: usize = 100;
/// Hashtags one `search` request may combine.
pub const SEARCH_HASHTAGS: usize = 10;
/// Page size when a request gives no `limit`.
pub const PAGE_DEFAULT: usize = 20;
/// The largest `limit` a page request may ask for; above is `bad_request`.
pub const PAGE_MAX: usize = 100;
/// Seconds a new socket has to send its first (`auth`, `signup` or `login`) frame.
pub const AUTH_TIMEOUT_SECS: u64 = 10;
/// Seconds between the server's WebSocket pings; a socket silent for two intervals is closed.
pub const PING_INTERVAL_SECS: u64 = 25;
/// The largest `client_key` of a `post`, in bytes.
pub const CLIENT_KEY_BYTES: usize = 128;
/// Ids and cursors stay below this so JavaScript numbers hold them exactly.
pub const MAX_SAFE_ID: u64 = (1 << 53) - 1;
