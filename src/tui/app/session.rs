//! The connection the app works on: switching to another profile or user (the runtime connects;
//! the panes then start again for the new server and user, with its locks from the journal).
//! A switch that would leave auto-renewed locks unrenewed asks first; the live locks left on
//! other connections are remembered, so the quit prompt counts them too.

use chrono::{DateTime, Utc};

use super::App;
use crate::api::LockInfo;
use crate::format;
use crate::tui::action::{ConnectTo, Effect, Switched};
use crate::tui::feature::Pane;
use crate::tui::locks;
use crate::tui::records;
use crate::tui::shell::Dialog;
use crate::tui::shell::activity::Outcome;
use crate::tui::widgets::short_lock_id;

/// A live lock of a connection switched away from: still in the journal, renewed by nothing.
#[derive(Debug, Clone)]
pub(super) struct LeftBehind {
    label: String,
    base_url: String,
    user_id: String,
    lock: LockInfo,
}

impl App {
    /// `:profile` or `:user`: switches, after asking if auto-renewed locks would stop being
    /// renewed (the same connection again leaves nothing behind).
    pub(super) fn connect(&mut self, to: ConnectTo) -> Vec<Effect> {
        let what = match &to {
            ConnectTo::Profile(name) => format!("profile {name}"),
            ConnectTo::User(id) => format!("user {id} on {}", self.session.label),
        };
        let same = match &to {
            ConnectTo::Profile(_) => what == self.session.label,
            ConnectTo::User(id) => *id == self.session.user_id,
        };
        let renewed = self.locks.auto_renewed(self.now);
        if renewed > 0 && !same {
            self.shell = Some(Dialog::ConfirmSwitch { to, what, renewed });
            return Vec::new();
        }
        self.switch_to(to)
    }

    pub(super) fn switch_to(&mut self, to: ConnectTo) -> Vec<Effect> {
        let what = match &to {
            ConnectTo::Profile(name) => format!("profile {name}"),
            ConnectTo::User(id) => format!("user {id} on {}", self.session.label),
        };
        let text = if self.is_busy() {
            format!("switching to {what} once the calls in flight have answered…")
        } else {
            format!("switching to {what}…")
        };
        self.activity
            .note(self.now, Outcome::Info, "connect", text.clone());
        self.status.notice = Some(text);
        self.switching = Some(what);
        vec![Effect::Connect(to)]
    }

    /// The runtime switched connections: the panes start again for the new server and user,
    /// with its locks from the journal. The old connection's locks stay in the journal.
    pub(super) fn on_connected(&mut self, switched: Switched) {
        self.switching = None;
        let live = self.locks.live_ids(self.now).len();
        let same_locks = switched.session.base_url == self.session.base_url
            && switched.session.user_id == self.session.user_id;
        if live > 0 && !same_locks {
            let text = format!(
                "{live} live lock(s) of {} stay in the journal; nothing here renews them now",
                self.session.label
            );
            self.activity.note(self.now, Outcome::Warning, "connect", text);
            let left = self.locks.own_locks(self.now).into_iter().map(|own| LeftBehind {
                label: self.session.label.clone(),
                base_url: self.session.base_url.clone(),
                user_id: self.session.user_id.clone(),
                lock: own.lock,
            });
            self.left_behind.extend(left);
        }
        // Back on a connection: its locks are in the panes again (from the journal).
        let (base_url, user_id) = (&switched.session.base_url, &switched.session.user_id);
        self.left_behind
            .retain(|left| (&left.base_url, &left.user_id) != (base_url, user_id));
        // Held back for the old connection: not for this one.
        for unrecorded in std::mem::take(&mut self.asks) {
            let text = format!(
                "{}: not sent (another connection is in use now)",
                unrecorded.what()
            );
            self.activity.note(self.now, Outcome::Info, "history", text);
        }
        self.read_only_forced = switched.session.read_only;
        // A new journal writer counts its changes from zero.
        self.journal_changes_sent = 0;
        self.session = switched.session;
        self.session.read_only |= self.read_only_chosen;
        self.locks = locks::State::new(switched.held);
        self.records = records::State::default();
        self.devices.reset();
        self.quit_plan = None;
        self.status.last_error = None;
        self.status.forget_offset();
        let text = format!(
            "{} at {} as user {}",
            self.session.label, self.session.base_url, self.session.user_id
        );
        self.activity
            .note(self.now, Outcome::Info, "connect", text.clone());
        self.status.notice = Some(format!("now on {text}"));
        let held = self.locks.entries().len();
        if held > 0 {
            let message = format!("{held} lock(s) from the journal");
            self.activity.note(self.now, Outcome::Info, "journal", message);
        }
        for warning in switched.warnings {
            self.warn("warning", warning);
        }
        self.focus_pane(Pane::Locks);
    }
}

impl App {
    /// The live locks left on other connections, one line each for the quit prompt: "profile
    /// one: 100 folder  0b6e7a1c…@100  09:05".
    pub fn left_behind_labels(&self, now: DateTime<Utc>) -> Vec<String> {
        self.left_behind
            .iter()
            .filter(|left| !left.lock.is_expired(now))
            .map(|left| {
                format!(
                    "{}: {}  {}  {}",
                    format::escape(&left.label),
                    format::module_label(left.lock.module),
                    format::escape(&short_lock_id(&left.lock.lock_id)),
                    format::countdown(left.lock.time_left(now))
                )
            })
            .collect()
    }
}
