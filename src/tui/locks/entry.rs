//! One held lock as the locks pane keeps it: its countdown, how urgent it is, the call it waits
//! for, and the auto-renew policy. Pure data and arithmetic; `update` decides when to call.

use chrono::{DateTime, Utc};

use crate::api::error::ErrorKind;
use crate::api::{ApiError, LockInfo};
use crate::format;

/// Time left below which a lock is shown as a warning.
pub const WARNING_BELOW: chrono::Duration = chrono::Duration::seconds(120);
/// Time left below which a lock is shown as critical.
pub const CRITICAL_BELOW: chrono::Duration = chrono::Duration::seconds(30);
/// Auto-renew gives up after this many failures in a row.
pub const AUTO_RENEW_MAX_FAILURES: u32 = 5;
/// Auto-renew acts at least this long before expiry, but never earlier than halfway through the
/// lifetime: with KooDrive's 10 minutes a third (200 s) is more anyway, while a 60-second test
/// lock still gets 30 s for its retries.
const RENEW_AHEAD_FLOOR: chrono::Duration = chrono::Duration::seconds(30);
/// Bounds of the wait after the first failed auto-renewal, which is a twentieth of the lifetime
/// (5 s for KooDrive's 10 minutes, 300 ms for a 6-second test lock).
const FIRST_RETRY_MIN: chrono::Duration = chrono::Duration::milliseconds(250);
const FIRST_RETRY_MAX: chrono::Duration = chrono::Duration::seconds(5);

/// How close a lock is to expiring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    Ok,
    Warning,
    Critical,
    Expired,
}

impl Urgency {
    pub fn of(lock: &LockInfo, now: DateTime<Utc>) -> Urgency {
        let left = lock.time_left(now);
        if lock.is_expired(now) {
            Urgency::Expired
        } else if left < CRITICAL_BELOW {
            Urgency::Critical
        } else if left < WARNING_BELOW {
            Urgency::Warning
        } else {
            Urgency::Ok
        }
    }
}

/// The call a lock is waiting for, shown next to its spinner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    Renewing,
    Releasing,
    /// A typed-in lock id is being renewed to check that it exists and to learn its expiry.
    Adopting,
}

impl Busy {
    pub fn label(self) -> &'static str {
        match self {
            Busy::Renewing => "renewing",
            Busy::Releasing => "releasing",
            Busy::Adopting => "adopting",
        }
    }
}

/// One held lock.
#[derive(Debug, Clone, PartialEq)]
pub struct LockEntry {
    pub lock: LockInfo,
    pub auto_renew: bool,
    pub busy: Option<Busy>,
    /// The server answered "lock not found" to a renewal: it was released or expired
    /// elsewhere. The entry stays (and stays in the journal) until the user releases it.
    pub gone: bool,
    pub auto_renew_failures: u32,
    /// Earliest time of the next auto-renew attempt after a failure.
    pub retry_after: Option<DateTime<Utc>>,
    /// The journal file has been seen holding this lock. Only then may its absence from the
    /// file (another koobackup released it) remove it here: a lock whose journal write failed
    /// stays on screen.
    pub seen_in_journal: bool,
    /// Its expiry was noted in the activity log (once per expiry).
    pub expiry_noted: bool,
}

impl LockEntry {
    pub fn new(lock: LockInfo, auto_renew: bool) -> LockEntry {
        LockEntry {
            lock,
            auto_renew,
            busy: None,
            gone: false,
            auto_renew_failures: 0,
            retry_after: None,
            seen_in_journal: false,
            expiry_noted: false,
        }
    }

    /// An entry read from the journal file.
    pub fn from_journal(lock: LockInfo, auto_renew: bool) -> LockEntry {
        LockEntry {
            seen_in_journal: true,
            ..LockEntry::new(lock, auto_renew)
        }
    }

    pub fn id(&self) -> &str {
        &self.lock.lock_id
    }

    /// Live = neither expired nor known to be gone: worth releasing before quitting.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        !self.gone && !self.lock.is_expired(now) && self.busy != Some(Busy::Adopting)
    }

    /// The countdown as shown ([`format::time_left`]), or a word once there is nothing to count.
    pub fn countdown(&self, now: DateTime<Utc>) -> String {
        if self.busy == Some(Busy::Adopting) {
            "--:--".into()
        } else if self.gone {
            "gone".into()
        } else {
            format::time_left(&self.lock, now)
        }
    }

    /// Whether auto-renew should renew this lock now, given the server's lock lifetime.
    pub fn wants_auto_renew(&self, now: DateTime<Utc>, ttl: chrono::Duration) -> bool {
        self.auto_renew
            && self.busy.is_none()
            && !self.gone
            && self.lock.time_left(now) <= renew_ahead(ttl)
            && self.retry_after.is_none_or(|at| now >= at)
    }

    /// Records a failed auto-renewal. Returns `true` when auto-renew gave up (and is now off):
    /// at once when retrying cannot help (the server refused, e.g. 409002 for a lock expired too
    /// long ago to renew, or 404002 for one it no longer knows), else after
    /// [`AUTO_RENEW_MAX_FAILURES`] failures in a row. Otherwise schedules the retry
    /// ([`retry_delay`]).
    pub fn auto_renew_failed(&mut self, error: &ApiError, now: DateTime<Utc>, ttl: chrono::Duration) -> bool {
        self.auto_renew_failures += 1;
        let retryable = matches!(error.kind(), ErrorKind::Network | ErrorKind::Server);
        if !retryable || self.auto_renew_failures >= AUTO_RENEW_MAX_FAILURES {
            self.auto_renew = false;
            self.auto_renew_failures = 0;
            self.retry_after = None;
            return true;
        }
        let delay = retry_delay(ttl, self.auto_renew_failures, self.lock.time_left(now));
        self.retry_after = Some(now + delay);
        false
    }

    pub fn renewed(&mut self, lock: LockInfo) {
        self.lock = lock;
        self.gone = false;
        self.auto_renew_failures = 0;
        self.retry_after = None;
    }
}

/// How long before expiry auto-renew acts: a third of the lifetime, but at least
/// [`RENEW_AHEAD_FLOOR`], or half the lifetime where the floor would be more than that (so a
/// short-lived lock is renewed halfway through its life, not on every tick). Either way there is
/// room for several retries before the lock runs out.
pub fn renew_ahead(ttl: chrono::Duration) -> chrono::Duration {
    (ttl / 3).max(RENEW_AHEAD_FLOOR.min(ttl / 2))
}

/// The wait before retrying after the `failures`-th failed auto-renewal in a row, with
/// `time_left` on the lock: a twentieth of the lifetime (kept within 250 ms and 5 s), doubled
/// for each further failure, but never more than half the time left, so that while the lock is
/// live a retry always comes before it expires. Once it has expired by our estimate (which
/// never overstates), retrying may still revive it, since the server extends an expired lock
/// from its old expiry: then the doubling alone paces the retries.
pub fn retry_delay(ttl: chrono::Duration, failures: u32, time_left: chrono::Duration) -> chrono::Duration {
    let first = (ttl / 20).clamp(FIRST_RETRY_MIN, FIRST_RETRY_MAX);
    let doublings = failures.saturating_sub(1).min(AUTO_RENEW_MAX_FAILURES);
    let backoff = first * 2i32.pow(doublings);
    if time_left > chrono::Duration::zero() {
        backoff.min(time_left / 2)
    } else {
        backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ModuleCode;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    fn lock_expiring_at(secs: i64) -> LockInfo {
        LockInfo {
            lock_id: "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@102".into(),
            module: ModuleCode::AddressBook,
            expires_at: at(secs),
        }
    }

    #[test]
    fn urgency_thresholds() {
        let lock = lock_expiring_at(600);
        assert_eq!(Urgency::of(&lock, at(0)), Urgency::Ok);
        assert_eq!(Urgency::of(&lock, at(481)), Urgency::Warning);
        assert_eq!(Urgency::of(&lock, at(571)), Urgency::Critical);
        assert_eq!(Urgency::of(&lock, at(600)), Urgency::Expired);
    }

    #[test]
    fn countdown_is_minutes_and_seconds_then_expired() {
        let entry = LockEntry::new(lock_expiring_at(600), false);
        assert_eq!(entry.countdown(at(0)), "10:00");
        assert_eq!(entry.countdown(at(1)), "09:59");
        assert_eq!(entry.countdown(at(599)), "00:01");
        assert_eq!(entry.countdown(at(600)), "expired");
    }

    fn timeout() -> ApiError {
        ApiError::Timeout {
            after: std::time::Duration::from_secs(10),
        }
    }

    fn ms(n: i64) -> chrono::Duration {
        chrono::Duration::milliseconds(n)
    }

    #[test]
    fn auto_renew_acts_a_third_of_the_ttl_ahead_and_backs_off() {
        let ttl = chrono::Duration::seconds(600);
        let mut entry = LockEntry::new(lock_expiring_at(600), true);
        assert!(!entry.wants_auto_renew(at(399), ttl));
        assert!(entry.wants_auto_renew(at(400), ttl));
        assert!(!entry.auto_renew_failed(&timeout(), at(400), ttl));
        assert!(!entry.wants_auto_renew(at(404), ttl));
        assert!(entry.wants_auto_renew(at(405), ttl));
        assert!(!entry.auto_renew_failed(&timeout(), at(405), ttl));
        assert_eq!(entry.retry_after, Some(at(415)));
        assert!(!entry.auto_renew_failed(&timeout(), at(415), ttl));
        assert_eq!(entry.retry_after, Some(at(435)));
    }

    #[test]
    fn the_renewal_window_scales_with_the_lifetime() {
        // A third of the lifetime, or 30 s where that is at most half of it.
        let cases = [
            (600_000, 200_000),
            (90_000, 30_000),
            (60_000, 30_000),
            (45_000, 22_500),
        ];
        for (ttl, ahead) in cases {
            assert_eq!(renew_ahead(ms(ttl)), ms(ahead), "ttl {ttl} ms");
        }
        assert_eq!(renew_ahead(ms(6_000)), ms(3_000));
        assert_eq!(renew_ahead(ms(1_000)), ms(500));
        // A 6-second lock is renewed halfway through its life, not on every tick.
        let ttl = chrono::Duration::seconds(6);
        let entry = LockEntry::new(lock_expiring_at(6), true);
        assert!(!entry.wants_auto_renew(at(0), ttl));
        assert!(!entry.wants_auto_renew(at(2), ttl));
        assert!(entry.wants_auto_renew(at(3), ttl));
    }

    #[test]
    fn retries_are_a_fraction_of_the_lifetime_and_come_before_expiry() {
        // KooDrive's 10 minutes: 5, 10, 20, 40 s while there is time for them.
        let ttl = chrono::Duration::seconds(600);
        let plenty = chrono::Duration::seconds(200);
        let delays: Vec<_> = (1..=4).map(|n| retry_delay(ttl, n, plenty)).collect();
        assert_eq!(delays, [5, 10, 20, 40].map(chrono::Duration::seconds));
        assert_eq!(retry_delay(ttl, 4, chrono::Duration::seconds(50)), ms(25_000));
        // A 6-second test lock: 300 ms, doubling, at most half the time left.
        let ttl = chrono::Duration::seconds(6);
        assert_eq!(retry_delay(ttl, 1, ms(3_000)), ms(300));
        assert_eq!(retry_delay(ttl, 2, ms(2_500)), ms(600));
        assert_eq!(retry_delay(ttl, 3, ms(1_600)), ms(800));
        // Very short and very long lifetimes stay within 250 ms and 5 s at first.
        assert_eq!(retry_delay(ms(1_000), 1, ms(1_000)), ms(250));
        assert_eq!(
            retry_delay(chrono::Duration::days(1), 1, chrono::Duration::hours(8)),
            ms(5_000)
        );
        // Expired by our estimate: no time left to halve, the backoff alone paces the retries.
        assert_eq!(retry_delay(ttl, 3, ms(-200)), ms(1_200));
    }

    #[test]
    fn a_short_lived_lock_gets_every_retry_before_it_expires() {
        // 6-second lock, renewal due 3 s before expiry, each call failing 100 ms after it was
        // sent: every retry the policy allows must still fall before the expiry.
        let ttl = chrono::Duration::seconds(6);
        let mut entry = LockEntry::new(lock_expiring_at(6), true);
        let mut now = at(3);
        for _ in 1..AUTO_RENEW_MAX_FAILURES {
            assert!(entry.wants_auto_renew(now, ttl));
            now += ms(100);
            assert!(!entry.auto_renew_failed(&timeout(), now, ttl));
            let retry = entry.retry_after.unwrap();
            assert!(
                retry > now && retry < at(6),
                "retry at {retry} for a lock expiring at {}",
                at(6)
            );
            assert!(!entry.wants_auto_renew(now, ttl), "waits for the retry");
            now = retry;
        }
        assert!(entry.wants_auto_renew(now, ttl));
        entry.renewed(lock_expiring_at(10));
        assert_eq!((entry.auto_renew_failures, entry.retry_after), (0, None));
        assert!(entry.auto_renew);
    }

    #[test]
    fn auto_renew_gives_up_after_repeated_or_hopeless_failures() {
        let ttl = chrono::Duration::seconds(600);
        let mut entry = LockEntry::new(lock_expiring_at(600), true);
        for _ in 1..AUTO_RENEW_MAX_FAILURES {
            assert!(!entry.auto_renew_failed(&timeout(), at(400), ttl));
        }
        assert!(entry.auto_renew_failed(&timeout(), at(400), ttl));
        assert!(!entry.auto_renew);

        // Answers that no retry can change: the lock is unknown, expired too long ago to be
        // renewed, or not ours to renew.
        for (status, code) in [(404, 404002), (409, 409002), (401, 401001), (403, 403001)] {
            let mut entry = LockEntry::new(lock_expiring_at(-1), true);
            let refused = ApiError::Api {
                status,
                code: code.to_string(),
                msg: "refused".into(),
            };
            assert!(entry.auto_renew_failed(&refused, at(0), ttl), "{code}");
            assert!(!entry.auto_renew);
        }
        // A transient failure after our estimated expiry is retried: the server extends an
        // expired lock from its old expiry, so the lock may still be saved.
        let mut entry = LockEntry::new(lock_expiring_at(-1), true);
        let failed = ApiError::Api {
            status: 500,
            code: 500001.to_string(),
            msg: "internal error".into(),
        };
        assert!(!entry.auto_renew_failed(&failed, at(0), ttl));
        assert_eq!(entry.retry_after, Some(at(5)));
    }
}
