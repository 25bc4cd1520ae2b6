//! The top two lines: where we are connected, as whom, and the server's clock offset; then the
//! last error, on a line of its own so that its message is not cut short.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::format;
use crate::tui::app::App;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let session = &app.session;
    let offset = match app.status.clock_offset {
        Some(offset) => format!("{:+.1} s", offset.num_milliseconds() as f64 / 1000.0),
        None => "not measured yet".to_string(),
    };
    let spans = vec![
        Span::styled(" koobackup ", theme.header),
        Span::raw("│ "),
        Span::raw(session.label.clone()),
        Span::raw(" │ user "),
        Span::raw(session.user_id.clone()),
        Span::raw(" │ server clock "),
        Span::raw(offset),
    ];
    let error = match &app.status.last_error {
        Some((at, error)) => {
            let at = at.with_timezone(&session.display_offset).format("%H:%M:%S");
            Line::styled(
                format!(" last error {at}: {}", format::escape(error)),
                theme.error,
            )
        }
        None => Line::styled(" no errors", theme.dim),
    };
    let [first, second] = Layout::vertical([Constraint::Length(1); 2]).areas(area);
    let connection = Line::from(spans);
    frame.render_widget(Paragraph::new(connection).style(theme.status_bar), first);
    frame.render_widget(Paragraph::new(error), second);
}
