//! Where each pane sits on screen. Shared by the views (to draw) and by `App::update` (to map
//! mouse clicks to panes and rows), so both always agree.

use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};

/// Smallest terminal the layout supports; below it a "terminal too small" message is shown.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

/// Rows of the status bar: the connection, then the last error in full.
pub const STATUS_ROWS: u16 = 2;

/// Rows of the locks table above the first lock: top border and column header.
pub const LOCKS_TABLE_HEADER_ROWS: u16 = 2;

/// Outer width of the help overlay (at most; it is as tall as the screen less two rows).
pub const HELP_WIDTH: u16 = 76;

/// Drawn between two tabs of the strip in the upper pane's top border.
pub const TAB_SEPARATOR: &str = "│";

/// The help overlay's box on `screen`, centred.
pub fn help_area(screen: Rect) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(screen.height.saturating_sub(2))])
        .flex(Flex::Center)
        .areas(screen);
    let [area] = Layout::horizontal([Constraint::Length(HELP_WIDTH.min(screen.width))])
        .flex(Flex::Center)
        .areas(row);
    area
}

/// How many lines of help fit in the overlay's box (inside its border).
pub fn help_rows(screen: Rect) -> usize {
    usize::from(help_area(screen).height.saturating_sub(2))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenLayout {
    pub status: Rect,
    pub locks: Rect,
    pub activity: Rect,
    pub footer: Rect,
}

impl ScreenLayout {
    /// `None` when the screen is smaller than [`MIN_WIDTH`] x [`MIN_HEIGHT`].
    pub fn new(screen: Rect) -> Option<ScreenLayout> {
        if screen.width < MIN_WIDTH || screen.height < MIN_HEIGHT {
            return None;
        }
        let [status, main, footer] = Layout::vertical([
            Constraint::Length(STATUS_ROWS),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(screen);
        let [locks, activity] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(main);
        Some(ScreenLayout {
            status,
            locks,
            activity,
            footer,
        })
    }

    /// How many locks fit in the locks table.
    pub fn visible_lock_rows(&self) -> usize {
        // Borders top and bottom, plus the header row.
        usize::from(self.locks.height.saturating_sub(LOCKS_TABLE_HEADER_ROWS + 1))
    }

    /// How many log lines fit in the activity pane.
    pub fn visible_log_rows(&self) -> usize {
        usize::from(self.activity.height.saturating_sub(2))
    }

    /// Index (from the first visible row) of the lock row at `position`, if any.
    pub fn lock_row_at(&self, position: Position) -> Option<usize> {
        let inner_top = self.locks.y + LOCKS_TABLE_HEADER_ROWS;
        let inner_bottom = self.locks.bottom().saturating_sub(1);
        let inside_x = position.x > self.locks.x && position.x < self.locks.right().saturating_sub(1);
        (inside_x && position.y >= inner_top && position.y < inner_bottom)
            .then(|| usize::from(position.y - inner_top))
    }

    /// Index of the tab at `position` in the strip drawn in the upper pane's top border, given
    /// the width of each tab's text. Tabs start after the corner and are separated by
    /// [`TAB_SEPARATOR`]; a tab cut off by the right corner is clickable where it shows.
    pub fn tab_at(&self, position: Position, widths: impl IntoIterator<Item = usize>) -> Option<usize> {
        if position.y != self.locks.y {
            return None;
        }
        let inner_right = self.locks.right().saturating_sub(1);
        let mut start = self.locks.x.saturating_add(1);
        for (index, width) in widths.into_iter().enumerate() {
            let end = start.saturating_add(u16::try_from(width).unwrap_or(u16::MAX));
            if position.x >= start && position.x < end.min(inner_right) {
                return Some(index);
            }
            start = end.saturating_add(TAB_SEPARATOR.chars().count() as u16);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_small_screens_have_no_layout() {
        assert!(ScreenLayout::new(Rect::new(0, 0, 59, 40)).is_none());
        assert!(ScreenLayout::new(Rect::new(0, 0, 100, 14)).is_none());
        assert!(ScreenLayout::new(Rect::new(0, 0, 60, 15)).is_some());
    }

    #[test]
    fn panes_fill_the_screen_without_overlap() {
        let layout = ScreenLayout::new(Rect::new(0, 0, 80, 24)).unwrap();
        assert_eq!(layout.status.y, 0);
        assert_eq!(layout.locks.y, STATUS_ROWS);
        assert_eq!(layout.activity.y, layout.locks.bottom());
        assert_eq!(layout.footer.y, 23);
        assert_eq!(layout.activity.bottom(), 23);
    }

    #[test]
    fn clicks_map_to_lock_rows() {
        let layout = ScreenLayout::new(Rect::new(0, 0, 80, 24)).unwrap();
        let first_row = layout.locks.y + LOCKS_TABLE_HEADER_ROWS;
        assert_eq!(layout.lock_row_at(Position::new(5, first_row)), Some(0));
        assert_eq!(layout.lock_row_at(Position::new(5, first_row + 2)), Some(2));
        assert_eq!(layout.lock_row_at(Position::new(5, first_row - 1)), None);
        assert_eq!(layout.lock_row_at(Position::new(0, first_row)), None);
    }

    #[test]
    fn clicks_on_the_top_border_map_to_tabs() {
        let layout = ScreenLayout::new(Rect::new(0, 0, 80, 24)).unwrap();
        let y = layout.locks.y;
        // "┏" then a 5-wide tab (x 1..=5), the separator at 6, a 4-wide tab (x 7..=10).
        let at = |x| layout.tab_at(Position::new(x, y), [5, 4]);
        assert_eq!(at(0), None, "the corner");
        assert_eq!((at(1), at(5)), (Some(0), Some(0)));
        assert_eq!(at(6), None, "the separator");
        assert_eq!((at(7), at(10)), (Some(1), Some(1)));
        assert_eq!(at(11), None, "the border after the tabs");
        assert_eq!(layout.tab_at(Position::new(1, y + 1), [5, 4]), None);
        // A tab longer than the pane stops at the right corner.
        assert_eq!(layout.tab_at(Position::new(78, y), [200]), Some(0));
        assert_eq!(layout.tab_at(Position::new(79, y), [200]), None);
    }
}
