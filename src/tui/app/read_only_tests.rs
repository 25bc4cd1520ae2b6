//! Read-only mode through `App::update` and on `TestBackend`: every key that would change the
//! server is refused with a visible message and sends nothing; nothing is renewed on its own;
//! the status bar says so, the footer leaves those keys out and the help marks them disabled.

use crossterm::event::KeyCode;

use crate::api::{Page, RecordStatus};
use crate::tui::App;
use crate::tui::action::{Action, ApiOutcome, Effect};
use crate::tui::test_support::{
    app_holding, at, calls, ch, lock, only_call, press, reply, screen_of, session, session_named,
};

const LOCK: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@102";

/// A read-only app holding one lock with auto-renew on.
fn read_only_app() -> App {
    let mut session = session();
    session.read_only = true;
    app_holding(session, vec![(lock(LOCK, 100), true)], 110, 30)
}

fn notice(app: &App) -> &str {
    app.status.notice.as_deref().unwrap_or_default()
}

#[test]
fn keys_that_would_change_the_server_are_refused_and_send_nothing() {
    let mut app = read_only_app();
    for key in ['n', 'r', 'd', 'a'] {
        let effects = ch(&mut app, key);
        assert!(calls(&effects).is_empty(), "{key}: {effects:?}");
        assert!(!app.dialog_open(), "{key}: no dialog opens");
        assert!(
            notice(&app).contains("read-only, not sent: "),
            "{key}: {}",
            notice(&app)
        );
    }

    // The records pane: browsing works, creating, completing and deleting do not.
    press(&mut app, KeyCode::BackTab);
    let (request, _) = only_call(&ch(&mut app, '3'));
    let records = vec![crate::tui::test_support::record(0, RecordStatus::New)];
    app.update(reply(
        request,
        ApiOutcome::RecordsPage(Ok(Page::new(records, None))),
        at(1),
    ));
    for key in ['n', 'c', 'd'] {
        let effects = ch(&mut app, key);
        assert!(calls(&effects).is_empty(), "{key}: {effects:?}");
        assert!(!app.dialog_open(), "{key}");
        assert!(
            notice(&app).contains("read-only, not sent"),
            "{key}: {}",
            notice(&app)
        );
    }
    // The clean-up view opens as a preview (as the command line's dry run); its delete refuses.
    assert!(calls(&ch(&mut app, 'x')).is_empty());
    assert!(app.dialog_open(), "the clean-up preview opens");
    assert!(screen_of(&app, 110, 30).contains("read-only: a preview, nothing is deleted"));
    ch(&mut app, 'a');
    let effects = press(&mut app, KeyCode::Enter);
    assert!(calls(&effects).is_empty(), "{effects:?}");
    assert!(
        matches!(
            app.records.dialog,
            Some(crate::tui::records::dialogs::Dialog::Cleanup(_))
        ),
        "still the preview"
    );
    assert_eq!(
        notice(&app),
        "read-only: the clean-up is a preview, nothing is deleted"
    );
    assert_eq!(app.records.rows().len(), 1, "nothing deleted");
}

#[test]
fn nothing_is_renewed_on_its_own() {
    let mut app = read_only_app();
    // Well inside the auto-renew window (a third of the lifetime before expiry) and past it.
    for secs in [1, 50, 99, 150] {
        let effects = app.update(Action::Tick(at(secs)));
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Api { .. })),
            "at {secs} s: {effects:?}"
        );
    }
    assert_eq!(app.locks.entries().len(), 1, "the lock is still listed");
}

#[test]
fn the_screen_says_read_only_and_leaves_the_disabled_keys_out() {
    let mut app = read_only_app();
    let screen = screen_of(&app, 110, 30);
    assert!(screen.lines().next().unwrap().contains("READ-ONLY"), "{screen}");
    let footer = screen.lines().last().unwrap();
    assert!(!footer.contains("new") && !footer.contains("release"), "{footer}");
    insta::assert_snapshot!(screen);

    ch(&mut app, '?');
    let help = screen_of(&app, 110, 30);
    assert!(help.contains("[read-only: disabled]"), "{help}");
}

#[test]
fn read_only_offers_nothing_it_would_refuse_in_the_quit_prompt_and_empty_panes() {
    let mut app = read_only_app();
    ch(&mut app, 'q');
    let screen = screen_of(&app, 110, 30);
    assert!(screen.contains("keep them"), "{screen}");
    assert!(!screen.contains("release them"), "no release offered:\n{screen}");

    let mut session = session();
    session.read_only = true;
    let mut empty = app_holding(session, vec![], 110, 30);
    let screen = screen_of(&empty, 110, 30);
    assert!(screen.contains("read-only: none can be created"), "{screen}");
    assert!(!screen.contains("Press n"), "{screen}");
    press(&mut empty, KeyCode::BackTab);
    let screen = screen_of(&empty, 110, 30);
    assert!(!screen.contains("n creates a record"), "{screen}");
}

#[test]
fn the_read_only_badge_shows_at_every_width_before_host_clock_and_user() {
    let mut session = session_named("profile production", false);
    session.base_url = "https://backup-gateway.eu-central.koodrive.example.com/".into();
    session.user_id = "1234567890123456789".into();
    session.read_only = true;
    for width in [60, 80, 110, 200] {
        let app = app_holding(session.clone(), vec![], width, 24);
        let screen = screen_of(&app, width, 24);
        let top = screen.lines().next().unwrap();
        assert!(
            top.starts_with(" koobackup │ READ-ONLY │ profile production"),
            "{width}: {top}"
        );
        let full = " │ user 1234567890123456789 │ server clock not measured yet";
        match width {
            60 => assert!(
                top.ends_with("│ user 12345678…"),
                "the end is cut, and says so: {top}"
            ),
            80 => assert!(
                top.ends_with("production │ user 1234567890123456789"),
                "no clock: {top}"
            ),
            110 => assert!(top.ends_with(&format!("production{full}")), "no host: {top}"),
            _ => assert!(
                top.contains("(backup-gateway.eu-central.koodrive.example.com)"),
                "{top}"
            ),
        }
    }
}
