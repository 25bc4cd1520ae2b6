//! The bottom line: hints for the keys that work right now (from the key table), and the
//! latest notice on the right.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::keymap;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = Vec::new();
    for (keys, label) in keymap::hints(&app.active_scopes()) {
        spans.push(Span::styled(format!(" {keys}"), theme.key));
        spans.push(Span::raw(format!(" {label} ")));
    }
    let hints = Line::from(spans);
    let Some(notice) = &app.status.notice else {
        frame.render_widget(Paragraph::new(hints), area);
        return;
    };
    let notice_width = (notice.chars().count() as u16 + 1).min(area.width / 2);
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(notice_width)]).areas(area);
    frame.render_widget(Paragraph::new(hints), left);
    frame.render_widget(Paragraph::new(Span::styled(notice.as_str(), theme.notice)), right);
}
