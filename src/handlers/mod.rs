//! Request handlers, one file per family. A handler is a function of the app state, the
//! viewer and the request; it never touches a socket. The session (WebSocket) and the HTTP
//! routes both call into here.

pub mod accounts;

use crate::app::App;
use crate::error::ApiError;
use starling_protocol::{reply, Reply, Request};

/// Who is asking: a signed-in user, or a read-only guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: Option<u64>,
}

impl Viewer {
    /// The user, or `forbidden` for a guest.
    pub fn user(&self) -> Result<u64, ApiError> {
        self.user_id
            .ok_or_else(|| ApiError::forbidden("guests may only read; sign in to do this"))
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

/// Answers one request of an authenticated socket. `auth`, `signup` and `login` change who
/// the socket is, so the session handles them before this.
pub async fn handle(_app: &App, viewer: Viewer, request: Request) -> Result<Reply, ApiError> {
    if is_write(&request) {
        viewer.user()?;
    }
    match request {
        Request::Ping(_) => Ok(Reply::Pong(reply::Pong {
            now: crate::auth::now_ms(),
        })),
        Request::Auth(_) | Request::Signup(_) | Request::Login(_) => Err(ApiError::bad_request(
            "auth, signup and login are handled by the session",
        )),
        other => Err(ApiError::bad_request(format!(
            "`{}` is not available on this server yet",
            other.kind()
        ))),
    }
}
