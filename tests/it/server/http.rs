//! Cross-cutting behaviour of the local server: authentication, X-Date, the Date header, faults,
//! malformed input, restarts, start-up errors and demo data.

use crate::support;
use std::time::Duration;

use crate::support::{ALICE, PREFIX, spawn_server, spawn_server_with, x_date};
use chrono::Utc;
use koobackup::server::{DEMO_TOKEN, DEMO_USER_ID, Faults, ServerConfig, ServerError, start};
use serde_json::json;

fn list() -> String {
    format!("{PREFIX}/record")
}

const PAGE: &[(&str, &str)] = &[("moduleCode", "100"), ("pageSize", "10")];

#[tokio::test]
async fn token_must_match_the_user() {
    let ts = spawn_server().await;
    ts.req("GET", &list()).query(PAGE).send().await.expect_ok();
    let cases = [
        ts.req("GET", &list()).without("Authorization"),
        ts.req("GET", &list()).without("X-User-Id"),
        ts.req("GET", &list()).header("Authorization", "Bearer wrong"),
        ts.req("GET", &list()).header("Authorization", "alice-token"),
        ts.req("GET", &list())
            .header("Authorization", "Basic alice-token"),
        ts.req("GET", &list()).header("X-User-Id", "mallory"),
        ts.req("GET", &list()).header("X-User-Id", "bob"),
    ];
    for req in cases {
        req.query(PAGE).send().await.expect(401, 401001);
    }
    // Authentication comes before body validation.
    ts.req("POST", &format!("{PREFIX}/lock"))
        .without("Authorization")
        .raw("{oops")
        .send()
        .await
        .expect(401, 401001);
}

#[tokio::test]
async fn x_date_must_be_recent_and_not_in_the_future() {
    let ts = spawn_server().await;
    let now = Utc::now();
    let cases = [
        ts.req("GET", &list()).without("X-Date"),
        ts.req("GET", &list()).header("X-Date", "garbage"),
        ts.req("GET", &list()).header("X-Date", &now.to_rfc3339()),
        ts.req("GET", &list())
            .header("X-Date", &x_date(now - chrono::Duration::minutes(16))),
        ts.req("GET", &list())
            .header("X-Date", &x_date(now + chrono::Duration::seconds(5))),
    ];
    for req in cases {
        req.query(PAGE).send().await.expect(401, 401002);
    }
    let recent = ts
        .req("GET", &list())
        .header("X-Date", &x_date(now - chrono::Duration::minutes(14)));
    recent.query(PAGE).send().await.expect_ok();
}

#[tokio::test]
async fn clock_offset_moves_the_date_header_and_the_x_date_window() {
    let ts = spawn_server().await;
    let resp = ts.req("GET", &list()).query(PAGE).send().await;
    let date = resp.headers["date"].to_str().unwrap().to_owned();
    let server_now = chrono::DateTime::parse_from_rfc2822(&date).unwrap();
    assert!(
        (Utc::now() - server_now.to_utc()).num_seconds().abs() <= 2,
        "{date}"
    );

    ts.server.set_faults(Faults {
        clock_offset: chrono::Duration::hours(-1),
        ..Faults::default()
    });
    // The server is an hour behind: our real-time X-Date is "in the future".
    let resp = ts.req("GET", &list()).query(PAGE).send().await;
    resp.expect(401, 401002);
    let date = resp.headers["date"].to_str().unwrap();
    let skew = Utc::now() - chrono::DateTime::parse_from_rfc2822(date).unwrap().to_utc();
    assert!(
        (skew - chrono::Duration::hours(1)).num_seconds().abs() <= 2,
        "skew {skew}"
    );
    // A client that corrects by the measured skew gets through.
    let corrected = x_date(Utc::now() - chrono::Duration::hours(1));
    ts.req("GET", &list())
        .header("X-Date", &corrected)
        .query(PAGE)
        .send()
        .await
        .expect_ok();
    // Unknown paths carry the skewed Date too.
    let resp = ts.req("GET", "/nope").send().await;
    assert_eq!(resp.headers["date"].to_str().unwrap().len(), 29);
}

#[tokio::test]
async fn error_rate_fault_gives_500001_and_can_be_lifted() {
    let ts = spawn_server().await;
    ts.server.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    ts.req("GET", &list())
        .query(PAGE)
        .send()
        .await
        .expect(500, 500001);
    ts.req("POST", &format!("{PREFIX}/lock"))
        .json(json!({"moduleCode": "100"}))
        .send()
        .await
        .expect(500, 500001);
    ts.server.set_faults(Faults::default());
    ts.req("GET", &list()).query(PAGE).send().await.expect_ok();
}

#[tokio::test]
async fn rate_limit_is_per_user() {
    let ts = spawn_server_with(|c| c.faults.rate_limit_per_sec = Some(5)).await;
    let mut limited = None;
    for _ in 0..10 {
        let resp = ts.req("GET", &list()).query(PAGE).send().await;
        if resp.status == 429 {
            limited = Some(resp);
            break;
        }
        resp.expect_ok();
    }
    let limited = limited.expect("10 requests at 5/s must hit the limit");
    limited.expect(429, 429001);
    assert_eq!(limited.headers["retry-after"], "1");
    // Bob has his own budget.
    ts.req("GET", &list())
        .user(support::BOB)
        .query(PAGE)
        .send()
        .await
        .expect_ok();
    tokio::time::sleep(Duration::from_millis(400)).await;
    ts.req("GET", &list()).query(PAGE).send().await.expect_ok();
}

#[tokio::test]
async fn requests_that_fail_authentication_never_use_up_a_users_rate_limit() {
    let ts = spawn_server_with(|c| c.faults.rate_limit_per_sec = Some(5)).await;
    // An attacker who knows alice's id but not her token.
    for _ in 0..200 {
        ts.req("GET", &list())
            .user((support::ALICE.0, "guessed-token"))
            .query(PAGE)
            .send()
            .await
            .expect(401, 401001);
    }
    ts.req("GET", &list()).query(PAGE).send().await.expect_ok();
    // Nor ids nobody has: they are refused before anything is remembered about them.
    for i in 0..500 {
        ts.req("GET", &list())
            .user((&format!("nobody-{i}"), "x"))
            .query(PAGE)
            .send()
            .await
            .expect(401, 401001);
    }
    assert_eq!(ts.server.stats().rate_limited, 0, "no failed request was counted");
}

#[tokio::test]
async fn latency_fault_delays_responses() {
    let ts = spawn_server_with(|c| c.faults.latency = Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    ts.req("GET", &list()).query(PAGE).send().await.expect_ok();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn malformed_input_gets_json_4xx_never_500() {
    let ts = spawn_server().await;
    let lock_path = format!("{PREFIX}/lock");
    ts.req("POST", &lock_path)
        .raw("{\"moduleCode\": \"10")
        .send()
        .await
        .expect(400, 400001);
    ts.req("POST", &lock_path)
        .raw("not json at all")
        .send()
        .await
        .expect(400, 400001);
    ts.req("POST", &lock_path)
        .raw(vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .expect(400, 400001);
    ts.req("POST", &lock_path)
        .json(json!({"moduleCode": {"nested": 1}}))
        .send()
        .await
        .expect(400, 400001);
    ts.req("POST", &lock_path)
        .json(json!("100"))
        .send()
        .await
        .expect(400, 400001);
    let big = format!(
        "{{\"moduleCode\":\"100\",\"pad\":\"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    ts.req("POST", &lock_path)
        .raw(big.clone())
        .send()
        .await
        .expect(413, 400001);
    ts.req("POST", &list()).raw(big).send().await.expect(413, 400001);
    // Just under the limit is fine.
    let fits = format!("{{\"moduleCode\":\"100\",\"pad\":\"{}\"}}", "x".repeat(60 * 1024));
    ts.req("POST", &lock_path).raw(fits).send().await.expect_ok();

    ts.req("GET", "/").send().await.expect(404, 400001);
    ts.req("GET", &format!("{PREFIX}/nothing"))
        .send()
        .await
        .expect(404, 400001);
    ts.req("PUT", &lock_path).send().await.expect(405, 400001);
    ts.req("GET", &lock_path).send().await.expect(405, 400001);
    ts.req("POST", &format!("{PREFIX}/record/1/files"))
        .send()
        .await
        .expect(405, 400001);
    let record = format!("{PREFIX}/record/1%FF");
    ts.req("GET", &record).send().await.expect(404, 404001);
    ts.req("GET", &list())
        .query(&[("moduleCode", "100"), ("pageSize", "99999999999999999999")])
        .send()
        .await
        .expect(400, 400001);
}

#[tokio::test]
async fn restart_with_the_same_database_keeps_data() {
    let ts = spawn_server().await;
    let lock = ts.lock(ALICE, "102").await;
    let rec = ts.record(ALICE, &lock, "102", "phone").await;
    let id = rec["recordId"].as_str().unwrap().to_owned();
    let ts = ts.restart().await;
    let view = ts.req("GET", &format!("{PREFIX}/record/{id}")).send().await;
    view.expect_ok();
    assert_eq!(view.body["data"], rec);
    // The lock survived too: it still blocks a second one and still works.
    ts.req("POST", &format!("{PREFIX}/lock"))
        .json(json!({"moduleCode": "102"}))
        .send()
        .await
        .expect(409, 409001);
    let next = ts.record(ALICE, &lock, "102", "phone").await;
    assert!(next["recordId"].as_str().unwrap().parse::<u64>().unwrap() > id.parse::<u64>().unwrap());
}

#[tokio::test]
async fn refuses_non_loopback_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("db"));
    config.listen = "0.0.0.0:0".parse().unwrap();
    let err = start(config.clone()).await.err().expect("must refuse");
    assert!(matches!(err, ServerError::NotLoopback(_)));
    assert!(err.to_string().contains("--allow-remote"), "{err}");
    config.allow_non_loopback = true;
    start(config).await.expect("allowed").shutdown().await;
}

#[tokio::test]
async fn unusable_database_path_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("db.sqlite");
    let err = start(ServerConfig::new(&path)).await.err().expect("must fail");
    assert!(err.to_string().contains("missing-dir"), "{err}");
}

#[tokio::test]
async fn demo_seed_adds_the_demo_user_and_records_once() {
    let ts = spawn_server_with(|c| c.seed_demo = true).await;
    let demo = (DEMO_USER_ID, DEMO_TOKEN);
    let mut total = 0;
    for module in ["100", "101", "102"] {
        let resp = ts
            .req("GET", &list())
            .user(demo)
            .query(&[("moduleCode", module), ("pageSize", "100")])
            .send()
            .await;
        resp.expect_ok();
        let records = resp.body["data"].as_array().unwrap();
        assert!(records.len() >= 3, "module {module}: {}", records.len());
        let statuses: std::collections::HashSet<_> =
            records.iter().map(|r| r["status"].as_i64().unwrap()).collect();
        assert_eq!(statuses.len(), 3, "a mix of new, completed and to-be-deleted");
        total += records.len();
        let id = records[0]["recordId"].as_str().unwrap();
        let files = ts
            .req("GET", &format!("{PREFIX}/record/{id}/files"))
            .user(demo)
            .query(&[("pageSize", "100")])
            .send()
            .await;
        files.expect_ok();
        assert!(!files.body["data"].as_array().unwrap().is_empty());
    }
    // Alice still works, and sees none of the demo data.
    let alice = ts
        .req("GET", &list())
        .query(&[("moduleCode", "100"), ("pageSize", "100")])
        .send()
        .await;
    assert_eq!(alice.body["data"], json!([]));
    // Seeding again (restart) does not duplicate.
    let ts = ts.restart().await;
    let mut again = 0;
    for module in ["100", "101", "102"] {
        let resp = ts
            .req("GET", &list())
            .user(demo)
            .query(&[("moduleCode", module), ("pageSize", "100")])
            .send()
            .await;
        again += resp.body["data"].as_array().unwrap().len();
    }
    assert_eq!(total, again);
}
