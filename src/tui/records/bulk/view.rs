//! The bulk delete's dialogs: the confirmation that asks for the number, the progress of a run,
//! and its summary.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Gauge;

use super::BulkRun;
use crate::api::RecordStatus;
use crate::format;
use crate::tui::records::dialogs::BulkConfirm;
use crate::tui::records::dialogs_view::{DIALOG_WIDTH, View, grace_text};
use crate::tui::theme::Theme;
use crate::tui::widgets::{boxed, centered, input_line, set_input_cursor, wrapped_rows};

pub(in crate::tui::records) fn draw_confirm_bulk(
    frame: &mut Frame,
    screen: Rect,
    app: &View,
    confirm: &BulkConfirm,
    theme: &Theme,
) {
    let n = confirm.record_ids.len();
    let mut counts = [0usize; 4];
    for id in &confirm.record_ids {
        let slot = match app.pane.find(id).map(|row| row.record.status) {
            Some(RecordStatus::New) => 0,
            Some(RecordStatus::Completed) => 1,
            Some(RecordStatus::ToBeDeleted) => 2,
            _ => 3,
        };
        counts[slot] += 1;
    }
    let statuses = ["new", "completed", "to be deleted", "other"]
        .iter()
        .zip(counts)
        .filter(|(_, count)| *count > 0)
        .map(|(label, count)| format!("{count} {label}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut lock = app.chrome.lock_line(confirm.module);
    lock.spans.insert(0, Span::raw("Lock: "));
    let width = DIALOG_WIDTH.min(screen.width);
    let input_width = usize::from(width.saturating_sub(5));
    let grace = grace_text(app);
    let mut lines = vec![Line::from(vec![
        Span::raw("Delete "),
        Span::styled(format!("{n} records"), theme.header),
        Span::raw(format!(" of {} ({statuses})?", confirm.module)),
    ])];
    // With a grace window nothing is sent, so no lock is needed: they wait in the queue.
    match &grace {
        Some(grace) => lines.push(Line::styled(
            format!("They are {grace}, with their backup files."),
            theme.warning,
        )),
        None => lines.extend([
            Line::styled(
                "Their backup files are deleted too. This cannot be undone.",
                theme.warning,
            ),
            lock,
        ]),
    }
    lines.push(Line::from(""));
    // Which records: as many as the screen has room for, from `scroll` (↑/↓).
    // The status bar stays in sight above the question: one row less than the screen.
    let room = usize::from(screen.height.saturating_sub(14)).clamp(1, 8);
    let first = confirm.scroll.min(n.saturating_sub(1));
    for id in confirm.record_ids.iter().skip(first).take(room) {
        let (device, status) = app.pane.find(id).map_or((String::new(), String::new()), |row| {
            let name = row.record.device_info.display_name();
            (format::escape(name).into_owned(), row.record.status.label())
        });
        lines.push(Line::from(vec![
            Span::styled(format!("  {} ", format::escape(id)), theme.header),
            Span::raw(format!("{device:<20} {status}")),
        ]));
    }
    let after = n.saturating_sub(first + room);
    if first > 0 || after > 0 {
        lines.push(Line::styled(
            format!("  ({first} above, {after} below; ↑/↓ scroll)"),
            theme.dim,
        ));
    }
    lines.push(Line::from(""));
    let verb = if grace.is_some() {
        "queue their deletion"
    } else {
        "delete them"
    };
    lines.push(Line::from(format!(
        "Type {n} and press Enter to {verb} (Esc keeps them):"
    )));
    // Lines that wrap (the lock's holder) push the field down: rows are counted as drawn.
    let inner = usize::from(width.saturating_sub(2));
    let input_row: usize = lines.iter().map(|line| wrapped_rows(line, inner)).sum();
    lines.push(input_line(&confirm.typed, input_width, theme.header));
    lines.push(match &confirm.error {
        Some(error) => Line::styled(format::escape(error).into_owned(), theme.error),
        None => Line::from(""),
    });
    let rows: usize = lines.iter().map(|line| wrapped_rows(line, inner)).sum();
    let area = centered(screen, width, rows as u16 + 2);
    boxed(frame, area, &format!("Delete {n} records"), lines, theme);
    set_input_cursor(
        frame,
        &confirm.typed,
        input_width,
        area.x + 1,
        area.y + 1 + input_row as u16,
    );
}

pub(in crate::tui::records) fn draw_bulk(frame: &mut Frame, screen: Rect, run: &BulkRun, theme: &Theme) {
    let width = DIALOG_WIDTH.min(screen.width);
    if run.finished {
        draw_bulk_summary(frame, screen, run, theme);
        return;
    }
    let state = if run.stopping {
        Line::styled(
            "stopping: no further deletes start; those in flight finish",
            theme.warning,
        )
    } else {
        Line::styled(
            "c / Esc stops: records already deleted stay deleted, the rest stay",
            theme.dim,
        )
    };
    let lines = vec![
        Line::from(""),
        Line::from(vec![
            Span::styled(format!("deleted {}", run.deleted.len()), theme.ok),
            Span::raw(" · "),
            Span::styled(
                format!("failed {}", run.failures.len()),
                if run.failures.is_empty() {
                    theme.dim
                } else {
                    theme.error
                },
            ),
            Span::raw(format!(" · left {} of {}", run.untouched(), run.total)),
        ]),
        Line::from(""),
        state,
    ];
    let area = centered(screen, width, lines.len() as u16 + 2);
    boxed(
        frame,
        area,
        &format!("Deleting {} records in {}", run.total, run.module.code()),
        lines,
        theme,
    );
    let gauge_area = Rect::new(area.x + 2, area.y + 1, area.width.saturating_sub(4), 1);
    let gauge = Gauge::default()
        .gauge_style(theme.busy)
        .ratio(run.ratio().clamp(0.0, 1.0))
        .label(format!("{} / {}", run.done(), run.total));
    frame.render_widget(gauge, gauge_area);
}

pub(in crate::tui::records) fn draw_bulk_summary(
    frame: &mut Frame,
    screen: Rect,
    run: &BulkRun,
    theme: &Theme,
) {
    let width = screen.width.saturating_sub(4).min(110);
    let style = if run.failures.is_empty() {
        theme.ok
    } else {
        theme.warning
    };
    let mut lines = vec![Line::styled(run.headline(), style), Line::from("")];
    if run.failures.is_empty() {
        lines.push(Line::from("No failures."));
    } else {
        lines.push(Line::styled(
            format!(
                "{} failure(s); those records stay marked: close this and press d to try them again",
                run.failures.len()
            ),
            theme.header,
        ));
    }
    let header_rows = lines.len();
    let height = (header_rows + run.failures.len() + 2).min(usize::from(screen.height.saturating_sub(2)));
    let rows = height.saturating_sub(header_rows + 2);
    for failure in run.failures.iter().skip(run.scroll).take(rows) {
        let code = failure.code.map_or("-".to_string(), |c| c.to_string());
        lines.push(Line::from(vec![
            Span::raw(format!("  {:<19} ", format::escape(&failure.record_id))),
            Span::styled(format!("{code:>7} "), theme.error),
            Span::raw(format::escape(&failure.message).into_owned()),
        ]));
    }
    let area = centered(screen, width, height as u16);
    let title = if run.cancelled {
        "Bulk delete stopped"
    } else {
        "Bulk delete finished"
    };
    boxed(frame, area, title, lines, theme);
}
