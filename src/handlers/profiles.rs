//! `profile`, `update_profile`, `follow`, `unfollow`, `followers`, `following`.

use super::{page_limit, Viewer};
use crate::app::App;
use crate::auth::now_ms;
use crate::error::ApiError;
use crate::store::Op;
use starling_protocol::{reply, req, rules, Reply};

/// The id of the user named `username`, or `not_found`.
pub fn user_id(app: &App, username: &str) -> Result<u64, ApiError> {
    app.state
        .users
        .id_by_name(username)
        .ok_or_else(|| ApiError::not_found(format!("no user is called {username:?}")))
}

pub fn profile(app: &App, viewer: Viewer, username: &str) -> Result<Reply, ApiError> {
    let id = user_id(app, username)?;
    let profile = app
        .state
        .profile(id)
        .ok_or_else(|| ApiError::not_found("the user does not exist"))?;
    let (followed_by_me, follows_me) = match viewer.user_id {
        Some(me) => (
            app.state.graph.follows(me, id),
            app.state.graph.follows(id, me),
        ),
        None => (false, false),
    };
    Ok(Reply::ProfileView(reply::ProfileView {
        profile,
        followed_by_me,
        follows_me,
    }))
}

pub fn update(app: &App, viewer: Viewer, u: req::UpdateProfile) -> Result<Reply, ApiError> {
    let user = viewer.user()?;
    if let Some(bio) = &u.bio {
        rules::bio(bio)?;
    }
    if let Some(name) = &u.display_name {
        rules::display_name(name)?;
    }
    app.commit(|state| {
        if u.bio.is_none() && u.display_name.is_none() {
            return Ok(None);
        }
        // An empty display name falls back to the username.
        let display_name = u.display_name.as_ref().map(|n| {
            let n = n.trim();
            if n.is_empty() {
                state
                    .users
                    .user_ref(user)
                    .map(|r| r.username)
                    .unwrap_or_default()
            } else {
                n.to_owned()
            }
        });
        Ok(Some(Op::UpdateProfile {
            user_id: user,
            bio: u.bio.as_ref().map(|b| b.trim().to_owned()),
            display_name,
        }))
    })?;
    let profile = app
        .state
        .profile(user)
        .ok_or_else(|| ApiError::not_found("the user does not exist"))?;
    Ok(Reply::Profile(reply::ProfileData { profile }))
}

pub fn follow(app: &App, viewer: Viewer, username: &str, on: bool) -> Result<Reply, ApiError> {
    let me = viewer.user()?;
    let them = user_id(app, username)?;
    if me == them {
        return Err(ApiError::bad_request("you cannot follow yourself"));
    }
    app.commit(|state| {
        let follows = state.graph.follows(me, them);
        Ok(match (on, follows) {
            (true, false) => Some(Op::Follow {
                follower: me,
                followee: them,
                follow_id: state.graph.next_id(),
                at: now_ms(),
            }),
            (false, true) => Some(Op::Unfollow {
                follower: me,
                followee: them,
            }),
            _ => None,
        })
    })?;
    let name = app
        .state
        .users
        .user_ref(them)
        .map(|u| u.username)
        .unwrap_or_else(|| username.to_owned());
    Ok(Reply::Follow(reply::Follow {
        username: name,
        following: app.state.graph.follows(me, them),
        followers: app.state.graph.follower_count(them),
    }))
}

/// `followers` (`of_followers`) or `following` of a user, newest edge first; the cursor is
/// the follow id of the last edge shown.
pub fn people(app: &App, p: req::UserPage, of_followers: bool) -> Result<Reply, ApiError> {
    let id = user_id(app, &p.username)?;
    let limit = page_limit(p.limit)?;
    let edges = if of_followers {
        app.state.graph.followers_page(id, p.before, limit + 1)
    } else {
        app.state.graph.following_page(id, p.before, limit + 1)
    };
    let next = (edges.len() > limit).then(|| edges[limit - 1].0);
    let users = edges
        .iter()
        .take(limit)
        .filter_map(|&(_, user)| app.state.profile(user))
        .collect();
    Ok(Reply::Users(reply::Users { users, next }))
}
