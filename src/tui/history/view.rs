//! The history pane: one line per entry, newest first (time, operation, module, what, result,
//! and who when there is room; on a narrow screen the date and module go first, so that a record
//! id stays whole); the filter field on its bottom border; one entry whole over the
//! screen. Every text from the history is escaped: it came from servers.

use chrono::FixedOffset;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table};

use super::{Dialog, EntryView, State};
use crate::format;
use crate::history::{Entry, describe};
use crate::tui::feature::Pane;
use crate::tui::layout::help_area;
use crate::tui::list_pane::Load;
use crate::tui::theme::Theme;
use crate::tui::widgets::{Chrome, draw_filter_field};

/// Inner width from which the "by" column is shown.
const WIDTH_WITH_BY: u16 = 100;
/// Inner width from which the module column and the date are shown: below it, a 19-digit
/// record id would be cut.
const WIDTH_WITH_MODULE: u16 = 70;

/// The pane at `area`.
pub fn draw(frame: &mut Frame, area: Rect, pane: &State, chrome: &Chrome) {
    let theme = chrome.theme;
    let mut block = chrome.pane_block(&title(pane, chrome), Pane::History);
    let trouble = pane
        .load()
        .trouble("the history", pane.unreadable(), " and are left out", theme);
    if let Some(line) = trouble {
        block = block.title_bottom(line);
    }
    if let Some(message) = empty_message(pane) {
        let text = vec![Line::from(""), Line::from(message)];
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let inner_width = area.width.saturating_sub(2);
    let columns = Columns {
        by: inner_width >= WIDTH_WITH_BY,
        module: inner_width >= WIDTH_WITH_MODULE,
    };
    let (header, widths) = columns.header_and_widths();
    let rows_shown = usize::from(area.height.saturating_sub(3));
    let focused = chrome.focused(Pane::History);
    let offset = chrome.session.display_offset;
    let rows = pane
        .visible()
        .enumerate()
        .skip(pane.offset())
        .take(rows_shown)
        .map(|(position, entry)| {
            let row = Row::new(columns.cells(entry, offset, theme));
            if focused && position == pane.cursor() {
                row.style(theme.selected)
            } else {
                row
            }
        });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .block(block);
    frame.render_widget(table, area);
}

fn title(pane: &State, chrome: &Chrome) -> String {
    let count = if pane.filter().is_empty() {
        format!("{}", pane.entries().len())
    } else {
        format!(
            "{} of {} · {}",
            pane.shown_count(),
            pane.entries().len(),
            format::escape(pane.filter())
        )
    };
    let reading = if *pane.load() == Load::Reading {
        format!(" {}", chrome.spinner())
    } else {
        String::new()
    };
    format!("History ({count}){reading}")
}

fn empty_message(pane: &State) -> Option<&'static str> {
    if pane.shown_count() > 0 {
        return None;
    }
    Some(match pane.load() {
        Load::NotRead | Load::Reading => "reading the history…",
        Load::Failed(_) => "the history could not be read",
        Load::Read if pane.entries().is_empty() => {
            "nothing in the history yet: every change sent from here is kept"
        }
        Load::Read => "no entry matches the filter (/ changes it)",
    })
}

/// Which of the optional columns fit.
struct Columns {
    by: bool,
    /// The module, and the date beside the time.
    module: bool,
}

impl Columns {
    fn header_and_widths(&self) -> (Vec<&'static str>, Vec<Constraint>) {
        let mut header = vec!["Time", "Op"];
        let mut widths = vec![
            Constraint::Length(if self.module { 11 } else { 5 }),
            Constraint::Length(15),
        ];
        if self.module {
            header.push("Mod");
            widths.push(Constraint::Length(3));
        }
        header.extend(["What", "Result"]);
        if self.module {
            widths.extend([Constraint::Fill(3), Constraint::Fill(2)]);
        } else {
            widths.extend([Constraint::Fill(3), Constraint::Fill(1)]);
        }
        if self.by {
            header.push("By");
            widths.push(Constraint::Fill(2));
        }
        (header, widths)
    }

    fn cells(&self, entry: &Entry, offset: FixedOffset, theme: &Theme) -> Vec<Cell<'static>> {
        let time = entry.at.with_timezone(&offset);
        let mut cells = vec![
            Cell::from(
                time.format(if self.module { "%m-%d %H:%M" } else { "%H:%M" })
                    .to_string(),
            ),
            Cell::from(entry.op.name()),
        ];
        if self.module {
            cells.push(Cell::from(
                format::escape(entry.module.as_deref().unwrap_or("")).into_owned(),
            ));
        }
        let result = describe::result(entry);
        let result_style = if entry.outcome.ok { theme.dim } else { theme.error };
        cells.push(Cell::from(format::escape(&describe::what(entry)).into_owned()));
        cells.push(Cell::from(Span::styled(
            format::escape(&result).into_owned(),
            result_style,
        )));
        if self.by {
            cells.push(Cell::from(format::escape(&describe::by(entry)).into_owned()));
        }
        cells
    }
}

/// The pane's open dialog, if any, over `screen`.
pub fn draw_dialog(frame: &mut Frame, screen: Rect, pane: &State, theme: &Theme) {
    match &pane.dialog {
        Some(Dialog::Filter { input, error }) => draw_filter(frame, screen, input, error.as_deref(), theme),
        Some(Dialog::Entry(view)) => draw_entry(frame, screen, view, theme),
        None => {}
    }
}

/// The filter words are typed on the pane's bottom border, what was not understood above it.
fn draw_filter(
    frame: &mut Frame,
    screen: Rect,
    input: &tui_input::Input,
    error: Option<&str>,
    theme: &Theme,
) {
    let Some(area) = draw_filter_field(frame, screen, input, theme) else {
        return;
    };
    let y = area.y;
    if let Some(error) = error {
        let text = Line::styled(format::escape(error).into_owned(), theme.error);
        let rows = crate::tui::widgets::wrapped_rows(&text, usize::from(area.width)) as u16;
        let above = Rect::new(area.x, y.saturating_sub(rows), area.width, rows.min(y));
        frame.render_widget(Clear, above);
        frame.render_widget(
            Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: false }),
            above,
        );
    }
}

/// One entry whole, over the screen, scrolled.
fn draw_entry(frame: &mut Frame, screen: Rect, view: &EntryView, theme: &Theme) {
    let area = help_area(screen);
    let inner_width = usize::from(area.width.saturating_sub(2));
    let page = usize::from(area.height.saturating_sub(2));
    let rows = view.rows(inner_width);
    let shown: Vec<Line> = rows
        .into_iter()
        .skip(view.scroll)
        .take(page)
        .map(Line::from)
        .collect();
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(format!(" Entry {} — Esc back ", format::escape(&view.id)));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(shown).block(block), area);
}
