//! The locks pane: the locks this user holds (from the journal, created here, or adopted), their
//! live countdowns, renewing (by hand, by auto-renew, or while a bulk delete needs the lock) and
//! releasing.
//!
//! Journal rule: an API error never removes a lock from the journal. Only a successful release
//! removes one, or a release answered 404002 ("lock not found"): the server no longer knows the
//! lock, so there is nothing left to release. A *renewal* answered 404002 keeps the lock, marked
//! "gone", so the user sees what happened.
//!
//! Ownership rule (see [`crate::lease`]): the pane shows every lock of the journal with its
//! holder, but record operations run only under this app's own locks ([`State::own_locks`]):
//! one created here on purpose (`n`) or adopted (`i`), or one created for that operation alone
//! and released when it ends. Another process's lock is never used; an orphaned one (its
//! process gone) may be released to make way.

pub mod clock;
pub mod dialogs;
pub mod dialogs_view;
pub mod entry;
pub mod keys;
pub mod live;
pub mod replies;
pub mod update;
pub mod view;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::api::ModuleCode;
use crate::format;
use crate::lease::Purpose;
use crate::tui::action::Journalled;
use crate::tui::feature::{Foreign, OwnLock};
use crate::tui::widgets::short_lock_id;
pub use dialogs::Dialog;
pub use entry::{Busy, Holder, LockEntry, Urgency};

/// What a locks call in flight was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    Create {
        module: ModuleCode,
        purpose: Purpose,
    },
    /// `after_expiry`: the lock had expired (by our clock, at this time) when the renewal was
    /// sent: what ran under it was unprotected since, whatever the server answers.
    Renew {
        lock_id: String,
        auto: bool,
        after_expiry: Option<DateTime<Utc>>,
    },
    Adopt {
        lock_id: String,
    },
    Release {
        lock_id: String,
    },
}

impl Pending {
    /// The operation column of the activity log.
    pub fn describe(&self) -> String {
        match self {
            Pending::Create { module, .. } => format!("create lock {}", module.code()),
            Pending::Renew {
                lock_id, auto: false, ..
            } => format!("renew {}", short_lock_id(lock_id)),
            Pending::Renew {
                lock_id, auto: true, ..
            } => format!("auto-renew {}", short_lock_id(lock_id)),
            Pending::Adopt { lock_id } => format!("adopt {}", short_lock_id(lock_id)),
            Pending::Release { lock_id } => format!("release {}", short_lock_id(lock_id)),
        }
    }
}

/// The locks pane: entries plus the cursor, the locks being created, and the pane's dialog.
#[derive(Debug, Clone, Default)]
pub struct State {
    entries: Vec<LockEntry>,
    /// Index into `entries`; always a valid one while there are entries.
    selected: usize,
    /// First entry shown (the view scrolls so that `selected` stays visible).
    offset: usize,
    /// Show lock ids in full instead of shortened.
    pub full_ids: bool,
    /// Modules whose lock is being created right now (shown as busy rows).
    creating: Vec<ModuleCode>,
    /// Locks kept renewed whatever their auto-renew setting (a bulk delete runs under them).
    pinned: BTreeSet<String>,
    /// A lock to create for this purpose once this orphaned lock is released.
    after_release: Option<(String, ModuleCode, Purpose)>,
    pub dialog: Option<Dialog>,
}

impl State {
    /// The pane showing `held` (this connection's journal entries).
    pub fn new(held: Vec<Journalled>) -> State {
        State {
            entries: held.into_iter().map(LockEntry::from_journal).collect(),
            ..State::default()
        }
    }

    pub fn entries(&self) -> &[LockEntry] {
        &self.entries
    }

    pub fn selected(&self) -> usize {
        self.selected
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn creating(&self) -> &[ModuleCode] {
        &self.creating
    }

    /// Modules whose lock is being created, or will be once an orphaned lock is released: an
    /// operation waiting for one of them keeps waiting.
    pub fn coming(&self) -> Vec<ModuleCode> {
        let mut modules = self.creating.clone();
        modules.extend(self.after_release.iter().map(|(_, module, _)| *module));
        modules
    }

    pub fn selected_entry(&self) -> Option<&LockEntry> {
        self.entries.get(self.selected)
    }

    pub fn find(&self, lock_id: &str) -> Option<&LockEntry> {
        self.entries.iter().find(|e| e.id() == lock_id)
    }

    fn find_mut(&mut self, lock_id: &str) -> Option<&mut LockEntry> {
        self.entries.iter_mut().find(|e| e.id() == lock_id)
    }

    pub fn contains(&self, lock_id: &str) -> bool {
        self.find(lock_id).is_some()
    }

    /// Adds an entry and selects it.
    fn push(&mut self, entry: LockEntry, visible_rows: usize) {
        self.entries.push(entry);
        self.selected = self.entries.len() - 1;
        self.scroll_to_selection(visible_rows);
    }

    fn remove(&mut self, lock_id: &str) -> Option<LockEntry> {
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

    /// Selects the `row`-th visible line, if a lock is there.
    pub fn click(&mut self, row: usize) {
        let index = self.offset + row;
        if index < self.entries.len() {
            self.selected = index;
        }
    }

    /// Whether a call on some lock is in flight (the spinner then turns).
    pub fn is_busy(&self) -> bool {
        !self.creating.is_empty() || self.entries.iter().any(|e| e.busy.is_some())
    }

    /// This app's locks that are live at `now` and not being released: what record operations
    /// may run under.
    pub fn own_locks(&self, now: DateTime<Utc>) -> Vec<OwnLock> {
        self.entries
            .iter()
            .filter(|e| e.holder.is_app() && e.is_live(now) && e.busy != Some(Busy::Releasing))
            .map(|e| OwnLock {
                lock: e.lock.clone(),
                for_operation: e.holder.is_for_operation(),
                release_failed: e.release_failures > 0,
            })
            .collect()
    }

    /// Locks of others that may hold a module at `now`, for "whose lock is it" answers.
    pub fn foreign(&self, now: DateTime<Utc>) -> Vec<Foreign> {
        self.entries
            .iter()
            .filter(|e| !e.holder.is_app() && !e.gone && !e.lock.is_expired(now))
            .map(|e| Foreign {
                module: e.lock.module,
                lock_id: e.id().to_string(),
                holder: e.holder.describe(),
                orphaned: e.holder.is_orphaned(),
            })
            .collect()
    }

    /// The ids of the live locks worth releasing before quitting: this app's, and the ones
    /// the user keeps (`lock create`, or entries of older koobackups). Locks of other processes
    /// are their holders' to release.
    pub fn live_ids(&self, now: DateTime<Utc>) -> Vec<String> {
        self.live_of_app(now).map(|e| e.id().to_string()).collect()
    }

    /// The live locks this app holds, one line each for the quit prompt: "102 address book
    /// 1358b16f…@102 09:58".
    pub fn live_labels(&self, now: DateTime<Utc>) -> Vec<String> {
        self.live_of_app(now)
            .map(|e| {
                format!(
                    "{}  {}  {}",
                    format::module_label(e.lock.module),
                    format::escape(&short_lock_id(e.id())),
                    e.countdown(now)
                )
            })
            .collect()
    }

    /// How many of the app's live locks it renews on its own (auto-renew): what a switch to
    /// another connection would leave unrenewed.
    pub fn auto_renewed(&self, now: DateTime<Utc>) -> usize {
        self.live_of_app(now).filter(|e| e.auto_renew).count()
    }

    /// Only the app's own: a lock kept with `lock create` (a script may use it by its id) or held
    /// by another operation is not the app's to release or keep when it quits.
    fn live_of_app(&self, now: DateTime<Utc>) -> impl Iterator<Item = &LockEntry> {
        self.entries
            .iter()
            .filter(move |e| e.holder.is_app() && e.is_live(now))
    }

    /// The countdowns and urgencies as shown (to tell whether a tick changed the screen).
    pub fn countdown_texts(&self, now: DateTime<Utc>) -> Vec<(String, Urgency)> {
        self.entries
            .iter()
            .map(|e| (e.countdown(now), Urgency::of(&e.lock, now)))
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn entries_mut(&mut self) -> &mut Vec<LockEntry> {
        &mut self.entries
    }
}
