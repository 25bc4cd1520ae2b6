//! Credentials (secrets never print themselves), the two ways KooDrive accepts them (a bearer
//! token, or requests signed by an app: [`super::sign`]), and X-Date stamps corrected for the
//! server's clock.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// X-Date format: `yyyyMMdd'T'HHmmss'Z'`.
pub const X_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// How far behind the estimated server time we stamp requests. The server rejects an X-Date
/// later than its own clock, and our estimate of its clock has one-second resolution.
const SKEW_SAFETY_MARGIN_MS: i64 = 2_000;

/// Clock samples the estimate is the median of: one odd answer (a proxy's cached `Date`) does
/// not move it.
const SKEW_SAMPLES: usize = 5;

/// A `Date` further than this from the local clock is not a clock sample but a broken or
/// hostile header (`Fri, 31 Dec 9999`), and is ignored (our rule): stamping every later request
/// with it would have a real KooDrive refuse them all. A machine clock off by more than a day
/// needs fixing, and `config check` says so.
pub const MAX_PLAUSIBLE_OFFSET: chrono::Duration = chrono::Duration::days(1);

/// A secret: an access token or an app secret. Debug and Display are redacted so it cannot leak
/// into logs or screens; the only way to read it is [`Token::expose`], used when building the
/// `Authorization` header.
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

/// How requests prove who sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: Bearer <token>` (the backup pages).
    Bearer(Token),
    /// Every request signed with HMAC-SHA256 under the app's secret (the Authentication
    /// chapter); `X-User-Id` names the user the app acts for.
    App { app_id: String, secret: Token },
}

impl Scheme {
    /// The secret this scheme holds, for scrubbing echoes of it out of server messages.
    pub fn secret(&self) -> &Token {
        match self {
            Scheme::Bearer(token) => token,
            Scheme::App { secret, .. } => secret,
        }
    }

    /// `bearer token` or `app signature (app id X)`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Scheme::Bearer(_) => "access token (bearer)".into(),
            Scheme::App { app_id, .. } => format!("app signature (app id {app_id})"),
        }
    }
}

/// Who we are to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user_id: String,
    pub scheme: Scheme,
}

impl Credentials {
    /// A user with a bearer token.
    pub fn new(user_id: impl Into<String>, token: Token) -> Credentials {
        Credentials {
            user_id: user_id.into(),
            scheme: Scheme::Bearer(token),
        }
    }

    /// An app acting for `user_id`, signing every request with `secret`.
    pub fn app(user_id: impl Into<String>, app_id: impl Into<String>, secret: Token) -> Credentials {
        Credentials {
            user_id: user_id.into(),
            scheme: Scheme::App {
                app_id: app_id.into(),
                secret,
            },
        }
    }
}

/// The estimated offset of the server's clock from ours (server minus local): the median of the
/// last few plausible `Date` headers.
#[derive(Debug, Default)]
pub struct ClockSkew {
    samples: Mutex<VecDeque<i64>>,
    /// `Date` headers ignored: not a date, or further than [`MAX_PLAUSIBLE_OFFSET`] away.
    ignored: std::sync::atomic::AtomicUsize,
}

impl ClockSkew {
    /// Updates the estimate from a response's `Date` header, received at `received_at` (local).
    /// The header has one-second resolution and is stamped before the response travels, so the
    /// estimate errs on the side of an earlier server clock, which is the safe side. A header
    /// that is no date, or an implausible one, is ignored and counted; returns whether it was
    /// taken.
    pub fn observe(&self, date_header: &str, received_at: DateTime<Utc>) -> bool {
        let offset = DateTime::parse_from_rfc2822(date_header.trim())
            .ok()
            .map(|server| server.with_timezone(&Utc) - received_at)
            .filter(|offset| offset.abs() <= MAX_PLAUSIBLE_OFFSET);
        let Some(offset) = offset else {
            self.ignored.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return false;
        };
        let offset = offset.num_milliseconds();
        let mut samples = self.lock();
        if samples.len() == SKEW_SAMPLES {
            samples.pop_front();
        }
        samples.push_back(offset);
        true
    }

    /// After the server refused our X-Date, its clock has moved (or ours has): trust only the
    /// latest sample, so that the retry carries the corrected date.
    pub fn keep_latest_only(&self) {
        let mut samples = self.lock();
        while samples.len() > 1 {
            samples.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<i64>> {
        self.samples
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether any answer has carried a readable, plausible `Date` yet.
    pub fn measured(&self) -> bool {
        !self.lock().is_empty()
    }

    /// How many `Date` headers were ignored as no date or an implausible one.
    pub fn ignored(&self) -> usize {
        self.ignored.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The estimate (zero before the first measurement).
    pub fn offset(&self) -> chrono::Duration {
        let mut sorted: Vec<i64> = self.lock().iter().copied().collect();
        sorted.sort_unstable();
        // The lower median: of two middle values the earlier server clock, the safe side.
        let median = sorted
            .get(sorted.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(0);
        chrono::Duration::milliseconds(median)
    }

    /// Our estimate of the server's clock at local time `local`.
    pub fn server_time(&self, local: DateTime<Utc>) -> DateTime<Utc> {
        local.checked_add_signed(self.offset()).unwrap_or(local)
    }

    /// An X-Date for a request sent now: our best estimate of the server clock, minus a margin.
    pub fn x_date(&self, local_now: DateTime<Utc>) -> String {
        let margin = chrono::Duration::milliseconds(SKEW_SAFETY_MARGIN_MS);
        let stamp = self.server_time(local_now);
        stamp
            .checked_sub_signed(margin)
            .unwrap_or(stamp)
            .format(X_DATE_FORMAT)
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let creds = Credentials::new("u1", Token::new("s3cr3t-value"));
        assert!(!format!("{creds:?}").contains("s3cr3t"));
        assert!(!format!("{}", creds.scheme.secret()).contains("s3cr3t"));
        assert_eq!(creds.scheme.secret().expose(), "s3cr3t-value");
        let app = Credentials::app("u1", "app-7", Token::new("app-s3cr3t"));
        assert!(!format!("{app:?}").contains("app-s3cr3t"));
        assert_eq!(app.scheme.describe(), "app signature (app id app-7)");
    }

    #[test]
    fn x_date_follows_the_server_clock_minus_a_margin() {
        let skew = ClockSkew::default();
        let local = Utc.with_ymd_and_hms(2025, 11, 3, 7, 1, 40).unwrap();
        assert!(!skew.measured());
        assert!(skew.observe("Mon, 03 Nov 2025 07:06:40 GMT", local));
        assert!(skew.measured());
        assert_eq!(skew.offset(), chrono::Duration::minutes(5));
        assert_eq!(skew.x_date(local), "20251103T070638Z");
        assert!(!skew.observe("garbage", local));
        assert_eq!(skew.offset(), chrono::Duration::minutes(5));
        assert_eq!(skew.ignored(), 1);
    }

    #[test]
    fn implausible_dates_are_ignored_and_counted() {
        let skew = ClockSkew::default();
        let local = Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap();
        assert!(!skew.observe("Fri, 31 Dec 9999 23:59:59 GMT", local));
        assert!(!skew.observe("Mon, 03 Nov 1975 07:00:00 GMT", local));
        assert!(!skew.measured(), "no sample taken");
        assert_eq!(
            skew.x_date(local),
            "20251103T065958Z",
            "the local clock, minus the margin"
        );
        assert!(
            skew.observe("Tue, 04 Nov 2025 06:59:00 GMT", local),
            "23 h 59 m off is a clock"
        );
        assert_eq!(skew.ignored(), 2);
    }

    #[test]
    fn the_estimate_is_the_median_of_recent_samples_until_the_server_refuses_it() {
        let skew = ClockSkew::default();
        let local = Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap();
        for date in [
            "Mon, 03 Nov 2025 07:00:03 GMT",
            "Mon, 03 Nov 2025 07:00:04 GMT",
            // A stale answer from a cache: one odd sample does not move the median.
            "Mon, 03 Nov 2025 06:00:00 GMT",
            "Mon, 03 Nov 2025 07:00:03 GMT",
        ] {
            skew.observe(date, local);
        }
        assert_eq!(skew.offset(), chrono::Duration::seconds(3));
        // The server's clock stepped back an hour: after a refusal the latest sample rules.
        skew.observe("Mon, 03 Nov 2025 06:00:01 GMT", local);
        assert_eq!(skew.offset(), chrono::Duration::seconds(3));
        skew.keep_latest_only();
        assert_eq!(skew.offset(), chrono::Duration::seconds(1 - 3600));
    }

    #[test]
    fn absurd_offsets_saturate_instead_of_panicking() {
        let skew = ClockSkew::default();
        // A local clock at the start of time, with a server clock behind ours: the stamp would
        // fall before the earliest time there is.
        let local = Utc.with_ymd_and_hms(2025, 11, 4, 6, 0, 0).unwrap();
        assert!(skew.observe("Mon, 03 Nov 2025 07:00:00 GMT", local));
        assert_eq!(
            skew.server_time(DateTime::<Utc>::MIN_UTC),
            DateTime::<Utc>::MIN_UTC
        );
        let _ = skew.x_date(DateTime::<Utc>::MIN_UTC);
    }
}
