//! The frame around the features: the status bar, the activity log, the footer with the keys
//! that work now, the help overlay and the quit prompt.

pub mod activity;
pub mod command_line;
pub mod keys;
pub mod view;

use chrono::{DateTime, Utc};

use crate::tui::keymap::Scope;

/// The status bar's changing part.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// The most recent failure, with when it happened. Stays until the next one.
    pub last_error: Option<(DateTime<Utc>, String)>,
    /// Server clock minus local clock, once a call has measured it.
    pub clock_offset: Option<chrono::Duration>,
    /// A one-off confirmation ("copied …"); cleared by the next key.
    pub notice: Option<String>,
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
    CommandLine(command_line::CommandLine),
    /// A line of the activity log, whole (a copy: new lines may push it out of the log).
    LogEntry(Box<activity::LogEntry>),
}

impl Dialog {
    pub fn scope(&self) -> Scope {
        match self {
            Dialog::Help { .. } => Scope::Help,
            Dialog::QuitPrompt { .. } => Scope::QuitPrompt,
            Dialog::CommandLine(_) => Scope::CommandLine,
            Dialog::LogEntry(_) => Scope::LogEntry,
        }
    }
}

#[cfg(test)]
mod tests;
