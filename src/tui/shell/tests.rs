//! Frame tests of the shell: status bar, activity log, tabs, help, quit prompt and the
//! too-small screen, drawn into a TestBackend and compared with committed snapshots
//! (`snapshots/`). Time is fixed. A changed frame is looked at before its `.snap.new` replaces
//! the snapshot.

use crossterm::event::KeyCode;
use ratatui::style::Color;

use crate::tui::action::{Action, ApiOutcome};
use crate::tui::test_support::{
    HEIGHT, WIDTH, api_error, at, colour_of, ctrl, drawn, only_call, press, reply_measured, screen_of,
    three_locks,
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

/// three_locks with a 409 answered at 07:00:02.
fn with_an_error() -> crate::tui::App {
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
    app
}

fn error_line(app: &crate::tui::App) -> String {
    screen_of(app, WIDTH, HEIGHT).lines().nth(1).unwrap().to_string()
}

#[test]
fn an_error_is_red_while_news_then_dim_with_its_age_then_gone() {
    let mut app = with_an_error();
    let theme = Theme::new(ColorSupport::Ansi16);
    let red = |app: &crate::tui::App| {
        colour_of(&drawn(app, &theme, WIDTH, HEIGHT), 1, "last error") == Some(Color::Red)
    };
    assert!(error_line(&app).starts_with(" last error 07:00:02, just now: create lock 100"));
    assert!(red(&app));
    app.update(Action::Tick(at(62)));
    assert!(error_line(&app).starts_with(" last error 07:00:02, 1 min ago: create lock 100"));
    assert!(!red(&app), "an old error no longer looks like news");
    app.update(Action::Tick(at(2 + 15 * 60)));
    assert_eq!(error_line(&app), " no errors");
    assert!(
        app.activity
            .entries()
            .iter()
            .any(|e| e.message.contains("409001")),
        "the log keeps it"
    );
}

#[test]
fn an_error_ages_by_itself_with_a_tick_a_minute_and_none_after() {
    let mut app =
        crate::tui::test_support::app_holding(crate::tui::test_support::session(), vec![], WIDTH, HEIGHT);
    assert_eq!(app.next_clock_change(), None, "nothing counts down");
    app.status.last_error = Some((at(2), "create lock 100: conflict".into()));
    assert_eq!(app.next_clock_change(), Some(at(62)));
    app.take_redraw();
    app.update(Action::Tick(at(61)));
    assert!(!app.take_redraw(), "nothing changed yet");
    app.update(Action::Tick(at(62)));
    assert!(app.take_redraw(), "the age changed");
    assert_eq!(app.next_clock_change(), Some(at(122)));
    app.update(Action::Tick(at(2 + 15 * 60)));
    assert!(app.take_redraw(), "the error left the status bar");
    assert_eq!(app.next_clock_change(), None, "nothing left to count");
}

#[test]
fn ctrl_l_takes_the_error_off_the_status_bar() {
    let mut app = with_an_error();
    ctrl(&mut app, 'l');
    assert_eq!(error_line(&app), " no errors");
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
    assert!(screen.contains("Close the line"), "the last key is reachable");
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

#[test]
fn enter_on_the_activity_log_opens_the_highlighted_line_whole() {
    let mut app = three_locks();
    let long = "the server answered HTTP 502 with a body that is not KooDrive JSON (expected value at line 1 \
                column 1); is the base URL a KooDrive server? A proxy in front of it may be failing";
    app.activity.note(
        at(1),
        crate::tui::shell::activity::Outcome::Warning,
        "list records 101",
        long.into(),
    );
    app.activity.note(
        at(2),
        crate::tui::shell::activity::Outcome::Info,
        "later",
        "newest line".into(),
    );
    app.update(Action::Resize {
        width: 80,
        height: 24,
    });
    press(&mut app, KeyCode::Tab);
    // k moves the highlight up one line: to the long one.
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Enter);
    let Some(crate::tui::shell::Dialog::LogEntry(entry)) = &app.shell else {
        panic!("Enter opens the line: {:?}", app.shell)
    };
    assert_eq!(entry.message, long);
    let screen = screen_of(&app, 80, 24);
    for word in ["expected", "proxy", "failing"] {
        assert!(screen.contains(word), "{word} is shown, not cut off:\n{screen}");
    }
    insta::assert_snapshot!(screen);
    press(&mut app, KeyCode::Esc);
    assert!(app.shell.is_none());
}

#[test]
fn at_80_columns_no_help_line_and_no_notice_is_cut_inside_a_word() {
    let app = three_locks();
    let screen = ratatui::layout::Rect::new(0, 0, 80, 24);
    let width = crate::tui::layout::help_area(screen).width;
    let theme = Theme::new(ColorSupport::None);
    for line in crate::tui::shell::view::help_text(app.keymap(), true, width, &theme) {
        assert!(
            line.width() <= usize::from(width - 2),
            "cut at the edge: {line:?}"
        );
    }
    let mut app = three_locks();
    app.update(Action::Resize {
        width: 80,
        height: 24,
    });
    app.status.notice = Some(
        "bulk delete in 102: deleted 10 of 40, stopped: 30 left untouched, and this goes on past the edge"
            .into(),
    );
    let footer = screen_of(&app, 80, 24).lines().last().unwrap().to_string();
    assert!(
        footer.trim_end().ends_with("the…") || footer.trim_end().ends_with('…'),
        "{footer}"
    );
    assert!(!footer.contains("edg"), "{footer}");
    for hint in ["q quit", "? help", "Tab next pane"] {
        assert!(footer.contains(hint), "a notice leaves the way around: {footer}");
    }
}

#[test]
fn the_clock_offset_is_the_median_of_recent_measurements_in_whole_seconds() {
    let mut status = crate::tui::shell::Status::default();
    let ms = chrono::Duration::milliseconds;
    for sample in [ms(3_100), ms(2_900), ms(60_000), ms(3_000), ms(-40_000)] {
        status.measured_offset(sample);
    }
    assert_eq!(
        status.clock_offset,
        Some(ms(3_000)),
        "one outlier each way does not move it"
    );
    let mut app = three_locks();
    app.status = status;
    assert!(screen_of(&app, WIDTH, HEIGHT).contains("server clock +3 s"));
    for _ in 0..9 {
        app.status.measured_offset(ms(400));
    }
    assert!(
        screen_of(&app, WIDTH, HEIGHT).contains("server clock in step"),
        "under a second: no figure"
    );
}

#[test]
fn an_answer_without_a_usable_date_leaves_the_clock_unknown_not_in_step() {
    let mut app = three_locks();
    app.update(Action::ApiDone(Box::new(crate::tui::action::ApiReply {
        request: crate::tui::action::RequestId(9),
        outcome: ApiOutcome::LockReleased(Ok(())),
        latency: std::time::Duration::from_millis(5),
        finished_at: at(0),
        clock_offset: None,
    })));
    let screen = screen_of(&app, WIDTH, HEIGHT);
    assert!(screen.contains("server clock not measured yet"), "{screen}");
}

#[test]
fn the_help_pages_with_pgdn_pgup_home_and_end() {
    let mut app = three_locks();
    press(&mut app, KeyCode::Char('?'));
    press(&mut app, KeyCode::End);
    let Some(crate::tui::shell::Dialog::Help { scroll: last }) = app.shell.clone() else {
        panic!("help open")
    };
    assert!(last > 0);
    press(&mut app, KeyCode::PageUp);
    let rows = crate::tui::layout::help_rows(app.screen);
    assert!(matches!(app.shell, Some(crate::tui::shell::Dialog::Help { scroll }) if scroll == last - rows));
    press(&mut app, KeyCode::Home);
    assert!(matches!(
        app.shell,
        Some(crate::tui::shell::Dialog::Help { scroll: 0 })
    ));
    press(&mut app, KeyCode::PageDown);
    assert!(matches!(app.shell, Some(crate::tui::shell::Dialog::Help { scroll }) if scroll == rows));
}
