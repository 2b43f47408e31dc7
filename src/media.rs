//! Images: upload (validated by their first bytes, never by the claimed type), storage by
//! content hash, attaching to tweets, and the Media objects clients see.

use crate::app::{App, Committed};
use crate::auth::now_ms;
use crate::error::ApiError;
use crate::state::MediaRec;
use crate::store::Op;
use sha2::{Digest, Sha256};
use starling_protocol::{limits, ErrorCode, Media};

/// The image type of `bytes`, from their magic numbers: png, jpeg, gif or webp.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::TooLarge,
        format!("an image is at most {} bytes", limits::MEDIA_BYTES),
    )
}

/// Checks and stores an upload of `user`. The same image uploaded again by the same user
/// is the same media (nothing is stored twice; identical bytes from different users share
/// one stored copy).
pub fn upload(app: &App, user: u64, bytes: &[u8]) -> Result<(Media, Committed), ApiError> {
    if bytes.len() > limits::MEDIA_BYTES {
        return Err(too_large());
    }
    let content_type = sniff(bytes).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnsupportedMedia,
            "only png, jpeg, gif and webp images are accepted",
        )
    })?;
    let size = imagesize::blob_size(bytes).map_err(|_| {
        ApiError::new(
            ErrorCode::UnsupportedMedia,
            "the image is truncated or damaged",
        )
    })?;
    let to_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    // Hashing and storing up to 5 MiB takes milliseconds: keep it off the other sockets.
    let hash = crate::app::blocking(|| {
        let hash = hex(&Sha256::digest(bytes));
        if app.state.media.find(user, &hash).is_none() {
            // The bytes go in first: the operation that refers to them is flushed with them.
            app.store.put_blob(&hash, bytes)?;
        }
        Ok::<_, ApiError>(hash)
    })?;
    let mut id = 0;
    let committed = app.commit(|state| {
        if let Some(existing) = state.media.find(user, &hash) {
            id = existing;
            return Ok(None);
        }
        id = state.media.next_id();
        Ok(Some(Op::CreateMedia {
            id,
            owner: user,
            hash: hash.clone(),
            content_type: content_type.to_owned(),
            bytes: bytes.len() as u64,
            width: to_u32(size.width),
            height: to_u32(size.height),
            created_at: now_ms(),
        }))
    })?;
    let rec = app.state.media.get(id).ok_or_else(ApiError::internal)?;
    Ok((view(&rec), committed))
}

/// Checks that every id names media `user` uploaded.
pub fn check_attachable(app: &App, user: u64, ids: &[u64]) -> Result<(), ApiError> {
    for &id in ids {
        let rec = app
            .state
            .media
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("media {id} does not exist")))?;
        if rec.owner != user {
            return Err(ApiError::forbidden(format!(
                "media {id} was uploaded by someone else"
            )));
        }
    }
    Ok(())
}

pub fn view(rec: &MediaRec) -> Media {
    Media {
        id: rec.id,
        content_type: rec.content_type.clone(),
        bytes: rec.bytes,
        url: format!("/media/{}", rec.id),
        width: rec.width,
        height: rec.height,
    }
}

/// The Media objects of a tweet's media ids.
pub fn views(app: &App, ids: &[u64]) -> Vec<Media> {
    ids.iter()
        .filter_map(|&id| app.state.media.get(id))
        .map(|rec| view(&rec))
        .collect()
}

/// A media record and its bytes, for `GET /media/<id>`.
pub fn fetch(app: &App, id: u64) -> Result<Option<(MediaRec, sled::IVec)>, ApiError> {
    let Some(rec) = app.state.media.get(id) else {
        return Ok(None);
    };
    let bytes = app.store.get_blob(&rec.hash)?;
    Ok(bytes.map(|b| (rec, b)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_reads_magic_numbers_only() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(sniff(b"hello, I am a PNG"), None);
        assert_eq!(sniff(b""), None);
    }
}
