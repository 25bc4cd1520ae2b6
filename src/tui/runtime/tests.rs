//! The loop's rules, on a TestBackend with a fake [`Host`] and the real local server on
//! 127.0.0.1: the quit grace, the hand-over to the editor and back, stop signals, the end of
//! input, and when ticks come.

use std::sync::{Arc, Mutex};

use chrono::TimeZone;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use tokio::sync::mpsc::UnboundedReceiver;

use super::*;
use crate::api::{ClientOptions, Credentials, ModuleCode, Token};
use crate::health::RecordSize;
use crate::journal::Journal;
use crate::server::{Faults, RunningServer, ServerConfig, UserCredential};
use crate::tui::feature::Session;
use crate::tui::records::dialogs::Dialog;
use crate::tui::test_support::session_named;
use crate::tui::theme::ColorSupport;

#[test]
fn ticks_come_just_after_the_next_change_and_at_least_once_a_second() {
    let wall = Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap();
    let mono = Instant::now();
    let soon = wall + chrono::Duration::milliseconds(250);
    assert_eq!(
        tick_deadline(Some(soon), wall, mono, mono),
        mono + Duration::from_millis(250) + TICK_SLACK
    );
    let late = wall + chrono::Duration::seconds(30);
    assert_eq!(
        tick_deadline(Some(late), wall, mono, mono),
        mono + MAX_TICK_INTERVAL
    );
    assert_eq!(tick_deadline(None, wall, mono, mono), mono + MAX_TICK_INTERVAL);
    // Events since the last tick do not push the next one further away.
    let later = mono + Duration::from_millis(900);
    assert_eq!(tick_deadline(None, wall, later, mono), mono + MAX_TICK_INTERVAL);
    // A change already past (a busy moment): tick right away.
    let past = wall - chrono::Duration::milliseconds(40);
    assert_eq!(tick_deadline(Some(past), wall, mono, mono), mono + TICK_SLACK);
}

/// What the fake host was asked to do, in order.
type HostLog = Arc<Mutex<Vec<String>>>;

/// A terminal and process driven by the test: events and stop signals come from channels the
/// test holds, the editor answers when the test says, and every request is logged.
struct FakeHost {
    events: Arc<tokio::sync::Mutex<UnboundedReceiver<io::Result<Event>>>>,
    stops: Option<UnboundedReceiver<Stop>>,
    edits: Arc<tokio::sync::Mutex<UnboundedReceiver<Result<String, String>>>>,
    log: HostLog,
}

impl FakeHost {
    fn note(&self, what: impl Into<String>) {
        self.log.lock().unwrap().push(what.into());
    }
}

impl Host for FakeHost {
    fn events(&mut self) -> BoxStream<'static, io::Result<Event>> {
        self.note("events");
        let events = self.events.clone();
        futures::stream::unfold(events, |events| async move {
            let event = events.lock().await.recv().await?;
            Some((event, events))
        })
        .boxed()
    }

    fn stop_signals(&mut self) -> BoxStream<'static, Stop> {
        let mut stops = self.stops.take().expect("stop signals are asked for once");
        let log = self.log.clone();
        futures::stream::poll_fn(move |cx| {
            let polled = stops.poll_recv(cx);
            if let std::task::Poll::Ready(Some(stop)) = &polled {
                log.lock().unwrap().push(format!("stop {stop:?}"));
            }
            polled
        })
        .boxed()
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.note(format!("raw {}", String::from_utf8_lossy(bytes)));
        Ok(())
    }

    fn suspend(&mut self) -> io::Result<()> {
        self.note("suspend");
        Ok(())
    }

    fn resume(&mut self) -> io::Result<()> {
        self.note("resume");
        Ok(())
    }

    fn edit(&self, text: String) -> BoxFuture<'static, Result<String, String>> {
        self.note(format!("edit {text:?}"));
        let edits = self.edits.clone();
        async move {
            edits
                .lock()
                .await
                .recv()
                .await
                .unwrap_or_else(|| Err("the test ended".into()))
        }
        .boxed()
    }
}

/// The test's side of a [`FakeHost`].
struct Controls {
    events: UnboundedSender<io::Result<Event>>,
    stops: UnboundedSender<Stop>,
    edits: UnboundedSender<Result<String, String>>,
    log: HostLog,
}

impl Controls {
    fn key(&self, code: KeyCode) {
        self.key_with(code, KeyModifiers::NONE);
    }

    fn key_with(&self, code: KeyCode, modifiers: KeyModifiers) {
        let _ = self.events.send(Ok(Event::Key(KeyEvent::new(code, modifiers))));
    }

    fn logged(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until the host has been asked for `what`.
    async fn wait_for(&self, what: &str) {
        self.wait_for_nth(what, 1).await;
    }

    /// Waits (up to 10 s) until the host has been asked for `what` `n` times (a stop signal
    /// counts as asked for once the loop has taken it).
    async fn wait_for_nth(&self, what: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let count = || {
            self.logged()
                .iter()
                .filter(|entry| entry.starts_with(what))
                .count()
        };
        while count() < n {
            assert!(
                Instant::now() < deadline,
                "the host was asked {what} fewer than {n} times: {:?}",
                self.logged()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A runtime on an 100x30 TestBackend, against `server` as alice, journalling into `journal`.
fn runtime_on(
    server: &RunningServer,
    journal: &std::path::Path,
) -> (Runtime<TestBackend, FakeHost>, Controls) {
    let mut options = ClientOptions::new(
        server.base_url(),
        Credentials::new("alice", Token::new("alice-token".to_string())),
    );
    options.retries = 0;
    let client = Client::new(options).expect("client");
    let session = Session {
        base_url: server.base_url(),
        user_id: "alice".into(),
        ..session_named("test server", false)
    };
    let (events_in, events) = mpsc::unbounded_channel();
    let (stops_in, stops) = mpsc::unbounded_channel();
    let (edits_in, edits) = mpsc::unbounded_channel();
    let log = HostLog::default();
    let host = FakeHost {
        events: Arc::new(tokio::sync::Mutex::new(events)),
        stops: Some(stops),
        edits: Arc::new(tokio::sync::Mutex::new(edits)),
        log: log.clone(),
    };
    let (actions, results) = action_channel();
    // Beside the journal: each test's own directory.
    let sizes = effects::SizeReader::new(crate::size_cache::Place::in_dir(
        journal.parent().map(|dir| dir.join("sizes")),
        &server.base_url(),
        "alice",
    ));
    let journal = Journal::load(journal).expect("journal");
    let runtime = Runtime {
        terminal: Terminal::new(TestBackend::new(100, 30)).unwrap(),
        app: App::new(
            session,
            Vec::new(),
            Vec::new(),
            Utc::now(),
            ratatui::layout::Rect::new(0, 0, 100, 30),
        ),
        theme: Theme::new(ColorSupport::None),
        journal: JournalWriter::start(journal, server.base_url(), client.clone(), actions.clone()),
        client,
        keeping: crate::history::Keeping::Off,
        host,
        actions,
        results,
        switcher: None,
        who: crate::history::Who::here(None, server.base_url(), "alice".into(), "koobackup test".into()),
        sizes,
    };
    let controls = Controls {
        events: events_in,
        stops: stops_in,
        edits: edits_in,
        log,
    };
    (runtime, controls)
}

async fn server(dir: &tempfile::TempDir, faults: Faults) -> RunningServer {
    let mut config = ServerConfig::new(dir.path().join("koodrive.db"));
    config.users.push(UserCredential {
        user_id: "alice".into(),
        token: "alice-token".into(),
    });
    config.faults = faults;
    crate::server::start(config).await.expect("server")
}

#[tokio::test]
async fn a_lock_created_just_before_quitting_still_reaches_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let slow = Faults {
        latency: Duration::from_millis(400),
        ..Faults::default()
    };
    let server = server(&dir, slow).await;
    let journal = dir.path().join("journal.json");
    let (mut runtime, controls) = runtime_on(&server, &journal);
    controls.key(KeyCode::Char('n'));
    controls.key(KeyCode::Char('1'));
    // No live lock yet, so `q` quits at once, with the create still in flight.
    controls.key(KeyCode::Char('q'));
    let exit = runtime.run().await.expect("the loop runs");
    assert_eq!(exit, Exit::Quit);
    drop(runtime);

    let journal = Journal::load(&journal).unwrap();
    let held = journal.locks_for(&server.base_url(), "alice");
    assert_eq!(
        held.len(),
        1,
        "the lock answered during the quit grace is journalled"
    );
    assert_eq!(held[0].lock.module, ModuleCode::Folder);
}

#[tokio::test]
async fn the_editor_gets_the_terminal_and_gives_it_back_redrawn() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Faults::default()).await;
    let (mut runtime, controls) = runtime_on(&server, &dir.path().join("journal.json"));
    let script = async {
        controls.key(KeyCode::Char('R'));
        controls.key(KeyCode::Char('n'));
        controls.key_with(KeyCode::Char('e'), KeyModifiers::CONTROL);
        controls.wait_for("suspend").await;
        // Ctrl+C in the editor arrives as SIGINT: it is the editor's, not ours. (Once the loop
        // has taken it, the single-threaded test runtime runs the script only when the loop
        // waits again: the signal has been dealt with.)
        controls.stops.send(Stop::Interrupt).unwrap();
        controls.wait_for("stop Interrupt").await;
        controls
            .edits
            .send(Ok("{\"from\": \"the editor\"}\n".into()))
            .unwrap();
        // Back in the app (reading the terminal's events again), SIGINT ends it.
        controls.wait_for_nth("events", 2).await;
        controls.stops.send(Stop::Interrupt).unwrap();
    };
    let (exit, ()) = tokio::join!(runtime.run(), script);
    assert_eq!(exit.expect("the loop runs"), Exit::Signal);

    let log = controls.logged();
    let order: Vec<&str> = log.iter().map(|entry| entry.split(' ').next().unwrap()).collect();
    assert_eq!(
        order,
        ["events", "suspend", "edit", "stop", "resume", "events", "stop"],
        "{log:?}"
    );
    let Some(Dialog::Form(form)) = &runtime.app.records.dialog else {
        panic!("the form is still open")
    };
    assert_eq!(
        form.properties.value(),
        r#"{"from":"the editor"}"#,
        "the edited text, on one line"
    );
    let shown = runtime.terminal.backend().to_string();
    assert!(
        shown.contains(r#"{"from":"the editor"}"#),
        "redrawn after the editor:\n{shown}"
    );
}

#[tokio::test]
async fn the_end_of_input_and_sigterm_end_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Faults::default()).await;
    let (mut runtime, controls) = runtime_on(&server, &dir.path().join("journal.json"));
    drop(controls.events);
    assert_eq!(runtime.run().await.unwrap(), Exit::InputClosed);

    let (mut runtime, controls) = runtime_on(&server, &dir.path().join("journal.json"));
    controls.stops.send(Stop::Terminate).unwrap();
    assert_eq!(runtime.run().await.unwrap(), Exit::Signal);
}

#[tokio::test]
async fn the_clock_is_ticked_at_least_once_a_second_while_nothing_else_happens() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Faults::default()).await;
    let (mut runtime, controls) = runtime_on(&server, &dir.path().join("journal.json"));
    let started = runtime.app.now;
    let script = async {
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        controls.stops.send(Stop::Terminate).unwrap();
    };
    let (exit, ()) = tokio::join!(runtime.run(), script);
    assert_eq!(exit.unwrap(), Exit::Signal);
    let advanced = runtime.app.now - started;
    assert!(
        advanced >= chrono::Duration::milliseconds(1_000),
        "no tick in 2.5 s: the app's clock moved {advanced}"
    );
}

#[tokio::test]
async fn copying_a_lock_id_writes_osc_52_past_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Faults::default()).await;
    let (mut runtime, controls) = runtime_on(&server, &dir.path().join("journal.json"));
    let script = async {
        controls.key(KeyCode::Char('n'));
        controls.key(KeyCode::Char('2'));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            controls.key(KeyCode::Char('y'));
            tokio::time::sleep(Duration::from_millis(50)).await;
            if controls.logged().iter().any(|e| e.starts_with("raw")) || Instant::now() > deadline {
                break;
            }
        }
        controls.stops.send(Stop::Terminate).unwrap();
    };
    let (exit, ()) = tokio::join!(runtime.run(), script);
    assert_eq!(exit.unwrap(), Exit::Signal);
    let lock_id = runtime.app.locks.entries()[0].id().to_string();
    let raw = controls
        .logged()
        .into_iter()
        .find(|e| e.starts_with("raw"))
        .expect("OSC 52 written");
    assert_eq!(raw, format!("raw {}", clipboard::osc52(&lock_id)));
}

/// Alice's device on `server` with, in folder backup, `completed` completed records and one
/// still `new`, each with one file of 1000 bytes.
async fn fleet(server: &RunningServer, completed: usize) {
    use crate::api::client::NewRecord;
    use crate::api::model::{BindDeviceRequest, NewBackupFile};
    let client = Client::new(ClientOptions::new(
        server.base_url(),
        Credentials::new("alice", Token::new("alice-token".to_string())),
    ))
    .unwrap();
    let device = client
        .bind_device(&BindDeviceRequest {
            machine_code: "PIXEL_7".into(),
            device_name: Some("Pixel 7".into()),
            device_os: None,
        })
        .await
        .unwrap();
    let lock = client.create_lock(ModuleCode::Folder).await.unwrap();
    for n in 0..=completed {
        let new = NewRecord {
            module: ModuleCode::Folder,
            device_id: device.device_id.clone(),
            properties: None,
        };
        let record = client.create_record(&lock.lock_id, &new).await.unwrap();
        let file = NewBackupFile {
            file_name: "backup.tar".into(),
            length: Some(1000),
            ..NewBackupFile::default()
        };
        client
            .create_file(&lock.lock_id, &record.record_id, &file)
            .await
            .unwrap();
        if n < completed {
            client
                .complete_record(&lock.lock_id, &record.record_id, None)
                .await
                .unwrap();
        }
    }
    client.release_lock(&lock.lock_id).await.unwrap();
}

/// Starts the app on `server` (its size cache beside `journal`), shows the Devices view and
/// runs the loop's actions until every figure is in; returns the app and how many requests
/// the server saw meanwhile.
async fn devices_start(server: &RunningServer, journal: &std::path::Path) -> (App, u64) {
    let before = server.stats().requests;
    let (mut runtime, _controls) = runtime_on(server, journal);
    runtime
        .apply(Action::Key(KeyEvent::new(
            KeyCode::Char('D'),
            KeyModifiers::SHIFT,
        )))
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !runtime.app.devices.is_complete() {
        let action = tokio::time::timeout_at(deadline, runtime.results.recv())
            .await
            .expect("every figure comes within 10 s")
            .expect("the loop's channel is open");
        runtime.apply(action).unwrap();
    }
    // The reading's own last write of the cache is made before anything looks at the cache.
    runtime.sizes.finished().await;
    (runtime.app, server.stats().requests - before)
}

/// The sizes the cache beside `journal` holds for `server`, once it holds `n` (polled: the
/// reading writes it after its last sizes went to the app).
async fn cached_sizes(server: &RunningServer, journal: &std::path::Path, n: usize) {
    let place = crate::size_cache::Place::in_dir(
        journal.parent().map(|dir| dir.join("sizes")),
        &server.base_url(),
        "alice",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while place.open().len() != n {
        assert!(Instant::now() < deadline, "the cache never held {n} sizes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_second_start_takes_finished_records_sizes_from_the_cache_and_a_damaged_cache_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Faults::default()).await;
    fleet(&server, 3).await;
    let journal = dir.path().join("journal.json");
    // The devices, one page of records per module, and a file list per record (four).
    let listing = 1 + 3;

    let (app, requests) = devices_start(&server, &journal).await;
    assert_eq!(requests, listing + 4, "a first start lists every record's files");
    assert!(
        app.devices
            .sizes()
            .values()
            .all(|s| *s == RecordSize::Known(1000))
    );
    cached_sizes(&server, &journal, 3).await;

    let (app, requests) = devices_start(&server, &journal).await;
    assert_eq!(
        requests,
        listing + 1,
        "a second start lists the files of the new record alone"
    );
    assert_eq!(app.devices.sizes().len(), 4);
    assert!(
        app.devices
            .sizes()
            .values()
            .all(|s| *s == RecordSize::Known(1000))
    );
    let screen = crate::tui::test_support::screen_of(&app, 110, 30);
    assert!(
        screen.contains("100 folder") && screen.contains("3.9 KiB"),
        "{screen}"
    );

    // A damaged cache is not trusted: every size is read again, and the cache written anew.
    let sizes = dir.path().join("sizes");
    let files: Vec<_> = std::fs::read_dir(&sizes)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one cache file for the server and user");
    std::fs::write(
        &files[0],
        b"{\"format\":\"koobackup-sizes-1\",\"records\":{\"1\":",
    )
    .unwrap();
    let (app, requests) = devices_start(&server, &journal).await;
    assert_eq!(requests, listing + 4);
    assert!(
        app.devices
            .sizes()
            .values()
            .all(|s| *s == RecordSize::Known(1000))
    );
    cached_sizes(&server, &journal, 3).await;
}

#[tokio::test]
async fn sizes_read_before_quitting_are_in_the_cache_when_the_app_ends() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Faults::default()).await;
    fleet(&server, 40).await;
    // From now on every answer takes 2 s: the app quits with file lists under way, long before
    // the reading's own next write of the cache (every 5 s, and at its end).
    server.set_faults(Faults {
        latency: Duration::from_secs(2),
        ..Faults::default()
    });
    let journal = dir.path().join("journal.json");
    let (mut runtime, _controls) = runtime_on(&server, &journal);
    runtime
        .apply(Action::Key(KeyEvent::new(
            KeyCode::Char('D'),
            KeyModifiers::SHIFT,
        )))
        .unwrap();
    let known = |app: &App| {
        app.devices
            .sizes()
            .values()
            .filter(|size| matches!(size, RecordSize::Known(_)))
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while known(&runtime.app) == 0 {
        let action = tokio::time::timeout_at(deadline, runtime.results.recv())
            .await
            .expect("the first sizes come within 20 s")
            .expect("the loop's channel is open");
        runtime.apply(action).unwrap();
    }
    let shown = known(&runtime.app);
    assert!(shown < 41, "the reading is still under way");
    runtime.finish_calls_in_flight().await;
    let place = crate::size_cache::Place::in_dir(Some(dir.path().join("sizes")), &server.base_url(), "alice");
    let cached = place.open().len();
    // Each size shown is cached, but the `new` record's (files may still be added to it).
    assert!(
        cached >= shown - 1,
        "{shown} sizes were shown, {cached} are in the cache when the app ends"
    );
}
