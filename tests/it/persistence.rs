//! What survives a restart of the server on the same data folder.

use crate::support::*;
use serde_json::json;
use starling_protocol::{reply, req, Codec, Request};

#[tokio::test]
async fn accounts_and_tokens_survive_a_restart() {
    let server = TestServer::start_with(|c| c.jwt_secret = None).await;
    let (status, pair) = server
        .post("/api/signup", &json!({"username": "alice", "email": "alice@example.com", "password": "correct horse"}))
        .await;
    assert_eq!(status, 201);
    let server = server.restart().await;

    // The generated secret was kept: the old access token still works.
    let token = pair["access_token"].as_str().expect("token");
    let mut client = Client::authed(server.addr, Codec::Json, token).await;
    let session: reply::Session = client
        .request(Request::Auth(req::Auth {
            token: token.to_owned(),
        }))
        .await
        .expect("auth after restart");
    assert_eq!(session.user.map(|u| u.username), Some("alice".to_owned()));

    // So do the password, the refresh token and the uniqueness of the name.
    let (status, _) = server
        .post(
            "/api/login",
            &json!({"login": "alice", "password": "correct horse"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .post(
            "/api/refresh",
            &json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .post(
            "/api/signup",
            &json!({"username": "Alice", "email": "x@example.com", "password": "correct horse"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );

    // New accounts continue the id sequence.
    let (_, bob) = server
        .post(
            "/api/signup",
            &json!({"username": "bob", "email": "bob@example.com", "password": "correct horse"}),
        )
        .await;
    assert!(bob["user"]["id"].as_u64() > pair["user"]["id"].as_u64());
}

#[tokio::test]
async fn a_data_folder_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let db = sled::open(dir.path()).expect("sled");
        db.open_tree("meta")
            .expect("meta")
            .insert("schema", &99u32.to_be_bytes())
            .expect("insert");
        db.flush().expect("flush");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let err = starling::run(listener, test_config(dir.path()), std::future::pending())
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("newer"), "{err}");
}
