//! The two kinds of error: a client's mistake ([`ApiError`], sent back with a protocol code)
//! and a server fault ([`Fault`], logged once at the task boundary, connection closed).

use starling_protocol::rules::Violation;
use starling_protocol::ErrorCode;
use std::fmt;

/// A request the server refuses, with the code and sentence the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unauthenticated, message)
    }

    pub fn internal() -> ApiError {
        ApiError::new(ErrorCode::Internal, "the server failed; try again later")
    }
}

impl From<Violation> for ApiError {
    fn from(v: Violation) -> ApiError {
        ApiError::new(v.code, v.message)
    }
}

impl From<Fault> for ApiError {
    fn from(fault: Fault) -> ApiError {
        tracing::error!(%fault, "server fault");
        ApiError::internal()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A fault of the server itself (storage, I/O), never of the client.
#[derive(Debug)]
pub struct Fault(pub String);

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fault {}

impl From<sled::Error> for Fault {
    fn from(e: sled::Error) -> Fault {
        Fault(format!("storage: {e}"))
    }
}

impl From<std::io::Error> for Fault {
    fn from(e: std::io::Error) -> Fault {
        Fault(format!("i/o: {e}"))
    }
}
