//! `App::update` for the locks pane: every key and every answer of creating, renewing,
//! releasing, adopting and auto-renewing locks, and the pane's own rules on `State`. Time is
//! fixed: nothing here reads the clock, so every countdown is exact.

use chrono::{DateTime, Utc};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::State;
use super::dialogs::Dialog;
use super::entry::{AUTO_RENEW_MAX_FAILURES, Busy, Urgency};
use crate::api::{ApiError, LockInfo, ModuleCode};
use crate::lease::Purpose;
use crate::tui::action::{Action, ApiCall, ApiOutcome, Effect, JournalChange, RequestId};
use crate::tui::app::App;
use crate::tui::feature::Session;
use crate::tui::shell::activity::Outcome;
use crate::tui::test_support::{
    api_error, app_holding, at, ch, lock, ms, only_call, own, press, reply, reply_measured, session, t0,
    timeout,
};

const A: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@100";
const B: &str = "7c1d2e3f-0000-4a8e-9d59-2f0f0c7d9e11@101";

fn app_with(held: Vec<(LockInfo, bool)>) -> App {
    app_holding(session(), held, 100, 30)
}

/// Two locks: A with 600 s left, B with 300 s.
fn app() -> App {
    app_with(vec![(lock(A, 600), false), (lock(B, 300), false)])
}

fn ids(app: &App) -> Vec<&str> {
    app.locks.entries.iter().map(|e| e.id()).collect()
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
fn new_lock_picks_a_module_by_number_or_by_moving() {
    let mut app = app();
    ch(&mut app, 'n');
    assert!(matches!(
        app.locks.dialog,
        Some(Dialog::ModulePicker { selected: 0 })
    ));
    let (_, call) = only_call(&ch(&mut app, '3'));
    assert_eq!(call, ApiCall::CreateLock(ModuleCode::AddressBook));
    assert_eq!(app.locks.creating, [ModuleCode::AddressBook]);
    assert!(!app.dialog_open());
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
    let effects = app.update(reply(
        request,
        ApiOutcome::LockCreated(Ok(created.clone())),
        at(1),
    ));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Upsert {
            lock: created,
            auto_renew: false,
            purpose: Purpose::App { adopted: false },
        })]
    );
    assert_eq!(ids(&app), [B]);
    assert!(app.locks.creating.is_empty());
    assert!(!app.is_busy());
    assert_eq!(
        app.status.clock_offset,
        Some(chrono::Duration::milliseconds(1500))
    );
    let last = app.activity.entries().back().unwrap();
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
    let effects = app.update(reply(request, ApiOutcome::LockCreated(Err(error)), at(1)));
    assert!(effects.is_empty());
    assert_eq!(ids(&app), [A, B]);
    assert!(app.locks.creating.is_empty());
    let (_, text) = app.status.last_error.clone().unwrap();
    assert!(text.contains("lock already held (code 409001)"), "{text}");
    assert_eq!(
        app.activity.entries().back().unwrap().outcome,
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
    let effects = app.update(reply(
        request,
        ApiOutcome::LockRenewed(Ok(renewed.clone())),
        at(50),
    ));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Upsert {
            lock: renewed.clone(),
            auto_renew: false,
            purpose: Purpose::App { adopted: false },
        })]
    );
    assert_eq!(app.locks.entries[0].lock, renewed);
    assert_eq!(app.locks.entries[0].busy, None);
}

#[test]
fn failed_renewal_keeps_the_lock_and_its_journal_entry() {
    let mut app = app();
    let (request, _) = only_call(&ch(&mut app, 'r'));
    let effects = app.update(reply(request, ApiOutcome::LockRenewed(Err(timeout())), at(10)));
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
    let effects = app.update(reply(request, ApiOutcome::LockRenewed(Err(gone)), at(10)));
    assert!(effects.is_empty());
    assert!(app.locks.entries[0].gone);
    assert_eq!(app.locks.entries[0].countdown(app.now), "gone");
    assert!(!app.locks.entries[0].is_live(app.now));
}

#[test]
fn release_asks_first_and_cancel_changes_nothing() {
    let mut app = app();
    assert!(ch(&mut app, 'd').is_empty());
    assert!(
        matches!(&app.locks.dialog, Some(Dialog::ConfirmRelease { lock_id, holder: None }) if lock_id == A)
    );
    assert!(ch(&mut app, 'n').is_empty());
    assert!(!app.dialog_open());
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
    let effects = app.update(reply(request, ApiOutcome::LockReleased(Ok(())), at(5)));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Remove { lock_id: A.into() })]
    );
    assert_eq!(ids(&app), [B]);
}

#[test]
fn a_stray_enter_does_not_release_only_y_does() {
    let mut app = app();
    ch(&mut app, 'j');
    ch(&mut app, 'd');
    assert!(press(&mut app, KeyCode::Enter).is_empty(), "Enter sends nothing");
    assert!(
        matches!(&app.locks.dialog, Some(Dialog::ConfirmRelease { lock_id, .. }) if lock_id == B),
        "the question stays open"
    );
    let (_, call) = only_call(&ch(&mut app, 'y'));
    assert_eq!(call, ApiCall::ReleaseLock(B.into()));
}

#[test]
fn failed_release_keeps_the_lock_in_list_and_journal() {
    let mut app = app();
    ch(&mut app, 'd');
    let (request, _) = only_call(&ch(&mut app, 'y'));
    let error = api_error(500, 500001, "internal error");
    let effects = app.update(reply(request, ApiOutcome::LockReleased(Err(error)), at(5)));
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
    let effects = app.update(reply(request, ApiOutcome::LockReleased(Err(gone)), at(5)));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Remove { lock_id: A.into() })]
    );
    assert_eq!(ids(&app), [B]);
    let last = app.activity.entries().back().unwrap();
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
    assert!(!app.dialog_open());
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
        Effect::Journal(JournalChange::Upsert {
            lock: lock(A, 100),
            auto_renew: true,
            purpose: Purpose::App { adopted: false },
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
        [Effect::Journal(JournalChange::Upsert {
            lock: lock(A, 600),
            auto_renew: false,
            purpose: Purpose::App { adopted: false },
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
    app.update(reply(
        request,
        ApiOutcome::LockRenewed(Ok(lock(A, 1001))),
        at(401),
    ));
    assert!(app.update(Action::Tick(at(402))).is_empty());
    let last = app.activity.entries().back().unwrap();
    assert_eq!(last.operation, "auto-renew 0b6e7a1c…@100");
}

#[test]
fn a_renewal_after_the_lock_ran_out_while_asleep_stops_what_ran_under_it() {
    let mut app = app_with(vec![(lock(A, 100), true)]);
    // The machine slept: the next tick comes 10 minutes later, long after the lock's expiry.
    let effects = app.update(Action::Tick(at(700)));
    let (request, call) = only_call(&effects);
    assert_eq!(call, ApiCall::RenewLock(lock(A, 100)));
    // The server renews it anyway (its clock jumped too, or it keeps expired locks a while).
    let effects = app.update(reply(
        request,
        ApiOutcome::LockRenewed(Ok(lock(A, 1300))),
        at(700),
    ));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Journal(_))),
        "held again, journalled: {effects:?}"
    );
    let said: Vec<String> = app.activity.entries().iter().map(|e| e.message.clone()).collect();
    assert!(
        said.iter()
            .any(|m| m.contains("ran out at") && m.contains("nothing ran under its protection")),
        "{said:?}"
    );
    // A renewal in time says nothing of the kind.
    let mut app = app_with(vec![(lock(A, 100), true)]);
    let (request, _) = only_call(&app.update(Action::Tick(at(50))));
    app.update(reply(request, ApiOutcome::LockRenewed(Ok(lock(A, 650))), at(50)));
    assert!(
        !app.activity
            .entries()
            .iter()
            .any(|e| e.message.contains("ran out at")),
        "{:?}",
        app.activity.entries()
    );
}

#[test]
fn auto_renew_retries_with_backoff_then_gives_up_and_says_so() {
    let mut app = app_with(vec![(lock(A, 600), true)]);
    let mut now = 400;
    for failure in 1..=AUTO_RENEW_MAX_FAILURES {
        let effects = app.update(Action::Tick(at(now)));
        let (request, _) = only_call(&effects);
        let effects = app.update(reply(request, ApiOutcome::LockRenewed(Err(timeout())), at(now)));
        if failure < AUTO_RENEW_MAX_FAILURES {
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
                [Effect::Journal(JournalChange::Upsert {
                    lock: lock(A, 600),
                    auto_renew: false,
                    purpose: Purpose::App { adopted: false },
                })]
            );
        }
    }
    assert!(!app.locks.entries[0].auto_renew);
    assert_eq!(ids(&app), [A], "giving up never drops the lock");
    let warning = app
        .activity
        .entries()
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
    let effects = app.update(reply(request, ApiOutcome::LockRenewed(Err(gone)), at(450)));
    assert_eq!(effects.len(), 1);
    assert!(!app.locks.entries[0].auto_renew);
    assert!(app.locks.entries[0].gone);
}

/// An app whose server keeps locks for `ttl_secs` seconds, holding `held`.
fn app_with_ttl(ttl_secs: i64, held: Vec<(LockInfo, bool)>) -> App {
    let session = Session {
        lock_ttl: chrono::Duration::seconds(ttl_secs),
        ..session()
    };
    app_holding(session, held, 100, 30)
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

/// A renewal's answer after 400 ms, the server's clock on ours.
fn renewal_answer(request: RequestId, result: Result<LockInfo, ApiError>, finished: DateTime<Utc>) -> Action {
    reply_measured(request, ApiOutcome::LockRenewed(result), finished, 400, 0)
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
        [Effect::Journal(JournalChange::Upsert {
            lock: renewed,
            auto_renew: true,
            purpose: Purpose::App { adopted: false },
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
        [Effect::Journal(JournalChange::Upsert {
            lock: lock(A, -20),
            auto_renew: false,
            purpose: Purpose::App { adopted: false },
        })]
    );
    assert_eq!(ids(&app), [A], "the lock stays listed for the user to release");
    let warning = app.activity.entries().back().unwrap();
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
    assert!(matches!(app.locks.dialog, Some(Dialog::Adopt { .. })));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(&app.locks.dialog, Some(Dialog::Adopt { error: Some(e), .. }) if e.contains("paste")));
    for c in "bad".chars() {
        ch(&mut app, c);
    }
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(&app.locks.dialog, Some(Dialog::Adopt { error: Some(e), .. }) if e.contains("@100")));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    assert!(matches!(&app.locks.dialog, Some(Dialog::Adopt { input, .. }) if input.value().is_empty()));

    app.update(Action::Paste(format!("{B}\n")));
    let (request, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(call, ApiCall::RenewLock(lock(B, 600)));
    assert_eq!(app.locks.entries[0].busy, Some(Busy::Adopting));
    assert_eq!(app.locks.entries[0].countdown(app.now), "--:--");
    assert!(!app.locks.entries[0].is_live(app.now));

    let renewed = lock(B, 601);
    let effects = app.update(reply(
        request,
        ApiOutcome::LockRenewed(Ok(renewed.clone())),
        at(1),
    ));
    assert_eq!(
        effects,
        [Effect::Journal(JournalChange::Upsert {
            lock: renewed,
            auto_renew: false,
            purpose: Purpose::App { adopted: true },
        })]
    );
    assert_eq!(app.locks.entries[0].busy, None);
    assert_eq!(
        app.activity.entries().back().unwrap().operation,
        "adopt 7c1d2e3f…@101"
    );
}

#[test]
fn adopting_a_lock_already_held_is_refused() {
    let mut app = app();
    ch(&mut app, 'i');
    app.update(Action::Paste(A.into()));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        matches!(&app.locks.dialog, Some(Dialog::Adopt { error: Some(e), .. }) if e.contains("holds it already"))
    );
}

#[test]
fn a_failed_adoption_leaves_nothing_behind() {
    let mut app = app_with(vec![]);
    ch(&mut app, 'i');
    app.update(Action::Paste(B.into()));
    let (request, _) = only_call(&press(&mut app, KeyCode::Enter));
    let foreign = api_error(403, 403001, "lock belongs to another user");
    let effects = app.update(reply(request, ApiOutcome::LockRenewed(Err(foreign)), at(1)));
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
    assert!(matches!(&app.locks.dialog, Some(Dialog::Adopt { input, .. }) if input.value() == "qr"));
    press(&mut app, KeyCode::Backspace);
    assert!(matches!(&app.locks.dialog, Some(Dialog::Adopt { input, .. }) if input.value() == "q"));
    press(&mut app, KeyCode::Esc);
    assert!(!app.dialog_open());
}

#[test]
fn a_paste_into_the_adopt_field_lands_whole_and_an_absurd_one_is_refused() {
    let mut app = app();
    ch(&mut app, 'i');
    app.update(Action::Paste("x".repeat(50_000)));
    let Some(Dialog::Adopt { input, error }) = &app.locks.dialog else {
        panic!("the adopt field stays open")
    };
    assert_eq!(input.value(), "");
    assert!(
        error.as_deref().unwrap().contains("50000 characters"),
        "{error:?}"
    );
    let id = "9f1e2d3c-0000-4a8e-9d59-2f0f0c7d9e11@102";
    app.update(Action::Paste(format!(" {id}\n")));
    let Some(Dialog::Adopt { input, error }) = &app.locks.dialog else {
        panic!("the adopt field stays open")
    };
    assert_eq!((input.value(), input.cursor(), error), (id, id.len(), &None));
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert!(matches!(call, ApiCall::RenewLock(lock) if lock.lock_id == id));
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
fn selection_scrolls_into_view() {
    let mut pane = State::new(
        (0..10)
            .map(|i| own(lock(&format!("id{i}@100"), 600 + i), false))
            .collect(),
    );
    pane.move_selection(5, 3);
    assert_eq!((pane.selected, pane.offset), (5, 3));
    pane.move_selection(100, 3);
    assert_eq!((pane.selected, pane.offset), (9, 7));
    pane.move_selection(-100, 3);
    assert_eq!((pane.selected, pane.offset), (0, 0));
}

/// Frame tests: the pane drawn into a TestBackend in its normal, busy, warning, expired and
/// error states, compared with committed snapshots (`snapshots/`). Time is fixed, so every
/// countdown is exact. A changed frame is looked at before its `.snap.new` replaces the snapshot.
mod frames {
    use crossterm::event::KeyCode;
    use ratatui::style::Color;

    use crate::tui::action::{Action, ApiOutcome};
    use crate::tui::test_support::{
        FRAME_A as A, FRAME_B as B, HEIGHT, WIDTH, api_error, app_holding, at, colour_of, drawn, lock,
        only_call, press, reply_measured, screen_of, session, three_locks,
    };
    use crate::tui::theme::{ColorSupport, Theme};

    fn app_with(held: Vec<(crate::api::LockInfo, bool)>) -> crate::tui::App {
        app_holding(session(), held, WIDTH, HEIGHT)
    }

    #[test]
    fn empty_locks_pane() {
        insta::assert_snapshot!(screen_of(&app_with(vec![]), WIDTH, HEIGHT));
    }

    #[test]
    fn locks_normal_warning_and_critical() {
        insta::assert_snapshot!(screen_of(&three_locks(), WIDTH, HEIGHT));
    }

    #[test]
    fn locks_with_full_ids() {
        let mut app = three_locks();
        press(&mut app, KeyCode::Char('v'));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn locks_busy_renewing_and_creating() {
        let mut app = three_locks();
        press(&mut app, KeyCode::Char('r'));
        press(&mut app, KeyCode::Char('n'));
        press(&mut app, KeyCode::Char('2'));
        app.update(Action::Animate);
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn locks_expired_and_gone() {
        let mut app = app_with(vec![(lock(A, 545), false), (lock(B, -30), false)]);
        let effects = press(&mut app, KeyCode::Char('r'));
        let gone = api_error(404, 404002, "lock not found");
        let (request, _) = only_call(&effects);
        app.update(reply_measured(
            request,
            ApiOutcome::LockRenewed(Err(gone)),
            at(1),
            12,
            -2300,
        ));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn release_confirmation() {
        let mut app = three_locks();
        press(&mut app, KeyCode::Char('d'));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn module_picker() {
        let mut app = three_locks();
        press(&mut app, KeyCode::Char('n'));
        press(&mut app, KeyCode::Down);
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn adopt_field_with_an_error() {
        let mut app = three_locks();
        press(&mut app, KeyCode::Char('i'));
        app.update(Action::Paste("not-a-lock".into()));
        press(&mut app, KeyCode::Enter);
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn urgency_is_coloured_in_sixteen_colours_and_plain_without_colour() {
        let app = three_locks();
        let first_row = 4; // two status lines, the top border, the column header
        let coloured = drawn(&app, &Theme::new(ColorSupport::Ansi16), WIDTH, HEIGHT);
        assert_eq!(colour_of(&coloured, first_row, "09:05"), Some(Color::Green));
        assert_eq!(colour_of(&coloured, first_row + 1, "01:35"), Some(Color::Yellow));
        assert_eq!(colour_of(&coloured, first_row + 2, "00:17"), Some(Color::Red));

        let plain = drawn(&app, &Theme::new(ColorSupport::None), WIDTH, HEIGHT);
        let buffer = plain.backend().buffer();
        assert!(
            buffer
                .content
                .iter()
                .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset)
        );
        // Without colour the state is still written out.
        let text = screen_of(&app, WIDTH, HEIGHT);
        assert!(text.contains("warning") && text.contains("CRITICAL"), "{text}");
    }

    #[test]
    fn a_second_of_countdown_changes_only_the_countdown_digits() {
        // What keeps an idle screen cheap: ratatui sends only changed cells, and one tick changes
        // the last digit of each countdown and nothing else.
        let mut app = three_locks();
        let theme = Theme::new(ColorSupport::Ansi16);
        let before = drawn(&app, &theme, WIDTH, HEIGHT).backend().buffer().clone();
        app.update(Action::Tick(at(1)));
        assert!(app.take_redraw());
        let after = drawn(&app, &theme, WIDTH, HEIGHT).backend().buffer().clone();
        let changed: Vec<String> = before
            .diff(&after)
            .into_iter()
            .map(|(x, y, cell)| format!("{x},{y}:{}", cell.symbol()))
            .collect();
        assert_eq!(changed.len(), 3, "{changed:?}");
    }
}
