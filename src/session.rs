//! One socket's life: the authentication deadline, then read → decode → dispatch → reply,
//! pings, token expiry and shutdown. The session task is the socket's only writer.
//!
//! Replies go out in request order. In `sync` durability a reply is held until the log is
//! on disk up to everything the reply could show (the last sequence number appended when it
//! was made), so a client never sees a write that a crash could take back; requests behind
//! it keep being read and handled meanwhile, which is what lets one socket pipeline writes
//! into one group commit.

use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::handlers::{self, accounts, Viewer};
use crate::hub::{self, StreamKey};
use crate::outbox::Outbox;
use crate::ratelimit::Class;
use crate::store::Seq;
use futures::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use starling_protocol::{
    close, decode_request, encode, limits, reply, req, Codec, ErrorCode, ErrorFrame, Reply,
    Request, ServerFrame,
};
use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

pub type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// How long one write to a peer may take before the peer counts as gone: a client that
/// stops reading while replies are owed would otherwise pin its session forever.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the server waits for its close frame to be written to a dead or slow peer: long
/// enough for a slow reader that catches up to learn why it was closed (4013).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a session ends.
enum End {
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
    /// The peer went away (or finished the close handshake).
    Gone,
}

/// A reply that waits for the log to be durable up to `seq`.
struct Held {
    seq: Seq,
    message: Message,
}

struct Session {
    app: Arc<App>,
    conn_id: u64,
    ws: Socket,
    /// The codec of pushes: the subprotocol's, else the first frame's.
    push_codec: Option<Codec>,
    identity: Identity,
    held: VecDeque<Held>,
    durable: watch::Receiver<Seq>,
    last_heard: Instant,
    peer: IpAddr,
    refusals: Refusals,
    /// Pushed events, once the socket is authenticated.
    outbox: Option<Arc<Outbox>>,
    subscriptions: HashSet<StreamKey>,
}

/// Requests refused for rate in the current minute.
struct Refusals {
    window_start: Instant,
    count: u32,
}

impl Refusals {
    /// Counts one refusal; true when the socket has had too many this minute.
    fn refuse(&mut self, max_per_minute: u32) -> bool {
        if self.window_start.elapsed() >= Duration::from_secs(60) {
            self.window_start = Instant::now();
            self.count = 0;
        }
        self.count += 1;
        self.count >= max_per_minute
    }
}

/// Runs a freshly upgraded socket to its end.
pub async fn run(app: Arc<App>, ws: Socket, subprotocol: Option<Codec>, peer: IpAddr) {
    let conn_id = app.next_conn_id();
    let durable = app.store.durable();
    let mut session = Session {
        app,
        conn_id,
        ws,
        push_codec: subprotocol,
        identity: Identity {
            user_id: None,
            expires_at: 0,
        },
        held: VecDeque::new(),
        durable,
        last_heard: Instant::now(),
        peer,
        refusals: Refusals {
            window_start: Instant::now(),
            count: 0,
        },
        outbox: None,
        subscriptions: HashSet::new(),
    };
    session
        .app
        .metrics
        .sockets_open
        .fetch_add(1, Ordering::Relaxed);
    let end = session.drive().await;
    session
        .app
        .metrics
        .sockets_open
        .fetch_sub(1, Ordering::Relaxed);
    if session.outbox.is_some() {
        session
            .app
            .metrics
            .sockets_authenticated
            .fetch_sub(1, Ordering::Relaxed);
    }
    for key in session.subscriptions.drain() {
        session.app.hub.unsubscribe(&key, conn_id);
    }
    if let End::Close(code, reason) = end {
        session.app.metrics.closed(code);
        tracing::debug!(conn_id, user_id = ?session.identity.user_id, code, reason, "closing socket");
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, session.ws.close(Some(frame))).await;
    }
}

impl Session {
    async fn drive(&mut self) -> End {
        // Boxed, here and for each message below: those futures are large and short-lived,
        // and inline they would make every idle socket's task as large as the largest.
        if let Some(end) = Box::pin(self.authenticate_first()).await {
            return end;
        }
        let outbox = Arc::new(Outbox::new(
            self.conn_id,
            self.push_codec.unwrap_or(Codec::Json),
            self.app.config.outbox_bytes,
        ));
        self.outbox = Some(outbox.clone());
        self.app
            .metrics
            .sockets_authenticated
            .fetch_add(1, Ordering::Relaxed);
        let interval = self.app.config.ping_interval();
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        let expiry = tokio::time::sleep_until(self.expiry_instant());
        tokio::pin!(expiry);
        let mut shutdown = self.app.shutdown.clone();
        loop {
            let holding = !self.held.is_empty();
            tokio::select! {
                frame = self.ws.next() => match frame {
                    None => return End::Gone,
                    Some(Err(e)) => return end_for(e),
                    Some(Ok(message)) => {
                        self.last_heard = Instant::now();
                        let before = self.identity.expires_at;
                        if let Some(end) = Box::pin(self.on_message(message)).await {
                            return end;
                        }
                        if self.identity.expires_at != before {
                            expiry.as_mut().reset(self.expiry_instant());
                        }
                    }
                },
                changed = self.durable.changed(), if holding => {
                    if changed.is_err() {
                        tracing::error!(conn_id = self.conn_id, user_id = ?self.identity.user_id,
                            "storage stopped; closing the socket");
                        return End::Close(1011, "storage failure");
                    }
                    if let Err(end) = self.release().await {
                        return end;
                    }
                }
                _ = ping.tick() => {
                    if self.last_heard.elapsed() > interval * 2 {
                        return End::Close(close::GOING_AWAY, "idle: no frame for two ping intervals");
                    }
                    let ping = self.ws.send(Message::Ping(Default::default()));
                    if !matches!(tokio::time::timeout(WRITE_TIMEOUT, ping).await, Ok(Ok(()))) {
                        return End::Gone;
                    }
                }
                _ = outbox.ready.notified() => {
                    if outbox.overflowed() {
                        return End::Close(close::SLOW_CONSUMER, "slow consumer: outbound queue overflowed");
                    }
                    let frames = outbox.drain();
                    if !frames.is_empty() {
                        // A peer that does not read blocks this write; the publisher keeps
                        // filling the outbox meanwhile, and its overflow ends the wait.
                        let ws = &mut self.ws;
                        let metrics = &self.app.metrics;
                        let codec = outbox.codec;
                        let write = async move {
                            for frame in frames {
                                metrics.frame_out(codec, frame.len());
                                ws.feed(frame).await?;
                            }
                            ws.flush().await
                        };
                        tokio::select! {
                            written = write => if written.is_err() {
                                return End::Gone;
                            },
                            _ = outbox.overflowed_signal() => {
                                return End::Close(close::SLOW_CONSUMER, "slow consumer: outbound queue overflowed");
                            }
                        }
                    }
                }
                _ = &mut expiry => return End::Close(close::TOKEN_EXPIRED, "token expired"),
                _ = shutdown.changed() => return End::Close(close::GOING_AWAY, "server shutting down"),
            }
        }
    }

    /// Waits for the first frame, which must authenticate the socket.
    async fn authenticate_first(&mut self) -> Option<End> {
        let deadline = tokio::time::sleep(self.app.config.auth_timeout());
        tokio::pin!(deadline);
        let mut shutdown = self.app.shutdown.clone();
        loop {
            let message = tokio::select! {
                _ = &mut deadline => return Some(End::Close(close::AUTH_TIMEOUT, "auth timeout")),
                _ = shutdown.changed() => return Some(End::Close(close::GOING_AWAY, "server shutting down")),
                frame = self.ws.next() => match frame {
                    None => return Some(End::Gone),
                    Some(Err(e)) => return Some(end_for(e)),
                    Some(Ok(message)) => message,
                },
            };
            let (codec, bytes) = match &message {
                Message::Text(text) => (Codec::Json, text.as_bytes()),
                Message::Binary(bytes) => (Codec::MsgPack, &bytes[..]),
                // Control frames are answered by tungstenite; the deadline still runs.
                _ => continue,
            };
            self.push_codec.get_or_insert(codec);
            self.app.metrics.frame_in(codec, bytes.len());
            if bytes.len() > limits::FRAME_BYTES {
                return Some(End::Close(close::TOO_BIG, "frame too big"));
            }
            let (id, result) = match decode_request(codec, bytes) {
                Err(bad) => (bad.id, Err(ApiError::bad_request(bad.message))),
                Ok(frame) => match frame.request {
                    request @ (Request::Auth(_) | Request::Signup(_) | Request::Login(_)) => {
                        (frame.id, self.sign_in(request).await)
                    }
                    other => (
                        frame.id,
                        Err(ApiError::unauthenticated(format!(
                            "the first frame must be auth, signup or login, not {}",
                            other.kind()
                        ))),
                    ),
                },
            };
            return match result {
                Ok(data) => {
                    let seq = self.reply_seq();
                    self.reply(codec, seq, result_frame(id, data)).await.err()
                }
                Err(error) => {
                    let code = if error.code == ErrorCode::TokenExpired {
                        close::TOKEN_EXPIRED
                    } else {
                        close::AUTH_REQUIRED
                    };
                    if self.reply(codec, 0, error_frame(id, error)).await.is_err() {
                        return Some(End::Gone);
                    }
                    Some(End::Close(code, "authentication required"))
                }
            };
        }
    }

    async fn on_message(&mut self, message: Message) -> Option<End> {
        let (codec, bytes) = match &message {
            Message::Text(text) => (Codec::Json, text.as_bytes()),
            Message::Binary(bytes) => (Codec::MsgPack, &bytes[..]),
            // Pings are answered by tungstenite; a close is answered there too, and the
            // stream then ends.
            _ => return None,
        };
        self.app.metrics.frame_in(codec, bytes.len());
        let frame = match decode_request(codec, bytes) {
            // Only uploads may be larger than the frame limit.
            Ok(frame)
                if bytes.len() > limits::FRAME_BYTES
                    && !matches!(frame.request, Request::Upload(_)) =>
            {
                return Some(End::Close(close::TOO_BIG, "frame too big"));
            }
            Err(_) if bytes.len() > limits::FRAME_BYTES => {
                return Some(End::Close(close::TOO_BIG, "frame too big"));
            }
            Ok(frame) => frame,
            Err(bad) => {
                let error = ApiError::bad_request(bad.message);
                return self.reply(codec, 0, error_frame(bad.id, error)).await.err();
            }
        };
        let id = frame.id;
        let kind = frame.request.kind();
        let result = match frame.request {
            request @ (Request::Auth(_) | Request::Signup(_) | Request::Login(_)) => {
                self.sign_in(request).await
            }
            Request::Subscribe(s) => {
                return self.subscribe(codec, id, s).await;
            }
            Request::Unsubscribe(u) => self.unsubscribe(&u.stream),
            Request::Ping(_) => {
                let pong = reply::Pong {
                    now: crate::auth::now_ms(),
                };
                self.app.metrics.request("ping", "ok");
                // Nothing from the state: no need to wait for the log.
                return self
                    .reply(codec, 0, result_frame(id, Reply::Pong(pong)))
                    .await
                    .err();
            }
            request => handlers::handle(&self.app, self.viewer(), request),
        };
        let seq = self.reply_seq();
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.code.as_str(),
        };
        self.app.metrics.request(kind, outcome);
        let refused_for_rate = matches!(&result, Err(e) if e.code == ErrorCode::RateLimited);
        let frame = match result {
            Ok(data) => result_frame(id, data),
            Err(error) => error_frame(id, error),
        };
        if let Err(end) = self.reply(codec, seq, frame).await {
            return Some(end);
        }
        if refused_for_rate
            && self
                .refusals
                .refuse(self.app.config.max_refusals_per_minute)
        {
            // Let the refusals already queued reach the client before the close.
            let _ = self.release_all().await;
            return Some(End::Close(
                close::RATE_LIMITED,
                "too many requests refused for rate",
            ));
        }
        None
    }

    /// `subscribe`: registers with the hub (which first queues what was missed after
    /// `since`) and answers before any event of the stream goes out.
    async fn subscribe(&mut self, codec: Codec, id: Option<u64>, s: req::Subscribe) -> Option<End> {
        let result = self.prepare_subscribe(&s.stream);
        let (key, name) = match result {
            Ok(resolved) => resolved,
            Err(error) => {
                self.app.metrics.request("subscribe", error.code.as_str());
                let refused = error.code == ErrorCode::RateLimited;
                let end = self.reply(codec, 0, error_frame(id, error)).await.err();
                if end.is_none()
                    && refused
                    && self
                        .refusals
                        .refuse(self.app.config.max_refusals_per_minute)
                {
                    return Some(End::Close(
                        close::RATE_LIMITED,
                        "too many requests refused for rate",
                    ));
                }
                return end;
            }
        };
        // Replies held for durability go first, so this reply precedes the stream's events.
        if let Err(end) = self.release_all().await {
            return Some(end);
        }
        let outbox = self
            .outbox
            .clone()
            .expect("the outbox exists once authenticated");
        let sub = self.app.hub.subscribe(key.clone(), &name, &outbox, s.since);
        self.subscriptions.insert(key);
        self.app.metrics.request("subscribe", "ok");
        let data = Reply::Subscribed(reply::Subscribed {
            stream: sub.stream,
            cursor: sub.cursor,
            recovered: sub.recovered,
        });
        self.reply(codec, 0, result_frame(id, data)).await.err()
    }

    fn prepare_subscribe(&mut self, stream: &str) -> Result<(StreamKey, String), ApiError> {
        let viewer = self.viewer();
        self.app.limiter.check(viewer.subject(), Class::Subscribe)?;
        let (key, name) = hub::resolve(&self.app, viewer.user_id, stream, true)?;
        if !self.subscriptions.contains(&key)
            && self.subscriptions.len() >= self.app.config.max_subscriptions
        {
            return Err(ApiError::bad_request(format!(
                "a socket may hold at most {} subscriptions",
                self.app.config.max_subscriptions
            )));
        }
        Ok((key, name))
    }

    fn unsubscribe(&mut self, stream: &str) -> Result<Reply, ApiError> {
        let viewer = self.viewer();
        self.app.limiter.check(viewer.subject(), Class::Subscribe)?;
        let (key, name) = hub::resolve(&self.app, viewer.user_id, stream, false)?;
        if self.subscriptions.remove(&key) {
            self.app.hub.unsubscribe(&key, self.conn_id);
        }
        Ok(Reply::Stream(reply::Stream { stream: name }))
    }

    fn viewer(&self) -> Viewer {
        Viewer {
            user_id: self.identity.user_id,
            conn_id: self.conn_id,
        }
    }

    /// Sends every held reply once the log covers it (before a deliberate close).
    async fn release_all(&mut self) -> Result<(), End> {
        while let Some(last) = self.held.back().map(|h| h.seq) {
            if self.durable.wait_for(|d| *d >= last).await.is_err() {
                return Err(End::Gone);
            }
            self.release().await?;
        }
        Ok(())
    }

    /// `auth`, `signup` or `login`: sets (or renews) who this socket is. A socket may renew
    /// its user or turn from guest to user, never switch users.
    async fn sign_in(&mut self, request: Request) -> Result<Reply, ApiError> {
        let current = self.identity.user_id;
        let (identity, tokens) = match request {
            Request::Auth(auth) => (accounts::authenticate(&self.app, &auth.token)?, None),
            Request::Signup(body) => {
                if current.is_some() {
                    return Err(ApiError::forbidden("this socket is already signed in"));
                }
                self.app.limiter.check_address(self.peer)?;
                let pair = accounts::signup(&self.app, body).await?;
                (self.identity_of(&pair), Some(pair))
            }
            Request::Login(body) => {
                self.app.limiter.check_address(self.peer)?;
                // Refuse a switch before spending a hash and a refresh token on it.
                if let Some(me) = current {
                    let named = self
                        .app
                        .state
                        .users
                        .find_login(body.login.trim())
                        .map(|u| u.id);
                    if named != Some(me) {
                        return Err(ApiError::forbidden(
                            "a socket cannot switch to another user; open a new one",
                        ));
                    }
                }
                let pair = accounts::login(&self.app, body).await?;
                (self.identity_of(&pair), Some(pair))
            }
            _ => return Err(ApiError::bad_request("not a sign-in request")),
        };
        if current.is_some() && identity.user_id != current {
            return Err(ApiError::forbidden(
                "a socket cannot switch to another user; open a new one",
            ));
        }
        self.identity = identity;
        let user = match identity.user_id {
            Some(id) => Some(
                self.app
                    .state
                    .profile(id)
                    .ok_or_else(|| ApiError::unauthenticated("the account no longer exists"))?,
            ),
            None => None,
        };
        let (access_token, refresh_token) = match tokens {
            Some(pair) => (Some(pair.access_token), Some(pair.refresh_token)),
            None => (None, None),
        };
        Ok(Reply::Session(reply::Session {
            user,
            access_token,
            refresh_token,
            expires_at: identity.expires_at,
            limits: Some(self.app.limits()),
        }))
    }

    fn identity_of(&self, pair: &starling_protocol::TokenPair) -> Identity {
        Identity {
            user_id: Some(pair.user.id),
            expires_at: pair.expires_at,
        }
    }

    /// The sequence number a reply made now must wait for.
    fn reply_seq(&self) -> Seq {
        if self.app.store.acks_wait_for_flush() {
            self.app.store.appended()
        } else {
            0
        }
    }

    /// Sends a reply, or holds it (and everything after it) until the log covers `seq`.
    async fn reply(&mut self, codec: Codec, seq: Seq, frame: ServerFrame) -> Result<(), End> {
        let message = to_message(codec, &frame);
        self.app.metrics.frame_out(codec, message.len());
        if self.held.is_empty() && seq <= *self.durable.borrow() {
            return match tokio::time::timeout(WRITE_TIMEOUT, self.ws.send(message)).await {
                Ok(Ok(())) => Ok(()),
                _ => Err(End::Gone),
            };
        }
        self.held.push_back(Held { seq, message });
        Ok(())
    }

    /// Sends every held reply the log now covers, in order, in one flush.
    async fn release(&mut self) -> Result<(), End> {
        let durable = *self.durable.borrow_and_update();
        let mut sent = false;
        while self.held.front().is_some_and(|h| h.seq <= durable) {
            let held = self.held.pop_front().expect("front was just checked");
            self.ws.feed(held.message).await.map_err(|_| End::Gone)?;
            sent = true;
        }
        if sent
            && !matches!(
                tokio::time::timeout(WRITE_TIMEOUT, self.ws.flush()).await,
                Ok(Ok(()))
            )
        {
            return Err(End::Gone);
        }
        Ok(())
    }

    fn expiry_instant(&self) -> tokio::time::Instant {
        let left = self
            .identity
            .expires_at
            .saturating_sub(crate::auth::now_ms());
        tokio::time::Instant::now() + Duration::from_millis(left)
    }
}

fn end_for(error: tungstenite::Error) -> End {
    match error {
        tungstenite::Error::Capacity(_) => End::Close(close::TOO_BIG, "frame too big"),
        tungstenite::Error::Utf8(_) => End::Close(1007, "text frame is not UTF-8"),
        tungstenite::Error::Protocol(_) => End::Close(1002, "protocol error"),
        _ => End::Gone,
    }
}

fn result_frame(id: Option<u64>, data: Reply) -> ServerFrame {
    ServerFrame::Result { id, data }
}

fn error_frame(id: Option<u64>, error: ApiError) -> ServerFrame {
    ServerFrame::Error(ErrorFrame {
        id,
        code: error.code,
        message: error.message,
        retry_after_ms: error.retry_after_ms,
    })
}

/// Encodes a frame in a codec, as the WebSocket message that carries that codec.
pub fn to_message(codec: Codec, frame: &ServerFrame) -> Message {
    let bytes = encode(codec, frame).expect("server frames always encode");
    match codec {
        Codec::Json => Message::Text(
            String::from_utf8(bytes)
                .expect("serde_json writes UTF-8")
                .into(),
        ),
        Codec::MsgPack => Message::Binary(bytes.into()),
    }
}
