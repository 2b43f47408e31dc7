//! The whole graph in memory: concurrent maps and atomics, never an `.await`.
//!
//! Reads go straight to the maps. Changes come only through [`State::apply`], with an
//! operation that was checked and logged first (see `App::commit`), so the same operations
//! replayed at start-up rebuild the same state.

pub mod users;

use crate::store::Op;
pub use users::{User, Users};

#[derive(Default)]
pub struct State {
    pub users: Users,
}

impl State {
    /// Applies a checked, logged operation. Never fails: checks happen before logging.
    pub fn apply(&self, op: &Op) {
        match op {
            Op::CreateUser {
                id,
                username,
                email,
                password_hash,
                created_at,
            } => self.users.insert(User {
                id: *id,
                username: username.clone(),
                email: email.clone(),
                password_hash: password_hash.clone(),
                display_name: username.clone(),
                bio: String::new(),
                joined_at: *created_at,
            }),
            Op::UpdateProfile {
                user_id,
                bio,
                display_name,
            } => self
                .users
                .update_profile(*user_id, bio.as_deref(), display_name.as_deref()),
        }
    }
}
