//! The activity log pane: newest line at the bottom.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::pane_block;
use crate::format;
use crate::tui::app::activity::{LogEntry, Outcome};
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let log = &app.activity;
    let title = if log.scroll_back > 0 {
        format!("Activity (scrolled back {} lines)", log.scroll_back)
    } else {
        "Activity".to_string()
    };
    let block = pane_block(&title, Pane::Activity, app, theme);
    let rows = usize::from(area.height.saturating_sub(2));
    let end = log.entries.len().saturating_sub(log.scroll_back);
    let start = end.saturating_sub(rows);
    let lines: Vec<Line> = log
        .entries
        .range(start..end)
        .map(|entry| log_line(entry, app, theme))
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn log_line<'a>(entry: &'a LogEntry, app: &App, theme: &Theme) -> Line<'a> {
    let time = entry
        .at
        .with_timezone(&app.session.display_offset)
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
    Line::from(vec![
        Span::styled(format!(" {time} "), theme.dim),
        Span::raw(format!("{:<24} ", entry.operation)),
        Span::styled(format!("{result:>6} "), style),
        Span::styled(format!("{latency:>8} "), theme.dim),
        Span::styled(format::escape(&entry.message), style),
    ])
}
