//! Liveness: server pings, and the close of a socket silent for two ping intervals.

use crate::support::*;
use futures::StreamExt;
use starling_protocol::{close, reply, req, Codec, Request};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_silent_socket_is_closed_and_a_live_one_is_kept() {
    let server = TestServer::start_with(|c| c.ping_interval_secs = 1).await;
    let (mut silent, _) = server.user(Codec::Json, "silent").await;
    let (mut live, _) = server.user(Codec::Json, "live").await;

    // The live client reads (so tungstenite answers each ping with a pong) for three
    // intervals; the silent one reads nothing meanwhile.
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(3500);
    while let Ok(frame) = tokio::time::timeout_at(until, live.ws.next()).await {
        match frame {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(other)) => panic!("unexpected {other:?}"),
            _ => panic!("the live socket was closed"),
        }
    }
    assert!(
        pings >= 2,
        "the server pings every interval ({pings} pings)"
    );
    let pong: reply::Pong = live.ok(Request::Ping(req::Ping {})).await;
    assert!(pong.now > 0);

    assert_eq!(silent.close_code().await, Some(close::GOING_AWAY));
}
