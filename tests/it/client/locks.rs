//! Lock calls of the client against the real local server: create, renew, release, the derived
//! expiry, and one winner among concurrent creates.

use std::time::Duration;

use crate::support::{ALICE, BOB, spawn_server, spawn_server_with};
use chrono::Utc;
use koobackup::api::error::ErrorKind;
use koobackup::api::{ApiError, Client, LockInfo, ModuleCode};
use koobackup::server::Faults;

/// A client for `user` that knows the server's lock lifetime.
fn ttl(client: &Client) -> chrono::Duration {
    chrono::Duration::from_std(client.lock_ttl()).unwrap()
}

/// Runs `call` and asserts the expiry it reports lies between (start + ttl) and (end + ttl):
/// counted from when the request was sent, never from a later moment.
async fn expect_fresh_expiry(
    client: &Client,
    call: impl std::future::Future<Output = Result<LockInfo, ApiError>>,
) -> LockInfo {
    let before = Utc::now();
    let lock = call.await.unwrap();
    let after = Utc::now();
    assert!(
        lock.expires_at >= before + ttl(client) && lock.expires_at <= after + ttl(client),
        "expiry {} not within [{before}, {after}] + ttl",
        lock.expires_at
    );
    lock
}

#[tokio::test]
async fn create_renew_release_round_trip() {
    let server = spawn_server().await;
    let client = server.client(ALICE);

    let lock = expect_fresh_expiry(&client, client.create_lock(ModuleCode::AddressBook)).await;
    assert_eq!(lock.module, ModuleCode::AddressBook);
    assert!(lock.lock_id.ends_with("@102"), "{}", lock.lock_id);
    assert_eq!(
        LockInfo::module_of_id(&lock.lock_id),
        Some(ModuleCode::AddressBook)
    );
    let left = lock.time_left(Utc::now());
    assert!(left > chrono::Duration::minutes(9) && left <= chrono::Duration::minutes(10));

    // Renewing a live lock moves the expiry forward to (send time + ttl).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let renewed = expect_fresh_expiry(&client, client.renew_lock(&lock)).await;
    assert!(renewed.expires_at > lock.expires_at + chrono::Duration::seconds(1));
    assert_eq!(renewed.lock_id, lock.lock_id);
    assert_eq!(renewed.module, lock.module);

    client.release_lock(&lock.lock_id).await.unwrap();

    // Released: the id is gone, and the module is free again.
    for error in [
        client.renew_lock(&lock).await.unwrap_err(),
        client.release_lock(&lock.lock_id).await.unwrap_err(),
    ] {
        assert_eq!(error.code(), Some(404002), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert!(error.to_string().contains("create a new one"), "{error}");
    }
    let again = client.create_lock(ModuleCode::AddressBook).await.unwrap();
    assert_ne!(again.lock_id, lock.lock_id);
}

#[tokio::test]
async fn expiry_counts_from_when_the_request_was_sent_not_when_the_answer_came() {
    let latency = Duration::from_millis(800);
    let server = spawn_server_with(|config| {
        config.faults = Faults {
            latency,
            ..Faults::default()
        }
    })
    .await;
    let client = server.client(ALICE);
    // Less than the latency, so an expiry counted from the answer would not fit.
    let slack = chrono::Duration::milliseconds(500);

    let before = Utc::now();
    let lock = client.create_lock(ModuleCode::Folder).await.unwrap();
    assert!(Utc::now() - before >= chrono::Duration::from_std(latency).unwrap());
    assert!(
        lock.expires_at >= before + ttl(&client) && lock.expires_at <= before + ttl(&client) + slack,
        "expiry {} is not counted from the send time {before}",
        lock.expires_at
    );

    let before = Utc::now();
    let renewed = client.renew_lock(&lock).await.unwrap();
    assert!(
        renewed.expires_at >= before + ttl(&client) && renewed.expires_at <= before + ttl(&client) + slack
    );
}

#[tokio::test]
async fn locks_are_per_user_and_module() {
    let server = spawn_server().await;
    let alice = server.client(ALICE);
    let bob = server.client(BOB);
    let mut ids = Vec::new();
    for module in ModuleCode::ALL {
        ids.push(alice.create_lock(module).await.unwrap().lock_id);
        ids.push(bob.create_lock(module).await.unwrap().lock_id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);

    let second = alice.create_lock(ModuleCode::Album).await.unwrap_err();
    assert_eq!(second.code(), Some(409001));
    assert_eq!(second.kind(), ErrorKind::Conflict);
    assert!(second.to_string().contains("release it or wait"), "{second}");
}

#[tokio::test]
async fn fifty_concurrent_creates_have_exactly_one_winner() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let attempts = (0..50).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.create_lock(ModuleCode::Folder).await })
    });
    let results: Vec<Result<LockInfo, ApiError>> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();

    let winners: Vec<&LockInfo> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(error, ApiError::Api { status: 409, .. }) && error.code() == Some(409001),
            "{error:?}"
        );
    }
    // The winner's lock is the live one: it can be renewed and released.
    let winner = winners[0];
    client.renew_lock(winner).await.unwrap();
    client.release_lock(&winner.lock_id).await.unwrap();
}

#[tokio::test]
async fn an_expired_lock_renews_from_its_expiry_until_that_is_past_too() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let lock = client.create_lock(ModuleCode::Album).await.unwrap();

    // Eleven minutes later on both clocks (the server's moved by a fault, ours by ageing the
    // lock's record): expired a minute ago, but expiry + ttl is still ahead, so the renewal
    // counts from the old expiry. No sleeping: a loaded machine cannot change the outcome.
    server.at_minute(11);
    let aged = LockInfo {
        expires_at: lock.expires_at - chrono::Duration::minutes(11),
        ..lock.clone()
    };
    assert!(aged.is_expired(Utc::now()));
    let renewed = client.renew_lock(&aged).await.unwrap();
    assert_eq!(renewed.expires_at, aged.expires_at + ttl(&client));
    assert!(!renewed.is_expired(Utc::now()));

    // Expired for longer than a ttl (renewed until 20, 20 + 10 is before 40): too late to renew.
    server.at_minute(40);
    let error = client.renew_lock(&renewed).await.unwrap_err();
    assert_eq!(error.code(), Some(409002), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(
        error.to_string().contains("renew it or create a new one"),
        "{error}"
    );

    // An expired lock does not block a new one, and a new one replaces it.
    let fresh = client.create_lock(ModuleCode::Album).await.unwrap();
    assert_ne!(fresh.lock_id, lock.lock_id);
    let replaced = client.release_lock(&lock.lock_id).await.unwrap_err();
    assert_eq!(replaced.code(), Some(404002));
}

#[tokio::test]
async fn another_users_lock_cannot_be_renewed_or_released() {
    let server = spawn_server().await;
    let alice = server.client(ALICE);
    let bob = server.client(BOB);
    let lock = alice.create_lock(ModuleCode::Folder).await.unwrap();
    for error in [
        bob.renew_lock(&lock).await.unwrap_err(),
        bob.release_lock(&lock.lock_id).await.unwrap_err(),
    ] {
        assert_eq!(error.code(), Some(403001), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::Auth);
    }
    alice.release_lock(&lock.lock_id).await.unwrap();
}
