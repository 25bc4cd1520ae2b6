//! The whole frame: the shell around the features' panes, and whichever dialog is open on top.
//! Drawing only: everything here reads the [`App`] and writes to a frame.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::App;
use super::devices;
use super::feature::Pane;
use super::history;
use super::layout::{MIN_HEIGHT, MIN_WIDTH, ScreenLayout};
use super::locks;
use super::pending;
use super::records;
use super::shell::{self, view as shell_view};
use super::theme::Theme;
use super::widgets::Chrome;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    let Some(layout) = ScreenLayout::new(area) else {
        let asking = match &app.shell {
            Some(shell::Dialog::QuitPrompt { live_locks }) => Some(*live_locks),
            _ => None,
        };
        draw_too_small(frame, area, asking, theme);
        return;
    };
    let tabs = app.tabs();
    let own_locks = app.locks.own_locks(app.now);
    let foreign = app.locks.foreign(app.now);
    let chrome = Chrome {
        now: app.now,
        session: &app.session,
        theme,
        spinner_frame: app.spinner_frame,
        focus: app.focus,
        top: app.top_pane(),
        dialog_open: app.dialog_open(),
        tabs: &tabs,
        own_locks: &own_locks,
        foreign: &foreign,
    };
    let server_now = app.server_now();
    shell::view_status::draw(frame, layout.status, &app.status, &chrome);
    // The records pane takes the locks pane's place while it is the one in use.
    match app.top_pane() {
        Pane::Records => records::view::draw(frame, layout.locks, &app.records, &chrome, server_now),
        Pane::Devices => devices::view::draw(frame, layout.locks, &app.devices, &chrome, app.health_now()),
        Pane::History => history::view::draw(frame, layout.locks, &app.history_pane, &chrome),
        Pane::Pending => pending::view::draw(frame, layout.locks, &app.pending_pane, &chrome, server_now),
        _ => locks::view::draw(frame, layout.locks, &app.locks, &chrome),
    }
    shell_view::draw_activity(frame, layout.activity, &app.activity, &chrome);
    shell_view::draw_footer(
        frame,
        layout.footer,
        app.keymap(),
        &app.active_scopes(),
        app.status.notice.as_deref(),
        &app.session,
        theme,
    );
    match &app.shell {
        Some(shell::Dialog::Help { scroll }) => {
            shell_view::draw_help(frame, area, app.keymap(), *scroll, app.session.read_only, theme)
        }
        Some(shell::Dialog::QuitPrompt { .. }) => shell_view::draw_quit_prompt(
            frame,
            area,
            [app.locks.live_labels(app.now), app.left_behind_labels(app.now)],
            app.keymap(),
            app.session.read_only,
            theme,
        ),
        Some(shell::Dialog::ConfirmSwitch { what, renewed, .. }) => {
            shell_view::draw_switch_question(frame, area, what, *renewed, &app.session.label, theme)
        }
        Some(shell::Dialog::CommandLine(line)) => shell_view::draw_command_line(frame, area, line, theme),
        Some(shell::Dialog::LogEntry(entry)) => shell_view::draw_log_entry(frame, area, entry, &chrome),
        None => {}
    }
    if let Some(dialog) = &app.locks.dialog {
        locks::dialogs_view::draw(frame, area, dialog, &chrome);
    }
    records::dialogs_view::draw(frame, area, &app.records, &chrome, server_now);
    devices::dialogs_view::draw(frame, area, &app.devices, &chrome);
    history::view::draw_dialog(frame, area, &app.history_pane, theme);
    if let Some(asking) = app.asking() {
        shell_view::draw_unrecorded(frame, area, asking, theme);
    }
}

/// The screen below the smallest size; `asking` is the live locks of a quit prompt waiting to be
/// shown, which only a larger screen can answer.
fn draw_too_small(frame: &mut Frame, area: Rect, asking: Option<usize>, theme: &Theme) {
    let last = match asking {
        Some(live) => format!("you hold {live} live lock(s): enlarge it to say whether to release them"),
        None => "enlarge it, or press q to quit".into(),
    };
    let text = vec![
        Line::from("Terminal too small"),
        Line::from(format!(
            "{}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::from(last),
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
