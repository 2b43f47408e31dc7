//! Live fan-out: events on the streams they belong to (and no others), resume with
//! `since`, gaps, unsubscribe, several sockets, slow consumers, the subscription cap.

use crate::support::*;
use starling_protocol::{close, reply, req, Codec, ErrorCode, Event, NotificationKind, Request};

#[tokio::test]
async fn a_post_reaches_each_stream_it_belongs_to_and_no_other() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let (mut fan, _) = server.user(Codec::MsgPack, "fan").await;
    let (mut stranger, _) = server.user(Codec::Json, "stranger").await;
    fan.follow("alice").await;
    let parent = alice.post("parent").await;
    fan.subscribe("home", None).await;
    fan.subscribe("hashtag:rust", None).await;
    fan.subscribe("user:ALICE", None).await;
    fan.subscribe(&format!("replies:{}", parent.id), None).await;
    stranger.subscribe("home", None).await;
    stranger.subscribe("hashtag:go", None).await;

    let t = alice
        .post_with(req::Post {
            text: "reply about #Rust".into(),
            reply_to: Some(parent.id),
            ..Default::default()
        })
        .await;
    let mut got: Vec<(String, u64)> = Vec::new();
    for _ in 0..4 {
        let e = fan.next_event().await;
        assert_eq!(tweet_id(&e), Some(t.id), "{e:?}");
        if let Event::Tweet(pushed) = &e.event {
            assert_eq!(
                pushed.liked_by_me, None,
                "pushed tweets carry no per-viewer fields"
            );
            assert_eq!(pushed.retweeted_by_me, None);
            assert_eq!(pushed.text, "reply about #Rust");
        }
        got.push((e.stream.clone(), e.cursor));
    }
    got.sort();
    let names: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
    let replies = format!("replies:{}", parent.id);
    let mut want = vec!["hashtag:rust", "home", replies.as_str(), "user:alice"];
    want.sort();
    assert_eq!(names, want);
    // One event, one cursor, on every stream.
    assert!(got.iter().all(|(_, c)| *c == got[0].1));

    // The stranger sees only its own marker post, which came later in the log.
    let marker = stranger.post("#go marker").await;
    let seen = stranger
        .events_until(|e| tweet_id(e) == Some(marker.id) && e.stream == "home")
        .await;
    assert!(
        seen.iter().all(|e| tweet_id(e) == Some(marker.id)),
        "{seen:?}"
    );
}

#[tokio::test]
async fn pushed_json_leaves_out_per_viewer_fields() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    alice.subscribe("user:alice", None).await;
    let id = alice
        .send(Request::Post(req::Post {
            text: "raw".into(),
            ..Default::default()
        }))
        .await;
    let mut raw_event = None;
    let mut replied = false;
    while raw_event.is_none() || !replied {
        use futures::StreamExt;
        let msg = alice.ws.next().await.expect("open").expect("frame");
        let text = msg.into_text().expect("text");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        match v["type"].as_str() {
            Some("event") => raw_event = Some(v),
            Some("result") => {
                assert_eq!(v["id"], id);
                assert_eq!(
                    v["data"]["tweet"]["liked_by_me"], false,
                    "replies carry them"
                );
                replied = true;
            }
            other => panic!("{other:?}"),
        }
    }
    let event = raw_event.expect("event");
    let data = event["data"].as_object().expect("object");
    assert!(
        !data.contains_key("liked_by_me") && !data.contains_key("retweeted_by_me"),
        "{event}"
    );
}

#[tokio::test]
async fn counts_deletions_and_notifications_are_pushed() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let (mut bob, _) = server.user(Codec::Json, "bob").await;
    let t = alice.post("watch me").await;
    alice.subscribe(&format!("tweet:{}", t.id), None).await;
    alice.subscribe("notifications", None).await;
    alice.subscribe("user:alice", None).await;

    let _: reply::Likes = bob.ok(Request::Like(tid(t.id))).await;
    let seen = alice
        .events_until(|e| matches!(e.event, Event::Counts(_)))
        .await;
    let counts = seen
        .iter()
        .find_map(|e| match &e.event {
            Event::Counts(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!((counts.tweet_id, counts.likes), (t.id, 1));
    let mut notes: Vec<_> = seen
        .iter()
        .filter(|e| e.stream == "notifications")
        .cloned()
        .collect();
    if notes.is_empty() {
        notes.push(alice.next_event().await);
    }
    match &notes[0].event {
        Event::Notification(n) => {
            assert_eq!(
                (n.kind, n.by.username.as_str(), n.tweet_id),
                (NotificationKind::Liked, "bob", Some(t.id))
            );
        }
        other => panic!("{other:?}"),
    }

    let _: reply::Empty = alice.ok(Request::Delete(tid(t.id))).await;
    let seen = alice
        .events_until(|e| matches!(e.event, Event::Deleted(_)) && e.stream == "user:alice")
        .await;
    let deleted_on: Vec<&str> = seen
        .iter()
        .filter(|e| matches!(e.event, Event::Deleted(_)))
        .map(|e| e.stream.as_str())
        .collect();
    assert!(deleted_on.contains(&"user:alice"));
    if !deleted_on.iter().any(|s| s.starts_with("tweet:")) {
        let e = alice.next_event().await;
        assert_eq!(e.stream, format!("tweet:{}", t.id));
        assert_eq!(
            e.event,
            Event::Deleted(starling_protocol::TweetRef { tweet_id: t.id })
        );
    }
}

#[tokio::test]
async fn every_socket_of_a_user_gets_its_own_events_until_it_unsubscribes() {
    let server = TestServer::start().await;
    let (mut alice, s) = server.user(Codec::Json, "alice").await;
    let token = s.access_token.unwrap();
    let mut second = Client::authed(server.addr, Codec::MsgPack, &token).await;
    alice.subscribe("home", None).await;
    second.subscribe("home", None).await;
    let t = alice.post("to both").await;
    assert_eq!(tweet_id(&alice.next_event().await), Some(t.id));
    assert_eq!(tweet_id(&second.next_event().await), Some(t.id));

    let r: reply::Stream = second
        .ok(Request::Unsubscribe(req::Stream {
            stream: "home".into(),
        }))
        .await;
    assert_eq!(r.stream, "home");
    second.subscribe("user:alice", None).await;
    let t2 = alice.post("only the first hears home").await;
    assert_eq!(tweet_id(&alice.next_event().await), Some(t2.id));
    let e = second.next_event().await;
    assert_eq!(
        (e.stream.as_str(), tweet_id(&e)),
        ("user:alice", Some(t2.id)),
        "no home event after unsubscribe"
    );
}

#[tokio::test]
async fn resume_with_since_replays_exactly_the_missed_events_in_order() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let (_, guest) = server.post("/api/guest", &serde_json::Value::Null).await;
    let guest = guest["access_token"].as_str().unwrap().to_owned();
    let mut reader = Client::authed(server.addr, Codec::Json, &guest).await;
    let sub = reader.subscribe("hashtag:live", None).await;
    assert!(sub.recovered);
    let first = alice.post("#live 1").await;
    let e1 = reader.next_event().await;
    assert_eq!(tweet_id(&e1), Some(first.id));
    assert!(e1.cursor > sub.cursor);
    drop(reader);

    let mut missed = Vec::new();
    for i in 2..=6 {
        missed.push(alice.post(&format!("#live {i}")).await.id);
    }
    let mut reader = Client::authed(server.addr, Codec::MsgPack, &guest).await;
    let sub = reader.subscribe("hashtag:live", Some(e1.cursor)).await;
    assert!(sub.recovered);
    let mut cursors = vec![e1.cursor];
    let mut replayed = Vec::new();
    for _ in 0..5 {
        let e = reader.next_event().await;
        cursors.push(e.cursor);
        replayed.push(tweet_id(&e).unwrap());
    }
    assert_eq!(replayed, missed);
    // Then live, with no duplicate and no hole at the seam.
    let live = alice.post("#live 7").await;
    let e = reader.next_event().await;
    assert_eq!(tweet_id(&e), Some(live.id));
    cursors.push(e.cursor);
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
}

#[tokio::test]
async fn resume_past_the_window_says_so_with_a_gap() {
    let server = TestServer::start_with(|c| c.replay_events = 3).await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let (mut reader, _) = server.user(Codec::Json, "reader").await;
    reader.subscribe("user:alice", None).await;
    let first = alice.post("one").await;
    let e1 = reader.next_event().await;
    assert_eq!(tweet_id(&e1), Some(first.id));
    reader
        .ok::<reply::Stream>(Request::Unsubscribe(req::Stream {
            stream: "user:alice".into(),
        }))
        .await;
    for i in 0..5 {
        alice.post(&format!("missed {i}")).await;
    }
    let sub = reader.subscribe("user:alice", Some(e1.cursor)).await;
    assert!(!sub.recovered);
    let gap = reader.next_event().await;
    assert_eq!(
        gap.event,
        Event::Gap(reply::Stream {
            stream: "user:alice".into()
        })
    );
    // Live events follow the gap.
    let next = alice.post("after the gap").await;
    assert_eq!(tweet_id(&reader.next_event().await), Some(next.id));
}

#[tokio::test]
async fn subscriptions_are_checked_and_capped() {
    let server = TestServer::start_with(|c| c.max_subscriptions = 2).await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    for (stream, code) in [
        ("likes:alice", ErrorCode::BadRequest),
        ("tweet:999", ErrorCode::NotFound),
        ("user:ghost", ErrorCode::NotFound),
        ("bogus", ErrorCode::BadRequest),
    ] {
        let got = c
            .err(Request::Subscribe(req::Subscribe {
                stream: stream.into(),
                since: None,
            }))
            .await;
        assert_eq!(got, code, "{stream}");
    }
    c.subscribe("home", None).await;
    c.subscribe("notifications", None).await;
    c.subscribe("home", None).await; // already held: not a third
    let got = c
        .err(Request::Subscribe(req::Subscribe {
            stream: "hashtag:x".into(),
            since: None,
        }))
        .await;
    assert_eq!(got, ErrorCode::BadRequest);

    let (_, guest) = server.post("/api/guest", &serde_json::Value::Null).await;
    let mut g = Client::authed(
        server.addr,
        Codec::Json,
        guest["access_token"].as_str().unwrap(),
    )
    .await;
    let got = g
        .err(Request::Subscribe(req::Subscribe {
            stream: "home".into(),
            since: None,
        }))
        .await;
    assert_eq!(got, ErrorCode::Forbidden);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_is_closed_with_4013_and_others_get_everything() {
    let server = TestServer::start_with(|c| {
        c.outbox_bytes = 64 * 1024;
        c.socket_send_buffer = 16 * 1024;
    })
    .await;
    let (mut writer, _) = server.user(Codec::Json, "writer").await;
    let (mut good, _) = server.user(Codec::Json, "good").await;
    good.subscribe("user:writer", None).await;

    // The slow reader: a tiny receive buffer, and it never reads after subscribing.
    let (_, pair) = server
        .post("/api/signup", &serde_json::json!({"username": "slow", "email": "slow@example.com", "password": "correct horse"}))
        .await;
    let mut slow = Client::connect_small(server.addr, Codec::Json).await;
    slow.ok::<reply::Session>(Request::Auth(req::Auth {
        token: pair["access_token"].as_str().unwrap().into(),
    }))
    .await;
    slow.subscribe("user:writer", None).await;

    let text = "x".repeat(240);
    let total = 1500;
    // The normal reader reads as events come, concurrently with the posting.
    let good_reader = tokio::spawn(async move {
        let mut received = Vec::new();
        while received.len() < total {
            let e = good.next_event().await;
            received.push(tweet_id(&e).unwrap());
        }
        received
    });
    // Posts in windows of in-flight requests, like a busy client.
    let mut posted = Vec::new();
    for _ in 0..total / 25 {
        let mut ids = Vec::new();
        for _ in 0..25 {
            ids.push(
                writer
                    .send(Request::Post(req::Post {
                        text: text.clone(),
                        ..Default::default()
                    }))
                    .await,
            );
        }
        for id in ids {
            let t: reply::TweetData = writer.reply(id).await.expect("post");
            posted.push(t.tweet.id);
        }
    }
    let received = good_reader.await.expect("reader task");
    assert_eq!(
        received, posted,
        "the normal reader got everything, in order"
    );
    assert_eq!(slow.close_code().await, Some(close::SLOW_CONSUMER));
}

#[tokio::test]
async fn unsubscribing_works_after_the_tweet_is_deleted() {
    let server = TestServer::start().await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    let t = c.post("short-lived").await;
    c.subscribe(&format!("tweet:{}", t.id), None).await;
    let _: reply::Empty = c.ok(Request::Delete(tid(t.id))).await;
    let r: reply::Stream = c
        .ok(Request::Unsubscribe(req::Stream {
            stream: format!("tweet:{}", t.id),
        }))
        .await;
    assert_eq!(r.stream, format!("tweet:{}", t.id));
}

#[tokio::test]
async fn a_replay_too_large_for_the_outbox_is_a_gap_not_a_4013() {
    let server = TestServer::start_with(|c| c.outbox_bytes = 8 * 1024).await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let (mut reader, _) = server.user(Codec::Json, "reader").await;
    let sub = reader.subscribe("user:alice", None).await;
    reader
        .ok::<reply::Stream>(Request::Unsubscribe(req::Stream {
            stream: "user:alice".into(),
        }))
        .await;
    for i in 0..20 {
        alice.post(&format!("{i} {}", "x".repeat(200))).await;
    }
    let again = reader.subscribe("user:alice", Some(sub.cursor)).await;
    assert!(!again.recovered);
    let gap = reader.next_event().await;
    assert!(matches!(gap.event, Event::Gap(_)), "{gap:?}");
    let pong: reply::Pong = reader.ok(Request::Ping(req::Ping {})).await;
    assert!(pong.now > 0, "still open");
}
