//! The `:` command line through `App::update` and on `TestBackend`: panes and modules by name,
//! the filter, read-only on and off, quitting, history and completion, `:profile`/`:user`
//! asking the runtime to switch, and the switch itself taking the new connection's locks.

use crossterm::event::KeyCode;

use crate::api::ModuleCode;
use crate::tui::action::{Action, ApiCall, ConnectTo, Effect, Switched};
use crate::tui::app::App;
use crate::tui::feature::Pane;
use crate::tui::shell;
use crate::tui::test_support::{
    HEIGHT, WIDTH, app_holding, calls, ch, lock, only_call, own, press, screen_of, session, session_named,
    type_text,
};

const A: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@100";
const B: &str = "7c1d2e3f-0000-4a8e-9d59-2f0f0c7d9e11@101";

/// On profile home, holding A (renewed by hand).
fn app() -> App {
    app_renewing(false)
}

fn app_renewing(auto_renew: bool) -> App {
    app_holding(
        session_named("profile home", false),
        vec![(lock(A, 600), auto_renew)],
        WIDTH,
        HEIGHT,
    )
    .with_profiles(vec!["home".into(), "work".into()])
}

/// Types `:` and `line`, then Enter; returns what Enter asked for.
fn run(app: &mut App, line: &str) -> Vec<Effect> {
    ch(app, ':');
    type_text(app, line);
    press(app, KeyCode::Enter)
}

/// Every message of the activity log, oldest first.
fn log_messages(app: &App) -> Vec<&str> {
    app.activity
        .entries()
        .iter()
        .map(|e| e.message.as_str())
        .collect()
}

fn line_message(app: &App) -> Option<String> {
    match &app.shell {
        Some(shell::Dialog::CommandLine(line)) => line.message.clone(),
        _ => None,
    }
}

#[test]
fn panes_and_modules_by_name() {
    let mut app = app();
    run(&mut app, "devices");
    assert_eq!(app.focus, Pane::Devices);
    assert!(app.shell.is_none(), "the line closes");
    let effects = run(&mut app, "records album");
    assert_eq!(app.focus, Pane::Records);
    assert_eq!(app.records.module(), Some(ModuleCode::Album));
    let (_, call) = only_call(&effects);
    assert!(matches!(call, ApiCall::ListRecords { .. }), "{call:?}");
    run(&mut app, "locks");
    assert_eq!(app.focus, Pane::Locks);
    run(&mut app, "filter pixel");
    assert_eq!((app.focus, app.records.filter()), (Pane::Records, "pixel"));
}

#[test]
fn keys_typed_into_the_line_do_not_act_on_the_app() {
    let mut app = app();
    ch(&mut app, ':');
    // q, d, j would quit, release or move outside the line.
    type_text(&mut app, "qdj");
    assert!(matches!(&app.shell, Some(shell::Dialog::CommandLine(l)) if l.input.value() == "qdj"));
    press(&mut app, KeyCode::Esc);
    assert!(app.shell.is_none());
    assert_eq!(app.locks.entries().len(), 1, "nothing was released");
}

#[test]
fn an_unknown_command_stays_open_and_says_what_exists() {
    let mut app = app();
    assert!(run(&mut app, "shred").is_empty());
    let message = line_message(&app).expect("still open, with a message");
    assert!(
        message.contains("no command \"shred\"") && message.contains("profile NAME"),
        "{message}"
    );
    insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
}

#[test]
fn readonly_toggles_and_a_forced_one_cannot_be_lifted() {
    let mut app = app();
    run(&mut app, "readonly");
    assert!(app.session.read_only);
    assert!(calls(&ch(&mut app, 'r')).is_empty(), "a renewal is refused");
    run(&mut app, "readonly off");
    assert!(!app.session.read_only);

    let mut forced = session();
    forced.read_only = true;
    let mut app = app_holding(forced, vec![], WIDTH, HEIGHT);
    run(&mut app, "readonly off");
    assert!(app.session.read_only, "started read-only: stays so");
    assert!(app.status.notice.as_deref().unwrap().contains("stays on"));
}

#[test]
fn q_quits_and_asks_first_with_live_locks() {
    let mut app = app();
    assert!(run(&mut app, "q").is_empty());
    assert!(matches!(
        app.shell,
        Some(shell::Dialog::QuitPrompt { live_locks: 1 })
    ));
    let mut empty = app_holding(session(), vec![], WIDTH, HEIGHT);
    assert_eq!(run(&mut empty, "q"), vec![Effect::Quit]);
}

#[test]
fn history_and_completion_in_the_app() {
    let mut app = app();
    run(&mut app, "devices");
    run(&mut app, "locks");
    ch(&mut app, ':');
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.focus, Pane::Devices, "↑↑ Enter runs the older line");
    ch(&mut app, ':');
    type_text(&mut app, "prof");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "w");
    press(&mut app, KeyCode::Tab);
    let effects = press(&mut app, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::Connect(ConnectTo::Profile("work".into()))]);
}

#[test]
fn profile_and_user_ask_the_runtime_to_switch_and_an_unknown_profile_is_refused() {
    let mut app = app();
    assert!(run(&mut app, "profile nope").is_empty());
    let message = line_message(&app).unwrap();
    assert!(
        message.contains("no profile \"nope\"; profiles: home, work"),
        "{message}"
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(
        run(&mut app, "user 42"),
        vec![Effect::Connect(ConnectTo::User("42".into()))]
    );
    assert!(
        app.status
            .notice
            .as_deref()
            .unwrap()
            .contains("switching to user 42")
    );

    let mut app = app_holding(session(), vec![], WIDTH, HEIGHT);
    assert!(run(&mut app, "user 42").is_empty());
    assert_eq!(
        line_message(&app).as_deref(),
        Some("the embedded demo server has one user")
    );
}

#[test]
fn a_switch_shows_the_new_connection_and_its_locks_and_says_the_old_ones_stay() {
    let mut app = app();
    let mut next = session_named("profile work", false);
    next.user_id = "bob".into();
    app.update(Action::Connected(Box::new(Switched {
        session: next,
        held: vec![own(lock(B, 300), false)],
        warnings: vec![],
    })));
    assert_eq!(app.session.user_id, "bob");
    let ids: Vec<&str> = app.locks.entries().iter().map(|e| e.id()).collect();
    assert_eq!(ids, [B]);
    let log = log_messages(&app);
    assert!(
        log.iter()
            .any(|m| m.contains("1 live lock(s) of profile home stay in the journal")),
        "{log:?}"
    );
    let screen = screen_of(&app, WIDTH, HEIGHT);
    assert!(
        screen.contains("profile work") && screen.contains("user bob"),
        "{screen}"
    );

    app.update(Action::ConnectFailed("no such profile".into()));
    assert!(
        app.status
            .last_error
            .as_ref()
            .unwrap()
            .1
            .contains("not switched: no such profile")
    );
}

#[test]
fn while_a_switch_waits_nothing_that_changes_the_server_is_sent() {
    let mut app = app();
    run(&mut app, "profile work");
    let effects = ch(&mut app, 'n');
    assert!(
        effects.is_empty() && !app.dialog_open(),
        "no lock is created on the server being left"
    );
    assert!(
        app.status
            .notice
            .as_deref()
            .unwrap()
            .contains("switching to profile work")
    );
    app.update(Action::ConnectFailed("nope".into()));
    ch(&mut app, 'n');
    assert!(app.dialog_open(), "after the switch failed, keys work again");
}

#[test]
fn read_only_turned_on_stays_on_across_a_switch_and_the_same_server_keeps_quiet() {
    let mut app = app();
    run(&mut app, "readonly on");
    let mut same = session_named("profile home-ro", false);
    same.user_id = app.session.user_id.clone();
    app.update(Action::Connected(Box::new(Switched {
        session: same,
        held: vec![own(lock(A, 600), true)],
        warnings: vec![],
    })));
    assert!(app.session.read_only, "the user's read-only survives the switch");
    let log = log_messages(&app);
    assert!(
        !log.iter().any(|m| m.contains("stay in the journal")),
        "same server and user: {log:?}"
    );
}

#[test]
fn a_switch_that_would_leave_auto_renewed_locks_unrenewed_asks_first() {
    let mut app = app_renewing(true);
    assert!(run(&mut app, "profile work").is_empty(), "nothing switches yet");
    let screen = screen_of(&app, 80, 24);
    assert!(screen.contains("Switch to profile work?"), "{screen}");
    assert!(
        screen.contains("1 lock(s) of profile home are renewed automatically"),
        "{screen}"
    );
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "Enter does not answer"
    );
    assert!(ch(&mut app, 'n').is_empty());
    assert!(app.shell.is_none(), "n stays");
    run(&mut app, "user bob");
    assert_eq!(
        ch(&mut app, 'y'),
        vec![Effect::Connect(ConnectTo::User("bob".into()))]
    );
    // The same connection again leaves nothing behind: no question.
    assert_eq!(
        run(&mut app_renewing(true), "profile home"),
        vec![Effect::Connect(ConnectTo::Profile("home".into()))]
    );
}

#[test]
fn the_quit_prompt_counts_the_locks_left_on_a_connection_switched_away_from() {
    let mut app = app();
    let switched = |label: &str| {
        Action::Connected(Box::new(Switched {
            session: session_named(label, false),
            held: vec![],
            warnings: vec![],
        }))
    };
    let mut work = session_named("profile work", false);
    work.base_url = "https://work.example".into();
    app.update(Action::Connected(Box::new(Switched {
        session: work,
        held: vec![],
        warnings: vec![],
    })));
    assert!(ch(&mut app, 'q').is_empty(), "asks, though nothing is held here");
    let screen = screen_of(&app, 80, 24);
    assert!(screen.contains("This app holds 0 live lock(s):"), "{screen}");
    assert!(
        screen.contains("and 1 on connections switched away from"),
        "{screen}"
    );
    assert!(
        screen.contains("profile home: 100 folder  0b6e7a1c…@100  10:00"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
    ch(&mut app, 'c');
    // Back on home, its lock is in the panes again (from the journal), and no longer elsewhere.
    app.update(switched("profile home"));
    assert!(app.left_behind_labels(app.now).is_empty());
}
