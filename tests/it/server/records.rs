//! Record endpoints of the local server: create, list (pagination), view, complete, delete,
//! files, lock checks and per-user isolation.

use crate::support;
use std::collections::HashSet;

use crate::support::{ALICE, BOB, PREFIX, TestServer, count_files, insert_files, spawn_server};
use koobackup::server::Faults;
use serde_json::{Value, json};

fn records() -> String {
    format!("{PREFIX}/record")
}

fn record(id: &str) -> String {
    format!("{PREFIX}/record/{id}")
}

fn files(id: &str) -> String {
    format!("{PREFIX}/record/{id}/files")
}

/// Every record id of `user` in `module`, walking pages of `size`.
async fn walk(ts: &TestServer, user: (&str, &str), module: &str, size: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        crate::support::assert_page_cap(pages);
        let size_text = size.to_string();
        let mut query = vec![("moduleCode", module), ("pageSize", size_text.as_str())];
        if let Some(c) = cursor.as_deref() {
            query.push(("cursor", c));
        }
        let resp = ts.req("GET", &records()).user(user).query(&query).send().await;
        resp.expect_ok();
        let page = resp.body["data"].as_array().unwrap();
        assert!(page.len() <= size);
        ids.extend(page.iter().map(|r| r["recordId"].as_str().unwrap().to_owned()));
        match resp.body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => {
                assert_eq!(page.len(), size, "only the last page may be short");
                cursor = Some(next.to_owned());
            }
            None => return ids,
        }
    }
}

#[tokio::test]
async fn record_lifecycle() {
    let ts = spawn_server().await;
    let lock = ts.lock(ALICE, "101").await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let resp = ts
        .req("POST", &records())
        .lock(&lock)
        .json(json!({"moduleCode": "101", "deviceId": 8812, "properties": "{\"path\":\"/photos\"}"}))
        .send()
        .await;
    resp.expect_ok();
    let rec = resp.body["data"].clone();
    let id = rec["recordId"].as_str().unwrap().to_owned();
    assert!(id.parse::<u64>().is_ok(), "numeric id {id}");
    assert_eq!(rec["moduleCode"], "101");
    assert_eq!(rec["status"], 0);
    assert_eq!(rec["version"], 1);
    assert_eq!(rec["properties"], "{\"path\":\"/photos\"}");
    assert!(rec.get("endTime").is_none());
    assert_eq!(rec["deviceInfo"]["deviceId"], "8812");
    assert_eq!(rec["deviceInfo"]["deviceName"], "8812");
    assert_eq!(rec["deviceInfo"]["deviceOS"], "unknown");
    let created: chrono::DateTime<chrono::Utc> = rec["createTime"].as_str().unwrap().parse().unwrap();
    assert!(created > before);

    let view = ts.req("GET", &record(&id)).send().await;
    view.expect_ok();
    assert_eq!(view.body["data"], rec);

    let done = ts
        .req("PATCH", &record(&id))
        .lock(&lock)
        .json(json!({"properties": "{\"files\":3}"}))
        .send()
        .await;
    done.expect_ok();
    assert!(done.body.get("data").is_none());
    let view = ts.req("GET", &record(&id)).send().await.body["data"].clone();
    assert_eq!(view["status"], 1);
    assert_eq!(view["version"], 2);
    assert_eq!(view["properties"], "{\"files\":3}");
    assert!(view["endTime"].is_string());

    // Completing with no body keeps the properties.
    ts.req("PATCH", &record(&id)).lock(&lock).send().await.expect_ok();
    let view = ts.req("GET", &record(&id)).send().await.body["data"].clone();
    assert_eq!(
        (view["version"].as_i64(), view["properties"].as_str()),
        (Some(3), Some("{\"files\":3}"))
    );

    ts.req("DELETE", &record(&id))
        .lock(&lock)
        .send()
        .await
        .expect_ok();
    ts.req("GET", &record(&id)).send().await.expect(404, 404001);
    ts.req("DELETE", &record(&id))
        .lock(&lock)
        .send()
        .await
        .expect(404, 404001);
}

#[tokio::test]
async fn deleting_a_record_deletes_its_files() {
    let ts = spawn_server().await;
    let lock = ts.lock(ALICE, "100").await;
    let id = ts.record(ALICE, &lock, "100", "laptop").await["recordId"]
        .as_str()
        .unwrap()
        .to_owned();
    insert_files(&ts.db_path, &id, 3);
    let resp = ts
        .req("GET", &files(&id))
        .query(&[("pageSize", "10")])
        .send()
        .await;
    resp.expect_ok();
    let listed = resp.body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["fileName"], "file-0000.bin");
    assert!(listed[0]["fileId"].is_string() && listed[0]["size"].is_u64());
    ts.req("DELETE", &record(&id))
        .lock(&lock)
        .send()
        .await
        .expect_ok();
    assert_eq!(count_files(&ts.db_path, &id), 0);
    ts.req("GET", &files(&id))
        .query(&[("pageSize", "10")])
        .send()
        .await
        .expect(404, 404001);
}

#[tokio::test]
async fn files_are_paginated() {
    let ts = spawn_server().await;
    let lock = ts.lock(ALICE, "101").await;
    let id = ts.record(ALICE, &lock, "101", "phone").await["recordId"]
        .as_str()
        .unwrap()
        .to_owned();
    insert_files(&ts.db_path, &id, 230);
    let mut names = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        pages += 1;
        crate::support::assert_page_cap(pages);
        let resp = ts
            .req("GET", &files(&id))
            .query(&[("pageSize", "100"), ("cursor", &cursor)])
            .send()
            .await;
        resp.expect_ok();
        names.extend(
            resp.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["fileName"].as_str().unwrap().to_owned()),
        );
        match resp.body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let expected: Vec<_> = (0..230).map(|i| format!("file-{i:04}.bin")).collect();
    assert_eq!(names, expected);
    for size in ["0", "101", "x", ""] {
        ts.req("GET", &files(&id))
            .query(&[("pageSize", size)])
            .send()
            .await
            .expect(400, 400001);
    }
    ts.req("GET", &files(&id)).send().await.expect(400, 400001);
    ts.req("GET", &files(&id))
        .query(&[("pageSize", "5"), ("cursor", "garbage!")])
        .send()
        .await
        .expect(400, 400001);
    ts.req("GET", &files("999"))
        .query(&[("pageSize", "5")])
        .send()
        .await
        .expect(404, 404001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_over_260_records_has_no_duplicates_or_gaps() {
    let ts = spawn_server().await;
    let lock = ts.lock(ALICE, "100").await;
    let mut created = Vec::new();
    for i in 0..260 {
        let device = if i % 4 == 0 { "nas" } else { "laptop" };
        created.push(
            ts.record(ALICE, &lock, "100", device).await["recordId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Another module and another user must not show up.
    let bobs = ts.lock(BOB, "100").await;
    ts.record(BOB, &bobs, "100", "laptop").await;

    let ids = walk(&ts, ALICE, "100", 100).await;
    let mut newest_first = created.clone();
    newest_first.reverse();
    assert_eq!(ids, newest_first);
    assert_eq!(walk(&ts, ALICE, "100", 7).await, newest_first);

    let filtered = ts
        .req("GET", &records())
        .query(&[("moduleCode", "100"), ("pageSize", "100"), ("deviceId", "nas")])
        .send()
        .await;
    filtered.expect_ok();
    assert_eq!(filtered.body["data"].as_array().unwrap().len(), 65);
    assert!(filtered.body.get("nextCursor").is_none());
    assert!(walk(&ts, ALICE, "101", 100).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_is_stable_under_concurrent_inserts_and_deletes() {
    let ts = spawn_server().await;
    let lock = ts.lock(ALICE, "102").await;
    let mut ids = Vec::new();
    for _ in 0..120 {
        ids.push(
            ts.record(ALICE, &lock, "102", "phone").await["recordId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids.reverse(); // newest first, like the listing
    // Records deleted during the walk: every 10th. Records kept throughout must each appear once.
    let doomed: HashSet<String> = ids.iter().step_by(10).cloned().collect();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut page_no = 0;
    let mut deleted = HashSet::new();
    let mut pages = 0;
    loop {
        pages += 1;
        crate::support::assert_page_cap(pages);
        let mut query = vec![("moduleCode", "102"), ("pageSize", "20")];
        if let Some(c) = cursor.as_deref() {
            query.push(("cursor", c));
        }
        let resp = ts.req("GET", &records()).query(&query).send().await;
        resp.expect_ok();
        seen.extend(
            resp.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["recordId"].as_str().unwrap().to_owned()),
        );
        // Between pages: insert new records and delete some old ones.
        if page_no < 3 {
            ts.record(ALICE, &lock, "102", "phone").await;
            let victims: Vec<_> = doomed
                .iter()
                .filter(|d| !seen.contains(d) && !deleted.contains(*d))
                .take(4)
                .cloned()
                .collect();
            for victim in victims {
                ts.req("DELETE", &record(&victim))
                    .lock(&lock)
                    .send()
                    .await
                    .expect_ok();
                deleted.insert(victim);
            }
        }
        page_no += 1;
        match resp.body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(!deleted.is_empty());
    let unique: HashSet<_> = seen.iter().collect();
    assert!(
        deleted.iter().all(|d| !unique.contains(d)),
        "a record deleted before its page was listed still showed up"
    );
    assert_eq!(unique.len(), seen.len(), "duplicates in {seen:?}");
    for id in ids.iter().filter(|id| !doomed.contains(*id)) {
        assert!(
            unique.contains(id),
            "record {id} kept throughout but missing from the walk"
        );
    }
}

#[tokio::test]
async fn create_validation() {
    let ts = spawn_server().await;
    let lock = ts.lock(ALICE, "100").await;
    let bad_bodies = [
        json!({"deviceId": "d"}),
        json!({"moduleCode": "99", "deviceId": "d"}),
        json!({"moduleCode": "103", "deviceId": "d"}),
        json!({"moduleCode": "100"}),
        json!({"moduleCode": "100", "deviceId": ""}),
        json!({"moduleCode": "100", "deviceId": ["d"]}),
        json!({"moduleCode": "100", "deviceId": "d", "properties": "{broken"}),
        json!({"moduleCode": "100", "deviceId": "d", "properties": {"a": 1}}),
        json!({"moduleCode": "100", "deviceId": "d", "properties": ""}),
        json!(["moduleCode", "100"]),
    ];
    for body in bad_bodies {
        ts.req("POST", &records())
            .lock(&lock)
            .json(body)
            .send()
            .await
            .expect(400, 400001);
    }
    ts.req("POST", &records())
        .lock(&lock)
        .raw("{\"moduleCode\": \"100\", ")
        .send()
        .await
        .expect(400, 400001);
    ts.req("POST", &records())
        .lock(&lock)
        .raw("")
        .send()
        .await
        .expect(400, 400001);
    // Device ids sent as numbers must be exact whole numbers: JSON has no limit, a stored
    // float would be rounded (`1.8428122726914518e+37`).
    for number in [
        "18446744073709551616",
        "1e40",
        "1.5",
        "-1e3",
        "18428122726914518000000000000000000000",
    ] {
        ts.req("POST", &records())
            .lock(&lock)
            .raw(format!(r#"{{"moduleCode": "100", "deviceId": {number}}}"#))
            .send()
            .await
            .expect(400, 400001);
    }
    // Nothing was created.
    assert!(walk(&ts, ALICE, "100", 100).await.is_empty());
}

#[tokio::test]
async fn record_operations_check_the_lock() {
    let ts = spawn_server().await;
    let folder = ts.lock(ALICE, "100").await;
    let album = ts.lock(ALICE, "101").await;
    let bobs = ts.lock(BOB, "100").await;
    let body = json!({"moduleCode": "100", "deviceId": "d"});
    ts.req("POST", &records())
        .json(body.clone())
        .send()
        .await
        .expect(404, 404002);
    ts.req("POST", &records())
        .lock("missing@100")
        .json(body.clone())
        .send()
        .await
        .expect(404, 404002);
    ts.req("POST", &records())
        .lock(&bobs)
        .json(body.clone())
        .send()
        .await
        .expect(403, 403001);
    ts.req("POST", &records())
        .lock(&album)
        .json(body.clone())
        .send()
        .await
        .expect(409, 409003);
    let id = ts.record(ALICE, &folder, "100", "d").await["recordId"]
        .as_str()
        .unwrap()
        .to_owned();

    ts.req("PATCH", &record(&id)).send().await.expect(404, 404002);
    ts.req("PATCH", &record(&id))
        .lock(&album)
        .send()
        .await
        .expect(409, 409003);
    ts.req("DELETE", &record(&id))
        .lock(&album)
        .send()
        .await
        .expect(409, 409003);
    ts.req("DELETE", &record(&id))
        .lock(&bobs)
        .send()
        .await
        .expect(403, 403001);
    ts.req("PATCH", &record("123"))
        .lock(&folder)
        .send()
        .await
        .expect(404, 404001);
    ts.req("PATCH", &record("not-a-number"))
        .lock(&folder)
        .send()
        .await
        .expect(404, 404001);

    ts.req("DELETE", &format!("{PREFIX}/lock"))
        .lock(&folder)
        .send()
        .await
        .expect_ok();
    ts.req("PATCH", &record(&id))
        .lock(&folder)
        .send()
        .await
        .expect(404, 404002);

    // Expired: move the server clock (and our X-Date) past the lock's 10 minutes.
    let folder = ts.lock(ALICE, "100").await;
    let offset = chrono::Duration::minutes(11);
    ts.server.set_faults(Faults {
        clock_offset: offset,
        ..Faults::default()
    });
    let later = support::x_date(chrono::Utc::now() + offset);
    for req in [
        ts.req("PATCH", &record(&id)),
        ts.req("DELETE", &record(&id)),
        ts.req("POST", &records()).json(body),
    ] {
        req.header("X-Date", &later)
            .lock(&folder)
            .send()
            .await
            .expect(409, 409002);
    }
    // The record is untouched.
    let view = ts
        .req("GET", &record(&id))
        .header("X-Date", &later)
        .send()
        .await
        .body["data"]
        .clone();
    assert_eq!(
        (view["status"].as_i64(), view["version"].as_i64()),
        (Some(0), Some(1))
    );
}

#[tokio::test]
async fn list_validation() {
    let ts = spawn_server().await;
    let cases: [&[(&str, &str)]; 8] = [
        &[("pageSize", "10")],
        &[("moduleCode", "100")],
        &[("moduleCode", "104"), ("pageSize", "10")],
        &[("moduleCode", "100"), ("pageSize", "0")],
        &[("moduleCode", "100"), ("pageSize", "101")],
        &[("moduleCode", "100"), ("pageSize", "-3")],
        &[("moduleCode", "100"), ("pageSize", "10"), ("cursor", "%%%")],
        &[("moduleCode", "100"), ("pageSize", "ten")],
    ];
    for query in cases {
        ts.req("GET", &records())
            .query(query)
            .send()
            .await
            .expect(400, 400001);
    }
    let long = "A".repeat(2000);
    ts.req("GET", &records())
        .query(&[("moduleCode", "100"), ("pageSize", "10"), ("cursor", &long)])
        .send()
        .await
        .expect(400, 400001);
    let ok = ts
        .req("GET", &records())
        .query(&[("moduleCode", "100"), ("pageSize", "100")])
        .send()
        .await;
    ok.expect_ok();
    assert_eq!(ok.body["data"], json!([]));
    assert!(ok.body.get("nextCursor").is_none());
}

/// Bob can neither see nor change anything of alice's, and her data is unchanged afterwards.
#[tokio::test]
async fn users_are_isolated_on_every_endpoint() {
    let ts = spawn_server().await;
    let alices_lock = ts.lock(ALICE, "100").await;
    let rec = ts.record(ALICE, &alices_lock, "100", "laptop").await;
    let id = rec["recordId"].as_str().unwrap().to_owned();
    insert_files(&ts.db_path, &id, 2);
    let bobs_lock = ts.lock(BOB, "100").await;

    let as_bob = |m: &str, p: &str| ts.req(m, p).user(BOB);
    as_bob("GET", &record(&id)).send().await.expect(403, 403001);
    as_bob("GET", &files(&id))
        .query(&[("pageSize", "10")])
        .send()
        .await
        .expect(403, 403001);
    as_bob("PATCH", &record(&id))
        .lock(&bobs_lock)
        .send()
        .await
        .expect(403, 403001);
    as_bob("DELETE", &record(&id))
        .lock(&bobs_lock)
        .send()
        .await
        .expect(403, 403001);
    as_bob("PATCH", &record(&id))
        .lock(&alices_lock)
        .send()
        .await
        .expect(403, 403001);
    as_bob("DELETE", &record(&id))
        .lock(&alices_lock)
        .send()
        .await
        .expect(403, 403001);
    as_bob("POST", &records())
        .lock(&alices_lock)
        .json(json!({"moduleCode": "100", "deviceId": "x"}))
        .send()
        .await
        .expect(403, 403001);
    as_bob("PATCH", &format!("{PREFIX}/lock"))
        .lock(&alices_lock)
        .send()
        .await
        .expect(403, 403001);
    as_bob("DELETE", &format!("{PREFIX}/lock"))
        .lock(&alices_lock)
        .send()
        .await
        .expect(403, 403001);
    let list = as_bob("GET", &records())
        .query(&[("moduleCode", "100"), ("pageSize", "100")])
        .send()
        .await;
    list.expect_ok();
    assert_eq!(list.body["data"], json!([]));
    // Bob's own token does not work as alice.
    ts.req("GET", &record(&id))
        .header("Authorization", "Bearer bob-token")
        .send()
        .await
        .expect(401, 401001);

    // Alice's record, files and lock are as before.
    let view = ts.req("GET", &record(&id)).send().await;
    view.expect_ok();
    assert_eq!(view.body["data"], rec);
    assert_eq!(count_files(&ts.db_path, &id), 2);
    ts.req("PATCH", &format!("{PREFIX}/lock"))
        .lock(&alices_lock)
        .send()
        .await
        .expect_ok();
    ts.req("DELETE", &record(&id))
        .lock(&alices_lock)
        .send()
        .await
        .expect_ok();
}
