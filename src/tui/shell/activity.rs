//! The activity log: one line per API call (time, operation, result, latency) and per notable
//! event. Kept in memory, newest last, bounded.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::api::ApiError;
use crate::tui::feature::LogKind;

/// Lines kept; older ones are dropped.
pub const LOG_CAPACITY: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The call succeeded (code 0).
    Success,
    /// The call failed; `code` is the KooDrive code when the server sent one.
    Failure { code: Option<i64> },
    /// Not an API call: something the app did or noticed.
    Info,
    /// Something the user should look at that is not a failed call.
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub operation: String,
    pub outcome: Outcome,
    /// `success`, the server's message with its hint, or the event text.
    pub message: String,
    pub latency: Option<Duration>,
}

impl From<LogKind> for Outcome {
    fn from(kind: LogKind) -> Outcome {
        match kind {
            LogKind::Info => Outcome::Info,
            LogKind::Warning => Outcome::Warning,
            LogKind::Failure(code) => Outcome::Failure { code },
        }
    }
}

/// The log: at most [`LOG_CAPACITY`] entries, and a scroll position within them.
#[derive(Debug, Clone, Default)]
pub struct ActivityLog {
    entries: VecDeque<LogEntry>,
    /// Lines scrolled up from the newest; 0 follows new lines.
    scroll_back: usize,
}

impl ActivityLog {
    pub fn entries(&self) -> &VecDeque<LogEntry> {
        &self.entries
    }

    /// Lines scrolled up from the newest (0: following new lines).
    pub fn scroll_back(&self) -> usize {
        self.scroll_back
    }

    pub fn push(&mut self, entry: LogEntry) {
        if self.entries.len() == LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        // Keep the lines the user is reading in place while new ones arrive.
        if self.scroll_back > 0 {
            self.scroll_back = (self.scroll_back + 1).min(self.entries.len().saturating_sub(1));
        }
    }

    pub fn api_call(
        &mut self,
        at: DateTime<Utc>,
        operation: String,
        result: Result<(), &ApiError>,
        latency: Duration,
    ) {
        let (outcome, message) = match result {
            Ok(()) => (Outcome::Success, "success".to_string()),
            Err(e) => (Outcome::Failure { code: e.code() }, e.to_string()),
        };
        self.push(LogEntry {
            at,
            operation,
            outcome,
            message,
            latency: Some(latency),
        });
    }

    pub fn note(&mut self, at: DateTime<Utc>, outcome: Outcome, operation: &str, message: String) {
        self.push(LogEntry {
            at,
            operation: operation.to_string(),
            outcome,
            message,
            latency: None,
        });
    }

    /// The line at the bottom of the view: the one Enter opens.
    pub fn selected(&self) -> Option<&LogEntry> {
        let index = self.entries.len().checked_sub(1 + self.scroll_back)?;
        self.entries.get(index)
    }

    pub fn scroll(&mut self, delta: isize) {
        let max = self.entries.len().saturating_sub(1);
        self.scroll_back = self.scroll_back.saturating_add_signed(delta).min(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_bounded_and_keeps_the_newest() {
        let mut log = ActivityLog::default();
        for i in 0..LOG_CAPACITY + 5 {
            log.note(Utc::now(), Outcome::Info, "n", i.to_string());
        }
        assert_eq!(log.entries.len(), LOG_CAPACITY);
        assert_eq!(
            log.entries.back().unwrap().message,
            (LOG_CAPACITY + 4).to_string()
        );
        assert_eq!(log.entries.front().unwrap().message, "5");
    }

    #[test]
    fn scrolled_back_view_stays_on_the_same_lines() {
        let mut log = ActivityLog::default();
        for i in 0..10 {
            log.note(Utc::now(), Outcome::Info, "n", i.to_string());
        }
        log.scroll(3);
        log.note(Utc::now(), Outcome::Info, "n", "new".into());
        assert_eq!(log.scroll_back, 4);
        log.scroll(-100);
        assert_eq!(log.scroll_back, 0);
    }
}
