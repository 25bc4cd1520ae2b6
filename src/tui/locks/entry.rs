//! One held lock as the locks pane keeps it: its countdown, how urgent it is, the call it waits
//! for, and the auto-renew policy. Pure data and arithmetic; `update` decides when to call.

use chrono::{DateTime, Utc};

use crate::api::{ApiError, LockInfo};
use crate::format;
use crate::lease::schedule::{self, renew_ahead, retry_delay};
use crate::lease::{Owner, Purpose, Standing, describe_holder};
use crate::tui::action::Journalled;

/// Time left below which a lock is shown as a warning.
pub const WARNING_BELOW: chrono::Duration = chrono::Duration::seconds(120);
/// Time left below which a lock is shown as critical.
pub const CRITICAL_BELOW: chrono::Duration = chrono::Duration::seconds(30);
/// Auto-renew gives up after this many failures in a row (the renewal policy itself is
/// [`crate::lease::schedule`]'s, shared with every other holder).
pub const AUTO_RENEW_MAX_FAILURES: u32 = 5;

/// Who holds a lock the pane shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Holder {
    /// This app: created here (on purpose, or for one operation) or adopted.
    App(Purpose),
    /// Anyone else, as the journal names them, and where they stand from here.
    Other {
        owner: Option<Owner>,
        standing: Standing,
    },
}

impl Holder {
    /// The holder of a journal entry: this app when the entry says this process.
    pub fn of(entry: &Journalled) -> Holder {
        match (&entry.owner, entry.standing) {
            (Some(owner), Standing::Mine) => Holder::App(owner.purpose.clone()),
            (owner, standing) => Holder::Other {
                owner: owner.clone(),
                standing,
            },
        }
    }

    pub fn is_app(&self) -> bool {
        matches!(self, Holder::App(_))
    }

    /// A lock this app took for one operation, released when it ends.
    pub fn is_for_operation(&self) -> bool {
        matches!(self, Holder::App(Purpose::Operation { .. }))
    }

    pub fn is_orphaned(&self) -> bool {
        matches!(
            self,
            Holder::Other {
                standing: Standing::Orphaned,
                ..
            }
        )
    }

    /// Whether this app may take the lock over (adopt it): not while another process that
    /// still runs (or may, on another host) holds it.
    pub fn adoptable(&self) -> Result<(), String> {
        match self {
            Holder::App(_) => Err("this app holds it already".into()),
            Holder::Other { owner, standing } => match standing {
                Standing::Running | Standing::Ancestor | Standing::Elsewhere => Err(format!(
                    "it is {}, which may still be using it: it cannot be adopted",
                    describe_holder(owner.as_ref(), *standing)
                )),
                _ => Ok(()),
            },
        }
    }

    /// In a table cell: "this app", "this app: one delete", "`lock hold` of `restic`", …
    pub fn label(&self) -> String {
        match self {
            // "app: delete record 7" names the app to other processes; here it is said already.
            Holder::App(Purpose::Operation { what }) => format!(
                "this app: {}",
                format::escape(what.strip_prefix("app: ").unwrap_or(what))
            ),
            Holder::App(Purpose::App { adopted: true }) => "this app (adopted)".into(),
            Holder::App(_) => "this app".into(),
            Holder::Other {
                owner: Some(owner),
                standing,
            } => match standing {
                Standing::Orphaned => format!("orphaned ({})", owner.purpose.describe()),
                Standing::Kept => "you (kept)".into(),
                _ => format!("{} pid {}", owner.purpose.describe(), owner.pid),
            },
            Holder::Other {
                owner: None,
                standing,
            } => standing.label().into(),
        }
    }

    /// In a sentence: "held by `lock hold` of `restic backup` on web-01, pid 4711, since …".
    pub fn describe(&self) -> String {
        match self {
            Holder::App(purpose) => format!("held by this app ({})", purpose.describe()),
            Holder::Other { owner, standing } => describe_holder(owner.as_ref(), *standing),
        }
    }
}

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
    pub holder: Holder,
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
    /// A lock taken for one operation whose release failed: released again at this time (the
    /// operation is over; until the release lands the module waits for it).
    pub release_again_at: Option<DateTime<Utc>>,
    pub release_failures: u32,
}

impl LockEntry {
    pub fn new(lock: LockInfo, auto_renew: bool, holder: Holder) -> LockEntry {
        LockEntry {
            lock,
            auto_renew,
            holder,
            busy: None,
            gone: false,
            auto_renew_failures: 0,
            retry_after: None,
            seen_in_journal: false,
            expiry_noted: false,
            release_again_at: None,
            release_failures: 0,
        }
    }

    /// An entry read from the journal file.
    pub fn from_journal(entry: Journalled) -> LockEntry {
        let holder = Holder::of(&entry);
        LockEntry {
            seen_in_journal: true,
            ..LockEntry::new(entry.lock, entry.auto_renew, holder)
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
        if !schedule::is_retryable(error) || self.auto_renew_failures >= AUTO_RENEW_MAX_FAILURES {
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
        let entry = LockEntry::new(
            lock_expiring_at(600),
            false,
            Holder::App(Purpose::App { adopted: false }),
        );
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
        let mut entry = LockEntry::new(
            lock_expiring_at(600),
            true,
            Holder::App(Purpose::App { adopted: false }),
        );
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
    fn a_short_lived_lock_gets_every_retry_before_it_expires() {
        // 6-second lock, renewal due 3 s before expiry, each call failing 100 ms after it was
        // sent: every retry the policy allows must still fall before the expiry.
        let ttl = chrono::Duration::seconds(6);
        let mut entry = LockEntry::new(
            lock_expiring_at(6),
            true,
            Holder::App(Purpose::App { adopted: false }),
        );
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
        let mut entry = LockEntry::new(
            lock_expiring_at(600),
            true,
            Holder::App(Purpose::App { adopted: false }),
        );
        for _ in 1..AUTO_RENEW_MAX_FAILURES {
            assert!(!entry.auto_renew_failed(&timeout(), at(400), ttl));
        }
        assert!(entry.auto_renew_failed(&timeout(), at(400), ttl));
        assert!(!entry.auto_renew);

        // Answers that no retry can change: the lock is unknown, expired too long ago to be
        // renewed, or not ours to renew.
        for (status, code) in [(404, 404002), (409, 409002), (401, 401001), (403, 403001)] {
            let mut entry = LockEntry::new(
                lock_expiring_at(-1),
                true,
                Holder::App(Purpose::App { adopted: false }),
            );
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
        let mut entry = LockEntry::new(
            lock_expiring_at(-1),
            true,
            Holder::App(Purpose::App { adopted: false }),
        );
        let failed = ApiError::Api {
            status: 500,
            code: 500001.to_string(),
            msg: "internal error".into(),
        };
        assert!(!entry.auto_renew_failed(&failed, at(0), ttl));
        assert_eq!(entry.retry_after, Some(at(5)));
    }
}
