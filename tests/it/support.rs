//! The test server and the typed test client.

#![allow(dead_code)]

use futures::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::Value;
use starling::Config;
use starling_protocol::{
    decode, encode, req, ClientFrame, Codec, ErrorFrame, EventFrame, Request, ServerFrame,
};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The longest any test waits for something the server should do promptly. Reaching it is a
/// failure ("never arrived"), not a timing measurement.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The JWT secret test servers use, so tests can mint their own tokens.
pub const SECRET: &str = "integration-test-secret";

pub fn test_config(data: &Path) -> Config {
    let mut config = Config::new(data);
    config.jwt_secret = Some(SECRET.to_owned());
    config.no_rate_limits = true;
    // Argon2id still, with small costs so the suite stays fast.
    config.argon2_memory_kib = 1024;
    config.argon2_iterations = 1;
    config
}

/// A running server on an ephemeral port with its own data folder.
pub struct TestServer {
    pub addr: SocketAddr,
    pub config: Config,
    dir: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), starling::Fault>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path());
        tweak(&mut config);
        TestServer::launch(config, Some(dir)).await
    }

    async fn launch(config: Config, dir: Option<tempfile::TempDir>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(starling::run(listener, config.clone(), async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            config,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.config.data.clone()
    }

    /// Shuts down gracefully and waits for the server to finish.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(PATIENCE, task)
                .await
                .expect("server stops in time")
                .expect("server task")
                .expect("server ran cleanly");
        }
    }

    /// Stops the server and starts a new one on the same data folder.
    pub async fn restart(mut self) -> TestServer {
        self.stop().await;
        let dir = self.dir.take();
        TestServer::launch(self.config.clone(), dir).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn ws(&self, codec: Codec) -> Client {
        Client::connect(self.addr, codec, None).await
    }

    /// A socket already signed in as a new user.
    pub async fn user(
        &self,
        codec: Codec,
        name: &str,
    ) -> (Client, starling_protocol::reply::Session) {
        let mut client = self.ws(codec).await;
        let session = client
            .request::<starling_protocol::reply::Session>(Request::Signup(req::Signup {
                username: name.to_owned(),
                email: format!("{name}@example.com"),
                password: "correct horse".to_owned(),
            }))
            .await
            .expect("signup");
        (client, session)
    }

    /// POSTs JSON and returns the status and the JSON body (Null when empty).
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        http(self.addr, "POST", path, &[], body.to_string().as_bytes()).await
    }
}

impl Drop for TestServer {
    /// A server not stopped explicitly ends with the test's runtime, like a killed process
    /// (no graceful shutdown, no final snapshot).
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            std::mem::forget(stop);
        }
    }
}

/// A minimal HTTP/1.1 client over a raw socket: one request, `Connection: close`.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Value) {
    let (status, _, body) = http_raw(addr, method, path, headers, body).await;
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()))
    };
    (status, json)
}

/// Like [`http`], returning the status, the response head and the raw body.
pub async fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write head");
    // A server may answer (413) before reading the whole body and close; ignore that.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .ok();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, head, raw[split + 4..].to_vec())
}

/// What a test client got instead of a reply.
#[derive(Debug)]
pub enum Failure {
    Error(ErrorFrame),
    Closed(Option<u16>),
}

impl Failure {
    pub fn code(&self) -> Option<starling_protocol::ErrorCode> {
        match self {
            Failure::Error(e) => Some(e.code),
            Failure::Closed(_) => None,
        }
    }
}

/// A typed WebSocket client: numbered requests, replies matched by id, events buffered.
pub struct Client {
    pub ws: WebSocketStream<TcpStream>,
    pub codec: Codec,
    next_id: u64,
    pub events: VecDeque<EventFrame>,
    /// The close code the server sent, once it has.
    pub closed: Option<Option<u16>>,
    /// The subprotocol the server chose.
    pub subprotocol: Option<String>,
}

impl Client {
    pub async fn connect(addr: SocketAddr, codec: Codec, subprotocol: Option<&str>) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let mut request = format!("ws://{addr}/ws")
            .into_client_request()
            .expect("request");
        if let Some(p) = subprotocol {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_str(p).expect("header"),
            );
        }
        let (ws, response) = tokio_tungstenite::client_async(request, stream)
            .await
            .expect("websocket handshake");
        let subprotocol = response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Client {
            ws,
            codec,
            next_id: 1,
            events: VecDeque::new(),
            closed: None,
            subprotocol,
        }
    }

    /// A socket signed in with `token`.
    pub async fn authed(addr: SocketAddr, codec: Codec, token: &str) -> Client {
        let mut client = Client::connect(addr, codec, None).await;
        client
            .request::<starling_protocol::reply::Session>(Request::Auth(req::Auth {
                token: token.to_owned(),
            }))
            .await
            .expect("auth");
        client
    }

    /// Sends a request in this client's codec and returns the id it carries.
    pub async fn send(&mut self, request: Request) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let frame = ClientFrame {
            id: Some(id),
            request,
        };
        let bytes = encode(self.codec, &frame).expect("encode");
        self.send_bytes(self.codec, bytes).await;
        id
    }

    pub async fn send_bytes(&mut self, codec: Codec, bytes: Vec<u8>) {
        let message = match codec {
            Codec::Json => Message::Text(String::from_utf8(bytes).expect("utf8").into()),
            Codec::MsgPack => Message::Binary(bytes.into()),
        };
        self.ws.send(message).await.expect("send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Sends a request and waits for its reply, decoded as `T`.
    pub async fn request<T: DeserializeOwned>(&mut self, request: Request) -> Result<T, Failure> {
        let id = self.send(request).await;
        self.reply(id).await
    }

    /// Waits for the reply with `id`, buffering events that come first.
    pub async fn reply<T: DeserializeOwned>(&mut self, id: u64) -> Result<T, Failure> {
        loop {
            match self.next_frame().await {
                Some((
                    _,
                    ServerFrame::Result {
                        id: Some(got),
                        data,
                    },
                )) if got == id => {
                    return Ok(
                        serde_json::from_value(data).expect("reply data of the expected shape")
                    );
                }
                Some((_, ServerFrame::Error(e))) if e.id == Some(id) => {
                    return Err(Failure::Error(e))
                }
                Some((_, ServerFrame::Event(event))) => self.events.push_back(event),
                Some((_, other)) => {
                    panic!("unexpected frame while waiting for reply {id}: {other:?}")
                }
                None => return Err(Failure::Closed(self.closed.flatten())),
            }
        }
    }

    /// The next server frame with the codec it came in, or `None` when the socket closed.
    pub async fn next_frame(&mut self) -> Option<(Codec, ServerFrame<Value>)> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("the server answers in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Some((
                        Codec::Json,
                        decode(Codec::Json, text.as_bytes()).expect("valid JSON frame"),
                    ));
                }
                Some(Ok(Message::Binary(bytes))) => {
                    return Some((
                        Codec::MsgPack,
                        decode(Codec::MsgPack, &bytes).expect("valid MessagePack frame"),
                    ));
                }
                Some(Ok(Message::Close(frame))) => {
                    self.closed = Some(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    if self.closed.is_none() {
                        self.closed = Some(None);
                    }
                    return None;
                }
            }
        }
    }

    /// Reads until the server closes and returns its close code.
    pub async fn close_code(&mut self) -> Option<u16> {
        while let Some((_, frame)) = self.next_frame().await {
            if let ServerFrame::Event(e) = frame {
                self.events.push_back(e);
            }
        }
        self.closed.flatten()
    }
}

impl Client {
    pub async fn ws_send_binary(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(Message::Binary(bytes.into()))
            .await
            .expect("send");
    }
}

impl Client {
    /// Sends a request that must succeed.
    pub async fn ok<T: DeserializeOwned>(&mut self, request: Request) -> T {
        let kind = request.kind();
        match self.request(request).await {
            Ok(v) => v,
            Err(f) => panic!("{kind} failed: {f:?}"),
        }
    }

    /// Sends a request that must fail, and returns its error code.
    pub async fn err(&mut self, request: Request) -> starling_protocol::ErrorCode {
        let kind = request.kind();
        match self.request::<Value>(request).await {
            Ok(v) => panic!("{kind} unexpectedly succeeded: {v}"),
            Err(Failure::Error(e)) => e.code,
            Err(f) => panic!("{kind}: {f:?}"),
        }
    }

    pub async fn post(&mut self, text: &str) -> starling_protocol::Tweet {
        self.post_with(req::Post {
            text: text.to_owned(),
            ..Default::default()
        })
        .await
    }

    pub async fn post_with(&mut self, post: req::Post) -> starling_protocol::Tweet {
        self.ok::<starling_protocol::reply::TweetData>(Request::Post(post))
            .await
            .tweet
    }

    pub async fn follow(&mut self, username: &str) -> starling_protocol::reply::Follow {
        self.ok(Request::Follow(req::Username {
            username: username.to_owned(),
        }))
        .await
    }

    pub async fn feed(
        &mut self,
        feed: &str,
        before: Option<u64>,
        limit: Option<u64>,
    ) -> starling_protocol::reply::Tweets {
        self.ok(Request::Timeline(req::Timeline {
            feed: feed.to_owned(),
            before,
            limit,
        }))
        .await
    }

    /// The ids of a feed's first page.
    pub async fn feed_ids(&mut self, feed: &str) -> Vec<u64> {
        self.feed(feed, None, Some(100))
            .await
            .items
            .iter()
            .map(|t| t.id)
            .collect()
    }
}

impl Client {
    /// Subscribes to a stream.
    pub async fn subscribe(
        &mut self,
        stream: &str,
        since: Option<u64>,
    ) -> starling_protocol::reply::Subscribed {
        self.ok(Request::Subscribe(req::Subscribe {
            stream: stream.to_owned(),
            since,
        }))
        .await
    }

    /// The next pushed event (buffered ones first).
    pub async fn next_event(&mut self) -> EventFrame {
        if let Some(e) = self.events.pop_front() {
            return e;
        }
        match self.next_frame().await {
            Some((_, ServerFrame::Event(e))) => e,
            Some((_, other)) => panic!("expected an event, got {other:?}"),
            None => panic!(
                "socket closed ({:?}) while waiting for an event",
                self.closed
            ),
        }
    }

    /// Events until (and including) the first for which `last` holds.
    pub async fn events_until(&mut self, last: impl Fn(&EventFrame) -> bool) -> Vec<EventFrame> {
        let mut out = Vec::new();
        loop {
            let e = self.next_event().await;
            let done = last(&e);
            out.push(e);
            if done {
                return out;
            }
        }
    }
}

/// The tweet id of a `tweet` event, if it is one.
pub fn tweet_id(e: &EventFrame) -> Option<u64> {
    match &e.event {
        starling_protocol::Event::Tweet(t) => Some(t.id),
        _ => None,
    }
}

impl Client {
    /// A client whose socket has a tiny receive buffer, so the server's writes back up fast.
    pub async fn connect_small(addr: SocketAddr, codec: Codec) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("rcvbuf");
        let stream = socket.connect(addr).await.expect("connect");
        let request = format!("ws://{addr}/ws")
            .into_client_request()
            .expect("request");
        let (ws, _) = tokio_tungstenite::client_async(request, stream)
            .await
            .expect("handshake");
        Client {
            ws,
            codec,
            next_id: 1,
            events: VecDeque::new(),
            closed: None,
            subprotocol: None,
        }
    }
}

/// `{tweet_id}` request fields.
pub fn tid(id: u64) -> req::TweetId {
    req::TweetId { tweet_id: id }
}
