//! Clock skew: the server rejects an X-Date later than its own clock. The client measures the
//! server clock from every `Date` header, stamps later requests from that estimate, and retries
//! a clock rejection once. Tested against the real server with its clock set ahead and behind.

use std::time::Duration;

use crate::support::{ALICE, TestServer, spawn_server, spawn_server_with};
use chrono::Utc;
use koobackup::api::client::{NewRecord, RecordQuery};
use koobackup::api::error::ErrorKind;
use koobackup::api::{Client, ModuleCode};
use koobackup::server::Faults;

/// Alice's client, without transient retries: a success below can only come from the clock
/// correction.
fn client_as(server: &TestServer) -> Client {
    server.client_with(ALICE, |options| options.retries = 0)
}

fn skewed(offset: chrono::Duration) -> Faults {
    Faults {
        clock_offset: offset,
        ..Faults::default()
    }
}

/// The estimate may lag the truth by the Date header's one-second resolution plus the time the
/// answer travelled, never lead it by more than rounding.
#[track_caller]
fn assert_offset_close(client: &Client, expected: chrono::Duration) {
    let measured = client.clock_offset();
    let error = measured - expected;
    assert!(
        error <= chrono::Duration::milliseconds(100) && error >= chrono::Duration::seconds(-3),
        "measured {measured}, server offset {expected}"
    );
}

/// Every endpoint once, each of which must succeed, starting with a create (never retried for
/// transient failures, so only the clock retry can rescue it).
async fn every_endpoint_succeeds(client: &Client) {
    let lock = client.create_lock(ModuleCode::AddressBook).await.unwrap();
    let left = lock.time_left(Utc::now());
    assert!(
        left > chrono::Duration::minutes(9) && left <= chrono::Duration::minutes(10),
        "time left {left} must follow the local clock, whatever the server's says"
    );
    let record = client
        .create_record(
            &lock.lock_id,
            &NewRecord {
                module: ModuleCode::AddressBook,
                device_id: "phone".into(),
                properties: Some("{}".into()),
            },
        )
        .await
        .unwrap();
    let query = RecordQuery {
        module: ModuleCode::AddressBook,
        page_size: 10,
        device_id: None,
    };
    assert_eq!(client.list_records(&query, None).await.unwrap().items.len(), 1);
    client.get_record(&record.record_id).await.unwrap();
    client.list_files(&record.record_id, 10, None).await.unwrap();
    client
        .complete_record(&lock.lock_id, &record.record_id, None)
        .await
        .unwrap();
    client
        .delete_record(&lock.lock_id, &record.record_id)
        .await
        .unwrap();
    client.renew_lock(&lock).await.unwrap();
    client.release_lock(&lock.lock_id).await.unwrap();
}

#[tokio::test]
async fn a_server_clock_five_minutes_ahead_is_measured_and_followed() {
    let offset = chrono::Duration::minutes(5);
    let server = spawn_server_with(|config| config.faults = skewed(offset)).await;
    let client = client_as(&server);
    assert_eq!(client.clock_offset(), chrono::Duration::zero());
    every_endpoint_succeeds(&client).await;
    assert_offset_close(&client, offset);
}

#[tokio::test]
async fn a_server_clock_five_minutes_behind_is_measured_and_the_first_call_retried() {
    let offset = chrono::Duration::minutes(-5);
    let server = spawn_server_with(|config| config.faults = skewed(offset)).await;
    let client = client_as(&server);
    // The very first call is a create stamped with the local clock, five minutes in the
    // server's future: rejected, then retried once with the measured offset.
    every_endpoint_succeeds(&client).await;
    assert_offset_close(&client, offset);
}

#[tokio::test]
async fn a_server_clock_that_jumps_back_mid_session_is_followed() {
    let server = spawn_server().await;
    let client = client_as(&server);
    every_endpoint_succeeds(&client).await;
    assert_offset_close(&client, chrono::Duration::zero());

    for minutes in [-5, -12, 4, -1] {
        let offset = chrono::Duration::minutes(minutes);
        server.server.set_faults(skewed(offset));
        every_endpoint_succeeds(&client).await;
        assert_offset_close(&client, offset);
    }
}

#[tokio::test]
async fn clones_share_the_clock_estimate() {
    let offset = chrono::Duration::minutes(-7);
    let server = spawn_server_with(|config| config.faults = skewed(offset)).await;
    let client = client_as(&server);
    let clone = client.clone();
    client.get_record("1").await.unwrap_err();
    assert_offset_close(&clone, offset);
}

#[tokio::test]
async fn a_clock_that_keeps_jumping_back_defeats_the_one_retry_with_a_clear_message() {
    // Each request waits 400 ms in the server before its X-Date is checked, and meanwhile the
    // server clock drops a minute every 20 ms: the stamp measured from the previous answer is
    // always in the server's future by the time it is checked.
    let server = spawn_server_with(|config| {
        config.faults = Faults {
            latency: Duration::from_millis(400),
            ..Faults::default()
        }
    })
    .await;
    let server = std::sync::Arc::new(server);
    let clock = {
        let server = server.clone();
        tokio::spawn(async move {
            for step in 1..=200 {
                server.server.set_faults(Faults {
                    latency: Duration::from_millis(400),
                    clock_offset: chrono::Duration::minutes(-step),
                    ..Faults::default()
                });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let client = client_as(&server);
    let error = client.create_lock(ModuleCode::Folder).await.unwrap_err();
    clock.abort();
    assert_eq!(error.code(), Some(401002), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(
        error.to_string().contains("check this machine's clock"),
        "{error}"
    );
}
