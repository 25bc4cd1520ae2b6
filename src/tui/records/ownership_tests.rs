//! `App::update` for the rule that a lock belongs to one operation: the record side runs only
//! under this app's own locks; without one it takes a lock for the operation alone and releases
//! it when it ends; another holder's live lock is named and never used; an orphaned one is
//! released only after asking. A property test checks the rule over arbitrary key sequences.

use crossterm::event::KeyCode;
use proptest::prelude::*;

use super::dialogs::Dialog;
use crate::api::{LockInfo, ModuleCode, Page, RecordStatus};
use crate::bulk::Outcome;
use crate::lease::{Purpose, Standing};
use crate::tui::action::{Action, ApiCall, ApiOutcome, Effect, JournalChange, Journalled};
use crate::tui::app::App;
use crate::tui::test_support::{
    calls, ch, foreign, lock, only_call, own, press, record, reply_measured, screen_of, session_named, t0,
};

const HOLD_102: &str = "5b1ef181-0d0c-46bf-9a54-cc6f7bc71deb@102";

fn hold() -> Purpose {
    Purpose::Hold {
        command: "restic backup".into(),
    }
}

/// An app seeing `held` in the journal, its records pane on 102 with records `ages` loaded
/// (record `n` is `n` hours old: from 25 on, abandoned).
fn app_seeing(held: Vec<Journalled>, ages: std::ops::Range<usize>) -> App {
    let mut app = App::new(
        session_named("test", false),
        held,
        Vec::new(),
        t0(),
        ratatui::layout::Rect::new(0, 0, 110, 30),
    );
    press(&mut app, KeyCode::BackTab);
    let effects = ch(&mut app, '3');
    let (request, _) = only_call(&effects);
    let items = ages.map(|i| record(i, RecordStatus::New)).collect();
    answer(
        &mut app,
        request,
        ApiOutcome::RecordsPage(Ok(Page::new(items, None))),
    );
    app
}

fn answer(app: &mut App, request: crate::tui::action::RequestId, outcome: ApiOutcome) -> Vec<Effect> {
    app.update(reply_measured(request, outcome, t0(), 5, 0))
}

fn journal_changes(effects: &[Effect]) -> Vec<JournalChange> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Journal(change) => Some(change.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_running_backups_lock_is_never_used_and_its_holder_is_named() {
    // The defect: a clean-up in the app deleted a record under a `lock hold` backup's lock.
    let mut app = app_seeing(
        vec![foreign(lock(HOLD_102, 500), hold(), Standing::Running)],
        25..28,
    );
    ch(&mut app, 'd');
    let effects = ch(&mut app, 'y');
    assert!(calls(&effects).is_empty(), "nothing sent: {effects:?}");
    let notice = app.status.notice.clone().unwrap();
    assert!(
        notice.contains("`lock hold` of `restic backup` on web-01, pid 4711"),
        "{notice}"
    );
    // The same through the clean-up view: the three abandoned records ticked, confirmed by
    // their number, nothing sent.
    ch(&mut app, 'x');
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(app.records.dialog, Some(Dialog::ConfirmBulk(_))));
    ch(&mut app, '3');
    let effects = press(&mut app, KeyCode::Enter);
    assert!(calls(&effects).is_empty(), "{effects:?}");
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::StartBulkDelete(_))),
        "{effects:?}"
    );
    assert_eq!(app.records.rows().len(), 3);
}

#[test]
fn without_a_lock_one_is_taken_for_the_delete_and_released_after() {
    let mut app = app_seeing(Vec::new(), 0..3);
    ch(&mut app, 'd');
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains("one is taken for this and released after"),
        "the dialog says so:\n{screen}"
    );
    let (request, call) = only_call(&ch(&mut app, 'y'));
    assert_eq!(call, ApiCall::CreateLock(ModuleCode::AddressBook));
    let taken = lock("0d0d0d0d-0000-4a8e-9d59-2f0f0c7d9e11@102", 600);
    let effects = answer(&mut app, request, ApiOutcome::LockCreated(Ok(taken.clone())));
    assert_eq!(
        journal_changes(&effects),
        [JournalChange::Upsert {
            lock: taken.clone(),
            auto_renew: false,
            purpose: Purpose::Operation {
                what: "app: delete record 9000000".into()
            },
        }]
    );
    let (request, call) = only_call(&effects);
    assert!(matches!(call, ApiCall::DeleteRecord { lock_id, .. } if lock_id == taken.lock_id));
    let effects = answer(
        &mut app,
        request,
        ApiOutcome::RecordDeleted(Outcome::Deleted { was: None }),
    );
    let (request, call) = only_call(&effects);
    assert_eq!(call, ApiCall::ReleaseLock(taken.lock_id.clone()));
    let effects = answer(&mut app, request, ApiOutcome::LockReleased(Ok(())));
    assert_eq!(
        journal_changes(&effects),
        [JournalChange::Remove {
            lock_id: taken.lock_id
        }]
    );
    assert!(app.locks.entries().is_empty(), "nothing left held");
}

#[test]
fn a_failed_release_of_an_operations_lock_is_tried_again_and_said() {
    let mut app = app_seeing(Vec::new(), 0..3);
    ch(&mut app, 'd');
    let (request, _) = only_call(&ch(&mut app, 'y'));
    let taken = lock("0d0d0d0d-0000-4a8e-9d59-2f0f0c7d9e11@102", 600);
    let effects = answer(&mut app, request, ApiOutcome::LockCreated(Ok(taken.clone())));
    let (request, _) = only_call(&effects);
    let effects = answer(
        &mut app,
        request,
        ApiOutcome::RecordDeleted(Outcome::Deleted { was: None }),
    );
    let (request, _) = only_call(&effects);
    let failure = crate::tui::test_support::api_error(500, 500_001, "internal error");
    answer(&mut app, request, ApiOutcome::LockReleased(Err(failure)));
    let said: Vec<String> = app.activity.entries().iter().map(|e| e.message.clone()).collect();
    assert!(
        said.iter().any(
            |m| m.contains("could not release the lock of this app: delete record 9000000")
                && m.contains("trying again in")
        ),
        "{said:?}"
    );

    // Meanwhile the module waits for it, and the reason is the true one.
    ch(&mut app, 'j');
    ch(&mut app, 'd');
    assert!(calls(&ch(&mut app, 'y')).is_empty());
    let notice = app.status.notice.clone().unwrap();
    assert!(notice.contains("still being released"), "{notice}");

    // The next tick after the pause releases it again.
    let effects = app.update(Action::Tick(t0() + chrono::Duration::seconds(60)));
    let (request, call) = only_call(&effects);
    assert_eq!(call, ApiCall::ReleaseLock(taken.lock_id.clone()));
    answer(&mut app, request, ApiOutcome::LockReleased(Ok(())));
    assert!(app.locks.entries().is_empty(), "nothing left held");
}

#[test]
fn an_orphaned_lock_is_released_only_after_asking() {
    let orphan = foreign(lock(HOLD_102, 500), Purpose::Cleanup, Standing::Orphaned);
    let mut app = app_seeing(vec![orphan], 0..3);
    ch(&mut app, 'd');
    assert!(ch(&mut app, 'y').is_empty(), "asked first");
    assert!(matches!(app.records.dialog, Some(Dialog::ReleaseOrphan(_))));
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains("orphaned") && screen.contains("a clean-up on web-01"),
        "{screen}"
    );
    // No: it stays, nothing is sent.
    assert!(ch(&mut app, 'n').is_empty());
    assert_eq!(app.locks.entries().len(), 1);

    ch(&mut app, 'd');
    ch(&mut app, 'y');
    let (request, call) = only_call(&ch(&mut app, 'y'));
    assert_eq!(call, ApiCall::ReleaseLock(HOLD_102.into()));
    let effects = answer(&mut app, request, ApiOutcome::LockReleased(Ok(())));
    let (request, call) = only_call(&effects);
    assert_eq!(call, ApiCall::CreateLock(ModuleCode::AddressBook));
    let taken = lock("0d0d0d0d-0000-4a8e-9d59-2f0f0c7d9e11@102", 600);
    let effects = answer(&mut app, request, ApiOutcome::LockCreated(Ok(taken.clone())));
    let (_, call) = only_call(&effects);
    assert!(matches!(call, ApiCall::DeleteRecord { lock_id, .. } if lock_id == taken.lock_id));
}

#[test]
fn a_running_holders_lock_cannot_be_adopted_but_a_kept_one_can() {
    let kept = foreign(
        lock("7c1d2e3f-0000-4a8e-9d59-2f0f0c7d9e11@101", 500),
        Purpose::Kept {
            via: "`lock create`".into(),
        },
        Standing::Kept,
    );
    let mut app = App::new(
        session_named("test", false),
        vec![foreign(lock(HOLD_102, 500), hold(), Standing::Running), kept],
        Vec::new(),
        t0(),
        ratatui::layout::Rect::new(0, 0, 110, 30),
    );
    app.update(Action::Paste(String::new()));
    ch(&mut app, 'i');
    app.update(Action::Paste(HOLD_102.into()));
    assert!(press(&mut app, KeyCode::Enter).is_empty(), "refused");
    let screen = screen_of(&app, 110, 30);
    assert!(screen.contains("cannot be adopted"), "{screen}");
    press(&mut app, KeyCode::Esc);
    // The kept one (the user's own, from `lock create`): `i` on it offers its id.
    press(&mut app, KeyCode::Down);
    ch(&mut app, 'i');
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert!(matches!(call, ApiCall::RenewLock(l) if l.lock_id.ends_with("@101")));
}

/// What a key sequence may press: deletes, bulk deletes, the clean-up, completion.
fn keys() -> impl Strategy<Value = Vec<char>> {
    proptest::collection::vec(
        prop_oneof![
            Just('d'),
            Just('y'),
            Just('n'),
            Just(' '),
            Just('a'),
            Just('x'),
            Just('t'),
            Just('c'),
            Just('\r'),
            Just('j'),
            Just('3'),
            Just('\u{1b}'),
        ],
        0..40,
    )
}

fn standing() -> impl Strategy<Value = Option<Standing>> {
    prop_oneof![
        Just(None),
        Just(Some(Standing::Running)),
        Just(Some(Standing::Elsewhere)),
        Just(Some(Standing::Kept)),
        Just(Some(Standing::Orphaned)),
        Just(Some(Standing::Unknown)),
        Just(Some(Standing::Mine)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever the journal holds for each module and whatever the user presses (every call
    /// answered with success), a record is created, completed or deleted only under a lock this
    /// app holds: its own, or one it took for that operation.
    #[test]
    fn record_changes_run_only_under_the_apps_own_locks(
        holders in proptest::collection::vec(standing(), 3),
        keys in keys(),
    ) {
        let held: Vec<Journalled> = ModuleCode::ALL
            .iter()
            .zip(&holders)
            .filter_map(|(module, standing)| {
                let lock = lock(&format!("00000000-0000-4a8e-9d59-2f0f0c7d9e1{}@{}", module.code(), module.code()), 500);
                standing.map(|standing| match standing {
                    Standing::Mine => own(lock, false),
                    other => foreign(lock, hold(), other),
                })
            })
            .collect();
        let mut app = app_seeing(held, 20..30);
        let mut owned: Vec<String> = app
            .locks
            .entries()
            .iter()
            .filter(|e| e.holder.is_app())
            .map(|e| e.id().to_string())
            .collect();
        let mut next_lock = 0;
        for key in keys {
            let code = match key {
                '\r' => KeyCode::Enter,
                '\u{1b}' => KeyCode::Esc,
                c => KeyCode::Char(c),
            };
            let mut pending = press(&mut app, code);
            for _ in 0..10 {
                for effect in &pending {
                    if let Effect::StartBulkDelete(job) = effect {
                        prop_assert!(owned.contains(&job.lock_id), "a bulk delete under {}", job.lock_id);
                    }
                }
                let batch = calls(&pending);
                if batch.is_empty() {
                    break;
                }
                pending = Vec::new();
                for (request, call) in batch {
                    let used = match &call {
                        ApiCall::DeleteRecord { lock_id, .. }
                        | ApiCall::CompleteRecord { lock_id, .. }
                        | ApiCall::CreateRecord { lock_id, .. } => Some(lock_id.clone()),
                        _ => None,
                    };
                    if let Some(lock_id) = used {
                        prop_assert!(owned.contains(&lock_id), "{call:?} under a lock not the app's");
                    }
                    let outcome = match call {
                        ApiCall::CreateLock(module) => {
                            next_lock += 1;
                            let id = format!("{next_lock:08}-aaaa-4a8e-9d59-2f0f0c7d9e11@{}", module.code());
                            owned.push(id.clone());
                            ApiOutcome::LockCreated(Ok(LockInfo { module, ..lock(&id, 600) }))
                        }
                        ApiCall::ReleaseLock(_) => ApiOutcome::LockReleased(Ok(())),
                        ApiCall::RenewLock(lock) => ApiOutcome::LockRenewed(Ok(lock)),
                        ApiCall::DeleteRecord { .. } => ApiOutcome::RecordDeleted(Outcome::Deleted { was: None }),
                        ApiCall::CompleteRecord { .. } => ApiOutcome::RecordCompleted(Ok(())),
                        ApiCall::CreateRecord { .. } => ApiOutcome::RecordCreated(Ok(record(1, RecordStatus::New))),
                        ApiCall::GetRecord { .. } => ApiOutcome::RecordFetched(Ok(record(1, RecordStatus::Completed))),
                        ApiCall::ListRecords { .. } => ApiOutcome::RecordsPage(Ok(Page::new(Vec::new(), None))),
                        ApiCall::ListDevices => ApiOutcome::DevicesListed(Ok(Page::new(Vec::new(), None))),
                        ApiCall::ListFiles { .. } => ApiOutcome::FilesPage(Ok(Page::new(Vec::new(), None))),
                        other => panic!("unexpected call {other:?}"),
                    };
                    pending.extend(answer(&mut app, request, outcome));
                }
            }
        }
    }
}
