//! State of the locks pane: the locks this user holds, their countdowns and the auto-renew
//! policy. Pure data and arithmetic; `App::update` decides when to call the API.

use chrono::{DateTime, Utc};

use crate::api::error::ErrorKind;
use crate::api::{ApiError, LockInfo};

/// Time left below which a lock is shown as a warning.
pub const WARNING_BELOW: chrono::Duration = chrono::Duration::seconds(120);
/// Time left below which a lock is shown as critical.
pub const CRITICAL_BELOW: chrono::Duration = chrono::Duration::seconds(30);
/// Auto-renew gives up after this many failures in a row.
pub const AUTO_RENEW_MAX_FAILURES: u32 = 5;
/// Wait after the first failed auto-renewal; doubled after each further failure.
const AUTO_RENEW_FIRST_BACKOFF: chrono::Duration = chrono::Duration::seconds(5);

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
        }
    }

    pub fn id(&self) -> &str {
        &self.lock.lock_id
    }

    /// Live = neither expired nor known to be gone: worth releasing before quitting.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        !self.gone && !self.lock.is_expired(now) && self.busy != Some(Busy::Adopting)
    }

    /// The countdown as shown: `mm:ss`, or a word once there is nothing to count.
    pub fn countdown(&self, now: DateTime<Utc>) -> String {
        if self.busy == Some(Busy::Adopting) {
            "--:--".into()
        } else if self.gone {
            "gone".into()
        } else if self.lock.is_expired(now) {
            "expired".into()
        } else {
            let secs = self.lock.time_left(now).num_seconds();
            format!("{:02}:{:02}", secs / 60, secs % 60)
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
    /// after [`AUTO_RENEW_MAX_FAILURES`] failures, or at once when retrying cannot help.
    pub fn auto_renew_failed(&mut self, error: &ApiError, now: DateTime<Utc>) -> bool {
        self.auto_renew_failures += 1;
        let retryable = matches!(error.kind(), ErrorKind::Network | ErrorKind::Server);
        if !retryable || self.auto_renew_failures >= AUTO_RENEW_MAX_FAILURES {
            self.auto_renew = false;
            self.auto_renew_failures = 0;
            self.retry_after = None;
            return true;
        }
        let backoff = AUTO_RENEW_FIRST_BACKOFF * 2i32.pow(self.auto_renew_failures - 1);
        self.retry_after = Some(now + backoff);
        false
    }

    pub fn renewed(&mut self, lock: LockInfo) {
        self.lock = lock;
        self.gone = false;
        self.auto_renew_failures = 0;
        self.retry_after = None;
    }
}

/// How long before expiry auto-renew acts: a third of the lifetime, at least 30 seconds, so
/// there is time for several retries before the lock runs out.
pub fn renew_ahead(ttl: chrono::Duration) -> chrono::Duration {
    (ttl / 3).max(chrono::Duration::seconds(30))
}

/// The locks pane: entries plus the cursor.
#[derive(Debug, Clone, Default)]
pub struct LocksPane {
    pub entries: Vec<LockEntry>,
    pub selected: usize,
    /// First entry shown (the view scrolls so that `selected` stays visible).
    pub offset: usize,
    /// Show lock ids in full instead of shortened.
    pub full_ids: bool,
    /// Modules whose lock is being created right now (shown as busy rows).
    pub creating: Vec<crate::api::ModuleCode>,
}

impl LocksPane {
    pub fn selected_entry(&self) -> Option<&LockEntry> {
        self.entries.get(self.selected)
    }

    pub fn find_mut(&mut self, lock_id: &str) -> Option<&mut LockEntry> {
        self.entries.iter_mut().find(|e| e.id() == lock_id)
    }

    pub fn contains(&self, lock_id: &str) -> bool {
        self.entries.iter().any(|e| e.id() == lock_id)
    }

    pub fn remove(&mut self, lock_id: &str) -> Option<LockEntry> {
        let index = self.entries.iter().position(|e| e.id() == lock_id)?;
        let entry = self.entries.remove(index);
        if self.selected >= self.entries.len() {
            self.selected = self.entries.len().saturating_sub(1);
        }
        Some(entry)
    }

    /// Moves the cursor by `delta` rows (clamped) and scrolls to keep it within `visible` rows.
    pub fn move_selection(&mut self, delta: isize, visible: usize) {
        let last = self.entries.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.scroll_to_selection(visible);
    }

    pub fn scroll_to_selection(&mut self, visible: usize) {
        let visible = visible.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + visible {
            self.offset = self.selected + 1 - visible;
        }
    }

    pub fn is_busy(&self) -> bool {
        !self.creating.is_empty() || self.entries.iter().any(|e| e.busy.is_some())
    }
}

/// `abcdef12-…@102` → `abcdef12…@102`: enough to tell locks apart, short enough for a table.
pub fn short_id(lock_id: &str) -> String {
    let (head, module) = match lock_id.rsplit_once('@') {
        Some((head, module)) => (head, Some(module)),
        None => (lock_id, None),
    };
    let short: String = head.chars().take(8).collect();
    let ellipsis = if head.chars().count() > 8 { "…" } else { "" };
    match module {
        Some(module) => format!("{short}{ellipsis}@{module}"),
        None => format!("{short}{ellipsis}"),
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

    #[test]
    fn auto_renew_acts_a_third_of_the_ttl_ahead_and_backs_off() {
        let ttl = chrono::Duration::seconds(600);
        let mut entry = LockEntry::new(lock_expiring_at(600), true);
        assert!(!entry.wants_auto_renew(at(399), ttl));
        assert!(entry.wants_auto_renew(at(400), ttl));
        let timeout = ApiError::Timeout {
            after: std::time::Duration::from_secs(10),
        };
        assert!(!entry.auto_renew_failed(&timeout, at(400)));
        assert!(!entry.wants_auto_renew(at(404), ttl));
        assert!(entry.wants_auto_renew(at(405), ttl));
        assert!(!entry.auto_renew_failed(&timeout, at(405)));
        assert_eq!(entry.retry_after, Some(at(415)));
    }

    #[test]
    fn auto_renew_gives_up_after_repeated_or_hopeless_failures() {
        let mut entry = LockEntry::new(lock_expiring_at(600), true);
        let timeout = ApiError::Timeout {
            after: std::time::Duration::from_secs(10),
        };
        for _ in 1..AUTO_RENEW_MAX_FAILURES {
            assert!(!entry.auto_renew_failed(&timeout, at(400)));
        }
        assert!(entry.auto_renew_failed(&timeout, at(400)));
        assert!(!entry.auto_renew);

        let mut entry = LockEntry::new(lock_expiring_at(600), true);
        let gone = ApiError::Api {
            status: 404,
            code: 404002,
            msg: "lock not found".into(),
        };
        assert!(entry.auto_renew_failed(&gone, at(400)));
    }

    #[test]
    fn short_ids_keep_the_module() {
        assert_eq!(short_id("0b6e7a1c-5c1f-4a8e@102"), "0b6e7a1c…@102");
        assert_eq!(short_id("abc@100"), "abc@100");
        assert_eq!(short_id("plainid"), "plainid");
    }

    #[test]
    fn selection_scrolls_into_view() {
        let mut pane = LocksPane::default();
        for i in 0..10 {
            pane.entries.push(LockEntry::new(lock_expiring_at(i), false));
        }
        pane.move_selection(5, 3);
        assert_eq!((pane.selected, pane.offset), (5, 3));
        pane.move_selection(100, 3);
        assert_eq!((pane.selected, pane.offset), (9, 7));
        pane.move_selection(-100, 3);
        assert_eq!((pane.selected, pane.offset), (0, 0));
    }
}
