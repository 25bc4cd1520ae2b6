//! Drawing only: every function here reads the [`App`] and writes to a frame, nothing else.

mod activity;
mod dialogs;
mod footer;
mod help;
mod locks;
mod record_dialogs;
mod records;
mod status;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};

use super::app::{App, Pane, dialogs::Dialog};
use super::layout::{MIN_HEIGHT, MIN_WIDTH, ScreenLayout};
use super::theme::Theme;

/// Frames of the busy spinner.
pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn spinner(app: &App) -> &'static str {
    SPINNER[app.spinner_frame % SPINNER.len()]
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    let Some(layout) = ScreenLayout::new(area) else {
        draw_too_small(frame, area, theme);
        return;
    };
    status::draw(frame, layout.status, app, theme);
    // The records pane takes the locks pane's place while it is the one in use.
    match app.top_pane() {
        Pane::Records => records::draw(frame, layout.locks, app, theme),
        _ => locks::draw(frame, layout.locks, app, theme),
    }
    activity::draw(frame, layout.activity, app, theme);
    footer::draw(frame, layout.footer, app, theme);
    match &app.dialog {
        None => {}
        Some(Dialog::Help { scroll }) => help::draw(frame, area, *scroll, theme),
        Some(Dialog::Records(dialog)) => record_dialogs::draw(frame, area, app, dialog, theme),
        Some(dialog) => dialogs::draw(frame, area, dialog, theme),
    }
}

fn draw_too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let text = vec![
        Line::from("Terminal too small"),
        Line::from(format!(
            "{}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::from("enlarge it, or press q to quit"),
    ];
    let [middle] = Layout::vertical([Constraint::Length(3)])
        .flex(Flex::Center)
        .areas(area);
    let paragraph = Paragraph::new(text)
        .style(theme.warning)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true });
    frame.render_widget(paragraph, middle);
}

/// A bordered block whose border shows whether `pane` has the focus.
fn pane_block<'a>(title: &'a str, pane: Pane, app: &App, theme: &Theme) -> Block<'a> {
    let focused = app.focus == pane && app.dialog.is_none();
    let (style, border_type) = if focused {
        (theme.border_focused, BorderType::Thick)
    } else {
        (theme.border, BorderType::Plain)
    };
    Block::new()
        .borders(Borders::ALL)
        .border_type(border_type)
        .border_style(style)
        .title(Line::styled(format!(" {title} "), style))
}

/// A centred rectangle of at most `width` x `height` inside `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    rect
}
