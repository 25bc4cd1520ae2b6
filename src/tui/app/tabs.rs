//! The tab strip in the top border of the upper pane. The locks pane and the records pane share
//! that place; the strip names both, shows which one is up, and switches them on a click (the
//! keys `L` and `R` do the same).

use super::{App, Pane};

/// One tab of the strip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tab {
    pub pane: Pane,
    /// The key that shows this tab's pane.
    pub key: char,
    pub label: String,
}

impl Tab {
    /// The tab as drawn: `" [R] Records: 102 address book "`. The view draws exactly this text
    /// and the click test measures it, so the two cannot disagree.
    pub fn text(&self) -> String {
        format!(" [{}] {} ", self.key, self.label)
    }
}

impl App {
    /// The tabs, left to right.
    pub fn tabs(&self) -> [Tab; 2] {
        let records = match self.records.module {
            Some(module) => format!("Records: {} {}", module.code(), module.name()),
            None => "Records".to_string(),
        };
        [
            Tab {
                pane: Pane::Locks,
                key: 'L',
                label: format!("Locks ({})", self.locks.entries.len()),
            },
            Tab {
                pane: Pane::Records,
                key: 'R',
                label: records,
            },
        ]
    }

    /// The pane whose tab is at `position`, if a tab is there.
    pub(super) fn tab_at(&self, position: ratatui::layout::Position) -> Option<Pane> {
        let layout = self.layout()?;
        let tabs = self.tabs();
        let widths = tabs
            .iter()
            .map(|tab| ratatui::text::Span::raw(tab.text()).width());
        layout.tab_at(position, widths).map(|index| tabs[index].pane)
    }
}
