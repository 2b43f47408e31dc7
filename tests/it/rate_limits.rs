//! Rate limits: token buckets per user and class, per address for signup/login, and the
//! 4029 close for a socket that keeps being refused.

use crate::support::*;
use serde_json::json;
use starling::config::Rate;
use starling_protocol::{close, req, Codec, ErrorCode, Request};

#[tokio::test]
async fn posting_past_the_burst_is_rate_limited_with_a_retry_hint() {
    let server = TestServer::start_with(|c| {
        c.no_rate_limits = false;
        c.rate_post = Rate {
            burst: 2,
            per_minute: 1,
        };
    })
    .await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    c.post("one").await;
    c.post("two").await;
    let id = c
        .send(Request::Post(req::Post {
            text: "three".into(),
            ..Default::default()
        }))
        .await;
    match c.reply::<serde_json::Value>(id).await {
        Err(Failure::Error(e)) => {
            assert_eq!(e.code, ErrorCode::RateLimited);
            assert!(e.retry_after_ms.is_some_and(|ms| ms > 1000), "{e:?}");
        }
        other => panic!("{other:?}"),
    }
    // Other classes have their own buckets.
    let _: starling_protocol::reply::Tweets = c
        .ok(Request::Timeline(req::Timeline {
            feed: "home".into(),
            before: None,
            limit: None,
        }))
        .await;
}

#[tokio::test]
async fn a_socket_refused_too_often_is_closed_with_4029() {
    let server = TestServer::start_with(|c| {
        c.no_rate_limits = false;
        c.rate_read = Rate {
            burst: 1,
            per_minute: 1,
        };
        c.max_refusals_per_minute = 5;
    })
    .await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    let mut refused = 0;
    for _ in 0..10 {
        c.send(Request::Trending(req::Trending { limit: None }))
            .await;
    }
    while let Some((_, frame)) = c.next_frame().await {
        if let starling_protocol::ServerFrame::Error(e) = frame {
            assert_eq!(e.code, ErrorCode::RateLimited);
            refused += 1;
        }
    }
    assert_eq!(refused, 5);
    assert_eq!(c.closed.flatten(), Some(close::RATE_LIMITED));
}

#[tokio::test]
async fn signup_and_login_are_limited_per_address() {
    let server = TestServer::start_with(|c| {
        c.no_rate_limits = false;
        c.rate_auth = Rate {
            burst: 2,
            per_minute: 1,
        };
    })
    .await;
    let body = |n: &str| json!({"username": n, "email": format!("{n}@example.com"), "password": "correct horse"});
    assert_eq!(server.post("/api/signup", &body("alice")).await.0, 201);
    assert_eq!(
        server
            .post("/api/login", &json!({"login": "alice", "password": "x"}))
            .await
            .0,
        401
    );
    let (status, got) = server.post("/api/signup", &body("bob")).await;
    assert_eq!(
        (status, got["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    assert!(got["error"]["retry_after_ms"].as_u64().is_some());
}
