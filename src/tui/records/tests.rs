//! `App::update` for the record side: every key and every answer, with a fixed clock and no
//! server (the integration tests in `tests/it/tui/records.rs` run the same flows against one),
//! and the list's own rules on `State`.

use std::collections::BTreeSet;

use crossterm::event::KeyCode;

use super::dialogs::Dialog;
use super::form::{RecordForm, Stage};
use super::{LoadState, State};
use crate::api::client::{NewRecord, RecordQuery};
use crate::api::{ApiError, BackupRecord, DeviceEntity, ModuleCode, Page, RecordStatus};
use crate::bulk::{Chosen, Outcome, Target};
use crate::tui::action::{Action, ApiCall, ApiOutcome, BulkDeleteJob, BulkProgress, Effect, RequestId};
use crate::tui::app::App;
use crate::tui::feature::Pane;
use crate::tui::test_support::{
    api_error, app_holding, calls, ch, click, column_of, ctrl, device, lock, only_call, press, record,
    reply_measured, screen_of, session_named, t0, type_text,
};

const LOCK_102: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@102";

/// An app holding a lock for 102, with the records pane focused.
fn app() -> App {
    let mut app = app_holding(
        session_named("test", false),
        vec![(lock(LOCK_102, 600), false)],
        110,
        30,
    );
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Records);
    app
}

fn app_without_lock() -> App {
    let mut app = app_holding(session_named("test", false), Vec::new(), 110, 30);
    press(&mut app, KeyCode::BackTab);
    app
}

/// Answers `request` at `t0`, the server's clock on ours.
fn reply(app: &mut App, request: RequestId, outcome: ApiOutcome) -> Vec<Effect> {
    app.update(reply_measured(request, outcome, t0(), 5, 0))
}

fn server_error() -> ApiError {
    api_error(500, 500001, "internal error")
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
            ApiOutcome::RecordsPage(Ok(Page::new(items, next_cursor))),
        );
    }
    assert_eq!(app.records.rows.len(), n);
    app
}

/// The age column keeps a blank before the border even at its widest (`10d 23h`), at 80x24 and
/// at 60x15.
#[test]
fn the_age_column_keeps_clear_of_the_border() {
    for (width, height) in [(80, 24), (60, 15)] {
        let mut app = loaded(264);
        app.update(crate::tui::action::Action::Resize { width, height });
        press(&mut app, KeyCode::End);
        let screen = screen_of(&app, width, height);
        let row = screen.lines().find(|l| l.contains("10d 23h")).unwrap_or_default();
        assert!(row.ends_with("10d 23h ┃"), "{screen}");
    }
}

fn record_dialog(app: &App) -> Option<&Dialog> {
    app.records.dialog.as_ref()
}

/// The delete target for the loaded record `id`, as listed (deleted only while still so).
fn chosen_as_listed(app: &App, id: &str) -> Target {
    let row = app.records.find(id).expect("a loaded record");
    Target {
        record_id: id.into(),
        chosen: Some(Chosen::of(&row.record)),
    }
}

/// The ids a bulk delete job works on, in order.
fn target_ids(job: &BulkDeleteJob) -> Vec<String> {
    job.targets.iter().map(|t| t.record_id.clone()).collect()
}

/// A delete the server confirmed.
fn deleted() -> Outcome {
    Outcome::Deleted { was: None }
}

/// A bulk delete's outcome for a plain success or failure.
fn outcome_of(result: Result<(), ApiError>) -> Outcome {
    match result {
        Ok(()) => deleted(),
        Err(error) => Outcome::Failed(error),
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
        ApiCall::ListRecords {
            query: query.clone(),
            cursor: None
        }
    );
    assert_eq!(app.top_pane(), Pane::Records);
    let items = (0..100).map(|i| record(i, RecordStatus::New)).collect();
    let page = Page::new(items, Some("next".into()));
    let (_, next) = only_call(&reply(&mut app, request, ApiOutcome::RecordsPage(Ok(page))));
    assert_eq!(
        next,
        ApiCall::ListRecords {
            query,
            cursor: Some("next".into())
        }
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
    assert!(reply(&mut app, old, ApiOutcome::RecordsPage(Ok(stale))).is_empty());
    assert!(app.records.rows.is_empty());
    let fresh = Page::new(vec![record(2, RecordStatus::New)], None);
    reply(&mut app, new, ApiOutcome::RecordsPage(Ok(fresh)));
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
        effects = reply(&mut app, request, ApiOutcome::RecordsPage(Ok(page)));
    }
    assert!(calls(&effects).is_empty(), "no further page is requested");
    assert_eq!(app.records.rows.len(), 3);
    assert!(
        matches!(&app.records.load, LoadState::Failed { message, .. } if message.contains("already returned"))
    );
    assert!(!app.is_busy());
}

#[test]
fn an_endless_chain_of_new_cursors_stops_at_the_listing_limit() {
    let mut app = app();
    let mut effects = ch(&mut app, '3');
    let mut pages = 0;
    while let Some((request, _)) = calls(&effects).first().cloned() {
        pages += 1;
        assert!(
            pages <= crate::api::DEFAULT_MAX_PAGES,
            "still asking after {pages} pages"
        );
        let items = (0..100).map(|i| record(i, RecordStatus::New)).collect();
        let page = Page::new(items, Some(format!("cursor-{pages}")));
        effects = reply(&mut app, request, ApiOutcome::RecordsPage(Ok(page)));
    }
    assert_eq!(app.records.rows.len(), super::MAX_LISTED_RECORDS);
    assert!(
        matches!(&app.records.load, LoadState::Failed { message, .. } if message.contains("listing limit")),
        "{:?}",
        app.records.load
    );
    assert!(!app.is_busy());
}

#[test]
fn pages_of_huge_records_stop_at_the_memory_limit() {
    let mut app = app();
    let mut effects = ch(&mut app, '3');
    let mut pages = 0;
    while let Some((request, _)) = calls(&effects).first().cloned() {
        pages += 1;
        assert!(pages <= 100, "still asking after {pages} pages");
        // 10 records of 1 MiB each: a page the 16 MiB answer cap lets through.
        let items = (0..10)
            .map(|i| {
                let mut big = record(pages * 10 + i, RecordStatus::New);
                big.properties = format!("{{\"blob\":\"{}\"}}", "x".repeat(1 << 20));
                big
            })
            .collect();
        let page = Page::new(items, Some(format!("cursor-{pages}")));
        effects = reply(&mut app, request, ApiOutcome::RecordsPage(Ok(page)));
    }
    assert_eq!(pages, 7, "stopped on the page that passed 64 MiB");
    assert_eq!(app.records.rows.len(), 70, "what was loaded stays");
    assert!(
        matches!(&app.records.load, LoadState::Failed { message, .. }
            if message.contains("more than 64 MiB") && message.contains("filter by device")),
        "{:?}",
        app.records.load
    );
    assert!(!app.is_busy());
}

#[test]
fn a_failed_page_keeps_what_was_loaded_and_says_why() {
    let mut app = app();
    let (request, _) = only_call(&ch(&mut app, '3'));
    let page = Page::new(vec![record(1, RecordStatus::New)], Some("c".into()));
    let (request2, _) = only_call(&reply(&mut app, request, ApiOutcome::RecordsPage(Ok(page))));
    reply(&mut app, request2, ApiOutcome::RecordsPage(Err(server_error())));
    assert_eq!(app.records.rows.len(), 1);
    assert!(matches!(&app.records.load, LoadState::Failed { message, .. } if message.contains("500001")));
}

#[test]
fn the_device_filter_asks_the_server() {
    let mut app = loaded(3);
    ch(&mut app, 'f');
    type_text(&mut app, "dev-1");
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    let ApiCall::ListRecords { query, cursor: None } = call else {
        panic!("{call:?}")
    };
    assert_eq!(query.device_id.as_deref(), Some("dev-1"));
}

#[test]
fn the_device_filter_opens_empty_and_takes_a_device_name_too() {
    let mut app = loaded(3);
    app.records.set_device_filter(Some("dev-1".into()));
    ch(&mut app, 'f');
    let Some(Dialog::Text(field)) = record_dialog(&app) else {
        panic!("f opens the field")
    };
    assert_eq!(field.input.value(), "", "opens empty, not with the last device");
    type_text(&mut app, "ONE 2");
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    let ApiCall::ListRecords { query, .. } = call else {
        panic!("{call:?}")
    };
    assert_eq!(
        query.device_id.as_deref(),
        Some("dev-2"),
        "the name is the device's id"
    );
}

#[test]
fn a_device_name_several_devices_share_is_refused_with_their_ids() {
    let mut app = loaded(3);
    app.records.rows[0].record.device_info.device_name = "twin".into();
    app.records.rows[1].record.device_info.device_name = "twin".into();
    ch(&mut app, 'f');
    type_text(&mut app, "twin");
    assert!(calls(&press(&mut app, KeyCode::Enter)).is_empty());
    let Some(Dialog::Text(field)) = record_dialog(&app) else {
        panic!("still open")
    };
    let error = field.error.clone().unwrap();
    assert!(
        error.contains("2 devices have \"twin\" in their name") && error.contains("dev-0, dev-1"),
        "{error}"
    );
}

#[test]
fn esc_clears_the_filter_then_the_device_filter_then_the_marks() {
    let mut app = loaded(30);
    ch(&mut app, ' ');
    ch(&mut app, '/');
    type_text(&mut app, "phone 2");
    press(&mut app, KeyCode::Enter);
    app.records.set_device_filter(Some("dev-2".into()));
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains("device phone 2 ·"),
        "the title names the device: {screen}"
    );
    assert!(calls(&press(&mut app, KeyCode::Esc)).is_empty());
    assert_eq!(
        (app.records.filter(), app.status.notice.as_deref()),
        ("", Some("filter cleared"))
    );
    let (_, call) = only_call(&press(&mut app, KeyCode::Esc));
    let ApiCall::ListRecords { query, .. } = call else {
        panic!("{call:?}")
    };
    assert_eq!(query.device_id, None, "listed again for every device");
    assert_eq!(
        app.status.notice.as_deref(),
        Some("showing every device again (was phone 2)")
    );
    assert_eq!(app.records.marked().len(), 1, "the marks stay until the next Esc");
    press(&mut app, KeyCode::Esc);
    assert!(app.records.marked().is_empty());
    assert_eq!(app.status.notice.as_deref(), Some("1 mark(s) cleared"));
}

#[test]
fn an_empty_result_says_a_filter_is_on() {
    let mut app = loaded(3);
    ch(&mut app, '/');
    type_text(&mut app, "nothing matches this");
    press(&mut app, KeyCode::Enter);
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains("No loaded record matches the filter") && screen.contains("Esc clears it"),
        "{screen}"
    );
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
    assert!(!app.dialog_open());
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
    let Some(Dialog::Form(form)) = record_dialog(&app) else {
        panic!("the form stays open")
    };
    assert_eq!(form.device_error.as_deref(), Some("a device id is required"));
    type_text(&mut app, "phone-1");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "{\"a\": }");
    assert!(press(&mut app, KeyCode::Enter).is_empty(), "bad JSON");
    let Some(Dialog::Form(form)) = record_dialog(&app) else {
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
        ApiCall::CreateRecord {
            lock_id: LOCK_102.into(),
            record: NewRecord {
                module: ModuleCode::AddressBook,
                device_id: "phone-9".into(),
                properties: Some(r#"{"files":3}"#.into()),
            }
        }
    );
    let mut created = record(0, RecordStatus::New);
    created.record_id = "9999999".into();
    reply(&mut app, request, ApiOutcome::RecordCreated(Ok(created)));
    assert!(!app.dialog_open());
    assert_eq!(app.records.selected().unwrap().id(), "9999999");
    assert_eq!(app.records.rows.len(), 6);
    assert_eq!(app.focus, Pane::Records);
}

#[test]
fn the_form_offers_the_bound_devices_and_up_down_choose_one() {
    let mut app = loaded(5);
    let (request, call) = only_call(&ch(&mut app, 'n'));
    assert_eq!(
        call,
        ApiCall::ListDevices,
        "the form asks which devices are bound"
    );
    assert!(form(&app).device_hint().contains("listing"));
    let devices = vec![device(0), device(1), device(2)];
    reply(
        &mut app,
        request,
        ApiOutcome::DevicesListed(Ok(Page::new(devices, None))),
    );
    assert!(
        form(&app).device_hint().contains("3 bound devices"),
        "{}",
        form(&app).device_hint()
    );

    press(&mut app, KeyCode::Down);
    assert_eq!(form(&app).device_id.value(), "dev-0");
    assert!(
        form(&app)
            .device_hint()
            .contains("Pixel 7 · Android 14 (bound device 1 of 3")
    );
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(form(&app).device_id.value(), "dev-2");
    press(&mut app, KeyCode::Down);
    assert_eq!(form(&app).device_id.value(), "dev-0", "round the list");
    press(&mut app, KeyCode::Up);
    assert_eq!(form(&app).device_id.value(), "dev-2");
    // In the properties field the arrows leave the device alone.
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Down);
    assert_eq!(form(&app).device_id.value(), "dev-2");

    // The chosen id is what is sent.
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert!(
        matches!(&call, ApiCall::CreateRecord { record, .. } if record.device_id == "dev-2"),
        "{call:?}"
    );
}

#[test]
fn any_id_can_still_be_typed_and_a_failed_device_list_only_says_so() {
    let mut app = loaded(5);
    let (request, _) = only_call(&ch(&mut app, 'n'));
    reply(&mut app, request, ApiOutcome::DevicesListed(Err(server_error())));
    assert!(
        form(&app).device_hint().contains("unavailable"),
        "{}",
        form(&app).device_hint()
    );
    press(&mut app, KeyCode::Down);
    assert_eq!(form(&app).device_id.value(), "", "nothing to choose from");
    type_text(&mut app, "nas-unbound");
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert!(
        matches!(&call, ApiCall::CreateRecord { record, .. } if record.device_id == "nas-unbound"),
        "{call:?}"
    );
}

#[test]
fn a_server_error_keeps_the_form_and_what_was_typed() {
    let mut app = loaded(1);
    ch(&mut app, 'n');
    type_text(&mut app, "phone-9");
    let (request, _) = only_call(&press(&mut app, KeyCode::Enter));
    reply(&mut app, request, ApiOutcome::RecordCreated(Err(server_error())));
    let Some(Dialog::Form(form)) = record_dialog(&app) else {
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
    let Some(Dialog::Form(form)) = record_dialog(&app) else {
        panic!("the form stays open")
    };
    assert_eq!(form.stage, Stage::WaitingForLock);
    let effects = reply(
        &mut app,
        lock_request,
        ApiOutcome::LockCreated(Ok(lock("abc@100", 600))),
    );
    let record_calls: Vec<_> = calls(&effects).into_iter().map(|(_, c)| c).collect();
    assert!(
        matches!(&record_calls[..], [ApiCall::CreateRecord { lock_id, .. }] if lock_id == "abc@100"),
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
    let conflict = api_error(409, 409001, "a live lock already exists");
    let effects = reply(&mut app, lock_request, ApiOutcome::LockCreated(Err(conflict)));
    assert!(calls(&effects).is_empty());
    let Some(Dialog::Form(form)) = record_dialog(&app) else {
        panic!("the form stays open")
    };
    assert_eq!(form.stage, Stage::Editing);
    assert!(form.server_error.as_ref().unwrap().contains("409001"));
}

#[test]
fn deleting_one_record_asks_first_and_cancel_sends_nothing() {
    let mut app = loaded(3);
    assert!(ch(&mut app, 'd').is_empty());
    assert!(matches!(record_dialog(&app), Some(Dialog::ConfirmDelete(r, _)) if r.record_id == "9000000"));
    assert!(ch(&mut app, 'n').is_empty());
    assert!(!app.dialog_open());
    assert_eq!(app.records.rows.len(), 3);
}

#[test]
fn a_stray_enter_does_not_delete_only_y_does() {
    let mut app = loaded(3);
    ch(&mut app, 'd');
    assert!(press(&mut app, KeyCode::Enter).is_empty(), "Enter sends nothing");
    assert!(matches!(record_dialog(&app), Some(Dialog::ConfirmDelete(r, _)) if r.record_id == "9000000"));
    assert!(!calls(&ch(&mut app, 'y')).is_empty(), "y deletes");
}

#[test]
fn a_confirmed_delete_is_sent_under_the_lock_and_removes_the_row() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Down);
    ch(&mut app, 'd');
    let (request, call) = only_call(&ch(&mut app, 'y'));
    assert_eq!(
        call,
        ApiCall::DeleteRecord {
            lock_id: LOCK_102.into(),
            target: Box::new(chosen_as_listed(&app, "8999999")),
        }
    );
    assert_eq!(app.records.rows.len(), 3, "nothing changes before the answer");
    reply(&mut app, request, ApiOutcome::RecordDeleted(deleted()));
    assert_eq!(app.records.rows.len(), 2);
    assert!(app.records.find("8999999").is_none());
}

/// From the records pane, with a long detail about it in the top border: a click on each tab
/// as drawn (its first and its last column) shows that tab's pane, and one on the detail none.
#[test]
fn a_click_on_a_tab_shows_the_pane_drawn_there_whatever_the_detail() {
    use crate::tui::feature::Pane;
    for width in [80, 60] {
        let mut app = loaded(293);
        app.update(Action::Resize { width, height: 24 });
        let strip_row = app.layout().unwrap().locks.y;
        let strip = |app: &App| {
            screen_of(app, width, 24)
                .lines()
                .nth(usize::from(strip_row))
                .unwrap()
                .to_string()
        };
        let drawn = strip(&app);
        // At 60 columns the tabs take the whole border.
        if let Some(detail) = column_of(&drawn, "row 1 of 293") {
            click(&mut app, detail + 3, strip_row);
            assert_eq!(app.top_pane(), Pane::Records, "the detail is no tab: {drawn}");
        } else {
            assert_eq!(width, 60, "{drawn}");
        }
        for (label, pane) in [
            ("[D] Devices", Pane::Devices),
            ("[L] Locks", Pane::Locks),
            ("[R] Records", Pane::Records),
        ] {
            for last in [false, true] {
                // From another pane, as drawn there.
                ch(&mut app, if pane == Pane::Locks { 'R' } else { 'L' });
                let drawn = strip(&app);
                let first =
                    column_of(&drawn, label).unwrap_or_else(|| panic!("{label} drawn at {width}: {drawn}"));
                let x = if last {
                    first + label.chars().count() as u16 - 1
                } else {
                    first
                };
                click(&mut app, x, strip_row);
                assert_eq!(
                    app.top_pane(),
                    pane,
                    "click at {x} on {label} at {width}: {drawn}"
                );
            }
        }
    }
}

#[test]
fn a_click_selects_the_row_drawn_there_and_d_deletes_exactly_it() {
    let mut app = loaded(250);
    // Scrolled down a long way, so that the row on screen and the index in the list differ.
    for _ in 0..60 {
        press(&mut app, KeyCode::Down);
    }
    let layout = app.layout().unwrap();
    assert!(app.records.offset() > 0);
    let screen_row = layout.locks.y + 4;
    let drawn_there = screen_of(&app, 110, 30)
        .lines()
        .nth(usize::from(screen_row))
        .unwrap()
        .to_string();

    click(&mut app, 10, screen_row);
    let clicked = app.records.selected().unwrap().id().to_string();
    assert!(
        drawn_there.contains(&clicked),
        "clicked {clicked}, drawn: {drawn_there}"
    );
    ch(&mut app, 'd');
    assert!(
        matches!(record_dialog(&app), Some(Dialog::ConfirmDelete(r, _)) if r.record_id == clicked),
        "{:?}",
        record_dialog(&app)
    );
    let (_, call) = only_call(&ch(&mut app, 'y'));
    assert_eq!(
        call,
        ApiCall::DeleteRecord {
            lock_id: LOCK_102.into(),
            target: Box::new(chosen_as_listed(&app, &clicked)),
        }
    );
}

#[test]
fn a_click_below_the_last_record_changes_nothing() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Down);
    let layout = app.layout().unwrap();
    click(&mut app, 10, layout.locks.bottom() - 2);
    assert_eq!(app.records.selected().unwrap().id(), &id(1));
}

#[test]
fn y_copies_the_selected_record_id_and_in_the_details_y_and_shift_y_the_ids() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Down);
    let effects = ch(&mut app, 'y');
    assert_eq!(effects, vec![Effect::CopyToClipboard(id(1))]);
    assert!(app.status.notice.as_deref().unwrap().contains(&id(1)));

    let (request, _) = only_call(&press(&mut app, KeyCode::Enter));
    let _ = request;
    assert_eq!(ch(&mut app, 'y'), vec![Effect::CopyToClipboard(id(1))]);
    let device = record(1, RecordStatus::New).device_info.device_id;
    assert_eq!(ch(&mut app, 'Y'), vec![Effect::CopyToClipboard(device)]);
    assert!(
        matches!(record_dialog(&app), Some(Dialog::Detail(_))),
        "the details stay open"
    );
}

#[test]
fn a_failed_delete_keeps_the_row() {
    let mut app = loaded(3);
    ch(&mut app, 'd');
    let (request, _) = only_call(&ch(&mut app, 'y'));
    reply(
        &mut app,
        request,
        ApiOutcome::RecordDeleted(Outcome::Failed(server_error())),
    );
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
    assert!(matches!(record_dialog(&app), Some(Dialog::ConfirmBulk(c)) if c.record_ids.len() == 3));
    type_text(&mut app, "2");
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "wrong number: nothing is sent"
    );
    let Some(Dialog::ConfirmBulk(confirm)) = record_dialog(&app) else {
        panic!("still asking")
    };
    assert!(confirm.error.as_ref().unwrap().contains("type 3"));
    press(&mut app, KeyCode::Backspace);
    type_text(&mut app, "3");
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::StartBulkDelete(job)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(target_ids(job), ["9000000", "8999999", "8999998"]);
    assert!(
        job.targets.iter().all(|t| t.chosen.is_some()),
        "each is deleted only while as chosen"
    );
    assert_eq!(job.lock_id, LOCK_102);
    assert_eq!(job.concurrency, crate::tui::effects::DEFAULT_BULK_CONCURRENCY);
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
    for (i, id) in target_ids(job).iter().enumerate() {
        let result = if i % 4 == 0 { Err(server_error()) } else { Ok(()) };
        app.update(Action::Bulk(BulkProgress::Deleted {
            job: job.job,
            record_id: id.clone(),
            outcome: outcome_of(result),
        }));
    }
    let Some(Dialog::Bulk(run)) = record_dialog(&app) else {
        panic!("progress is shown")
    };
    assert_eq!((run.deleted.len(), run.failures.len()), (7, 3));
    assert!(!run.finished);
    app.update(Action::Bulk(BulkProgress::Finished {
        job: job.job,
        cancelled: false,
        lock_lost: false,
    }));
    let Some(Dialog::Bulk(run)) = record_dialog(&app) else {
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
    assert!(!app.dialog_open());
}

#[test]
fn the_failures_of_a_bulk_delete_stay_marked_and_d_retries_exactly_them() {
    let mut app = loaded(10);
    ch(&mut app, 'a');
    ch(&mut app, 'd');
    type_text(&mut app, "10");
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::StartBulkDelete(job)] = &effects[..] else {
        panic!("{effects:?}")
    };
    for (i, id) in target_ids(job).iter().enumerate() {
        let result = if i % 4 == 0 {
            Err(api_error(429, 429001, "too many requests"))
        } else {
            Ok(())
        };
        app.update(Action::Bulk(BulkProgress::Deleted {
            job: job.job,
            record_id: id.clone(),
            outcome: outcome_of(result),
        }));
    }
    app.update(Action::Bulk(BulkProgress::Finished {
        job: job.job,
        cancelled: false,
        lock_lost: false,
    }));
    let failed = BTreeSet::from([id(0), id(4), id(8)]);
    assert_eq!(app.records.marked, failed, "the failed records stay marked");
    press(&mut app, KeyCode::Enter);
    ch(&mut app, 'd');
    type_text(&mut app, "3");
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::StartBulkDelete(retry)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(target_ids(retry).into_iter().collect::<BTreeSet<_>>(), failed);
    assert_ne!(
        retry.job, job.job,
        "a new job: answers of the old one are not its own"
    );
}

#[test]
fn a_bulk_delete_the_server_stops_for_its_lock_says_the_lock_was_lost() {
    let mut app = loaded(10);
    ch(&mut app, 'a');
    ch(&mut app, 'd');
    type_text(&mut app, "10");
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::StartBulkDelete(job)] = &effects[..] else {
        panic!("{effects:?}")
    };
    // Three went, the fourth was refused for an expired lock; the engine sent nothing more.
    for (i, id) in target_ids(job).iter().take(4).enumerate() {
        let result = if i == 3 {
            Err(api_error(409, 409002, "lock expired"))
        } else {
            Ok(())
        };
        app.update(Action::Bulk(BulkProgress::Deleted {
            job: job.job,
            record_id: id.clone(),
            outcome: outcome_of(result),
        }));
    }
    app.update(Action::Bulk(BulkProgress::Finished {
        job: job.job,
        cancelled: true,
        lock_lost: true,
    }));
    let Some(Dialog::Bulk(run)) = record_dialog(&app) else {
        panic!("the summary is shown")
    };
    assert_eq!(
        run.headline(),
        "deleted 3 of 10, 1 failed, the lock was lost: 6 left untouched"
    );
    assert_eq!(app.records.marked.len(), 7, "what was not deleted stays marked");
}

#[test]
fn a_refresh_keeps_the_rows_until_the_new_list_is_whole() {
    let mut app = loaded(150);
    press(&mut app, KeyCode::Down);
    let (first, call) = only_call(&ch(&mut app, 'r'));
    assert!(matches!(call, ApiCall::ListRecords { cursor: None, .. }));
    assert_eq!(
        app.records.rows.len(),
        150,
        "the rows stay while the refresh runs"
    );
    let fresh: Vec<_> = (0..100).map(|i| record(i, RecordStatus::Completed)).collect();
    let (second, _) = only_call(&reply(
        &mut app,
        first,
        ApiOutcome::RecordsPage(Ok(Page::new(fresh, Some("c".into())))),
    ));
    assert_eq!(app.records.rows.len(), 150, "a part of the new list is not shown");
    assert!(
        app.records
            .rows
            .iter()
            .all(|row| row.record.status == RecordStatus::New)
    );
    assert_eq!(
        app.records.refreshing(),
        Some(1),
        "one page of the new list so far"
    );

    let rest = vec![record(100, RecordStatus::Completed)];
    reply(
        &mut app,
        second,
        ApiOutcome::RecordsPage(Ok(Page::new(rest, None))),
    );
    assert_eq!(
        app.records.rows.len(),
        101,
        "the whole new list replaced the old one"
    );
    assert!(
        app.records
            .rows
            .iter()
            .all(|row| row.record.status == RecordStatus::Completed)
    );
    assert_eq!(
        app.records.selected().unwrap().id(),
        id(1),
        "the cursor stays on its record"
    );
    assert!(app.records.stale().is_none() && !app.records.is_loading());
}

#[test]
fn a_failed_refresh_keeps_the_rows_marked_stale_and_says_why() {
    let mut app = loaded(300);
    let (request, _) = only_call(&ch(&mut app, 'r'));
    app.update(Action::Tick(t0() + chrono::Duration::seconds(95)));
    let gone = crate::api::ApiError::Transport {
        url: "http://127.0.0.1:4000".into(),
        cause: "connection refused".into(),
    };
    let effects = app.update(reply_measured(
        request,
        ApiOutcome::RecordsPage(Err(gone)),
        t0() + chrono::Duration::seconds(95),
        5,
        0,
    ));
    assert!(calls(&effects).is_empty());
    assert_eq!(app.records.rows.len(), 300, "nothing loaded is thrown away");
    let stale = app.records.stale().expect("marked stale");
    assert_eq!(stale.loaded_at, t0());
    assert!(stale.reason.contains("connection refused"), "{}", stale.reason);
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains("data from 07:00:00 (1m old): refresh failed"),
        "{screen}"
    );
    // Trying again: the same rows stay until the next listing is whole.
    let (request, _) = only_call(&ch(&mut app, 'r'));
    reply(
        &mut app,
        request,
        ApiOutcome::RecordsPage(Ok(Page::new(vec![record(0, RecordStatus::New)], None))),
    );
    assert_eq!(app.records.rows.len(), 1);
    assert!(app.records.stale().is_none());
}

#[test]
fn retention_rules_are_edited_in_place_with_a_live_preview() {
    // 9 completed backups over 3 devices (dev-0: 0, 3, 6 hours old; dev-1: 1, 4, 7; dev-2: 2, 5, 8).
    let mut app = app();
    let (request, _) = only_call(&ch(&mut app, '3'));
    let records = (0..9).map(|n| record(n, RecordStatus::Completed)).collect();
    reply(
        &mut app,
        request,
        ApiOutcome::RecordsPage(Ok(Page::new(records, None))),
    );
    ch(&mut app, 'x');
    let cleanup = |app: &App| match record_dialog(app) {
        Some(Dialog::Cleanup(view)) => view.clone(),
        other => panic!("the clean-up view is open, not {other:?}"),
    };
    assert!(
        cleanup(&app).candidates.is_empty(),
        "no policy: completed backups are kept"
    );

    ch(&mut app, 'e');
    type_text(&mut app, "keep_last 1");
    let view = cleanup(&app);
    let mut proposed: Vec<&str> = view
        .candidates
        .iter()
        .map(|c| c.record.record_id.as_str())
        .collect();
    proposed.sort();
    let mut expected: Vec<String> = (3..9).map(id).collect();
    expected.sort();
    assert_eq!(proposed, expected, "all but each device's newest, while typing");
    let summary: Vec<(String, usize, usize)> = view
        .summary(app.records.known_sizes())
        .into_iter()
        .map(|d| (d.device, d.kept, d.deleted))
        .collect();
    assert_eq!(
        summary,
        [
            ("dev-0".into(), 1, 2),
            ("dev-1".into(), 1, 2),
            ("dev-2".into(), 1, 2)
        ]
    );
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains("phone 1 · 102: keep 1, delete 2"),
        "by name: {screen}"
    );
    assert!(screen.contains("not kept by keep_last 1"), "{screen}");

    // An invalid edit says why and leaves the last valid policy in force.
    press(&mut app, KeyCode::Backspace);
    type_text(&mut app, "x");
    let view = cleanup(&app);
    assert!(
        view.editing
            .as_ref()
            .unwrap()
            .error
            .as_ref()
            .unwrap()
            .contains("whole number")
    );
    assert_eq!(view.candidates.len(), 6);
    // Esc goes back to the rules before editing: none.
    press(&mut app, KeyCode::Esc);
    let view = cleanup(&app);
    assert!(view.editing.is_none() && view.rules.retention.is_none() && view.candidates.is_empty());

    ch(&mut app, 'e');
    type_text(&mut app, "keep_last 2");
    press(&mut app, KeyCode::Enter);
    let view = cleanup(&app);
    assert!(view.editing.is_none());
    assert_eq!(view.candidates.len(), 3, "each device keeps two of three");
    // The usual confirmation follows.
    press(&mut app, KeyCode::Enter);
    assert!(matches!(record_dialog(&app), Some(Dialog::ConfirmBulk(c)) if c.record_ids.len() == 3));
}

#[test]
fn the_preview_counts_the_size_freed_where_the_files_are_known() {
    let mut app = app();
    let (request, _) = only_call(&ch(&mut app, '3'));
    let records = (0..6).map(|n| record(n, RecordStatus::Completed)).collect();
    reply(
        &mut app,
        request,
        ApiOutcome::RecordsPage(Ok(Page::new(records, None))),
    );
    // The details of dev-0's older backup (record 3) list all its files: 3 KiB.
    for _ in 0..3 {
        press(&mut app, KeyCode::Down);
    }
    let (request, _) = only_call(&press(&mut app, KeyCode::Enter));
    let files = (0..3)
        .map(|i| crate::api::BackupFile {
            file_id: i.to_string(),
            file_name: format!("f{i}"),
            sha256: None,
            size: 1024,
            description: None,
            create_time: None,
        })
        .collect();
    reply(
        &mut app,
        request,
        ApiOutcome::FilesPage(Ok(Page::new(files, None))),
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.records.known_sizes().get(&id(3)), Some(&3072));
    ch(&mut app, 'x');
    ch(&mut app, 'e');
    type_text(&mut app, "keep_last 1");
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains("phone 0 · 102: keep 1, delete 1, frees 3.0 KiB"),
        "{screen}"
    );
    let dev_1 = screen
        .lines()
        .find(|line| line.contains("phone 1 · 102"))
        .expect("dev-1 summarised");
    assert!(
        dev_1.contains("keep 1, delete 1") && !dev_1.contains("frees"),
        "unknown sizes are not guessed: {dev_1}"
    );
}

#[test]
fn the_clean_up_view_starts_with_the_profiles_retention_policy() {
    let session = crate::tui::feature::Session {
        retention: Some(crate::retention::Retention {
            keep_last: Some(2),
            ..Default::default()
        }),
        ..session_named("test", false)
    };
    let mut app = app_holding(session, vec![(lock(LOCK_102, 600), false)], 110, 30);
    press(&mut app, KeyCode::BackTab);
    let (request, _) = only_call(&ch(&mut app, '3'));
    let records = (0..9).map(|n| record(n, RecordStatus::Completed)).collect();
    reply(
        &mut app,
        request,
        ApiOutcome::RecordsPage(Ok(Page::new(records, None))),
    );
    ch(&mut app, 'x');
    let Some(Dialog::Cleanup(view)) = record_dialog(&app) else {
        panic!("the clean-up view is open")
    };
    assert_eq!(view.candidates.len(), 3);
    let screen = screen_of(&app, 110, 30);
    assert!(screen.contains("Retention: keep_last 2 (e to edit)"), "{screen}");
    // What stays is listed too, each with the rule that keeps it.
    assert!(screen.contains("Kept by the retention rules (6):"), "{screen}");
    let kept = screen
        .lines()
        .filter(|l| l.contains("kept by keep_last") && !l.contains("not kept"));
    assert_eq!(kept.count(), 6, "{screen}");
}

#[test]
fn clean_up_ages_records_on_the_servers_clock() {
    // This machine is 25 h ahead of the server: a record the server created 5 s ago is 25 h
    // old on our clock, and was proposed (and deleted) as abandoned.
    let mut app = app();
    let (request, _) = only_call(&ch(&mut app, '3'));
    let young = BackupRecord {
        create_time: t0() - chrono::Duration::hours(25) - chrono::Duration::seconds(5),
        ..record(0, RecordStatus::New)
    };
    let old = BackupRecord {
        create_time: t0() - chrono::Duration::hours(50),
        ..record(1, RecordStatus::New)
    };
    let behind = -25 * 3_600_000;
    app.update(reply_measured(
        request,
        ApiOutcome::RecordsPage(Ok(Page::new(vec![young, old], None))),
        t0(),
        5,
        behind,
    ));
    ch(&mut app, 'x');
    let Some(Dialog::Cleanup(view)) = record_dialog(&app) else {
        panic!("the clean-up view is open")
    };
    let proposed: Vec<&str> = view
        .candidates
        .iter()
        .map(|c| c.record.record_id.as_str())
        .collect();
    assert_eq!(
        proposed,
        [id(1)],
        "only the record 25 h old on the server's clock"
    );
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains("5s"),
        "the list shows the server's age:\n{screen}"
    );
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
        lock_lost: false,
    }));
    let Some(Dialog::Bulk(run)) = record_dialog(&app) else {
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
        ApiCall::CompleteRecord {
            lock_id: LOCK_102.into(),
            record_id: "9000000".into(),
            properties: Some(r#"{"done":true}"#.into()),
        }
    );
    let (_, refetch) = only_call(&reply(&mut app, request, ApiOutcome::RecordCompleted(Ok(()))));
    assert_eq!(
        refetch,
        ApiCall::GetRecord {
            record_id: "9000000".into()
        }
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
        matches!(record_dialog(&app), Some(Dialog::Text(f)) if f.error.as_ref().unwrap().contains("line 1"))
    );
    press(&mut app, KeyCode::Esc);
    app.records.mark_completed("9000000");
    assert!(ch(&mut app, 'c').is_empty());
    assert!(!app.dialog_open());
    assert!(app.status.notice.as_ref().unwrap().contains("only new records"));
}

#[test]
fn the_detail_view_pages_through_files() {
    let mut app = loaded(1);
    let (request, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(
        call,
        ApiCall::ListFiles {
            record_id: "9000000".into(),
            page_size: super::FILES_PAGE_SIZE,
            cursor: None
        }
    );
    let page = Page::new(Vec::new(), Some("f2".into()));
    reply(&mut app, request, ApiOutcome::FilesPage(Ok(page)));
    let (request, call) = only_call(&ch(&mut app, ']'));
    assert!(matches!(call, ApiCall::ListFiles { cursor: Some(c), .. } if c == "f2"));
    reply(
        &mut app,
        request,
        ApiOutcome::FilesPage(Ok(Page::new(Vec::new(), None))),
    );
    assert!(ch(&mut app, ']').is_empty(), "no further page");
    let (_, call) = only_call(&ch(&mut app, '['));
    assert!(matches!(call, ApiCall::ListFiles { cursor: None, .. }));
}

#[test]
fn cleanup_proposes_old_new_records_and_confirms_by_number() {
    let mut app = loaded(30);
    ch(&mut app, 'x');
    let Some(Dialog::Cleanup(view)) = record_dialog(&app) else {
        panic!("the clean-up view is open")
    };
    // Records are 0..29 hours old; the default threshold is 24 hours.
    assert_eq!(view.ticked().len(), 5);
    ch(&mut app, ' ');
    press(&mut app, KeyCode::Enter);
    assert!(matches!(record_dialog(&app), Some(Dialog::ConfirmBulk(c)) if c.record_ids.len() == 4));
}

#[test]
fn the_clean_up_list_moves_by_ends_pages_and_half_pages() {
    let mut app = loaded(300);
    ch(&mut app, 'x');
    let cursor = |app: &App| match record_dialog(app) {
        Some(Dialog::Cleanup(view)) => (view.cursor, view.candidates.len()),
        other => panic!("the clean-up view is open: {other:?}"),
    };
    let (_, candidates) = cursor(&app);
    assert!(candidates > 250, "{candidates}");
    ch(&mut app, 'G');
    assert_eq!(cursor(&app).0, candidates - 1, "G: the last");
    press(&mut app, KeyCode::Home);
    assert_eq!(cursor(&app).0, 0, "Home: the first");
    press(&mut app, KeyCode::End);
    assert_eq!(cursor(&app).0, candidates - 1, "End: the last");
    ch(&mut app, 'g');
    press(&mut app, KeyCode::PageDown);
    let page = cursor(&app).0;
    assert!(page > 1, "a page is more than a row: {page}");
    ctrl(&mut app, 'd');
    assert_eq!(cursor(&app).0, page + page / 2, "Ctrl+D: half a page");
    ctrl(&mut app, 'u');
    press(&mut app, KeyCode::PageUp);
    assert_eq!(cursor(&app).0, 0);
}

#[test]
fn only_one_operation_waits_for_a_lock_at_a_time() {
    let mut app = app_without_lock();
    let (request, _) = only_call(&ch(&mut app, '3'));
    let page = Page::new(
        vec![record(1, RecordStatus::New), record(2, RecordStatus::New)],
        None,
    );
    reply(&mut app, request, ApiOutcome::RecordsPage(Ok(page)));
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
        matches!(&app.records.waiting_for_lock, Some((_, super::LockedOp::Delete { target })) if target.record_id == "8999999"),
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
    let Some(Dialog::Form(form)) = record_dialog(&app) else {
        panic!("form open")
    };
    assert_eq!(form.device_id.value(), "ab cd");
    assert_eq!(form.device_id.cursor(), 4);
}

fn form(app: &App) -> &RecordForm {
    match record_dialog(app) {
        Some(Dialog::Form(form)) => form,
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
        matches!(&call, ApiCall::CreateRecord { record, .. }
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
    assert!(
        app.activity
            .entries()
            .back()
            .unwrap()
            .message
            .contains("status 1")
    );
    type_text(&mut app, " ");
    assert!(form(&app).editor_error.is_none(), "typing clears the message");
}

fn complete_field(app: &App) -> &super::dialogs::TextField {
    match record_dialog(app) {
        Some(Dialog::Text(field)) if field.is_complete() => field,
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
        ApiCall::CompleteRecord {
            lock_id: LOCK_102.into(),
            record_id: "9000000".into(),
            properties: Some(r#"{"done":false}"#.into()),
        }
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
    assert!(
        app.activity
            .entries()
            .back()
            .unwrap()
            .message
            .contains("status 1")
    );
    type_text(&mut app, " ");
    assert!(complete_field(&app).error.is_none(), "typing clears the message");
    // An empty edit empties the field: completing then keeps the record's properties.
    ctrl(&mut app, 'e');
    app.update(Action::EditorDone(Ok("\n".into())));
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert!(
        matches!(&call, ApiCall::CompleteRecord { properties: None, .. }),
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

// The list's own rules, on `State` alone.

/// Record `n` on `device`, with properties `{"batch":n % 7}`.
fn on_device(record: BackupRecord, device: &str) -> BackupRecord {
    let n: usize = 9_000_000 - record.record_id.parse::<usize>().unwrap();
    BackupRecord {
        properties: format!(r#"{{"batch":{}}}"#, n % 7),
        device_info: DeviceEntity {
            device_id: device.into(),
            device_name: format!("{device} name"),
            ..DeviceEntity::default()
        },
        ..record
    }
}

/// The id of `record(n, _)`.
fn id(n: usize) -> String {
    record(n, RecordStatus::New).record_id
}

fn page(from: usize, n: usize) -> Vec<BackupRecord> {
    (from..from + n)
        .map(|i| {
            on_device(
                record(i, RecordStatus::New),
                if i % 2 == 0 { "pixel" } else { "iphone" },
            )
        })
        .collect()
}

fn pane_of(n: usize) -> State {
    let mut pane = State::default();
    pane.start_listing(ModuleCode::AddressBook);
    pane.add_page(page(0, n), true, 10, t0());
    pane
}

#[test]
fn pages_append_and_the_last_one_ends_loading() {
    let mut pane = State::default();
    let generation = pane.start_listing(ModuleCode::AddressBook);
    assert!(pane.is_loading());
    pane.add_page(page(0, 100), false, 10, t0());
    assert_eq!(pane.load, LoadState::Loading { pages: 1 });
    pane.add_page(page(100, 100), false, 10, t0());
    pane.add_page(page(200, 50), true, 10, t0());
    assert_eq!(pane.load, LoadState::Loaded { pages: 3 });
    assert_eq!(pane.rows.len(), 250);
    assert_eq!(pane.visible.len(), 250);
    assert_eq!(pane.start_listing(ModuleCode::AddressBook), generation + 1);
}

#[test]
fn the_filter_searches_id_device_status_and_properties_case_blind() {
    let mut pane = pane_of(20);
    pane.set_filter("IPHONE", 10);
    assert_eq!(pane.visible.len(), 10);
    pane.set_filter(&id(3), 10);
    assert_eq!(pane.visible, vec![3]);
    pane.set_filter("\"batch\":6", 10);
    assert_eq!(pane.visible, vec![6, 13]);
    pane.set_filter("to be deleted", 10);
    assert!(pane.visible.is_empty());
    assert!(pane.selected().is_none());
    pane.set_filter("", 10);
    assert_eq!(pane.visible.len(), 20);
}

#[test]
fn new_pages_are_filtered_as_they_arrive() {
    let mut pane = State::default();
    pane.start_listing(ModuleCode::AddressBook);
    pane.set_filter("pixel", 10);
    pane.add_page(page(0, 10), false, 10, t0());
    pane.add_page(page(10, 10), true, 10, t0());
    assert_eq!(pane.visible.len(), 10);
    assert!(
        pane.visible
            .iter()
            .all(|&i| pane.rows[i].record.device_info.device_id == "pixel")
    );
}

#[test]
fn the_cursor_stays_on_its_record_across_filters() {
    let mut pane = pane_of(20);
    pane.move_cursor(4, 10);
    assert_eq!(pane.selected().unwrap().id(), &id(4));
    pane.set_filter("pixel", 10);
    assert_eq!(pane.selected().unwrap().id(), &id(4));
    pane.set_filter("", 10);
    assert_eq!(pane.selected().unwrap().id(), &id(4));
}

#[test]
fn scrolling_keeps_the_cursor_in_view() {
    let mut pane = pane_of(250);
    pane.move_cursor(30, 10);
    assert_eq!((pane.cursor(), pane.offset()), (30, 21));
    pane.move_cursor(isize::MAX / 2, 10);
    assert_eq!((pane.cursor(), pane.offset()), (249, 240));
    pane.move_cursor(-1000, 10);
    assert_eq!((pane.cursor(), pane.offset()), (0, 0));
}

#[test]
fn a_taller_window_scrolls_back_so_that_no_row_is_left_empty() {
    let mut pane = pane_of(250);
    pane.move_cursor(249, 10);
    assert_eq!((pane.cursor(), pane.offset()), (249, 240));
    // 40 rows now fit: the last 40 records show, the cursor stays on the last one.
    pane.scroll_to_cursor(40);
    assert_eq!((pane.cursor(), pane.offset()), (249, 210));
    // Moving up past the top of the window scrolls it up to the cursor.
    pane.move_cursor(-50, 40);
    assert_eq!((pane.cursor(), pane.offset()), (199, 199));
    // A click lands on the row counted from the window's top.
    pane.click(3);
    assert_eq!(pane.cursor(), 202);
    pane.click(500);
    assert_eq!(pane.cursor(), 202, "past the end: no change");
}

#[test]
fn a_refresh_comes_back_to_the_same_record() {
    let mut pane = pane_of(250);
    pane.move_cursor(150, 10);
    pane.start_listing(ModuleCode::AddressBook);
    pane.add_page(page(0, 100), false, 10, t0());
    assert_eq!(pane.cursor(), 0, "not loaded yet");
    pane.add_page(page(100, 100), false, 10, t0());
    assert_eq!(pane.selected().unwrap().id(), &id(150));
    pane.move_cursor(1, 10);
    pane.add_page(page(200, 50), true, 10, t0());
    assert_eq!(pane.selected().unwrap().id(), &id(151), "the user moved on: stay");
}

#[test]
fn marks_toggle_and_mark_all_follows_the_filter() {
    let mut pane = pane_of(10);
    pane.toggle_mark();
    assert!(pane.marked.contains(&id(0)));
    pane.toggle_mark();
    assert!(pane.marked.is_empty());
    pane.set_filter("pixel", 10);
    pane.mark_all_visible();
    assert_eq!(pane.marked.len(), 5);
    pane.mark_all_visible();
    assert!(pane.marked.is_empty());
}

#[test]
fn removing_records_drops_their_marks_and_keeps_the_cursor_near() {
    let mut pane = pane_of(10);
    pane.move_cursor(5, 10);
    pane.mark_all_visible();
    let gone: BTreeSet<String> = [&id(5), &id(6)].map(String::from).into();
    pane.remove(&gone, 10);
    assert_eq!(pane.rows.len(), 8);
    assert_eq!(pane.marked.len(), 8);
    assert_eq!(pane.selected().unwrap().id(), &id(7));
}

#[test]
fn removing_the_selected_or_every_record_is_safe() {
    let mut pane = pane_of(3);
    pane.move_cursor(2, 10);
    pane.remove(&BTreeSet::from([id(2)]), 10);
    assert_eq!(pane.selected().unwrap().id(), &id(1));
    pane.remove(&pane.rows.iter().map(|r| r.id().to_string()).collect(), 10);
    assert!(pane.selected().is_none());
    assert_eq!((pane.cursor(), pane.offset()), (0, 0));
}

#[test]
fn a_created_record_goes_on_top_and_under_the_cursor_even_through_a_filter() {
    let mut pane = pane_of(10);
    pane.set_filter("iphone", 10);
    pane.insert_new(on_device(record(99, RecordStatus::New), "pixel"));
    assert_eq!(pane.selected().unwrap().id(), &id(99));
    assert_eq!(pane.filter, "");
    assert_eq!(pane.cursor(), 0);
}

#[test]
fn completing_changes_the_status_in_place() {
    let mut pane = pane_of(3);
    pane.mark_completed(&id(1));
    assert_eq!(pane.find(&id(1)).unwrap().record.status, RecordStatus::Completed);
    pane.set_filter("completed", 10);
    assert_eq!(pane.visible, vec![1]);
}

/// Frame tests of the record side: the records pane and each of its dialogs drawn into a
/// TestBackend, compared with committed snapshots (`snapshots/`). Time is fixed. A changed frame is
/// looked at before its `.snap.new` replaces the snapshot.
mod frames {
    use crossterm::event::KeyCode;

    use super::{outcome_of, target_ids};
    use crate::api::{BackupRecord, DeviceEntity, ModuleCode, Page, RecordStatus};
    use crate::tui::App;
    use crate::tui::action::{Action, ApiCall, ApiOutcome, BulkProgress, Effect};
    use crate::tui::test_support::{
        api_error, app_holding, ctrl, drawn, lock, only_call, press, reply_measured, screen_of, session, t0,
    };
    use crate::tui::theme::{ColorSupport, Theme};

    const WIDTH: u16 = 110;
    const HEIGHT: u16 = 30;
    const LOCK: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@102";

    /// Holding a lock for 102, the records pane focused.
    fn app_sized(width: u16, height: u16) -> App {
        let mut app = app_holding(session(), vec![(lock(LOCK, 545), false)], width, height);
        press(&mut app, KeyCode::BackTab);
        app
    }

    fn type_text(app: &mut App, text: &str) {
        crate::tui::test_support::type_text(app, text);
    }

    /// Record `n`: statuses, devices and ages vary with `n`.
    fn varied_record(n: usize) -> BackupRecord {
        let status = match n % 5 {
            0 | 1 => RecordStatus::New,
            2 | 3 => RecordStatus::Completed,
            _ => RecordStatus::ToBeDeleted,
        };
        let created = t0() - chrono::Duration::minutes(37 * n as i64 + 5);
        BackupRecord {
            record_id: format!("{}", 1_842_862_763_295_184_641u64 - n as u64 * 4_194_304),
            module_code: ModuleCode::AddressBook.into(),
            status,
            properties: format!(r#"{{"contacts":{},"app":"sync"}}"#, 100 + n),
            version: if status == RecordStatus::Completed { 2 } else { 1 },
            create_time: created,
            end_time: (status == RecordStatus::Completed).then(|| created + chrono::Duration::minutes(3)),
            device_info: DeviceEntity {
                device_id: format!("dev-{}", n % 3),
                machine_code: format!("MC-{}", n % 3),
                device_name: ["Pixel 7", "Galaxy S23", "iPhone 15"][n % 3].into(),
                device_os: ["Android 14", "Android 13", "iOS 17"][n % 3].into(),
                create_time: Some(t0() - chrono::Duration::days(30)),
            },
        }
    }

    /// Answers the single call among `effects` at `t0` after 12 ms, the server's clock on ours.
    fn reply(app: &mut App, effects: &[Effect], outcome: ApiOutcome) -> Vec<Effect> {
        let (request, _) = only_call(effects);
        app.update(reply_measured(request, outcome, t0(), 12, 0))
    }

    /// Lists 102 and answers with `n` records, 100 per page; stops after `pages` pages if given.
    fn load(app: &mut App, n: usize, pages: Option<usize>) {
        let mut effects = press(app, KeyCode::Char('3'));
        let mut served = 0;
        let mut page = 0;
        while effects.iter().any(|e| {
            matches!(
                e,
                Effect::Api {
                    call: ApiCall::ListRecords { .. },
                    ..
                }
            )
        }) {
            if pages == Some(page) {
                return;
            }
            let size = (n - served).min(100);
            let items = (served..served + size).map(varied_record).collect();
            served += size;
            let next_cursor = (served < n).then(|| format!("c{served}"));
            effects = reply(
                app,
                &effects,
                ApiOutcome::RecordsPage(Ok(Page::new(items, next_cursor))),
            );
            page += 1;
        }
    }

    fn loaded(n: usize) -> App {
        let mut app = app_sized(WIDTH, HEIGHT);
        load(&mut app, n, None);
        app
    }

    #[test]
    fn no_module_chosen_yet() {
        insta::assert_snapshot!(screen_of(&app_sized(WIDTH, HEIGHT), WIDTH, HEIGHT));
    }

    #[test]
    fn first_page_shown_while_the_rest_loads() {
        let mut app = app_sized(WIDTH, HEIGHT);
        load(&mut app, 250, Some(1));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn a_loaded_list_with_marks() {
        let mut app = loaded(40);
        press(&mut app, KeyCode::Char(' '));
        press(&mut app, KeyCode::Char(' '));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn a_local_filter_being_typed() {
        let mut app = loaded(40);
        press(&mut app, KeyCode::Char('/'));
        type_text(&mut app, "iphone");
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn narrow_terminal_drops_the_time_columns() {
        let mut app = app_sized(70, 20);
        load(&mut app, 40, None);
        insta::assert_snapshot!(screen_of(&app, 70, 20));
    }

    #[test]
    fn the_form_with_invalid_input() {
        let mut app = loaded(3);
        press(&mut app, KeyCode::Char('n'));
        press(&mut app, KeyCode::Tab);
        type_text(&mut app, r#"{"files": 12,}"#);
        press(&mut app, KeyCode::Enter);
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn a_fresh_form_tells_its_keys() {
        let mut app = loaded(3);
        press(&mut app, KeyCode::Char('n'));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn the_form_with_a_bound_device_chosen() {
        let mut app = loaded(3);
        let (request, _) = only_call(&press(&mut app, KeyCode::Char('n')));
        let mut hostile = crate::tui::test_support::device(1);
        hostile.device_name = "iPad\u{1b}]0;pwned\u{7} Air".into();
        let devices = vec![crate::tui::test_support::device(0), hostile];
        app.update(reply_measured(
            request,
            ApiOutcome::DevicesListed(Ok(Page::new(devices, None))),
            t0(),
            5,
            0,
        ));
        press(&mut app, KeyCode::Up);
        let screen = screen_of(&app, WIDTH, HEIGHT);
        assert!(!screen.contains('\u{1b}'), "the server's name is escaped");
        insta::assert_snapshot!(screen);
    }

    #[test]
    fn the_form_after_the_editor_failed() {
        let mut app = loaded(3);
        press(&mut app, KeyCode::Char('n'));
        type_text(&mut app, "pixel-7");
        let effects = ctrl(&mut app, 'e');
        assert_eq!(effects, vec![Effect::EditInEditor(String::new())]);
        app.update(Action::EditorDone(Err(
            "could not start the editor `nvim`: command not found".into(),
        )));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn the_complete_dialog_after_the_editor_failed() {
        let mut app = loaded(3);
        press(&mut app, KeyCode::Char('c'));
        type_text(&mut app, r#"{"contacts": 104}"#);
        let effects = ctrl(&mut app, 'e');
        assert_eq!(
            effects,
            vec![Effect::EditInEditor("{\n  \"contacts\": 104\n}\n".into())]
        );
        app.update(Action::EditorDone(Err(
            "could not start the editor `nvim`: command not found".into(),
        )));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn the_form_after_a_server_error() {
        let mut app = loaded(3);
        press(&mut app, KeyCode::Char('n'));
        type_text(&mut app, "pixel-7");
        let effects = press(&mut app, KeyCode::Enter);
        let error = api_error(409, 409002, "lock expired");
        reply(&mut app, &effects, ApiOutcome::RecordCreated(Err(error)));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn single_delete_confirmation() {
        let mut app = loaded(5);
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Char('d'));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    #[test]
    fn bulk_delete_confirmation_asks_for_the_number() {
        let mut app = loaded(40);
        press(&mut app, KeyCode::Char('a'));
        press(&mut app, KeyCode::Char('d'));
        type_text(&mut app, "4");
        press(&mut app, KeyCode::Enter);
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    /// Starts a bulk delete of all 40 records and reports `ok` successes and `failed` failures.
    fn bulk(ok: usize, failed: usize, finish: bool) -> App {
        let mut app = loaded(40);
        press(&mut app, KeyCode::Char('a'));
        press(&mut app, KeyCode::Char('d'));
        type_text(&mut app, "40");
        let effects = press(&mut app, KeyCode::Enter);
        let [Effect::StartBulkDelete(job)] = &effects[..] else {
            panic!("{effects:?}")
        };
        for (i, id) in target_ids(job).iter().take(ok + failed).enumerate() {
            let result = if i < failed {
                Err(api_error(
                    500,
                    500001,
                    "internal error (injected by the error-rate fault)",
                ))
            } else {
                Ok(())
            };
            app.update(Action::Bulk(BulkProgress::Deleted {
                job: job.job,
                record_id: id.clone(),
                outcome: outcome_of(result),
            }));
        }
        if finish {
            app.update(Action::Bulk(BulkProgress::Finished {
                job: job.job,
                cancelled: ok + failed < 40,
                lock_lost: false,
            }));
        }
        app
    }

    #[test]
    fn bulk_delete_in_progress() {
        insta::assert_snapshot!(screen_of(&bulk(17, 3, false), WIDTH, HEIGHT));
    }

    #[test]
    fn bulk_delete_summary_lists_every_failure() {
        insta::assert_snapshot!(screen_of(&bulk(36, 4, true), WIDTH, HEIGHT));
    }

    #[test]
    fn bulk_delete_stopped() {
        insta::assert_snapshot!(screen_of(&bulk(10, 0, true), WIDTH, HEIGHT));
    }

    #[test]
    fn record_details_with_files() {
        let mut app = loaded(5);
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Down);
        let effects = press(&mut app, KeyCode::Enter);
        let files = (0..3)
            .map(|i| crate::api::BackupFile {
                file_id: i.to_string(),
                file_name: format!("contacts-{i}.vcf"),
                size: 1500 * (i + 1) * (i + 1) * 100,
                sha256: None,
                description: None,
                create_time: Some(t0()),
            })
            .collect();
        reply(
            &mut app,
            &effects,
            ApiOutcome::FilesPage(Ok(Page::new(files, Some("next".into())))),
        );
        insta::assert_snapshot!(screen_of(&app, WIDTH, 40));
    }

    #[test]
    fn at_80x24_the_details_wrap_long_values_and_say_how_to_close() {
        let mut app = loaded(3);
        app.update(Action::Resize {
            width: 80,
            height: 24,
        });
        let long = format!(
            r#"{{"note":"{}","path":"/srv/backups/2025/november/very/deep/directory/structure/contacts.vcf"}}"#,
            "word ".repeat(30).trim_end()
        );
        app.records.rows[0].record.properties = long;
        app.records.rows[0].record.device_info.device_name =
            "A device name that is much longer than the value column of the details".into();
        press(&mut app, KeyCode::Enter);
        let screen = screen_of(&app, 80, 24);
        assert!(screen.lines().last().unwrap().contains("Esc close"), "{screen}");
        assert!(
            screen.contains("the value column of") && screen.contains("  the details"),
            "the name wraps whole:\n{screen}"
        );
        insta::assert_snapshot!(screen);
    }

    #[test]
    fn cleanup_candidates() {
        let mut app = loaded(60);
        press(&mut app, KeyCode::Char('x'));
        press(&mut app, KeyCode::Char(' '));
        insta::assert_snapshot!(screen_of(&app, WIDTH, HEIGHT));
    }

    /// The selected candidate is in the selection's style from its tick to the border, its
    /// status included.
    #[test]
    fn the_selected_candidate_is_highlighted_whole() {
        let mut app = loaded(60);
        press(&mut app, KeyCode::Char('x'));
        let theme = Theme::new(ColorSupport::Ansi16);
        let terminal = drawn(&app, &theme, WIDTH, HEIGHT);
        let buffer = terminal.backend().buffer();
        let screen = screen_of(&app, WIDTH, HEIGHT);
        let y = screen.lines().position(|l| l.contains("[x] ")).unwrap() as u16;
        let line = screen.lines().nth(usize::from(y)).unwrap();
        let x0 = line[..line.find("[x]").unwrap()].chars().count() as u16;
        let border = (x0..WIDTH).find(|&x| buffer[(x, y)].symbol() == "│").unwrap();
        let style = |x: u16, y: u16| {
            let cell = &buffer[(x, y)];
            (cell.fg, cell.bg, cell.modifier)
        };
        assert_ne!(style(x0, y), style(x0, y + 1), "the next row is not selected");
        for x in x0..border {
            assert_eq!(style(x, y), style(x0, y), "column {x}:\n{screen}");
        }
    }

    #[test]
    fn statuses_are_coloured() {
        let app = loaded(5);
        let theme = Theme::new(ColorSupport::Ansi16);
        let terminal = drawn(&app, &theme, WIDTH, HEIGHT);
        let buffer = terminal.backend().buffer().clone();
        let colour_of = |label: &str| {
            (0..HEIGHT)
                .find_map(|y| {
                    let line: String = (0..WIDTH).map(|x| buffer[(x, y)].symbol().to_string()).collect();
                    let x = line.find(label)?;
                    // The buffer holds one cell per column; the labels are ASCII.
                    Some(buffer[(x as u16, y)].fg)
                })
                .unwrap_or_else(|| panic!("{label} not on screen"))
        };
        assert_eq!(colour_of("new "), theme.warning.fg.unwrap());
        assert_eq!(colour_of("completed"), theme.ok.fg.unwrap());
        assert_eq!(colour_of("to be deleted"), theme.critical.fg.unwrap());
    }
}

#[test]
fn the_bulk_confirmation_lists_the_records_and_scrolls() {
    let mut app = loaded(20);
    ch(&mut app, 'a');
    ch(&mut app, 'd');
    let first = app.records.visible.len();
    assert_eq!(first, 20);
    let screen = screen_of(&app, 110, 30);
    assert!(screen.contains(&id(0)), "the first record is named:\n{screen}");
    assert!(screen.contains("below; ↑/↓ scroll"), "{screen}");
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    let Some(Dialog::ConfirmBulk(confirm)) = record_dialog(&app) else {
        panic!("still asking")
    };
    assert_eq!(confirm.scroll, 2);
    let screen = screen_of(&app, 110, 30);
    assert!(
        !screen.contains(&format!("  {} ", id(0))) && screen.contains(&id(2)),
        "{screen}"
    );
    assert!(screen.contains("(2 above"), "{screen}");
    for _ in 0..30 {
        press(&mut app, KeyCode::Down);
    }
    let Some(Dialog::ConfirmBulk(confirm)) = record_dialog(&app) else {
        panic!("still asking")
    };
    assert_eq!(confirm.scroll, 19, "stops at the last record");
}

#[test]
fn a_bulk_delete_waiting_for_its_lock_says_so_with_a_spinner() {
    let mut app = app_without_lock();
    let effects = ch(&mut app, '3');
    let (request, _) = only_call(&effects);
    let items = (0..3).map(|i| record(i, RecordStatus::New)).collect();
    reply(
        &mut app,
        request,
        ApiOutcome::RecordsPage(Ok(Page::new(items, None))),
    );
    ch(&mut app, 'a');
    ch(&mut app, 'd');
    type_text(&mut app, "3");
    let (_, call) = only_call(&press(&mut app, KeyCode::Enter));
    assert_eq!(
        call,
        ApiCall::CreateLock(ModuleCode::AddressBook),
        "the lock comes first"
    );
    let screen = screen_of(&app, 110, 30);
    assert!(screen.contains("creating a lock for 102 "), "{screen}");
    app.update(Action::Animate);
    let turned = screen_of(&app, 110, 30);
    assert_ne!(screen, turned, "the spinner turns while the lock is created");
}

#[test]
fn the_records_pane_opens_on_the_module_used_last_and_remembers_a_new_choice() {
    let mut app = app_holding(session_named("test", false), Vec::new(), 110, 30)
        .with_last_module(Some(ModuleCode::Album));
    let effects = press(&mut app, KeyCode::BackTab);
    assert_eq!(
        app.records.module(),
        Some(ModuleCode::Album),
        "opened on the last module"
    );
    let (_, call) = only_call(&effects);
    assert!(matches!(call, ApiCall::ListRecords { query, .. } if query.module == ModuleCode::Album));
    assert!(effects.contains(&Effect::RememberModule(ModuleCode::Album)));
    let effects = ch(&mut app, '3');
    assert!(
        effects.contains(&Effect::RememberModule(ModuleCode::AddressBook)),
        "{effects:?}"
    );
    let again = ch(&mut app, 'r');
    assert!(
        !again.iter().any(|e| matches!(e, Effect::RememberModule(_))),
        "only on a change"
    );
}

#[test]
fn the_details_and_the_bulk_list_page_with_pgdn_and_pgup() {
    let mut app = loaded(20);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::PageDown);
    let Some(Dialog::Detail(detail)) = record_dialog(&app) else {
        panic!("details")
    };
    assert_eq!(detail.scroll, 0, "the details fit the screen: nothing to scroll");
    press(&mut app, KeyCode::Home);
    let Some(Dialog::Detail(detail)) = record_dialog(&app) else {
        panic!("details")
    };
    assert_eq!(detail.scroll, 0);
    press(&mut app, KeyCode::Esc);
    ch(&mut app, 'a');
    ch(&mut app, 'd');
    press(&mut app, KeyCode::PageDown);
    press(&mut app, KeyCode::PageDown);
    let Some(Dialog::ConfirmBulk(confirm)) = record_dialog(&app) else {
        panic!("asking")
    };
    assert_eq!(confirm.scroll, 16);
    press(&mut app, KeyCode::PageUp);
    let Some(Dialog::ConfirmBulk(confirm)) = record_dialog(&app) else {
        panic!("asking")
    };
    assert_eq!(confirm.scroll, 8);
}

#[test]
fn at_60_columns_record_ids_are_shown_whole() {
    let mut app = loaded(3);
    // KooDrive's ids are 19 digits.
    let long: Vec<String> = (0..3).map(|n| format!("21277948892518809{n:02}")).collect();
    for (row, id) in app.records.rows.iter_mut().zip(&long) {
        row.record.record_id = id.clone();
    }
    app.update(Action::Resize {
        width: 60,
        height: 20,
    });
    let screen = screen_of(&app, 60, 20);
    for id in &long {
        assert!(screen.contains(id.as_str()), "{id} whole:\n{screen}");
    }
}

/// A delete the history cannot record comes back unsent; the app asks, and only the answer
/// decides whether it is sent.
mod without_history {
    use super::*;
    use crate::tui::action::Unrecorded;
    use crate::tui::keymap::Scope;

    const FULL: &str = "cannot write the history in /state/koobackup/history: No space left on device";

    fn unrecorded(effect: Effect) -> Action {
        Action::Unrecorded(Box::new(Unrecorded {
            why: FULL.into(),
            effect,
        }))
    }

    /// A confirmed delete of the loaded record 8999999, sent back unsent: the question is up.
    fn asked() -> (App, Effect) {
        let mut app = loaded(3);
        press(&mut app, KeyCode::Down);
        ch(&mut app, 'd');
        let (request, call) = only_call(&ch(&mut app, 'y'));
        let effect = Effect::Api { request, call };
        assert!(app.update(unrecorded(effect.clone())).is_empty());
        assert_eq!(app.active_scopes(), [Scope::Confirm]);
        (app, effect)
    }

    #[test]
    fn no_keeps_the_record_and_answers_the_delete_as_not_sent() {
        let (mut app, _) = asked();
        assert!(ch(&mut app, 'x').is_empty(), "another key does nothing");
        assert_eq!(app.active_scopes(), [Scope::Confirm], "still asking");
        assert!(ch(&mut app, 'n').is_empty(), "nothing is sent");
        assert!(!app.dialog_open());
        assert!(!app.is_busy(), "the delete is answered");
        assert_eq!(app.records.rows.len(), 3);
        assert!(app.records.find("8999999").is_some());
        let error = &app.status.last_error.as_ref().unwrap().1;
        assert!(
            error.contains("history cannot be written") && error.contains("nothing was sent"),
            "{error}"
        );
    }

    #[test]
    fn esc_is_no_too() {
        let (mut app, _) = asked();
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert!(!app.is_busy());
        assert_eq!(app.records.rows.len(), 3);
    }

    #[test]
    fn yes_sends_it_without_history() {
        let (mut app, effect) = asked();
        let Effect::Api { request, .. } = effect else {
            unreachable!()
        };
        assert_eq!(ch(&mut app, 'y'), [Effect::WithoutHistory(Box::new(effect))]);
        assert!(!app.dialog_open());
        reply(&mut app, request, ApiOutcome::RecordDeleted(deleted()));
        assert!(app.records.find("8999999").is_none());
    }

    #[test]
    fn a_bulk_delete_plans_its_records_as_listed_and_no_leaves_them_all() {
        let mut app = loaded(3);
        ch(&mut app, 'a');
        ch(&mut app, 'd');
        type_text(&mut app, "3");
        let effects = press(&mut app, KeyCode::Enter);
        let [Effect::StartBulkDelete(job)] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert_eq!(job.module, ModuleCode::AddressBook);
        let planned: Vec<_> = job.planned.iter().map(|p| p.record.clone().unwrap()).collect();
        let listed: Vec<_> = target_ids(job)
            .iter()
            .map(|id| app.records.find(id).unwrap().record.clone())
            .collect();
        assert_eq!(
            planned, listed,
            "the plan holds each record as the list showed it"
        );
        app.update(unrecorded(Effect::StartBulkDelete(job.clone())));
        let screen = screen_of(&app, 110, 30);
        assert!(
            screen.contains("Delete 3 record(s) without a trace? y/n"),
            "{screen}"
        );
        ch(&mut app, 'n');
        let Some(Dialog::Bulk(run)) = record_dialog(&app) else {
            panic!("the run's summary is shown")
        };
        assert!(run.finished && run.deleted.is_empty(), "{run:?}");
        assert_eq!(run.untouched(), 3);
        assert_eq!(app.records.rows.len(), 3);
    }

    #[test]
    fn two_held_back_are_asked_one_after_the_other() {
        let (mut app, first) = asked();
        let Effect::Api { request, call } = first else {
            unreachable!()
        };
        let second = Effect::Api {
            request: RequestId(request.0 + 100),
            call: call.clone(),
        };
        app.update(unrecorded(second.clone()));
        ch(&mut app, 'n');
        assert_eq!(app.active_scopes(), [Scope::Confirm], "the second is asked about");
        assert_eq!(ch(&mut app, 'y'), [Effect::WithoutHistory(Box::new(second))]);
        assert!(!app.dialog_open());
    }

    #[test]
    fn the_question_names_why_and_what() {
        let (mut app, _) = asked();
        app.update(Action::Resize {
            width: 80,
            height: 24,
        });
        insta::assert_snapshot!(screen_of(&app, 80, 24));
    }
}
