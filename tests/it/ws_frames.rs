//! Frames on an authenticated socket: codecs, subprotocols, bad frames, oversize frames,
//! pipelining.

use crate::support::*;
use starling_protocol::{
    close, encode, reply, req, ClientFrame, Codec, ErrorCode, Request, ServerFrame,
};

#[tokio::test]
async fn replies_use_the_codec_of_each_request() {
    let server = TestServer::start().await;
    let (mut client, _) = server.user(Codec::Json, "alice").await;
    for codec in [Codec::MsgPack, Codec::Json, Codec::MsgPack] {
        let frame = ClientFrame {
            id: Some(42),
            request: Request::Ping(req::Ping {}),
        };
        client
            .send_bytes(codec, encode(codec, &frame).expect("encode"))
            .await;
        let (got_codec, reply) = client.next_frame().await.expect("a reply");
        assert_eq!(got_codec, codec);
        match reply {
            ServerFrame::Result { id, data } => {
                assert_eq!(id, Some(42));
                assert!(data["now"].as_u64().is_some());
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn the_server_selects_a_requested_subprotocol() {
    let server = TestServer::start().await;
    let client = Client::connect(
        server.addr,
        Codec::MsgPack,
        Some("foo, starling.v1.msgpack"),
    )
    .await;
    assert_eq!(client.subprotocol.as_deref(), Some("starling.v1.msgpack"));
    let client = Client::connect(server.addr, Codec::Json, Some("starling.v1.json")).await;
    assert_eq!(client.subprotocol.as_deref(), Some("starling.v1.json"));
    let client = Client::connect(server.addr, Codec::Json, None).await;
    assert_eq!(client.subprotocol, None);
}

#[tokio::test]
async fn bad_frames_get_bad_request_and_the_socket_stays_usable() {
    let server = TestServer::start().await;
    let (mut client, _) = server.user(Codec::Json, "alice").await;
    let bad: [(&str, Option<u64>); 6] = [
        ("not json at all", None),
        ("[1,2,3]", None),
        (r#"{"type":"launch_rockets","id":5}"#, Some(5)),
        (r#"{"type":"post","id":6}"#, Some(6)),
        (r#"{"type":"like","id":7,"tweet_id":"seven"}"#, Some(7)),
        (r#"{"id":8}"#, Some(8)),
    ];
    for (text, id) in bad {
        client.send_text(text).await;
        match client.next_frame().await.expect("a reply").1 {
            ServerFrame::Error(e) => {
                assert_eq!(e.code, ErrorCode::BadRequest, "{text}");
                assert_eq!(e.id, id, "{text}");
                assert!(!e.message.is_empty());
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    // Garbage MessagePack too.
    client.ws_send_binary(vec![0xc1, 0x00]).await;
    match client.next_frame().await.expect("a reply") {
        (Codec::MsgPack, ServerFrame::Error(e)) => assert_eq!(e.code, ErrorCode::BadRequest),
        other => panic!("{other:?}"),
    }
    let pong: reply::Pong = client
        .request(Request::Ping(req::Ping {}))
        .await
        .expect("still usable");
    assert!(pong.now > 0);
}

#[tokio::test]
async fn every_request_type_gets_a_reply() {
    let server = TestServer::start().await;
    let (mut client, _) = server.user(Codec::MsgPack, "alice").await;
    let requests = [
        Request::Post(req::Post {
            text: "hi".into(),
            ..Default::default()
        }),
        Request::Profile(req::Username {
            username: "alice".into(),
        }),
        Request::Timeline(req::Timeline {
            feed: "home".into(),
            before: None,
            limit: None,
        }),
        Request::Tweet(req::TweetId { tweet_id: 1 }),
        Request::Followers(req::UserPage {
            username: "alice".into(),
            before: None,
            limit: None,
        }),
        Request::Search(req::Search {
            hashtags: vec!["rust".into()],
            before: None,
            limit: None,
        }),
        Request::Trending(req::Trending { limit: None }),
        Request::Notifications(req::Page::default()),
        Request::Subscribe(req::Subscribe {
            stream: "home".into(),
            since: None,
        }),
        Request::Unsubscribe(req::Stream {
            stream: "home".into(),
        }),
    ];
    for request in requests {
        let kind = request.kind();
        // Whatever the answer, it is exactly one reply with our id (not a close).
        match client.request::<serde_json::Value>(request).await {
            Ok(_) | Err(Failure::Error(_)) => {}
            Err(Failure::Closed(code)) => panic!("{kind} closed the socket with {code:?}"),
        }
    }
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start().await;
    let (mut client, _) = server.user(Codec::Json, "alice").await;
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(client.send(Request::Ping(req::Ping {})).await);
    }
    for id in ids {
        match client.next_frame().await.expect("reply").1 {
            ServerFrame::Result { id: got, .. } => assert_eq!(got, Some(id)),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn an_oversize_frame_closes_with_1009() {
    let server = TestServer::start().await;
    let (mut client, _) = server.user(Codec::Json, "alice").await;
    let text = format!(r#"{{"type":"post","text":"{}"}}"#, "a".repeat(70 * 1024));
    client.send_text(&text).await;
    assert_eq!(client.close_code().await, Some(close::TOO_BIG));
}
