//! One error type for every way a KooDrive call can fail, with messages a user can act on.
//!
//! A failure is classified by its HTTP status first. The server's `code` and `msg` are shown as
//! sent; a code is never read for its digits. Only codes listed by name (the published KooDrive
//! codes and the local server's table) add a hint, or give a class to a failure that arrives
//! under a status that says nothing (a gateway answering every failure with HTTP 200).
//!
//! Every text a server sent (its `msg`, a `Location`, an id it granted) is kept here exactly as
//! sent: JSON output carries it raw, and whatever prints it for a terminal escapes it there
//! (`format::escape`).

use std::fmt;
use std::time::Duration;

use crate::units;

/// KooDrive's "lock not found" (never existed, or released).
pub const LOCK_NOT_FOUND: i64 = 404_002;
/// KooDrive's "the lock has expired".
pub const LOCK_EXPIRED: i64 = 409_002;

/// Broad class of a failure, used for exit codes and for deciding what to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request or the configuration is wrong: a 4xx the server explains as invalid, or a
    /// redirect (the base URL points elsewhere).
    Invalid,
    /// Token, signature, user id or X-Date was rejected (401, 403).
    Auth,
    /// A lock is held elsewhere, expired, or for another module (409).
    Conflict,
    /// The record, lock or device does not exist (404).
    NotFound,
    /// The server could not be reached or did not answer in time.
    Network,
    /// The server failed (5xx, 429) or answered something that is not KooDrive JSON.
    Server,
    /// A failure code this client does not know, under a status that does not classify it.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The request never got a whole HTTP answer: connection refused, DNS, reset, a TLS
    /// handshake that broke off. `cause` says what happened and what to check.
    #[error("cannot talk to the KooDrive server at {url}: {cause}")]
    Transport { url: String, cause: String },

    /// The server's certificate was refused (unknown issuer, another name, expired). Repeating
    /// the request cannot change that, so it is never retried; `cause` says what is wrong in
    /// words and what to do.
    #[error("cannot trust the KooDrive server at {url}: {cause}")]
    Certificate { url: String, cause: String },

    /// A request that cannot be sent as asked, found before anything left the machine: an id
    /// that would not stay one path segment (`.`, `..`, empty, too long), a field breaking its
    /// documented pattern, a lock id an HTTP header cannot carry.
    #[error("{cause}; nothing was sent")]
    NotSent { cause: String },

    /// Settings that cannot work, found before anything is sent: a base URL that is no URL or
    /// carries a password, plain HTTP to another machine, an unreadable CA file, credentials an
    /// HTTP header cannot carry. Nothing was sent; repeating changes nothing.
    #[error("cannot use the KooDrive server at {url}: {cause}")]
    Settings { url: String, cause: String },

    /// A call that would change something, refused in read-only mode before it was sent.
    #[error("read-only mode: {what} would change something on the server, so it was not sent")]
    ReadOnly { what: String },

    #[error(
        "the KooDrive server did not answer within {:.1} s (the limit for one attempt); it may be \
         overloaded or unreachable. Try again, or raise --timeout",
        .after.as_secs_f32()
    )]
    Timeout { after: Duration },

    /// An HTTP answer whose body is not the KooDrive JSON envelope.
    #[error(
        "the server answered HTTP {status} with a body that is not KooDrive JSON ({detail}); is the base URL a KooDrive server?"
    )]
    Decode { status: u16, detail: String },

    /// A KooDrive answer that reads, but cannot be used as it is (a lock id that could never be
    /// sent back, a lock for another module than asked for). `detail` says why and what became
    /// of it.
    #[error("the server's answer cannot be used: {detail}")]
    BadAnswer { detail: String },

    /// An HTTP error status whose body carried no KooDrive error code.
    #[error("{}", HttpStatusMessage(*.status))]
    Http { status: u16 },

    /// A KooDrive JSON answer with a failure `code` (as sent: a number or a string). `msg` is the
    /// server's text, clipped to a status line. Displayed with the code; [`ApiError::message`]
    /// leaves it out, for documents that carry the code in a field of its own.
    #[error("{}", ApiMessage(.code, .msg, true))]
    Api { status: u16, code: String, msg: String },

    /// The server answered with a redirect; koobackup follows none (a redirect would carry the
    /// credentials and the lock id to another host).
    #[error("{}", RedirectMessage(*.status, .location.as_deref()))]
    Redirect { status: u16, location: Option<String> },

    /// The answer was larger than the client accepts.
    #[error(
        "the server's answer is larger than {} (the answer size limit); stopped reading it. \
         Is the base URL a KooDrive server?",
        units::human_size(*.limit)
    )]
    TooLarge { limit: u64 },

    /// A listing that went on past the page limit: the caller's bound, not the server's fault
    /// (though an endless chain of new cursors ends here too).
    #[error("stopped after {pages} pages, the page limit: the listing goes on beyond it")]
    TooManyPages { pages: usize },
}

/// Display of [`ApiError::Http`]: what the bare status most likely means for the user.
struct HttpStatusMessage(u16);

impl fmt::Display for HttpStatusMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.0;
        let advice = match status {
            401 | 403 => "check the user id and the credentials of this profile",
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

/// Display of [`ApiError::Redirect`].
struct RedirectMessage<'a>(u16, Option<&'a str>);

impl fmt::Display for RedirectMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(location) => write!(
                f,
                "the server answered HTTP {} and redirects to {}; koobackup follows no redirects: \
                 if that address is right, use it as the base URL",
                self.0, location
            ),
            None => write!(
                f,
                "the server answered HTTP {} (a redirect, without a Location); check the base URL",
                self.0
            ),
        }
    }
}

/// Display of [`ApiError::Api`]: the server's message, its code (unless `with_code` is off),
/// and what to do about it.
struct ApiMessage<'a>(&'a str, &'a str, bool);

impl fmt::Display for ApiMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ApiMessage(code, msg, with_code) = *self;
        let known = known_code(code);
        // The server's text says what happened; koobackup adds only what to do about it, so
        // nothing is said twice. Without a text, the code's meaning stands in for it.
        match known {
            _ if !msg.trim().is_empty() => f.write_str(msg)?,
            Some(Known { meaning, .. }) => f.write_str(meaning)?,
            None if with_code => write!(f, "the server reported error code {code}")?,
            None => f.write_str("the server reported an error code without a message")?,
        }
        if with_code && (known.is_some() || !msg.trim().is_empty()) {
            write!(f, " (code {code})")?;
        }
        match known {
            Some(Known { advice, .. }) if !advice.is_empty() => write!(f, "; {advice}"),
            _ => Ok(()),
        }
    }
}

/// A code koobackup knows by name: its class, what it means, and what to do about it.
#[derive(Clone, Copy)]
struct Known {
    kind: ErrorKind,
    meaning: &'static str,
    /// Empty when there is nothing to do but read the meaning.
    advice: &'static str,
}

/// The codes koobackup knows by name: the published KooDrive codes (enterprise reference, HTTP
/// 400) and the local server's own table (our rule).
fn known_code(code: &str) -> Option<Known> {
    use ErrorKind::*;
    let (kind, meaning, advice) = match code {
        "13000101" => (Invalid, "KooDrive refused the request as malformed", ""),
        "13000102" => (
            Invalid,
            "KooDrive's parameter check failed",
            "check the values given",
        ),
        "13000301" => (NotFound, "the KooDrive space does not exist", ""),
        "13000309" => (
            NotFound,
            "the resource does not exist",
            "it may have been deleted",
        ),
        "13000311" => (Server, "the KooDrive space is full", ""),
        "13000401" => (NotFound, "the upload task does not exist", ""),
        "13000402" => (
            Invalid,
            "the integrity check failed",
            "the file's fingerprint does not match its contents",
        ),
        "13000405" => (Conflict, "a file with this name exists already", ""),
        "13000410" => (Auth, "this user has no permission on the KooDrive space", ""),
        "400001" => (
            Invalid,
            "the request was rejected as invalid",
            "check the values given",
        ),
        "401001" => (
            Auth,
            "the credentials were rejected",
            "check the user id and the credentials (access token or app secret)",
        ),
        "401002" => (
            Auth,
            "the request time was rejected",
            "check this machine's clock",
        ),
        "403001" => (Auth, "that lock, record or device belongs to another user", ""),
        "404001" => (NotFound, "the record does not exist", "it may have been deleted"),
        "404002" => (NotFound, "the lock does not exist", "create a new one"),
        "404003" => (NotFound, "the device is not bound", ""),
        "404004" => (NotFound, "the backup scope does not exist", ""),
        "404005" => (NotFound, "the device has no such config", ""),
        "409001" => (
            Conflict,
            "a lock for this module is already held",
            "release it or wait until it expires",
        ),
        "409002" => (Conflict, "the lock has expired", "renew it or create a new one"),
        "409003" => (Conflict, "the lock is for a different module than the record", ""),
        "409004" => (Conflict, "the config changed meanwhile", "read it again"),
        "429001" => (Server, "too many requests", "wait a moment and try again"),
        "500001" => (Server, "the server failed", "try again later"),
        _ => return None,
    };
    Some(Known {
        kind,
        meaning,
        advice,
    })
}

/// The class an HTTP status gives a failure; `None` for a status that says nothing (2xx).
fn kind_of_status(status: u16) -> Option<ErrorKind> {
    Some(match status {
        300..=400 => ErrorKind::Invalid,
        401 | 403 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::Server,
        405..=499 => ErrorKind::Invalid,
        500..=599 => ErrorKind::Server,
        _ => return None,
    })
}

/// Whether a status says "try again": 5xx and 429.
fn transient_status(status: u16) -> bool {
    status >= 500 || status == 429
}

impl ApiError {
    /// The KooDrive error code, when the server sent a numeric one (as a number or a numeric
    /// string).
    pub fn code(&self) -> Option<i64> {
        self.code_text().and_then(|code| code.parse().ok())
    }

    /// The KooDrive error code exactly as sent (`APIGW.0101` included).
    pub fn code_text(&self) -> Option<&str> {
        match self {
            ApiError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The message without the server's code (for a document that carries the code in a field
    /// of its own); for every other failure the same as its display.
    pub fn message(&self) -> String {
        match self {
            ApiError::Api { code, msg, .. } => ApiMessage(code, msg, false).to_string(),
            other => other.to_string(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::Transport { .. } | ApiError::Timeout { .. } | ApiError::Certificate { .. } => {
                ErrorKind::Network
            }
            ApiError::Decode { .. }
            | ApiError::BadAnswer { .. }
            | ApiError::TooLarge { .. }
            | ApiError::TooManyPages { .. } => ErrorKind::Server,
            ApiError::Redirect { .. }
            | ApiError::Settings { .. }
            | ApiError::ReadOnly { .. }
            | ApiError::NotSent { .. } => ErrorKind::Invalid,
            ApiError::Http { status } => kind_of_status(*status).unwrap_or(ErrorKind::Unknown),
            ApiError::Api { status, code, .. } => kind_of_status(*status)
                .or_else(|| known_code(code).map(|known| known.kind))
                .unwrap_or(ErrorKind::Unknown),
        }
    }

    /// Whether repeating the same idempotent request may succeed: network failures, and 5xx or
    /// 429 answers (by status; under a status that says nothing, the named codes 500001 and
    /// 429001).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Transport { .. } | ApiError::Timeout { .. } => true,
            ApiError::Http { status } => transient_status(*status),
            ApiError::Api { status, .. } if kind_of_status(*status).is_some() => transient_status(*status),
            ApiError::Api { code, .. } => matches!(code.as_str(), "500001" | "429001"),
            _ => false,
        }
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Decode { status, .. }
            | ApiError::Http { status }
            | ApiError::Api { status, .. }
            | ApiError::Redirect { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The request was refused because of its X-Date (clock skew).
    pub fn is_clock_rejection(&self) -> bool {
        self.code() == Some(401002)
    }

    /// This error with `secret` replaced by `<redacted>` in every text that came from the
    /// server: the client passes its secret, which must never reach a screen or a log even when
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
                code: scrub(code),
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
            ApiError::Certificate { url, cause } => ApiError::Certificate {
                url: scrub(url),
                cause: scrub(cause),
            },
            ApiError::NotSent { cause } => ApiError::NotSent { cause: scrub(cause) },
            ApiError::BadAnswer { detail } => ApiError::BadAnswer {
                detail: scrub(detail),
            },
            ApiError::Settings { url, cause } => ApiError::Settings {
                url: scrub(url),
                cause: scrub(cause),
            },
            ApiError::Redirect { status, location } => ApiError::Redirect {
                status,
                location: location.map(scrub),
            },
            other @ (ApiError::Timeout { .. }
            | ApiError::ReadOnly { .. }
            | ApiError::Http { .. }
            | ApiError::TooLarge { .. }
            | ApiError::TooManyPages { .. }) => other,
        }
    }
}

#[cfg(test)]
mod tests;
