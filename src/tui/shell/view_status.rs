//! The status bar's two lines: the connection (where, as whom, the server's clock) led by the
//! READ-ONLY badge, then the last error with when it happened (red while it is news, then
//! dimmed, then gone; `Ctrl+L` takes it off sooner).
//!
//! The badge is a safety indicator: it comes right after the app's name, so no width hides it.
//! What follows gives way on a narrow screen in this order: the host, the clock, the end of the
//! profile's name, then the end of the user (each cut with `…`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Status;
use crate::format;
use crate::tui::widgets::Chrome;

const NAME: &str = " koobackup ";
const BADGE: &str = "READ-ONLY";
const SEPARATOR: &str = " │ ";
/// Columns of the label worth keeping before the user gives way.
const MIN_LABEL: usize = 12;

/// Draws the status bar into its two rows at `area`.
pub fn draw(frame: &mut Frame, area: Rect, status: &Status, chrome: &Chrome) {
    let (session, theme) = (chrome.session, chrome.theme);
    let mut spans = vec![Span::styled(NAME, theme.header)];
    if session.read_only {
        spans.extend([Span::raw("│ "), Span::styled(BADGE, theme.error), Span::raw(" ")]);
    }
    spans.push(Span::raw("│ "));
    let used: usize = spans.iter().map(Span::width).sum();
    spans.push(Span::raw(connection(
        status,
        chrome,
        usize::from(area.width).saturating_sub(used),
    )));
    let error = match status.shown_error(chrome.now) {
        Some(error) => {
            // When comes first, so that no message can push it out of sight.
            let at = error.at.with_timezone(&session.display_offset).format("%H:%M:%S");
            let age = match error.minutes {
                0 => "just now".to_string(),
                minutes => format!("{minutes} min ago"),
            };
            let when = format!(" last error {at}, {age}: ");
            let room = usize::from(area.width).saturating_sub(format::width(&when));
            let message = format::escape(error.message);
            let style = if error.fresh() { theme.error } else { theme.dim };
            Line::styled(format!("{when}{}", format::cut(&message, room)), style)
        }
        None => Line::styled(" no errors", theme.dim),
    };
    let [first, second] = Layout::vertical([Constraint::Length(1); 2]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.status_bar), first);
    frame.render_widget(Paragraph::new(error), second);
}

/// The connection, user and clock offset in at most `room` columns: the most that fits of
/// them, in the order of [the module docs](self).
fn connection(status: &Status, chrome: &Chrome, room: usize) -> String {
    let session = chrome.session;
    // Whole seconds (the `Date` header has no more), and nothing to say under one.
    let offset = match status.clock_offset {
        Some(offset) if offset.num_milliseconds().abs() < 1000 => "in step".to_string(),
        Some(offset) => format!(
            "{:+} s",
            (offset.num_milliseconds() as f64 / 1000.0).round() as i64
        ),
        None => "not measured yet".to_string(),
    };
    let clock = format!("server clock {offset}");
    let user = format!("user {}", format::escape(&session.user_id));
    let label = format::escape(&session.label);
    // A profile's name says which config entry; the host says which server is live.
    let with_host = match session.label.starts_with("profile ") {
        true => format!("{label} ({})", format::escape(host_of(&session.base_url))),
        false => label.to_string(),
    };
    let choices = [
        [with_host.as_str(), &user, &clock].join(SEPARATOR),
        [&*label, &user, &clock].join(SEPARATOR),
        [&*label, &user].join(SEPARATOR),
    ];
    if let Some(fitting) = choices.iter().find(|text| format::width(text) <= room) {
        return fitting.clone();
    }
    // The label is cut so that the user stays whole, while a useful part of the label is left.
    let user_room = format::width(SEPARATOR) + format::width(&user);
    match room.checked_sub(user_room) {
        Some(label_room) if label_room >= MIN_LABEL => {
            format!("{}{SEPARATOR}{user}", format::cut(&label, label_room))
        }
        _ => format::cut(&choices[2], room).into_owned(),
    }
}

/// `host:port` of a base URL (what tells servers apart at a glance).
fn host_of(base_url: &str) -> &str {
    let rest = base_url.split_once("://").map_or(base_url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}
