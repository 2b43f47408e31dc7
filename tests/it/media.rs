//! Media: upload over HTTP and WebSocket, validation by magic bytes, serving with caching
//! headers, attaching to tweets, persistence.

use crate::support::*;
use base64::Engine as _;
use serde_json::Value;
use starling_protocol::{reply, req, Codec, ErrorCode, Request};

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

/// Tiny real 1×1 images of each accepted type.
fn png() -> Vec<u8> {
    b64("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
}
fn gif() -> Vec<u8> {
    b64("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
}
fn webp() -> Vec<u8> {
    b64("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
}
fn jpeg() -> Vec<u8> {
    b64("/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=")
}

async fn token(server: &TestServer, name: &str) -> String {
    let (_, pair) = server
        .post("/api/signup", &serde_json::json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse"}))
        .await;
    pair["access_token"].as_str().expect("token").to_owned()
}

async fn http_upload(
    server: &TestServer,
    token: Option<&str>,
    claimed: &str,
    body: &[u8],
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", claimed)];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    http(server.addr, "POST", "/api/media", &headers, body).await
}

#[tokio::test]
async fn each_accepted_type_uploads_over_http_recognised_by_its_bytes() {
    let server = TestServer::start().await;
    let t = token(&server, "alice").await;
    for (bytes, ty) in [
        (png(), "image/png"),
        (gif(), "image/gif"),
        (webp(), "image/webp"),
        (jpeg(), "image/jpeg"),
    ] {
        // Always claim png: the claim is ignored.
        let (status, body) = http_upload(&server, Some(&t), "image/png", &bytes).await;
        assert_eq!(status, 201, "{ty}: {body}");
        let m = &body["media"];
        assert_eq!(m["content_type"], ty);
        assert_eq!(
            (m["width"].as_u64(), m["height"].as_u64()),
            (Some(1), Some(1)),
            "{ty}"
        );
        assert_eq!(m["bytes"].as_u64(), Some(bytes.len() as u64));
        assert_eq!(m["url"], format!("/media/{}", m["id"]));
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_with_clear_codes() {
    let server = TestServer::start().await;
    let t = token(&server, "alice").await;
    let (status, body) =
        http_upload(&server, Some(&t), "image/png", b"just some text, honest").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media"))
    );
    let truncated = &png()[..20];
    let (status, body) = http_upload(&server, Some(&t), "image/png", truncated).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media"))
    );
    let mut big = png();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let (status, body) = http_upload(&server, Some(&t), "image/png", &big).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("too_large"))
    );
    let (status, body) = http_upload(&server, None, "image/png", &png()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    // The scheme name is case-insensitive.
    let lower = format!("bearer {t}");
    let (status, _) = http(
        server.addr,
        "POST",
        "/api/media",
        &[("Authorization", lower.as_str())],
        &gif(),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = http(server.addr, "GET", "/api/media", &[], b"").await;
    assert_eq!(status, 405);
    let (_, guest) = server.post("/api/guest", &Value::Null).await;
    let (status, body) =
        http_upload(&server, guest["access_token"].as_str(), "image/png", &png()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
}

#[tokio::test]
async fn uploads_over_the_socket_in_both_codecs_attach_to_posts() {
    let server = TestServer::start().await;
    let (mut json, _) = server.user(Codec::Json, "alice").await;
    let (mut mp, _) = server.user(Codec::MsgPack, "bob").await;
    let upload = |data: Vec<u8>| {
        Request::Upload(req::Upload {
            content_type: "image/png".into(),
            data,
        })
    };
    let a: reply::MediaData = json.ok(upload(gif())).await;
    assert_eq!(a.media.content_type, "image/gif");
    let b: reply::MediaData = mp.ok(upload(webp())).await;
    assert_eq!(b.media.content_type, "image/webp");
    let again: reply::MediaData = json.ok(upload(gif())).await;
    assert_eq!(
        again.media.id, a.media.id,
        "the same image twice is one media"
    );

    let tweet = json
        .post_with(req::Post {
            text: "look".into(),
            media: Some(vec![a.media.id]),
            ..Default::default()
        })
        .await;
    assert_eq!(tweet.media, vec![a.media.clone()]);
    let someone_elses = req::Post {
        text: "mine?".into(),
        media: Some(vec![b.media.id]),
        ..Default::default()
    };
    assert_eq!(
        json.err(Request::Post(someone_elses)).await,
        ErrorCode::Forbidden
    );

    assert_eq!(
        json.err(upload(b"not an image".to_vec())).await,
        ErrorCode::UnsupportedMedia
    );
    let mut big = png();
    big.resize(5 * 1024 * 1024 + 1, 0);
    assert_eq!(mp.err(upload(big)).await, ErrorCode::TooLarge);
    // The socket is still usable after the large frame.
    let pong: reply::Pong = mp.ok(Request::Ping(req::Ping {})).await;
    assert!(pong.now > 0);
}

#[tokio::test]
async fn media_is_served_with_caching_headers() {
    let server = TestServer::start().await;
    let t = token(&server, "alice").await;
    let (_, body) = http_upload(&server, Some(&t), "image/png", &png()).await;
    let url = body["media"]["url"].as_str().expect("url").to_owned();

    let (status, head, bytes) = http_raw(server.addr, "GET", &url, &[], b"").await;
    assert_eq!(status, 200);
    assert_eq!(bytes, png());
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: image/png"), "{head}");
    assert!(
        head.contains(&format!("content-length: {}", png().len())),
        "{head}"
    );
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("an etag")
        .trim()
        .to_owned();
    assert!(
        etag.starts_with('"') && etag.len() == 66,
        "a strong etag: {etag}"
    );

    let (status, _, bytes) =
        http_raw(server.addr, "GET", &url, &[("If-None-Match", &etag)], b"").await;
    assert_eq!((status, bytes.len()), (304, 0));
    let (status, head, bytes) = http_raw(server.addr, "HEAD", &url, &[], b"").await;
    assert_eq!((status, bytes.len()), (200, 0));
    assert!(head
        .to_ascii_lowercase()
        .contains(&format!("content-length: {}", png().len())));
    for missing in ["/media/999", "/media/abc"] {
        let (status, body) = http(server.addr, "GET", missing, &[], b"").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{missing}"
        );
    }
}

#[tokio::test]
async fn media_survives_a_restart() {
    let server = TestServer::start().await;
    let (mut c, s) = server.user(Codec::Json, "alice").await;
    let m: reply::MediaData = c
        .ok(Request::Upload(req::Upload {
            content_type: "image/jpeg".into(),
            data: jpeg(),
        }))
        .await;
    let tweet = c
        .post_with(req::Post {
            text: "pic".into(),
            media: Some(vec![m.media.id]),
            ..Default::default()
        })
        .await;
    drop(c);
    let server = server.restart().await;
    let (status, _, bytes) = http_raw(server.addr, "GET", &m.media.url, &[], b"").await;
    assert_eq!((status, bytes), (200, jpeg()));
    let mut c = Client::authed(server.addr, Codec::Json, s.access_token.as_deref().unwrap()).await;
    let thread: reply::Thread = c
        .ok(Request::Tweet(req::TweetId { tweet_id: tweet.id }))
        .await;
    assert_eq!(thread.tweet.media, vec![m.media]);
}
