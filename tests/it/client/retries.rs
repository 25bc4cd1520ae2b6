//! Timeouts and retries against the real local server with injected latency and failures:
//! idempotent calls are retried with backoff, creates are never repeated.
//! Attempts are counted on the server, never timed from above: a loaded machine may be slow,
//! but it never sends a request more or fewer. (Per endpoint: `client::fake_servers`.)

use std::time::{Duration, Instant};

use crate::support::{ALICE, TestServer, spawn_server, spawn_server_with};
use koobackup::api::client::RecordQuery;
use koobackup::api::error::ErrorKind;
use koobackup::api::{ApiError, Client, ClientOptions, Credentials, ModuleCode, Token};
use koobackup::server::Faults;

fn client_with(server: &TestServer, configure: impl FnOnce(&mut ClientOptions)) -> Client {
    let (user, token) = ALICE;
    let mut options = ClientOptions::new(server.base_url(), Credentials::new(user, Token::new(token)));
    options.lock_ttl = server.config.lock_ttl;
    configure(&mut options);
    Client::new(options).unwrap()
}

fn failing(error_rate: f64) -> Faults {
    Faults {
        error_rate,
        ..Faults::default()
    }
}

fn folder_query() -> RecordQuery {
    RecordQuery {
        module: ModuleCode::Folder,
        page_size: 10,
        device_id: None,
    }
}

#[test]
fn the_default_timeout_is_ten_seconds() {
    let options = ClientOptions::new("http://127.0.0.1:1", Credentials::new("u", Token::new("t")));
    assert_eq!(options.timeout, Duration::from_secs(10));
}

/// Requests the server has received so far.
fn requests(server: &TestServer) -> u64 {
    server.server.stats().requests
}

#[tokio::test]
async fn a_slow_server_times_out_reads_are_retried_and_creates_are_not() {
    let server = spawn_server_with(|config| {
        config.faults = Faults {
            latency: Duration::from_secs(2),
            ..Faults::default()
        }
    })
    .await;
    let timeout = Duration::from_millis(300);
    let client = client_with(&server, |o| {
        o.timeout = timeout;
        o.retries = 2;
        o.retry_backoff = Duration::from_millis(500);
    });

    // Three attempts of 300 ms, with pauses drawn from the upper halves of 500 ms and 1 s.
    let before = requests(&server);
    let started = Instant::now();
    let error = client.list_records(&folder_query(), None).await.unwrap_err();
    assert_eq!(error, ApiError::Timeout { after: timeout });
    assert_eq!(error.kind(), ErrorKind::Network);
    assert!(error.to_string().contains("within 0.3 s"), "{error}");
    assert_eq!(requests(&server) - before, 3, "one attempt and two retries");
    assert!(
        started.elapsed() >= 3 * timeout + Duration::from_millis(250 + 500),
        "the retries did not wait: {:?}",
        started.elapsed()
    );

    // One attempt only for creates.
    for create in [true, false] {
        let before = requests(&server);
        let error = if create {
            client
                .create_lock(ModuleCode::Folder)
                .await
                .map(drop)
                .unwrap_err()
        } else {
            client
                .create_record(
                    "00000000-0000-4000-8000-000000000000@100",
                    &koobackup::api::client::NewRecord {
                        module: ModuleCode::Folder,
                        device_id: "srv".into(),
                        properties: None,
                    },
                )
                .await
                .map(drop)
                .unwrap_err()
        };
        assert_eq!(error, ApiError::Timeout { after: timeout });
        assert_eq!(requests(&server) - before, 1, "a create was sent again");
    }
}

#[tokio::test]
async fn a_failing_server_is_retried_for_reads_with_growing_backoff_but_not_for_creates() {
    let server = spawn_server_with(|config| config.faults = failing(1.0)).await;
    let client = client_with(&server, |o| {
        o.retries = 3;
        o.retry_backoff = Duration::from_millis(200);
    });

    let before = requests(&server);
    let started = Instant::now();
    let error = client.get_record("1").await.unwrap_err();
    assert_eq!(error.code(), Some(500001));
    assert_eq!(requests(&server) - before, 4, "one attempt and three retries");
    // Pauses from the upper halves of 200, 400 and 800 ms: at least 700 ms together.
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "the backoff did not grow: three retries took {:?}",
        started.elapsed()
    );

    let before = requests(&server);
    let error = client.create_lock(ModuleCode::Folder).await.unwrap_err();
    assert_eq!(error.code(), Some(500001));
    assert_eq!(requests(&server) - before, 1, "create_lock was retried");

    // The failed create left nothing behind: once the server recovers, the module is free.
    server.server.set_faults(Faults::default());
    client.create_lock(ModuleCode::Folder).await.unwrap();
}

#[tokio::test]
async fn a_read_succeeds_once_a_failing_server_recovers_during_the_retries() {
    let server = std::sync::Arc::new(spawn_server_with(|config| config.faults = failing(1.0)).await);
    let client = client_with(&server, |o| {
        o.retries = 6;
        o.retry_backoff = Duration::from_millis(100);
    });
    let recovery = {
        let server = server.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            server.server.set_faults(Faults::default());
        })
    };
    let started = Instant::now();
    let page = client.list_records(&folder_query(), None).await.unwrap();
    assert!(page.items.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "succeeded before the server recovered"
    );
    recovery.await.unwrap();
}

#[tokio::test]
async fn reads_ride_over_intermittent_failures() {
    let server = spawn_server().await;
    let client = client_with(&server, |o| {
        o.retries = 20;
        o.retry_backoff = Duration::from_millis(1);
    });
    let lock = client.create_lock(ModuleCode::Album).await.unwrap();
    server.server.set_faults(failing(0.5));
    // With half the answers failing, 21 attempts per call fail all together about once in two
    // million calls.
    for _ in 0..15 {
        client.list_records(&folder_query(), None).await.unwrap();
        client.renew_lock(&lock).await.unwrap();
    }
    // Without retries the same server fails often.
    let no_retries = client_with(&server, |o| o.retries = 0);
    let mut failures = 0;
    for _ in 0..30 {
        if no_retries.list_records(&folder_query(), None).await.is_err() {
            failures += 1;
        }
    }
    assert!(failures > 0, "the fault injection is not active");
}
