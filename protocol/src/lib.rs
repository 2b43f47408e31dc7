//! Starling wire protocol v1: the one place that knows the shape of every byte on the wire.
//!
//! Code map:
//! - [`limits`]: every size and count the contract fixes, as named constants.
//! - [`codes`]: error codes (sent in `error` frames and HTTP bodies) and WebSocket close codes.
//! - [`objects`]: Profile, Tweet, Media, Notification and the other objects inside replies.
//! - [`frames`]: client requests, server replies, events and the frames that carry them.
//! - [`codec`]: JSON text and MessagePack (named fields) behind one `encode`/`decode` API.
//! - [`rules`]: the content rules (text length in graphemes, hashtags, usernames, emails).
//!
//! This crate never does I/O and never knows about the server's state: the server converts its
//! state into these types at the edge, and clients (tests, the load bot) use them as they are.

pub mod codec;
pub mod codes;
pub mod frames;
pub mod limits;
pub mod objects;
pub mod rules;

pub use codec::{decode, decode_request, encode, BadFrame, Codec, DecodeError};
pub use codes::{close, ErrorCode};
pub use frames::*;
pub use objects::*;
