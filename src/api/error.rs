//! One error type for every way a KooDrive call can fail, with messages a user can act on.

use std::fmt;
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
    /// The request never got a whole HTTP answer: connection refused, DNS, reset, TLS, or
    /// settings (base URL, credentials) that cannot be sent at all. `cause` says what happened and
    /// what to check.
    #[error("cannot talk to the KooDrive server at {url}: {cause}")]
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
    #[error("{}", HttpStatusMessage(*.status))]
    Http { status: u16 },

    /// A KooDrive JSON answer with a non-zero `code`. `msg` is the server's text, clipped to one
    /// printable line.
    #[error("{}", ApiMessage(*.code, .msg))]
    Api { status: u16, code: i64, msg: String },
}

/// Display of [`ApiError::Http`]: what the bare status most likely means for the user.
struct HttpStatusMessage(u16);

impl fmt::Display for HttpStatusMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.0;
        let advice = match status {
            401 | 403 => "check the user id and the access token of this profile",
            404 | 405 => "check that the base URL points to a KooDrive server",
            408 | 429 => "the server is busy; wait a moment and try again",
            500..=599 => "the server or a proxy in front of it failed; try again later",
            _ => "check the base URL; if it is right, try again later",
        };
        write!(
            f,
            "the server answered HTTP {status} without a KooDrive error code: {advice}"
        )
    }
}

/// Display of [`ApiError::Api`]: the server's message, its code, and what to do about it.
struct ApiMessage<'a>(i64, &'a str);

impl fmt::Display for ApiMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ApiMessage(code, msg) = *self;
        if msg.trim().is_empty() {
            write!(f, "the server reported error code {code}")?;
        } else {
            write!(f, "{msg} (code {code})")?;
        }
        f.write_str(hint(code))
    }
}

/// A short, actionable follow-up for the codes the documentation names.
fn hint(code: i64) -> &'static str {
    match code {
        400001 => ": the request was rejected as invalid; check the values given",
        401001 => ": check the user id and the access token of this profile",
        401002 => ": the request time was rejected; check this machine's clock",
        403001 => ": that lock or record belongs to another user",
        404001 => ": the record does not exist (it may have been deleted); refresh the list",
        404002 => ": the lock is gone (released or never existed); create a new one",
        409001 => ": a lock for this module is already held; release it or wait until it expires",
        409002 => ": the lock has expired; renew it or create a new one",
        409003 => ": the lock is for a different module than the record",
        429001 => ": too many requests; wait a moment and try again",
        500001 => ": the server failed; try again later",
        _ => "",
    }
}

/// The class of an HTTP-like status (a real status, or the leading digits of a KooDrive code).
fn kind_of_status(status: i64) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::Server,
        400..=499 => ErrorKind::Invalid,
        _ => ErrorKind::Server,
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

    /// The status that classifies this failure. KooDrive codes start with the HTTP status they
    /// stand for (409001 → 409); a gateway that answers every failure with HTTP 200 still sends
    /// the code, so the code decides when the status does not say "error".
    fn effective_status(&self) -> Option<i64> {
        match self {
            ApiError::Transport { .. } | ApiError::Timeout { .. } => None,
            ApiError::Decode { status, .. } | ApiError::Http { status } => Some(i64::from(*status)),
            ApiError::Api { status, code, .. } if *status < 400 => Some(code / 1000),
            ApiError::Api { status, .. } => Some(i64::from(*status)),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::Transport { .. } | ApiError::Timeout { .. } => ErrorKind::Network,
            ApiError::Decode { .. } => ErrorKind::Server,
            ApiError::Http { .. } | ApiError::Api { .. } => {
                kind_of_status(self.effective_status().unwrap_or_default())
            }
        }
    }

    /// Whether repeating the same idempotent request may succeed: network failures and 5xx.
    pub fn is_transient(&self) -> bool {
        match self.effective_status() {
            None => true,
            Some(status) => status >= 500,
        }
    }

    /// The request was refused because of its X-Date (clock skew).
    pub fn is_clock_rejection(&self) -> bool {
        self.code() == Some(401002)
    }

    /// This error with `secret` replaced by `<redacted>` in every text that came from the
    /// server: the client passes its token, which must never reach a screen or a log even when
    /// a server echoes it back in a form the raw-body scrub cannot see (a JSON escape).
    pub fn redact(self, secret: &str) -> ApiError {
        if secret.is_empty() {
            return self;
        }
        let scrub = |text: String| {
            if text.contains(secret) {
                text.replace(secret, "<redacted>")
            } else {
                text
            }
        };
        match self {
            ApiError::Api { status, code, msg } => ApiError::Api {
                status,
                code,
                msg: scrub(msg),
            },
            ApiError::Decode { status, detail } => ApiError::Decode {
                status,
                detail: scrub(detail),
            },
            ApiError::Transport { url, cause } => ApiError::Transport {
                url: scrub(url),
                cause: scrub(cause),
            },
            other @ (ApiError::Timeout { .. } | ApiError::Http { .. }) => other,
        }
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
    fn a_failing_code_under_http_200_is_classified_by_the_code() {
        let held = ApiError::Api {
            status: 200,
            code: 409001,
            msg: "lock exists".into(),
        };
        assert_eq!(held.kind(), ErrorKind::Conflict);
        assert!(!held.is_transient());
        let failed = ApiError::Api {
            status: 200,
            code: 500001,
            msg: String::new(),
        };
        assert_eq!(failed.kind(), ErrorKind::Server);
        assert!(failed.is_transient());
        let odd = ApiError::Api {
            status: 200,
            code: 7,
            msg: "odd".into(),
        };
        assert_eq!(odd.kind(), ErrorKind::Server);
        assert!(!odd.is_transient());
    }

    #[test]
    fn messages_say_what_to_do_even_without_server_text() {
        let silent = ApiError::Api {
            status: 500,
            code: 500001,
            msg: " ".into(),
        };
        assert_eq!(
            silent.to_string(),
            "the server reported error code 500001: the server failed; try again later"
        );
        let unknown = ApiError::Api {
            status: 418,
            code: 418007,
            msg: "teapot".into(),
        };
        assert_eq!(unknown.to_string(), "teapot (code 418007)");
        assert!(ApiError::Http { status: 404 }.to_string().contains("base URL"));
        assert!(
            ApiError::Http { status: 502 }
                .to_string()
                .contains("try again later")
        );
        assert!(
            ApiError::Http { status: 401 }
                .to_string()
                .contains("access token")
        );
        assert_eq!(ApiError::Http { status: 429 }.kind(), ErrorKind::Server);
        assert_eq!(ApiError::Http { status: 422 }.kind(), ErrorKind::Invalid);
    }

    #[test]
    fn redact_hides_the_secret_in_server_supplied_text() {
        let echoed = ApiError::Api {
            status: 401,
            code: 401001,
            msg: "bad header Authorization: Bearer s3cret".into(),
        };
        let text = echoed.redact("s3cret").to_string();
        assert!(
            text.starts_with("bad header Authorization: Bearer <redacted> (code 401001)"),
            "{text}"
        );
        let decode = ApiError::Decode {
            status: 200,
            detail: "unknown module code \"s3cret\"".into(),
        };
        assert!(!decode.redact("s3cret").to_string().contains("s3cret"));
        let plain = ApiError::Http { status: 502 };
        assert_eq!(plain.clone().redact("s3cret"), plain);
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
