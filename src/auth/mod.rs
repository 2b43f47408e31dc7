//! Identity: argon2id passwords ([`password`]), HS256 access tokens ([`jwt`]) and rotating
//! refresh tokens ([`refresh`]). Never logs a password or a token.

pub mod jwt;
pub mod password;
pub mod refresh;

pub use jwt::{Claims, Identity, Keys, TokenError};
pub use password::Hasher;

/// Fills a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source is available");
    buf
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
