//! Accounts and tokens: signup, login, refresh, logout, guest tokens, and checking an access
//! token. Shared by the HTTP API and the WebSocket session.

use crate::app::App;
use crate::auth::{now_ms, refresh, Identity, TokenError};
use crate::error::ApiError;
use crate::store::Op;
use starling_protocol::{limits, req, rules, ErrorCode, GuestToken, TokenPair};

fn invalid_credentials() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidCredentials,
        "unknown user or wrong password",
    )
}

/// Creates an account and signs it in.
pub async fn signup(app: &App, body: req::Signup) -> Result<TokenPair, ApiError> {
    rules::username(&body.username)?;
    rules::email(&body.email)?;
    rules::password(&body.password)?;
    // A cheap early check, so a taken name costs no hash; the real one is under the lock.
    check_unique(app, &body.username, &body.email)?;
    let password_hash = app.hasher.hash(body.password).await?;
    let mut user_id = 0;
    app.commit(|state| {
        check_unique(app, &body.username, &body.email)?;
        user_id = state.users.next_id();
        Ok(Some(Op::CreateUser {
            id: user_id,
            username: body.username.clone(),
            email: body.email.clone(),
            password_hash,
            created_at: now_ms(),
        }))
    })?;
    token_pair(app, user_id).await
}

fn check_unique(app: &App, username: &str, email: &str) -> Result<(), ApiError> {
    if app.state.users.name_taken(username) {
        return Err(ApiError::new(ErrorCode::Conflict, "that username is taken"));
    }
    if app.state.users.email_taken(email) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "that email address already has an account",
        ));
    }
    Ok(())
}

/// Signs in by username or email. Unknown users and wrong passwords are indistinguishable,
/// in the answer and in the time it takes.
pub async fn login(app: &App, body: req::Login) -> Result<TokenPair, ApiError> {
    if body.password.chars().count() > limits::PASSWORD_MAX {
        return Err(invalid_credentials());
    }
    let user = app.state.users.find_login(body.login.trim());
    let matched = app
        .hasher
        .verify(
            body.password,
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    match user {
        Some(user) if matched => token_pair(app, user.id).await,
        _ => Err(invalid_credentials()),
    }
}

/// Spends a refresh token for a new pair.
pub async fn refresh(app: &App, token: &str) -> Result<TokenPair, ApiError> {
    let rotated = refresh::rotate(app.store.tokens(), token, app.refresh_ttl_ms())?;
    // A rotation, or a family revoked for reuse, must be on disk before we answer; a refused
    // unknown token wrote nothing.
    if !matches!(rotated, Err(refresh::RefreshError::Invalid)) {
        app.store.sync().await?;
    }
    match rotated {
        Ok((user_id, refresh_token)) => pair_with(app, user_id, refresh_token),
        Err(refresh::RefreshError::Invalid) => Err(ApiError::unauthenticated(
            "the refresh token is unknown, expired or revoked",
        )),
        Err(refresh::RefreshError::Reused) => Err(ApiError::unauthenticated(
            "the refresh token was already used; every token of this login is now revoked",
        )),
    }
}

/// Revokes a refresh token's family. Unknown tokens are accepted silently, so logout is
/// idempotent.
pub async fn logout(app: &App, token: &str) -> Result<(), ApiError> {
    if refresh::revoke(app.store.tokens(), token)? {
        app.store.sync().await?;
    }
    Ok(())
}

/// A read-only token for anonymous readers (widgets).
pub fn guest(app: &App) -> GuestToken {
    let (access_token, expires_at) = app.keys.issue_guest();
    GuestToken {
        access_token,
        expires_at,
    }
}

/// Checks an access token; the user it names must exist.
pub fn authenticate(app: &App, token: &str) -> Result<Identity, ApiError> {
    let identity = app.keys.verify(token).map_err(|e| match e {
        TokenError::Expired => {
            ApiError::new(ErrorCode::TokenExpired, "the access token has expired")
        }
        TokenError::Invalid => ApiError::unauthenticated("the access token is invalid"),
    })?;
    if let Some(id) = identity.user_id {
        if !app.state.users.exists(id) {
            return Err(ApiError::unauthenticated("the access token names no user"));
        }
    }
    Ok(identity)
}

async fn token_pair(app: &App, user_id: u64) -> Result<TokenPair, ApiError> {
    let refresh_token = refresh::issue(app.store.tokens(), user_id, app.refresh_ttl_ms())?;
    // One flush covers the new token and any account just created before it.
    app.store.sync().await?;
    pair_with(app, user_id, refresh_token)
}

fn pair_with(app: &App, user_id: u64, refresh_token: String) -> Result<TokenPair, ApiError> {
    let user = app
        .state
        .profile(user_id)
        .ok_or_else(|| ApiError::unauthenticated("the account no longer exists"))?;
    let (access_token, expires_at) = app.keys.issue_user(user_id, &user.username);
    Ok(TokenPair {
        user,
        access_token,
        refresh_token,
        expires_at,
    })
}
