//! The shell's drawing (the status bar is in [`super::view_status`]): the activity log pane,
//! the footer (hints for the keys that work now, and the latest notice), the help overlay, the
//! quit prompt, and the question asked when the history cannot be written.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::activity::{ActivityLog, LogEntry, Outcome};
use super::command_line::CommandLine;
use crate::format;
use crate::tui::action::Unrecorded;
use crate::tui::feature::{Pane, Session};

use crate::tui::keymap::{Binding, Command, HelpLine, Keymap, RecordCommand, Scope};
use crate::tui::layout::{help_area, help_rows};
use crate::tui::theme::Theme;
use crate::tui::widgets::{Chrome, boxed, centered, wrapped_rows};

/// Width of the question asked when the history cannot be written.
const ASK_WIDTH: u16 = 64;

/// The activity log pane: newest line at the bottom.
pub fn draw_activity(frame: &mut Frame, area: Rect, log: &ActivityLog, chrome: &Chrome) {
    let title = if log.scroll_back() > 0 {
        format!("Activity (scrolled back {} lines)", log.scroll_back())
    } else {
        "Activity".to_string()
    };
    let block = chrome.pane_block(&title, Pane::Activity);
    let rows = usize::from(area.height.saturating_sub(2));
    let end = log.entries().len().saturating_sub(log.scroll_back());
    let start = end.saturating_sub(rows);
    let focused = chrome.focus == Pane::Activity && !chrome.dialog_open;
    let lines: Vec<Line> = log
        .entries()
        .range(start..end)
        .enumerate()
        .map(|(i, entry)| {
            let line = log_line(entry, usize::from(area.width.saturating_sub(2)), chrome);
            // The line Enter opens.
            if focused && start + i + 1 == end {
                line.style(chrome.theme.selected)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// A change the history cannot record, held back: why, and whether to send it anyway. The why
/// names a path and the change names ids from the server: both are escaped.
pub fn draw_unrecorded(frame: &mut Frame, screen: Rect, asking: &Unrecorded, theme: &Theme) {
    let lines = vec![
        Line::styled(
            format!("The history cannot be written: {}.", format::escape(&asking.why)),
            theme.warning,
        ),
        Line::from(""),
        Line::from(format!("{} without a trace? y/n", format::escape(&asking.what()))),
        Line::from(""),
        Line::styled("y: send it without history · n / Esc: send nothing", theme.dim),
    ];
    let width = ASK_WIDTH.min(screen.width);
    let inner = usize::from(width.saturating_sub(2));
    let rows: usize = lines.iter().map(|line| wrapped_rows(line, inner)).sum();
    let area = centered(screen, width, rows as u16 + 2);
    boxed(frame, area, "Not recorded", lines, theme);
}

/// One line of the activity log, whole and wrapped, with its time, result and latency.
pub fn draw_log_entry(frame: &mut Frame, screen: Rect, entry: &LogEntry, chrome: &Chrome) {
    let theme = chrome.theme;
    let time = entry
        .at
        .with_timezone(&chrome.session.display_offset)
        .format("%Y-%m-%d %H:%M:%S %:z");
    let result = match &entry.outcome {
        Outcome::Success => "success".to_string(),
        Outcome::Failure { code: Some(code) } => format!("failed, code {code}"),
        Outcome::Failure { code: None } => "failed".to_string(),
        Outcome::Info => "note".to_string(),
        Outcome::Warning => "warning".to_string(),
    };
    let mut facts = format!("{time} · {result}");
    if let Some(latency) = entry.latency {
        facts.push_str(&format!(" · {} ms", latency.as_millis()));
    }
    let lines = vec![
        Line::styled(format::escape(&entry.operation).into_owned(), theme.header),
        Line::styled(facts, theme.dim),
        Line::from(""),
        Line::from(format::escape(&entry.message).into_owned()),
    ];
    let width = screen.width.saturating_sub(4).min(100);
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let wrapped = lines
        .iter()
        .map(|line| line.width().div_ceil(inner).max(1))
        .sum::<usize>();
    let height = (wrapped as u16 + 2).min(screen.height);
    let area = centered(screen, width, height);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(" Activity — Esc closes ");
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: false }),
        area,
    );
}

/// Columns of the operation in a log line: longer names are cut, so the columns after it stay.
const OPERATION_WIDTH: usize = 24;

/// One line of the log in `width` columns: time, operation, code, latency, then the message,
/// cut with `…` where the pane ends (`Enter` shows it whole).
fn log_line<'a>(entry: &'a LogEntry, width: usize, chrome: &Chrome) -> Line<'a> {
    let theme = chrome.theme;
    let time = entry
        .at
        .with_timezone(&chrome.session.display_offset)
        .format("%H:%M:%S");
    let (result, style) = match &entry.outcome {
        Outcome::Success => ("0".to_string(), theme.success),
        Outcome::Failure { code: Some(code) } => (code.to_string(), theme.error),
        Outcome::Failure { code: None } => ("error".to_string(), theme.error),
        Outcome::Info => ("·".to_string(), theme.dim),
        Outcome::Warning => ("!".to_string(), theme.warning),
    };
    let latency = entry
        .latency
        .map(|l| format!("{:>5} ms", l.as_millis()))
        .unwrap_or_default();
    let operation = format::escape(&entry.operation);
    let operation = format::cut(&operation, OPERATION_WIDTH);
    let padding = OPERATION_WIDTH.saturating_sub(format::width(&operation));
    let mut spans = vec![
        Span::styled(format!(" {time} "), theme.dim),
        Span::raw(format!("{operation}{:padding$} ", "")),
        Span::styled(format!("{result:>6} "), style),
        Span::styled(format!("{latency:>8} "), theme.dim),
    ];
    let room = width.saturating_sub(spans.iter().map(Span::width).sum());
    let message = format::escape(&entry.message);
    spans.push(Span::styled(format::cut(&message, room).into_owned(), style));
    Line::from(spans)
}

/// The bottom line: hints for the keys of `scopes` (from the keymap), and the latest notice on
/// the right.
pub fn draw_footer(
    frame: &mut Frame,
    area: Rect,
    keymap: &Keymap,
    scopes: &[Scope],
    notice: Option<&str>,
    session: &Session,
    theme: &Theme,
) {
    let read_only = session.read_only;
    let queued = session.delete_grace.is_some();
    let hints_area = match notice {
        None => area,
        Some(notice) => {
            // The hints that must stay (getting around, the way out of a dialog), as drawn: the
            // notice has the rest of the line, and a longer one ends after its last whole word.
            let essential: usize = fitting_hints(keymap, scopes, 0, read_only, queued)
                .into_iter()
                .map(|hint| hint_width(hint, queued))
                .sum();
            let room = usize::from(area.width).saturating_sub(essential + 1);
            let notice = format::escape(notice);
            let notice = format::fit_words(&notice, room).into_owned();
            let notice_width = format::width(&notice) as u16 + 1;
            let [left, right] =
                Layout::horizontal([Constraint::Min(0), Constraint::Length(notice_width)]).areas(area);
            frame.render_widget(Paragraph::new(Span::styled(notice, theme.notice)), right);
            left
        }
    };
    let mut spans = Vec::new();
    let width = usize::from(hints_area.width);
    for binding in fitting_hints(keymap, scopes, width, read_only, queued) {
        spans.push(Span::styled(format!(" {}", binding.keys), theme.key));
        spans.push(Span::raw(format!(" {} ", hint_text(binding, queued))));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), hints_area);
}

/// The hints of `scopes` that fit in `width` columns, whole. The keys that work everywhere
/// (quit, help, switching panes) are kept first, so that a newcomer always sees how to get
/// around; the focused pane's own hints fill the rest in table order. Every key is in the help.
/// In read-only mode the keys that would change the server are left out (the help marks them).
/// `queued`: deletes are queued under a grace window, and their hints say so.
fn fitting_hints<'a>(
    keymap: &'a Keymap,
    scopes: &[Scope],
    width: usize,
    read_only: bool,
    queued: bool,
) -> Vec<&'a Binding> {
    let hint_width = |binding: &Binding| hint_width(binding, queued);
    let (own, everywhere): (Vec<Scope>, Vec<Scope>) = scopes.iter().partition(|s| **s != Scope::Global);
    let everywhere = keymap.hints(&everywhere);
    let mut room = width.saturating_sub(everywhere.iter().map(|b| hint_width(b)).sum());
    let own: Vec<&Binding> = keymap
        .hints(&own)
        .into_iter()
        .filter(|hint| !(read_only && hint.command.changes_the_server()))
        .collect();
    // How to get out of a dialog (Esc) has its room set aside first, so no width hides it;
    // the hints keep their table order.
    let is_way_out = |hint: &Binding| hint.command == Command::Cancel;
    room = room.saturating_sub(own.iter().filter(|h| is_way_out(h)).map(|h| hint_width(h)).sum());
    let mut others_fit = true;
    let mut fitting: Vec<&Binding> = own
        .into_iter()
        .filter(|hint| {
            if is_way_out(hint) {
                return true;
            }
            others_fit = others_fit
                && match room.checked_sub(hint_width(hint)) {
                    Some(left) => {
                        room = left;
                        true
                    }
                    None => false,
                };
            others_fit
        })
        .collect();
    fitting.extend(everywhere);
    fitting
}

/// The columns a hint takes in the footer: ` keys hint `.
fn hint_width(binding: &Binding, queued: bool) -> usize {
    format::width(&binding.keys) + format::width(&hint_text(binding, queued)) + 3
}

/// A hint as shown: under a grace window a delete key queues the deletion ("d queue", "Enter
/// queue ticked"), as its question says.
fn hint_text(binding: &Binding, queued: bool) -> Cow<'static, str> {
    let hint = binding.hint.unwrap_or_default();
    match hint.strip_prefix("delete") {
        Some(rest) if queued && deletes_records(binding) => Cow::Owned(format!("queue{rest}")),
        _ => Cow::Borrowed(hint),
    }
}

/// Whether a key deletes records: `d` on them, or the confirmation of a bulk delete or clean-up.
fn deletes_records(binding: &Binding) -> bool {
    binding.command == Command::Records(RecordCommand::Delete)
        || (binding.command == Command::Confirm
            && matches!(binding.scope, Scope::TypeToConfirm | Scope::Cleanup))
}

/// The help overlay: every key of the keymap, grouped by where it works.
pub fn draw_help(
    frame: &mut Frame,
    screen: Rect,
    keymap: &Keymap,
    scroll: usize,
    read_only: bool,
    theme: &Theme,
) {
    let area = help_area(screen);
    let lines = help_text(keymap, read_only, area.width, theme);
    // The user's keys for closing, as the footer shows them.
    let close_keys = keymap
        .bindings_of(Scope::Help)
        .find(|b| b.command == Command::Cancel)
        .map_or_else(|| "Esc".to_string(), |b| b.keys.clone());
    // The app caps the scroll for the size it knows; this frame may be bigger (a resize not
    // yet reported), and then shows no empty lines past the last one either.
    let scroll = scroll.min(lines.len().saturating_sub(help_rows(screen)));
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(format!(" Keys — j/k scroll, {} close ", close_keys));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((scroll as u16, 0)),
        area,
    );
}

/// The `:` command line: a box across the bottom of the screen, above the footer, with the
/// line as typed and under it the completions or why the last line was refused.
pub fn draw_command_line(frame: &mut Frame, screen: Rect, line: &CommandLine, theme: &Theme) {
    // The message wraps (up to three lines), so a long list of choices is read whole.
    let inner = usize::from(screen.width.saturating_sub(2)).max(1);
    let message_rows = line
        .message
        .as_ref()
        .map_or(0, |m| format::width(m).div_ceil(inner).clamp(1, 3) as u16);
    let height = 3 + message_rows;
    let area = Rect::new(
        screen.x,
        screen.y + screen.height.saturating_sub(height + 1),
        screen.width,
        height.min(screen.height),
    );
    let room = usize::from(area.width.saturating_sub(3));
    let scroll = line.input.visual_scroll(room);
    let shown: String = line.input.value().chars().skip(scroll).collect();
    let mut lines = vec![Line::from(vec![
        Span::styled(":", theme.key),
        Span::raw(format::escape(&shown).into_owned()),
    ])];
    if let Some(message) = &line.message {
        lines.push(Line::styled(format::escape(message).into_owned(), theme.dim));
    }
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(" Command — Tab completes, ↑ history, Esc closes ");
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: false }),
        area,
    );
    let cursor = line.input.visual_cursor().saturating_sub(scroll).min(room) as u16;
    frame.set_cursor_position(ratatui::layout::Position::new(area.x + 2 + cursor, area.y + 1));
}

/// Columns of the key column in the help, before the text.
const HELP_KEY_COLUMN: usize = 14;

/// The help's lines for an overlay `width` columns wide: each key's text wrapped between words
/// under itself, so nothing is cut at the right edge.
pub fn help_text(keymap: &Keymap, read_only: bool, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let room = usize::from(width.saturating_sub(2))
        .saturating_sub(HELP_KEY_COLUMN)
        .max(10);
    let mut lines = Vec::new();
    for line in keymap.help_lines() {
        match line {
            HelpLine::Blank => lines.push(Line::from("")),
            HelpLine::Title(scope) => lines.push(Line::styled(scope.title(), theme.header)),
            HelpLine::Key(binding) => {
                let disabled = read_only && binding.command.changes_the_server();
                let text = if disabled {
                    format!("[read-only: disabled] {}", binding.help)
                } else {
                    binding.help.to_string()
                };
                for (i, part) in format::wrap_words(&text, room).into_iter().enumerate() {
                    let keys = if i == 0 { binding.keys.as_str() } else { "" };
                    let key = format!("  {keys:<width$}", width = HELP_KEY_COLUMN - 2);
                    lines.push(if disabled {
                        Line::styled(format!("{key}{part}"), theme.dim)
                    } else {
                        Line::from(vec![Span::styled(key, theme.key), Span::raw(part)])
                    });
                }
            }
        }
    }
    lines
}

/// Outer width of the quit prompt.
const DIALOG_WIDTH: u16 = 66;

/// The quit prompt, with the user's keys for its choices; in read-only mode releasing is not
/// offered (it would change the server).
/// The quit prompt over the live locks the app holds `[here, elsewhere]`: on this connection
/// (which it can release or keep) and left on connections switched away from (which stay in
/// the journal, unrenewed, whatever the answer).
pub fn draw_quit_prompt(
    frame: &mut Frame,
    screen: Rect,
    [here, elsewhere]: [Vec<String>; 2],
    keymap: &Keymap,
    read_only: bool,
    theme: &Theme,
) {
    /// Locks named one by one; more are counted.
    const LISTED: usize = 5;
    let listed = |locks: &[String], lines: &mut Vec<Line>| {
        lines.extend(locks.iter().take(LISTED).map(|l| Line::from(format!("  {l}"))));
        if locks.len() > LISTED {
            lines.push(Line::from(format!("  and {} more", locks.len() - LISTED)));
        }
    };
    let mut lines = vec![Line::from(format!("This app holds {} live lock(s):", here.len()))];
    listed(&here, &mut lines);
    if !elsewhere.is_empty() {
        lines.push(Line::styled(
            format!(
                "and {} on connections switched away from (they stay in the journal, renewed by nothing):",
                elsewhere.len()
            ),
            theme.warning,
        ));
        listed(&elsewhere, &mut lines);
    }
    lines.push(Line::from("Locks kept with `lock create` stay as they are."));
    lines.push(Line::from(""));
    let choices = [
        (Command::ReleaseAllAndQuit, "release them, then quit"),
        (
            Command::KeepAndQuit,
            "keep them (they stay in the journal) and quit",
        ),
        (Command::Cancel, "cancel"),
    ];
    for (command, text) in choices {
        if read_only && command.changes_the_server() {
            continue;
        }
        if let Some(binding) = keymap
            .bindings_of(Scope::QuitPrompt)
            .find(|b| b.command == command)
        {
            lines.push(Line::from(vec![
                Span::styled(binding.keys.clone(), theme.key),
                Span::raw(format!("  {text}")),
            ]));
        }
    }
    let inner = usize::from(DIALOG_WIDTH.min(screen.width).saturating_sub(2));
    let rows: usize = lines.iter().map(|line| wrapped_rows(line, inner)).sum();
    let area = centered(screen, DIALOG_WIDTH, u16::try_from(rows + 2).unwrap_or(u16::MAX));
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(" Quit ");
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: false }),
        area,
    );
}

/// Asks before a switch to `what` that would leave `renewed` auto-renewed locks of `current`
/// unrenewed.
pub fn draw_switch_question(
    frame: &mut Frame,
    screen: Rect,
    what: &str,
    renewed: usize,
    current: &str,
    theme: &Theme,
) {
    let lines = vec![
        Line::from(format!("Switch to {}?", format::escape(what))),
        Line::from(""),
        Line::styled(
            format!(
                "{renewed} lock(s) of {} are renewed automatically here. After the switch nothing renews them: they stay in the journal and expire, unless you switch back first.",
                format::escape(current)
            ),
            theme.warning,
        ),
        Line::from(""),
        Line::styled("y: switch · n / Esc: stay", theme.dim),
    ];
    let inner = usize::from(DIALOG_WIDTH.min(screen.width).saturating_sub(2));
    let rows: usize = lines.iter().map(|line| wrapped_rows(line, inner)).sum();
    let area = centered(screen, DIALOG_WIDTH, u16::try_from(rows + 2).unwrap_or(u16::MAX));
    boxed(frame, area, "Switch connection", lines, theme);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::default_keymap;

    fn shown(hints: &[&Binding]) -> String {
        hints
            .iter()
            .map(|b| format!(" {} {} ", b.keys, b.hint.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn global_hints_survive_a_narrow_footer_and_pane_hints_are_never_cut() {
        let keymap = default_keymap();
        let scopes = [Scope::LocksPane, Scope::Global];
        let wide = shown(&fitting_hints(&keymap, &scopes, 200, false, false));
        assert!(
            wide.contains("v full ids") && wide.ends_with("Tab next pane "),
            "{wide}"
        );
        let narrow = fitting_hints(&keymap, &scopes, 60, false, false);
        let text = shown(&narrow);
        assert!(text.chars().count() <= 60, "{text}");
        assert!(
            text.contains("n new") && text.ends_with("? help  Tab next pane "),
            "{text}"
        );
        assert!(!text.contains("v full ids"), "{text}");
    }

    #[test]
    fn dialogs_show_only_their_own_hints() {
        let keymap = default_keymap();
        let text = shown(&fitting_hints(&keymap, &[Scope::Confirm], 100, false, false));
        assert_eq!(text, " y yes  n/Esc no ");
    }

    #[test]
    fn under_a_grace_window_record_deletes_are_hinted_as_queueing() {
        let keymap = default_keymap();
        let hints = |scope: Scope, queued: bool| -> String {
            fitting_hints(&keymap, &[scope], 200, false, queued)
                .iter()
                .map(|b| format!(" {} {} ", b.keys, hint_text(b, queued)))
                .collect()
        };
        for (scope, queueing, deleting) in [
            (Scope::RecordsPane, " d/Del queue ", " d/Del delete "),
            (Scope::TypeToConfirm, " Enter queue ", " Enter delete "),
            (Scope::Cleanup, " Enter queue ticked ", " Enter delete ticked "),
        ] {
            assert!(hints(scope, true).contains(queueing), "{}", hints(scope, true));
            assert!(hints(scope, false).contains(deleting), "{}", hints(scope, false));
        }
        // A scope is not a record: its delete is sent at once, grace or not.
        assert!(hints(Scope::DeviceDetail, true).contains(" d/Del delete scope "));
    }
}
