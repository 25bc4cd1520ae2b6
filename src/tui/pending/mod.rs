//! The pending-deletions pane (`:pending`): every deletion queued on this machine with a grace
//! window (see [`crate::pending`]), in the order queued, with how long each has left. `u` takes
//! the selected one back, `r` reads the queue again. Pure state: the reading and the cancelling
//! are effects ([`Effect::ReadPending`], [`Effect::CancelQueued`]) the runtime carries out.

pub mod keys;
pub mod view;

use std::collections::BTreeSet;

use crate::pending::Queued;
use crate::tui::action::{Effect, PendingRead};
use crate::tui::keymap::PendingCommand;
use crate::tui::list_pane::{ListCursor, Load};

#[derive(Debug, Clone, Default)]
pub struct State {
    load: Load,
    /// In the order queued.
    entries: Vec<Queued>,
    unreadable: usize,
    /// Record ids queued through this connection.
    here: BTreeSet<String>,
    cursor: ListCursor,
}

impl State {
    pub fn load(&self) -> &Load {
        &self.load
    }

    pub fn entries(&self) -> &[Queued] {
        &self.entries
    }

    pub fn unreadable(&self) -> usize {
        self.unreadable
    }

    pub fn cursor(&self) -> usize {
        self.cursor.at()
    }

    pub fn offset(&self) -> usize {
        self.cursor.offset()
    }

    pub fn selected(&self) -> Option<&Queued> {
        self.entries.get(self.cursor.at())
    }

    /// The entries queued through this connection (its server and user).
    pub fn here(&self) -> impl Iterator<Item = &Queued> {
        self.entries.iter().filter(|q| self.here.contains(&q.record_id))
    }

    /// The pane is opened (or `r`): the queue is read again; what was read before stays on
    /// screen meanwhile.
    pub fn start_reading(&mut self) -> Vec<Effect> {
        self.load = Load::Reading;
        vec![Effect::ReadPending]
    }

    /// What reading found; the cursor stays on its record when it is still queued.
    pub fn on_read(&mut self, read: Result<PendingRead, String>, rows: usize) {
        match read {
            Ok(read) => {
                let keep = self.selected().map(|q| q.record_id.clone());
                self.entries = read.entries;
                self.unreadable = read.unreadable;
                self.here = read.here;
                self.load = Load::Read;
                let at = keep
                    .and_then(|id| self.entries.iter().position(|q| q.record_id == id))
                    .unwrap_or(self.cursor.at());
                self.cursor.select(at, self.entries.len(), rows);
            }
            Err(message) => self.load = Load::Failed(message),
        }
    }

    /// A key of the pane.
    pub fn command(&mut self, command: PendingCommand) -> Vec<Effect> {
        match command {
            PendingCommand::Refresh => self.start_reading(),
            PendingCommand::Cancel => self
                .selected()
                .map(|q| vec![Effect::CancelQueued(vec![q.record_id.clone()])])
                .unwrap_or_default(),
        }
    }

    pub fn move_cursor(&mut self, delta: isize, rows: usize) {
        self.cursor.move_by(delta, self.entries.len(), rows);
    }

    /// A click on the `row`-th line shown.
    pub fn click(&mut self, row: usize) {
        self.cursor.click(row, self.entries.len());
    }
}

#[cfg(test)]
mod tests;
