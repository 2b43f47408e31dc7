//! Media attached to tweets. Uploads are not served yet, so no media id exists: attaching
//! any id is `not_found`, and tweets carry no media.

use crate::app::App;
use crate::error::ApiError;
use starling_protocol::Media;

/// Checks that every id names media the user uploaded.
pub fn check_attachable(_app: &App, _user: u64, ids: &[u64]) -> Result<(), ApiError> {
    match ids.first() {
        Some(id) => Err(ApiError::not_found(format!("media {id} does not exist"))),
        None => Ok(()),
    }
}

/// The Media objects of a tweet's media ids.
pub fn views(_app: &App, _ids: &[u64]) -> Vec<Media> {
    Vec::new()
}
