//! Integration tests: the real server on 127.0.0.1:0 with a temp data folder, driven over
//! real sockets by a client built on the protocol crate. One crate, so the suite links once.

mod support;

mod accounts_http;
mod bot;
mod durability;
mod fanout;
mod liveness;
mod media;
mod metrics;
mod persistence;
mod rate_limits;
mod social;
mod ws_auth;
mod ws_frames;
