//! The social core: tweets, replies, quotes, likes, retweets, follows, profiles, timelines,
//! search, trending, notifications.

use crate::support::*;
use starling_protocol::{reply, req, Codec, ErrorCode, NotificationKind, Request};

#[tokio::test]
async fn post_returns_the_tweet_with_hashtags_and_mentions_in_both_codecs() {
    let server = TestServer::start().await;
    let (_bob, _) = server.user(Codec::Json, "bob").await;
    for codec in Codec::ALL {
        let name = if codec == Codec::Json {
            "alice"
        } else {
            "carol"
        };
        let (mut client, session) = server.user(codec, name).await;
        let tweet = client
            .post("  Hello #Rust and #día_1, hi @BOB and @nobody #rust  ")
            .await;
        assert_eq!(
            tweet.text,
            "Hello #Rust and #día_1, hi @BOB and @nobody #rust"
        );
        assert_eq!(tweet.hashtags, vec!["rust", "día_1"]);
        assert_eq!(tweet.mentions, vec!["bob"]);
        assert_eq!(tweet.author.username, name);
        assert_eq!(tweet.author.id, session.user.as_ref().unwrap().id);
        assert_eq!((tweet.likes, tweet.retweets, tweet.replies), (0, 0, 0));
        assert_eq!(tweet.liked_by_me, Some(false));
        assert_eq!(tweet.retweeted_by_me, Some(false));
        assert!(tweet.created_at > 0);
    }
}

#[tokio::test]
async fn text_rules_count_graphemes() {
    let server = TestServer::start().await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    let family = "👨‍👩‍👧‍👦";
    let ok = c.post(&family.repeat(250)).await;
    assert_eq!(ok.text.chars().count(), 250 * 7);
    let post = |text: String| {
        Request::Post(req::Post {
            text,
            ..Default::default()
        })
    };
    assert_eq!(
        c.err(post(family.repeat(251))).await,
        ErrorCode::TextTooLong
    );
    assert_eq!(c.err(post("a".repeat(251))).await, ErrorCode::TextTooLong);
    assert_eq!(c.err(post("   \n\t ".into())).await, ErrorCode::EmptyText);
    assert_eq!(c.err(post(String::new())).await, ErrorCode::EmptyText);
}

#[tokio::test]
async fn replies_and_quotes_point_at_existing_tweets() {
    let server = TestServer::start().await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    let parent = c.post("parent").await;
    let reply = c
        .post_with(req::Post {
            text: "child".into(),
            reply_to: Some(parent.id),
            ..Default::default()
        })
        .await;
    assert_eq!(reply.reply_to, Some(parent.id));
    let quote = c
        .post_with(req::Post {
            text: "look".into(),
            quote_of: Some(parent.id),
            ..Default::default()
        })
        .await;
    assert_eq!(quote.quote_of, Some(parent.id));
    let thread: reply::Thread = c.ok(Request::Tweet(tid(parent.id))).await;
    assert_eq!(thread.tweet.replies, 1);
    assert_eq!(
        thread.replies.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![reply.id]
    );
    assert!(thread.parent.is_none());
    let child: reply::Thread = c.ok(Request::Tweet(tid(reply.id))).await;
    assert_eq!(child.parent.map(|p| p.id), Some(parent.id));

    for bad in [
        req::Post {
            text: "x".into(),
            reply_to: Some(9999),
            ..Default::default()
        },
        req::Post {
            text: "x".into(),
            quote_of: Some(9999),
            ..Default::default()
        },
        req::Post {
            text: "x".into(),
            media: Some(vec![12345]),
            ..Default::default()
        },
    ] {
        assert_eq!(c.err(Request::Post(bad)).await, ErrorCode::NotFound);
    }
    let five = req::Post {
        text: "x".into(),
        media: Some(vec![1, 2, 3, 4, 5]),
        ..Default::default()
    };
    assert_eq!(c.err(Request::Post(five)).await, ErrorCode::BadRequest);
    assert_eq!(c.err(Request::Tweet(tid(9999))).await, ErrorCode::NotFound);
}

#[tokio::test]
async fn a_client_key_retry_returns_the_first_tweet() {
    let server = TestServer::start().await;
    let (mut c, _) = server.user(Codec::MsgPack, "alice").await;
    let keyed = || req::Post {
        text: "only once".into(),
        client_key: Some("retry-1".into()),
        ..Default::default()
    };
    let first = c.post_with(keyed()).await;
    let again = c.post_with(keyed()).await;
    assert_eq!(first.id, again.id);
    assert_eq!(c.feed_ids("user:alice").await, vec![first.id]);
    let other = c
        .post_with(req::Post {
            client_key: Some("retry-2".into()),
            ..keyed()
        })
        .await;
    assert_ne!(other.id, first.id);
    let empty_key = req::Post {
        client_key: Some(String::new()),
        ..keyed()
    };
    assert_eq!(c.err(Request::Post(empty_key)).await, ErrorCode::BadRequest);
}

#[tokio::test]
async fn likes_and_retweets_are_idempotent_and_per_viewer() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let (mut bob, _) = server.user(Codec::MsgPack, "bob").await;
    let t = alice.post("like me").await;
    for _ in 0..2 {
        let r: reply::Likes = bob.ok(Request::Like(tid(t.id))).await;
        assert_eq!((r.tweet_id, r.likes), (t.id, 1));
        let r: reply::Retweets = bob.ok(Request::Retweet(tid(t.id))).await;
        assert_eq!((r.tweet_id, r.retweets), (t.id, 1));
    }
    let seen_by_bob: reply::Thread = bob.ok(Request::Tweet(tid(t.id))).await;
    assert_eq!(seen_by_bob.tweet.liked_by_me, Some(true));
    assert_eq!(seen_by_bob.tweet.retweeted_by_me, Some(true));
    let seen_by_alice: reply::Thread = alice.ok(Request::Tweet(tid(t.id))).await;
    assert_eq!(seen_by_alice.tweet.liked_by_me, Some(false));
    assert_eq!(
        (seen_by_alice.tweet.likes, seen_by_alice.tweet.retweets),
        (1, 1)
    );

    // The retweet is a tweet of bob's pointing at the original; liking it likes the original.
    let bobs = bob.feed("user:bob", None, None).await.items;
    assert_eq!(bobs.len(), 1);
    let rt = &bobs[0];
    assert_eq!(rt.retweet_of.as_ref().map(|o| o.id), Some(t.id));
    let r: reply::Likes = alice.ok(Request::Like(tid(rt.id))).await;
    assert_eq!((r.tweet_id, r.likes), (t.id, 2));

    for _ in 0..2 {
        let r: reply::Likes = bob.ok(Request::Unlike(tid(t.id))).await;
        assert_eq!(r.likes, 1);
        let r: reply::Retweets = bob.ok(Request::Unretweet(tid(t.id))).await;
        assert_eq!(r.retweets, 0);
    }
    assert!(bob.feed_ids("user:bob").await.is_empty());
    assert_eq!(bob.err(Request::Like(tid(9999))).await, ErrorCode::NotFound);
    assert_eq!(
        bob.err(Request::Retweet(tid(9999))).await,
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn delete_removes_a_tweet_everywhere_but_keeps_its_replies() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let (mut bob, _) = server.user(Codec::Json, "bob").await;
    bob.follow("alice").await;
    let t = alice.post("doomed #gone").await;
    let reply = bob
        .post_with(req::Post {
            text: "reply".into(),
            reply_to: Some(t.id),
            ..Default::default()
        })
        .await;
    let _: reply::Likes = bob.ok(Request::Like(tid(t.id))).await;
    let _: reply::Retweets = bob.ok(Request::Retweet(tid(t.id))).await;
    assert_eq!(
        bob.err(Request::Delete(tid(t.id))).await,
        ErrorCode::Forbidden
    );

    let _: reply::Empty = alice.ok(Request::Delete(tid(t.id))).await;
    assert_eq!(
        alice.err(Request::Delete(tid(t.id))).await,
        ErrorCode::NotFound
    );
    assert_eq!(
        alice.err(Request::Tweet(tid(t.id))).await,
        ErrorCode::NotFound
    );
    assert!(alice.feed_ids("user:alice").await.is_empty());
    assert!(alice.feed_ids("hashtag:gone").await.is_empty());
    assert_eq!(
        bob.feed_ids("home").await,
        vec![reply.id],
        "the retweet went with it"
    );
    assert!(bob.feed_ids("likes:bob").await.is_empty());
    let thread: reply::Thread = bob.ok(Request::Tweet(tid(reply.id))).await;
    assert_eq!(thread.tweet.reply_to, Some(t.id));
    assert!(thread.parent.is_none(), "the parent shows as deleted");
    let profile: reply::ProfileView = bob
        .ok(Request::Profile(req::Username {
            username: "alice".into(),
        }))
        .await;
    assert_eq!(profile.profile.tweets, 0);
}

#[tokio::test]
async fn follows_profiles_and_people_pages() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let mut fans = Vec::new();
    for i in 0..5 {
        let (mut c, _) = server.user(Codec::Json, &format!("fan{i}")).await;
        let r = c.follow("ALICE").await;
        assert_eq!(
            (r.username.as_str(), r.following, r.followers),
            ("alice", true, i + 1)
        );
        fans.push(c);
    }
    let again = fans[0].follow("alice").await;
    assert_eq!((again.following, again.followers), (true, 5));
    let r: reply::Follow = fans[0]
        .ok(Request::Unfollow(req::Username {
            username: "alice".into(),
        }))
        .await;
    assert_eq!((r.following, r.followers), (false, 4));
    let r: reply::Follow = fans[0]
        .ok(Request::Unfollow(req::Username {
            username: "alice".into(),
        }))
        .await;
    assert_eq!((r.following, r.followers), (false, 4));
    assert_eq!(
        alice
            .err(Request::Follow(req::Username {
                username: "alice".into()
            }))
            .await,
        ErrorCode::BadRequest
    );
    assert_eq!(
        alice
            .err(Request::Follow(req::Username {
                username: "ghost".into()
            }))
            .await,
        ErrorCode::NotFound
    );

    alice.follow("fan1").await;
    let view: reply::ProfileView = fans[1]
        .ok(Request::Profile(req::Username {
            username: "alice".into(),
        }))
        .await;
    assert_eq!((view.profile.followers, view.profile.following), (4, 1));
    assert!(view.followed_by_me && view.follows_me);
    let view: reply::ProfileView = fans[2]
        .ok(Request::Profile(req::Username {
            username: "alice".into(),
        }))
        .await;
    assert!(view.followed_by_me && !view.follows_me);
    assert_eq!(
        alice
            .err(Request::Profile(req::Username {
                username: "ghost".into()
            }))
            .await,
        ErrorCode::NotFound
    );

    // Followers page by page, newest first, each exactly once.
    let mut names = Vec::new();
    let mut before = None;
    loop {
        let page: reply::Users = alice
            .ok(Request::Followers(req::UserPage {
                username: "alice".into(),
                before,
                limit: Some(3),
            }))
            .await;
        names.extend(page.users.iter().map(|u| u.username.clone()));
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(names, vec!["fan4", "fan3", "fan2", "fan1"]);
    let following: reply::Users = alice
        .ok(Request::Following(req::UserPage {
            username: "alice".into(),
            before: None,
            limit: None,
        }))
        .await;
    assert_eq!(
        following
            .users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        vec!["fan1"]
    );
    assert_eq!(following.next, None);
}

#[tokio::test]
async fn update_profile_checks_its_limits() {
    let server = TestServer::start().await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    let p: reply::ProfileData = c
        .ok(Request::UpdateProfile(req::UpdateProfile {
            bio: Some("Rustacean 🦀".into()),
            display_name: Some("Alice A.".into()),
        }))
        .await;
    assert_eq!(
        (p.profile.bio.as_str(), p.profile.display_name.as_str()),
        ("Rustacean 🦀", "Alice A.")
    );
    let too_long = req::UpdateProfile {
        bio: Some("x".repeat(161)),
        display_name: None,
    };
    assert_eq!(
        c.err(Request::UpdateProfile(too_long)).await,
        ErrorCode::BadRequest
    );
    let t = c.post("hi").await;
    assert_eq!(t.author.display_name, "Alice A.");
}

#[tokio::test]
async fn home_has_own_and_followed_tweets_and_retweets_only() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let (mut bob, _) = server.user(Codec::Json, "bob").await;
    let (mut carol, _) = server.user(Codec::Json, "carol").await;
    alice.follow("bob").await;
    let a1 = alice.post("mine").await;
    let b1 = bob.post("bob's").await;
    let c1 = carol.post("carol's").await;
    let _: reply::Retweets = bob.ok(Request::Retweet(tid(c1.id))).await;
    let home = alice.feed("home", None, None).await;
    assert_eq!(home.items.len(), 3);
    assert_eq!(home.items[0].retweet_of.as_ref().map(|t| t.id), Some(c1.id));
    assert_eq!(home.items[1].id, b1.id);
    assert_eq!(home.items[2].id, a1.id);
    assert_eq!(home.next, None);
    assert_eq!(carol.feed_ids("home").await, vec![c1.id]);
    assert_eq!(alice.feed_ids("user:carol").await, vec![c1.id]);
}

#[tokio::test]
async fn feeds_check_their_names_and_limits() {
    let server = TestServer::start().await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    let t = c.post("one #tag").await;
    let r = c
        .post_with(req::Post {
            text: "two".into(),
            reply_to: Some(t.id),
            ..Default::default()
        })
        .await;
    assert_eq!(c.feed_ids(&format!("replies:{}", t.id)).await, vec![r.id]);
    assert_eq!(c.feed_ids("hashtag:TAG").await, vec![t.id]);
    let _: reply::Likes = c.ok(Request::Like(tid(t.id))).await;
    assert_eq!(c.feed_ids("likes:alice").await, vec![t.id]);
    for (feed, limit, code) in [
        ("home", Some(101), ErrorCode::BadRequest),
        ("home", Some(0), ErrorCode::BadRequest),
        ("nowhere", None, ErrorCode::BadRequest),
        ("user:ghost", None, ErrorCode::NotFound),
        ("replies:99999", None, ErrorCode::NotFound),
        ("replies:x", None, ErrorCode::BadRequest),
        ("hashtag:123", None, ErrorCode::BadRequest),
        ("tweet:1", None, ErrorCode::BadRequest),
    ] {
        let got = c
            .err(Request::Timeline(req::Timeline {
                feed: feed.into(),
                before: None,
                limit,
            }))
            .await;
        assert_eq!(got, code, "{feed} {limit:?}");
    }
}

#[tokio::test]
async fn a_page_walk_returns_every_tweet_once_while_others_post() {
    let server = TestServer::start().await;
    let (mut reader, _) = server.user(Codec::Json, "reader").await;
    let (mut writer, _) = server.user(Codec::MsgPack, "writer").await;
    reader.follow("writer").await;
    let mut posted = Vec::new();
    for i in 0..45 {
        posted.push(writer.post(&format!("before {i}")).await.id);
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = reader.feed("home", before, Some(7)).await;
        seen.extend(page.items.iter().map(|t| t.id));
        // New tweets land at the top while we walk down.
        writer.post("meanwhile").await;
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    posted.reverse();
    assert_eq!(seen, posted);
}

#[tokio::test]
async fn search_finds_tweets_carrying_every_hashtag() {
    let server = TestServer::start().await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    let both = c.post("#rust and #tokio").await;
    let rust = c.post("just #Rust").await;
    let _tokio = c.post("just #tokio").await;
    let found: reply::Tweets = c
        .ok(Request::Search(req::Search {
            hashtags: vec!["#RUST".into(), "tokio".into()],
            before: None,
            limit: None,
        }))
        .await;
    assert_eq!(
        found.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![both.id]
    );
    let found: reply::Tweets = c
        .ok(Request::Search(req::Search {
            hashtags: vec!["rust".into()],
            before: None,
            limit: None,
        }))
        .await;
    assert_eq!(
        found.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![rust.id, both.id]
    );
    for bad in [vec![], vec!["not a tag".to_owned()], vec!["123".to_owned()]] {
        let code = c
            .err(Request::Search(req::Search {
                hashtags: bad.clone(),
                before: None,
                limit: None,
            }))
            .await;
        assert_eq!(code, ErrorCode::BadRequest, "{bad:?}");
    }
}

#[tokio::test]
async fn trending_ranks_by_use_then_recency() {
    let server = TestServer::start().await;
    let (mut c, _) = server.user(Codec::Json, "alice").await;
    for text in ["#a #b", "#a", "#c", "#a #c", "#b"] {
        c.post(text).await;
    }
    // a: 3 uses; b and c: 2 each, and b was used last, so it ranks above c.
    let t: reply::Trending = c.ok(Request::Trending(req::Trending { limit: None })).await;
    let got: Vec<(&str, u64, u64)> = t
        .hashtags
        .iter()
        .map(|h| (h.tag.as_str(), h.count, h.rank))
        .collect();
    assert_eq!(got, vec![("a", 3, 1), ("b", 2, 2), ("c", 2, 3)]);
    let t: reply::Trending = c
        .ok(Request::Trending(req::Trending { limit: Some(1) }))
        .await;
    assert_eq!(t.hashtags.len(), 1);
}

#[tokio::test]
async fn notifications_cover_every_kind() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let (mut bob, _) = server.user(Codec::Json, "bob").await;
    let t = alice.post("hello").await;
    bob.follow("alice").await;
    let _: reply::Likes = bob.ok(Request::Like(tid(t.id))).await;
    let _: reply::Retweets = bob.ok(Request::Retweet(tid(t.id))).await;
    bob.post_with(req::Post {
        text: "re".into(),
        reply_to: Some(t.id),
        ..Default::default()
    })
    .await;
    bob.post("hey @alice").await;
    bob.post_with(req::Post {
        text: "qt".into(),
        quote_of: Some(t.id),
        ..Default::default()
    })
    .await;
    alice.post("talking to myself @alice").await;
    let n: reply::Notifications = alice.ok(Request::Notifications(req::Page::default())).await;
    let kinds: Vec<NotificationKind> = n.items.iter().map(|n| n.kind).collect();
    use NotificationKind::*;
    assert_eq!(
        kinds,
        vec![Quoted, Mentioned, Replied, Retweeted, Liked, Followed]
    );
    assert!(n.items.iter().all(|n| n.by.username == "bob"));
    assert_eq!(n.items[4].tweet_id, Some(t.id));
    let page: reply::Notifications = alice
        .ok(Request::Notifications(req::Page {
            before: None,
            limit: Some(4),
        }))
        .await;
    let rest: reply::Notifications = alice
        .ok(Request::Notifications(req::Page {
            before: page.next,
            limit: Some(4),
        }))
        .await;
    assert_eq!(page.items.len() + rest.items.len(), 6);
    assert_eq!(rest.next, None);
}

#[tokio::test]
async fn guests_read_public_feeds_only() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.user(Codec::Json, "alice").await;
    let t = alice.post("public #news").await;
    let (_, guest) = server.post("/api/guest", &serde_json::Value::Null).await;
    let mut g = Client::authed(
        server.addr,
        Codec::Json,
        guest["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(g.feed_ids("user:alice").await, vec![t.id]);
    assert_eq!(g.feed_ids("hashtag:news").await, vec![t.id]);
    let thread: reply::Thread = g.ok(Request::Tweet(tid(t.id))).await;
    assert_eq!(thread.tweet.liked_by_me, None);
    let code = g
        .err(Request::Timeline(req::Timeline {
            feed: "home".into(),
            before: None,
            limit: None,
        }))
        .await;
    assert_eq!(code, ErrorCode::Forbidden);
    assert_eq!(
        g.err(Request::Notifications(req::Page::default())).await,
        ErrorCode::Forbidden
    );
}

#[tokio::test]
async fn everything_survives_a_restart() {
    let server = TestServer::start().await;
    let (mut alice, s) = server.user(Codec::Json, "alice").await;
    let token = s.access_token.unwrap();
    let (mut bob, bs) = server.user(Codec::Json, "bob").await;
    let bob_token = bs.access_token.unwrap();
    bob.follow("alice").await;
    let t = alice.post("persist #me").await;
    let gone = alice.post("delete me").await;
    let _: reply::Empty = alice.ok(Request::Delete(tid(gone.id))).await;
    let _: reply::Likes = bob.ok(Request::Like(tid(t.id))).await;
    let _: reply::Retweets = bob.ok(Request::Retweet(tid(t.id))).await;
    let r = bob
        .post_with(req::Post {
            text: "reply".into(),
            reply_to: Some(t.id),
            ..Default::default()
        })
        .await;
    let _: reply::ProfileData = alice
        .ok(Request::UpdateProfile(req::UpdateProfile {
            bio: Some("bio".into()),
            display_name: None,
        }))
        .await;
    let before_home = bob.feed("home", None, None).await;
    let before_notes: reply::Notifications =
        alice.ok(Request::Notifications(req::Page::default())).await;
    drop((alice, bob));

    let server = server.restart().await;
    let mut alice = Client::authed(server.addr, Codec::Json, &token).await;
    let mut bob = Client::authed(server.addr, Codec::Json, &bob_token).await;
    assert_eq!(bob.feed("home", None, None).await, before_home);
    let notes: reply::Notifications = alice.ok(Request::Notifications(req::Page::default())).await;
    assert_eq!(notes, before_notes);
    let thread: reply::Thread = alice.ok(Request::Tweet(tid(t.id))).await;
    assert_eq!(
        (
            thread.tweet.likes,
            thread.tweet.retweets,
            thread.tweet.replies
        ),
        (1, 1, 1)
    );
    assert_eq!(thread.replies[0].id, r.id);
    let view: reply::ProfileView = bob
        .ok(Request::Profile(req::Username {
            username: "alice".into(),
        }))
        .await;
    assert_eq!(
        (
            view.profile.followers,
            view.profile.tweets,
            view.profile.bio.as_str()
        ),
        (1, 1, "bio")
    );
    assert_eq!(
        alice.err(Request::Tweet(tid(gone.id))).await,
        ErrorCode::NotFound
    );
    // Ids continue after the highest one given out.
    let next = alice.post("after restart").await;
    assert!(next.id > r.id);
}
