//! Every error code of the server's table, provoked through the client against the real local
//! server: each must surface as `ApiError::Api` with the server's code and message, the right
//! kind, an actionable hint, and never the token.

use std::time::Duration;

use crate::support::{ALICE, BOB, spawn_server, spawn_server_with};
use koobackup::api::client::{NewRecord, RecordQuery};
use koobackup::api::error::ErrorKind;
use koobackup::api::{ApiError, BackupRecord, Client, LockInfo, ModuleCode};
use koobackup::server::Faults;

/// Asserts `result` failed with exactly this HTTP status and code, that the message shows the
/// server's text and the code, and that no token leaks into it.
#[track_caller]
fn expect_api<T: std::fmt::Debug>(
    result: Result<T, ApiError>,
    status: u16,
    code: i64,
    kind: ErrorKind,
) -> ApiError {
    let error = result.expect_err("the call should fail");
    match &error {
        ApiError::Api {
            status: got_status,
            code: got_code,
            msg,
        } => {
            assert_eq!(
                (*got_status, got_code.as_str()),
                (status, code.to_string().as_str()),
                "{error:?}"
            );
            assert!(!msg.trim().is_empty(), "empty server message: {error:?}");
            let text = error.to_string();
            assert!(text.starts_with(msg.as_str()), "{text}");
            assert!(text.contains(&format!("(code {code})")), "{text}");
        }
        other => panic!("expected an API error {code}, got {other:?}"),
    }
    assert_eq!(error.kind(), kind, "{error:?}");
    for (_, token) in [ALICE, BOB] {
        assert!(!error.to_string().contains(token) && !format!("{error:?}").contains(token));
    }
    error
}

fn folder_record(device: &str) -> NewRecord {
    NewRecord {
        module: ModuleCode::Folder,
        device_id: device.into(),
        properties: None,
    }
}

/// A lock and a record of alice in the folder module.
async fn alice_record(client: &Client) -> (LockInfo, BackupRecord) {
    let lock = client.create_lock(ModuleCode::Folder).await.unwrap();
    let record = client
        .create_record(&lock.lock_id, &folder_record("srv"))
        .await
        .unwrap();
    (lock, record)
}

#[tokio::test]
async fn invalid_requests_are_400001() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let (lock, record) = alice_record(&client).await;
    let list = |page_size| RecordQuery {
        module: ModuleCode::Folder,
        page_size,
        device_id: None,
    };

    expect_api(
        client.list_records(&list(0), None).await,
        400,
        400001,
        ErrorKind::Invalid,
    );
    let error = expect_api(
        client.list_records(&list(101), None).await,
        400,
        400001,
        ErrorKind::Invalid,
    );
    assert!(error.to_string().contains("pageSize"), "{error}");
    let long_cursor = "A".repeat(1001);
    expect_api(
        client.list_records(&list(10), Some(&long_cursor)).await,
        400,
        400001,
        ErrorKind::Invalid,
    );
    expect_api(
        client.list_records(&list(10), Some("not-a-cursor")).await,
        400,
        400001,
        ErrorKind::Invalid,
    );
    expect_api(
        client.list_files(&record.record_id, 0, None).await,
        400,
        400001,
        ErrorKind::Invalid,
    );

    let not_json = NewRecord {
        properties: Some("{unquoted: 1}".into()),
        ..folder_record("srv")
    };
    let error = expect_api(
        client.create_record(&lock.lock_id, &not_json).await,
        400,
        400001,
        ErrorKind::Invalid,
    );
    assert!(error.to_string().contains("properties"), "{error}");
    expect_api(
        client
            .complete_record(&lock.lock_id, &record.record_id, Some("nope".into()))
            .await,
        400,
        400001,
        ErrorKind::Invalid,
    );
    expect_api(
        client.create_record(&lock.lock_id, &folder_record("  ")).await,
        400,
        400001,
        ErrorKind::Invalid,
    );
    // Nothing changed.
    let unchanged = client.get_record(&record.record_id).await.unwrap();
    assert_eq!(unchanged, record);
}

#[tokio::test]
async fn a_wrong_token_or_user_is_401001_and_the_token_never_shows() {
    let server = spawn_server().await;
    for (user, token) in [("alice", "bob-token"), ("mallory", "alice-token"), ("alice", "")] {
        let client = server.client((user, token));
        let error = expect_api(
            client.create_lock(ModuleCode::Folder).await,
            401,
            401001,
            ErrorKind::Auth,
        );
        assert!(error.to_string().contains("access token"), "{error}");
        let error = expect_api(client.get_record("1").await, 401, 401001, ErrorKind::Auth);
        assert!(token.is_empty() || !error.to_string().contains(token));
    }
}

#[tokio::test]
async fn another_users_lock_or_record_is_403001() {
    let server = spawn_server().await;
    let alice = server.client(ALICE);
    let bob = server.client(BOB);
    let (alice_lock, record) = alice_record(&alice).await;
    let bob_lock = bob.create_lock(ModuleCode::Folder).await.unwrap();

    expect_api(
        bob.get_record(&record.record_id).await,
        403,
        403001,
        ErrorKind::Auth,
    );
    expect_api(
        bob.list_files(&record.record_id, 10, None).await,
        403,
        403001,
        ErrorKind::Auth,
    );
    expect_api(
        bob.complete_record(&bob_lock.lock_id, &record.record_id, None)
            .await,
        403,
        403001,
        ErrorKind::Auth,
    );
    expect_api(
        bob.delete_record(&bob_lock.lock_id, &record.record_id).await,
        403,
        403001,
        ErrorKind::Auth,
    );
    expect_api(
        bob.create_record(&alice_lock.lock_id, &folder_record("x")).await,
        403,
        403001,
        ErrorKind::Auth,
    );
    let error = expect_api(
        bob.release_lock(&alice_lock.lock_id).await,
        403,
        403001,
        ErrorKind::Auth,
    );
    assert!(error.to_string().contains("another user"), "{error}");
    // The record is untouched.
    assert_eq!(alice.get_record(&record.record_id).await.unwrap(), record);
}

#[tokio::test]
async fn missing_records_and_locks_are_404001_and_404002() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let (lock, record) = alice_record(&client).await;

    for missing in ["1", "999999999999999999", "not-a-number", "../lock"] {
        let error = expect_api(client.get_record(missing).await, 404, 404001, ErrorKind::NotFound);
        assert!(error.to_string().contains("may have been deleted"), "{error}");
    }
    expect_api(
        client.complete_record(&lock.lock_id, "1", None).await,
        404,
        404001,
        ErrorKind::NotFound,
    );

    let unknown = LockInfo {
        lock_id: "00000000-0000-4000-8000-000000000000@100".into(),
        ..lock.clone()
    };
    expect_api(
        client.renew_lock(&unknown).await,
        404,
        404002,
        ErrorKind::NotFound,
    );
    expect_api(
        client.release_lock(&unknown.lock_id).await,
        404,
        404002,
        ErrorKind::NotFound,
    );
    expect_api(
        client
            .create_record(&unknown.lock_id, &folder_record("srv"))
            .await,
        404,
        404002,
        ErrorKind::NotFound,
    );
    expect_api(
        client.delete_record(&unknown.lock_id, &record.record_id).await,
        404,
        404002,
        ErrorKind::NotFound,
    );
}

#[tokio::test]
async fn lock_conflicts_are_409001_409002_and_409003() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let (folder_lock, record) = alice_record(&client).await;

    expect_api(
        client.create_lock(ModuleCode::Folder).await,
        409,
        409001,
        ErrorKind::Conflict,
    );

    let album_lock = client.create_lock(ModuleCode::Album).await.unwrap();
    let error = expect_api(
        client
            .complete_record(&album_lock.lock_id, &record.record_id, None)
            .await,
        409,
        409003,
        ErrorKind::Conflict,
    );
    assert!(
        error.to_string().contains("the record is in module 100"),
        "{error}"
    );
    expect_api(
        client
            .create_record(&album_lock.lock_id, &folder_record("srv"))
            .await,
        409,
        409003,
        ErrorKind::Conflict,
    );
    expect_api(
        client.delete_record(&album_lock.lock_id, &record.record_id).await,
        409,
        409003,
        ErrorKind::Conflict,
    );

    // Eleven minutes later on the server's clock: past the lock's ten, no sleep needed.
    server.at_minute(11);
    assert!(folder_lock.is_expired(server.server.clock()));
    for result in [
        client
            .complete_record(&folder_lock.lock_id, &record.record_id, None)
            .await,
        client
            .delete_record(&folder_lock.lock_id, &record.record_id)
            .await
            .map(drop),
        client
            .create_record(&folder_lock.lock_id, &folder_record("srv"))
            .await
            .map(drop),
    ] {
        let error = expect_api(result, 409, 409002, ErrorKind::Conflict);
        assert!(error.to_string().contains("renew it"), "{error}");
    }
    assert_eq!(client.get_record(&record.record_id).await.unwrap(), record);
}

#[tokio::test]
async fn rate_limiting_is_429001_and_is_retried_after_the_wait_the_server_asks_for() {
    let server = spawn_server_with(|config| {
        config.faults = Faults {
            rate_limit_per_sec: Some(1),
            ..Faults::default()
        };
    })
    .await;
    // Without retries the refusal shows, as the table has it: 429 / 429001.
    let impatient = server.client_with(ALICE, |o| o.retries = 0);
    let mut limited = Vec::new();
    for _ in 0..10 {
        if let Err(error) = impatient.get_record("1").await
            && error.code() == Some(429001)
        {
            limited.push(error);
        }
    }
    assert!(
        limited.len() >= 5,
        "only {} of 10 were rate limited",
        limited.len()
    );
    let error = expect_api(Err::<(), _>(limited.remove(0)), 429, 429001, ErrorKind::Server);
    assert!(error.to_string().contains("wait a moment"), "{error}");
    assert!(error.is_transient());

    // With retries a read waits the server's Retry-After (1 s) and then gets through: every
    // answer is the record's 404001, none a 429.
    let patient = server.client_with(ALICE, |o| o.retries = 2);
    let before = server.server.stats().rate_limited;
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let error = patient.get_record("1").await.unwrap_err();
        assert_eq!(error.code(), Some(404001), "{error}");
    }
    assert!(
        server.server.stats().rate_limited > before,
        "the limit never refused anything"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "got through the limit without waiting"
    );
}

#[tokio::test]
async fn an_internal_error_is_500001_after_the_retries() {
    let server = spawn_server().await;
    let client = server.client_with(ALICE, |o| o.retry_backoff = Duration::from_millis(5));
    let (lock, record) = alice_record(&client).await;
    server.server.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    expect_api(
        client.get_record(&record.record_id).await,
        500,
        500001,
        ErrorKind::Server,
    );
    let error = expect_api(
        client.create_lock(ModuleCode::Album).await,
        500,
        500001,
        ErrorKind::Server,
    );
    assert!(error.to_string().contains("try again later"), "{error}");
    expect_api(client.renew_lock(&lock).await, 500, 500001, ErrorKind::Server);
}
