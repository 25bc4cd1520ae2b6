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
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};

use super::app::{App, Pane, dialogs::Dialog};
use super::layout::{MIN_HEIGHT, MIN_WIDTH, ScreenLayout, TAB_SEPARATOR};
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
    let style = border_style(pane, app, theme);
    bordered(pane, app, theme).title(Line::styled(format!(" {title} "), style))
}

/// The block of the upper pane (locks or records, whichever is up), titled with the tab strip:
/// the shown tab highlighted, followed by `detail` about it.
fn upper_block<'a>(app: &App, detail: &str, theme: &Theme) -> Block<'a> {
    let shown = app.top_pane();
    let border = border_style(shown, app, theme);
    let mut spans = Vec::new();
    for (index, tab) in app.tabs().into_iter().enumerate() {
        if index > 0 {
            spans.push(Span::styled(TAB_SEPARATOR, border));
        }
        if tab.pane == shown {
            let style = if app.focus == shown { border } else { theme.header };
            spans.push(Span::styled(tab.text(), style));
            if !detail.is_empty() {
                spans.push(Span::styled(format!("{detail} "), style));
            }
        } else {
            spans.push(Span::styled(tab.text(), theme.dim));
        }
    }
    bordered(shown, app, theme).title(Line::from(spans))
}

fn border_style(pane: Pane, app: &App, theme: &Theme) -> ratatui::style::Style {
    if app.focus == pane && app.dialog.is_none() {
        theme.border_focused
    } else {
        theme.border
    }
}

fn bordered<'a>(pane: Pane, app: &App, theme: &Theme) -> Block<'a> {
    let border_type = if app.focus == pane && app.dialog.is_none() {
        BorderType::Thick
    } else {
        BorderType::Plain
    };
    Block::new()
        .borders(Borders::ALL)
        .border_type(border_type)
        .border_style(border_style(pane, app, theme))
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
