//! The failures the server answers with: one variant per row of the error-code table in
//! `koodrive-api.md`, each carrying the human message sent as `msg`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::model::Envelope;

/// A request that did not succeed. Rendered as `{"code": <code>, "msg": <msg>}` with the
/// matching HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 400001: malformed body, parameter out of range, invalid cursor.
    BadRequest(String),
    /// 404 + 400001: no route matches the path.
    UnknownPath(String),
    /// 405 + 400001: the path exists but not with this method.
    MethodNotAllowed(String),
    /// 413 + 400001: body larger than the limit.
    BodyTooLarge(usize),
    /// 401001: missing or wrong token, or the token is not the X-User-Id's.
    BadToken(String),
    /// 401002: X-Date missing, malformed, too old or in the future.
    BadDate(String),
    /// 403001: the lock or record belongs to another user.
    Forbidden(String),
    /// 404001: no such record.
    RecordNotFound(String),
    /// 404002: no such lock (never existed, released, or replaced).
    LockNotFound(String),
    /// 404003: no such bound device (our code).
    DeviceNotFound(String),
    /// 404005: the device has no such config (our code).
    ConfigNotFound(String),
    /// 409004: a config's current value is not the one the update expected (our code).
    ConfigChanged(String),
    /// 409001: a live lock already exists for this user and module.
    LockHeld(String),
    /// 409002: the lock has expired.
    LockExpired(String),
    /// 409003: the lock is for another module than the record.
    ModuleMismatch(String),
    /// 429001: over the per-user rate limit.
    RateLimited,
    /// 500001: injected fault or a real internal failure.
    Internal(String),
}

impl Failure {
    /// The `code` field of the response body.
    pub fn code(&self) -> i64 {
        match self {
            Failure::BadRequest(_)
            | Failure::UnknownPath(_)
            | Failure::MethodNotAllowed(_)
            | Failure::BodyTooLarge(_) => 400001,
            Failure::BadToken(_) => 401001,
            Failure::BadDate(_) => 401002,
            Failure::Forbidden(_) => 403001,
            Failure::RecordNotFound(_) => 404001,
            Failure::LockNotFound(_) => 404002,
            Failure::DeviceNotFound(_) => 404003,
            Failure::ConfigNotFound(_) => 404005,
            Failure::ConfigChanged(_) => 409004,
            Failure::LockHeld(_) => 409001,
            Failure::LockExpired(_) => 409002,
            Failure::ModuleMismatch(_) => 409003,
            Failure::RateLimited => 429001,
            Failure::Internal(_) => 500001,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Failure::BadRequest(_) => StatusCode::BAD_REQUEST,
            Failure::UnknownPath(_) => StatusCode::NOT_FOUND,
            Failure::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Failure::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::BadToken(_) | Failure::BadDate(_) => StatusCode::UNAUTHORIZED,
            Failure::Forbidden(_) => StatusCode::FORBIDDEN,
            Failure::RecordNotFound(_)
            | Failure::LockNotFound(_)
            | Failure::DeviceNotFound(_)
            | Failure::ConfigNotFound(_) => StatusCode::NOT_FOUND,
            Failure::LockHeld(_)
            | Failure::LockExpired(_)
            | Failure::ModuleMismatch(_)
            | Failure::ConfigChanged(_) => StatusCode::CONFLICT,
            Failure::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Failure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Failure::BodyTooLarge(limit) => {
                format!("request body is larger than the {limit} byte limit")
            }
            Failure::RateLimited => "rate limited: too many requests for this user, retry in a second".into(),
            Failure::BadRequest(m)
            | Failure::UnknownPath(m)
            | Failure::MethodNotAllowed(m)
            | Failure::BadToken(m)
            | Failure::BadDate(m)
            | Failure::Forbidden(m)
            | Failure::RecordNotFound(m)
            | Failure::LockNotFound(m)
            | Failure::LockHeld(m)
            | Failure::LockExpired(m)
            | Failure::ModuleMismatch(m)
            | Failure::DeviceNotFound(m)
            | Failure::ConfigNotFound(m)
            | Failure::ConfigChanged(m)
            | Failure::Internal(m) => m.clone(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.message())
    }
}

impl std::error::Error for Failure {}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Internal(format!("database error: {e}"))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = Envelope::<()> {
            code: self.code(),
            msg: self.message(),
            data: None,
            next_cursor: None,
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        if matches!(self, Failure::RateLimited) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
