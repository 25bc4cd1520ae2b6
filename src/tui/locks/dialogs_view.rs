//! The locks pane's dialogs: release confirmation, module picker, adopt field.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::dialogs::{Dialog, PICKER_MODULES};
use crate::api::ModuleCode;
use crate::format;
use crate::tui::widgets::{Chrome, centered, input_line, set_input_cursor, wrapped_rows};

/// Outer width of a dialog.
const DIALOG_WIDTH: u16 = 66;

pub fn draw(frame: &mut Frame, screen: Rect, dialog: &Dialog, chrome: &Chrome) {
    let theme = chrome.theme;
    let inner = usize::from(DIALOG_WIDTH.min(screen.width).saturating_sub(2));
    // The typed id scrolls sideways within the dialog (`> ` and the cursor take three columns).
    let input_width = inner.saturating_sub(3);
    let (title, lines) = match dialog {
        Dialog::ConfirmRelease { lock_id, holder } => {
            let mut lines = vec![
                Line::from("Release this lock?"),
                Line::from(Span::styled(format::escape(lock_id), theme.header)),
                Line::from(""),
            ];
            if let Some(holder) = holder {
                // Another operation's lock: releasing it takes the module from under it.
                lines.push(Line::styled(
                    format!("It is {holder}: that operation loses its lock."),
                    theme.warning,
                ));
            }
            lines.push(Line::from(
                "Backups using it will be refused until a new lock is created.",
            ));
            (" Release lock ", lines)
        }
        Dialog::ConfirmForget { lock_ids } => {
            let mut lines = vec![Line::from(format!(
                "Forget {} expired or gone lock(s)?",
                lock_ids.len()
            ))];
            // As many ids as fit; the count above says how many there are.
            let shown = lock_ids
                .len()
                .min(usize::from(screen.height.saturating_sub(9)).max(1));
            for lock_id in &lock_ids[..shown] {
                lines.push(Line::from(Span::styled(
                    format::escape(lock_id).into_owned(),
                    theme.header,
                )));
            }
            if shown < lock_ids.len() {
                lines.push(Line::styled(
                    format!("… and {} more", lock_ids.len() - shown),
                    theme.dim,
                ));
            }
            lines.push(Line::from(""));
            lines.push(Line::from(
                "They leave the list and the journal. Nothing is sent.",
            ));
            (" Forget locks ", lines)
        }
        Dialog::ModulePicker { selected } => {
            let mut lines = vec![Line::from("Create a lock for which module?"), Line::from("")];
            for (index, module) in PICKER_MODULES.iter().enumerate() {
                let mut spans = vec![Span::raw(format!(" {}  {module} ", index + 1))];
                spans.extend(held_by(*module, chrome));
                let line = Line::from(spans);
                lines.push(if index == *selected {
                    line.style(theme.selected)
                } else {
                    line
                });
            }
            (" New lock ", lines)
        }
        Dialog::Adopt { input, error } => {
            let mut lines = vec![
                Line::from("Lock id (type or paste), e.g. 0b6e7a1c-…@102:"),
                input_line(input, input_width, theme.header),
                Line::from(""),
            ];
            match error {
                Some(error) => lines.push(Line::styled(format::escape(error), theme.error)),
                None => lines.push(Line::styled(
                    "The lock is renewed to check it is yours and to learn its expiry.",
                    theme.dim,
                )),
            }
            (" Adopt a lock ", lines)
        }
    };
    // Wrapped lines (a long error, a holder) make the dialog taller, so its last line is never cut.
    let rows: usize = lines.iter().map(|line| wrapped_rows(line, inner)).sum();
    let area = centered(screen, DIALOG_WIDTH, rows as u16 + 2);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(title);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: false }),
        area,
    );
    if let Dialog::Adopt { input, .. } = dialog {
        set_input_cursor(frame, input, input_width, area.x + 1, area.y + 2);
    }
}

/// Who holds a lock for `module` already, for the module picker: this app (with its time left)
/// or another holder (whose lock a new one would be refused beside).
fn held_by(module: ModuleCode, chrome: &Chrome) -> Option<Span<'static>> {
    if let Some(own) = chrome.own_locks.iter().find(|own| own.lock.module == module) {
        let left = format::countdown(own.lock.time_left(chrome.now));
        return Some(Span::styled(
            format!("— held by this app, {left} left"),
            chrome.theme.dim,
        ));
    }
    let foreign = chrome.foreign.iter().find(|f| f.module == module)?;
    let holder = format::escape(&foreign.holder);
    Some(Span::styled(format!("— {holder}"), chrome.theme.warning))
}
