//! Argon2id password hashing, off the async workers and a few at a time.

use crate::error::Fault;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Hashes and verifies passwords on the blocking pool, behind a semaphore, so a login storm
/// queues up instead of taking every core from the sockets.
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the login names no user, so an
    /// unknown user costs the same time as a wrong password.
    decoy: String,
}

impl Hasher {
    pub fn new(memory_kib: u32, iterations: u32, concurrency: usize) -> Result<Hasher, Fault> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| Fault(format!("invalid argon2 parameters: {e}")))?;
        let decoy_password = super::random_bytes::<16>();
        let decoy = hash_now(&params, &decoy_password)?;
        Ok(Hasher {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            decoy,
        })
    }

    /// The PHC string of an argon2id hash of `password` with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, Fault> {
        let params = self.params.clone();
        self.on_pool(move || hash_now(&params, password.as_bytes()))
            .await?
    }

    /// Whether `password` matches `phc`; with `None`, checks against the decoy (always false).
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, Fault> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.decoy.clone());
        let matched = self
            .on_pool(move || {
                Argon2::default()
                    .verify_password(password.as_bytes(), phc.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matched)
    }

    async fn on_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Fault> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Fault("the hasher is closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Fault(format!("password hashing task failed: {e}")))
    }
}

fn hash_now(params: &Params, password: &[u8]) -> Result<String, Fault> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| Fault(format!("password hashing failed: {e}")))
}
