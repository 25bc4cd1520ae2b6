//! The frame around the features: the status bar, the activity log, the footer with the keys
//! that work now, the help overlay and the quit prompt.

pub mod activity;
pub mod command_line;
pub mod keys;
pub mod view;
pub mod view_status;

use chrono::{DateTime, Utc};

use crate::tui::keymap::Scope;

/// The status bar's changing part.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// The most recent failure, with when it happened: red for [`ERROR_FRESH`], then shown as
    /// an old one until [`ERROR_KEPT`] has passed or it is dismissed (the log keeps it).
    pub last_error: Option<(DateTime<Utc>, String)>,
    /// Server clock minus local clock, once a call has measured it: the median of the recent
    /// measurements, so that one slow answer does not make the figure (or record ages) jump.
    pub clock_offset: Option<chrono::Duration>,
    /// The recent measurements, newest last.
    offsets: std::collections::VecDeque<chrono::Duration>,
    /// A one-off confirmation ("copied …"); cleared by the next key.
    pub notice: Option<String>,
}

/// How long an error is shown as news (in the error colour).
pub const ERROR_FRESH: chrono::Duration = chrono::Duration::minutes(1);
/// How long an error stays in the status bar at all.
pub const ERROR_KEPT: chrono::Duration = chrono::Duration::minutes(15);

/// The error the status bar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownError<'a> {
    pub at: DateTime<Utc>,
    pub message: &'a str,
    /// Whole minutes since it happened.
    pub minutes: i64,
}

impl ShownError<'_> {
    /// Still news: drawn in the error colour.
    pub fn fresh(&self) -> bool {
        self.minutes < ERROR_FRESH.num_minutes()
    }
}

/// Measurements the clock offset is the median of.
const OFFSET_SAMPLES: usize = 9;

impl Status {
    /// Takes in one measurement of the clock offset.
    pub fn measured_offset(&mut self, offset: chrono::Duration) {
        if self.offsets.len() == OFFSET_SAMPLES {
            self.offsets.pop_front();
        }
        self.offsets.push_back(offset);
        let mut sorted: Vec<chrono::Duration> = self.offsets.iter().copied().collect();
        sorted.sort_unstable();
        self.clock_offset = Some(sorted[sorted.len() / 2]);
    }

    /// The error to show at `now`, if one happened less than [`ERROR_KEPT`] ago.
    pub fn shown_error(&self, now: DateTime<Utc>) -> Option<ShownError<'_>> {
        let (at, message) = self.last_error.as_ref()?;
        let age = now.signed_duration_since(*at);
        (age < ERROR_KEPT).then(|| ShownError {
            at: *at,
            message,
            minutes: age.num_minutes().max(0),
        })
    }

    /// When the error line next changes by itself (its age in minutes, its dropping).
    pub fn error_changes(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let shown = self.shown_error(now)?;
        shown
            .at
            .checked_add_signed(chrono::Duration::minutes(shown.minutes + 1))
    }

    /// Forgets the measurements (another server now).
    pub fn forget_offset(&mut self) {
        self.offsets.clear();
        self.clock_offset = None;
    }
}

/// The shell's own dialogs.
#[derive(Debug, Clone)]
pub enum Dialog {
    /// The key list, scrolled down by `scroll` lines.
    Help {
        scroll: usize,
    },
    QuitPrompt {
        live_locks: usize,
    },
    /// A `:profile`/`:user` switch that would leave `renewed` auto-renewed locks unrenewed,
    /// asked first; `to` names where it goes ("profile two").
    ConfirmSwitch {
        to: crate::tui::action::ConnectTo,
        what: String,
        renewed: usize,
    },
    CommandLine(command_line::CommandLine),
    /// A line of the activity log, whole (a copy: new lines may push it out of the log).
    LogEntry(Box<activity::LogEntry>),
}

impl Dialog {
    pub fn scope(&self) -> Scope {
        match self {
            Dialog::Help { .. } => Scope::Help,
            Dialog::QuitPrompt { .. } => Scope::QuitPrompt,
            Dialog::ConfirmSwitch { .. } => Scope::Confirm,
            Dialog::CommandLine(_) => Scope::CommandLine,
            Dialog::LogEntry(_) => Scope::LogEntry,
        }
    }
}

#[cfg(test)]
mod tests;
