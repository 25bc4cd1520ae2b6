//! Per-user isolation through the real client, on every endpoint: bob, with his own valid
//! credentials, gets 403 for each of alice's records and locks, sees none of her records even
//! when handed her cursors, and nothing of alice's changes — checked on the database rows
//! themselves. (tests/server_records.rs checks the same answers at the HTTP level.)

use std::path::Path;

use crate::support::{ALICE, BOB, insert_files, spawn_server};
use futures::TryStreamExt;
use koobackup::api::client::{NewRecord, RecordQuery};
use koobackup::api::{ApiError, Client, ClientOptions, Credentials, ModuleCode, Token};

fn client_for(base_url: &str, (user, token): (&str, &str)) -> Client {
    Client::new(ClientOptions::new(
        base_url,
        Credentials::new(user, Token::new(token)),
    ))
    .expect("client")
}

/// Every row that belongs to `user`, as text, table by table.
fn rows_of(db: &Path, user: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut rows = Vec::new();
    for query in [
        "SELECT lock_id || '|' || module || '|' || expires_at FROM locks WHERE user_id = ?1 ORDER BY 1",
        "SELECT device_id || '|' || machine_code || '|' || device_name FROM devices WHERE user_id = ?1 ORDER BY 1",
        "SELECT record_id || '|' || module || '|' || status || '|' || properties || '|' || version || '|' \
         || IFNULL(end_time, '') FROM records WHERE user_id = ?1 ORDER BY 1",
        "SELECT f.file_id || '|' || f.record_id || '|' || f.file_name FROM files f \
         JOIN records r ON r.record_id = f.record_id WHERE r.user_id = ?1 ORDER BY 1",
    ] {
        let mut stmt = conn.prepare(query).expect("prepare");
        let found = stmt
            .query_map([user], |r| r.get::<_, String>(0))
            .expect("query")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows");
        rows.extend(found);
    }
    rows
}

fn assert_forbidden<T: std::fmt::Debug>(what: &str, result: Result<T, ApiError>) {
    match result {
        Err(ref e @ ApiError::Api { status: 403, .. }) if e.code() == Some(403001) => {}
        other => panic!("{what}: expected 403 / 403001, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_records_and_locks_are_out_of_reach_on_every_endpoint() {
    let ts = spawn_server().await;
    let alice = client_for(&ts.base_url(), ALICE);
    let bob = client_for(&ts.base_url(), BOB);

    // Bob: his own lock on 100 (alice holding 100 does not stop him), and a record older than
    // all of alice's.
    let bobs_lock = bob.create_lock(ModuleCode::Folder).await.unwrap();
    let bob_record = |device: &str| NewRecord {
        module: ModuleCode::Folder,
        device_id: device.into(),
        properties: None,
    };
    let bobs_early_record = bob
        .create_record(&bobs_lock.lock_id, &bob_record("bob-tablet"))
        .await
        .unwrap();

    // Alice: locks on 100 and 102, five records in 100 with files.
    let alices_lock = alice.create_lock(ModuleCode::Folder).await.unwrap();
    alice.create_lock(ModuleCode::AddressBook).await.unwrap();
    let mut alices_records = Vec::new();
    for n in 0..5 {
        let record = NewRecord {
            module: ModuleCode::Folder,
            device_id: format!("alice-laptop-{n}"),
            properties: Some("{\"owner\":\"alice\"}".into()),
        };
        alices_records.push(alice.create_record(&alices_lock.lock_id, &record).await.unwrap());
    }
    let target = alices_records[2].record_id.clone();
    insert_files(&ts.db_path, &target, 4);
    let alices_page = alice
        .list_records(
            &RecordQuery {
                module: ModuleCode::Folder,
                page_size: 2,
                device_id: None,
            },
            None,
        )
        .await
        .unwrap();
    let alices_cursor = alices_page.next_cursor.expect("alice has more than one page");
    let alices_files_cursor = alice
        .list_files(&target, 2, None)
        .await
        .unwrap()
        .next_cursor
        .unwrap();

    // Bob's newest record, with files.
    let bobs_record = bob
        .create_record(&bobs_lock.lock_id, &bob_record("bob-phone"))
        .await
        .unwrap();
    insert_files(&ts.db_path, &bobs_record.record_id, 3);

    let before = rows_of(&ts.db_path, ALICE.0);

    // Every endpoint, with bob's lock and with alice's.
    assert_forbidden("view", bob.get_record(&target).await);
    assert_forbidden("files", bob.list_files(&target, 10, None).await);
    assert_forbidden(
        "files with alice's cursor",
        bob.list_files(&target, 10, Some(&alices_files_cursor)).await,
    );
    for lock in [&bobs_lock.lock_id, &alices_lock.lock_id] {
        assert_forbidden(
            "complete",
            bob.complete_record(lock, &target, Some("{\"x\":1}".into())).await,
        );
        assert_forbidden("delete", bob.delete_record(lock, &target).await);
    }
    let smuggled = NewRecord {
        module: ModuleCode::Folder,
        device_id: "alice-laptop-0".into(),
        properties: None,
    };
    assert_forbidden(
        "create under alice's lock",
        bob.create_record(&alices_lock.lock_id, &smuggled).await,
    );
    assert_forbidden("renew alice's lock", bob.renew_lock(&alices_lock).await);
    assert_forbidden(
        "release alice's lock",
        bob.release_lock(&alices_lock.lock_id).await,
    );

    // Listing shows bob only his own record, from the start or from alice's cursor.
    let query = RecordQuery {
        module: ModuleCode::Folder,
        page_size: 100,
        device_id: None,
    };
    let pages: Vec<_> = bob
        .record_pages(query.clone(), koobackup::api::DEFAULT_MAX_PAGES)
        .try_collect()
        .await
        .unwrap();
    let listed: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.items)
        .map(|r| r.record_id)
        .collect();
    assert_eq!(
        listed,
        [bobs_record.record_id.clone(), bobs_early_record.record_id.clone()],
        "newest first, his own only"
    );
    // Alice's cursor is only a position: from it bob sees his records older than it, nothing of
    // hers.
    let from_alices_cursor = bob.list_records(&query, Some(&alices_cursor)).await.unwrap();
    let ids: Vec<&str> = from_alices_cursor
        .items
        .iter()
        .map(|r| r.record_id.as_str())
        .collect();
    assert_eq!(ids, [bobs_early_record.record_id.as_str()]);
    let by_alices_device = bob
        .list_records(
            &RecordQuery {
                device_id: Some("alice-laptop-2".into()),
                ..query.clone()
            },
            None,
        )
        .await
        .unwrap();
    assert!(by_alices_device.items.is_empty());
    // Alice's files cursor on bob's own record pages through bob's files only.
    let bobs_files = bob
        .list_files(&bobs_record.record_id, 100, Some(&alices_files_cursor))
        .await
        .unwrap();
    let ids = |page: koobackup::api::Page<koobackup::api::BackupFile>| -> Vec<String> {
        page.items.into_iter().map(|f| f.file_id).collect()
    };
    let all_of_bobs = bob.list_files(&bobs_record.record_id, 100, None).await.unwrap();
    assert_eq!(all_of_bobs.items.len(), 3);
    // His files were added after alice's, so all of them lie past her cursor's position.
    assert_eq!(ids(bobs_files), ids(all_of_bobs));

    // Nothing of alice's changed, down to the database rows; her lock still works for her.
    assert_eq!(rows_of(&ts.db_path, ALICE.0), before);
    alice.renew_lock(&alices_lock).await.unwrap();
    alice
        .complete_record(&alices_lock.lock_id, &target, None)
        .await
        .unwrap();
    alice.delete_record(&alices_lock.lock_id, &target).await.unwrap();
    // And bob's attempts did not stop his own work either.
    bob.delete_record(&bobs_lock.lock_id, &bobs_record.record_id)
        .await
        .unwrap();
    bob.release_lock(&bobs_lock.lock_id).await.unwrap();
}

/// A valid token only works with its own user id, and user ids are exact.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_works_only_for_its_own_user() {
    let ts = spawn_server().await;
    let query = RecordQuery {
        module: ModuleCode::Album,
        page_size: 10,
        device_id: None,
    };
    for (user, token) in [
        ("bob", ALICE.1),
        ("ALICE", ALICE.1),
        ("alice", BOB.1),
        ("alice", "alice-tokenx"),
        ("alice", "ALICE-TOKEN"),
        ("mallory", "mallory-token"),
    ] {
        let client = client_for(&ts.base_url(), (user, token));
        match client.list_records(&query, None).await {
            Err(ref e @ ApiError::Api { status: 401, .. }) if e.code() == Some(401001) => {}
            other => panic!("{user} with a wrong token: {other:?}"),
        }
        match client.create_lock(ModuleCode::Album).await {
            Err(ref e @ ApiError::Api { status: 401, .. }) if e.code() == Some(401001) => {}
            other => panic!("{user} with a wrong token: {other:?}"),
        }
    }
    // No lock was created by any of them.
    client_for(&ts.base_url(), ALICE)
        .create_lock(ModuleCode::Album)
        .await
        .unwrap();
    client_for(&ts.base_url(), BOB)
        .create_lock(ModuleCode::Album)
        .await
        .unwrap();
}
