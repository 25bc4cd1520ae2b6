//! The devices pane's dialogs: a device's settings and scopes, its edit field, and the unbind
//! confirmation.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::State;
use super::dialogs::{Detail, Dialog, Edit, Loading};
use crate::api::ModuleCode;
use crate::format;
use crate::tui::theme::Theme;
use crate::tui::widgets::{Chrome, boxed, centered, input_line, set_input_cursor, wrapped_rows};

/// Outer width of the detail view (at most).
const DETAIL_WIDTH: u16 = 96;
/// Outer width of the confirmation.
const CONFIRM_WIDTH: u16 = 72;

pub fn draw(frame: &mut Frame, screen: Rect, pane: &State, chrome: &Chrome) {
    let theme = chrome.theme;
    match &pane.dialog {
        Some(Dialog::Detail(detail)) => draw_detail(frame, screen, detail, chrome),
        Some(Dialog::Filter(input)) => {
            crate::tui::widgets::draw_filter_field(frame, screen, input, theme);
        }
        Some(Dialog::ConfirmUnbind { device, records }) => {
            let lines = vec![
                Line::from(format!(
                    "Unbind {} ({})?",
                    format::escape(&device.device_name),
                    format::escape(&device.device_id)
                )),
                Line::from(""),
                Line::from(format!(
                    "Its {records} record(s) stay on the server, listed under the device id; its backup \
                     scopes and settings are deleted. Binding its machine code again makes a new device."
                )),
                Line::from(""),
                Line::styled("y unbind · n keep it", theme.dim),
            ];
            let width = CONFIRM_WIDTH.min(screen.width);
            let rows: usize = lines
                .iter()
                .map(|l| wrapped_rows(l, usize::from(width.saturating_sub(2))))
                .sum();
            let area = centered(screen, width, rows as u16 + 2);
            boxed(frame, area, "Unbind a device", lines, theme);
        }
        None => {}
    }
}

fn draw_detail(frame: &mut Frame, screen: Rect, detail: &Detail, chrome: &Chrome) {
    let theme = chrome.theme;
    let device = &detail.device;
    let width = DETAIL_WIDTH.min(screen.width.saturating_sub(2));
    let input_width = usize::from(width.saturating_sub(5));
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format::escape(&device.device_name).into_owned(), theme.header),
            Span::raw(format!(
                " · {} · machine code {}{}",
                format::escape(&device.device_os),
                format::escape(&device.machine_code),
                device
                    .create_time
                    .map(|t| format!(" · bound {}", chrome.minutes(t)))
                    .unwrap_or_default()
            )),
        ]),
        module_tabs(detail.module, theme),
        Line::from(""),
        Line::styled("Settings", theme.header),
    ];
    let mut row = 0;
    let push_row = |lines: &mut Vec<Line>, line: Line<'static>, row: &mut usize| {
        lines.push(if *row == detail.cursor {
            line.style(theme.selected)
        } else {
            line
        });
        *row += 1;
    };
    match &detail.configs {
        Loading::Loading => lines.push(Line::styled("  reading…", theme.dim)),
        Loading::Failed(error) => lines.push(Line::styled(
            format!("  could not read them: {}", format::escape(error)),
            theme.error,
        )),
        Loading::Loaded(configs) if configs.is_empty() => lines.push(Line::styled("  none", theme.dim)),
        Loading::Loaded(configs) => {
            for config in configs {
                let line = Line::from(format!(
                    "  {:<20} {:<12} {}",
                    format::escape(&config.config_name),
                    format::escape(&config.config_value),
                    format::escape(config.description.as_deref().unwrap_or_default())
                ));
                push_row(&mut lines, line, &mut row);
            }
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(
        "What it backs up (on the device → in the cloud)",
        theme.header,
    ));
    match &detail.scopes {
        Loading::Loading => lines.push(Line::styled("  reading…", theme.dim)),
        Loading::Failed(error) => lines.push(Line::styled(
            format!("  could not read them: {}", format::escape(error)),
            theme.error,
        )),
        Loading::Loaded(scopes) if scopes.is_empty() => lines.push(Line::styled(
            "  nothing in this module (a adds a folder)",
            theme.dim,
        )),
        Loading::Loaded(scopes) => {
            for scope in scopes {
                let or_dash = |text: &str| {
                    if text.is_empty() {
                        "-".to_string()
                    } else {
                        format::escape(text).into_owned()
                    }
                };
                let line = Line::from(format!(
                    "  {:<6} {} → {}",
                    format::escape(&scope.scope_id),
                    or_dash(&scope.local_path),
                    or_dash(&scope.target_folder_path)
                ));
                push_row(&mut lines, line, &mut row);
            }
        }
    }
    lines.push(Line::from(""));
    let mut cursor_row = None;
    match &detail.edit {
        Some(Edit::Config {
            name,
            current,
            input,
            error,
        }) => {
            lines.push(Line::from(format!(
                "New value of {} (now {}; letters, digits, _):",
                format::escape(name),
                format::escape(current)
            )));
            cursor_row = Some((lines.len(), input));
            lines.push(input_line(input, input_width, theme.header));
            if let Some(error) = error {
                lines.push(Line::styled(format::escape(error).into_owned(), theme.error));
            }
        }
        Some(Edit::AddScope { input, error }) => {
            lines.push(Line::from(
                "New scope: FOLDER ON THE DEVICE => FOLDER IN THE CLOUD (either may be left out):",
            ));
            cursor_row = Some((lines.len(), input));
            lines.push(input_line(input, input_width, theme.header));
            if let Some(error) = error {
                lines.push(Line::styled(format::escape(error).into_owned(), theme.error));
            }
        }
        Some(Edit::ConfirmScopeDelete { scope }) => lines.push(Line::styled(
            format!(
                "Delete scope {} ({} → {})? The device stops backing it up. y/n",
                format::escape(&scope.scope_id),
                format::escape(&scope.local_path),
                format::escape(&scope.target_folder_path)
            ),
            theme.warning,
        )),
        None => {
            if let Some(message) = &detail.message {
                lines.push(Line::styled(format::escape(message).into_owned(), theme.notice));
            }
        }
    }
    let inner = usize::from(width.saturating_sub(2));
    let rows: usize = lines.iter().map(|l| wrapped_rows(l, inner)).sum();
    let height = (rows as u16 + 2).min(screen.height.saturating_sub(2));
    let area = centered(screen, width, height);
    boxed(
        frame,
        area,
        &format!("Device {}", format::escape(&device.device_id)),
        lines,
        theme,
    );
    if let Some((row, input)) = cursor_row {
        set_input_cursor(frame, input, input_width, area.x + 1, area.y + 1 + row as u16);
    }
}

fn module_tabs(current: ModuleCode, theme: &Theme) -> Line<'static> {
    let spans: Vec<Span<'static>> = ModuleCode::ALL
        .into_iter()
        .enumerate()
        .map(|(i, module)| {
            let text = format!(" [{}] {} {} ", i + 1, module.code(), module.name());
            if module == current {
                Span::styled(text, theme.selected)
            } else {
                Span::styled(text, theme.dim)
            }
        })
        .collect();
    Line::from(spans)
}
