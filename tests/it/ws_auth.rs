//! Authenticating a WebSocket: the first frame, every way a token can be bad, the deadline,
//! re-auth, and expiry.

use crate::support::*;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use starling_protocol::{close, reply, req, Codec, ErrorCode, Request};

fn now_secs() -> u64 {
    starling::auth::now_ms() / 1000
}

fn mint(secret: &str, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()).expect("key"),
    )
    .expect("sign")
}

fn auth(token: &str) -> Request {
    Request::Auth(req::Auth {
        token: token.to_owned(),
    })
}

/// Sends `token` as the first frame and returns the error code and the close code.
async fn refused(server: &TestServer, token: &str) -> (Option<ErrorCode>, Option<u16>) {
    let mut client = server.ws(Codec::Json).await;
    let failure = client
        .request::<reply::Session>(auth(token))
        .await
        .expect_err("the token is refused");
    (failure.code(), client.close_code().await)
}

async fn new_user(server: &TestServer, name: &str) -> (u64, String) {
    let (_, pair) = server
        .post(
            "/api/signup",
            &json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse"}),
        )
        .await;
    (
        pair["user"]["id"].as_u64().expect("id"),
        pair["access_token"].as_str().expect("token").to_owned(),
    )
}

#[tokio::test]
async fn a_good_token_authenticates_in_both_codecs() {
    let server = TestServer::start().await;
    let (id, token) = new_user(&server, "alice").await;
    for codec in Codec::ALL {
        let mut client = server.ws(codec).await;
        let session: reply::Session = client.request(auth(&token)).await.expect("auth");
        assert_eq!(session.user.as_ref().map(|u| u.id), Some(id));
        assert_eq!(
            session.user.as_ref().map(|u| u.username.as_str()),
            Some("alice")
        );
        assert!(session.expires_at > starling::auth::now_ms());
        let limits = session.limits.expect("limits are advertised");
        assert_eq!(limits.text_graphemes, 250);
        assert_eq!(limits.frame_bytes, 64 * 1024);
        assert_eq!(session.access_token, None, "auth does not mint tokens");
    }
}

#[tokio::test]
async fn bad_tokens_are_refused_with_4001() {
    let server = TestServer::start().await;
    let (id, token) = new_user(&server, "alice").await;
    let claims = |exp: u64| json!({"sub": id.to_string(), "name": "alice", "iat": now_secs(), "exp": exp, "iss": "starling"});

    // A flipped signature byte.
    let (head, sig) = token.rsplit_once('.').expect("three parts");
    let mut sig = sig.as_bytes().to_vec();
    sig[3] = if sig[3] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{head}.{}", String::from_utf8(sig).expect("ascii"));

    let wrong_secret = mint("another-secret", claims(now_secs() + 600));

    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let alg_none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims(now_secs() + 600))
    );
    let no_exp = mint(
        SECRET,
        json!({"sub": id.to_string(), "iss": "starling", "iat": now_secs()}),
    );
    let wrong_issuer = mint(
        SECRET,
        json!({"sub": id.to_string(), "iss": "elsewhere", "iat": now_secs(), "exp": now_secs() + 600}),
    );
    let unknown_user = mint(
        SECRET,
        json!({"sub": "999", "iss": "starling", "iat": now_secs(), "exp": now_secs() + 600}),
    );

    for bad in [
        tampered.as_str(),
        &wrong_secret,
        &alg_none,
        &no_exp,
        &wrong_issuer,
        &unknown_user,
        "garbage",
        "",
    ] {
        assert_eq!(
            refused(&server, bad).await,
            (Some(ErrorCode::Unauthenticated), Some(close::AUTH_REQUIRED)),
            "token {bad:?}"
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_refused_with_4003() {
    let server = TestServer::start().await;
    let (id, _) = new_user(&server, "alice").await;
    let expired = mint(
        SECRET,
        json!({"sub": id.to_string(), "iss": "starling", "iat": now_secs() - 100, "exp": now_secs() - 10}),
    );
    assert_eq!(
        refused(&server, &expired).await,
        (Some(ErrorCode::TokenExpired), Some(close::TOKEN_EXPIRED))
    );
}

#[tokio::test]
async fn a_first_frame_that_is_not_auth_closes_with_4001() {
    let server = TestServer::start().await;
    let mut client = server.ws(Codec::Json).await;
    let failure = client
        .request::<reply::Pong>(Request::Ping(req::Ping {}))
        .await
        .expect_err("ping before auth is refused");
    assert_eq!(failure.code(), Some(ErrorCode::Unauthenticated));
    assert_eq!(client.close_code().await, Some(close::AUTH_REQUIRED));

    let mut client = server.ws(Codec::Json).await;
    client.send_text("hello").await;
    assert_eq!(client.close_code().await, Some(close::AUTH_REQUIRED));
}

#[tokio::test]
async fn silence_after_connecting_closes_with_4008() {
    let server = TestServer::start_with(|c| c.auth_timeout_ms = 200).await;
    let mut client = server.ws(Codec::Json).await;
    assert_eq!(client.close_code().await, Some(close::AUTH_TIMEOUT));
}

#[tokio::test]
async fn signup_and_login_over_the_socket_authenticate_it() {
    let server = TestServer::start().await;
    let (mut client, session) = server.user(Codec::MsgPack, "alice").await;
    assert_eq!(
        session.user.as_ref().map(|u| u.username.as_str()),
        Some("alice")
    );
    assert!(session.access_token.is_some() && session.refresh_token.is_some());
    let pong: reply::Pong = client
        .request(Request::Ping(req::Ping {}))
        .await
        .expect("ping");
    assert!(pong.now > 0);

    let mut other = server.ws(Codec::Json).await;
    let login: reply::Session = other
        .request(Request::Login(req::Login {
            login: "alice@example.com".into(),
            password: "correct horse".into(),
        }))
        .await
        .expect("login");
    assert_eq!(login.user.map(|u| u.id), session.user.map(|u| u.id));
    assert!(login.refresh_token.is_some());

    let mut wrong = server.ws(Codec::Json).await;
    let failure = wrong
        .request::<reply::Session>(Request::Login(req::Login {
            login: "alice".into(),
            password: "wrong horse".into(),
        }))
        .await
        .expect_err("wrong password");
    assert_eq!(failure.code(), Some(ErrorCode::InvalidCredentials));
    assert_eq!(wrong.close_code().await, Some(close::AUTH_REQUIRED));
}

#[tokio::test]
async fn re_auth_renews_the_same_user_but_never_switches() {
    let server = TestServer::start().await;
    let (alice, alice_token) = new_user(&server, "alice").await;
    let (_, bob_token) = new_user(&server, "bob").await;
    let mut client = Client::authed(server.addr, Codec::Json, &alice_token).await;

    let later = mint(
        SECRET,
        json!({"sub": alice.to_string(), "name": "alice", "iss": "starling", "iat": now_secs(), "exp": now_secs() + 3600}),
    );
    let renewed: reply::Session = client.request(auth(&later)).await.expect("renewal");
    assert_eq!(renewed.expires_at, (now_secs() + 3600) * 1000);

    let failure = client
        .request::<reply::Session>(auth(&bob_token))
        .await
        .expect_err("switch");
    assert_eq!(failure.code(), Some(ErrorCode::Forbidden));
    let failure = client
        .request::<reply::Session>(auth("garbage"))
        .await
        .expect_err("bad");
    assert_eq!(failure.code(), Some(ErrorCode::Unauthenticated));
    // Still alice, still open.
    let again: reply::Session = client.request(auth(&alice_token)).await.expect("same user");
    assert_eq!(again.user.map(|u| u.id), Some(alice));
}

#[tokio::test]
async fn a_guest_socket_can_become_a_user() {
    let server = TestServer::start().await;
    let (alice, alice_token) = new_user(&server, "alice").await;
    let (_, guest) = server.post("/api/guest", &serde_json::Value::Null).await;
    let mut client = Client::authed(
        server.addr,
        Codec::Json,
        guest["access_token"].as_str().expect("token"),
    )
    .await;
    let session: reply::Session = client.request(auth(&alice_token)).await.expect("upgrade");
    assert_eq!(session.user.map(|u| u.id), Some(alice));
}

#[tokio::test]
async fn the_socket_closes_with_4003_when_its_token_expires() {
    let server = TestServer::start_with(|c| c.access_ttl_secs = 1).await;
    let (_, token) = new_user(&server, "alice").await;
    let mut client = Client::authed(server.addr, Codec::Json, &token).await;
    assert_eq!(client.close_code().await, Some(close::TOKEN_EXPIRED));
}

#[tokio::test]
async fn guests_are_forbidden_every_write() {
    let server = TestServer::start().await;
    let (_, guest) = server.post("/api/guest", &serde_json::Value::Null).await;
    let mut client = Client::authed(
        server.addr,
        Codec::Json,
        guest["access_token"].as_str().expect("token"),
    )
    .await;
    let writes = [
        Request::Post(req::Post {
            text: "hi".into(),
            ..Default::default()
        }),
        Request::Delete(req::TweetId { tweet_id: 1 }),
        Request::Like(req::TweetId { tweet_id: 1 }),
        Request::Unlike(req::TweetId { tweet_id: 1 }),
        Request::Retweet(req::TweetId { tweet_id: 1 }),
        Request::Unretweet(req::TweetId { tweet_id: 1 }),
        Request::Follow(req::Username {
            username: "alice".into(),
        }),
        Request::Unfollow(req::Username {
            username: "alice".into(),
        }),
        Request::UpdateProfile(req::UpdateProfile {
            bio: Some("x".into()),
            display_name: None,
        }),
        Request::Upload(req::Upload {
            content_type: "image/png".into(),
            data: vec![1],
        }),
    ];
    for write in writes {
        let kind = write.kind();
        let failure = client
            .request::<serde_json::Value>(write)
            .await
            .expect_err(kind);
        assert_eq!(failure.code(), Some(ErrorCode::Forbidden), "{kind}");
    }
}

#[tokio::test]
async fn login_as_someone_else_on_a_signed_in_socket_is_forbidden() {
    let server = TestServer::start().await;
    let (_, _) = new_user(&server, "bob").await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let failure = alice
        .request::<reply::Session>(Request::Login(req::Login {
            login: "bob".into(),
            password: "correct horse".into(),
        }))
        .await
        .expect_err("switch");
    assert_eq!(failure.code(), Some(ErrorCode::Forbidden));
    let again: reply::Session = alice
        .request(Request::Login(req::Login {
            login: "alice".into(),
            password: "correct horse".into(),
        }))
        .await
        .expect("the same user may log in again");
    assert!(again.refresh_token.is_some());
}
