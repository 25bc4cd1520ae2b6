//! Frame tests of the record side: the records pane and each of its dialogs drawn into a
//! TestBackend, compared with committed snapshots (tests/snapshots). Time is fixed.
//! Regenerate with `INSTA_UPDATE=always cargo test --test tui_records_views`.

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use koobackup::api::{ApiError, BackupRecord, DeviceEntity, LockInfo, ModuleCode, Page, RecordStatus};
use koobackup::tui::action::{Action, ApiCall, ApiOutcome, ApiReply, Effect};
use koobackup::tui::record_action::{BulkProgress, RecordCall, RecordOutcome};
use koobackup::tui::theme::{ColorSupport, Theme};
use koobackup::tui::{App, Session, views};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

const WIDTH: u16 = 110;
const HEIGHT: u16 = 30;
const LOCK: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@102";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap()
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

fn app_sized(width: u16, height: u16) -> App {
    let lock = LockInfo {
        lock_id: LOCK.into(),
        module: ModuleCode::AddressBook,
        expires_at: t0() + chrono::Duration::seconds(545),
    };
    let mut app = App::new(
        session(),
        vec![(lock, false)],
        Vec::new(),
        t0(),
        Rect::new(0, 0, width, height),
    );
    key(&mut app, KeyCode::BackTab);
    app
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Record `n`: statuses, devices and ages vary with `n`.
fn record(n: usize) -> BackupRecord {
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

fn reply(app: &mut App, effects: &[Effect], outcome: RecordOutcome) -> Vec<Effect> {
    let request = effects
        .iter()
        .find_map(|e| match e {
            Effect::Api { request, .. } => Some(*request),
            _ => None,
        })
        .expect("an API call");
    app.update(Action::ApiDone(Box::new(ApiReply {
        request,
        outcome: ApiOutcome::Records(outcome),
        latency: Duration::from_millis(12),
        finished_at: t0(),
        clock_offset: chrono::Duration::zero(),
    })))
}

/// Lists 102 and answers with `n` records, 100 per page; stops after `pages` pages if given.
fn load(app: &mut App, n: usize, pages: Option<usize>) {
    let mut effects = key(app, KeyCode::Char('3'));
    let mut served = 0;
    let mut page = 0;
    while effects.iter().any(|e| {
        matches!(
            e,
            Effect::Api {
                call: ApiCall::Records(RecordCall::ListPage { .. }),
                ..
            }
        )
    }) {
        if pages == Some(page) {
            return;
        }
        let size = (n - served).min(100);
        let items = (served..served + size).map(record).collect();
        served += size;
        let next_cursor = (served < n).then(|| format!("c{served}"));
        effects = reply(
            app,
            &effects,
            RecordOutcome::Page(Ok(Page::new(items, next_cursor))),
        );
        page += 1;
    }
}

fn loaded(n: usize) -> App {
    let mut app = app_sized(WIDTH, HEIGHT);
    load(&mut app, n, None);
    app
}

fn screen_of(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| views::draw(frame, app, &Theme::new(ColorSupport::None)))
        .unwrap();
    format!("{}", terminal.backend())
}

fn screen(app: &App) -> String {
    screen_of(app, WIDTH, HEIGHT)
}

#[test]
fn no_module_chosen_yet() {
    insta::assert_snapshot!(screen(&app_sized(WIDTH, HEIGHT)));
}

#[test]
fn first_page_shown_while_the_rest_loads() {
    let mut app = app_sized(WIDTH, HEIGHT);
    load(&mut app, 250, Some(1));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn a_loaded_list_with_marks() {
    let mut app = loaded(40);
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Char(' '));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn a_local_filter_being_typed() {
    let mut app = loaded(40);
    key(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "iphone");
    insta::assert_snapshot!(screen(&app));
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
    key(&mut app, KeyCode::Char('n'));
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, r#"{"files": 12,}"#);
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn a_fresh_form_tells_its_keys() {
    let mut app = loaded(3);
    key(&mut app, KeyCode::Char('n'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn the_form_after_the_editor_failed() {
    let mut app = loaded(3);
    key(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "pixel-7");
    let effects = app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('e'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(effects, vec![Effect::EditInEditor(String::new())]);
    app.update(Action::EditorDone(Err(
        "could not start the editor `nvim`: command not found".into(),
    )));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn the_complete_dialog_after_the_editor_failed() {
    let mut app = loaded(3);
    key(&mut app, KeyCode::Char('c'));
    type_text(&mut app, r#"{"contacts": 104}"#);
    let effects = app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('e'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(
        effects,
        vec![Effect::EditInEditor("{\n  \"contacts\": 104\n}\n".into())]
    );
    app.update(Action::EditorDone(Err(
        "could not start the editor `nvim`: command not found".into(),
    )));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn the_form_after_a_server_error() {
    let mut app = loaded(3);
    key(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "pixel-7");
    let effects = key(&mut app, KeyCode::Enter);
    let error = ApiError::Api {
        status: 409,
        code: 409002.to_string(),
        msg: "lock expired".into(),
    };
    reply(&mut app, &effects, RecordOutcome::Created(Err(error)));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn single_delete_confirmation() {
    let mut app = loaded(5);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('d'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn bulk_delete_confirmation_asks_for_the_number() {
    let mut app = loaded(40);
    key(&mut app, KeyCode::Char('a'));
    key(&mut app, KeyCode::Char('d'));
    type_text(&mut app, "4");
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(screen(&app));
}

/// Starts a bulk delete of all 40 records and reports `ok` successes and `failed` failures.
fn bulk(ok: usize, failed: usize, finish: bool) -> App {
    let mut app = loaded(40);
    key(&mut app, KeyCode::Char('a'));
    key(&mut app, KeyCode::Char('d'));
    type_text(&mut app, "40");
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::StartBulkDelete(job)] = &effects[..] else {
        panic!("{effects:?}")
    };
    for (i, id) in job.record_ids.iter().take(ok + failed).enumerate() {
        let result = if i < failed {
            Err(ApiError::Api {
                status: 500,
                code: 500001.to_string(),
                msg: "internal error (injected by the error-rate fault)".into(),
            })
        } else {
            Ok(())
        };
        app.update(Action::Bulk(BulkProgress::Deleted {
            job: job.job,
            record_id: id.clone(),
            result,
        }));
    }
    if finish {
        app.update(Action::Bulk(BulkProgress::Finished {
            job: job.job,
            cancelled: ok + failed < 40,
        }));
    }
    app
}

#[test]
fn bulk_delete_in_progress() {
    insta::assert_snapshot!(screen(&bulk(17, 3, false)));
}

#[test]
fn bulk_delete_summary_lists_every_failure() {
    insta::assert_snapshot!(screen(&bulk(36, 4, true)));
}

#[test]
fn bulk_delete_stopped() {
    insta::assert_snapshot!(screen(&bulk(10, 0, true)));
}

#[test]
fn record_details_with_files() {
    let mut app = loaded(5);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    let effects = key(&mut app, KeyCode::Enter);
    let files = (0..3)
        .map(|i| koobackup::api::BackupFile {
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
        RecordOutcome::Files(Ok(Page::new(files, Some("next".into())))),
    );
    insta::assert_snapshot!(screen_of(&app, WIDTH, 40));
}

#[test]
fn cleanup_candidates() {
    let mut app = loaded(60);
    key(&mut app, KeyCode::Char('x'));
    key(&mut app, KeyCode::Char(' '));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn statuses_are_coloured() {
    let app = loaded(5);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    let theme = Theme::new(ColorSupport::Ansi16);
    terminal.draw(|frame| views::draw(frame, &app, &theme)).unwrap();
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

/// A frame of the list touches only the rows on screen: drawing it with 10 000 records loaded
/// costs about what it costs with 100 (the bench `records_render` has the figures).
#[test]
fn frame_cost_does_not_grow_with_the_number_of_records() {
    let time_frames = |app: &App| {
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
        let theme = Theme::new(ColorSupport::Ansi16);
        let started = Instant::now();
        for _ in 0..50 {
            terminal.draw(|frame| views::draw(frame, app, &theme)).unwrap();
        }
        started.elapsed()
    };
    let small = loaded(100);
    let mut large = loaded(10_000);
    key(&mut large, KeyCode::Char('G'));
    time_frames(&small);
    let (small_time, large_time) = (time_frames(&small), time_frames(&large));
    assert!(
        large_time < small_time * 5,
        "50 frames: {small_time:?} with 100 records, {large_time:?} with 10 000"
    );
}
