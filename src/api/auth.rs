//! Credentials (the token never prints itself) and X-Date stamps corrected for clock skew.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// X-Date format: `yyyyMMdd'T'HHmmss'Z'`.
pub const X_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// How far behind the estimated server time we stamp requests. The server rejects an X-Date
/// later than its own clock, and our estimate of its clock has one-second resolution.
const SKEW_SAFETY_MARGIN_MS: i64 = 2_000;

/// An access token. Debug and Display are redacted so it cannot leak into logs or screens;
/// the only way to read it is [`Token::expose`], used when building the Authorization header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(secret: impl Into<String>) -> Token {
        Token(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Who we are to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user_id: String,
    pub token: Token,
}

impl Credentials {
    pub fn new(user_id: impl Into<String>, token: Token) -> Credentials {
        Credentials {
            user_id: user_id.into(),
            token,
        }
    }
}

/// The measured offset of the server's clock from ours (server minus local), in milliseconds.
#[derive(Debug, Default)]
pub struct ClockSkew {
    offset_ms: AtomicI64,
}

impl ClockSkew {
    /// Updates the estimate from a response's `Date` header, received at `received_at` (local).
    /// The header has one-second resolution and is stamped before the response travels, so the
    /// estimate errs on the side of an earlier server clock, which is the safe side.
    pub fn observe(&self, date_header: &str, received_at: DateTime<Utc>) -> bool {
        match DateTime::parse_from_rfc2822(date_header.trim()) {
            Ok(server) => {
                let offset = server.with_timezone(&Utc) - received_at;
                self.offset_ms.store(offset.num_milliseconds(), Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    pub fn offset(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// An X-Date for a request sent now: our best estimate of the server clock, minus a margin.
    pub fn x_date(&self, local_now: DateTime<Utc>) -> String {
        let stamp = local_now + self.offset() - chrono::Duration::milliseconds(SKEW_SAFETY_MARGIN_MS);
        stamp.format(X_DATE_FORMAT).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn token_is_redacted_in_debug_and_display() {
        let creds = Credentials::new("u1", Token::new("s3cr3t-value"));
        assert!(!format!("{creds:?}").contains("s3cr3t"));
        assert!(!format!("{}", creds.token).contains("s3cr3t"));
        assert_eq!(creds.token.expose(), "s3cr3t-value");
    }

    #[test]
    fn x_date_follows_the_server_clock_minus_a_margin() {
        let skew = ClockSkew::default();
        let local = Utc.with_ymd_and_hms(2025, 11, 3, 7, 1, 40).unwrap();
        assert!(skew.observe("Mon, 03 Nov 2025 07:06:40 GMT", local));
        assert_eq!(skew.offset(), chrono::Duration::minutes(5));
        assert_eq!(skew.x_date(local), "20251103T070638Z");
        assert!(!skew.observe("garbage", local));
        assert_eq!(skew.offset(), chrono::Duration::minutes(5));
    }
}
