//! Rotating refresh tokens, kept only as SHA-256 hashes in the store's `tokens` tree.
//!
//! A login starts a family. Each refresh spends its token and issues the next one of the
//! same family; presenting a spent token again (a sign it was stolen) revokes the whole
//! family, so neither the thief nor the victim can refresh any more. Logout revokes the
//! family too.
//!
//! Keys: `t` + sha256(token) → [`Record`]; `f` + family id → revocation time.

use crate::error::Fault;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    user_id: u64,
    family: u64,
    expires_at: u64,
    spent: bool,
}

/// Why a refresh was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshError {
    /// Unknown, expired or revoked.
    Invalid,
    /// A spent token came back: its family is now revoked.
    Reused,
}

fn token_key(token: &str) -> Vec<u8> {
    let mut key = vec![b't'];
    key.extend_from_slice(&Sha256::digest(token.as_bytes()));
    key
}

fn family_key(family: u64) -> Vec<u8> {
    let mut key = vec![b'f'];
    key.extend_from_slice(&family.to_be_bytes());
    key
}

fn encode(record: &Record) -> Vec<u8> {
    rmp_serde::to_vec_named(record).expect("records always encode")
}

/// Starts a new family for `user_id` and returns its first token.
pub fn issue(tree: &sled::Tree, user_id: u64, ttl_ms: u64) -> Result<String, Fault> {
    let family = u64::from_be_bytes(super::random_bytes::<8>());
    issue_in(tree, user_id, family, ttl_ms)
}

fn issue_in(tree: &sled::Tree, user_id: u64, family: u64, ttl_ms: u64) -> Result<String, Fault> {
    let token =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(super::random_bytes::<32>());
    let record = Record {
        user_id,
        family,
        expires_at: super::now_ms() + ttl_ms,
        spent: false,
    };
    tree.insert(token_key(&token), encode(&record))?;
    Ok(token)
}

/// Spends `token` and returns the user and the next token of its family.
pub fn rotate(
    tree: &sled::Tree,
    token: &str,
    ttl_ms: u64,
) -> Result<Result<(u64, String), RefreshError>, Fault> {
    let key = token_key(token);
    let Some(current) = tree.get(&key)? else {
        return Ok(Err(RefreshError::Invalid));
    };
    let Ok(record) = rmp_serde::from_slice::<Record>(&current) else {
        return Err(Fault("a refresh token record is corrupt".into()));
    };
    if tree.contains_key(family_key(record.family))? || record.expires_at <= super::now_ms() {
        return Ok(Err(RefreshError::Invalid));
    }
    let spent = Record {
        spent: true,
        ..record.clone()
    };
    // Compare-and-swap: of two concurrent refreshes with one token, exactly one wins; the
    // other sees a spent token, which is what a replay looks like.
    let won = !record.spent
        && tree
            .compare_and_swap(&key, Some(current), Some(encode(&spent)))?
            .is_ok();
    if !won {
        revoke_family(tree, record.family)?;
        return Ok(Err(RefreshError::Reused));
    }
    let next = issue_in(tree, record.user_id, record.family, ttl_ms)?;
    Ok(Ok((record.user_id, next)))
}

/// Revokes the family of `token`, if it is one of ours. Returns whether it was.
pub fn revoke(tree: &sled::Tree, token: &str) -> Result<bool, Fault> {
    let Some(current) = tree.get(token_key(token))? else {
        return Ok(false);
    };
    let record = rmp_serde::from_slice::<Record>(&current)
        .map_err(|_| Fault("a refresh token record is corrupt".into()))?;
    revoke_family(tree, record.family)?;
    Ok(true)
}

fn revoke_family(tree: &sled::Tree, family: u64) -> Result<(), Fault> {
    tree.insert(family_key(family), &super::now_ms().to_be_bytes())?;
    Ok(())
}

/// Forgets expired token records and revocations old enough that every token of their
/// family has expired. Returns how many records went.
pub fn prune(tree: &sled::Tree, now: u64, ttl_ms: u64) -> Result<usize, Fault> {
    let mut doomed = Vec::new();
    for entry in tree.iter() {
        let (key, value) = entry?;
        let expired = match key.first() {
            Some(b't') => rmp_serde::from_slice::<Record>(&value)
                .map(|r| r.expires_at <= now)
                .unwrap_or(false),
            Some(b'f') => <[u8; 8]>::try_from(value.as_ref())
                .map(|at| u64::from_be_bytes(at).saturating_add(ttl_ms) <= now)
                .unwrap_or(false),
            _ => false,
        };
        if expired {
            doomed.push(key);
        }
    }
    for key in &doomed {
        tree.remove(key)?;
    }
    Ok(doomed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_reuse_and_pruning() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("tokens").unwrap();
        let first = issue(&tree, 7, 60_000).unwrap();
        let (user, second) = rotate(&tree, &first, 60_000).unwrap().unwrap();
        assert_eq!(user, 7);
        assert_eq!(
            rotate(&tree, &first, 60_000).unwrap(),
            Err(RefreshError::Reused)
        );
        assert_eq!(
            rotate(&tree, &second, 60_000).unwrap(),
            Err(RefreshError::Invalid)
        );
        // Within a lifetime nothing goes (the revocation must outlive every token of its
        // family); after one, the two tokens and the revocation all go.
        let now = super::super::now_ms();
        assert_eq!(prune(&tree, now + 30_000, 60_000).unwrap(), 0);
        assert_eq!(prune(&tree, now + 61_000, 60_000).unwrap(), 3);
        assert!(tree.is_empty());
    }
}
