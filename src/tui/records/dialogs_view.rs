//! The record side's dialogs: the form, the detail view, a delete's confirmation, one-line
//! fields; the clean-up's and the bulk delete's are drawn in their own folders
//! ([`super::cleanup::view`], [`super::bulk::view`]).

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::State;
use super::bulk::view::{draw_bulk, draw_confirm_bulk};
use super::cleanup::view::draw_cleanup;
use super::dialogs::{Dialog, OrphanRelease, RecordDetail, TextField, TextPurpose};
use super::form::{Field, RecordForm, Stage};
use super::view::status_style;
use crate::api::BackupRecord;
use crate::format;
use crate::tui::feature::Session;
use crate::tui::theme::Theme;
use crate::tui::widgets::{
    Chrome, boxed, centered, draw_filter_field, input_line, set_input_cursor, wrapped_rows,
};

/// What the dialogs read besides themselves: the pane, the frame, and the server's clock (which
/// records' ages are measured on).
pub(in crate::tui::records) struct View<'a> {
    pub pane: &'a State,
    pub chrome: &'a Chrome<'a>,
    pub server_now: DateTime<Utc>,
}

/// With the profile's `delete_grace` in force, what a confirmed delete does: "queued, deleted
/// after 2026-12-07 02:14 (in 1d 0h) unless taken back (u)". `None` without one.
pub(in crate::tui::records) fn grace_text(app: &View) -> Option<String> {
    let grace = app.chrome.session.delete_grace?;
    let due = app.server_now.checked_add_signed(grace)?;
    Some(format!(
        "queued, deleted after {} (in {}) unless taken back (u)",
        app.chrome.minutes(due),
        format::age(grace)
    ))
}

/// Outer width of the small dialogs.
pub(in crate::tui::records) const DIALOG_WIDTH: u16 = 76;
/// Column where the form's values start.
pub(in crate::tui::records) const LABEL_WIDTH: u16 = 13;

pub fn draw(frame: &mut Frame, screen: Rect, pane: &State, chrome: &Chrome, server_now: DateTime<Utc>) {
    let Some(dialog) = &pane.dialog else {
        return;
    };
    let theme = chrome.theme;
    let app = &View {
        pane,
        chrome,
        server_now,
    };
    match dialog {
        Dialog::Form(form) => draw_form(frame, screen, app, form, theme),
        Dialog::Detail(detail) => draw_detail(frame, screen, app, detail, theme),
        Dialog::ConfirmDelete(record, _) => draw_confirm_delete(frame, screen, app, record, theme),
        Dialog::ConfirmBulk(confirm) => draw_confirm_bulk(frame, screen, app, confirm, theme),
        Dialog::Text(field) => draw_text_field(frame, screen, field, theme),
        Dialog::Cleanup(view) => draw_cleanup(frame, screen, app, view, theme),
        Dialog::Bulk(run) => draw_bulk(frame, screen, run, theme),
        Dialog::ReleaseOrphan(orphan) => draw_release_orphan(frame, screen, orphan, theme),
    }
}

fn draw_form(frame: &mut Frame, screen: Rect, app: &View, form: &RecordForm, theme: &Theme) {
    let width = DIALOG_WIDTH.min(screen.width);
    let input_width = usize::from(width.saturating_sub(LABEL_WIDTH + 5));
    let field_style = |field: Field| {
        if form.focus == field {
            theme.selected
        } else {
            Style::new()
        }
    };
    let label = |text: &str| {
        Span::styled(
            format!("{text:<width$}", width = usize::from(LABEL_WIDTH)),
            theme.header,
        )
    };
    let mut lines = vec![Line::from(vec![
        label("Module"),
        Span::styled(format!("‹ {} ›", form.module), field_style(Field::Module)),
    ])];
    let mut lock = app.chrome.lock_line(form.module);
    lock.spans.insert(0, label("Lock"));
    lines.push(lock);
    lines.push(Line::from(""));
    let device_row = lines.len();
    let mut device = input_line(&form.device_id, input_width, field_style(Field::DeviceId));
    device.spans.insert(0, label("Device ID"));
    lines.push(device);
    // Device names and systems come from the server.
    lines.push(field_message(
        form.device_error.clone(),
        &format::escape(&form.device_hint()),
        theme,
    ));
    let properties_row = lines.len();
    let mut properties = input_line(&form.properties, input_width, field_style(Field::Properties));
    properties.spans.insert(0, label("Properties"));
    lines.push(properties);
    let properties_error = form.properties_error.as_ref().map(ToString::to_string);
    lines.push(field_message(
        properties_error,
        "optional JSON, e.g. {\"files\": 12}",
        theme,
    ));
    lines.push(Line::from(""));
    lines.push(match (&form.stage, &form.server_error) {
        (Stage::WaitingForLock, _) => Line::styled("creating a lock for the module…", theme.busy),
        (Stage::Sending, _) => Line::styled("creating the record…", theme.busy),
        (Stage::Editing, Some(error)) => {
            Line::styled(format!("not created: {}", format::escape(error)), theme.error)
        }
        (Stage::Editing, None) => match &form.editor_error {
            Some(error) => Line::styled(format::escape(error).into_owned(), theme.error),
            None => Line::styled(
                "Tab next field · Enter create · Ctrl+E $EDITOR · Esc cancel",
                theme.dim,
            ),
        },
    });
    // Messages may take more than a line: make room for all of them.
    let inner_width = usize::from(width.saturating_sub(2));
    let rows: usize = lines.iter().map(|line| wrapped_rows(line, inner_width)).sum();
    let area = centered(screen, width, rows as u16 + 2);
    boxed(
        frame,
        area,
        &format!("New backup record in {}", form.module.code()),
        lines,
        theme,
    );
    let value_x = area.x + 1 + LABEL_WIDTH;
    match form.focus {
        Field::Module => {}
        Field::DeviceId => set_input_cursor(
            frame,
            &form.device_id,
            input_width,
            value_x,
            area.y + 1 + device_row as u16,
        ),
        Field::Properties => set_input_cursor(
            frame,
            &form.properties,
            input_width,
            value_x,
            area.y + 1 + properties_row as u16,
        ),
    }
}

/// The error of a field, or its hint when it has none.
fn field_message<'a>(error: Option<String>, hint: &str, theme: &Theme) -> Line<'a> {
    let indent = " ".repeat(usize::from(LABEL_WIDTH));
    match error {
        Some(error) => Line::styled(format!("{indent}{}", format::escape(&error)), theme.error),
        None => Line::styled(format!("{indent}{hint}"), theme.dim),
    }
}

/// `t` in the session's time zone, and its age at `server_now`.
fn when(t: DateTime<Utc>, session: &Session, server_now: DateTime<Utc>) -> String {
    let local = t
        .with_timezone(&session.display_offset)
        .format("%Y-%m-%d %H:%M:%S");
    format!(
        "{local} ({} ago)",
        format::age(server_now.signed_duration_since(t))
    )
}

fn draw_detail(frame: &mut Frame, screen: Rect, app: &View, detail: &RecordDetail, theme: &Theme) {
    let area = detail_area(screen);
    let lines = detail_lines(detail, area, app.chrome.session, app.server_now, theme);
    let visible = usize::from(area.height.saturating_sub(2));
    let scroll = detail.scroll.min(lines.len().saturating_sub(visible));
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(format!(" Record {} ", format::escape(&detail.record.record_id)));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((scroll as u16, 0)),
        area,
    );
}

/// Where the record details are drawn on `screen`.
fn detail_area(screen: Rect) -> Rect {
    let width = screen.width.saturating_sub(4).min(100);
    centered(screen, width, screen.height.saturating_sub(2))
}

/// How far the record details scroll on `screen`: their last line at the bottom. The lines are
/// those drawn (wrapped as drawn), so that the keys stop where the text does.
pub(in crate::tui::records) fn max_detail_scroll(
    detail: &RecordDetail,
    screen: Rect,
    session: &Session,
    server_now: DateTime<Utc>,
) -> usize {
    let area = detail_area(screen);
    let theme = Theme::new(crate::tui::theme::ColorSupport::None);
    let lines = detail_lines(detail, area, session, server_now, &theme);
    lines
        .len()
        .saturating_sub(usize::from(area.height.saturating_sub(2)))
}

/// The record details' lines, wrapped to `area`.
fn detail_lines(
    detail: &RecordDetail,
    area: Rect,
    session: &Session,
    server_now: DateTime<Utc>,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let record = &detail.record;
    let device = &record.device_info;
    let inner = usize::from(area.width.saturating_sub(2));
    let at = |t| when(t, session, server_now);
    // Long values wrap under themselves (the scroll counts these lines), never cut at the edge.
    let wrapped = |name: &str, value: String| -> Vec<Line<'static>> {
        format::wrap_words(&value, inner.saturating_sub(14))
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                let label = if i == 0 { name } else { "" };
                Line::from(vec![
                    Span::styled(format!("{label:<14}"), theme.header),
                    Span::raw(part),
                ])
            })
            .collect()
    };
    let field = |name: &str, value: String| wrapped(name, value);
    let or_dash = |text: &str| {
        if text.is_empty() {
            "—".to_string()
        } else {
            format::escape(text).into_owned()
        }
    };
    let mut lines = Vec::new();
    lines.extend(field("Record id", format::escape(&record.record_id).into_owned()));
    lines.extend(field("Module", record.module_code.to_string()));
    lines.push(Line::from(vec![
        Span::styled(format!("{:<14}", "Status"), theme.header),
        Span::styled(record.status.label(), status_style(record.status, theme)),
    ]));
    lines.extend(field("Version", record.version.to_string()));
    lines.extend(field("Created", at(record.create_time)));
    lines.extend(field("Ended", record.end_time.map_or("—".into(), at)));
    lines.extend(field("Device id", or_dash(&device.device_id)));
    lines.extend(field("Device name", or_dash(&device.device_name)));
    lines.extend(field("Device OS", or_dash(&device.device_os)));
    lines.extend(field("Machine code", or_dash(&device.machine_code)));
    lines.extend(field("Device since", device.create_time.map_or("—".into(), at)));
    lines.push(Line::from(""));
    lines.push(Line::styled("Properties", theme.header));
    for line in pretty_properties(&record.properties).lines() {
        let text = format::escape(line);
        let indent = text.chars().take_while(|c| *c == ' ').count() + 2;
        for (i, part) in format::wrap_words(text.trim_start(), inner.saturating_sub(indent + 2))
            .into_iter()
            .enumerate()
        {
            let pad = if i == 0 { indent } else { indent + 2 };
            lines.push(Line::from(format!("{:pad$}{part}", "")));
        }
    }
    lines.push(Line::from(""));
    let pager = &detail.files;
    let state = if pager.loading {
        " (loading…)".to_string()
    } else if pager.has_next() {
        " (] next page)".to_string()
    } else {
        String::new()
    };
    lines.push(Line::styled(
        format!("Files, page {}{state}", pager.page + 1),
        theme.header,
    ));
    if let Some(error) = &pager.error {
        lines.push(Line::styled(format!("  {}", format::escape(error)), theme.error));
    } else if pager.files.is_empty() && !pager.loading {
        lines.push(Line::styled("  no files", theme.dim));
    }
    for file in &pager.files {
        let created = file.create_time.map_or("—".to_string(), |t| {
            t.with_timezone(&session.display_offset)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        });
        lines.push(Line::from(format!(
            "  {:<40} {:>12}  {created}",
            format::escape(&file.file_name),
            format::human_size(file.size)
        )));
    }
    lines
}

/// Properties as indented JSON; text that is not JSON is shown as it is.
fn pretty_properties(text: &str) -> String {
    if text.trim().is_empty() {
        return "(none)".into();
    }
    crate::properties::pretty(text).unwrap_or_else(|| text.to_string())
}

fn draw_release_orphan(frame: &mut Frame, screen: Rect, orphan: &OrphanRelease, theme: &Theme) {
    let width = usize::from(DIALOG_WIDTH.min(screen.width).saturating_sub(2));
    let mut lines = vec![Line::from(vec![
        Span::raw(format!("Module {} is locked by lock ", orphan.module)),
        Span::styled(format::escape(&orphan.lock_id).into_owned(), theme.header),
    ])];
    // Wrapped here (not by the paragraph) so the dialog's height fits what is drawn.
    lines.extend(
        format::wrap_words(&orphan.holder, width)
            .into_iter()
            .map(|line| Line::styled(line, theme.warning)),
    );
    lines.extend(
        format::wrap_words(
            "Nobody renews or releases it, and it blocks every backup of the module until it \
             expires.",
            width,
        )
        .into_iter()
        .map(Line::from),
    );
    lines.push(Line::from(""));
    lines.extend(
        format::wrap_words(
            &format!(
                "Release it, then take a lock for this ({}) and release that when it is done?",
                format::escape(&orphan.op.describe())
            ),
            width,
        )
        .into_iter()
        .map(Line::from),
    );
    lines.push(Line::from(""));
    lines.push(Line::styled(
        "y: release it and go on · n / Esc: leave it",
        theme.dim,
    ));
    let area = centered(screen, DIALOG_WIDTH, lines.len() as u16 + 2);
    boxed(frame, area, "Orphaned lock", lines, theme);
}

fn draw_confirm_delete(frame: &mut Frame, screen: Rect, app: &View, record: &BackupRecord, theme: &Theme) {
    let device = &record.device_info;
    let name = format::escape(device.display_name());
    let os = if device.device_os.is_empty() {
        String::new()
    } else {
        format!(" ({})", format::escape(&device.device_os))
    };
    let mut lock = match record.module_code.known() {
        Some(module) => app.chrome.lock_line(module),
        None => Line::styled("none: the record's module is unknown", theme.warning),
    };
    lock.spans.insert(0, Span::raw("Lock: "));
    let lines = vec![
        Line::from(vec![
            Span::raw("Delete record "),
            Span::styled(format::escape(&record.record_id).into_owned(), theme.header),
            Span::raw("?"),
        ]),
        Line::from(format!("Device: {name}{os}")),
        Line::from(vec![
            Span::raw("Status: "),
            Span::styled(record.status.label(), status_style(record.status, theme)),
            Span::raw(format!(
                " · age {}",
                format::age(app.server_now.signed_duration_since(record.create_time))
            )),
        ]),
        Line::from(""),
    ];
    // With a grace window nothing is sent, so no lock is needed: the record waits in the queue.
    let lines = match grace_text(app) {
        Some(grace) => [
            lines,
            vec![
                Line::styled(format!("It is {grace}."), theme.warning),
                Line::styled("Its backup files go with it then.", theme.warning),
                Line::from(""),
                Line::styled("y: queue its deletion · n / Esc: keep it", theme.dim),
            ],
        ]
        .concat(),
        None => [
            lines,
            vec![
                Line::styled(
                    "Its backup files are deleted too. This cannot be undone.",
                    theme.warning,
                ),
                lock,
                Line::from(""),
                Line::styled("y: delete · n / Esc: keep it", theme.dim),
            ],
        ]
        .concat(),
    };
    // The lock line may wrap (a holder's name): the box grows with it.
    let inner = usize::from(DIALOG_WIDTH.min(screen.width).saturating_sub(2));
    let rows: usize = lines.iter().map(|line| wrapped_rows(line, inner)).sum();
    let area = centered(screen, DIALOG_WIDTH, rows as u16 + 2);
    boxed(frame, area, "Delete record", lines, theme);
}

fn draw_text_field(frame: &mut Frame, screen: Rect, field: &TextField, theme: &Theme) {
    let (title, prompt, hint) = match &field.purpose {
        TextPurpose::DeviceFilter => (
            "List one device's records".to_string(),
            "Device id, or (part of) its name (empty: every device):",
            "The list is loaded again from the server.",
        ),
        TextPurpose::CompleteProperties { record_id, .. } => (
            format!("Complete record {}", format::escape(record_id)),
            "New properties as JSON (optional; empty keeps the current ones):",
            "The record's status becomes completed and its end time is set.",
        ),
        TextPurpose::LocalFilter => {
            draw_filter_field(frame, screen, &field.input, theme);
            return;
        }
    };
    let width = DIALOG_WIDTH.min(screen.width);
    let input_width = usize::from(width.saturating_sub(5));
    let lines = vec![
        Line::from(prompt),
        input_line(&field.input, input_width, theme.header),
        Line::from(""),
        match &field.error {
            Some(error) => Line::styled(format::escape(error).into_owned(), theme.error),
            None => Line::styled(hint, theme.dim),
        },
    ];
    // An error (the editor's, say) may take more than a line: make room for all of it.
    let inner_width = usize::from(width.saturating_sub(2));
    let rows: usize = lines.iter().map(|line| wrapped_rows(line, inner_width)).sum();
    let area = centered(screen, width, rows as u16 + 2);
    boxed(frame, area, &title, lines, theme);
    set_input_cursor(frame, &field.input, input_width, area.x + 1, area.y + 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_pretty_printed_when_they_are_json() {
        assert_eq!(pretty_properties(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_properties("not json"), "not json");
        assert_eq!(pretty_properties(""), "(none)");
    }
}
