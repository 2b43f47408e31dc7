//! Test vectors: each sample message as JSON (`vectors/NAME.json`) and as MessagePack bytes
//! (`vectors/NAME.msgpack`). Clients in other languages can check their codecs against the
//! files; this test checks ours. Regenerate after a deliberate wire change with
//! `STARLING_BLESS=1 cargo test -p starling-protocol --test vectors`.

use serde_json::Value;
use starling_protocol::*;
use std::path::PathBuf;

fn tweet() -> Tweet {
    Tweet {
        id: 1042,
        author: UserRef {
            id: 7,
            username: "alice".into(),
            display_name: "Alice".into(),
        },
        text: "Shipping #Rust today with @bob 🚀".into(),
        created_at: 1_796_400_000_000,
        hashtags: vec!["rust".into()],
        mentions: vec!["bob".into()],
        media: vec![Media {
            id: 3,
            content_type: "image/png".into(),
            bytes: 2048,
            url: "/media/3".into(),
            width: 64,
            height: 48,
        }],
        reply_to: None,
        quote_of: None,
        retweet_of: None,
        likes: 2,
        retweets: 1,
        replies: 0,
        liked_by_me: None,
        retweeted_by_me: None,
    }
}

fn profile() -> Profile {
    Profile {
        id: 7,
        username: "alice".into(),
        display_name: "Alice".into(),
        bio: "Rustacean".into(),
        followers: 10,
        following: 3,
        tweets: 42,
        joined_at: 1_796_000_000_000,
    }
}

fn client_samples() -> Vec<(&'static str, ClientFrame)> {
    let f = |id, request| ClientFrame { id, request };
    vec![
        (
            "client_auth",
            f(
                Some(1),
                Request::Auth(req::Auth {
                    token: "eyJhbGciOiJIUzI1NiJ9.e30.sig".into(),
                }),
            ),
        ),
        (
            "client_signup",
            f(
                Some(1),
                Request::Signup(req::Signup {
                    username: "alice".into(),
                    email: "alice@example.com".into(),
                    password: "correct horse".into(),
                }),
            ),
        ),
        (
            "client_post",
            f(
                Some(2),
                Request::Post(req::Post {
                    text: "Hello #rust".into(),
                    reply_to: Some(1041),
                    quote_of: None,
                    media: Some(vec![3]),
                    client_key: Some("k-1".into()),
                }),
            ),
        ),
        (
            "client_like",
            f(Some(3), Request::Like(req::TweetId { tweet_id: 1042 })),
        ),
        (
            "client_follow",
            f(
                Some(4),
                Request::Follow(req::Username {
                    username: "bob".into(),
                }),
            ),
        ),
        (
            "client_timeline",
            f(
                Some(5),
                Request::Timeline(req::Timeline {
                    feed: "home".into(),
                    before: Some(1000),
                    limit: Some(50),
                }),
            ),
        ),
        (
            "client_search",
            f(
                Some(6),
                Request::Search(req::Search {
                    hashtags: vec!["#rust".into(), "tokio".into()],
                    before: None,
                    limit: None,
                }),
            ),
        ),
        (
            "client_subscribe",
            f(
                Some(7),
                Request::Subscribe(req::Subscribe {
                    stream: "hashtag:rust".into(),
                    since: Some(120),
                }),
            ),
        ),
        (
            "client_upload",
            f(
                Some(8),
                Request::Upload(req::Upload {
                    content_type: "image/gif".into(),
                    data: b"GIF89a\x01\x00\x01\x00".to_vec(),
                }),
            ),
        ),
        ("client_ping", f(None, Request::Ping(req::Ping {}))),
    ]
}

fn server_samples() -> Vec<(&'static str, ServerFrame)> {
    vec![
        (
            "server_auth_result",
            ServerFrame::Result {
                id: Some(1),
                data: Reply::Session(reply::Session {
                    user: Some(profile()),
                    access_token: None,
                    refresh_token: None,
                    expires_at: 1_796_400_900_000,
                    limits: Some(Limits {
                        text_graphemes: 250,
                        frame_bytes: 65536,
                        media_bytes: 5_242_880,
                        media_per_tweet: 4,
                        subscriptions: 64,
                        page_max: 100,
                        bio_chars: 160,
                        display_name_chars: 50,
                    }),
                }),
            },
        ),
        (
            "server_post_result",
            ServerFrame::Result {
                id: Some(2),
                data: Reply::Tweet(reply::TweetData {
                    tweet: Tweet {
                        liked_by_me: Some(false),
                        retweeted_by_me: Some(false),
                        ..tweet()
                    },
                }),
            },
        ),
        (
            "server_like_result",
            ServerFrame::Result {
                id: Some(3),
                data: Reply::Likes(reply::Likes {
                    tweet_id: 1042,
                    likes: 3,
                }),
            },
        ),
        (
            "server_error",
            ServerFrame::Error(ErrorFrame {
                id: Some(2),
                code: ErrorCode::TextTooLong,
                message: "the tweet text is longer than 250 characters".into(),
                retry_after_ms: None,
            }),
        ),
        (
            "server_rate_limited",
            ServerFrame::Error(ErrorFrame {
                id: Some(9),
                code: ErrorCode::RateLimited,
                message: "too many posts; slow down".into(),
                retry_after_ms: Some(1200),
            }),
        ),
        (
            "server_event_tweet",
            ServerFrame::Event(EventFrame {
                stream: "home".into(),
                cursor: 123,
                event: Event::Tweet(tweet()),
            }),
        ),
        (
            "server_event_counts",
            ServerFrame::Event(EventFrame {
                stream: "tweet:1042".into(),
                cursor: 9,
                event: Event::Counts(Counts {
                    tweet_id: 1042,
                    likes: 3,
                    retweets: 1,
                    replies: 0,
                }),
            }),
        ),
        (
            "server_event_deleted",
            ServerFrame::Event(EventFrame {
                stream: "user:alice".into(),
                cursor: 44,
                event: Event::Deleted(TweetRef { tweet_id: 1042 }),
            }),
        ),
        (
            "server_event_notification",
            ServerFrame::Event(EventFrame {
                stream: "notifications".into(),
                cursor: 5,
                event: Event::Notification(Notification {
                    id: 77,
                    kind: NotificationKind::Liked,
                    by: UserRef {
                        id: 8,
                        username: "bob".into(),
                        display_name: "Bob".into(),
                    },
                    tweet_id: Some(1042),
                    created_at: 1_796_400_100_000,
                }),
            }),
        ),
        (
            "server_event_gap",
            ServerFrame::Event(EventFrame {
                stream: "hashtag:rust".into(),
                cursor: 500,
                event: Event::Gap(reply::Stream {
                    stream: "hashtag:rust".into(),
                }),
            }),
        ),
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn check(name: &str, json: Vec<u8>, msgpack: Vec<u8>) {
    let json_path = dir().join(format!("{name}.json"));
    let mp_path = dir().join(format!("{name}.msgpack"));
    if std::env::var_os("STARLING_BLESS").is_some() {
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_slice::<Value>(&json).unwrap()).unwrap();
        std::fs::write(&json_path, pretty + "\n").unwrap();
        std::fs::write(&mp_path, &msgpack).unwrap();
    }
    let want_json: Value = serde_json::from_slice(
        &std::fs::read(&json_path).unwrap_or_else(|e| panic!("{name}.json: {e}")),
    )
    .unwrap();
    let got_json: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        got_json, want_json,
        "{name}.json differs from what the codec writes"
    );
    let want_mp = std::fs::read(&mp_path).unwrap_or_else(|e| panic!("{name}.msgpack: {e}"));
    assert_eq!(
        msgpack, want_mp,
        "{name}.msgpack differs from what the codec writes"
    );
}

#[test]
fn client_frames_match_their_vectors_in_both_codecs() {
    for (name, frame) in client_samples() {
        let json = encode(Codec::Json, &frame).unwrap();
        let mp = encode(Codec::MsgPack, &frame).unwrap();
        check(name, json, mp);
        let from_json = std::fs::read(dir().join(format!("{name}.json"))).unwrap();
        let from_mp = std::fs::read(dir().join(format!("{name}.msgpack"))).unwrap();
        assert_eq!(
            decode_request(Codec::Json, &from_json).unwrap(),
            frame,
            "{name}"
        );
        assert_eq!(
            decode_request(Codec::MsgPack, &from_mp).unwrap(),
            frame,
            "{name}"
        );
    }
}

#[test]
fn server_frames_match_their_vectors_in_both_codecs() {
    for (name, frame) in server_samples() {
        let json = encode(Codec::Json, &frame).unwrap();
        let mp = encode(Codec::MsgPack, &frame).unwrap();
        check(name, json.clone(), mp.clone());
        // A client decoding either file sees the same frame.
        let a: ServerFrame<Value> = decode(Codec::Json, &json).unwrap();
        let b: ServerFrame<Value> = decode(Codec::MsgPack, &mp).unwrap();
        assert_eq!(a, b, "{name}");
    }
}
