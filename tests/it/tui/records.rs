//! The record side of the TUI against the real local server on 127.0.0.1: keys go into
//! `App::update`, and every effect it returns is carried out with the real client exactly as the
//! runtime does (`record_runner`), until the app is idle. Then the server is asked what happened.

use crate::support;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{FixedOffset, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use koobackup::api::client::{NewRecord, RecordQuery};
use koobackup::api::{BackupRecord, Client, ClientOptions, Credentials, LockInfo, ModuleCode, Token};
use koobackup::bulk::{Outcome, Target};
use koobackup::history::Keeping;
use koobackup::lease::{Owner, Purpose, Standing};
use koobackup::server::Faults;
use koobackup::tui::action::{Action, ApiReply, BulkDeleteJob, BulkProgress, CancelFlag, Effect, JobId};
use koobackup::tui::effects;
use koobackup::tui::records::LoadState;
use koobackup::tui::records::dialogs::Dialog;
use koobackup::tui::{App, Session};
use ratatui::layout::Rect;

/// An app wired to a real client, carrying out effects in place of the runtime.
struct Driver {
    app: App,
    client: Client,
}

impl Driver {
    fn new(client: Client, held: Vec<LockInfo>) -> Driver {
        let session = Session {
            label: "test server".into(),
            embedded: false,
            base_url: client.base_url().to_string(),
            user_id: client.user_id().to_string(),
            lock_ttl: chrono::Duration::seconds(600),
            display_offset: FixedOffset::east_opt(0).unwrap(),
            retention: None,
            delete_grace: None,
            health: koobackup::health::Rules::standard(),
            read_only: false,
        };
        // Locks this app holds: created through it (this process owns them).
        let held = held
            .into_iter()
            .map(|lock| koobackup::tui::action::Journalled {
                lock,
                auto_renew: false,
                owner: Some(Owner::this_process(Purpose::App { adopted: false })),
                standing: Standing::Mine,
            })
            .collect();
        let mut app = App::new(session, held, Vec::new(), Utc::now(), Rect::new(0, 0, 120, 40));
        app.update(key(KeyCode::BackTab));
        Driver { app, client }
    }

    /// Presses `code` and carries out everything that follows.
    async fn press(&mut self, code: KeyCode) {
        let effects = self.app.update(key(code));
        self.settle(effects).await;
    }

    async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c)).await;
        }
    }

    /// Performs `effects` and every effect their results lead to, until there are none.
    async fn settle(&mut self, mut effects: Vec<Effect>) {
        while let Some(effect) = effects.pop() {
            let actions = self.perform(effect).await;
            for action in actions {
                effects.extend(self.app.update(action));
            }
        }
    }

    async fn perform(&self, effect: Effect) -> Vec<Action> {
        match effect {
            Effect::Api { request, call } => {
                let outcome = effects::perform(&self.client, call).await;
                vec![Action::ApiDone(Box::new(ApiReply {
                    request,
                    outcome,
                    latency: Duration::from_millis(1),
                    finished_at: Utc::now(),
                    clock_offset: self.client.clock_measured().then(|| self.client.clock_offset()),
                }))]
            }
            Effect::StartBulkDelete(job) => {
                let reports = Arc::new(Mutex::new(Vec::new()));
                let sink = reports.clone();
                let ran =
                    effects::run_bulk_delete(self.client.clone(), &Keeping::Off, job, move |progress| {
                        sink.lock().unwrap().push(Action::Bulk(progress));
                    })
                    .await;
                assert!(ran.is_ok(), "without history nothing is held back");
                std::mem::take(&mut *reports.lock().unwrap())
            }
            Effect::CancelBulkDelete(flag) => {
                flag.cancel();
                Vec::new()
            }
            Effect::Journal(_) | Effect::CopyToClipboard(_) | Effect::Quit | Effect::RememberModule(_) => {
                Vec::new()
            }
            Effect::EditInEditor(_) => panic!("no flow here opens the editor (see tui_e2e)"),
            Effect::Connect(_) => panic!("no flow here switches connections (see tui::e2e)"),
            Effect::ReadSizes(_) => panic!("no flow here shows the Devices view"),
            Effect::WithoutHistory(_) | Effect::ReadHistory => panic!("no flow here involves the history"),
            // The refresh reads the queue of pending deletions: there is none here (no grace).
            Effect::ReadPending => Vec::new(),
            Effect::QueueDeletes(_) | Effect::CancelQueued(_) => {
                panic!("no flow here has a grace window (see tui::e2e)")
            }
        }
    }

    fn dialog(&self) -> Option<&Dialog> {
        self.app.records.dialog.as_ref()
    }

    fn listed_ids(&self) -> Vec<String> {
        self.app
            .records
            .rows()
            .iter()
            .map(|row| row.id().to_string())
            .collect()
    }
}

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Alice's client, without retries so that every injected failure is seen as it happened (a
/// bulk delete adds its own), and with short waits before those.
fn client(server: &support::TestServer) -> Client {
    let mut options = ClientOptions::new(
        server.base_url(),
        Credentials::new(support::ALICE.0, Token::new(support::ALICE.1.to_string())),
    );
    options.retries = 0;
    options.retry_backoff = Duration::from_millis(5);
    Client::new(options).expect("client")
}

/// Creates `n` records in `module` under `lock`, eight at a time; returns them.
async fn create_records(client: &Client, lock: &LockInfo, n: usize) -> Vec<BackupRecord> {
    use futures::StreamExt;
    futures::stream::iter(0..n)
        .map(|i| {
            let record = NewRecord {
                module: lock.module,
                device_id: format!("device-{}", i % 4),
                properties: Some(format!(r#"{{"batch":{i}}}"#)),
            };
            async move {
                client
                    .create_record(&lock.lock_id, &record)
                    .await
                    .expect("create record")
            }
        })
        .buffer_unordered(8)
        .collect()
        .await
}

/// Every record of `module` on the server, newest first.
pub(super) async fn server_ids(client: &Client, module: ModuleCode) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        pages += 1;
        crate::support::assert_page_cap(pages);
        let query = RecordQuery {
            module,
            page_size: 100,
            device_id: None,
        };
        let page = client
            .list_records(&query, cursor.as_deref())
            .await
            .expect("list");
        ids.extend(page.items.into_iter().map(|r| r.record_id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return ids,
        }
    }
}

pub(super) async fn setup(records: usize) -> (support::TestServer, Client, LockInfo, Vec<BackupRecord>) {
    let server = support::spawn_server().await;
    let client = client(&server);
    let lock = client.create_lock(ModuleCode::AddressBook).await.expect("lock");
    let created = create_records(&client, &lock, records).await;
    (server, client, lock, created)
}

#[tokio::test]
async fn a_valid_form_creates_the_record_on_the_server_and_selects_it() {
    let (_server, client, lock, _) = setup(3).await;
    let mut driver = Driver::new(client.clone(), vec![lock]);
    driver.press(KeyCode::Char('3')).await;
    driver.press(KeyCode::Char('n')).await;
    driver.type_text("pixel-7").await;
    driver.press(KeyCode::Tab).await;
    driver.type_text(r#"{"files": 12, "note": "nightly"}"#).await;
    driver.press(KeyCode::Enter).await;

    assert!(driver.dialog().is_none(), "the form closed after success");
    let selected = driver
        .app
        .records
        .selected()
        .expect("a selected record")
        .record
        .clone();
    assert_eq!(selected.device_info.device_id, "pixel-7");
    let stored = client
        .get_record(&selected.record_id)
        .await
        .expect("on the server");
    assert_eq!(stored.module_code, ModuleCode::AddressBook);
    assert_eq!(stored.properties, r#"{"files":12,"note":"nightly"}"#);
    assert_eq!(server_ids(&client, ModuleCode::AddressBook).await.len(), 4);
}

#[tokio::test]
async fn invalid_input_reaches_no_server() {
    let (_server, client, lock, _) = setup(1).await;
    let mut driver = Driver::new(client.clone(), vec![lock]);
    driver.press(KeyCode::Char('3')).await;
    driver.press(KeyCode::Char('n')).await;

    // No device id.
    driver.press(KeyCode::Enter).await;
    let Some(Dialog::Form(form)) = driver.dialog() else {
        panic!("form open")
    };
    assert_eq!(form.device_error.as_deref(), Some("a device id is required"));

    // Invalid JSON, with its position.
    driver.type_text("pixel").await;
    driver.press(KeyCode::Tab).await;
    driver.type_text(r#"{"a": 1,, }"#).await;
    driver.press(KeyCode::Enter).await;
    let Some(Dialog::Form(form)) = driver.dialog() else {
        panic!("form open")
    };
    let error = form.properties_error.as_ref().expect("a JSON error").to_string();
    assert!(error.contains("line 1, column 9"), "{error}");

    // Oversized properties (pasted).
    driver.app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    let big = format!(
        r#"{{"x":"{}"}}"#,
        "y".repeat(koobackup::properties::MAX_PROPERTIES_BYTES)
    );
    driver.app.update(Action::Paste(big));
    driver.press(KeyCode::Enter).await;
    let Some(Dialog::Form(form)) = driver.dialog() else {
        panic!("form open")
    };
    assert!(
        form.properties_error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("limit")
    );

    assert_eq!(
        server_ids(&client, ModuleCode::AddressBook).await.len(),
        1,
        "nothing was created"
    );
}

#[tokio::test]
async fn without_a_held_lock_the_form_takes_one_for_the_record_and_releases_it() {
    let server = support::spawn_server().await;
    let client = client(&server);
    let mut driver = Driver::new(client.clone(), Vec::new());
    driver.press(KeyCode::Char('1')).await;
    driver.press(KeyCode::Char('n')).await;
    driver.type_text("laptop").await;
    driver.press(KeyCode::Enter).await;
    assert!(driver.dialog().is_none());
    assert_eq!(server_ids(&client, ModuleCode::Folder).await.len(), 1);
    assert!(
        driver.app.locks.entries().is_empty(),
        "the lock taken for the record is released once it is made"
    );
    // Released on the server too: a backup elsewhere can take the module at once.
    let other = client.create_lock(ModuleCode::Folder).await.unwrap();
    client.release_lock(&other.lock_id).await.unwrap();
}

#[tokio::test]
async fn paging_through_250_records() {
    let (_server, client, lock, _) = setup(250).await;
    let mut driver = Driver::new(client.clone(), vec![lock]);
    driver.press(KeyCode::Char('3')).await;
    assert_eq!(driver.app.records.load(), &LoadState::Loaded { pages: 3 });
    assert_eq!(
        driver.listed_ids(),
        server_ids(&client, ModuleCode::AddressBook).await
    );
    driver.press(KeyCode::End).await;
    assert_eq!(driver.app.records.cursor(), 249);
    let pages = driver
        .app
        .activity
        .entries()
        .iter()
        .filter(|e| e.operation.starts_with("list records 102"))
        .count();
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn filtering_locally_and_by_device_on_the_server() {
    let (_server, client, lock, _) = setup(20).await;
    let mut driver = Driver::new(client.clone(), vec![lock]);
    driver.press(KeyCode::Char('3')).await;
    driver.press(KeyCode::Char('/')).await;
    driver.type_text("\"batch\":1").await;
    // batch 1 and 10..19
    assert_eq!(driver.app.records.visible().len(), 11);
    driver.press(KeyCode::Esc).await;
    assert_eq!(driver.app.records.visible().len(), 20);

    driver.press(KeyCode::Char('f')).await;
    driver.type_text("device-2").await;
    driver.press(KeyCode::Enter).await;
    assert_eq!(driver.app.records.rows().len(), 5);
    assert!(
        driver
            .app
            .records
            .rows()
            .iter()
            .all(|r| r.record.device_info.device_id == "device-2")
    );
}

#[tokio::test]
async fn completing_a_record() {
    let (_server, client, lock, _) = setup(2).await;
    let mut driver = Driver::new(client.clone(), vec![lock]);
    driver.press(KeyCode::Char('3')).await;
    let id = driver.app.records.selected().unwrap().id().to_string();
    driver.press(KeyCode::Char('c')).await;
    driver.type_text(r#"{"files": 40}"#).await;
    driver.press(KeyCode::Enter).await;
    let stored = client.get_record(&id).await.unwrap();
    assert_eq!(stored.status, koobackup::api::RecordStatus::Completed);
    assert_eq!(stored.properties, r#"{"files":40}"#);
    let shown = &driver.app.records.find(&id).unwrap().record;
    assert_eq!(shown, &stored, "the row shows the record as the server has it");
}

#[tokio::test]
async fn a_single_delete_waits_for_confirmation() {
    let (_server, client, lock, _) = setup(3).await;
    let mut driver = Driver::new(client.clone(), vec![lock]);
    driver.press(KeyCode::Char('3')).await;
    let id = driver.app.records.selected().unwrap().id().to_string();

    driver.press(KeyCode::Char('d')).await;
    assert!(matches!(driver.dialog(), Some(Dialog::ConfirmDelete(r, _)) if r.record_id == id));
    driver.press(KeyCode::Esc).await;
    assert!(client.get_record(&id).await.is_ok(), "cancel keeps the record");

    driver.press(KeyCode::Char('d')).await;
    driver.press(KeyCode::Char('y')).await;
    let gone = client.get_record(&id).await.unwrap_err();
    assert_eq!(gone.code(), Some(404001));
    assert!(!driver.listed_ids().contains(&id));
    assert_eq!(
        server_ids(&client, ModuleCode::AddressBook).await,
        driver.listed_ids()
    );
}

#[tokio::test]
async fn bulk_delete_of_100_with_injected_errors_reports_exactly_the_failures() {
    let (server, client, lock, _) = setup(100).await;
    let mut driver = Driver::new(client.clone(), vec![lock]);
    driver.press(KeyCode::Char('3')).await;
    assert_eq!(driver.app.records.rows().len(), 100);
    driver.press(KeyCode::Char('a')).await;
    driver.press(KeyCode::Char('d')).await;
    driver.type_text("100").await;

    // Each record is read again, then deleted, each request tried 6 times (bulk::RETRIES): at a
    // 75% error rate about a third of 100 records still fail.
    server.server.set_faults(Faults {
        error_rate: 0.75,
        ..Faults::default()
    });
    driver.press(KeyCode::Enter).await;
    server.server.set_faults(Faults::default());

    let Some(Dialog::Bulk(run)) = driver.dialog() else {
        panic!("the summary is shown")
    };
    assert!(run.finished && !run.cancelled);
    let failed: BTreeSet<String> = run.failures.iter().map(|f| f.record_id.clone()).collect();
    assert_eq!(failed.len(), run.failures.len(), "each failure listed once");
    assert!(
        run.failures.iter().all(|f| f.code == Some(500001)),
        "{:?}",
        run.failures
    );
    assert_eq!(run.deleted.len() + run.failures.len(), 100);

    let survivors: BTreeSet<String> = server_ids(&client, ModuleCode::AddressBook)
        .await
        .into_iter()
        .collect();
    assert_eq!(
        failed, survivors,
        "the summary lists exactly the records still on the server"
    );
    let listed: BTreeSet<String> = driver.listed_ids().into_iter().collect();
    assert_eq!(listed, survivors, "the list shows the survivors");
    assert!(
        !failed.is_empty(),
        "a 75% error rate over 100 deletes of 6 tries each failed none (p < 1e-8)"
    );
}

#[tokio::test]
async fn a_cancelled_bulk_delete_leaves_the_rest_untouched() {
    let (_server, client, lock, _) = setup(60).await;
    let ids: Vec<String> = server_ids(&client, ModuleCode::AddressBook).await;
    let flag = CancelFlag::default();
    let job = BulkDeleteJob {
        job: JobId(1),
        module: ModuleCode::AddressBook,
        lock_id: lock.lock_id.clone(),
        planned: Vec::new(),
        targets: ids
            .iter()
            .map(|id| Target {
                record_id: id.clone(),
                chosen: None,
            })
            .collect(),
        concurrency: 4,
        cancel: flag.clone(),
    };
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = reports.clone();
    let ran = effects::run_bulk_delete(client.clone(), &Keeping::Off, job, move |progress| {
        let mut reports = sink.lock().unwrap();
        reports.push(progress);
        if reports.len() == 10 {
            flag.cancel();
        }
    })
    .await;
    assert!(ran.is_ok(), "without history nothing is held back");
    let reports = std::mem::take(&mut *reports.lock().unwrap());
    let deleted: BTreeSet<String> = reports
        .iter()
        .filter_map(|p| match p {
            BulkProgress::Deleted {
                record_id,
                outcome: Outcome::Deleted { .. },
                ..
            } => Some(record_id.clone()),
            _ => None,
        })
        .collect();
    assert!(matches!(
        reports.last(),
        Some(BulkProgress::Finished { cancelled: true, .. })
    ));
    // At most the deletes already in flight (the concurrency) finish after the stop.
    assert!((10..=14).contains(&deleted.len()), "{}", deleted.len());
    let left: BTreeSet<String> = server_ids(&client, ModuleCode::AddressBook)
        .await
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = ids.into_iter().filter(|id| !deleted.contains(id)).collect();
    assert_eq!(left, expected);
}

#[tokio::test]
async fn deleting_without_a_lock_creates_one_first() {
    let server = support::spawn_server().await;
    let client = client(&server);
    let lock = client.create_lock(ModuleCode::Album).await.unwrap();
    create_records(&client, &lock, 2).await;
    client.release_lock(&lock.lock_id).await.unwrap();
    let mut driver = Driver::new(client.clone(), Vec::new());
    driver.press(KeyCode::Char('2')).await;
    driver.press(KeyCode::Char('d')).await;
    driver.press(KeyCode::Char('y')).await;
    assert_eq!(server_ids(&client, ModuleCode::Album).await.len(), 1);
    assert_eq!(driver.app.records.rows().len(), 1);
}
