//! `GET /metrics`: Prometheus text with the server's counters and the process's usage.

use crate::support::*;
use starling_protocol::{reply, req, Codec, Request};

/// The value of the first sample whose line starts with `prefix`.
pub fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_sockets_frames_requests_and_the_process() {
    let server = TestServer::start().await;
    let (mut c, _) = server.user(Codec::MsgPack, "alice").await;
    let _: reply::Pong = c.ok(Request::Ping(req::Ping {})).await;
    c.post("counted").await;
    let (status, head, body) = http_raw(server.addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(status, 200);
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: text/plain"));
    let text = String::from_utf8(body).expect("utf8");
    assert_eq!(
        sample(&text, "starling_sockets_authenticated "),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "starling_requests_total{type=\"ping\",outcome=\"ok\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "starling_requests_total{type=\"post\",outcome=\"ok\"}"
        ),
        Some(1.0)
    );
    assert!(sample(&text, "starling_frames_in_total{codec=\"msgpack\"}").unwrap_or(0.0) >= 3.0);
    assert!(sample(&text, "starling_log_flushes_total ").unwrap_or(0.0) >= 1.0);
    assert!(sample(&text, "process_resident_memory_bytes ").unwrap_or(0.0) > 1e6);
    assert!(sample(&text, "process_cpu_seconds_total ").is_some());
}
