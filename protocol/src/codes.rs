//! Error codes and WebSocket close codes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every error code of the contract. A client's mistake gets one of these in an `error` frame
/// (WebSocket) or an `{"error": {"code", "message"}}` body (HTTP), and the socket stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame or body is malformed, a field is missing or of the wrong type, or a value is
    /// out of range.
    BadRequest,
    /// The request needs a signed-in user (HTTP: no or invalid bearer token).
    Unauthenticated,
    /// The access token has expired: refresh it and send `auth` again.
    TokenExpired,
    /// The user may not do this (not the author, a guest writing, switching users).
    Forbidden,
    /// The tweet, user or media does not exist.
    NotFound,
    /// The username or email is already taken.
    Conflict,
    /// The tweet text is longer than the limit.
    TextTooLong,
    /// The tweet text is empty after trimming.
    EmptyText,
    /// The username breaks the username rules.
    InvalidUsername,
    /// The email address is not a valid address.
    InvalidEmail,
    /// The password is too short or too long.
    WeakPassword,
    /// The body or upload is larger than allowed.
    TooLarge,
    /// The upload is not a png, jpeg, gif or webp image.
    UnsupportedMedia,
    /// Too many requests of this class: wait `retry_after_ms` and try again.
    RateLimited,
    /// Login failed: unknown user or wrong password (deliberately indistinguishable).
    InvalidCredentials,
    /// The server failed; the request may or may not have taken effect.
    Internal,
}

impl ErrorCode {
    /// The code as it is spelled on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TextTooLong => "text_too_long",
            ErrorCode::EmptyText => "empty_text",
            ErrorCode::InvalidUsername => "invalid_username",
            ErrorCode::InvalidEmail => "invalid_email",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedMedia => "unsupported_media",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status the code maps to on the HTTP API.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::TextTooLong
            | ErrorCode::EmptyText
            | ErrorCode::InvalidUsername
            | ErrorCode::InvalidEmail
            | ErrorCode::WeakPassword => 400,
            ErrorCode::Unauthenticated
            | ErrorCode::TokenExpired
            | ErrorCode::InvalidCredentials => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::UnsupportedMedia => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// WebSocket close codes the server uses, grouped by what the client should do.
pub mod close {
    /// Retry with backoff: the server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Do not retry as is: a frame was larger than the limit.
    pub const TOO_BIG: u16 = 1009;
    /// Do not retry as is: the first frame was not a valid `auth` (or `signup`/`login`).
    pub const AUTH_REQUIRED: u16 = 4001;
    /// Get a new token first: the access token expired and no `auth` replaced it.
    pub const TOKEN_EXPIRED: u16 = 4003;
    /// Do not retry as is: no first frame arrived in time.
    pub const AUTH_TIMEOUT: u16 = 4008;
    /// Retry with backoff: the outbound queue overflowed; resubscribe with `since`.
    pub const SLOW_CONSUMER: u16 = 4013;
    /// Retry with backoff: too many requests were refused for rate.
    pub const RATE_LIMITED: u16 = 4029;
}
