//! The history pane (`:history`): what koobackup on this machine changed on KooDrive servers,
//! newest first, read from the history's files when the pane is opened. `/` filters with the
//! filter words of `koobackup history` (`op:delete m:102 since:7d`); `Enter` shows one entry
//! whole, the record as it was with its properties pretty-printed. Pure state: the reading is an
//! [`Effect::ReadHistory`](crate::tui::action::Effect::ReadHistory) the app asks for.

pub mod keys;
mod update;
pub mod view;

use tui_input::Input;

use crate::history::{Entry, Query};
use crate::tui::keymap::Scope;
use crate::tui::list_pane::{ListCursor, Load};

#[derive(Debug, Clone, Default)]
pub struct State {
    load: Load,
    /// Newest first.
    entries: Vec<Entry>,
    /// Lines of the files that could not be read.
    unreadable: usize,
    /// The filter words in force, as typed, and what they mean.
    filter: String,
    query: Query,
    /// Indexes into `entries` of those the filter lets through.
    visible: Vec<usize>,
    cursor: ListCursor,
    pub dialog: Option<Dialog>,
}

#[derive(Debug, Clone)]
pub enum Dialog {
    /// Filter words being typed; `error` says what was not understood.
    Filter { input: Input, error: Option<String> },
    /// One entry whole.
    Entry(EntryView),
}

impl Dialog {
    pub fn scope(&self) -> Scope {
        match self {
            Dialog::Filter { .. } => Scope::HistoryFilter,
            Dialog::Entry(_) => Scope::HistoryEntry,
        }
    }
}

/// One entry whole: its id, and its lines (pretty-printed JSON, raw: they hold a server's text),
/// scrolled down by `scroll`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryView {
    pub id: String,
    pub lines: Vec<String>,
    pub scroll: usize,
}

impl EntryView {
    /// The lines as shown `width` columns wide: escaped for the terminal (the text came from
    /// servers), and broken where longer than `width` (by display width: CJK takes two).
    pub fn rows(&self, width: usize) -> Vec<String> {
        let width = width.max(2);
        let mut rows = Vec::new();
        for line in &self.lines {
            let mut row = String::new();
            let mut used = 0;
            for c in crate::format::escape(line).chars() {
                let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
                if used + w > width {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                row.push(c);
                used += w;
            }
            rows.push(row);
        }
        rows
    }
}

impl State {
    pub fn load(&self) -> &Load {
        &self.load
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn unreadable(&self) -> usize {
        self.unreadable
    }

    /// The filter words in force.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The entries the filter lets through, newest first.
    pub fn visible(&self) -> impl Iterator<Item = &Entry> {
        self.visible.iter().filter_map(|&i| self.entries.get(i))
    }

    pub fn shown_count(&self) -> usize {
        self.visible.len()
    }

    pub fn cursor(&self) -> usize {
        self.cursor.at()
    }

    pub fn offset(&self) -> usize {
        self.cursor.offset()
    }

    pub fn selected(&self) -> Option<&Entry> {
        self.visible
            .get(self.cursor.at())
            .and_then(|&i| self.entries.get(i))
    }
}

#[cfg(test)]
mod tests;
