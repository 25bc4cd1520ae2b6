//! The clean-up view: the candidates with why each would go, the ticks, and what retention
//! keeps.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::CleanupView;
use crate::format;
use crate::tui::records::dialogs_view::View;
use crate::tui::records::view::status_style;
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, fit_spans, input_line, set_input_cursor, wrapped_rows};

/// Columns of a candidate's device.
const DEVICE_WIDTH: usize = 18;

pub(in crate::tui::records) fn draw_cleanup(
    frame: &mut Frame,
    screen: Rect,
    app: &View,
    view: &CleanupView,
    theme: &Theme,
) {
    let width = screen.width.saturating_sub(4).min(110);
    let yes_no = if view.rules.include_to_be_deleted {
        "yes"
    } else {
        "no"
    };
    let mut lines = vec![Line::from(format!(
        "Proposed: records still new after {} (+/- to change) · marked to be deleted: {yes_no} (t)",
        format::age(view.rules.stale_new_after)
    ))];
    let inner = usize::from(width.saturating_sub(2));
    let input_width = usize::from(width.saturating_sub(5));
    let mut cursor_row = None;
    match &view.editing {
        Some(editor) => {
            lines.push(Line::from(
                "Retention rules for completed backups (Enter done · Esc undo):",
            ));
            cursor_row = Some(lines.iter().map(|line| wrapped_rows(line, inner)).sum::<usize>());
            lines.push(input_line(&editor.input, input_width, theme.header));
            lines.push(match &editor.error {
                Some(error) => Line::styled(
                    format!("not yet a policy: {}", format::escape(error)),
                    theme.warning,
                ),
                None => Line::styled(
                    "e.g. keep_last 3, keep_daily 7, keep_weekly 4, keep_monthly 6, keep_within 30d",
                    theme.dim,
                ),
            });
        }
        None => lines.push(Line::from(match view.rules.retention {
            Some(policy) => format!("Retention: {} (e to edit)", policy.to_text()),
            None => "Retention: none, completed backups are kept (e to set rules)".to_string(),
        })),
    }
    if view.rules.retention.is_some() {
        for device in view.summary(app.pane.known_sizes()) {
            let freed = match device.sized {
                0 => String::new(),
                n if n == device.deleted => format!(", frees {}", format::human_size(device.freed)),
                n => format!(
                    ", frees at least {} (sizes of {n} of {} known)",
                    format::human_size(device.freed),
                    device.deleted
                ),
            };
            lines.push(Line::styled(
                format!(
                    "  {} · {}: keep {}, delete {}{freed}",
                    format::escape(&device.name),
                    format::escape(&device.module),
                    device.kept,
                    device.deleted
                ),
                theme.dim,
            ));
        }
    }
    if view.partial {
        lines.push(Line::styled(
            format!(
                "The list is not fully loaded: only the {} records loaded so far were checked.",
                app.pane.rows().len()
            ),
            theme.warning,
        ));
    }
    let ticked = view.ticked().len();
    let action = if app.chrome.session.read_only {
        "read-only: a preview, nothing is deleted"
    } else if app.chrome.session.delete_grace.is_some() {
        "Space untick · Enter queue the ticked ones for deletion"
    } else {
        "Space untick · Enter delete the ticked ones"
    };
    lines.push(Line::styled(
        format!("{ticked} of {} ticked · {action}", view.candidates.len()),
        theme.dim,
    ));
    lines.push(Line::from(""));
    if view.candidates.is_empty() {
        lines.push(Line::styled(
            "No candidates: nothing needs cleaning up under these rules.",
            theme.ok,
        ));
    }
    // The lines above the candidates wrap (a narrow screen): each takes the rows it needs.
    let header_rows: usize = lines.iter().map(|line| wrapped_rows(line, inner)).sum();
    // As tall as the candidates and the kept backups need, up to the screen.
    let kept_rows = if view.kept.is_empty() {
        0
    } else {
        view.kept.len() + 2
    };
    let height = (header_rows + view.candidates.len() + kept_rows + 2)
        .min(usize::from(screen.height.saturating_sub(2)));
    let area = centered(screen, width, height as u16);
    // The candidates first; the kept backups have the rows left.
    let room = height.saturating_sub(header_rows + 2).max(1);
    let rows = view.candidates.len().min(room);
    let first = view.cursor.saturating_sub(rows.saturating_sub(1));
    for (index, candidate) in view.candidates.iter().enumerate().skip(first).take(rows) {
        let tick = if view.is_ticked(candidate) { "[x]" } else { "[ ]" };
        let spans = record_row(tick, &candidate.record, candidate.reason.to_string(), app, theme);
        let line = fit_spans(spans, inner);
        lines.push(if index == view.cursor {
            selected_row(line, inner, theme)
        } else {
            line
        });
    }
    let kept_room = room.saturating_sub(rows);
    if !view.kept.is_empty() && kept_room >= 3 {
        lines.push(Line::from(""));
        lines.push(Line::styled(
            format!("Kept by the retention rules ({}):", view.kept.len()),
            theme.header,
        ));
        let shown = if view.kept.len() <= kept_room - 2 {
            view.kept.len()
        } else {
            kept_room - 3
        };
        for kept in &view.kept[..shown] {
            let spans = record_row("   ", &kept.record, kept.reason.to_string(), app, theme);
            lines.push(fit_spans(spans, inner));
        }
        if shown < view.kept.len() {
            lines.push(Line::styled(
                format!("… and {} more kept", view.kept.len() - shown),
                theme.dim,
            ));
        }
    }
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(format!(" Clean-up candidates in {} ", view.module));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: false }),
        area,
    );
    if let (Some(row), Some(editor)) = (cursor_row, &view.editing) {
        set_input_cursor(
            frame,
            &editor.input,
            input_width,
            area.x + 1,
            area.y + 1 + row as u16,
        );
    }
}

/// A record's row: its tick (or blank), id, status, the day it was made (what tells a completed
/// backup from the ones kept beside it), its device and why it goes or stays.
fn record_row(
    tick: &str,
    record: &crate::api::BackupRecord,
    reason: String,
    app: &View,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let device = format::escape(record.device_info.display_name());
    let device = format::cut(&device, DEVICE_WIDTH);
    let padding = DEVICE_WIDTH - format::width(&device);
    let offset = app.chrome.session.display_offset;
    let made = record.create_time.with_timezone(&offset).format("%Y-%m-%d");
    vec![
        Span::raw(format!("{tick} {:<19} ", format::escape(&record.record_id))),
        Span::styled(
            format!("{:<13} ", record.status.label()),
            status_style(record.status, theme),
        ),
        Span::raw(format!("{made} {device}{:padding$} ", "")),
        Span::styled(reason, theme.dim),
    ]
}

/// The selected row in the selection's style whole: every cell (a status keeps no colour of its
/// own) and the blank up to the border.
fn selected_row(line: Line<'static>, width: usize, theme: &Theme) -> Line<'static> {
    let blank = width.saturating_sub(line.width());
    let mut spans: Vec<Span<'static>> = line
        .spans
        .into_iter()
        .map(|span| Span::styled(span.content, theme.selected))
        .collect();
    spans.push(Span::styled(" ".repeat(blank), theme.selected));
    Line::from(spans).style(theme.selected)
}
