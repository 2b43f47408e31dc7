//! Request handlers, one file per family. A handler is a function of the app state, the
//! viewer and the request; it never touches a socket. The session (WebSocket) and the HTTP
//! routes both call into here.

pub mod accounts;
pub mod engagement;
pub mod feeds;
pub mod profiles;
pub mod tweets;
pub mod views;

use crate::app::App;
use crate::error::ApiError;
use crate::ratelimit::{Class, Subject};
use starling_protocol::{limits, reply, Reply, Request};

/// Who is asking: a signed-in user, or a read-only guest, on which connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: Option<u64>,
    pub conn_id: u64,
}

impl Viewer {
    /// The user, or `forbidden` for a guest.
    pub fn user(&self) -> Result<u64, ApiError> {
        self.user_id
            .ok_or_else(|| ApiError::forbidden("guests may only read; sign in to do this"))
    }

    /// Whose rate-limit buckets this viewer spends.
    pub fn subject(&self) -> Subject {
        match self.user_id {
            Some(id) => Subject::User(id),
            None => Subject::Guest(self.conn_id),
        }
    }
}

/// Whether a request changes anything (and so is refused to guests).
pub fn is_write(request: &Request) -> bool {
    matches!(
        request,
        Request::Post(_)
            | Request::Delete(_)
            | Request::Like(_)
            | Request::Unlike(_)
            | Request::Retweet(_)
            | Request::Unretweet(_)
            | Request::Follow(_)
            | Request::Unfollow(_)
            | Request::UpdateProfile(_)
            | Request::Upload(_)
    )
}

/// The rate-limit class a request spends from, if any.
pub fn class_of(request: &Request) -> Option<Class> {
    Some(match request {
        Request::Post(_) | Request::Delete(_) | Request::UpdateProfile(_) => Class::Post,
        Request::Like(_) | Request::Unlike(_) | Request::Retweet(_) | Request::Unretweet(_) => {
            Class::Engage
        }
        Request::Follow(_) | Request::Unfollow(_) => Class::Follow,
        Request::Profile(_)
        | Request::Timeline(_)
        | Request::Tweet(_)
        | Request::Followers(_)
        | Request::Following(_)
        | Request::Search(_)
        | Request::Trending(_)
        | Request::Notifications(_) => Class::Read,
        Request::Subscribe(_) | Request::Unsubscribe(_) => Class::Subscribe,
        Request::Upload(_) => Class::Upload,
        Request::Auth(_) | Request::Signup(_) | Request::Login(_) | Request::Ping(_) => {
            return None
        }
    })
}

/// A page size: `limit` if given (1 to 100), else 20.
pub fn page_limit(limit: Option<u64>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(limits::PAGE_DEFAULT),
        Some(n) if (1..=limits::PAGE_MAX as u64).contains(&n) => Ok(n as usize),
        Some(n) => Err(ApiError::bad_request(format!(
            "limit {n} is out of range: 1 to {}",
            limits::PAGE_MAX
        ))),
    }
}

/// Answers one request of an authenticated socket. `auth`, `signup` and `login` change who
/// the socket is, and `subscribe` touches the socket's subscriptions, so the session
/// handles those itself.
pub fn handle(app: &App, viewer: Viewer, request: Request) -> Result<Reply, ApiError> {
    if is_write(&request) {
        viewer.user()?;
    }
    if let Some(class) = class_of(&request) {
        app.limiter.check(viewer.subject(), class)?;
    }
    let reply =
        match request {
            Request::Post(p) => tweets::post(app, viewer, p)?,
            Request::Delete(d) => tweets::delete(app, viewer, d.tweet_id)?,
            Request::Tweet(t) => tweets::thread(app, viewer, t.tweet_id)?,
            Request::Like(l) => engagement::like(app, viewer, l.tweet_id, true)?,
            Request::Unlike(l) => engagement::like(app, viewer, l.tweet_id, false)?,
            Request::Retweet(r) => engagement::retweet(app, viewer, r.tweet_id, true)?,
            Request::Unretweet(r) => engagement::retweet(app, viewer, r.tweet_id, false)?,
            Request::Follow(f) => profiles::follow(app, viewer, &f.username, true)?,
            Request::Unfollow(f) => profiles::follow(app, viewer, &f.username, false)?,
            Request::Profile(p) => profiles::profile(app, viewer, &p.username)?,
            Request::UpdateProfile(u) => profiles::update(app, viewer, u)?,
            Request::Followers(p) => profiles::people(app, p, true)?,
            Request::Following(p) => profiles::people(app, p, false)?,
            Request::Timeline(t) => feeds::timeline(app, viewer, t)?,
            Request::Search(s) => feeds::search(app, viewer, s)?,
            Request::Trending(t) => feeds::trending(app, t)?,
            Request::Notifications(p) => feeds::notifications(app, viewer, p)?,
            Request::Upload(u) => {
                let (media, _) = crate::media::upload(app, viewer.user()?, &u.data)?;
                Reply::Media(reply::MediaData { media })
            }
            Request::Auth(_)
            | Request::Signup(_)
            | Request::Login(_)
            | Request::Ping(_)
            | Request::Subscribe(_)
            | Request::Unsubscribe(_) => return Err(ApiError::bad_request(
                "auth, signup, login, ping, subscribe and unsubscribe are handled by the session",
            )),
        };
    Ok(reply)
}
