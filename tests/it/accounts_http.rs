//! The HTTP account API: signup, login, refresh, logout, guest, and their errors.

use crate::support::*;
use serde_json::{json, Value};

fn signup_body(name: &str) -> Value {
    json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse"})
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

#[tokio::test]
async fn health_answers_ok() {
    let server = TestServer::start().await;
    let (status, body) = http(server.addr, "GET", "/health", &[], b"").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn signup_returns_the_user_and_a_token_pair() {
    let server = TestServer::start().await;
    let (status, body) = server.post("/api/signup", &signup_body("alice")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["user"]["followers"], 0);
    assert!(body["user"]["id"].as_u64().is_some());
    assert!(body["access_token"]
        .as_str()
        .is_some_and(|t| t.split('.').count() == 3));
    assert!(body["refresh_token"]
        .as_str()
        .is_some_and(|t| t.len() >= 32));
    assert!(body["expires_at"].as_u64().unwrap() > starling::auth::now_ms());
}

#[tokio::test]
async fn signup_validates_every_field() {
    let server = TestServer::start().await;
    let cases = [
        (
            json!({"username": "ab", "email": "a@b.co", "password": "12345678"}),
            400,
            "invalid_username",
        ),
        (
            json!({"username": "bad name", "email": "a@b.co", "password": "12345678"}),
            400,
            "invalid_username",
        ),
        (
            json!({"username": "a_very_long_name_", "email": "a@b.co", "password": "12345678"}),
            400,
            "invalid_username",
        ),
        (
            json!({"username": "carol", "email": "not-an-email", "password": "12345678"}),
            400,
            "invalid_email",
        ),
        (
            json!({"username": "carol", "email": "a@b", "password": "12345678"}),
            400,
            "invalid_email",
        ),
        (
            json!({"username": "carol", "email": "a@b.co", "password": "1234567"}),
            400,
            "weak_password",
        ),
        (
            json!({"username": "carol", "email": "a@b.co", "password": "x".repeat(129)}),
            400,
            "weak_password",
        ),
        (
            json!({"username": "carol", "email": "a@b.co"}),
            400,
            "bad_request",
        ),
        (
            json!({"username": 5, "email": "a@b.co", "password": "12345678"}),
            400,
            "bad_request",
        ),
    ];
    for (body, status, expected) in cases {
        let (got_status, got) = server.post("/api/signup", &body).await;
        assert_eq!((got_status, code(&got)), (status, expected), "{body}");
        assert!(got["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let (status, got) = http(server.addr, "POST", "/api/signup", &[], b"{not json").await;
    assert_eq!((status, code(&got)), (400, "bad_request"));
}

#[tokio::test]
async fn usernames_and_emails_are_unique_case_insensitively() {
    let server = TestServer::start().await;
    assert_eq!(
        server.post("/api/signup", &signup_body("alice")).await.0,
        201
    );
    let same_name =
        json!({"username": "ALICE", "email": "other@example.com", "password": "12345678"});
    let (status, body) = server.post("/api/signup", &same_name).await;
    assert_eq!((status, code(&body)), (409, "conflict"));
    let same_email =
        json!({"username": "alice2", "email": "Alice@Example.com", "password": "12345678"});
    let (status, body) = server.post("/api/signup", &same_email).await;
    assert_eq!((status, code(&body)), (409, "conflict"));
}

#[tokio::test]
async fn login_by_username_or_email_and_failures_look_alike() {
    let server = TestServer::start().await;
    server.post("/api/signup", &signup_body("alice")).await;
    for login in ["alice", "ALICE", "alice@example.com", "ALICE@example.com"] {
        let (status, body) = server
            .post(
                "/api/login",
                &json!({"login": login, "password": "correct horse"}),
            )
            .await;
        assert_eq!(status, 200, "{login}: {body}");
        assert_eq!(body["user"]["username"], "alice");
    }
    let (s1, wrong_password) = server
        .post(
            "/api/login",
            &json!({"login": "alice", "password": "wrong horse"}),
        )
        .await;
    let (s2, unknown_user) = server
        .post(
            "/api/login",
            &json!({"login": "nobody", "password": "wrong horse"}),
        )
        .await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(code(&wrong_password), "invalid_credentials");
    assert_eq!(wrong_password, unknown_user);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let server = TestServer::start().await;
    let (_, first) = server.post("/api/signup", &signup_body("alice")).await;
    let spent = first["refresh_token"].clone();
    let (status, second) = server
        .post("/api/refresh", &json!({"refresh_token": spent}))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], spent);
    assert_eq!(second["user"]["username"], "alice");
    assert!(second["access_token"].is_string());

    // The spent token comes back: refused, and the whole family with it.
    let (status, body) = server
        .post("/api/refresh", &json!({"refresh_token": spent}))
        .await;
    assert_eq!((status, code(&body)), (401, "unauthenticated"));
    let (status, body) = server
        .post(
            "/api/refresh",
            &json!({"refresh_token": second["refresh_token"]}),
        )
        .await;
    assert_eq!((status, code(&body)), (401, "unauthenticated"));

    // Another login is another family, untouched.
    let (_, other) = server
        .post(
            "/api/login",
            &json!({"login": "alice", "password": "correct horse"}),
        )
        .await;
    let (status, _) = server
        .post(
            "/api/refresh",
            &json!({"refresh_token": other["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 200);

    let (status, body) = server
        .post("/api/refresh", &json!({"refresh_token": "garbage"}))
        .await;
    assert_eq!((status, code(&body)), (401, "unauthenticated"));
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let server = TestServer::start().await;
    let (_, pair) = server.post("/api/signup", &signup_body("alice")).await;
    let token = json!({"refresh_token": pair["refresh_token"]});
    let (status, body) = server.post("/api/logout", &token).await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, _) = server.post("/api/refresh", &token).await;
    assert_eq!(status, 401);
    // Idempotent.
    assert_eq!(server.post("/api/logout", &token).await.0, 204);
}

#[tokio::test]
async fn guest_tokens_are_read_only() {
    let server = TestServer::start().await;
    let (status, body) = server.post("/api/guest", &Value::Null).await;
    assert_eq!(status, 200);
    let token = body["access_token"].as_str().expect("token");
    assert!(body["expires_at"].as_u64().is_some());
    let mut client = Client::connect(server.addr, starling_protocol::Codec::Json, None).await;
    let session: starling_protocol::reply::Session = client
        .request(starling_protocol::Request::Auth(
            starling_protocol::req::Auth {
                token: token.to_owned(),
            },
        ))
        .await
        .expect("a guest token authenticates");
    assert_eq!(session.user, None);
}

#[tokio::test]
async fn oversized_bodies_get_413_and_unknown_routes_404() {
    let server = TestServer::start().await;
    let big = vec![b' '; 70 * 1024];
    let (status, body) = http(server.addr, "POST", "/api/signup", &[], &big).await;
    assert_eq!((status, code(&body)), (413, "too_large"));
    let (status, body) = http(server.addr, "GET", "/nowhere", &[], b"").await;
    assert_eq!((status, code(&body)), (404, "not_found"));
    let (status, body) = http(server.addr, "GET", "/api/signup", &[], b"").await;
    assert_eq!((status, code(&body)), (405, "bad_request"));
    let (status, _) = http(server.addr, "GET", "/ws", &[], b"").await;
    assert_eq!(status, 426);
}
