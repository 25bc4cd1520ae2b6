//! One error type for every way a KooDrive call can fail, with messages a user can act on.

use std::time::Duration;

/// Broad class of a failure, used for exit codes and for deciding what to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself was rejected as invalid (400).
    Invalid,
    /// Token, user id or X-Date was rejected (401, 403).
    Auth,
    /// A lock is held elsewhere, expired, or for another module (409).
    Conflict,
    /// The record or lock does not exist (404).
    NotFound,
    /// The server could not be reached or did not answer in time.
    Network,
    /// The server failed (5xx, 429) or answered something that is not KooDrive JSON.
    Server,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The request never got an HTTP answer: connection refused, DNS, reset, TLS.
    #[error("cannot reach the KooDrive server at {url}: {cause}. Check the base URL and the network")]
    Transport { url: String, cause: String },

    #[error(
        "the KooDrive server did not answer within {} s; it may be overloaded or unreachable. Try again, or raise the timeout",
        .after.as_secs_f32()
    )]
    Timeout { after: Duration },

    /// An HTTP answer whose body is not the KooDrive JSON envelope.
    #[error(
        "the server answered HTTP {status} with a body that is not KooDrive JSON ({detail}); is the base URL a KooDrive server?"
    )]
    Decode { status: u16, detail: String },

    /// An HTTP error status whose body carried no KooDrive error code.
    #[error("the server answered HTTP {status} without an error code; try again later")]
    Http { status: u16 },

    /// A KooDrive JSON answer with a non-zero `code`.
    #[error("{msg} (code {code}){}", hint(*.code))]
    Api { status: u16, code: i64, msg: String },
}

/// A short, actionable follow-up for the codes the documentation names.
fn hint(code: i64) -> &'static str {
    match code {
        401001 => ": check the user id and the access token of this profile",
        401002 => ": the request time was rejected; check this machine's clock",
        403001 => ": that lock or record belongs to another user",
        404002 => ": the lock is gone (released or never existed); create a new one",
        409001 => ": a lock for this module is already held; release it or wait until it expires",
        409002 => ": the lock has expired; renew it or create a new one",
        409003 => ": the lock is for a different module than the record",
        429001 => ": too many requests; wait a moment and try again",
        500001 => ": the server failed; try again later",
        _ => "",
    }
}

impl ApiError {
    /// The KooDrive error code, when the server sent one.
    pub fn code(&self) -> Option<i64> {
        match self {
            ApiError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        let status = match self {
            ApiError::Transport { .. } | ApiError::Timeout { .. } => return ErrorKind::Network,
            ApiError::Decode { .. } => return ErrorKind::Server,
            ApiError::Http { status } | ApiError::Api { status, .. } => *status,
        };
        match status {
            401 | 403 => ErrorKind::Auth,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            400..=428 | 430..=499 => ErrorKind::Invalid,
            _ => ErrorKind::Server,
        }
    }

    /// Whether repeating the same idempotent request may succeed: network failures and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Transport { .. } | ApiError::Timeout { .. } => true,
            ApiError::Http { status } | ApiError::Api { status, .. } => *status >= 500,
            ApiError::Decode { status, .. } => *status >= 500,
        }
    }

    /// The request was refused because of its X-Date (clock skew).
    pub fn is_clock_rejection(&self) -> bool {
        self.code() == Some(401002)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_keep_code_and_message_and_add_a_hint() {
        let e = ApiError::Api {
            status: 409,
            code: 409001,
            msg: "lock exists".into(),
        };
        assert_eq!(e.code(), Some(409001));
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let text = e.to_string();
        assert!(text.starts_with("lock exists (code 409001)"), "{text}");
        assert!(text.contains("release it"), "{text}");
    }

    #[test]
    fn only_network_and_server_failures_are_transient() {
        assert!(
            ApiError::Timeout {
                after: Duration::from_secs(1)
            }
            .is_transient()
        );
        assert!(ApiError::Http { status: 503 }.is_transient());
        assert!(
            !ApiError::Api {
                status: 404,
                code: 404001,
                msg: "x".into()
            }
            .is_transient()
        );
        assert!(
            !ApiError::Decode {
                status: 200,
                detail: "x".into()
            }
            .is_transient()
        );
    }
}
