//! `App::update` for every key and every API result. Time is fixed: nothing here reads the
//! clock, so every countdown is exact.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use super::*;
use crate::api::ApiError;
use crate::tui::action::{ApiOutcome, ApiReply};

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
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

fn lock(id: &str, expires_in: i64) -> LockInfo {
    LockInfo {
        lock_id: id.into(),
        module: LockInfo::module_of_id(id).unwrap(),
        expires_at: at(expires_in),
    }
}

const A: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@100";
const B: &str = "7c1d2e3f-0000-4a8e-9d59-2f0f0c7d9e11@101";

fn app_with(held: Vec<(LockInfo, bool)>) -> App {
    App::new(session(), held, Vec::new(), t0(), Rect::new(0, 0, 100, 30))
}

fn app() -> App {
    app_with(vec![(lock(A, 600), false), (lock(B, 300), false)])
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ch(app: &mut App, c: char) -> Vec<Effect> {
    press(app, KeyCode::Char(c))
}

fn api_error(status: u16, code: i64, msg: &str) -> ApiError {
    ApiError::Api {
        status,
        code: code.to_string(),
        msg: msg.into(),
    }
}

fn timeout() -> ApiError {
    ApiError::Timeout {
        after: Duration::from_secs(10),
    }
}

/// The single API call among `effects`.
fn only_call(effects: &[Effect]) -> (RequestId, ApiCall) {
    let calls: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Api { request, call } => Some((*request, call.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 1, "expected one call in {effects:?}");
    calls[0].clone()
}

fn reply(request: RequestId, outcome: ApiOutcome, finished: i64) -> Action {
    Action::ApiDone(Box::new(ApiReply {
        request,
        outcome,
        latency: Duration::from_millis(42),
        finished_at: at(finished),
        clock_offset: chrono::Duration::milliseconds(1500),
    }))
}

fn ids(app: &App) -> Vec<&str> {
    app.locks.entries.iter().map(|e| e.id()).collect()
}

#[test]
fn starts_with_journalled_locks_and_logs_the_connection() {
    let app = app();
    assert_eq!(ids(&app), [A, B]);
    assert_eq!(app.focus, Pane::Locks);
    assert!(app.activity.entries[0].message.contains("embedded demo server"));
    assert!(!app.is_busy());
}

#[test]
fn warnings_reach_the_log_and_the_status_line() {
    let app = App::new(
        session(),
        vec![],
        vec!["token file is readable by others".into()],
        t0(),
        Rect::new(0, 0, 100, 30),
    );
    assert_eq!(
        app.status.notice.as_deref(),
        Some("token file is readable by others")
    );
    assert!(app.activity.entries.iter().any(|e| e.outcome == Outcome::Warning));
}

#[test]
fn navigation_keys_move_the_selection_both_vim_and_arrows() {
    let mut app = app();
    ch(&mut app, 'j');
    assert_eq!(app.locks.selected, 1);
    ch(&mut app, 'j');
    assert_eq!(app.locks.selected, 1, "stays on the last row");
    press(&mut app, KeyCode::Up);
    assert_eq!(app.locks.selected, 0);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.locks.selected, 1);
    ch(&mut app, 'g');
    assert_eq!(app.locks.selected, 0);
    ch(&mut app, 'G');
    assert_eq!(app.locks.selected, 1);
    press(&mut app, KeyCode::Home);
    assert_eq!(app.locks.selected, 0);
    press(&mut app, KeyCode::End);
    assert_eq!(app.locks.selected, 1);
}

#[test]
fn key_releases_are_ignored() {
    let mut app = app();
    let mut release = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    app.take_redraw();
    app.update(Action::Key(release));
    assert_eq!(app.locks.selected, 0);
    assert!(!app.take_redraw());
}

#[test]
fn tab_cycles_focus_and_keys_follow_it() {
    let mut app = app();
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Activity);
    assert_eq!(app.active_scopes(), vec![Scope::ActivityPane, Scope::Global]);
    assert!(ch(&mut app, 'r').is_empty(), "renew is a locks-pane key");
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Locks);
}

#[test]
fn capital_l_and_r_show_the_locks_and_records_panes_from_anywhere() {
    let mut app = app();
    ch(&mut app, 'R');
    assert_eq!((app.focus, app.top_pane()), (Pane::Records, Pane::Records));
    press(&mut app, KeyCode::Tab);
    assert_eq!((app.focus, app.top_pane()), (Pane::Locks, Pane::Locks));
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Activity);
    ch(&mut app, 'R');
    assert_eq!(app.focus, Pane::Records);
    ch(&mut app, 'L');
    assert_eq!((app.focus, app.top_pane()), (Pane::Locks, Pane::Locks));
    assert!(ch(&mut app, 'r').len() == 1, "lower-case r still renews");
}

#[test]
fn the_tabs_name_both_panes_and_a_click_on_one_shows_it() {
    let mut app = app();
    let [locks, records] = app.tabs();
    assert_eq!(locks.text(), " [L] Locks (2) ");
    assert_eq!(records.text(), " [R] Records ");
    let y = app.layout().unwrap().locks.y;
    // " [R] Records " starts after the corner, the locks tab and the separator.
    let records_x = 1 + locks.text().chars().count() as u16 + 1;
    click(&mut app, records_x + 2, y);
    assert_eq!((app.focus, app.top_pane()), (Pane::Records, Pane::Records));
    click(&mut app, records_x - 1, y);
    assert_eq!(app.focus, Pane::Records, "the separator is no tab");
    click(&mut app, 3, y);
    assert_eq!((app.focus, app.top_pane()), (Pane::Locks, Pane::Locks));
    ch(&mut app, 'R');
    ch(&mut app, '3');
    assert_eq!(app.tabs()[1].label, "Records: 102 address book");
}

#[test]
fn activity_pane_scrolls_back_and_forth() {
    let mut app = app();
    for i in 0..20 {
        app.activity.note(t0(), Outcome::Info, "test", i.to_string());
    }
    press(&mut app, KeyCode::Tab);
    ch(&mut app, 'k');
    ch(&mut app, 'k');
    assert_eq!(app.activity.scroll_back, 2);
    ch(&mut app, 'j');
    assert_eq!(app.activity.scroll_back, 1);
    ch(&mut app, 'G');
    assert_eq!(app.activity.scroll_back, 0);
}

#[test]
fn help_opens_scrolls_and_closes() {
    let mut app = app();
    ch(&mut app, '?');
    assert!(matches!(app.dialog, Some(Dialog::Help { scroll: 0 })));
    ch(&mut app, 'j');
    assert!(matches!(app.dialog, Some(Dialog::Help { scroll: 1 })));
    assert!(
        ch(&mut app, 'r').is_empty(),
        "pane keys do nothing under the help"
    );
    press(&mut app, KeyCode::Esc);
    assert!(app.dialog.is_none());
    ch(&mut app, '?');
    ch(&mut app, '?');
    assert!(app.dialog.is_none());
}

#[test]
fn help_scrolls_to_its_last_line_on_a_short_terminal_and_no_further() {
    let mut app = app();
    app.update(Action::Resize {
        width: 100,
        height: 15,
    });
    ch(&mut app, '?');
    for _ in 0..500 {
        ch(&mut app, 'j');
    }
    let lines = keymap::help_lines().len();
    let rows = crate::tui::layout::help_rows(app.screen);
    let Some(Dialog::Help { scroll }) = app.dialog else {
        panic!("help is open")
    };
    assert_eq!(scroll + rows, lines, "the last line is at the bottom");
    assert!(scroll > keymap::BINDINGS.len(), "more lines than bindings");
    ch(&mut app, 'k');
    assert!(matches!(app.dialog, Some(Dialog::Help { scroll: s }) if s == scroll - 1));
    // Growing the terminal shows more at once, so the scroll comes back as far as needed.
    app.update(Action::Resize {
        width: 100,
        height: 40,
    });
    let rows = crate::tui::layout::help_rows(app.screen);
    assert!(matches!(app.dialog, Some(Dialog::Help { scroll: s }) if s + rows == lines));
}

#[test]
fn new_lock_picks_a_module_by_number_or_by_moving() {
    let mut app = app();
    ch(&mut app, 'n');
    assert!(matches!(app.dialog, Some(Dialog::ModulePicker { selected: 0 })));
    let (_, call) = only_call(&ch(&mut app, '3'));
    assert_eq!(call, ApiCall::CreateLock(ModuleCode::AddressBook));
    assert_eq!(app.locks.creating, [ModuleCode::AddressBook]);
    assert!(app.dialog.is_none());
    assert!(app.is_busy());

    ch(&mut app, 'n');
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    ch(&mut app, 'k');
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(call, ApiCall::CreateLock(ModuleCode::Album));
}

#[test]
fn a_second_create_for_the_same_module_waits_for_the_first() {
    let mut app = app();
    ch(&mut app, 'n');
    ch(&mut app, '1');
    ch(&mut app, 'n');
    assert!(ch(&mut app, '1').is_empty());
    assert!(
        app.status
            .notice
            .as_deref()
            .unwrap()
            .contains("already being created")
    );
}

#[test]
fn created_lock_is_listed_selected_journalled_and_logged() {
    let mut app = app_with(vec![]);
    ch(&mut app, 'n');
    let (request, _) = only_call(&ch(&mut app, '2'));
    let created = lock(B, 601);
    let effects = app.update(reply(request, ApiOutcome::LockCreated(Ok(created.clone())), 1));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Upsert {
            lock: created,
            auto_renew: false
        })]
    );
    assert_eq!(ids(&app), [B]);
    assert!(app.locks.creating.is_empty());
    assert!(!app.is_busy());
    assert_eq!(
        app.status.clock_offset,
        Some(chrono::Duration::milliseconds(1500))
    );
    let last = app.activity.entries.back().unwrap();
    assert_eq!(last.operation, "create lock 101");
    assert_eq!(last.outcome, Outcome::Success);
    assert_eq!(last.latency, Some(Duration::from_millis(42)));
}

#[test]
fn failed_create_shows_code_and_message_and_changes_nothing() {
    let mut app = app();
    ch(&mut app, 'n');
    let (request, _) = only_call(&ch(&mut app, '1'));
    let error = api_error(409, 409001, "lock already held");
    let effects = app.update(reply(request, ApiOutcome::LockCreated(Err(error)), 1));
    assert!(effects.is_empty());
    assert_eq!(ids(&app), [A, B]);
    assert!(app.locks.creating.is_empty());
    let (_, text) = app.status.last_error.clone().unwrap();
    assert!(text.contains("lock already held (code 409001)"), "{text}");
    assert_eq!(
        app.activity.entries.back().unwrap().outcome,
        Outcome::Failure { code: Some(409001) }
    );
}

#[test]
fn renew_marks_the_lock_busy_and_then_extends_it() {
    let mut app = app();
    let (request, call) = only_call(&ch(&mut app, 'r'));
    assert_eq!(call, ApiCall::RenewLock(lock(A, 600)));
    assert_eq!(app.locks.entries[0].busy, Some(Busy::Renewing));
    assert!(
        ch(&mut app, 'r').is_empty(),
        "no second renewal while one is in flight"
    );
    assert!(app.status.notice.as_deref().unwrap().contains("renewing"));

    let renewed = lock(A, 650);
    let effects = app.update(reply(request, ApiOutcome::LockRenewed(Ok(renewed.clone())), 50));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Update {
            lock: renewed.clone(),
            auto_renew: false
        })]
    );
    assert_eq!(app.locks.entries[0].lock, renewed);
    assert_eq!(app.locks.entries[0].busy, None);
}

#[test]
fn failed_renewal_keeps_the_lock_and_its_journal_entry() {
    let mut app = app();
    let (request, _) = only_call(&ch(&mut app, 'r'));
    let effects = app.update(reply(request, ApiOutcome::LockRenewed(Err(timeout())), 10));
    assert!(effects.is_empty(), "no journal change on error: {effects:?}");
    assert_eq!(ids(&app), [A, B]);
    assert_eq!(app.locks.entries[0].lock, lock(A, 600));
    assert!(app.status.last_error.is_some());
}

#[test]
fn renewal_answered_lock_not_found_marks_the_lock_gone_but_keeps_it() {
    let mut app = app();
    let (request, _) = only_call(&ch(&mut app, 'r'));
    let gone = api_error(404, 404002, "lock not found");
    let effects = app.update(reply(request, ApiOutcome::LockRenewed(Err(gone)), 10));
    assert!(effects.is_empty());
    assert!(app.locks.entries[0].gone);
    assert_eq!(app.locks.entries[0].countdown(app.now), "gone");
    assert!(!app.locks.entries[0].is_live(app.now));
}

#[test]
fn release_asks_first_and_cancel_changes_nothing() {
    let mut app = app();
    assert!(ch(&mut app, 'd').is_empty());
    assert!(matches!(&app.dialog, Some(Dialog::ConfirmRelease { lock_id }) if lock_id == A));
    assert!(ch(&mut app, 'n').is_empty());
    assert!(app.dialog.is_none());
    press(&mut app, KeyCode::Delete);
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert_eq!(ids(&app), [A, B]);
}

#[test]
fn confirmed_release_removes_the_lock_from_list_and_journal() {
    let mut app = app();
    ch(&mut app, 'd');
    let (request, call) = only_call(&ch(&mut app, 'y'));
    assert_eq!(call, ApiCall::ReleaseLock(A.into()));
    assert_eq!(app.locks.entries[0].busy, Some(Busy::Releasing));
    let effects = app.update(reply(request, ApiOutcome::LockReleased(Ok(())), 5));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Remove { lock_id: A.into() })]
    );
    assert_eq!(ids(&app), [B]);
}

#[test]
fn release_confirmed_with_enter_works_too() {
    let mut app = app();
    ch(&mut app, 'j');
    ch(&mut app, 'd');
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(call, ApiCall::ReleaseLock(B.into()));
}

#[test]
fn failed_release_keeps_the_lock_in_list_and_journal() {
    let mut app = app();
    ch(&mut app, 'd');
    let (request, _) = only_call(&ch(&mut app, 'y'));
    let error = api_error(500, 500001, "internal error");
    let effects = app.update(reply(request, ApiOutcome::LockReleased(Err(error)), 5));
    assert!(effects.is_empty());
    assert_eq!(ids(&app), [A, B]);
    assert_eq!(app.locks.entries[0].busy, None);
    assert!(app.status.last_error.as_ref().unwrap().1.contains("500001"));
}

#[test]
fn release_answered_lock_not_found_forgets_the_lock_and_says_so() {
    let mut app = app();
    ch(&mut app, 'd');
    let (request, _) = only_call(&ch(&mut app, 'y'));
    let gone = api_error(404, 404002, "lock not found");
    let effects = app.update(reply(request, ApiOutcome::LockReleased(Err(gone)), 5));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Remove { lock_id: A.into() })]
    );
    assert_eq!(ids(&app), [B]);
    let last = app.activity.entries.back().unwrap();
    assert!(last.message.contains("no longer knows"), "{}", last.message);
}

#[test]
fn copy_puts_the_full_id_on_the_clipboard() {
    let mut app = app();
    assert_eq!(ch(&mut app, 'y'), [Effect::CopyToClipboard(A.into())]);
    assert_eq!(ch(&mut app, 'c'), [Effect::CopyToClipboard(A.into())]);
    assert!(app.status.notice.as_deref().unwrap().contains(A));
    ch(&mut app, 'j');
    assert!(app.status.notice.is_none(), "a notice lasts until the next key");
}

#[test]
fn keys_on_an_empty_list_do_nothing() {
    let mut app = app_with(vec![]);
    for c in ['r', 'd', 'a', 'y', 'j', 'k', 'G'] {
        assert!(ch(&mut app, c).is_empty(), "{c}");
    }
    assert!(app.dialog.is_none());
}

#[test]
fn v_toggles_full_ids() {
    let mut app = app();
    ch(&mut app, 'v');
    assert!(app.locks.full_ids);
    ch(&mut app, 'v');
    assert!(!app.locks.full_ids);
}

#[test]
fn auto_renew_toggle_is_journalled_and_renews_when_due() {
    let mut app = app_with(vec![(lock(A, 100), false)]);
    let effects = ch(&mut app, 'a');
    assert!(app.locks.entries[0].auto_renew);
    assert_eq!(
        effects[0],
        Effect::Journal(JournalChange::Update {
            lock: lock(A, 100),
            auto_renew: true
        })
    );
    // 100 s left is inside the renewal window (a third of 600 s): it renews at once.
    let (_, call) = only_call(&effects);
    assert_eq!(call, ApiCall::RenewLock(lock(A, 100)));

    let mut fresh = self::app();
    let effects = ch(&mut fresh, 'a');
    assert_eq!(effects.len(), 1, "600 s left: not due yet");
    let effects = ch(&mut fresh, 'a');
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Update {
            lock: lock(A, 600),
            auto_renew: false
        })]
    );
}

#[test]
fn ticks_start_auto_renewal_when_due() {
    let mut app = app_with(vec![(lock(A, 600), true)]);
    assert!(app.update(Action::Tick(at(399))).is_empty());
    let (request, call) = only_call(&app.update(Action::Tick(at(400))));
    assert_eq!(call, ApiCall::RenewLock(lock(A, 600)));
    assert!(app.update(Action::Tick(at(401))).is_empty(), "not twice");
    app.update(reply(request, ApiOutcome::LockRenewed(Ok(lock(A, 1001))), 401));
    assert!(app.update(Action::Tick(at(402))).is_empty());
    let last = app.activity.entries.back().unwrap();
    assert_eq!(last.operation, "auto-renew 0b6e7a1c…@100");
}

#[test]
fn auto_renew_retries_with_backoff_then_gives_up_and_says_so() {
    let mut app = app_with(vec![(lock(A, 600), true)]);
    let mut now = 400;
    for failure in 1..=locks::AUTO_RENEW_MAX_FAILURES {
        let effects = app.update(Action::Tick(at(now)));
        let (request, _) = only_call(&effects);
        let effects = app.update(reply(request, ApiOutcome::LockRenewed(Err(timeout())), now));
        if failure < locks::AUTO_RENEW_MAX_FAILURES {
            assert!(effects.is_empty());
            assert!(app.update(Action::Tick(at(now + 1))).is_empty(), "backs off");
            now = app.locks.entries[0]
                .retry_after
                .unwrap()
                .signed_duration_since(t0())
                .num_seconds();
        } else {
            assert_eq!(
                effects,
                [Effect::Journal(JournalChange::Update {
                    lock: lock(A, 600),
                    auto_renew: false
                })]
            );
        }
    }
    assert!(!app.locks.entries[0].auto_renew);
    assert_eq!(ids(&app), [A], "giving up never drops the lock");
    let warning = app
        .activity
        .entries
        .iter()
        .rev()
        .find(|e| e.outcome == Outcome::Warning)
        .unwrap();
    assert!(
        warning.message.contains("gave up auto-renewing"),
        "{}",
        warning.message
    );
    assert!(warning.message.contains("5 failure"), "{}", warning.message);
    assert!(app.update(Action::Tick(at(now + 100))).is_empty());
}

#[test]
fn auto_renew_gives_up_at_once_when_the_lock_is_gone() {
    let mut app = app_with(vec![(lock(A, 600), true)]);
    let (request, _) = only_call(&app.update(Action::Tick(at(450))));
    let gone = api_error(404, 404002, "lock not found");
    let effects = app.update(reply(request, ApiOutcome::LockRenewed(Err(gone)), 450));
    assert_eq!(effects.len(), 1);
    assert!(!app.locks.entries[0].auto_renew);
    assert!(app.locks.entries[0].gone);
}

fn ms(n: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::milliseconds(n)
}

/// An app whose server keeps locks for `ttl_secs` seconds, holding `held`.
fn app_with_ttl(ttl_secs: i64, held: Vec<(LockInfo, bool)>) -> App {
    let session = Session {
        lock_ttl: chrono::Duration::seconds(ttl_secs),
        ..session()
    };
    App::new(session, held, Vec::new(), t0(), Rect::new(0, 0, 100, 30))
}

/// Ticks at each instant the app asks to be woken at, until one of them starts an API call.
fn tick_until_call(app: &mut App) -> (RequestId, ApiCall) {
    loop {
        let at = app.next_clock_change().expect("the app asks to be woken");
        let effects = app.update(Action::Tick(at));
        if !effects.is_empty() {
            return only_call(&effects);
        }
    }
}

fn renewal_answer(request: RequestId, result: Result<LockInfo, ApiError>, finished: DateTime<Utc>) -> Action {
    Action::ApiDone(Box::new(ApiReply {
        request,
        outcome: ApiOutcome::LockRenewed(result),
        latency: Duration::from_millis(400),
        finished_at: finished,
        clock_offset: chrono::Duration::zero(),
    }))
}

#[test]
fn a_six_second_lock_is_renewed_halfway_and_retried_within_its_lifetime() {
    let mut app = app_with_ttl(6, vec![(lock(A, 6), true)]);
    let (request, _) = tick_until_call(&mut app);
    assert_eq!(app.now, at(3), "renewed when half of the 6 s are left");
    let server_error = || api_error(500, 500001, "internal error");

    // Two failures: retried after 300 ms, then 600 ms, each woken for, well before expiry.
    app.update(renewal_answer(request, Err(server_error()), ms(3_400)));
    assert_eq!(app.next_clock_change(), Some(ms(3_700)));
    let (request, _) = tick_until_call(&mut app);
    assert_eq!(app.now, ms(3_700));
    app.update(renewal_answer(request, Err(server_error()), ms(4_100)));
    let (request, _) = tick_until_call(&mut app);
    assert_eq!(app.now, ms(4_700));

    let renewed = LockInfo {
        expires_at: ms(10_700),
        ..lock(A, 6)
    };
    let effects = app.update(renewal_answer(request, Ok(renewed.clone()), ms(5_100)));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Update {
            lock: renewed,
            auto_renew: true
        })]
    );
    let entry = &app.locks.entries[0];
    assert!(entry.auto_renew && entry.is_live(app.now));
    assert_eq!((entry.auto_renew_failures, entry.retry_after), (0, None));
    let (_, call) = tick_until_call(&mut app);
    assert_eq!(
        app.now,
        ms(7_700),
        "the next renewal, halfway through the new lifetime"
    );
    assert!(matches!(call, ApiCall::RenewLock(_)));
}

#[test]
fn auto_renew_of_a_lock_expired_too_long_ago_gives_up_and_says_so() {
    // Restarted long after the journalled lock expired: one try, and the server's 409002 ends it.
    let mut app = app_with_ttl(6, vec![(lock(A, -20), true)]);
    let (request, _) = only_call(&app.update(Action::Tick(at(0))));
    let expired = api_error(409, 409002, "lock expired too long ago to renew");
    let effects = app.update(renewal_answer(request, Err(expired), ms(400)));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Update {
            lock: lock(A, -20),
            auto_renew: false
        })]
    );
    assert_eq!(ids(&app), [A], "the lock stays listed for the user to release");
    let warning = app.activity.entries.back().unwrap();
    assert_eq!(warning.outcome, Outcome::Warning);
    assert!(
        warning.message.contains("gave up auto-renewing") && warning.message.contains("409002"),
        "{}",
        warning.message
    );
    assert!(app.update(Action::Tick(at(5))).is_empty());
}

#[test]
fn adopt_validates_renews_and_journals_the_lock() {
    let mut app = app_with(vec![]);
    ch(&mut app, 'i');
    assert!(matches!(app.dialog, Some(Dialog::Adopt { .. })));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(&app.dialog, Some(Dialog::Adopt { error: Some(e), .. }) if e.contains("paste")));
    for c in "bad".chars() {
        ch(&mut app, c);
    }
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(&app.dialog, Some(Dialog::Adopt { error: Some(e), .. }) if e.contains("@100")));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    assert!(matches!(&app.dialog, Some(Dialog::Adopt { input, .. }) if input.value().is_empty()));

    app.update(Action::Paste(format!("{B}\n")));
    let (request, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(call, ApiCall::RenewLock(lock(B, 600)));
    assert_eq!(app.locks.entries[0].busy, Some(Busy::Adopting));
    assert_eq!(app.locks.entries[0].countdown(app.now), "--:--");
    assert!(!app.locks.entries[0].is_live(app.now));

    let renewed = lock(B, 601);
    let effects = app.update(reply(request, ApiOutcome::LockRenewed(Ok(renewed.clone())), 1));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Upsert {
            lock: renewed,
            auto_renew: false
        })]
    );
    assert_eq!(app.locks.entries[0].busy, None);
    assert_eq!(
        app.activity.entries.back().unwrap().operation,
        "adopt 7c1d2e3f…@101"
    );
}

#[test]
fn adopting_a_lock_already_held_is_refused() {
    let mut app = app();
    ch(&mut app, 'i');
    app.update(Action::Paste(A.into()));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(&app.dialog, Some(Dialog::Adopt { error: Some(e), .. }) if e.contains("already hold")));
}

#[test]
fn a_failed_adoption_leaves_nothing_behind() {
    let mut app = app_with(vec![]);
    ch(&mut app, 'i');
    app.update(Action::Paste(B.into()));
    let (request, _) = only_call(&press(&mut app, KeyCode::Enter));
    let foreign = api_error(403, 403001, "lock belongs to another user");
    let effects = app.update(reply(request, ApiOutcome::LockRenewed(Err(foreign)), 1));
    assert!(effects.is_empty());
    assert!(app.locks.entries.is_empty());
    assert!(app.status.last_error.as_ref().unwrap().1.contains("403001"));
}

#[test]
fn typing_in_the_adopt_field_does_not_trigger_pane_keys() {
    let mut app = app();
    ch(&mut app, 'i');
    assert!(ch(&mut app, 'q').is_empty());
    assert!(ch(&mut app, 'r').is_empty());
    assert!(matches!(&app.dialog, Some(Dialog::Adopt { input, .. }) if input.value() == "qr"));
    press(&mut app, KeyCode::Backspace);
    assert!(matches!(&app.dialog, Some(Dialog::Adopt { input, .. }) if input.value() == "q"));
    press(&mut app, KeyCode::Esc);
    assert!(app.dialog.is_none());
}

#[test]
fn a_paste_into_the_adopt_field_lands_whole_and_an_absurd_one_is_refused() {
    let mut app = app();
    ch(&mut app, 'i');
    app.update(Action::Paste("x".repeat(50_000)));
    let Some(Dialog::Adopt { input, error }) = &app.dialog else {
        panic!("the adopt field stays open")
    };
    assert_eq!(input.value(), "");
    assert!(
        error.as_deref().unwrap().contains("50000 characters"),
        "{error:?}"
    );
    let id = "9f1e2d3c-0000-4a8e-9d59-2f0f0c7d9e11@102";
    app.update(Action::Paste(format!(" {id}\n")));
    let Some(Dialog::Adopt { input, error }) = &app.dialog else {
        panic!("the adopt field stays open")
    };
    assert_eq!((input.value(), input.cursor(), error), (id, id.len(), &None));
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert!(matches!(call, ApiCall::RenewLock(lock) if lock.lock_id == id));
}

#[test]
fn quitting_without_live_locks_is_immediate() {
    let mut app = app_with(vec![(lock(A, -5), false)]);
    assert_eq!(ch(&mut app, 'q'), [Effect::Quit]);
    let mut app = app_with(vec![]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.update(Action::Key(ctrl_c)), [Effect::Quit]);
}

#[test]
fn quitting_with_live_locks_asks_and_cancel_stays() {
    let mut app = app();
    assert!(ch(&mut app, 'q').is_empty());
    assert!(matches!(app.dialog, Some(Dialog::QuitPrompt { live_locks: 2 })));
    assert!(ch(&mut app, 'c').is_empty());
    assert!(app.dialog.is_none());
    ch(&mut app, 'q');
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.dialog.is_none());
}

#[test]
fn quitting_and_keeping_leaves_the_journal_alone() {
    let mut app = app();
    ch(&mut app, 'q');
    assert_eq!(ch(&mut app, 'k'), [Effect::Quit]);
}

#[test]
fn quitting_and_releasing_waits_for_every_release() {
    let mut app = app();
    ch(&mut app, 'q');
    let effects = ch(&mut app, 'r');
    let requests: Vec<RequestId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Api {
                request,
                call: ApiCall::ReleaseLock(_),
            } => Some(*request),
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 2);
    let first = app.update(reply(requests[0], ApiOutcome::LockReleased(Ok(())), 1));
    assert!(!first.contains(&Effect::Quit));
    let second = app.update(reply(requests[1], ApiOutcome::LockReleased(Ok(())), 1));
    assert!(second.contains(&Effect::Quit));
    assert!(app.locks.entries.is_empty());
}

#[test]
fn quitting_is_called_off_when_a_release_fails() {
    let mut app = app();
    ch(&mut app, 'q');
    let effects = ch(&mut app, 'r');
    let requests: Vec<RequestId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Api { request, .. } => Some(*request),
            _ => None,
        })
        .collect();
    app.update(reply(requests[0], ApiOutcome::LockReleased(Err(timeout())), 1));
    let last = app.update(reply(requests[1], ApiOutcome::LockReleased(Ok(())), 1));
    assert!(!last.contains(&Effect::Quit));
    assert_eq!(ids(&app), [A]);
    assert!(app.status.notice.as_deref().unwrap().contains("not quitting"));
}

#[test]
fn ticks_redraw_only_when_a_countdown_changes() {
    let mut app = app();
    app.take_redraw();
    app.update(Action::Tick(t0()));
    assert!(!app.take_redraw(), "same second: nothing changed");
    app.update(Action::Tick(at(1)));
    assert!(app.take_redraw());

    let mut idle = app_with(vec![(lock(A, -10), false)]);
    idle.take_redraw();
    idle.update(Action::Tick(at(5)));
    assert!(!idle.take_redraw(), "an expired lock does not count down");
    let mut empty = app_with(vec![]);
    empty.take_redraw();
    empty.update(Action::Tick(at(5)));
    assert!(!empty.take_redraw());
}

#[test]
fn expired_locks_stay_and_say_so() {
    let mut app = app();
    app.update(Action::Tick(at(700)));
    assert_eq!(ids(&app), [A, B]);
    assert_eq!(app.locks.entries[1].countdown(app.now), "expired");
    assert_eq!(Urgency::of(&app.locks.entries[1].lock, app.now), Urgency::Expired);
}

#[test]
fn spinner_animates_only_while_busy() {
    let mut app = app();
    app.take_redraw();
    app.update(Action::Animate);
    assert!(!app.take_redraw());
    assert_eq!(app.spinner_frame, 0);
    ch(&mut app, 'r');
    app.take_redraw();
    app.update(Action::Animate);
    assert!(app.take_redraw());
    assert_eq!(app.spinner_frame, 1);
}

#[test]
fn journal_write_failures_are_shown() {
    let mut app = app();
    app.update(Action::JournalWritten(Err("disk full".into())));
    assert!(app.status.last_error.as_ref().unwrap().1.contains("disk full"));
    assert_eq!(app.activity.entries.back().unwrap().outcome, Outcome::Warning);
    let before = app.activity.entries.len();
    app.update(Action::JournalWritten(Ok(())));
    assert_eq!(app.activity.entries.len(), before);
}

#[test]
fn resize_updates_the_layout_and_keeps_the_selection_visible() {
    let mut app = app_with(
        (0..12)
            .map(|i| (lock(&format!("id{i:02}@100"), 600), false))
            .collect(),
    );
    ch(&mut app, 'G');
    app.update(Action::Resize {
        width: 80,
        height: 15,
    });
    assert_eq!(app.screen, Rect::new(0, 0, 80, 15));
    let visible = app.layout().unwrap().visible_lock_rows();
    assert!(app.locks.selected < app.locks.offset + visible);
    app.update(Action::Resize {
        width: 40,
        height: 10,
    });
    assert!(app.layout().is_none());
}

fn click(app: &mut App, column: u16, row: u16) {
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }));
}

#[test]
fn clicks_focus_panes_and_select_rows() {
    let mut app = app();
    let layout = app.layout().unwrap();
    click(&mut app, 10, layout.activity.y + 2);
    assert_eq!(app.focus, Pane::Activity);
    click(&mut app, 10, layout.locks.y + 3);
    assert_eq!(app.focus, Pane::Locks);
    assert_eq!(app.locks.selected, 1);
    click(&mut app, 10, layout.locks.y + 8);
    assert_eq!(app.locks.selected, 1, "below the last lock: no change");
}

#[test]
fn mouse_motion_does_not_redraw_and_the_wheel_scrolls() {
    let mut app = app();
    app.take_redraw();
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Moved,
        column: 3,
        row: 3,
        modifiers: KeyModifiers::NONE,
    }));
    assert!(!app.take_redraw());
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 3,
        row: 4,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.locks.selected, 1);
}

#[test]
fn replies_to_unknown_requests_are_ignored() {
    let mut app = app();
    let effects = app.update(reply(RequestId(999), ApiOutcome::LockReleased(Ok(())), 1));
    assert!(effects.is_empty());
    assert_eq!(ids(&app), [A, B]);
}
