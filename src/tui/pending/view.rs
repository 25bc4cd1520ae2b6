//! The pending-deletions pane: one line per queued deletion, in the order queued (record id,
//! module, device, status as queued, due time, time left, why, and who when there is room).
//! Every text from the queue is escaped: record ids, device names and reasons came from servers.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::State;
use crate::format;
use crate::pending::Queued;
use crate::tui::feature::Pane;
use crate::tui::list_pane::Load;
use crate::tui::widgets::Chrome;

/// Inner width from which the "by" column is shown.
const WIDTH_WITH_BY: u16 = 100;

/// The pane at `area`; time left is measured at `server_now` (the queue's times are the
/// server's).
pub fn draw(frame: &mut Frame, area: Rect, pane: &State, chrome: &Chrome, server_now: DateTime<Utc>) {
    let theme = chrome.theme;
    let mut block = chrome.pane_block(&title(pane, chrome), Pane::Pending);
    let trouble = pane
        .load()
        .trouble("the queue", pane.unreadable(), ": kept, never sent", theme);
    if let Some(line) = trouble {
        block = block.title_bottom(line);
    } else if !pane.entries().is_empty() {
        block = block.title_bottom(Line::styled(
            " `koobackup pending apply` deletes the due ones; u takes one back ",
            theme.dim,
        ));
    }
    if pane.entries().is_empty() {
        let message = match pane.load() {
            Load::NotRead | Load::Reading => "reading the queue…",
            Load::Failed(_) => "the queue could not be read",
            Load::Read => "no deletion is queued: with delete_grace in the profile, deletes wait here",
        };
        let text = vec![Line::from(""), Line::from(message)];
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let by = area.width.saturating_sub(2) >= WIDTH_WITH_BY;
    let mut header = vec!["Record id", "Mod", "Device", "Status", "Due", "Left", "Why"];
    let mut widths = vec![
        Constraint::Length(19),
        Constraint::Length(3),
        Constraint::Fill(1),
        Constraint::Length(13),
        Constraint::Length(11),
        Constraint::Length(8),
        Constraint::Fill(2),
    ];
    if by {
        header.push("By");
        widths.push(Constraint::Fill(1));
    }
    let rows_shown = usize::from(area.height.saturating_sub(3));
    let focused = chrome.focused(Pane::Pending);
    let rows = pane
        .entries()
        .iter()
        .enumerate()
        .skip(pane.offset())
        .take(rows_shown)
        .map(|(position, queued)| {
            let row = Row::new(cells(queued, by, server_now, chrome));
            if focused && position == pane.cursor() {
                row.style(theme.selected)
            } else {
                row
            }
        });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .block(block)
        .column_spacing(1);
    frame.render_widget(table, area);
}

fn title(pane: &State, chrome: &Chrome) -> String {
    let reading = if *pane.load() == Load::Reading {
        format!(" {}", chrome.spinner())
    } else {
        String::new()
    };
    format!("Pending deletions ({}){reading}", pane.entries().len())
}

fn cells(queued: &Queued, by: bool, server_now: DateTime<Utc>, chrome: &Chrome) -> Vec<Cell<'static>> {
    let theme = chrome.theme;
    let due = queued.due_locally().with_timezone(&chrome.session.display_offset);
    let left_style = if queued.is_due(server_now) {
        theme.critical
    } else {
        theme.warning
    };
    let mut cells = vec![
        Cell::from(format::escape(&queued.record_id).into_owned()),
        Cell::from(queued.module.code()),
        Cell::from(format::escape(queued.record.device_info.display_name()).into_owned()),
        Cell::from(queued.record.status.label()),
        Cell::from(due.format("%m-%d %H:%M").to_string()),
        Cell::from(Span::styled(queued.left(server_now), left_style)),
        Cell::from(format::escape(&queued.why.describe()).into_owned()),
    ];
    if by {
        cells.push(Cell::from(
            format::escape(&format!("{}@{}", queued.who.user, queued.who.host)).into_owned(),
        ));
    }
    cells
}
