//! The locks pane: one row per held lock with a live countdown.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{LockEntry, State, Urgency};
use crate::format;
use crate::tui::feature::Pane;
use crate::tui::widgets::{Chrome, short_lock_id};

/// Cells of the time-left gauge.
const GAUGE_CELLS: i64 = 10;
/// Inner width from which the holder column is shown: who holds a lock matters more than the
/// gauge, which goes first.
const WIDTH_WITH_HOLDER: u16 = 68;
/// The holder column's least width.
const HOLDER_MIN: u16 = 8;
/// Inner width from which the gauge column is shown too (all columns with short ids).
const WIDTH_WITH_GAUGE: u16 = 90;

pub fn draw(frame: &mut Frame, area: Rect, pane: &State, chrome: &Chrome) {
    let theme = chrome.theme;
    let at = match pane.entries().len() {
        0 => String::new(),
        held => format!("row {} of {held}", pane.selected() + 1),
    };
    let block = chrome.upper_block(&at, area);
    if pane.entries().is_empty() && pane.creating().is_empty() && chrome.session.read_only {
        let text = vec![
            Line::from(""),
            Line::from("  No locks held (read-only: none can be created or adopted here)."),
        ];
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    if pane.entries().is_empty() && pane.creating().is_empty() {
        let text = vec![
            Line::from(""),
            Line::from("  No locks held."),
            Line::from(vec![
                Span::raw("  Press "),
                Span::styled("n", theme.key),
                Span::raw(" to create one, "),
                Span::styled("i", theme.key),
                Span::raw(" to adopt one created elsewhere."),
            ]),
        ];
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let id_width = if pane.full_ids {
        pane.entries()
            .iter()
            .map(|e| e.id().chars().count())
            .max()
            .unwrap_or(8)
            .max(8)
    } else {
        14
    };
    // The gauge is the first thing to go on a narrow terminal: the countdown says it all.
    let inner_width = area.width.saturating_sub(2);
    let show_gauge = inner_width >= WIDTH_WITH_GAUGE;
    let show_holder = inner_width >= WIDTH_WITH_HOLDER;
    // Hidden columns are left out, not drawn 0 wide: their spacing would squeeze the others.
    let shown = [true, true, true, true, show_gauge, true, true, show_holder];
    let keep = |cells| shown_cells(cells, shown);
    let widths = [
        Constraint::Length(1),
        Constraint::Length(16),
        Constraint::Length(id_width as u16),
        Constraint::Length(7),
        Constraint::Length(GAUGE_CELLS as u16),
        Constraint::Length(10),
        // "paused" in read-only mode; "auto" otherwise, leaving narrow screens their room.
        Constraint::Length(if chrome.session.read_only { 6 } else { 4 }),
        Constraint::Min(HOLDER_MIN),
    ]
    .into_iter()
    .zip(shown)
    .filter(|(_, s)| *s)
    .map(|(w, _)| w)
    .collect::<Vec<_>>();
    // The holder takes what the other columns leave (between columns, one blank), at least
    // its minimum (the table squeezes the others then).
    let others: u16 = widths
        .iter()
        .map(|width| match width {
            Constraint::Length(width) => width + 1,
            _ => 0,
        })
        .sum();
    let holder_width = usize::from(inner_width.saturating_sub(others).max(HOLDER_MIN));
    let header = keep(
        [
            "",
            "Module",
            "Lock id",
            "Left",
            "Time left",
            "State",
            "Auto",
            "Held by",
        ]
        .map(Cell::from),
    )
    .style(theme.header);
    let rows = pane
        .entries()
        .iter()
        .enumerate()
        .skip(pane.offset())
        .map(|(index, entry)| {
            let selected = index == pane.selected() && chrome.focus == Pane::Locks;
            let row = keep(lock_cells(entry, pane.full_ids, holder_width, chrome));
            if selected { row.style(theme.selected) } else { row }
        })
        .chain(pane.creating().iter().map(|module| {
            keep([
                Cell::from(chrome.spinner()).style(theme.busy),
                Cell::from(format::module_label(*module)),
                Cell::from("…"),
                Cell::from("--:--"),
                Cell::from(""),
                Cell::from("creating").style(theme.busy),
                Cell::from(""),
                Cell::from("this app"),
            ])
        }));

    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1);
    frame.render_widget(table, area);
}

/// The cells of `shown` columns as a row.
fn shown_cells(cells: [Cell<'_>; 8], shown: [bool; 8]) -> Row<'_> {
    Row::new(cells.into_iter().zip(shown).filter(|(_, s)| *s).map(|(c, _)| c))
}

/// The cells of one lock's row, every column (the caller leaves out those not shown); the
/// holder is cut to `holder_width` with `…`.
fn lock_cells<'a>(
    entry: &'a LockEntry,
    full_ids: bool,
    holder_width: usize,
    chrome: &Chrome,
) -> [Cell<'a>; 8] {
    let (now, theme) = (chrome.now, chrome.theme);
    let urgency = Urgency::of(&entry.lock, now);
    let (state, state_style) = match (entry.busy, entry.gone, urgency) {
        (Some(busy), _, _) => (busy.label(), theme.busy),
        (None, true, _) => ("gone", theme.expired),
        (None, false, Urgency::Ok) => ("ok", theme.ok),
        (None, false, Urgency::Warning) => ("warning", theme.warning),
        (None, false, Urgency::Critical) => ("CRITICAL", theme.critical),
        (None, false, Urgency::Expired) => ("expired", theme.expired),
    };
    let time_style = if entry.busy.is_some() {
        theme.dim
    } else {
        state_style
    };
    let marker = match entry.busy {
        Some(_) => Span::styled(chrome.spinner(), theme.busy),
        None => Span::raw(""),
    };
    let id = if full_ids {
        format::escape(entry.id()).into_owned()
    } else {
        format::escape(&short_lock_id(entry.id())).into_owned()
    };
    [
        Cell::from(marker),
        Cell::from(format::module_label(entry.lock.module)),
        Cell::from(id),
        Cell::from(entry.countdown(now)).style(time_style),
        Cell::from(gauge(entry, now, chrome.session.lock_ttl)).style(time_style),
        Cell::from(state).style(state_style),
        Cell::from(match (entry.auto_renew, chrome.session.read_only) {
            (true, false) => "auto",
            // Read-only sends no renewal: the setting is kept, but nothing acts on it here.
            (true, true) => "paused",
            (false, _) => "",
        }),
        Cell::from(format::cut(&entry.holder.label(), holder_width).into_owned()).style(
            if entry.holder.is_orphaned() {
                theme.warning
            } else if entry.holder.is_app() {
                Style::new()
            } else {
                theme.dim
            },
        ),
    ]
}

/// `██████░░░░`: time left as a share of the lock lifetime, in whole seconds so that it only
/// changes when the countdown text does.
fn gauge(entry: &LockEntry, now: DateTime<Utc>, ttl: chrono::Duration) -> String {
    if entry.gone || entry.busy.is_some() && entry.countdown(now) == "--:--" {
        return String::new();
    }
    let left = entry.lock.time_left(now).num_seconds();
    let ttl = ttl.num_seconds().max(1);
    let filled = ((left * GAUGE_CELLS + ttl - 1) / ttl).clamp(0, GAUGE_CELLS) as usize;
    format!(
        "{}{}",
        "█".repeat(filled),
        "░".repeat(GAUGE_CELLS as usize - filled)
    )
}
