//! Record calls of the client against the real local server: create, view, list (one page and
//! every page), complete, delete, and a record's files.

use crate::support;
use std::collections::HashSet;

use crate::support::{ALICE, BOB, insert_files, spawn_server};
use chrono::Utc;
use futures::TryStreamExt;
use koobackup::api::client::{NewRecord, RecordQuery};
use koobackup::api::error::ErrorKind;
use koobackup::api::{BackupRecord, Client, ModuleCode, Page, RecordStatus};

fn new_record(module: ModuleCode, device: &str, properties: Option<&str>) -> NewRecord {
    NewRecord {
        module,
        device_id: device.into(),
        properties: properties.map(str::to_string),
    }
}

fn query(module: ModuleCode, page_size: u32, device: Option<&str>) -> RecordQuery {
    RecordQuery {
        module,
        page_size,
        device_id: device.map(str::to_string),
    }
}

/// Every record of `query`, walking all pages; also returns how many pages there were.
async fn all_records(client: &Client, query: RecordQuery) -> (Vec<BackupRecord>, usize) {
    let pages: Vec<Page<BackupRecord>> = client
        .record_pages(query, koobackup::api::DEFAULT_MAX_PAGES)
        .try_collect()
        .await
        .unwrap();
    let count = pages.len();
    (pages.into_iter().flat_map(|p| p.items).collect(), count)
}

#[tokio::test]
async fn a_record_goes_from_new_to_completed_to_deleted() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let lock = client.create_lock(ModuleCode::Album).await.unwrap();

    let before = Utc::now() - chrono::Duration::seconds(1);
    let created = client
        .create_record(
            &lock.lock_id,
            &new_record(ModuleCode::Album, "phone-1", Some(r#"{"photos":12}"#)),
        )
        .await
        .unwrap();
    assert!(created.record_id.parse::<u64>().is_ok(), "{}", created.record_id);
    assert_eq!(created.module_code, ModuleCode::Album);
    assert_eq!(created.status, RecordStatus::New);
    assert_eq!(created.version, 1);
    assert_eq!(created.properties, r#"{"photos":12}"#);
    assert_eq!(created.device_info.device_id, "phone-1");
    assert!(created.create_time >= before && created.create_time <= Utc::now());
    assert_eq!(created.end_time, None);

    assert_eq!(client.get_record(&created.record_id).await.unwrap(), created);
    let page = client
        .list_records(&query(ModuleCode::Album, 10, None), None)
        .await
        .unwrap();
    assert_eq!(page.items, vec![created.clone()]);
    assert_eq!(page.next_cursor, None);

    client
        .complete_record(&lock.lock_id, &created.record_id, Some(r#"{"photos":13}"#.into()))
        .await
        .unwrap();
    let completed = client.get_record(&created.record_id).await.unwrap();
    assert_eq!(completed.status, RecordStatus::Completed);
    assert_eq!(completed.version, 2);
    assert_eq!(completed.properties, r#"{"photos":13}"#);
    assert!(completed.end_time.is_some_and(|end| end >= completed.create_time));

    client
        .delete_record(&lock.lock_id, &created.record_id)
        .await
        .unwrap();
    let gone = client.get_record(&created.record_id).await.unwrap_err();
    assert_eq!(gone.code(), Some(404001), "{gone:?}");
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    let page = client
        .list_records(&query(ModuleCode::Album, 10, None), None)
        .await
        .unwrap();
    assert!(page.items.is_empty());
    client.release_lock(&lock.lock_id).await.unwrap();
}

#[tokio::test]
async fn completing_without_properties_keeps_them() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let lock = client.create_lock(ModuleCode::Folder).await.unwrap();
    let record = client
        .create_record(
            &lock.lock_id,
            &new_record(ModuleCode::Folder, "srv", Some("[1,2]")),
        )
        .await
        .unwrap();
    client
        .complete_record(&lock.lock_id, &record.record_id, None)
        .await
        .unwrap();
    let completed = client.get_record(&record.record_id).await.unwrap();
    assert_eq!(completed.status, RecordStatus::Completed);
    assert_eq!(completed.properties, "[1,2]");
}

#[tokio::test]
async fn paging_over_260_records_yields_each_exactly_once() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let lock = client.create_lock(ModuleCode::Folder).await.unwrap();
    let mut created = Vec::new();
    for n in 0..260 {
        let device = if n % 4 == 0 { "nas" } else { "laptop" };
        let record = client
            .create_record(&lock.lock_id, &new_record(ModuleCode::Folder, device, None))
            .await
            .unwrap();
        created.push(record.record_id);
    }
    // Noise that must not show up: another module, another user.
    let other_lock = client.create_lock(ModuleCode::Album).await.unwrap();
    client
        .create_record(&other_lock.lock_id, &new_record(ModuleCode::Album, "nas", None))
        .await
        .unwrap();
    let bob = server.client(BOB);
    let bob_lock = bob.create_lock(ModuleCode::Folder).await.unwrap();
    bob.create_record(&bob_lock.lock_id, &new_record(ModuleCode::Folder, "nas", None))
        .await
        .unwrap();

    let expected: HashSet<&String> = created.iter().collect();
    for (page_size, pages) in [(100, 3), (7, 38), (1, 260)] {
        let (records, page_count) = all_records(&client, query(ModuleCode::Folder, page_size, None)).await;
        assert_eq!(page_count, pages, "pages of size {page_size}");
        let ids: Vec<&String> = records.iter().map(|r| &r.record_id).collect();
        let unique: HashSet<&String> = ids.iter().copied().collect();
        assert_eq!(
            ids.len(),
            260,
            "page size {page_size}: a record was repeated or skipped"
        );
        assert_eq!(unique, expected, "page size {page_size}");
    }

    let (nas, _) = all_records(&client, query(ModuleCode::Folder, 30, Some("nas"))).await;
    assert_eq!(nas.len(), 65);
    assert!(nas.iter().all(|r| r.device_info.device_id == "nas"));

    // One page at a time, by hand, as the TUI does.
    let first = client
        .list_records(&query(ModuleCode::Folder, 100, None), None)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 100);
    let cursor = first.next_cursor.expect("a second page");
    let second = client
        .list_records(&query(ModuleCode::Folder, 100, None), Some(&cursor))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 100);
    assert!(second.items.iter().all(|r| !first.items.contains(r)));
}

#[tokio::test]
async fn records_created_concurrently_get_distinct_ids() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let lock = client.create_lock(ModuleCode::AddressBook).await.unwrap();
    let creates = (0..20).map(|n| {
        let client = client.clone();
        let lock_id = lock.lock_id.clone();
        tokio::spawn(async move {
            let device = format!("phone-{n}");
            client
                .create_record(&lock_id, &new_record(ModuleCode::AddressBook, &device, None))
                .await
        })
    });
    let ids: HashSet<String> = futures::future::join_all(creates)
        .await
        .into_iter()
        .map(|joined| joined.unwrap().unwrap().record_id)
        .collect();
    assert_eq!(ids.len(), 20);
    let (listed, _) = all_records(&client, query(ModuleCode::AddressBook, 100, None)).await;
    let listed: HashSet<String> = listed.into_iter().map(|r| r.record_id).collect();
    assert_eq!(listed, ids);
}

#[tokio::test]
async fn an_empty_module_is_one_empty_page() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let pages: Vec<Page<BackupRecord>> = client
        .record_pages(
            query(ModuleCode::AddressBook, 50, None),
            koobackup::api::DEFAULT_MAX_PAGES,
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages, vec![Page::new(vec![], None)]);
}

#[tokio::test]
async fn a_records_files_are_listed_page_by_page() {
    let server = spawn_server().await;
    let client = server.client(ALICE);
    let lock = client.create_lock(ModuleCode::Album).await.unwrap();
    let record = client
        .create_record(&lock.lock_id, &new_record(ModuleCode::Album, "phone", None))
        .await
        .unwrap();

    let empty = client.list_files(&record.record_id, 10, None).await.unwrap();
    assert_eq!(empty, Page::new(vec![], None));

    insert_files(&server.db_path, &record.record_id, 25);
    let first = client.list_files(&record.record_id, 10, None).await.unwrap();
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.items[0].file_name, "file-0000.bin");
    assert_eq!(first.items[0].size, 100);
    assert!(first.next_cursor.is_some());

    let pages: Vec<_> = client
        .file_pages(&record.record_id, 10, koobackup::api::DEFAULT_MAX_PAGES)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    let names: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.items)
        .map(|f| f.file_name)
        .collect();
    let expected: Vec<String> = (0..25).map(|i| format!("file-{i:04}.bin")).collect();
    assert_eq!(names, expected);

    // Deleting the record deletes its files: listing them now fails with "record not found".
    client
        .delete_record(&lock.lock_id, &record.record_id)
        .await
        .unwrap();
    let error = client.list_files(&record.record_id, 10, None).await.unwrap_err();
    assert_eq!(error.code(), Some(404001));
    assert_eq!(support::count_files(&server.db_path, &record.record_id), 0);
}
