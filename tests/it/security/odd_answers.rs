//! Answers a script cannot take at face value, from loopback servers that send them: a lock id
//! no header can carry, numbers written oddly (`2.0`, `-0`, `1e2`), items that cannot be read,
//! `Date` headers that are no date or the end of time, and server messages with control
//! characters in a `--json` error. Every word the binary says about them must be exact.

use serde_json::{Value, json};

use crate::support::cli::Cli;
use crate::support::fake::{Fake, INJECTION, Reply, Seen};

const LOCK: &str = "78e41c7e-db02-4d55-85b3-8153e4fefd2e@102";

#[tokio::test]
async fn a_lock_id_with_a_line_break_is_refused_when_it_arrives() {
    let fake = Fake::start(|request| match request.method.as_str() {
        "POST" => Reply::ok(json!({"lockId": "78e41c7e\r\nx-evil: 1@102"})),
        _ => Reply::ok(Value::Null),
    })
    .await;
    let cli = Cli::for_server(&fake.base_url);
    let run = cli.run(&["lock", "create", "-m", "102"]).await;
    run.code(7);
    assert!(
        run.stderr.contains("could never be renewed or released"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\\x0d\\x0a"), "shown visibly: {}", run.stderr);
    assert!(cli.journal_ids().is_empty(), "not journalled");
}

#[tokio::test]
async fn a_zero_code_written_oddly_still_creates_and_journals_the_lock() {
    for code in ["-0", "0.0", "\"0.0\"", "\"-0\""] {
        let body = format!(r#"{{"code":{code},"msg":"success","data":{{"lockId":"{LOCK}"}}}}"#);
        let fake = Fake::start(move |_| Reply::Raw {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.clone().into(),
        })
        .await;
        let cli = Cli::for_server(&fake.base_url);
        let run = cli.run(&["lock", "create", "-m", "102", "-q"]).await;
        run.ok();
        assert_eq!(run.stdout_trimmed(), LOCK, "code {code}");
        assert_eq!(cli.journal_ids(), [LOCK], "code {code}");
    }
}

/// A BackupRecord as the reference shows one, with `status` and `version` as given.
fn record(id: &str, status: Value, version: Value) -> Value {
    json!({
        "recordId": id, "moduleCode": "102", "status": status, "properties": "{}",
        "version": version, "createTime": "2025-12-17T07:59:20.752Z", "endTime": "",
        "deviceInfo": {"deviceId": "1775406005920779393"}
    })
}

#[tokio::test]
async fn integral_numbers_written_oddly_are_read_as_those_integers() {
    let fake = Fake::start(|_| {
        Reply::page(
            vec![
                record("1", json!(2.0), json!(1)),
                record("2", json!(-0.0), json!("3.0")),
                record("3", json!(1), json!(1e2)),
            ],
            None,
        )
    })
    .await;
    let cli = Cli::for_server(&fake.base_url);
    let listed = cli.run(&["record", "list", "-m", "102", "--json"]).await;
    let records = listed.ok().json();
    let read: Vec<(i64, i64)> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["status"].as_i64().unwrap(), r["version"].as_i64().unwrap()))
        .collect();
    assert_eq!(read, [(2, 1), (0, 3), (1, 100)]);
}

#[tokio::test]
async fn a_listing_with_an_unreadable_item_names_the_field_and_does_not_exit_0() {
    let fake = Fake::start(|_| {
        Reply::page(
            vec![record("1", json!(0), json!(1)), record("2", json!(2.5), json!(1))],
            None,
        )
    })
    .await;
    let cli = Cli::for_server(&fake.base_url);
    let table = cli.run(&["record", "list", "-m", "102"]).await;
    table.code(8);
    assert!(
        table.stdout.contains('1'),
        "the readable record is listed: {table:?}"
    );
    assert!(
        table.stderr.contains("item 2") && table.stderr.contains("\"status\""),
        "{}",
        table.stderr
    );
    let json = cli.run(&["record", "list", "-m", "102", "--json"]).await;
    json.code(8);
    assert_eq!(json.json().as_array().unwrap().len(), 1, "the readable one");
    let error = json.json_error();
    assert_eq!(error["error"]["kind"], "incomplete");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2.5 is not an integer"),
        "{error}"
    );
}

/// Answers every request like the reference, stamping `date` as its `Date` header.
fn dated(date: &'static str) -> impl Fn(&Seen) -> Reply {
    move |request: &Seen| {
        let reply = match request.param("cursor") {
            None => Reply::page(vec![record("1", json!(1), json!(1))], Some("next")),
            Some(_) => Reply::page(vec![record("2", json!(1), json!(1))], None),
        };
        reply.with_header("date", date)
    }
}

#[tokio::test]
async fn a_date_header_that_is_no_date_leaves_the_clock_unknown() {
    let fake = Fake::start(dated("not a date")).await;
    let run = Cli::for_server(&fake.base_url).run(&["config", "check"]).await;
    assert!(!run.stdout.contains("agrees"), "{}", run.stdout);
    assert!(run.stdout.contains("unknown"), "{}", run.stdout);
}

#[tokio::test]
async fn a_date_at_the_end_of_time_is_ignored_for_later_requests() {
    let fake = Fake::start(dated("Fri, 31 Dec 9999 23:59:59 GMT")).await;
    let cli = Cli::for_server(&fake.base_url);
    cli.run(&["record", "list", "-m", "102"]).await.ok();
    let this_year = chrono::Utc::now().format("%Y").to_string();
    let stamps: Vec<String> = fake
        .seen()
        .iter()
        .map(|seen| seen.header("x-date").unwrap_or_default().to_string())
        .collect();
    assert_eq!(stamps.len(), 2, "two pages");
    assert!(
        stamps.iter().all(|stamp| stamp.starts_with(&this_year)),
        "{stamps:?}"
    );
    let check = cli.run(&["config", "check"]).await;
    assert!(check.stdout.contains("unknown"), "{}", check.stdout);
    assert!(check.stdout.contains("more than a day"), "{}", check.stdout);
}

#[tokio::test]
async fn a_json_error_carries_the_server_text_exactly_and_the_code_once() {
    let msg = format!("held by {INJECTION}");
    let fake = Fake::start(move |_| Reply::error(403, json!(403001), &msg)).await;
    let cli = Cli::for_server(&fake.base_url);
    let run = cli.run(&["record", "get", "42", "--json"]).await;
    run.code(3);
    // The raw text, as JSON escapes it: no terminal escaping inside the document.
    assert!(!run.stderr.contains("\\\\x1b"), "{}", run.stderr);
    assert!(run.stderr.contains("\\u001b"), "{}", run.stderr);
    let error = run.json_error();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("held by {INJECTION}")),
        "{message:?}"
    );
    assert!(!message.contains("403001"), "the code is apiCode's: {message:?}");
    assert_eq!(error["error"]["apiCode"], 403001);
    // For people the same failure says its code, and shows the text visibly.
    let table = cli.run(&["record", "get", "42"]).await;
    assert!(table.stderr.contains("(code 403001)"), "{}", table.stderr);
    assert!(table.stderr.contains("held by \\x1b]0;pwned"), "{}", table.stderr);
}
