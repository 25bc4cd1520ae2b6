//! App-based authentication end to end: koobackup's client signs and the local server verifies
//! (the Python signer in `.ci/schemathesis_hooks.py`, written from the reference's text alone,
//! covers the other direction), for the client library, the CLI, `lock hold`, `config check`
//! and the TUI. The secret never reaches a screen, an argument or an error.

use std::time::Duration;

use koobackup::api::client::{NewRecord, RecordQuery};
use koobackup::api::error::ErrorKind;
use koobackup::api::{Client, ClientOptions, Credentials, ModuleCode, Token};
use koobackup::server::Faults;

use crate::support::cli::Cli;
use crate::support::pty::{Tui, wait_journal};
use crate::support::{APP, spawn_server, spawn_server_with};

/// A user id as the reference shows them: the app acts for its users.
const USER: &str = "1505084218764547200";

fn app_client(base_url: &str, secret: &str) -> Client {
    let mut options = ClientOptions::new(base_url, Credentials::app(USER, APP.0, Token::new(secret)));
    options.retries = 0;
    Client::new(options).expect("client")
}

#[tokio::test]
async fn every_call_signed_by_the_client_is_verified_by_the_server() {
    let server = spawn_server().await;
    let client = app_client(&server.base_url(), APP.1);
    let lock = client.create_lock(ModuleCode::AddressBook).await.unwrap();
    let record = NewRecord {
        module: ModuleCode::AddressBook,
        device_id: "Magic v3 / ü".into(),
        properties: Some(r#"{"contacts": 12}"#.into()),
    };
    let created = client.create_record(&lock.lock_id, &record).await.unwrap();
    let query = RecordQuery {
        module: ModuleCode::AddressBook,
        page_size: 1,
        device_id: Some("Magic v3 / ü".into()),
    };
    let page = client.list_records(&query, None).await.unwrap();
    assert_eq!(page.items[0].record_id, created.record_id);
    client.get_record(&created.record_id).await.unwrap();
    client
        .complete_record(&lock.lock_id, &created.record_id, Some(r#"{"done":true}"#.into()))
        .await
        .unwrap();
    client.list_files(&created.record_id, 10, None).await.unwrap();
    client.renew_lock(&lock).await.unwrap();
    client
        .delete_record(&lock.lock_id, &created.record_id)
        .await
        .unwrap();
    client.release_lock(&lock.lock_id).await.unwrap();
}

#[tokio::test]
async fn a_wrong_secret_is_an_authentication_failure_sent_once_and_never_shown() {
    let server = spawn_server().await;
    let client = app_client(&server.base_url(), "not-the-secret");
    let error = client.create_lock(ModuleCode::Folder).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
    assert_eq!(error.code(), Some(401001));
    assert!(!format!("{error} {error:?}").contains("not-the-secret"));
    assert_eq!(
        server.server.stats().requests,
        1,
        "an authentication failure is not retried"
    );
}

#[tokio::test]
async fn a_request_refused_for_its_clock_is_signed_again_with_the_corrected_time() {
    // The server's clock is 20 minutes behind: the first X-Date is "in the future".
    let server = spawn_server_with(|c| {
        c.faults = Faults {
            clock_offset: chrono::Duration::minutes(-20),
            ..Faults::default()
        }
    })
    .await;
    let client = app_client(&server.base_url(), APP.1);
    let lock = client
        .create_lock(ModuleCode::Album)
        .await
        .expect("retried with the server's time");
    client.release_lock(&lock.lock_id).await.unwrap();
    assert!(client.clock_offset() < chrono::Duration::minutes(-19));
}

/// The CLI as an app: secret from the environment or a file, never an argument.
fn cli_as_app(base_url: &str) -> Cli {
    Cli::isolated()
        .env("KOOBACKUP_BASE_URL", base_url)
        .env("KOOBACKUP_USER_ID", USER)
        .env("KOOBACKUP_APP_SECRET", APP.1)
}

fn assert_secret_absent(run: &crate::support::cli::Run) {
    assert!(
        !run.stdout.contains(APP.1) && !run.stderr.contains(APP.1),
        "{run:?}"
    );
}

#[tokio::test]
async fn the_cli_and_lock_hold_work_the_same_signed() {
    let server = spawn_server().await;
    let cli = cli_as_app(&server.base_url());
    let created = cli
        .run(&["--app-id", APP.0, "lock", "create", "-m", "101", "-q"])
        .await;
    assert_secret_absent(&created);
    let lock_id = created.ok().stdout_trimmed().to_string();
    let run = cli
        .run(&[
            "--app-id", APP.0, "record", "create", "-m", "101", "--device", "nas", "--lock", &lock_id,
        ])
        .await;
    assert_secret_absent(&run);
    run.ok();
    let listed = cli
        .run(&["--app-id", APP.0, "record", "list", "-m", "101", "--json"])
        .await;
    assert_eq!(listed.ok().json().as_array().unwrap().len(), 1);
    cli.run(&["--app-id", APP.0, "lock", "release", &lock_id])
        .await
        .ok();

    let hold = cli
        .run(&[
            "--app-id",
            APP.0,
            "lock",
            "hold",
            "-m",
            "100",
            "--",
            "sh",
            "-c",
            "test -n \"$KOOBACKUP_LOCK_ID\"",
        ])
        .await;
    assert_secret_absent(&hold);
    assert_eq!(hold.code, 0, "{hold:?}");
    assert!(cli.journal_ids().is_empty(), "released after the command");

    // The secret from a file works the same; the environment variable is not needed.
    let secret_file = cli.dir.path().join("app.secret");
    std::fs::write(&secret_file, format!("{}\n", APP.1)).unwrap();
    let from_file = cli
        .without("KOOBACKUP_APP_SECRET")
        .run(&[
            "--app-id",
            APP.0,
            "--app-secret-file",
            secret_file.to_str().unwrap(),
            "record",
            "list",
            "-m",
            "101",
        ])
        .await;
    from_file.ok();
}

#[tokio::test]
async fn config_check_names_the_scheme_and_what_was_refused() {
    let server = spawn_server().await;
    let good = cli_as_app(&server.base_url())
        .run(&["--app-id", APP.0, "config", "check"])
        .await;
    assert_secret_absent(&good);
    assert_eq!(good.code, 0, "{good:?}");
    assert!(
        good.stdout.contains("app signature") || good.stdout.contains("HMAC-SHA256"),
        "{}",
        good.stdout
    );
    let bad = cli_as_app(&server.base_url())
        .env("KOOBACKUP_APP_SECRET", "a-wrong-secret")
        .run(&["--app-id", APP.0, "config", "check"])
        .await;
    assert_eq!(bad.code, 3, "{bad:?}");
    let shown = format!("{}{}", bad.stdout, bad.stderr);
    assert!(
        shown.contains("secret, the app id or the user id is wrong"),
        "{shown}"
    );
    assert!(!shown.contains("a-wrong-secret"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_works_the_same_signed() {
    let server = spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start_as(
            &base_url,
            &dir_path,
            &["--user-id", USER, "--app-id", APP.0],
            &[("KOOBACKUP_APP_SECRET", APP.1)],
        );
        tui.wait_text("No locks held");
        tui.send("n");
        tui.send("3");
        tui.wait_text("09:5");
        wait_journal(&dir_path, 1);
        tui.send("d");
        tui.send("y");
        tui.wait_text("No locks held");
        wait_journal(&dir_path, 0);
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
        assert!(!tui.contents().contains(APP.1));
    })
    .await
    .unwrap();
}
