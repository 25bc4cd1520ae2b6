//! Lock endpoints of the local server: create, renew (live and expired), release, conflicts,
//! ownership, and concurrent creates.

use std::time::Duration;

use crate::support::{ALICE, BOB, PREFIX, spawn_server, spawn_server_with};
use serde_json::json;

fn lock_path() -> String {
    format!("{PREFIX}/lock")
}

#[tokio::test]
async fn create_renew_release_cycle() {
    let ts = spawn_server().await;
    let resp = ts
        .req("POST", &lock_path())
        .json(json!({"moduleCode": "102"}))
        .send()
        .await;
    resp.expect_ok();
    let lock = resp.body["data"]["lockId"].as_str().unwrap().to_owned();
    let (uuid, module) = lock.split_once('@').unwrap();
    assert_eq!(module, "102");
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{lock}");
    assert!(resp.body.get("nextCursor").is_none());

    let renew = ts.req("PATCH", &lock_path()).lock(&lock).send().await;
    renew.expect_ok();
    assert!(
        renew.body.get("data").is_none(),
        "renew has no data: {}",
        renew.body
    );

    ts.req("DELETE", &lock_path())
        .lock(&lock)
        .send()
        .await
        .expect_ok();
    ts.req("DELETE", &lock_path())
        .lock(&lock)
        .send()
        .await
        .expect(404, 404002);
    ts.req("PATCH", &lock_path())
        .lock(&lock)
        .send()
        .await
        .expect(404, 404002);
    // Released: a new one can be taken.
    ts.lock(ALICE, "102").await;
}

#[tokio::test]
async fn numeric_module_code_is_accepted() {
    let ts = spawn_server().await;
    let resp = ts
        .req("POST", &lock_path())
        .json(json!({"moduleCode": 100}))
        .send()
        .await;
    resp.expect_ok();
    assert!(resp.body["data"]["lockId"].as_str().unwrap().ends_with("@100"));
}

#[tokio::test]
async fn second_live_lock_conflicts_until_released() {
    let ts = spawn_server().await;
    let first = ts.lock(ALICE, "101").await;
    ts.req("POST", &lock_path())
        .json(json!({"moduleCode": "101"}))
        .send()
        .await
        .expect(409, 409001);
    // Other modules and other users are independent.
    ts.lock(ALICE, "100").await;
    ts.lock(BOB, "101").await;
    ts.req("DELETE", &lock_path())
        .lock(&first)
        .send()
        .await
        .expect_ok();
    ts.lock(ALICE, "101").await;
}

#[tokio::test]
async fn lock_errors() {
    let ts = spawn_server().await;
    for module in [json!("103"), json!("abc"), json!(true), json!(null)] {
        ts.req("POST", &lock_path())
            .json(json!({"moduleCode": module}))
            .send()
            .await
            .expect(400, 400001);
    }
    ts.req("POST", &lock_path())
        .json(json!({}))
        .send()
        .await
        .expect(400, 400001);
    ts.req("PATCH", &lock_path()).send().await.expect(404, 404002);
    ts.req("DELETE", &lock_path()).send().await.expect(404, 404002);
    ts.req("PATCH", &lock_path())
        .lock("nope@100")
        .send()
        .await
        .expect(404, 404002);
}

#[tokio::test]
async fn other_users_lock_is_forbidden_and_untouched() {
    let ts = spawn_server_with(|c| c.lock_ttl = Duration::from_secs(60)).await;
    let alices = ts.lock(ALICE, "100").await;
    ts.req("PATCH", &lock_path())
        .user(BOB)
        .lock(&alices)
        .send()
        .await
        .expect(403, 403001);
    ts.req("DELETE", &lock_path())
        .user(BOB)
        .lock(&alices)
        .send()
        .await
        .expect(403, 403001);
    // Still alice's and still live: her second create conflicts, her release works.
    ts.req("POST", &lock_path())
        .json(json!({"moduleCode": "100"}))
        .send()
        .await
        .expect(409, 409001);
    ts.req("DELETE", &lock_path())
        .lock(&alices)
        .send()
        .await
        .expect_ok();
}

#[tokio::test]
async fn renewing_live_and_expired_locks() {
    // Locks live 10 minutes; every request carries the server's clock as its X-Date.
    let ts = spawn_server().await;
    let lock = ts.lock(ALICE, "100").await;
    let req = |method: &str, path: &str| ts.req_on_server_clock(method, path);

    // Renewing a live lock pushes its expiry to now + ttl: renewed at 9, it lives until 19.
    ts.at_minute(9);
    req("PATCH", &lock_path()).lock(&lock).send().await.expect_ok();
    ts.at_minute(18);
    req("POST", &lock_path())
        .json(json!({"moduleCode": "100"}))
        .send()
        .await
        .expect(409, 409001);

    // Expired a minute ago (< ttl): renewal counts from the old expiry (19 + 10) and succeeds.
    ts.at_minute(20);
    req("POST", &format!("{PREFIX}/record"))
        .lock(&lock)
        .json(json!({"moduleCode": "100", "deviceId": "d"}))
        .send()
        .await
        .expect(409, 409002);
    req("PATCH", &lock_path()).lock(&lock).send().await.expect_ok();
    ts.record(ALICE, &lock, "100", "d").await;

    // Expired for longer than a ttl (29 + 10 is before 60): 409002.
    ts.at_minute(60);
    req("PATCH", &lock_path())
        .lock(&lock)
        .send()
        .await
        .expect(409, 409002);
    // An expired lock no longer blocks a new one, and is replaced by it.
    let fresh = ts.lock(ALICE, "100").await;
    assert_ne!(fresh, lock);
    req("PATCH", &lock_path())
        .lock(&lock)
        .send()
        .await
        .expect(404, 404002);
}

#[tokio::test]
async fn expired_lock_can_still_be_released() {
    let ts = spawn_server().await;
    let lock = ts.lock(ALICE, "102").await;
    ts.at_minute(11);
    let req = |method: &str, path: &str| ts.req_on_server_clock(method, path);
    // It is expired: a record operation under it is refused.
    req("POST", &format!("{PREFIX}/record"))
        .lock(&lock)
        .json(json!({"moduleCode": "102", "deviceId": "d"}))
        .send()
        .await
        .expect(409, 409002);
    req("DELETE", &lock_path()).lock(&lock).send().await.expect_ok();
    // And gone: neither renewable nor releasable again, and the module is free.
    req("PATCH", &lock_path())
        .lock(&lock)
        .send()
        .await
        .expect(404, 404002);
    assert_ne!(ts.lock(ALICE, "102").await, lock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_creates_yield_exactly_one_lock() {
    let ts = spawn_server().await;
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let req = ts.req("POST", &lock_path()).json(json!({"moduleCode": "101"}));
            tokio::spawn(req.send())
        })
        .collect();
    let mut won = Vec::new();
    for attempt in attempts {
        let resp = attempt.await.unwrap();
        match resp.status {
            200 => won.push(resp.body["data"]["lockId"].as_str().unwrap().to_owned()),
            _ => {
                resp.expect(409, 409001);
            }
        }
    }
    assert_eq!(won.len(), 1, "winners: {won:?}");
    ts.req("DELETE", &lock_path())
        .lock(&won[0])
        .send()
        .await
        .expect_ok();
}
