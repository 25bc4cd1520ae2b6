//! Frame tests of the shell: status bar, activity log, tabs, help, quit prompt and the
//! too-small screen, drawn into a TestBackend and compared with committed snapshots
//! (`snapshots/`). Time is fixed. Regenerate with `INSTA_UPDATE=always cargo test`.

use crossterm::event::KeyCode;
use ratatui::style::Color;

use crate::tui::action::{Action, ApiOutcome};
use crate::tui::test_support::{
    HEIGHT, WIDTH, api_error, at, colour_of, drawn, only_call, press, reply_measured, screen_of, three_locks,
};
use crate::tui::theme::{ColorSupport, Theme};

#[test]
fn error_in_status_bar_and_log() {
    let mut app = three_locks();
    press(&mut app, KeyCode::Char('n'));
    let effects = press(&mut app, KeyCode::Char('1'));
    let conflict = api_error(409, 409001, "a live lock already exists for this module");
    let (request, _) = only_call(&effects);
    app.update(reply_measured(
        request,
        ApiOutcome::LockCreated(Err(conflict)),
        at(2),
        37,
        400,
    ));
    insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
}

#[test]
fn activity_pane_focused() {
    let mut app = three_locks();
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
}

#[test]
fn help_overlay() {
    let mut app = three_locks();
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(screen_of(&app, WIDTH, 50));
}

#[test]
fn help_scrolled_to_the_end_on_a_short_terminal() {
    let mut app = three_locks();
    app.update(Action::Resize {
        width: WIDTH,
        height: 15,
    });
    press(&mut app, KeyCode::Char('?'));
    for _ in 0..500 {
        press(&mut app, KeyCode::Char('j'));
    }
    let screen = screen_of(&app, WIDTH, 15);
    assert!(
        screen.contains("Cancel: nothing is changed"),
        "the last key is reachable"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn quit_prompt() {
    let mut app = three_locks();
    press(&mut app, KeyCode::Char('q'));
    insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
}

#[test]
fn terminal_too_small() {
    let mut app = three_locks();
    app.update(Action::Resize {
        width: 50,
        height: 12,
    });
    insta::assert_snapshot!(screen_of(&app, 50, 12));
}

#[test]
fn smallest_supported_terminal_still_shows_every_pane() {
    let mut app = three_locks();
    app.update(Action::Resize {
        width: 60,
        height: 15,
    });
    insta::assert_snapshot!(screen_of(&app, 60, 15));
}

#[test]
fn the_tab_of_the_shown_pane_is_highlighted_and_the_other_dimmed() {
    let mut app = three_locks();
    let theme = Theme::new(ColorSupport::Ansi16);
    let tabs_row = 2; // below the two status lines
    let locks_up = drawn(&app, &theme, WIDTH, HEIGHT);
    assert_eq!(colour_of(&locks_up, tabs_row, "[L] Locks"), Some(Color::Cyan));
    assert_eq!(
        colour_of(&locks_up, tabs_row, "[R] Records"),
        Some(Color::DarkGray)
    );
    press(&mut app, KeyCode::Char('R'));
    let records_up = drawn(&app, &theme, WIDTH, HEIGHT);
    assert_eq!(
        colour_of(&records_up, tabs_row, "[L] Locks"),
        Some(Color::DarkGray)
    );
    assert_eq!(colour_of(&records_up, tabs_row, "[R] Records"), Some(Color::Cyan));
}
