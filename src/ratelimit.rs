//! Rate limits: token buckets per user (or guest socket) and command class, and per address
//! for signup and login.
//!
//! A bucket holds up to `burst` tokens and refills at `per_minute`; each request takes one.
//! An empty bucket refuses with `rate_limited` and says how long until a token is back.

use crate::config::{Config, Rate};
use crate::error::ApiError;
use dashmap::DashMap;
use starling_protocol::ErrorCode;
use std::net::IpAddr;
use std::time::Instant;

/// The command classes, each with its own bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Post,
    Engage,
    Follow,
    Read,
    Subscribe,
    Upload,
}

/// Who a bucket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    User(u64),
    /// A guest socket, by connection id (guests have no user).
    Guest(u64),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct RateLimiter {
    enabled: bool,
    rates: Rates,
    buckets: DashMap<(Subject, Class), Bucket>,
    addresses: DashMap<IpAddr, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Rates {
    post: Rate,
    engage: Rate,
    follow: Rate,
    read: Rate,
    subscribe: Rate,
    upload: Rate,
    auth: Rate,
}

impl RateLimiter {
    pub fn new(config: &Config) -> RateLimiter {
        RateLimiter {
            enabled: !config.no_rate_limits,
            rates: Rates {
                post: config.rate_post,
                engage: config.rate_engage,
                follow: config.rate_follow,
                read: config.rate_read,
                subscribe: config.rate_subscribe,
                upload: config.rate_upload,
                auth: config.rate_auth,
            },
            buckets: DashMap::new(),
            addresses: DashMap::new(),
        }
    }

    /// Takes a token for `subject` in `class`, or says how long to wait.
    pub fn check(&self, subject: Subject, class: Class) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let rate = match class {
            Class::Post => self.rates.post,
            Class::Engage => self.rates.engage,
            Class::Follow => self.rates.follow,
            Class::Read => self.rates.read,
            Class::Subscribe => self.rates.subscribe,
            Class::Upload => self.rates.upload,
        };
        let mut bucket = self
            .buckets
            .entry((subject, class))
            .or_insert_with(|| full(rate));
        take(&mut bucket, rate)
    }

    /// Takes a token for a signup or login from `addr`.
    pub fn check_address(&self, addr: IpAddr) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let rate = self.rates.auth;
        let mut bucket = self.addresses.entry(addr).or_insert_with(|| full(rate));
        take(&mut bucket, rate)
    }

    /// Forgets buckets that have refilled completely: they behave as new ones would.
    pub fn prune(&self) {
        let now = Instant::now();
        let rates = self.rates;
        self.buckets.retain(|(_, class), b| {
            let rate = match class {
                Class::Post => rates.post,
                Class::Engage => rates.engage,
                Class::Follow => rates.follow,
                Class::Read => rates.read,
                Class::Subscribe => rates.subscribe,
                Class::Upload => rates.upload,
            };
            level(b, rate, now) < rate.burst as f64
        });
        self.addresses
            .retain(|_, b| level(b, rates.auth, now) < rates.auth.burst as f64);
    }
}

fn full(rate: Rate) -> Bucket {
    Bucket {
        tokens: rate.burst as f64,
        at: Instant::now(),
    }
}

fn level(bucket: &Bucket, rate: Rate, now: Instant) -> f64 {
    let refill = now.duration_since(bucket.at).as_secs_f64() * rate.per_minute as f64 / 60.0;
    (bucket.tokens + refill).min(rate.burst as f64)
}

fn take(bucket: &mut Bucket, rate: Rate) -> Result<(), ApiError> {
    let now = Instant::now();
    bucket.tokens = level(bucket, rate, now);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return Ok(());
    }
    let per_ms = rate.per_minute as f64 / 60_000.0;
    let wait_ms = if per_ms > 0.0 {
        ((1.0 - bucket.tokens) / per_ms).ceil() as u64
    } else {
        60_000
    };
    Err(ApiError {
        code: ErrorCode::RateLimited,
        message: "too many requests of this kind; slow down".into(),
        retry_after_ms: Some(wait_ms.max(1)),
    })
}
