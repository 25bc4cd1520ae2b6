//! What list panes share. [`ListCursor`]: which item is selected and which is the first one
//! shown (records, devices, history, pending deletions), kept so that the selected item is
//! always on screen and the window never hangs past the end of the list (after a filter or a
//! resize). [`Load`]: how far the reading of a pane fed from local files (history, pending
//! deletions) is.

use ratatui::text::Line;

use crate::format;
use crate::tui::theme::Theme;

/// How far the reading of a pane's files is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Load {
    #[default]
    NotRead,
    Reading,
    Read,
    Failed(String),
}

impl Load {
    /// What went wrong reading `what` ("the history", "the queue"), for the pane's bottom line:
    /// that it could not be read at all, else that `unreadable` of its lines could not (and
    /// `their_fate`: what becomes of them). `None` when all is well.
    pub fn trouble(
        &self,
        what: &str,
        unreadable: usize,
        their_fate: &str,
        theme: &Theme,
    ) -> Option<Line<'static>> {
        match self {
            Load::Failed(message) => Some(Line::styled(
                format!(" cannot read {what}: {} (r to retry) ", format::escape(message)),
                theme.error,
            )),
            _ if unreadable > 0 => Some(Line::styled(
                format!(" {unreadable} line(s) could not be read{their_fate} "),
                theme.warning,
            )),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListCursor {
    at: usize,
    offset: usize,
}

impl ListCursor {
    /// The selected item.
    pub fn at(self) -> usize {
        self.at
    }

    /// The first item shown.
    pub fn offset(self) -> usize {
        self.offset
    }

    /// Moves by `delta` items in a list of `len`, `rows` of them shown.
    pub fn move_by(&mut self, delta: isize, len: usize, rows: usize) {
        self.select(self.at.saturating_add_signed(delta), len, rows);
    }

    /// Selects `index` (the last item when past the end) and scrolls to it.
    pub fn select(&mut self, index: usize, len: usize, rows: usize) {
        self.at = index.min(len.saturating_sub(1));
        self.scroll_to_cursor(len, rows);
    }

    /// Selects the item shown `row`-th from the top, when there is one; whether there was.
    pub fn click(&mut self, row: usize, len: usize) -> bool {
        let index = self.offset + row;
        let hit = index < len;
        if hit {
            self.at = index;
        }
        hit
    }

    /// Scrolls so that the selected item is among the `rows` shown, without hanging past the
    /// end of a list of `len`.
    pub fn scroll_to_cursor(&mut self, len: usize, rows: usize) {
        let rows = rows.max(1);
        if self.at < self.offset {
            self.offset = self.at;
        } else if self.at >= self.offset + rows {
            self.offset = self.at + 1 - rows;
        }
        self.offset = self.offset.min(len.saturating_sub(rows));
    }

    /// Keeps the selection inside a list now `len` long (items went), where the window's
    /// height is not known: the selected item is shown no lower than before.
    pub fn clamp(&mut self, len: usize) {
        self.at = self.at.min(len.saturating_sub(1));
        self.offset = self.offset.min(self.at);
    }

    /// Back to the first item, shown first.
    pub fn reset(&mut self) {
        *self = ListCursor::default();
    }

    /// Makes `offset` the first item shown, whatever the selection.
    #[cfg(test)]
    pub fn scroll_for_test(&mut self, offset: usize) {
        self.offset = offset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selected_item_stays_on_screen_and_the_window_inside_the_list() {
        let mut cursor = ListCursor::default();
        cursor.move_by(7, 10, 3);
        assert_eq!((cursor.at(), cursor.offset()), (7, 5));
        cursor.move_by(100, 10, 3);
        assert_eq!((cursor.at(), cursor.offset()), (9, 7));
        cursor.move_by(-4, 10, 3);
        assert_eq!((cursor.at(), cursor.offset()), (5, 5));
        // The list shrank (a filter) below the window: it starts at the top again.
        cursor.select(1, 2, 3);
        assert_eq!((cursor.at(), cursor.offset()), (1, 0));
        // An empty list, and no room at all.
        cursor.move_by(3, 0, 0);
        assert_eq!((cursor.at(), cursor.offset()), (0, 0));
    }

    #[test]
    fn a_click_selects_only_an_item_that_is_shown_there() {
        let mut cursor = ListCursor::default();
        cursor.select(6, 10, 4);
        assert_eq!(cursor.offset(), 3);
        assert!(cursor.click(1, 10));
        assert_eq!(cursor.at(), 4);
        assert!(!cursor.click(7, 10), "past the last item");
        assert_eq!(cursor.at(), 4);
        // Items went: the selection moves up onto the last one left.
        cursor.clamp(2);
        assert_eq!((cursor.at(), cursor.offset()), (1, 1));
    }
}
