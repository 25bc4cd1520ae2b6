//! Property tests of the local server's request parsing: arbitrary methods, paths, headers
//! (token, user id, X-Date, lock id), query strings (page size, cursor, module, device) and
//! bodies, sent over HTTP to a real server on 127.0.0.1, plus arbitrary bytes on a raw socket.
//!
//! Whatever arrives, the server answers a JSON envelope whose HTTP status is one of the
//! documented ones (never 500 — no faults are configured), whose `code` is 0 exactly on success
//! and otherwise names the status, and it keeps serving afterwards.

use crate::support;
use std::time::Duration;

use crate::support::{ALICE, BOB, PREFIX, TestServer, spawn_server, x_date};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MODULES: [&str; 3] = ["100", "101", "102"];
const MODULE_PLACEHOLDER: &str = "{module}";

/// Bytes an HTTP header value may carry: visible ASCII, space, tab and obs-text (0x80-0xff).
fn header_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![8 => 0x20u8..0x7f, 1 => 0x80u8..=0xff, 1 => Just(b'\t')],
        0..max,
    )
}

/// A header value: valid, slightly wrong, or arbitrary.
#[derive(Debug, Clone)]
enum HeaderChoice {
    Valid,
    Absent,
    Value(Vec<u8>),
}

fn choice(near_misses: Vec<String>) -> impl Strategy<Value = HeaderChoice> {
    prop_oneof![
        6 => Just(HeaderChoice::Valid),
        1 => Just(HeaderChoice::Absent),
        1 => prop::sample::select(near_misses).prop_map(|s| HeaderChoice::Value(s.into_bytes())),
        1 => header_bytes(80).prop_map(HeaderChoice::Value),
    ]
}

/// X-Date candidates around "now": shifted by up to ±20 minutes, with random digits, or junk.
#[derive(Debug, Clone)]
enum DateChoice {
    Shifted(i64),
    Other(HeaderChoice),
}

fn date_choice() -> impl Strategy<Value = DateChoice> {
    prop_oneof![
        6 => Just(DateChoice::Other(HeaderChoice::Valid)),
        2 => (-1200i64..1200).prop_map(DateChoice::Shifted),
        1 => "[0-9]{8}T[0-9]{6}Z|[+-]?[0-9]{5,9}[0-9]{4}T[0-9]{6}Z|[0-9]{8}t[0-9]{6}z"
            .prop_map(|s| DateChoice::Other(HeaderChoice::Value(s.into_bytes()))),
        1 => choice(vec!["".into(), "  ".into(), "20251103T070140".into(), "2025-11-03T07:01:40Z".into()])
            .prop_map(DateChoice::Other),
    ]
}

/// A path under the API prefix, a record path with an arbitrary segment, or something else.
fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        3 => Just("{record}".to_string()),
        1 => "-?[0-9]{1,25}",
        1 => "\\PC{0,20}",
        1 => prop::sample::select(vec!["..", ".", "%2F", "%00", "1%FF", "%", "9223372036854775808", "-9223372036854775808"])
            .prop_map(str::to_string),
    ];
    let encoded = segment.prop_map(|s| {
        if s == "{record}" || s.contains('%') {
            s
        } else {
            percent_encode(&s)
        }
    });
    prop_oneof![
        3 => prop::sample::select(vec!["/lock", "/record"]).prop_map(|p| format!("{PREFIX}{p}")),
        3 => encoded.clone().prop_map(|s| format!("{PREFIX}/record/{s}")),
        2 => encoded.clone().prop_map(|s| format!("{PREFIX}/record/{s}/files")),
        1 => encoded.prop_map(|s| format!("{PREFIX}/{s}")),
        1 => "(/[a-z%0-9.]{0,8}){0,5}",
    ]
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Query values: page sizes, cursors (including well-formed cursors of arbitrary content),
/// module codes and device ids.
fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    let page_size = prop_oneof![
        3 => (1u32..=100).prop_map(|n| n.to_string()),
        1 => "[-+]?[0-9]{1,22}|\\PC{0,6}",
    ];
    let cursor = prop_oneof![
        1 => "[A-Za-z0-9_-]{0,40}",
        1 => "\\PC{0,30}",
        1 => ("(records|files|x|)", "[-+]?[0-9]{0,21}|\\PC{0,8}")
            .prop_map(|(kind, id)| URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))),
        1 => (990usize..1010).prop_map(|n| "A".repeat(n)),
    ];
    let module = prop_oneof![
        3 => prop::sample::select(vec!["100", "101", "102"]).prop_map(str::to_string),
        1 => "\\PC{0,6}",
    ];
    (
        prop::option::of(page_size),
        prop::option::of(cursor),
        prop::option::of(module),
        prop::option::of("\\PC{0,20}"),
    )
        .prop_map(|(size, cursor, module, device)| {
            [
                ("pageSize", size),
                ("cursor", cursor),
                ("moduleCode", module),
                ("deviceId", device),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect()
        })
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,30}".prop_map(Value::String),
        prop::sample::select(vec!["100", "101", "102", "{}", "{\"k\":1}", "[1,", ""]).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 20, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bodies: create/complete bodies with each field valid or replaced, any JSON, or any bytes.
fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    let field =
        |valid: Value| prop_oneof![6 => Just(Some(valid)), 1 => Just(None), 2 => any_json().prop_map(Some)];
    let record_body = (
        // Replaced by the module of the lock the request carries.
        field(json!(MODULE_PLACEHOLDER)),
        field(json!("laptop")),
        field(json!("{\"path\":\"/home\"}")),
        prop::option::of(("\\PC{0,8}", any_json())),
    )
        .prop_map(|(module, device, properties, extra)| {
            let mut object = serde_json::Map::new();
            for (key, value) in [
                ("moduleCode", module),
                ("deviceId", device),
                ("properties", properties),
            ] {
                if let Some(value) = value {
                    object.insert(key.into(), value);
                }
            }
            if let Some((key, value)) = extra {
                object.insert(key, value);
            }
            serde_json::to_vec(&Value::Object(object)).expect("json")
        });
    prop_oneof![
        2 => Just(None),
        4 => record_body.prop_map(Some),
        1 => any_json().prop_map(|v| Some(serde_json::to_vec(&v).expect("json"))),
        1 => prop::collection::vec(any::<u8>(), 0..100).prop_map(Some),
    ]
}

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    /// At most one of the credential headers or the lock header is broken; the rest are valid.
    broken: Option<(Broken, HeaderChoice)>,
    date: DateChoice,
    body: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Broken {
    User,
    Authorization,
    Lock,
}

/// The API's operations (with a record id to fill in, or an arbitrary segment), or any method
/// on any path.
fn endpoint() -> impl Strategy<Value = (String, String)> {
    let operation = prop::sample::select(vec![
        ("POST", "/lock"),
        ("PATCH", "/lock"),
        ("DELETE", "/lock"),
        ("POST", "/record"),
        ("GET", "/record"),
        ("GET", "/record/{record}"),
        ("PATCH", "/record/{record}"),
        ("DELETE", "/record/{record}"),
        ("GET", "/record/{record}/files"),
    ]);
    let method = prop_oneof![
        3 => prop::sample::select(vec!["GET", "POST", "PATCH", "DELETE"]),
        1 => prop::sample::select(vec!["PUT", "HEAD", "OPTIONS", "TRACE", "FROB"]),
    ]
    .prop_map(str::to_string);
    prop_oneof![
        6 => operation.clone().prop_map(|(m, p)| (m.to_string(), format!("{PREFIX}{p}"))),
        2 => (operation, path()).prop_map(|((m, p), any)| {
            // The operation's method on an arbitrary record segment, if it has one.
            let path = if p.contains("{record}") && any.contains("/record/") { any } else { format!("{PREFIX}{p}") };
            (m.to_string(), path)
        }),
        1 => (method, path()),
    ]
}

fn broken() -> impl Strategy<Value = Option<(Broken, HeaderChoice)>> {
    let user = choice(vec![
        "bob".into(),
        "ALICE".into(),
        " alice".into(),
        "alice\t".into(),
        "nobody".into(),
    ]);
    let auth = choice(vec![
        "Bearer".into(),
        "Bearer ".into(),
        "bearer alice-token".into(),
        "Basic alice-token".into(),
        "Bearer bob-token".into(),
        "Bearer alice-token extra".into(),
        "alice-token".into(),
    ]);
    let lock = choice(vec![
        "".into(),
        "@100".into(),
        "00000000-0000-4000-8000-000000000000@100".into(),
        "{bob}".into(),
        "{bob}".into(),
    ]);
    prop_oneof![
        6 => Just(None),
        1 => user.prop_map(|c| Some((Broken::User, c))),
        1 => auth.prop_map(|c| Some((Broken::Authorization, c))),
        2 => lock.prop_map(|c| Some((Broken::Lock, c))),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (endpoint(), query(), broken(), date_choice(), body()).prop_map(
        |((method, path), query, broken, date, body)| Request {
            method,
            path,
            query,
            broken,
            date,
            body,
        },
    )
}

/// Real ids to substitute, so that valid-looking requests reach the rules, not only "not found".
struct Ids {
    /// One per module, in the order 100, 101, 102; replaced when a generated request releases it.
    alice_locks: std::sync::Mutex<Vec<String>>,
    bob_lock: String,
    /// Alice's records (created at start or by generated requests) and one of bob's.
    records: std::sync::Mutex<Vec<String>>,
}

fn header(choice: &HeaderChoice, valid: &str) -> Option<HeaderValue> {
    match choice {
        HeaderChoice::Valid => Some(HeaderValue::from_str(valid).expect("valid header")),
        HeaderChoice::Absent => None,
        HeaderChoice::Value(bytes) => Some(HeaderValue::from_bytes(bytes).expect("header bytes")),
    }
}

/// The HTTP status a failure code stands for, for the answers that are not plain `code / 1000`.
fn status_matches_code(status: u16, code: i64) -> bool {
    match (status, code) {
        (200, 0) => true,
        (404 | 405 | 413, 400001) => true,
        (_, 0) => false,
        (status, code) => i64::from(status) == code / 1000 && code % 1000 != 0,
    }
}

async fn check(ts: &TestServer, ids: &Ids, req: Request, pick: usize) -> Result<(), TestCaseError> {
    let (record, record_count) = {
        let records = ids.records.lock().unwrap();
        (records[pick % records.len()].clone(), records.len())
    };
    let path = req.path.replace("{record}", &record);
    let mut url = reqwest::Url::parse(&format!("{}{path}", ts.base_url())).expect("url");
    if !req.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&req.query);
    }
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).expect("method");
    let mut builder = ts.http.request(method.clone(), url.clone());
    let date = match &req.date {
        DateChoice::Shifted(secs) => Some(HeaderValue::from_str(&x_date(
            chrono::Utc::now() + chrono::Duration::seconds(*secs),
        ))?),
        DateChoice::Other(choice) => header(choice, &support::x_date_now()),
    };
    // Records and locks are paired so that a third of the requests use the record's own module.
    let lock_index = (pick / record_count) % MODULES.len();
    let lock_valid = ids.alice_locks.lock().unwrap()[lock_index].clone();
    let choice_for = |which: Broken| match &req.broken {
        Some((broken, choice)) if *broken == which => choice.clone(),
        _ => HeaderChoice::Valid,
    };
    let lock = match choice_for(Broken::Lock) {
        HeaderChoice::Value(v) if v == b"{bob}" => Some(HeaderValue::from_str(&ids.bob_lock)?),
        other => header(&other, &lock_valid),
    };
    let headers = [
        ("x-user-id", header(&choice_for(Broken::User), ALICE.0)),
        (
            "authorization",
            header(&choice_for(Broken::Authorization), &format!("Bearer {}", ALICE.1)),
        ),
        ("x-date", date),
        ("x-backup-lock-id", lock),
    ];
    for (name, value) in headers {
        if let Some(value) = value {
            builder = builder.header(HeaderName::from_static(name), value);
        }
    }
    if let Some(body) = &req.body {
        let body = match std::str::from_utf8(body) {
            Ok(text) => text.replace(MODULE_PLACEHOLDER, MODULES[lock_index]).into_bytes(),
            Err(_) => body.clone(),
        };
        builder = builder.header("content-type", "application/json").body(body);
    }
    let what = format!("{method} {url}");
    let response = builder
        .send()
        .await
        .map_err(|e| TestCaseError::fail(format!("{what}: no answer: {e}")))?;
    let status = response.status().as_u16();
    prop_assert!(status != 500, "{what}: 500");
    if status == 200 && method == reqwest::Method::DELETE && url.path().ends_with("/lock") {
        let fresh = ts.lock(ALICE, MODULES[lock_index]).await;
        ids.alice_locks.lock().unwrap()[lock_index] = fresh;
    }
    prop_assert!(
        [200u16, 400, 401, 403, 404, 405, 409, 413].contains(&status),
        "{what}: undocumented status {status}"
    );
    prop_assert!(response.headers().contains_key("date"), "{what}: no Date header");
    if method == reqwest::Method::HEAD {
        return Ok(());
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    prop_assert!(
        content_type.starts_with("application/json"),
        "{what}: content type {content_type:?}"
    );
    let text = response.text().await?;
    let body: Value = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("{what}: not JSON ({e}): {text}")))?;
    let code = body["code"].as_i64();
    let msg = body["msg"].as_str();
    prop_assert!(
        code.is_some() && msg.is_some_and(|m| !m.is_empty()),
        "{what}: bad envelope {body}"
    );
    let code = code.unwrap_or_default();
    prop_assert!(
        status_matches_code(status, code),
        "{what}: status {status} with code {code}: {body}"
    );
    prop_assert!(
        !text.contains(ALICE.1) && !text.contains(BOB.1),
        "{what}: a token in the answer {text}"
    );
    if let Some(created) = body["data"]["recordId"]
        .as_str()
        .filter(|_| method == reqwest::Method::POST)
    {
        ids.records.lock().unwrap().push(created.to_owned());
    }
    Ok(())
}

async fn setup(ts: &TestServer) -> Ids {
    let mut alice_locks = Vec::new();
    let mut records = Vec::new();
    for module in MODULES {
        let lock = ts.lock(ALICE, module).await;
        for device in ["laptop", "phone", "tablet", "desktop", "server"] {
            let record = ts.record(ALICE, &lock, module, device).await;
            records.push(record["recordId"].as_str().unwrap().to_owned());
        }
        alice_locks.push(lock);
    }
    let bob_lock = ts.lock(BOB, "100").await;
    let bobs_record = ts.record(BOB, &bob_lock, "100", "phone").await;
    records.push(bobs_record["recordId"].as_str().unwrap().to_owned());
    support::insert_files(&ts.db_path, &records[0], 3);
    Ids {
        alice_locks: std::sync::Mutex::new(alice_locks),
        bob_lock,
        records: std::sync::Mutex::new(records),
    }
}

#[test]
fn any_request_gets_a_documented_json_answer_and_never_a_500() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (ts, ids) = rt.block_on(async {
        let ts = spawn_server().await;
        let ids = setup(&ts).await;
        (ts, ids)
    });
    let mut runner = TestRunner::new(Config {
        cases: 1500,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&(request(), any::<usize>()), |(req, pick)| {
        rt.block_on(check(&ts, &ids, req, pick))
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    // The server is still healthy and alice's first record survived everything else intact
    // enough to be read (it may have been completed or deleted by a valid generated request).
    rt.block_on(async {
        let list = ts
            .req("GET", &format!("{PREFIX}/record"))
            .query(&[("moduleCode", "100"), ("pageSize", "10")])
            .send()
            .await;
        list.expect_ok();
    });
}

/// Arbitrary bytes straight onto the socket: the server answers (or closes) and stays up.
#[test]
fn arbitrary_bytes_on_the_socket_never_take_the_server_down() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ts = rt.block_on(spawn_server());
    let addr = ts.server.addr();
    let raw = prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..400),
        2 => (
            "[A-Z]{1,8}|\\PC{1,8}",
            "/koodrive/ose/v1/backup/(lock|record|record/[0-9]{1,20}(/files)?)(\\?[ -~]{0,40})?|[ -~]{0,40}",
            "HTTP/1\\.[01]|HTTP/[0-9]\\.[0-9]|[ -~]{0,10}",
            prop::collection::vec("[!-9;-~]{1,20}: [ -~]{0,40}|[ -~]{0,30}", 0..8),
            prop::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(|(method, target, version, headers, body)| {
                let mut bytes = format!("{method} {target} {version}\r\n{}\r\n\r\n", headers.join("\r\n")).into_bytes();
                bytes.extend_from_slice(&body);
                bytes
            }),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&raw, |bytes| {
        rt.block_on(async {
            let mut socket = tokio::net::TcpStream::connect(addr).await?;
            socket.write_all(&bytes).await?;
            let _ = socket.shutdown().await;
            let mut answer = Vec::new();
            // The server answers, or waits for the rest of a request that never comes; either way
            // it must not answer 500.
            let _ = tokio::time::timeout(Duration::from_secs(2), socket.read_to_end(&mut answer)).await;
            let status_line = String::from_utf8_lossy(&answer[..answer.len().min(15)]).into_owned();
            prop_assert!(
                !status_line.starts_with("HTTP/1.1 500"),
                "{bytes:?} got {status_line}"
            );
            Ok(())
        })
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    rt.block_on(async {
        ts.req("POST", &format!("{PREFIX}/lock"))
            .json(json!({"moduleCode": "101"}))
            .send()
            .await
            .expect_ok();
    });
}
