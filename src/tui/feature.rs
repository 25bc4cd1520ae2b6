//! What `app.rs` and a feature (`locks`, `records`, `shell`) exchange. A feature owns its state
//! and changes it in its `update` and `on_reply` functions, reading the rest of the app only
//! through [`Ctx`] and asking for everything else through [`Out`]. Features never import each
//! other or `app.rs`: they meet in `app.rs`, which routes.

use chrono::{DateTime, FixedOffset, Utc};

use super::action::{ApiCall, Effect};
use crate::api::{LockInfo, ModuleCode};

/// Who we are connected to.
#[derive(Debug, Clone)]
pub struct Session {
    /// Profile name, or a description of the embedded demo server.
    pub label: String,
    pub embedded: bool,
    pub base_url: String,
    pub user_id: String,
    /// Lock lifetime of this server.
    pub lock_ttl: chrono::Duration,
    /// Offset used to show times (the local time zone; UTC in tests).
    pub display_offset: FixedOffset,
    /// The profile's retention policy, which the clean-up view starts with.
    pub retention: Option<crate::retention::Retention>,
    /// The profile's `delete_grace` (longer than zero): deletes are queued for this long
    /// instead of being sent (see [`crate::pending`]); `None` sends them at once.
    pub delete_grace: Option<chrono::Duration>,
    /// The profile's health thresholds: when the Devices view calls a backup late or stale.
    pub health: crate::health::Rules,
    /// Only look: keys that would change the server are refused (and the client sends only
    /// reads).
    pub read_only: bool,
}

impl Session {
    /// A time in the display zone, to the minute: `2025-11-03 07:00`.
    pub fn minutes(&self, time: DateTime<Utc>) -> String {
        time.with_timezone(&self.display_offset)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

/// The panes that take focus, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Locks,
    Activity,
    /// Shown in the locks pane's place while it (or the log below it) has the focus.
    Records,
    /// Likewise.
    Devices,
    /// Likewise; opened from the command line (`:history`), not in the Tab order.
    History,
    /// Likewise (`:pending`): the deletions queued with a grace window.
    Pending,
}

impl Pane {
    /// In Tab order (Shift+Tab from the locks pane goes to the records pane).
    pub const ALL: [Pane; 4] = [Pane::Locks, Pane::Activity, Pane::Devices, Pane::Records];

    pub fn cycle(self, step: isize) -> Pane {
        let index = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0) as isize;
        let next = (index + step).rem_euclid(Pane::ALL.len() as isize) as usize;
        Pane::ALL[next]
    }
}

/// What a feature may read of the rest of the app while it updates.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// This machine's clock.
    pub now: DateTime<Utc>,
    pub session: &'a Session,
    /// Server clock minus ours, once an answer has measured it.
    pub clock_offset: Option<chrono::Duration>,
    /// Rows the upper pane shows (at least 1).
    pub visible_rows: usize,
    /// The whole screen, for dialogs whose text is wrapped to it.
    pub screen: ratatui::layout::Rect,
    /// This app's own locks that are live now and not being released: the only ones record
    /// operations run under.
    pub own_locks: &'a [OwnLock],
    /// Other holders' live locks, for "whose lock is it" answers.
    pub foreign: &'a [Foreign],
    /// Modules whose lock is being created right now (or will be, after an orphan's release).
    pub creating: &'a [ModuleCode],
    /// The most recent failure's text, for "could not …: why" messages.
    pub last_error: Option<&'a str>,
}

impl Ctx<'_> {
    /// This app's lock held on purpose for `module` (not one taken for another operation), if
    /// it has one.
    pub fn live_lock(&self, module: ModuleCode) -> Option<&LockInfo> {
        self.own_locks
            .iter()
            .find(|own| own.lock.module == module && !own.for_operation)
            .map(|own| &own.lock)
    }

    /// This app's lock for `module` taken for one operation, if there is one.
    pub fn operation_lock(&self, module: ModuleCode) -> Option<&OwnLock> {
        self.own_locks
            .iter()
            .find(|own| own.lock.module == module && own.for_operation)
    }

    /// Another holder's live lock on `module`, orphaned ones last.
    pub fn foreign_holder(&self, module: ModuleCode) -> Option<&Foreign> {
        let mut holders: Vec<&Foreign> = self.foreign.iter().filter(|f| f.module == module).collect();
        holders.sort_by_key(|f| f.orphaned);
        holders.first().copied()
    }

    /// The instant clean-up measures ages at (see [`crate::cleanup::ages_measured_at`]).
    pub fn cleanup_now(&self) -> DateTime<Utc> {
        crate::cleanup::ages_measured_at(self.now, self.server_now())
    }

    /// Our estimate of the server's clock now: the times of records are the server's, so their
    /// ages are measured on it. This machine's clock until an answer has measured the offset.
    pub fn server_now(&self) -> DateTime<Utc> {
        match self.clock_offset {
            Some(offset) => self.now.checked_add_signed(offset).unwrap_or(self.now),
            None => self.now,
        }
    }
}

/// A lock this app holds, live now, that record operations may run under.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnLock {
    pub lock: LockInfo,
    /// Created for one operation (released when it ends), rather than held on purpose.
    pub for_operation: bool,
    /// Its operation ended but the release failed; it is being released again.
    pub release_failed: bool,
}

/// A lock someone other than this app holds, as the records side needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    pub module: ModuleCode,
    pub lock_id: String,
    /// "held by `lock hold` of `restic backup` on web-01, pid 4711, since …".
    pub holder: String,
    /// Its process is gone: it may be released to make way.
    pub orphaned: bool,
}

/// How an activity-log line a feature writes is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Info,
    Warning,
    /// A failed operation; the KooDrive code when there is one.
    Failure(Option<i64>),
}

/// What a feature asks of the app, besides changing its own state. `P` is the feature's own
/// record of a call in flight, which comes back with the call's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Out<P> {
    /// An API call.
    Call(P, ApiCall),
    /// Work for the runtime (journal, clipboard, bulk delete, editor).
    Effect(Effect),
    /// A one-off message in the footer.
    Notice(String),
    Log {
        kind: LogKind,
        operation: &'static str,
        text: String,
    },
    /// A failure for the status bar's "last error" line.
    Error(String),
    Focus(Pane),
    /// Records: an operation (`what`) waits for a lock on this module; create one for it.
    NeedLock {
        module: ModuleCode,
        what: String,
    },
    /// Records: release this orphaned lock, then create one for the waiting operation.
    ReleaseOrphanThenLock {
        orphan: String,
        module: ModuleCode,
        what: String,
    },
    /// Records: the operation that took this lock for itself is over; release it.
    ReleaseLock(String),
    /// Locks: this lock is lost (the server no longer knows it, or it ran out beyond renewal):
    /// stop what runs under it.
    LockLost(String),
    /// Records: keep this lock renewed while a bulk delete runs under it, even without
    /// auto-renew; and stop that again.
    PinLock(String),
    UnpinLock(String),
    /// Devices: show this device's records of `module` in the records pane.
    BrowseRecords {
        module: ModuleCode,
        device_id: String,
    },
}

impl<P> Out<P> {
    pub fn log(kind: LogKind, operation: &'static str, text: impl Into<String>) -> Out<P> {
        Out::Log {
            kind,
            operation,
            text: text.into(),
        }
    }

    pub fn notice(text: impl Into<String>) -> Out<P> {
        Out::Notice(text.into())
    }

    /// Puts `text` (an id, of `kind` if given) on the clipboard with OSC 52 and says so.
    pub fn copy(kind: Option<&str>, text: String) -> Vec<Out<P>> {
        let named = kind.map_or_else(|| text.clone(), |kind| format!("{kind} {text}"));
        vec![
            Out::notice(format!("copied {named} to the clipboard (OSC 52)")),
            Out::Effect(Effect::CopyToClipboard(text)),
        ]
    }
}
