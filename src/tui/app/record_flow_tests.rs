//! `App::update` for the record side: every key and every answer, with a fixed clock and no
//! server (the integration tests in `tests/tui_records.rs` run the same flows against one).

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::super::record_dialogs::RecordDialog;
use super::super::record_form::Stage;
use super::super::records::LoadState;
use super::super::{App, Pane, Session};
use crate::api::client::{NewRecord, RecordQuery};
use crate::api::{ApiError, BackupRecord, DeviceEntity, LockInfo, ModuleCode, Page, RecordStatus};
use crate::tui::action::{Action, ApiCall, ApiOutcome, ApiReply, Effect, RequestId};
use crate::tui::app::dialogs::Dialog;
use crate::tui::record_action::{BulkProgress, RecordCall, RecordOutcome};

const LOCK_102: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@102";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap()
}

fn session() -> Session {
    Session {
        label: "test".into(),
        embedded: false,
        base_url: "http://127.0.0.1:4000".into(),
        user_id: "alice".into(),
        lock_ttl: chrono::Duration::seconds(600),
        display_offset: FixedOffset::east_opt(0).unwrap(),
    }
}

fn lock_102(expires_in: i64) -> LockInfo {
    LockInfo {
        lock_id: LOCK_102.into(),
        module: ModuleCode::AddressBook,
        expires_at: t0() + chrono::Duration::seconds(expires_in),
    }
}

/// An app holding a lock for 102, with the records pane focused.
fn app() -> App {
    let mut app = App::new(
        session(),
        vec![(lock_102(600), false)],
        Vec::new(),
        t0(),
        Rect::new(0, 0, 110, 30),
    );
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Records);
    app
}

fn app_without_lock() -> App {
    let mut app = App::new(session(), Vec::new(), Vec::new(), t0(), Rect::new(0, 0, 110, 30));
    press(&mut app, KeyCode::BackTab);
    app
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ch(app: &mut App, c: char) -> Vec<Effect> {
    press(app, KeyCode::Char(c))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(ch(app, c).is_empty(), "typing {c:?} must not do anything else");
    }
}

fn record(n: usize, status: RecordStatus) -> BackupRecord {
    BackupRecord {
        record_id: format!("{}", 9_000_000 - n),
        module_code: ModuleCode::AddressBook.into(),
        status,
        properties: r#"{"n":1}"#.into(),
        version: 1,
        create_time: t0() - chrono::Duration::hours(n as i64),
        end_time: None,
        device_info: DeviceEntity {
            device_id: format!("dev-{}", n % 3),
            device_name: format!("phone {}", n % 3),
            device_os: "Android 14".into(),
            ..DeviceEntity::default()
        },
    }
}

/// The API calls among `effects`.
fn calls(effects: &[Effect]) -> Vec<(RequestId, ApiCall)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Api { request, call } => Some((*request, call.clone())),
            _ => None,
        })
        .collect()
}

fn only_call(effects: &[Effect]) -> (RequestId, ApiCall) {
    let calls = calls(effects);
    assert_eq!(calls.len(), 1, "expected one call in {effects:?}");
    calls[0].clone()
}

fn reply(app: &mut App, request: RequestId, outcome: RecordOutcome) -> Vec<Effect> {
    app.update(Action::ApiDone(Box::new(ApiReply {
        request,
        outcome: ApiOutcome::Records(outcome),
        latency: Duration::from_millis(5),
        finished_at: t0(),
        clock_offset: chrono::Duration::zero(),
    })))
}

fn server_error() -> ApiError {
    ApiError::Api {
        status: 500,
        code: 500001.to_string(),
        msg: "internal error".into(),
    }
}

/// Lists 102 and answers with `n` records in pages of 100.
fn loaded(n: usize) -> App {
    let mut app = app();
    let mut effects = ch(&mut app, '3');
    let mut served = 0;
    while let Some((request, _)) = calls(&effects).first().cloned() {
        let size = (n - served).min(100);
        let items = (served..served + size)
            .map(|i| record(i, RecordStatus::New))
            .collect();
        served += size;
        let next_cursor = (served < n).then(|| format!("c{served}"));
        effects = reply(
            &mut app,
            request,
            RecordOutcome::Page(Ok(Page::new(items, next_cursor))),
        );
    }
    assert_eq!(app.records.rows.len(), n);
    app
}

fn record_dialog(app: &App) -> Option<&RecordDialog> {
    match &app.dialog {
        Some(Dialog::Records(dialog)) => Some(dialog),
        _ => None,
    }
}

#[test]
fn choosing_a_module_lists_its_first_page_and_follows_cursors() {
    let mut app = app();
    let (request, call) = only_call(&ch(&mut app, '3'));
    let query = RecordQuery {
        module: ModuleCode::AddressBook,
        page_size: 100,
        device_id: None,
    };
    assert_eq!(
        call,
        ApiCall::Records(RecordCall::ListPage {
            query: query.clone(),
            cursor: None
        })
    );
    assert_eq!(app.top_pane(), Pane::Records);
    let items = (0..100).map(|i| record(i, RecordStatus::New)).collect();
    let page = Page::new(items, Some("next".into()));
    let (_, next) = only_call(&reply(&mut app, request, RecordOutcome::Page(Ok(page))));
    assert_eq!(
        next,
        ApiCall::Records(RecordCall::ListPage {
            query,
            cursor: Some("next".into())
        })
    );
    assert_eq!(
        app.records.visible.len(),
        100,
        "the first page is on screen while the rest loads"
    );
    assert!(app.records.is_loading());
    assert!(app.is_busy());
}

#[test]
fn two_hundred_fifty_records_arrive_in_three_pages() {
    let app = loaded(250);
    assert_eq!(app.records.load, LoadState::Loaded { pages: 3 });
    assert!(!app.is_busy());
}

#[test]
fn pages_of_an_abandoned_listing_are_ignored() {
    let mut app = app();
    let (old, _) = only_call(&ch(&mut app, '3'));
    let (new, _) = only_call(&ch(&mut app, 'r'));
    let stale = Page::new(vec![record(1, RecordStatus::New)], Some("x".into()));
    assert!(reply(&mut app, old, RecordOutcome::Page(Ok(stale))).is_empty());
    assert!(app.records.rows.is_empty());
    let fresh = Page::new(vec![record(2, RecordStatus::New)], None);
    reply(&mut app, new, RecordOutcome::Page(Ok(fresh)));
    assert_eq!(app.records.rows.len(), 1);
}

#[test]
fn a_server_that_repeats_a_cursor_stops_the_listing() {
    let mut app = app();
    let mut effects = ch(&mut app, '3');
    // Cursors A, B, A: the third page would start the same loop again.
    for (i, next) in ["A", "B", "A"].into_iter().enumerate() {
        let (request, _) = only_call(&effects);
        let page = Page::new(vec![record(i, RecordStatus::New)], Some(next.into()));
        effects = reply(&mut app, request, RecordOutcome::Page(Ok(page)));
    }
    assert!(calls(&effects).is_empty(), "no further page is requested");
    assert_eq!(app.records.rows.len(), 3);
    assert!(
        matches!(&app.records.load, LoadState::Failed { message, .. } if message.contains("already returned"))
    );
    assert!(!app.is_busy());
}

#[test]
fn a_failed_page_keeps_what_was_loaded_and_says_why() {
    let mut app = app();
    let (request, _) = only_call(&ch(&mut app, '3'));
    let page = Page::new(vec![record(1, RecordStatus::New)], Some("c".into()));
    let (request2, _) = only_call(&reply(&mut app, request, RecordOutcome::Page(Ok(page))));
    reply(&mut app, request2, RecordOutcome::Page(Err(server_error())));
    assert_eq!(app.records.rows.len(), 1);
    assert!(matches!(&app.records.load, LoadState::Failed { message, .. } if message.contains("500001")));
}

#[test]
fn the_device_filter_asks_the_server() {
    let mut app = loaded(3);
    ch(&mut app, 'f');
    type_text(&mut app, "dev-1");
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    let ApiCall::Records(RecordCall::ListPage { query, cursor: None }) = call else {
        panic!("{call:?}")
    };
    assert_eq!(query.device_id.as_deref(), Some("dev-1"));
}

#[test]
fn the_local_filter_applies_while_typing_and_esc_clears_it() {
    let mut app = loaded(30);
    ch(&mut app, '/');
    type_text(&mut app, "PHONE 2");
    assert_eq!(app.records.visible.len(), 10);
    assert!(
        app.records
            .visible
            .iter()
            .all(|&i| app.records.rows[i].record.device_info.device_name == "phone 2")
    );
    press(&mut app, KeyCode::Enter);
    assert!(app.dialog.is_none());
    assert_eq!(app.records.filter, "PHONE 2", "Enter keeps the filter");
    ch(&mut app, '/');
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.records.visible.len(), 30);
}

#[test]
fn the_form_refuses_invalid_input_and_sends_nothing() {
    let mut app = loaded(1);
    ch(&mut app, 'n');
    assert!(press(&mut app, KeyCode::Enter).is_empty(), "no device id");
    let Some(RecordDialog::Form(form)) = record_dialog(&app) else {
        panic!("the form stays open")
    };
    assert_eq!(form.device_error.as_deref(), Some("a device id is required"));
    type_text(&mut app, "phone-1");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "{\"a\": }");
    assert!(press(&mut app, KeyCode::Enter).is_empty(), "bad JSON");
    let Some(RecordDialog::Form(form)) = record_dialog(&app) else {
        panic!("the form stays open")
    };
    let message = form.properties_error.as_ref().unwrap().to_string();
    assert!(message.contains("line 1, column 7"), "{message}");
    assert_eq!(form.device_id.value(), "phone-1", "what was typed is kept");
}

#[test]
fn a_valid_form_creates_the_record_under_the_held_lock_and_selects_it() {
    let mut app = loaded(5);
    ch(&mut app, 'n');
    type_text(&mut app, "phone-9");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "{\"files\": 3}");
    let (request, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(
        call,
        ApiCall::Records(RecordCall::Create {
            lock_id: LOCK_102.into(),
            record: NewRecord {
                module: ModuleCode::AddressBook,
                device_id: "phone-9".into(),
                properties: Some(r#"{"files":3}"#.into()),
            }
        })
    );
    let mut created = record(0, RecordStatus::New);
    created.record_id = "9999999".into();
    reply(&mut app, request, RecordOutcome::Created(Ok(created)));
    assert!(app.dialog.is_none());
    assert_eq!(app.records.selected().unwrap().id(), "9999999");
    assert_eq!(app.records.rows.len(), 6);
    assert_eq!(app.focus, Pane::Records);
}

#[test]
fn a_server_error_keeps_the_form_and_what_was_typed() {
    let mut app = loaded(1);
    ch(&mut app, 'n');
    type_text(&mut app, "phone-9");
    let (request, _) = only_call(&press(&mut app, KeyCode::Enter));
    reply(&mut app, request, RecordOutcome::Created(Err(server_error())));
    let Some(RecordDialog::Form(form)) = record_dialog(&app) else {
        panic!("the form stays open")
    };
    assert_eq!(form.stage, Stage::Editing);
    assert_eq!(form.device_id.value(), "phone-9");
    assert!(form.server_error.as_ref().unwrap().contains("500001"));
}

#[test]
fn without_a_lock_the_form_creates_one_first() {
    let mut app = app_without_lock();
    ch(&mut app, 'n');
    ch(&mut app, 'x');
    let (lock_request, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(call, ApiCall::CreateLock(ModuleCode::Folder));
    let Some(RecordDialog::Form(form)) = record_dialog(&app) else {
        panic!("the form stays open")
    };
    assert_eq!(form.stage, Stage::WaitingForLock);
    let lock = LockInfo {
        lock_id: "abc@100".into(),
        module: ModuleCode::Folder,
        expires_at: t0() + chrono::Duration::seconds(600),
    };
    let effects = app.update(Action::ApiDone(Box::new(ApiReply {
        request: lock_request,
        outcome: ApiOutcome::LockCreated(Ok(lock)),
        latency: Duration::from_millis(5),
        finished_at: t0(),
        clock_offset: chrono::Duration::zero(),
    })));
    let record_calls: Vec<_> = calls(&effects).into_iter().map(|(_, c)| c).collect();
    assert!(
        matches!(&record_calls[..], [ApiCall::Records(RecordCall::Create { lock_id, .. })] if lock_id == "abc@100"),
        "{record_calls:?}"
    );
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Journal(_))),
        "the new lock is journalled"
    );
}

#[test]
fn a_failed_lock_creation_is_reported_in_the_form() {
    let mut app = app_without_lock();
    ch(&mut app, 'n');
    ch(&mut app, 'x');
    let (lock_request, _) = only_call(&press(&mut app, KeyCode::Enter));
    let conflict = ApiError::Api {
        status: 409,
        code: 409001.to_string(),
        msg: "a live lock already exists".into(),
    };
    let effects = app.update(Action::ApiDone(Box::new(ApiReply {
        request: lock_request,
        outcome: ApiOutcome::LockCreated(Err(conflict)),
        latency: Duration::from_millis(5),
        finished_at: t0(),
        clock_offset: chrono::Duration::zero(),
    })));
    assert!(calls(&effects).is_empty());
    let Some(RecordDialog::Form(form)) = record_dialog(&app) else {
        panic!("the form stays open")
    };
    assert_eq!(form.stage, Stage::Editing);
    assert!(form.server_error.as_ref().unwrap().contains("409001"));
}

#[test]
fn deleting_one_record_asks_first_and_cancel_sends_nothing() {
    let mut app = loaded(3);
    assert!(ch(&mut app, 'd').is_empty());
    assert!(matches!(record_dialog(&app), Some(RecordDialog::ConfirmDelete(r)) if r.record_id == "9000000"));
    assert!(ch(&mut app, 'n').is_empty());
    assert!(app.dialog.is_none());
    assert_eq!(app.records.rows.len(), 3);
}

#[test]
fn a_confirmed_delete_is_sent_under_the_lock_and_removes_the_row() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Down);
    ch(&mut app, 'd');
    let (request, call) = only_call(&ch(&mut app, 'y'));
    assert_eq!(
        call,
        ApiCall::Records(RecordCall::Delete {
            lock_id: LOCK_102.into(),
            record_id: "8999999".into()
        })
    );
    assert_eq!(app.records.rows.len(), 3, "nothing changes before the answer");
    reply(&mut app, request, RecordOutcome::Deleted(Ok(())));
    assert_eq!(app.records.rows.len(), 2);
    assert!(app.records.find("8999999").is_none());
}

#[test]
fn a_failed_delete_keeps_the_row() {
    let mut app = loaded(3);
    ch(&mut app, 'd');
    let (request, _) = only_call(&ch(&mut app, 'y'));
    reply(&mut app, request, RecordOutcome::Deleted(Err(server_error())));
    assert_eq!(app.records.rows.len(), 3);
    assert!(app.status.last_error.as_ref().unwrap().1.contains("500001"));
}

#[test]
fn several_marked_records_need_their_number_typed() {
    let mut app = loaded(10);
    for _ in 0..3 {
        ch(&mut app, ' ');
    }
    assert_eq!(app.records.marked.len(), 3);
    ch(&mut app, 'd');
    assert!(matches!(record_dialog(&app), Some(RecordDialog::ConfirmBulk(c)) if c.record_ids.len() == 3));
    type_text(&mut app, "2");
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "wrong number: nothing is sent"
    );
    let Some(RecordDialog::ConfirmBulk(confirm)) = record_dialog(&app) else {
        panic!("still asking")
    };
    assert!(confirm.error.as_ref().unwrap().contains("type 3"));
    press(&mut app, KeyCode::Backspace);
    type_text(&mut app, "3");
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::StartBulkDelete(job)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(job.record_ids, ["9000000", "8999999", "8999998"]);
    assert_eq!(job.lock_id, LOCK_102);
    assert_eq!(job.concurrency, 8);
}

#[test]
fn a_bulk_delete_counts_progress_and_lists_every_failure() {
    let mut app = loaded(10);
    ch(&mut app, 'a');
    ch(&mut app, 'd');
    type_text(&mut app, "10");
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::StartBulkDelete(job)] = &effects[..] else {
        panic!("{effects:?}")
    };
    for (i, id) in job.record_ids.iter().enumerate() {
        let result = if i % 4 == 0 { Err(server_error()) } else { Ok(()) };
        app.update(Action::Bulk(BulkProgress::Deleted {
            job: job.job,
            record_id: id.clone(),
            result,
        }));
    }
    let Some(RecordDialog::Bulk(run)) = record_dialog(&app) else {
        panic!("progress is shown")
    };
    assert_eq!((run.deleted.len(), run.failures.len()), (7, 3));
    assert!(!run.finished);
    app.update(Action::Bulk(BulkProgress::Finished {
        job: job.job,
        cancelled: false,
    }));
    let Some(RecordDialog::Bulk(run)) = record_dialog(&app) else {
        panic!("the summary is shown")
    };
    assert!(run.finished);
    let failed: Vec<&str> = run.failures.iter().map(|f| f.record_id.as_str()).collect();
    assert_eq!(failed, ["9000000", "8999996", "8999992"]);
    assert!(
        run.failures
            .iter()
            .all(|f| f.code == Some(500001) && f.message == "internal error")
    );
    let left: Vec<&str> = app.records.rows.iter().map(|r| r.id()).collect();
    assert_eq!(left, failed, "only the failures are still listed");
    press(&mut app, KeyCode::Enter);
    assert!(app.dialog.is_none());
}

#[test]
fn stopping_a_bulk_delete_cancels_its_own_flag_once() {
    let mut app = loaded(5);
    ch(&mut app, 'a');
    ch(&mut app, 'd');
    type_text(&mut app, "5");
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::StartBulkDelete(job)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(
        press(&mut app, KeyCode::Esc),
        vec![Effect::CancelBulkDelete(job.cancel.clone())]
    );
    assert!(press(&mut app, KeyCode::Esc).is_empty(), "already stopping");
    assert!(
        record_dialog(&app).is_some(),
        "the dialog waits for the deletes in flight"
    );
    app.update(Action::Bulk(BulkProgress::Finished {
        job: job.job,
        cancelled: true,
    }));
    let Some(RecordDialog::Bulk(run)) = record_dialog(&app) else {
        panic!("the summary is shown")
    };
    assert_eq!(run.headline(), "deleted 0 of 5, stopped: 5 left untouched");
    assert_eq!(app.records.rows.len(), 5);
}

#[test]
fn the_lock_is_renewed_while_a_bulk_delete_runs() {
    let mut app = loaded(5);
    ch(&mut app, 'a');
    ch(&mut app, 'd');
    type_text(&mut app, "5");
    press(&mut app, KeyCode::Enter);
    assert!(
        app.update(Action::Tick(t0() + chrono::Duration::seconds(60)))
            .is_empty()
    );
    let effects = app.update(Action::Tick(t0() + chrono::Duration::seconds(401)));
    let (_, call) = only_call(&effects);
    assert!(matches!(call, ApiCall::RenewLock(lock) if lock.lock_id == LOCK_102));
}

#[test]
fn completing_a_new_record_sends_the_properties_and_reads_it_back() {
    let mut app = loaded(2);
    ch(&mut app, 'c');
    type_text(&mut app, "{\"done\": true}");
    let (request, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(
        call,
        ApiCall::Records(RecordCall::Complete {
            lock_id: LOCK_102.into(),
            record_id: "9000000".into(),
            properties: Some(r#"{"done":true}"#.into()),
        })
    );
    let (_, refetch) = only_call(&reply(&mut app, request, RecordOutcome::Completed(Ok(()))));
    assert_eq!(
        refetch,
        ApiCall::Records(RecordCall::Get {
            record_id: "9000000".into()
        })
    );
    assert_eq!(
        app.records.find("9000000").unwrap().record.status,
        RecordStatus::Completed
    );
}

#[test]
fn completing_refuses_bad_json_and_records_that_are_not_new() {
    let mut app = loaded(2);
    ch(&mut app, 'c');
    type_text(&mut app, "{");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        matches!(record_dialog(&app), Some(RecordDialog::Text(f)) if f.error.as_ref().unwrap().contains("line 1"))
    );
    press(&mut app, KeyCode::Esc);
    app.records.mark_completed("9000000");
    assert!(ch(&mut app, 'c').is_empty());
    assert!(app.dialog.is_none());
    assert!(app.status.notice.as_ref().unwrap().contains("only new records"));
}

#[test]
fn the_detail_view_pages_through_files() {
    let mut app = loaded(1);
    let (request, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(
        call,
        ApiCall::Records(RecordCall::Files {
            record_id: "9000000".into(),
            cursor: None
        })
    );
    let page = Page::new(Vec::new(), Some("f2".into()));
    reply(&mut app, request, RecordOutcome::Files(Ok(page)));
    let (request, call) = only_call(&ch(&mut app, ']'));
    assert!(matches!(call, ApiCall::Records(RecordCall::Files { cursor: Some(c), .. }) if c == "f2"));
    reply(
        &mut app,
        request,
        RecordOutcome::Files(Ok(Page::new(Vec::new(), None))),
    );
    assert!(ch(&mut app, ']').is_empty(), "no further page");
    let (_, call) = only_call(&ch(&mut app, '['));
    assert!(matches!(
        call,
        ApiCall::Records(RecordCall::Files { cursor: None, .. })
    ));
}

#[test]
fn cleanup_proposes_old_new_records_and_confirms_by_number() {
    let mut app = loaded(30);
    ch(&mut app, 'x');
    let Some(RecordDialog::Cleanup(view)) = record_dialog(&app) else {
        panic!("the clean-up view is open")
    };
    // Records are 0..29 hours old; the default threshold is 24 hours.
    assert_eq!(view.ticked().len(), 5);
    ch(&mut app, ' ');
    press(&mut app, KeyCode::Enter);
    assert!(matches!(record_dialog(&app), Some(RecordDialog::ConfirmBulk(c)) if c.record_ids.len() == 4));
}

#[test]
fn only_one_operation_waits_for_a_lock_at_a_time() {
    let mut app = app_without_lock();
    let (request, _) = only_call(&ch(&mut app, '3'));
    let page = Page::new(
        vec![record(1, RecordStatus::New), record(2, RecordStatus::New)],
        None,
    );
    reply(&mut app, request, RecordOutcome::Page(Ok(page)));
    ch(&mut app, 'd');
    let (_, call) = only_call(&ch(&mut app, 'y'));
    assert_eq!(call, ApiCall::CreateLock(ModuleCode::AddressBook));
    press(&mut app, KeyCode::Down);
    ch(&mut app, 'd');
    assert!(
        ch(&mut app, 'y').is_empty(),
        "the second delete is refused, not queued"
    );
    assert!(
        app.status
            .notice
            .as_ref()
            .unwrap()
            .contains("still waiting for a lock")
    );
    assert!(
        matches!(&app.records.waiting_for_lock, Some((_, super::super::records::LockedOp::Delete { record_id })) if record_id == "8999999"),
        "the first delete still waits"
    );
}

#[test]
fn a_paste_lands_at_the_cursor_on_one_line() {
    let mut app = loaded(1);
    ch(&mut app, 'n');
    type_text(&mut app, "ad");
    press(&mut app, KeyCode::Left);
    app.update(Action::Paste("b\nc".into()));
    let Some(RecordDialog::Form(form)) = record_dialog(&app) else {
        panic!("form open")
    };
    assert_eq!(form.device_id.value(), "ab cd");
    assert_eq!(form.device_id.cursor(), 4);
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

fn form(app: &App) -> &super::super::record_form::RecordForm {
    match record_dialog(app) {
        Some(RecordDialog::Form(form)) => form,
        other => panic!("expected the form, found {other:?}"),
    }
}

#[test]
fn ctrl_e_sends_the_properties_pretty_to_the_editor_and_takes_the_result_back() {
    let mut app = loaded(1);
    ch(&mut app, 'n');
    type_text(&mut app, "phone-1");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, r#"{"b": 1, "a": [2]}"#);
    press(&mut app, KeyCode::BackTab);
    let effects = ctrl(&mut app, 'e');
    assert_eq!(
        effects,
        vec![Effect::EditInEditor(
            "{\n  \"b\": 1,\n  \"a\": [\n    2\n  ]\n}\n".into()
        )]
    );
    assert_eq!(form(&app).device_id.value(), "phone-1", "the form stays open");

    app.update(Action::EditorDone(Ok("{\n  \"a\": 1\n}\n".into())));
    assert_eq!(form(&app).properties.value(), r#"{"a":1}"#);
    assert_eq!(form(&app).device_id.value(), "phone-1");
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert!(
        matches!(&call, ApiCall::Records(RecordCall::Create { record, .. })
            if record.properties.as_deref() == Some(r#"{"a":1}"#)),
        "{call:?}"
    );
}

#[test]
fn a_failed_editor_keeps_the_properties_and_says_why() {
    let mut app = loaded(1);
    ch(&mut app, 'n');
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, r#"{"keep": true}"#);
    assert_eq!(ctrl(&mut app, 'e').len(), 1);
    app.update(Action::EditorDone(Err(
        "the editor `false` exited with status 1".into()
    )));
    assert_eq!(form(&app).properties.value(), r#"{"keep": true}"#);
    assert_eq!(
        form(&app).editor_error.as_deref(),
        Some("the editor `false` exited with status 1; the properties are unchanged")
    );
    assert!(app.activity.entries.back().unwrap().message.contains("status 1"));
    type_text(&mut app, " ");
    assert!(form(&app).editor_error.is_none(), "typing clears the message");
}

fn complete_field(app: &App) -> &super::super::record_dialogs::TextField {
    match record_dialog(app) {
        Some(RecordDialog::Text(field)) if field.is_complete() => field,
        other => panic!("expected the complete dialog, found {other:?}"),
    }
}

#[test]
fn ctrl_e_edits_the_properties_of_a_record_being_completed() {
    let mut app = loaded(2);
    ch(&mut app, 'c');
    type_text(&mut app, r#"{"done": true, "n": [1]}"#);
    let effects = ctrl(&mut app, 'e');
    assert_eq!(
        effects,
        vec![Effect::EditInEditor(
            "{\n  \"done\": true,\n  \"n\": [\n    1\n  ]\n}\n".into()
        )]
    );
    assert!(complete_field(&app).error.is_none(), "the dialog stays open");

    app.update(Action::EditorDone(Ok("{\n  \"done\": false\n}\n".into())));
    let field = complete_field(&app);
    assert_eq!(field.input.value(), r#"{"done":false}"#);
    assert_eq!(field.input.cursor(), field.input.value().chars().count());
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(
        call,
        ApiCall::Records(RecordCall::Complete {
            lock_id: LOCK_102.into(),
            record_id: "9000000".into(),
            properties: Some(r#"{"done":false}"#.into()),
        })
    );
}

#[test]
fn a_failed_editor_keeps_the_completion_properties_and_says_why() {
    let mut app = loaded(2);
    ch(&mut app, 'c');
    type_text(&mut app, r#"{"keep": 1}"#);
    assert_eq!(
        ctrl(&mut app, 'e'),
        vec![Effect::EditInEditor("{\n  \"keep\": 1\n}\n".into())]
    );
    app.update(Action::EditorDone(Err(
        "the editor `false` exited with status 1".into()
    )));
    assert_eq!(complete_field(&app).input.value(), r#"{"keep": 1}"#);
    assert_eq!(
        complete_field(&app).error.as_deref(),
        Some("the editor `false` exited with status 1; the properties are unchanged")
    );
    assert!(app.activity.entries.back().unwrap().message.contains("status 1"));
    type_text(&mut app, " ");
    assert!(complete_field(&app).error.is_none(), "typing clears the message");
    // An empty edit empties the field: completing then keeps the record's properties.
    ctrl(&mut app, 'e');
    app.update(Action::EditorDone(Ok("\n".into())));
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert!(
        matches!(
            &call,
            ApiCall::Records(RecordCall::Complete { properties: None, .. })
        ),
        "{call:?}"
    );
}

#[test]
fn ctrl_e_does_nothing_in_the_filter_fields() {
    let mut app = loaded(2);
    ch(&mut app, '/');
    assert!(ctrl(&mut app, 'e').is_empty());
    ch(&mut app, 'x');
    press(&mut app, KeyCode::Esc);
    ch(&mut app, 'f');
    assert!(ctrl(&mut app, 'e').is_empty());
}
