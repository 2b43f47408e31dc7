//! The browser side of the HTTP port: the web client's static files (compiled into the
//! binary from `web/`) and CORS for the HTTP API. Never touches state or sockets.
//!
//! Static files are public and carry `Access-Control-Allow-Origin: *`, so the widget can
//! load `/client.js` as a module from any page. The `/api/*` routes answer only the origins
//! in `--cors-origins` (every origin with `*`, the default): preflight `OPTIONS` is answered
//! here, and [`with_cors`] adds the headers to every API response.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

type Body = Full<Bytes>;

/// One file of the web client.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Every file the web client is made of, by the path it is served at.
const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("../web/index.html"),
    },
    Asset {
        path: "/index.html",
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("../web/index.html"),
    },
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../web/app.js"),
    },
    Asset {
        path: "/client.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../web/client.js"),
    },
    Asset {
        path: "/widget.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../web/widget.js"),
    },
    Asset {
        path: "/style.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../web/style.css"),
    },
];

/// The page's Content-Security-Policy: only this origin's scripts, styles and sockets;
/// images from here, from `blob:` (previews of images about to be uploaded) and `data:`.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob: data:; connect-src 'self' ws: wss:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Methods the API answers, for preflight.
const ALLOW_METHODS: &str = "GET, POST, OPTIONS";
/// Request headers a cross-origin API call may carry.
const ALLOW_HEADERS: &str = "Authorization, Content-Type";
/// How long a browser may cache a preflight answer, in seconds (ten minutes: long enough to
/// spare a round trip per request, short enough that a configuration change takes hold).
const PREFLIGHT_MAX_AGE: &str = "600";

/// Whether `path` is one of the web client's files.
pub fn is_asset(path: &str) -> bool {
    ASSETS.iter().any(|a| a.path == path)
}

/// `GET`/`HEAD` of a web client file: its bytes with a strong ETag; `If-None-Match` with
/// that ETag answers 304. Browsers revalidate every time (`no-cache`), so a new binary's
/// files take effect at once. Unknown paths are 404.
pub fn asset(method: &Method, path: &str, headers: &HeaderMap) -> Response<Body> {
    let Some((index, asset)) = ASSETS.iter().enumerate().find(|(_, a)| a.path == path) else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    let etag = &etags()[index];
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == etag || t.trim() == "*");
    let mut response = if matches {
        crate::server::empty(StatusCode::NOT_MODIFIED)
    } else if method == Method::HEAD {
        crate::server::empty(StatusCode::OK)
    } else {
        Response::new(Body::new(Bytes::from_static(asset.bytes)))
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    if asset.content_type.starts_with("text/html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if !matches {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(asset.bytes.len()));
    }
    response
}

/// The quoted SHA-256 of each asset, computed once.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = Sha256::digest(a.bytes);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    })
}

/// The origins allowed to call the HTTP API from a browser (`--cors-origins`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// `*`: every origin.
    Any,
    /// Exactly these origins (`scheme://host[:port]`, lower-cased).
    List(Vec<String>),
}

impl CorsOrigins {
    /// Whether a request from `origin` may read the API's answers.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            CorsOrigins::Any => true,
            CorsOrigins::List(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if allowed.
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match (self, origin) {
            (CorsOrigins::Any, _) => Some(HeaderValue::from_static("*")),
            (CorsOrigins::List(_), Some(origin)) => {
                let text = origin.to_str().ok()?;
                self.allows(text).then(|| origin.clone())
            }
            (CorsOrigins::List(_), None) => None,
        }
    }
}

impl FromStr for CorsOrigins {
    type Err = String;

    /// A comma-separated list of origins, or `*` for any. Each origin is
    /// `http(s)://host[:port]`, without a path; a trailing `/` is dropped.
    fn from_str(s: &str) -> Result<CorsOrigins, String> {
        let mut list = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "*" {
                return Ok(CorsOrigins::Any);
            }
            let origin = item.strip_suffix('/').unwrap_or(item).to_ascii_lowercase();
            let host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .ok_or_else(|| {
                    format!("{item:?} is not an origin: expected http(s)://host[:port]")
                })?;
            if host.is_empty()
                || host.contains(['/', '?', '#', '@', ' '])
                || HeaderValue::from_str(&origin).is_err()
            {
                return Err(format!(
                    "{item:?} is not an origin: expected http(s)://host[:port], without a path"
                ));
            }
            list.push(origin);
        }
        if list.is_empty() {
            return Err("expected `*` or a comma-separated list of origins".into());
        }
        Ok(CorsOrigins::List(list))
    }
}

impl fmt::Display for CorsOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorsOrigins::Any => f.write_str("*"),
            CorsOrigins::List(list) => f.write_str(&list.join(",")),
        }
    }
}

/// Whether a path belongs to the HTTP API (the routes CORS applies to).
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Answers a preflight `OPTIONS` for an API path: 204 with the allowed methods and headers
/// for an allowed origin, 403 `forbidden` for another one.
pub fn preflight(origins: &CorsOrigins, origin: Option<&HeaderValue>) -> Response<Body> {
    let Some(allow) = origins.allow_origin(origin) else {
        let mut response = plain(
            StatusCode::FORBIDDEN,
            "{\"error\":{\"code\":\"forbidden\",\"message\":\"this origin may not call the API\"}}",
        );
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
        return response;
    };
    let mut response = crate::server::empty(StatusCode::NO_CONTENT);
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// Adds the CORS headers to the response of an API route (other routes pass unchanged):
/// `Access-Control-Allow-Origin` when the request's origin is allowed, `Vary: Origin`
/// always, and `Retry-After` exposed to scripts.
pub fn with_cors(
    origins: &CorsOrigins,
    path: &str,
    origin: Option<&HeaderValue>,
    mut response: Response<Body>,
) -> Response<Body> {
    if !is_api(path) {
        return response;
    }
    let h = response.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(allow) = origins.allow_origin(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After"),
        );
    }
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn origins_parse_as_any_or_a_list() {
        assert_eq!("*".parse::<CorsOrigins>(), Ok(CorsOrigins::Any));
        assert_eq!(
            "https://a.example, http://B.example:8080/".parse::<CorsOrigins>(),
            Ok(CorsOrigins::List(vec![
                "https://a.example".into(),
                "http://b.example:8080".into()
            ]))
        );
        assert!("".parse::<CorsOrigins>().is_err());
        assert!("a.example".parse::<CorsOrigins>().is_err());
        assert!("https://a.example/path".parse::<CorsOrigins>().is_err());
        assert!("https://".parse::<CorsOrigins>().is_err());
    }

    #[test]
    fn listed_origins_are_echoed_and_others_get_no_allow_origin() {
        let origins: CorsOrigins = "http://good.example".parse().expect("an origin");
        let good = with_cors(
            &origins,
            "/api/login",
            Some(&origin("http://good.example")),
            crate::server::empty(StatusCode::OK),
        );
        assert_eq!(
            good.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(&origin("http://good.example"))
        );
        assert_eq!(good.headers().get(header::VARY), Some(&origin("Origin")));
        let bad = with_cors(
            &origins,
            "/api/login",
            Some(&origin("http://evil.example")),
            crate::server::empty(StatusCode::OK),
        );
        assert!(bad
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
        assert_eq!(bad.headers().get(header::VARY), Some(&origin("Origin")));
    }

    #[test]
    fn any_origin_gets_a_star_and_only_api_routes_are_touched() {
        let r = with_cors(
            &CorsOrigins::Any,
            "/api/guest",
            Some(&origin("http://x.example")),
            crate::server::empty(StatusCode::OK),
        );
        assert_eq!(
            r.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(&origin("*"))
        );
        let r = with_cors(
            &CorsOrigins::Any,
            "/health",
            Some(&origin("http://x.example")),
            crate::server::empty(StatusCode::OK),
        );
        assert!(r.headers().is_empty());
    }

    #[test]
    fn preflight_allows_the_api_methods_and_headers_or_refuses() {
        let origins: CorsOrigins = "http://good.example".parse().expect("an origin");
        let ok = preflight(&origins, Some(&origin("http://good.example")));
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        let h = ok.headers();
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_METHODS),
            Some(&origin("GET, POST, OPTIONS"))
        );
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_HEADERS),
            Some(&origin("Authorization, Content-Type"))
        );
        let refused = preflight(&origins, Some(&origin("http://evil.example")));
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
    }

    #[test]
    fn assets_revalidate_with_their_etag() {
        let first = asset(&Method::GET, "/client.js", &HeaderMap::new());
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers().get(header::ETAG).expect("an etag").clone();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, etag);
        let again = asset(&Method::GET, "/client.js", &headers);
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(is_asset("/"));
        assert!(!is_asset("/nope.js"));
    }
}
