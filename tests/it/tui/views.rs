//! Frame tests: each pane drawn into a TestBackend in its normal, busy, warning, expired and
//! error states, compared with committed snapshots (tests/snapshots). Time is fixed, so every
//! countdown is exact. Regenerate with `INSTA_UPDATE=always cargo test --test tui_views`.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use koobackup::api::{ApiError, LockInfo};
use koobackup::tui::action::{Action, ApiOutcome, ApiReply, Effect, RequestId};
use koobackup::tui::theme::{ColorSupport, Theme};
use koobackup::tui::{App, Session, views};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::style::Color;

const A: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@100";
const B: &str = "7c1d2e3f-6a5b-4c3d-8e9f-a0b1c2d3e4f5@101";
const C: &str = "d4c3b2a1-9f8e-4d7c-b6a5-f4e3d2c1b0a9@102";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

fn lock(id: &str, expires_in: i64) -> LockInfo {
    LockInfo {
        lock_id: id.into(),
        module: LockInfo::module_of_id(id).unwrap(),
        expires_at: at(expires_in),
    }
}

fn session() -> Session {
    Session {
        label: "embedded demo server".into(),
        embedded: true,
        base_url: "http://127.0.0.1:4000".into(),
        user_id: "demo".into(),
        lock_ttl: chrono::Duration::seconds(600),
        display_offset: FixedOffset::east_opt(0).unwrap(),
    }
}

const WIDTH: u16 = 100;
const HEIGHT: u16 = 24;

fn app_with(held: Vec<(LockInfo, bool)>) -> App {
    App::new(session(), held, Vec::new(), t0(), Rect::new(0, 0, WIDTH, HEIGHT))
}

/// Three locks: one with plenty of time, one in warning, one critical.
fn three_locks() -> App {
    app_with(vec![
        (lock(A, 545), true),
        (lock(B, 95), false),
        (lock(C, 17), false),
    ])
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn first_request(effects: &[Effect]) -> RequestId {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Api { request, .. } => Some(*request),
            _ => None,
        })
        .expect("an API call")
}

fn render_with(app: &App, theme: &Theme, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| views::draw(frame, app, theme)).unwrap();
    terminal
}

/// The screen as text, one line per row.
fn screen(app: &App) -> String {
    screen_sized(app, WIDTH, HEIGHT)
}

fn screen_sized(app: &App, width: u16, height: u16) -> String {
    let terminal = render_with(app, &Theme::new(ColorSupport::Ansi16), width, height);
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[test]
fn empty_locks_pane() {
    insta::assert_snapshot!(screen(&app_with(vec![])));
}

#[test]
fn locks_normal_warning_and_critical() {
    insta::assert_snapshot!(screen(&three_locks()));
}

#[test]
fn locks_with_full_ids() {
    let mut app = three_locks();
    key(&mut app, KeyCode::Char('v'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn locks_busy_renewing_and_creating() {
    let mut app = three_locks();
    key(&mut app, KeyCode::Char('r'));
    key(&mut app, KeyCode::Char('n'));
    key(&mut app, KeyCode::Char('2'));
    app.update(Action::Animate);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn locks_expired_and_gone() {
    let mut app = app_with(vec![(lock(A, 545), false), (lock(B, -30), false)]);
    let effects = key(&mut app, KeyCode::Char('r'));
    app.update(Action::ApiDone(Box::new(ApiReply {
        request: first_request(&effects),
        outcome: ApiOutcome::LockRenewed(Err(ApiError::Api {
            status: 404,
            code: 404002.to_string(),
            msg: "lock not found".into(),
        })),
        latency: Duration::from_millis(12),
        finished_at: at(1),
        clock_offset: chrono::Duration::milliseconds(-2300),
    })));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn error_in_status_bar_and_log() {
    let mut app = three_locks();
    key(&mut app, KeyCode::Char('n'));
    let effects = key(&mut app, KeyCode::Char('1'));
    app.update(Action::ApiDone(Box::new(ApiReply {
        request: first_request(&effects),
        outcome: ApiOutcome::LockCreated(Err(ApiError::Api {
            status: 409,
            code: 409001.to_string(),
            msg: "a live lock already exists for this module".into(),
        })),
        latency: Duration::from_millis(37),
        finished_at: at(2),
        clock_offset: chrono::Duration::milliseconds(400),
    })));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn activity_pane_focused() {
    let mut app = three_locks();
    key(&mut app, KeyCode::Tab);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn help_overlay() {
    let mut app = three_locks();
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(screen_sized(&app, WIDTH, 50));
}

#[test]
fn help_scrolled_to_the_end_on_a_short_terminal() {
    let mut app = three_locks();
    app.update(Action::Resize {
        width: WIDTH,
        height: 15,
    });
    key(&mut app, KeyCode::Char('?'));
    for _ in 0..500 {
        key(&mut app, KeyCode::Char('j'));
    }
    let screen = screen_sized(&app, WIDTH, 15);
    assert!(screen.contains("Close the summary"), "the last key is reachable");
    insta::assert_snapshot!(screen);
}

#[test]
fn release_confirmation() {
    let mut app = three_locks();
    key(&mut app, KeyCode::Char('d'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn module_picker() {
    let mut app = three_locks();
    key(&mut app, KeyCode::Char('n'));
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn adopt_field_with_an_error() {
    let mut app = three_locks();
    key(&mut app, KeyCode::Char('i'));
    app.update(Action::Paste("not-a-lock".into()));
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn quit_prompt() {
    let mut app = three_locks();
    key(&mut app, KeyCode::Char('q'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn terminal_too_small() {
    let mut app = three_locks();
    app.update(Action::Resize {
        width: 50,
        height: 12,
    });
    insta::assert_snapshot!(screen_sized(&app, 50, 12));
}

#[test]
fn smallest_supported_terminal_still_shows_every_pane() {
    let mut app = three_locks();
    app.update(Action::Resize {
        width: 60,
        height: 15,
    });
    insta::assert_snapshot!(screen_sized(&app, 60, 15));
}

/// Foreground colour of the first cell of `text` on screen row `row`.
fn colour_of(terminal: &Terminal<TestBackend>, row: u16, text: &str) -> Option<Color> {
    let buffer = terminal.backend().buffer();
    let line: String = (0..buffer.area.width)
        .map(|x| buffer[(x, row)].symbol())
        .collect();
    let column = line.find(text).map(|byte| line[..byte].chars().count() as u16)?;
    Some(buffer[(column, row)].fg)
}

#[test]
fn urgency_is_coloured_in_sixteen_colours_and_plain_without_colour() {
    let app = three_locks();
    let first_row = 4; // two status lines, the top border, the column header
    let coloured = render_with(&app, &Theme::new(ColorSupport::Ansi16), WIDTH, HEIGHT);
    assert_eq!(colour_of(&coloured, first_row, "09:05"), Some(Color::Green));
    assert_eq!(colour_of(&coloured, first_row + 1, "01:35"), Some(Color::Yellow));
    assert_eq!(colour_of(&coloured, first_row + 2, "00:17"), Some(Color::Red));

    let plain = render_with(&app, &Theme::new(ColorSupport::None), WIDTH, HEIGHT);
    let buffer = plain.backend().buffer();
    assert!(
        buffer
            .content
            .iter()
            .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset)
    );
    // Without colour the state is still written out.
    let text = screen(&app);
    assert!(text.contains("warning") && text.contains("CRITICAL"), "{text}");
}

#[test]
fn a_second_of_countdown_changes_only_the_countdown_digits() {
    // What keeps an idle screen cheap: ratatui sends only changed cells, and one tick changes
    // the last digit of each countdown and nothing else.
    let mut app = three_locks();
    let theme = Theme::new(ColorSupport::Ansi16);
    let before = render_with(&app, &theme, WIDTH, HEIGHT)
        .backend()
        .buffer()
        .clone();
    app.update(Action::Tick(at(1)));
    assert!(app.take_redraw());
    let after = render_with(&app, &theme, WIDTH, HEIGHT)
        .backend()
        .buffer()
        .clone();
    let changed: Vec<String> = before
        .diff(&after)
        .into_iter()
        .map(|(x, y, cell)| format!("{x},{y}:{}", cell.symbol()))
        .collect();
    assert_eq!(changed.len(), 3, "{changed:?}");
}

#[test]
fn the_tab_of_the_shown_pane_is_highlighted_and_the_other_dimmed() {
    let mut app = three_locks();
    let theme = Theme::new(ColorSupport::Ansi16);
    let tabs_row = 2; // below the two status lines
    let locks_up = render_with(&app, &theme, WIDTH, HEIGHT);
    assert_eq!(colour_of(&locks_up, tabs_row, "[L] Locks"), Some(Color::Cyan));
    assert_eq!(
        colour_of(&locks_up, tabs_row, "[R] Records"),
        Some(Color::DarkGray)
    );
    key(&mut app, KeyCode::Char('R'));
    let records_up = render_with(&app, &theme, WIDTH, HEIGHT);
    assert_eq!(
        colour_of(&records_up, tabs_row, "[L] Locks"),
        Some(Color::DarkGray)
    );
    assert_eq!(colour_of(&records_up, tabs_row, "[R] Records"), Some(Color::Cyan));
}
