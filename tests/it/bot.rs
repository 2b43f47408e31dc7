//! The load bot and the seeder, at small sizes against a real server, with their counts
//! checked, so the figures they report can be trusted.

use crate::support::*;
use starling::bot::seed::{self, SeedArgs};
use starling::bot::{BotArgs, CodecArg, Scenario};

fn args(server: &TestServer, scenario: Scenario) -> BotArgs {
    BotArgs {
        server: server.addr,
        jwt_secret: SECRET.to_owned(),
        scenario,
        sockets: 10,
        duration_secs: 1,
        rate: 40.0,
        publishers: 2,
        window: 8,
        celebrity: 1,
        posts: 3,
        first_user: 2,
        codec: CodecArg::Json,
        sources: 4,
        json: false,
        quiet: true,
    }
}

async fn seeded_server() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("tmp");
    let seeded = seed::run(&SeedArgs {
        data: dir.path().to_path_buf(),
        users: 60,
        follows: 3,
        celebrities: 1,
        celebrity_followers: 30,
        tweets: 200,
        seed: 7,
    })
    .expect("seed");
    assert_eq!((seeded.users, seeded.tweets), (60, 200));
    assert_eq!(seeded.follows, 30 + 60 * 3);
    let path = dir.path().to_path_buf();
    let server = TestServer::start_with(move |c| c.data = path).await;
    (dir, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_users_can_sign_in_and_see_their_graph() {
    let (_dir, server) = seeded_server().await;
    let (status, body) = server
        .post(
            "/api/login",
            &serde_json::json!({"login": "user1", "password": seed::SEEDED_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let mut c = Client::authed(server.addr, starling_protocol::Codec::Json, &token).await;
    let p: starling_protocol::reply::ProfileView = c
        .ok(starling_protocol::Request::Profile(
            starling_protocol::req::Username {
                username: "user1".into(),
            },
        ))
        .await;
    assert_eq!(p.profile.followers, 30, "the celebrity's followers");
    let tagged = c.feed_ids("hashtag:tag7").await;
    assert_eq!(tagged.len(), 4, "200 tweets over 50 tags");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_delivers_every_post_to_every_subscriber_once() {
    let (_dir, server) = seeded_server().await;
    for codec in [CodecArg::Json, CodecArg::Msgpack] {
        let report = starling::bot::run(&BotArgs {
            codec,
            ..args(&server, Scenario::Fanout)
        })
        .await
        .expect("run");
        assert!(report.acked >= 20, "{report:?}");
        assert_eq!(report.expected_deliveries, report.acked * 10);
        assert_eq!(report.received, report.expected_deliveries, "{report:?}");
        assert_eq!((report.lost, report.duplicates, report.errors), (0, 0, 0));
        assert_eq!(report.latency.samples as u64, report.received);
        assert!(report.server_cpu_seconds > 0.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn celebrity_posts_reach_every_online_follower() {
    let (_dir, server) = seeded_server().await;
    let report = starling::bot::run(&BotArgs {
        sockets: 30,
        ..args(&server, Scenario::Celebrity)
    })
    .await
    .expect("run");
    assert_eq!(report.acked, 3);
    assert_eq!(report.received, 90, "{report:?}");
    assert_eq!((report.lost, report.duplicates), (0, 0));
    assert_eq!(report.time_to_last.samples, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_counts_acknowledged_posts_and_they_are_there() {
    let (_dir, server) = seeded_server().await;
    let report = starling::bot::run(&args(&server, Scenario::Ingest))
        .await
        .expect("run");
    assert_eq!(report.errors, 0);
    assert_eq!(report.acked, report.sent, "{report:?}");
    assert!(report.acked > 0);
    let (_, metrics, body) = http_raw(server.addr, "GET", "/metrics", &[], b"").await;
    let _ = metrics;
    let text = String::from_utf8(body).unwrap();
    let posts = crate::metrics::sample(
        &text,
        "starling_requests_total{type=\"post\",outcome=\"ok\"}",
    )
    .unwrap_or(0.0);
    assert_eq!(
        posts as u64, report.acked,
        "the server counted the same posts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_mixed_run_clean() {
    let (_dir, server) = seeded_server().await;
    let report = starling::bot::run(&BotArgs {
        duration_secs: 2,
        ..args(&server, Scenario::Connect)
    })
    .await
    .expect("run");
    assert_eq!(report.acked, 10);
    assert!(report.connect_per_second > 0.0);
    let report = starling::bot::run(&BotArgs {
        rate: 100.0,
        ..args(&server, Scenario::Mixed)
    })
    .await
    .expect("run");
    assert!(report.acked > 20, "{report:?}");
    assert_eq!(report.errors, 0, "{report:?}");
}
