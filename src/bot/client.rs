//! The bot's lean WebSocket client: small buffers (thousands of them live at once), requests
//! without waiting, and a light decoding of what comes back.

use crate::error::Fault;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use starling_protocol::{encode, ClientFrame, Codec, Request};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// What the bot cares about in a server frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Result,
    /// An error reply, with its code.
    Error(String),
    Event {
        tweet_id: Option<u64>,
        text: Option<String>,
    },
}

#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tweet: Option<TweetId>,
    #[serde(default)]
    tweet_id: Option<u64>,
}

#[derive(Deserialize)]
struct TweetId {
    id: u64,
}

pub struct BotConn {
    /// The user this socket is signed in as.
    pub user: u64,
    ws: WebSocketStream<TcpStream>,
    codec: Codec,
    next_id: u64,
    /// The tweet id a reply carried, for `expect_reply_tweet`.
    last_tweet: Option<u64>,
}

/// The n-th source address: 127.0.0.2, 127.0.0.3, ... (`sources` of them).
pub fn source_addr(sources: u8, n: usize) -> Option<IpAddr> {
    if sources == 0 {
        return None;
    }
    let k = (n % sources as usize) as u8;
    Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + k.min(250))))
}

fn fault(what: &str, e: impl std::fmt::Display) -> Fault {
    Fault(format!("{what}: {e}"))
}

impl BotConn {
    /// Connects from `source` and authenticates with `token`.
    pub async fn open(
        server: SocketAddr,
        source: Option<IpAddr>,
        codec: Codec,
        user: u64,
        token: &str,
    ) -> Result<BotConn, Fault> {
        let socket = TcpSocket::new_v4().map_err(|e| fault("socket", e))?;
        if let Some(ip) = source {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| fault("bind source address", e))?;
        }
        let stream = socket
            .connect(server)
            .await
            .map_err(|e| fault("connect", e))?;
        let _ = stream.set_nodelay(true);
        let request = format!("ws://{server}/ws")
            .into_client_request()
            .map_err(|e| fault("request", e))?;
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0)
            .max_write_buffer_size(1 << 20);
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|e| fault("handshake", e))?;
        let mut conn = BotConn {
            user,
            ws,
            codec,
            next_id: 1,
            last_tweet: None,
        };
        conn.send(Request::Auth(starling_protocol::req::Auth {
            token: token.to_owned(),
        }))
        .await?;
        conn.expect_reply().await?;
        Ok(conn)
    }

    pub async fn send(&mut self, request: Request) -> Result<u64, Fault> {
        let id = self.next_id;
        self.next_id += 1;
        let bytes = encode(
            self.codec,
            &ClientFrame {
                id: Some(id),
                request,
            },
        )
        .map_err(|e| fault("encode", e))?;
        let message = match self.codec {
            Codec::Json => Message::Text(
                String::from_utf8(bytes)
                    .map_err(|e| fault("utf8", e))?
                    .into(),
            ),
            Codec::MsgPack => Message::Binary(bytes.into()),
        };
        self.ws.send(message).await.map_err(|e| fault("send", e))?;
        Ok(id)
    }

    /// The next frame, or `None` when the socket closed.
    pub async fn next(&mut self) -> Result<Option<Incoming>, Fault> {
        loop {
            let message = match self.ws.next().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(fault("read", e)),
                Some(Ok(m)) => m,
            };
            let frame: Frame = match &message {
                Message::Text(t) => serde_json::from_str(t).map_err(|e| fault("decode", e))?,
                Message::Binary(b) => rmp_serde::from_slice(b).map_err(|e| fault("decode", e))?,
                Message::Close(_) => return Ok(None),
                _ => continue,
            };
            return Ok(Some(match frame.kind.as_str() {
                "result" => {
                    self.last_tweet = frame
                        .data
                        .as_ref()
                        .and_then(|d| d.tweet.as_ref().map(|t| t.id).or(d.tweet_id));
                    Incoming::Result
                }
                "error" => Incoming::Error(frame.code.unwrap_or_default()),
                _ => {
                    let data = frame.data;
                    Incoming::Event {
                        tweet_id: data.as_ref().and_then(|d| d.id),
                        text: data.and_then(|d| d.text),
                    }
                }
            }));
        }
    }

    /// Waits for the next reply (skipping events); an error reply is an `Err`.
    pub async fn expect_reply(&mut self) -> Result<(), Fault> {
        loop {
            match self.next().await? {
                Some(Incoming::Result) => return Ok(()),
                Some(Incoming::Error(code)) => {
                    return Err(Fault(format!("the server refused a request: {code}")))
                }
                Some(Incoming::Event { .. }) => {}
                None => return Err(Fault("the socket closed".into())),
            }
        }
    }

    /// Like [`BotConn::expect_reply`], also returning the tweet id the reply named.
    pub async fn expect_reply_tweet(&mut self) -> Result<Option<u64>, Fault> {
        self.expect_reply().await?;
        Ok(self.last_tweet.take())
    }
}

/// The micros-since-epoch a bench post carries (`bench <micros> ...`).
pub fn sent_micros(text: &str) -> Option<u64> {
    text.strip_prefix("bench ")?.split(' ').next()?.parse().ok()
}

/// The server's resident bytes and CPU seconds, from `/metrics`.
pub async fn server_usage(server: SocketAddr) -> Result<(u64, f64), Fault> {
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| fault("metrics connect", e))?;
    stream
        .write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .map_err(|e| fault("metrics request", e))?;
    let mut body = String::new();
    stream
        .read_to_string(&mut body)
        .await
        .map_err(|e| fault("metrics read", e))?;
    let value = |name: &str| {
        body.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((
        value("process_resident_memory_bytes ") as u64,
        value("process_cpu_seconds_total "),
    ))
}
