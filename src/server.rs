//! The accept loop, the HTTP routes (hyper) and the upgrade to WebSocket, all on one port.

use crate::app::App;
use crate::error::ApiError;
use crate::handlers::{accounts, Viewer};
use crate::media;
use crate::ratelimit::Class;
use crate::session;
use crate::web;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use starling_protocol::{limits, reply, req, Codec, ErrorCode, HttpError, HttpErrorBody};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// The largest JSON body the HTTP API reads; larger ones get 413.
pub const API_BODY_BYTES: usize = 64 * 1024;

type Body = Full<Bytes>;

/// Accepts connections until `shutdown` flips. Each connection task holds a clone of `alive`,
/// so the caller knows when the last one has finished.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    set_send_buffer(&stream, app.config.socket_send_buffer);
                    tokio::spawn(connection(app.clone(), stream, peer, alive.clone()));
                }
                Err(e) => {
                    // Out of file descriptors, usually: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Bounds the kernel's send buffer of a socket (0 leaves the system default).
fn set_send_buffer(stream: &TcpStream, bytes: usize) {
    use std::os::fd::AsRawFd;
    if bytes == 0 {
        return;
    }
    let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live c_int, on a socket
    // this stream owns.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

async fn connection(app: Arc<App>, stream: TcpStream, peer: SocketAddr, alive: mpsc::Sender<()>) {
    let mut shutdown = app.shutdown.clone();
    let service = {
        let alive = alive.clone();
        let app = app.clone();
        service_fn(move |req| route(app.clone(), req, peer, alive.clone()))
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "http connection ended with an error");
            }
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    drop(alive);
}

async fn route(
    app: Arc<App>,
    req: Request<Incoming>,
    peer: SocketAddr,
    alive: mpsc::Sender<()>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let origin = req.headers().get(header::ORIGIN).cloned();
    let response = match (req.method(), path.as_str()) {
        (&Method::OPTIONS, p) if web::is_api(p) => {
            web::preflight(&app.config.cors_origins, origin.as_ref())
        }
        (&Method::GET | &Method::HEAD, p) if web::is_asset(p) => {
            web::asset(req.method(), p, req.headers())
        }
        (&Method::GET, "/health") => json(StatusCode::OK, &serde_json::json!({"status": "ok"})),
        (&Method::GET, "/metrics") => {
            let mut response = Response::new(Body::new(Bytes::from(crate::metrics::render(&app))));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        (&Method::GET, "/ws") => upgrade(app.clone(), req, peer, alive),
        (&Method::POST, "/api/signup") => match limited(&app, peer, req).await {
            Ok(body) => reply(StatusCode::CREATED, accounts::signup(&app, body).await),
            Err(e) => error(e),
        },
        (&Method::POST, "/api/login") => match limited(&app, peer, req).await {
            Ok(body) => reply(StatusCode::OK, accounts::login(&app, body).await),
            Err(e) => error(e),
        },
        (&Method::POST, "/api/refresh") => {
            match limited::<req::RefreshToken>(&app, peer, req).await {
                Ok(body) => reply(
                    StatusCode::OK,
                    accounts::refresh(&app, &body.refresh_token).await,
                ),
                Err(e) => error(e),
            }
        }
        (&Method::POST, "/api/logout") => match limited::<req::RefreshToken>(&app, peer, req).await
        {
            Ok(body) => match accounts::logout(&app, &body.refresh_token).await {
                Ok(()) => empty(StatusCode::NO_CONTENT),
                Err(e) => error(e),
            },
            Err(e) => error(e),
        },
        (&Method::POST, "/api/guest") => json(StatusCode::OK, &accounts::guest(&app)),
        (&Method::POST, "/api/media") => upload(&app, req).await,
        (&Method::GET | &Method::HEAD, p) if p.starts_with("/media/") => {
            // Serve nothing a crash could take back: wait for the log to cover what is
            // visible now (at most one group commit, and only while writes are in flight).
            match app.store.wait_durable(app.store.appended()).await {
                Ok(()) => media(&app, &req),
                Err(e) => error(e.into()),
            }
        }
        (
            _,
            "/health" | "/ws" | "/metrics" | "/api/signup" | "/api/login" | "/api/refresh"
            | "/api/logout" | "/api/guest" | "/api/media",
        ) => error(ApiError::bad_request("method not allowed"))
            .map_status(StatusCode::METHOD_NOT_ALLOWED),
        _ => error(ApiError::not_found(format!("no route for {path}"))),
    };
    let response = web::with_cors(&app.config.cors_origins, &path, origin.as_ref(), response);
    tracing::trace!(%peer, %path, status = response.status().as_u16(), "http");
    Ok(response)
}

trait MapStatus {
    fn map_status(self, status: StatusCode) -> Self;
}

impl MapStatus for Response<Body> {
    fn map_status(mut self, status: StatusCode) -> Self {
        *self.status_mut() = status;
        self
    }
}

/// `POST /api/media`: the image as the body, a bearer token in `Authorization`.
async fn upload(app: &App, req: Request<Incoming>) -> Response<Body> {
    let result = async {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                // The scheme name is case-insensitive (RFC 9110).
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(token)
            })
            .ok_or_else(|| {
                ApiError::unauthenticated("an Authorization: Bearer token is required")
            })?;
        let identity = accounts::authenticate(app, token.trim())?;
        let viewer = Viewer {
            user_id: identity.user_id,
            conn_id: 0,
        };
        let user = viewer.user()?;
        app.limiter.check(viewer.subject(), Class::Upload)?;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > limits::MEDIA_BYTES) {
            // Refused before reading a byte of it.
            return Err(media::too_large());
        }
        let body = Limited::new(req.into_body(), limits::MEDIA_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    media::too_large()
                } else {
                    ApiError::bad_request("the body could not be read")
                }
            })?
            .to_bytes();
        let (media, committed) = media::upload(app, user, &body)?;
        app.store.wait_durable(committed.seq).await?;
        Ok(reply::MediaData { media })
    }
    .await;
    reply(StatusCode::CREATED, result)
}

/// `GET /media/<id>` (and `HEAD`): immutable bytes, cached for a year, with a strong ETag.
fn media(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let path = req.uri().path();
    let Some(id) = path
        .strip_prefix("/media/")
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return error(ApiError::not_found(format!("no media at {path}")));
    };
    let (rec, bytes) = match media::fetch(app, id) {
        Ok(Some(found)) => found,
        Ok(None) => return error(ApiError::not_found(format!("media {id} does not exist"))),
        Err(e) => return error(e),
    };
    let etag = format!("\"{}\"", rec.hash);
    let matches = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == etag || t.trim() == "*");
    let mut response = if matches {
        empty(StatusCode::NOT_MODIFIED)
    } else if req.method() == Method::HEAD {
        empty(StatusCode::OK)
    } else {
        Response::new(Body::new(Bytes::copy_from_slice(&bytes)))
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if !matches {
        if let Ok(v) = HeaderValue::from_str(&rec.content_type) {
            h.insert(header::CONTENT_TYPE, v);
        }
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    }
    response
}

/// Spends an account-endpoint token of the client's address (signup, login, refresh,
/// logout), then reads the body.
async fn limited<T: DeserializeOwned>(
    app: &App,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<T, ApiError> {
    app.limiter.check_address(peer.ip())?;
    read_json(req).await
}

/// Reads a JSON body of at most [`API_BODY_BYTES`].
async fn read_json<T: DeserializeOwned>(req: Request<Incoming>) -> Result<T, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::TooLarge,
            format!("the body is larger than {API_BODY_BYTES} bytes"),
        )
    };
    if let Some(len) = req.headers().get(header::CONTENT_LENGTH) {
        if len
            .to_str()
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
            .is_some_and(|l| l > API_BODY_BYTES)
        {
            return Err(too_large());
        }
    }
    let body = Limited::new(req.into_body(), API_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                ApiError::bad_request("the body could not be read")
            }
        })?
        .to_bytes();
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// Answers the WebSocket upgrade and hands the socket to a session.
fn upgrade(
    app: Arc<App>,
    mut req: Request<Incoming>,
    peer: SocketAddr,
    alive: mpsc::Sender<()>,
) -> Response<Body> {
    let headers = req.headers();
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !has_token(header::UPGRADE, "websocket") || !has_token(header::CONNECTION, "upgrade") {
        return error(ApiError::bad_request("GET /ws expects a WebSocket upgrade"))
            .map_status(StatusCode::UPGRADE_REQUIRED);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return error(ApiError::bad_request(
            "only WebSocket version 13 is supported",
        ));
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return error(ApiError::bad_request("Sec-WebSocket-Key is missing"));
    };
    let accept = derive_accept_key(key.as_bytes());
    let subprotocol = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(Codec::from_subprotocol);

    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(ws_config(&app)),
                )
                .await;
                session::run(app, ws, subprotocol, peer.ip()).await;
            }
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
        drop(alive);
    });

    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("an accept key is base64"),
    );
    if let Some(codec) = subprotocol {
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(codec.subprotocol()),
        );
    }
    response
}

/// Socket buffers sized for many mostly idle sockets: tungstenite's defaults keep 128 KiB of
/// read buffer per socket and buffer writes without bound.
fn ws_config(app: &App) -> WebSocketConfig {
    WebSocketConfig::default()
        // Enough for a typical request in one read (they are small); larger frames take
        // more reads. Every idle socket keeps this much, so it is kept small.
        .read_buffer_size(2 * 1024)
        // Frames are written once this much is queued, or on flush.
        .write_buffer_size(8 * 1024)
        // Past the outbox bound (plus one maximal frame) the peer is not reading.
        .max_write_buffer_size(app.config.outbox_bytes + limits::FRAME_BYTES)
        // Uploads may be this large; the session closes any other frame above FRAME_BYTES.
        .max_message_size(Some(limits::UPLOAD_FRAME_BYTES))
        .max_frame_size(Some(limits::UPLOAD_FRAME_BYTES))
}

fn reply<T: Serialize>(status: StatusCode, result: Result<T, ApiError>) -> Response<Body> {
    match result {
        Ok(value) => json(status, &value),
        Err(e) => error(e),
    }
}

fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    let bytes = serde_json::to_vec(value).expect("our bodies always encode");
    let mut response = Response::new(Body::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A response with no body.
pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = status;
    response
}

fn error(e: ApiError) -> Response<Body> {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = json(
        status,
        &HttpError {
            error: HttpErrorBody {
                code: e.code,
                message: e.message,
                retry_after_ms: e.retry_after_ms,
            },
        },
    );
    if let Some(ms) = e.retry_after_ms {
        let secs = ms.div_ceil(1000).to_string();
        if let Ok(v) = HeaderValue::from_str(&secs) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}
