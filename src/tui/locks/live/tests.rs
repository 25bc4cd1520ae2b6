//! `App::update` with journal snapshots (another koobackup changed the file), expiries in the
//! activity log, and `X` forgetting dead locks; a frame of the confirmation.

use crate::api::LockInfo;
use crate::lease::{Purpose, Standing};
use crate::tui::action::{Action, Effect, JournalChange, JournalSnapshot, Journalled};
use crate::tui::app::App;
use crate::tui::locks::dialogs::Dialog;
use crate::tui::shell::activity::Outcome;
use crate::tui::test_support::{HEIGHT, WIDTH, app_holding, at, ch, foreign, lock, screen_of, session};

const A: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@100";
const B: &str = "7c1d2e3f-0000-4a8e-9d59-2f0f0c7d9e11@101";
const C: &str = "9e0f1a2b-1111-4a8e-9d59-2f0f0c7d9e11@102";

fn app_with(held: Vec<(LockInfo, bool)>) -> App {
    app_holding(session(), held, WIDTH, HEIGHT)
}

fn ids(app: &App) -> Vec<&str> {
    app.locks.entries().iter().map(|e| e.id()).collect()
}

/// A snapshot of the journal holding `held` (locks of another koobackup that still runs, with
/// their auto-renew setting).
fn snapshot(held: Vec<(LockInfo, bool)>, applied: u64) -> Action {
    let held = held
        .into_iter()
        .map(|(lock, auto_renew)| Journalled {
            auto_renew,
            ..foreign(
                lock,
                Purpose::Hold {
                    command: "backup".into(),
                },
                Standing::Running,
            )
        })
        .collect();
    Action::JournalChanged(JournalSnapshot { held, applied })
}

fn last_log(app: &App) -> (String, Outcome, String) {
    let entry = app.activity.entries().back().expect("a log line");
    (
        entry.operation.clone(),
        entry.outcome.clone(),
        entry.message.clone(),
    )
}

#[test]
fn a_lock_another_koobackup_takes_appears_without_moving_the_cursor() {
    let mut app = app_with(vec![(lock(A, 600), false)]);
    app.take_redraw();
    let effects = app.update(snapshot(vec![(lock(A, 600), false), (lock(C, 500), true)], 0));
    assert!(effects.is_empty(), "nothing is sent: {effects:?}");
    assert_eq!(ids(&app), [A, C]);
    assert_eq!(app.locks.selected(), 0, "the cursor stays");
    assert!(app.locks.entries()[1].auto_renew, "with its auto-renew setting");
    assert!(app.take_redraw());
    let (operation, outcome, message) = last_log(&app);
    assert_eq!((operation.as_str(), outcome), ("journal", Outcome::Info));
    assert!(
        message.contains("9e0f1a2b")
            && message.contains("held by `lock hold` of `backup` on web-01, pid 4711"),
        "{message}"
    );
}

#[test]
fn a_renewal_elsewhere_moves_the_countdown_and_an_older_expiry_is_ignored() {
    let mut app = app_with(vec![(lock(A, 100), false)]);
    app.update(snapshot(vec![(lock(A, 600), false)], 0));
    assert_eq!(app.locks.entries()[0].lock.expires_at, lock(A, 600).expires_at);
    app.update(snapshot(vec![(lock(A, 50), false)], 0));
    assert_eq!(
        app.locks.entries()[0].lock.expires_at,
        lock(A, 600).expires_at,
        "an earlier expiry never shortens what we know"
    );
}

#[test]
fn an_unchanged_snapshot_changes_nothing_and_draws_nothing() {
    let mut app = app_with(vec![(lock(A, 600), false)]);
    app.take_redraw();
    let lines = app.activity.entries().len();
    app.update(snapshot(vec![(lock(A, 600), false)], 0));
    assert!(!app.take_redraw(), "our own write read back: no redraw");
    assert_eq!(app.activity.entries().len(), lines);
}

#[test]
fn a_lock_released_elsewhere_goes_but_not_one_in_flight_or_never_journalled() {
    let mut app = app_with(vec![(lock(A, 600), false), (lock(B, 300), false)]);
    app.update(snapshot(vec![(lock(B, 300), false)], 0));
    assert_eq!(ids(&app), [B]);
    let (_, _, message) = last_log(&app);
    assert!(
        message.contains("released or forgotten by another koobackup"),
        "{message}"
    );

    // A renewal of B is in flight: its absence from the file does not remove it.
    ch(&mut app, 'r');
    let sent = app.update(snapshot(vec![], 0));
    assert!(sent.is_empty());
    assert_eq!(ids(&app), [B], "busy: kept");
}

#[test]
fn a_lock_whose_journal_write_never_landed_stays_on_screen() {
    let mut app = app_with(vec![]);
    let mut created = crate::tui::locks::LockEntry::new(
        lock(C, 600),
        false,
        crate::tui::locks::Holder::App(Purpose::App { adopted: false }),
    );
    created.seen_in_journal = false;
    app.locks.entries_mut().push(created);
    app.update(snapshot(vec![], 0));
    assert_eq!(ids(&app), [C], "never seen in the file: the user still holds it");
}

#[test]
fn a_snapshot_older_than_our_own_latest_change_is_ignored() {
    let mut app = app_with(vec![(lock(A, 600), false)]);
    // Forgetting A is one journal change handed to the runtime…
    app.update(Action::Tick(at(700)));
    ch(&mut app, 'X');
    let effects = ch(&mut app, 'y');
    assert_eq!(
        effects,
        vec![Effect::Journal(JournalChange::Remove { lock_id: A.into() })]
    );
    // …so a snapshot read before it (still holding A) must not bring A back.
    app.update(snapshot(vec![(lock(A, 600), false)], 0));
    assert!(ids(&app).is_empty(), "stale snapshot ignored");
    app.update(snapshot(vec![(lock(C, 600), false)], 1));
    assert_eq!(ids(&app), [C], "a current one is taken in");
}

#[test]
fn an_expiry_is_said_once_in_the_activity_log() {
    let mut app = app_with(vec![(lock(A, 60), false)]);
    app.update(Action::Tick(at(30)));
    assert!(!app.activity.entries().iter().any(|e| e.operation == "expired"));
    app.update(Action::Tick(at(61)));
    app.update(Action::Tick(at(62)));
    let expired: Vec<_> = app
        .activity
        .entries()
        .iter()
        .filter(|e| e.operation == "expired")
        .collect();
    assert_eq!(expired.len(), 1, "once: {expired:?}");
    assert_eq!(expired[0].outcome, Outcome::Warning);
    assert!(expired[0].message.contains("0b6e7a1c") && expired[0].message.contains("X forgets"));
}

#[test]
fn x_forgets_every_dead_lock_after_one_confirmation_and_sends_nothing() {
    let mut app = app_with(vec![
        (lock(A, 60), false),
        (lock(B, 600), false),
        (lock(C, 30), false),
    ]);
    app.locks.entries_mut()[1].gone = true;
    app.update(Action::Tick(at(100)));
    ch(&mut app, 'X');
    let Some(Dialog::ConfirmForget { lock_ids }) = &app.locks.dialog else {
        panic!("X asks first: {:?}", app.locks.dialog)
    };
    assert_eq!(lock_ids, &[A, B, C]);
    // n keeps them.
    ch(&mut app, 'n');
    assert_eq!(ids(&app).len(), 3);
    ch(&mut app, 'X');
    let effects = ch(&mut app, 'y');
    assert_eq!(
        effects,
        [A, B, C]
            .map(|id| Effect::Journal(JournalChange::Remove { lock_id: id.into() }))
            .to_vec(),
        "only the journal changes; no call"
    );
    assert!(ids(&app).is_empty());
}

#[test]
fn x_with_nothing_dead_says_so() {
    let mut app = app_with(vec![(lock(A, 600), false)]);
    assert!(ch(&mut app, 'X').is_empty());
    assert!(app.locks.dialog.is_none());
    assert_eq!(
        app.status.notice.as_deref(),
        Some("no expired or gone locks to forget")
    );
}

#[test]
fn x_works_in_read_only_mode_since_it_sends_nothing() {
    let mut session = session();
    session.read_only = true;
    let mut app = app_holding(session, vec![(lock(A, 10), false)], WIDTH, HEIGHT);
    app.update(Action::Tick(at(20)));
    ch(&mut app, 'X');
    assert!(matches!(app.locks.dialog, Some(Dialog::ConfirmForget { .. })));
}

#[test]
fn the_forget_confirmation_names_the_locks() {
    let mut app = app_with(vec![(lock(A, 60), false), (lock(C, 30), false)]);
    app.update(Action::Tick(at(100)));
    ch(&mut app, 'X');
    insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
}
