//! Exit codes and the error every command returns. The codes are part of the interface that
//! scripts rely on and are listed in the README.

use crate::api::ApiError;
use crate::api::error::ErrorKind;
use crate::config::ConfigError;
use crate::connect::ConnectError;
use crate::journal::JournalError;

/// Why a command ended. The discriminant is the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// Anything not covered below: local I/O, a damaged journal, a failed child start.
    Failure = 1,
    /// Bad command line, bad configuration, or a request the server refused as invalid.
    Usage = 2,
    /// Token, user id or request time rejected, or the object belongs to another user.
    Auth = 3,
    /// A lock is held elsewhere, has expired, or is for another module.
    Conflict = 4,
    NotFound = 5,
    /// The server could not be reached or did not answer in time.
    Network = 6,
    /// The server failed, rate-limited us, or answered something that is not KooDrive JSON.
    Server = 7,
    /// A listing was printed, but items of it could not be read and are left out: the output
    /// is not the whole list.
    Incomplete = 8,
    /// A bound of this command (pages, records, memory) was reached before a listing ended: not
    /// the server's fault, and raising the bound or narrowing the listing gets past it.
    Limit = 9,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Short name used in JSON error documents.
    pub fn name(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Failure => "failure",
            Exit::Usage => "usage",
            Exit::Auth => "authentication",
            Exit::Conflict => "conflict",
            Exit::NotFound => "not-found",
            Exit::Network => "network",
            Exit::Server => "server",
            Exit::Incomplete => "incomplete",
            Exit::Limit => "limit",
        }
    }
}

/// Every exit code and what it means: the one table `--help`, the manual page and the README
/// repeat.
pub const EXIT_CODES: [(u8, &str); 10] = [
    (0, "success"),
    (
        1,
        "any other failure (local I/O, a damaged lock journal), or a confirmation answered no",
    ),
    (
        2,
        "usage or configuration: bad arguments (an id or field refused before anything is sent included), a bad config file or one others could change, a missing token, no lock for a record change, or a request the server rejected as invalid",
    ),
    (
        3,
        "authentication: token, user id or request time rejected, or the lock, record or device belongs to another user",
    ),
    (
        4,
        "conflict: the module is locked by another operation, the lock expired or is for another module, a record changed after it was chosen and was kept, or was not sent because the lock was lost; for lock hold, the lock was not held from the command's start to its end",
    ),
    (
        5,
        "not found: no such record, lock or device (or some were gone before the command reached them), or a --device that names no device and no record",
    ),
    (
        6,
        "network: the server could not be reached or did not answer in time, or its TLS certificate is not trusted",
    ),
    (
        7,
        "server: a 5xx answer, rate limiting, an answer that is not KooDrive JSON or cannot be used, or a listing whose cursors repeat",
    ),
    (
        8,
        "incomplete: a listing was printed without the items of the answer that could not be read (each is named on stderr)",
    ),
    (
        9,
        "limit: a bound of the command (--max-pages, --max-records, or the memory a listing held whole may take) was reached before the listing ended; raise the bound, narrow the listing (--device, --limit) or stream it (--jsonl)",
    ),
];

impl From<ErrorKind> for Exit {
    fn from(kind: ErrorKind) -> Exit {
        match kind {
            ErrorKind::Invalid => Exit::Usage,
            ErrorKind::Auth => Exit::Auth,
            ErrorKind::Conflict => Exit::Conflict,
            ErrorKind::NotFound => Exit::NotFound,
            ErrorKind::Network => Exit::Network,
            ErrorKind::Server => Exit::Server,
            ErrorKind::Unknown => Exit::Failure,
        }
    }
}

/// A failed command: what to tell the user and which exit code to use.
///
/// `message` holds any server text exactly as sent and without the server's code (JSON carries
/// the code in `apiCode`); its display, for people, adds `(code N)`. Whatever prints either for
/// a terminal escapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
    /// The KooDrive error code as sent, when the server sent one.
    pub api_code: Option<String>,
    /// Nothing to print: the message was already shown, or stdout was closed by the reader.
    pub silent: bool,
}

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> CliError {
        CliError {
            exit,
            message: message.into(),
            api_code: None,
            silent: false,
        }
    }

    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(Exit::Usage, message)
    }

    pub fn failure(message: impl Into<String>) -> CliError {
        CliError::new(Exit::Failure, message)
    }

    /// The reader of standard output went away (`| head -1`): nothing more can be shown, and
    /// the command ends quietly with exit 0, as the reader asked for no more.
    pub fn broken_pipe() -> CliError {
        CliError {
            silent: true,
            ..CliError::new(Exit::Ok, "standard output was closed")
        }
    }

    /// The same error with `context` in front of the message.
    pub fn context(mut self, context: impl std::fmt::Display) -> CliError {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The same error about `id`: `what id: message`, or the message alone when it names the
    /// id already (a server's "record 42 not found"), so the id is said once.
    pub fn about(self, what: &str, id: &str) -> CliError {
        if self.message.contains(id) {
            self
        } else {
            self.context(format!("{what} {id}"))
        }
    }
}

impl CliError {
    /// The API code as a number, when it is one.
    pub fn api_code_number(&self) -> Option<i64> {
        self.api_code.as_deref().and_then(|code| code.parse().ok())
    }

    /// The API code for JSON: a number when it is one (`409001`), else the text as sent.
    pub fn api_code_json(&self) -> serde_json::Value {
        match (&self.api_code, self.api_code_number()) {
            (_, Some(number)) => number.into(),
            (Some(text), None) => text.clone().into(),
            (None, None) => serde_json::Value::Null,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        match &self.api_code {
            Some(code) => write!(f, " (code {code})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for CliError {}

impl From<ApiError> for CliError {
    fn from(error: ApiError) -> CliError {
        // The page bound is the command's own limit, not a fault of the server.
        let exit = match error {
            ApiError::TooManyPages { .. } => Exit::Limit,
            _ => error.kind().into(),
        };
        CliError {
            exit,
            api_code: error.code_text().map(str::to_string),
            ..CliError::new(Exit::Failure, error.message())
        }
    }
}

impl CliError {
    /// A record operation under a lock that failed: as [`From<ApiError>`], but a refusal for
    /// the lock itself (unknown 404002, expired 409002) is a lost lock, exit 4, whatever its
    /// HTTP class (a lock "not found" is not a record not found).
    pub fn under_lock(error: ApiError) -> CliError {
        let lost = crate::lease::schedule::is_lost(&error);
        let mut cli = CliError::from(error);
        if lost {
            cli.exit = Exit::Conflict;
        }
        cli
    }
}

impl From<ConfigError> for CliError {
    fn from(error: ConfigError) -> CliError {
        CliError::usage(error.to_string())
    }
}

impl From<JournalError> for CliError {
    fn from(error: JournalError) -> CliError {
        match error {
            JournalError::Location(config) => config.into(),
            other => CliError::failure(other.to_string()),
        }
    }
}

impl From<ConnectError> for CliError {
    fn from(error: ConnectError) -> CliError {
        match error {
            ConnectError::Config(config) => config.into(),
            ConnectError::Options(message) => CliError::usage(message),
            ConnectError::Client(api) => api.into(),
            ConnectError::Journal(journal) => journal.into(),
            other @ (ConnectError::Embedded(_) | ConnectError::DemoDatabase { .. }) => {
                CliError::failure(other.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_failures_map_to_distinct_codes() {
        let api = |status, code: i64| ApiError::Api {
            status,
            code: code.to_string(),
            msg: "m".into(),
        };
        let cases = [
            (api(400, 400001), Exit::Usage),
            (api(401, 401001), Exit::Auth),
            (api(403, 403001), Exit::Auth),
            (api(409, 409001), Exit::Conflict),
            (api(404, 404001), Exit::NotFound),
            (api(500, 500001), Exit::Server),
            (api(429, 429001), Exit::Server),
            (
                ApiError::Transport {
                    url: "u".into(),
                    cause: "refused".into(),
                },
                Exit::Network,
            ),
        ];
        for (error, exit) in cases {
            let cli: CliError = error.clone().into();
            assert_eq!(cli.exit, exit, "{error:?}");
        }
        let codes: std::collections::BTreeSet<u8> = [
            Exit::Ok,
            Exit::Failure,
            Exit::Usage,
            Exit::Auth,
            Exit::Conflict,
            Exit::NotFound,
            Exit::Network,
            Exit::Server,
            Exit::Incomplete,
        ]
        .into_iter()
        .map(Exit::code)
        .collect();
        assert_eq!(codes.len(), 9);
    }
}
