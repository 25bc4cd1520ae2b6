//! The client against servers that misbehave in ways the real local server never does: bodies
//! that are not KooDrive JSON, bare HTTP errors, connections that break off, silence. Each fake is
//! a plain TCP listener writing a fixed HTTP answer, so the client under test is the real one.
//! The fakes also count the requests they receive, which shows exactly which calls are retried.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use koobackup::api::client::{NewRecord, RecordQuery};
use koobackup::api::error::ErrorKind;
use koobackup::api::{ApiError, Client, ClientOptions, Credentials, LockInfo, ModuleCode, Token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

const SECRET: &str = "fake-server-secret-token-0042";

/// What a fake server does with each request it reads.
#[derive(Clone)]
enum Behaviour {
    /// Write these bytes (a whole HTTP response, or a deliberately broken one) and close.
    Answer(String),
    /// Never answer; keep the connection open.
    Silent,
    /// Answer the n-th request with the n-th response; the last one repeats.
    Sequence(Vec<String>),
}

/// A TCP listener on 127.0.0.1 that records the head of every request it receives.
struct FakeServer {
    base_url: String,
    address: std::net::SocketAddr,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

/// What the fake has read so far, and which accepted connections it has not finished reading.
#[derive(Default)]
struct Seen {
    heads: Mutex<Vec<String>>,
    /// Accept numbers of connections whose request is still being read.
    reading: Mutex<BTreeSet<u64>>,
    finished_one: Notify,
}

/// Marks a connection's request as read (or abandoned) however its reading ends.
struct ReadingGuard {
    seen: Arc<Seen>,
    number: u64,
}

impl Drop for ReadingGuard {
    fn drop(&mut self) {
        self.seen.reading.lock().unwrap().remove(&self.number);
        self.seen.finished_one.notify_waiters();
    }
}

/// The request head `settle` sends; the fake answers it once every earlier connection is read.
const FENCE: &str = "FENCE / HTTP/1.1\r\n\r\n";

impl FakeServer {
    async fn start(behaviour: Behaviour) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        let shared = seen.clone();
        let task = tokio::spawn(async move {
            let mut number = 0u64;
            while let Ok((stream, _)) = listener.accept().await {
                number += 1;
                shared.reading.lock().unwrap().insert(number);
                let guard = ReadingGuard {
                    seen: shared.clone(),
                    number,
                };
                tokio::spawn(serve_one(stream, behaviour.clone(), guard));
            }
        });
        FakeServer {
            base_url: format!("http://{address}"),
            address,
            seen,
            task,
        }
    }

    fn request_count(&self) -> usize {
        self.seen.heads.lock().unwrap().len()
    }

    fn requests(&self) -> Vec<String> {
        self.seen.heads.lock().unwrap().clone()
    }

    fn forget_requests(&self) {
        self.seen.heads.lock().unwrap().clear();
    }

    /// Returns once the fake has read every request sent to it before this call. A client that
    /// gave up waiting (a timeout) returns before the fake may have read its last request; the
    /// kernel accepts connections in order, so a fence connection made afterwards is accepted
    /// after all of them, and the fake answers it only when none before it is still being read.
    async fn settle(&self) {
        let mut fence = TcpStream::connect(self.address).await.unwrap();
        fence.write_all(FENCE.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        fence.read_to_end(&mut answer).await.unwrap();
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head and `Content-Length` body), records its head, then behaves.
async fn serve_one(mut stream: TcpStream, behaviour: Behaviour, guard: ReadingGuard) {
    let mut buffer = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    if head == FENCE {
        wait_for_earlier_connections(&guard).await;
        return;
    }
    let body_len: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < head_end + body_len {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let request_number = {
        let mut heads = guard.seen.heads.lock().unwrap();
        heads.push(head);
        heads.len()
    };
    drop(guard);
    let behaviour = match behaviour {
        Behaviour::Sequence(answers) => {
            let answer = answers.get(request_number - 1).or(answers.last());
            Behaviour::Answer(answer.cloned().unwrap_or_default())
        }
        other => other,
    };
    match behaviour {
        Behaviour::Answer(response) => {
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Behaviour::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Behaviour::Sequence(_) => unreachable!("resolved to an answer above"),
    }
}

/// Waits until no connection accepted before the fence's is still being read.
async fn wait_for_earlier_connections(fence: &ReadingGuard) {
    loop {
        // Registered before the check, so a connection finishing in between still wakes us.
        let finished = fence.seen.finished_one.notified();
        let earliest = fence.seen.reading.lock().unwrap().first().copied();
        if earliest.is_none_or(|n| n >= fence.number) {
            return;
        }
        finished.await;
    }
}

/// A complete HTTP/1.1 response that closes the connection.
fn http_response(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn client(base_url: &str, configure: impl FnOnce(&mut ClientOptions)) -> Client {
    let mut options = ClientOptions::new(base_url, Credentials::new("alice", Token::new(SECRET)));
    options.retry_backoff = Duration::from_millis(10);
    configure(&mut options);
    Client::new(options).unwrap()
}

fn some_lock() -> LockInfo {
    LockInfo {
        lock_id: "f3a1c2de-0000-4000-8000-000000000000@100".into(),
        module: ModuleCode::Folder,
        expires_at: chrono::Utc::now() + chrono::Duration::minutes(5),
    }
}

/// The message and debug form of a failure must never carry the token.
fn assert_no_secret(error: &ApiError) {
    assert!(!error.to_string().contains(SECRET), "token in message: {error}");
    assert!(
        !format!("{error:?}").contains(SECRET),
        "token in debug: {error:?}"
    );
}

/// Calls every endpoint once, in turn, and returns each one's error (an `Ok` answer fails the
/// test) with the number of requests the server received for it.
async fn call_each_endpoint(server: &FakeServer, client: &Client) -> Vec<(&'static str, ApiError, usize)> {
    let lock = some_lock();
    let query = RecordQuery {
        module: ModuleCode::Folder,
        page_size: 10,
        device_id: None,
    };
    let record = NewRecord {
        module: ModuleCode::Folder,
        device_id: "dev-1".into(),
        properties: None,
    };
    type Call<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ApiError> + 'a>>;
    // Futures do nothing until awaited, so each call below runs alone.
    let calls: Vec<(&'static str, Call<'_>)> = vec![
        (
            "create_lock",
            Box::pin(async { client.create_lock(ModuleCode::Folder).await.unwrap_err() }),
        ),
        (
            "renew_lock",
            Box::pin(async { client.renew_lock(&lock).await.unwrap_err() }),
        ),
        (
            "release_lock",
            Box::pin(async { client.release_lock(&lock.lock_id).await.unwrap_err() }),
        ),
        (
            "create_record",
            Box::pin(async { client.create_record(&lock.lock_id, &record).await.unwrap_err() }),
        ),
        (
            "list_records",
            Box::pin(async { client.list_records(&query, None).await.unwrap_err() }),
        ),
        (
            "get_record",
            Box::pin(async { client.get_record("1").await.unwrap_err() }),
        ),
        (
            "complete_record",
            Box::pin(async {
                client
                    .complete_record(&lock.lock_id, "1", None)
                    .await
                    .unwrap_err()
            }),
        ),
        (
            "delete_record",
            Box::pin(async { client.delete_record(&lock.lock_id, "1").await.unwrap_err() }),
        ),
        (
            "list_files",
            Box::pin(async { client.list_files("1", 10, None).await.unwrap_err() }),
        ),
    ];
    let mut results = Vec::new();
    for (name, call) in calls {
        server.forget_requests();
        let error = call.await;
        server.settle().await;
        results.push((name, error, server.request_count()));
    }
    results
}

/// Calls that may be repeated without changing their effect.
fn is_retried(call: &str) -> bool {
    matches!(
        call,
        "renew_lock" | "release_lock" | "list_records" | "get_record" | "list_files" | "delete_record"
    )
}

#[tokio::test]
async fn a_non_json_success_body_is_a_decode_error() {
    let server = FakeServer::start(Behaviour::Answer(http_response(
        "200 OK",
        "text/plain",
        "hello from a web server",
    )))
    .await;
    let error = client(&server.base_url, |_| {})
        .get_record("1")
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::Decode { status: 200, .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Server);
    assert!(error.to_string().contains("not KooDrive JSON"), "{error}");
    assert!(error.to_string().contains("base URL"), "{error}");
    assert_no_secret(&error);
    assert_eq!(server.request_count(), 1, "a 200 answer is not retried");
}

#[tokio::test]
async fn truncated_json_is_a_decode_error() {
    let server = FakeServer::start(Behaviour::Answer(http_response(
        "200 OK",
        "application/json",
        r#"{"code":0,"msg":"success","data":{"recordId":"1","#,
    )))
    .await;
    let error = client(&server.base_url, |_| {})
        .get_record("1")
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::Decode { status: 200, .. }), "{error:?}");
    assert!(error.to_string().contains("HTTP 200"), "{error}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn json_without_a_code_is_a_decode_error() {
    let server = FakeServer::start(Behaviour::Answer(http_response(
        "200 OK",
        "application/json",
        r#"{"status":"ok","data":{"lockId":"x@100"}}"#,
    )))
    .await;
    let error = client(&server.base_url, |_| {})
        .create_lock(ModuleCode::Folder)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ApiError::Decode { status: 200, detail } if detail.contains("code")),
        "{error:?}"
    );
    assert_no_secret(&error);
}

#[tokio::test]
async fn a_success_without_the_expected_data_is_a_decode_error() {
    let server = FakeServer::start(Behaviour::Answer(http_response(
        "200 OK",
        "application/json",
        r#"{"code":0,"msg":"success"}"#,
    )))
    .await;
    let client = client(&server.base_url, |_| {});
    let error = client.create_lock(ModuleCode::Folder).await.unwrap_err();
    assert!(
        matches!(&error, ApiError::Decode { detail, .. } if detail.contains("data")),
        "{error:?}"
    );
    // Calls that return nothing accept the same answer.
    client.release_lock(&some_lock().lock_id).await.unwrap();
}

#[tokio::test]
async fn a_failing_code_under_http_200_is_an_api_error_classified_by_its_code() {
    let server = FakeServer::start(Behaviour::Answer(http_response(
        "200 OK",
        "application/json",
        r#"{"code":409001,"msg":"lock already held"}"#,
    )))
    .await;
    let error = client(&server.base_url, |_| {})
        .create_lock(ModuleCode::Folder)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ApiError::Api {
            status: 200,
            code: 409001.to_string(),
            msg: "lock already held".into()
        }
    );
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(
        error.to_string().starts_with("lock already held (code 409001)"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unknown_code_is_shown_with_the_server_message() {
    let server = FakeServer::start(Behaviour::Answer(http_response(
        "400 Bad Request",
        "application/json",
        r#"{"code":400777,"msg":"quota of backups exceeded\n\u001b[31m"}"#,
    )))
    .await;
    let error = client(&server.base_url, |_| {})
        .get_record("1")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(400777));
    assert_eq!(error.kind(), ErrorKind::Invalid);
    // Kept exactly as sent (JSON output carries it so); what prints it for a terminal escapes it.
    let text = error.to_string();
    assert!(
        text.starts_with("quota of backups exceeded\n\u{1b}[31m"),
        "{text:?}"
    );
    let shown = koobackup::format::escape(&text);
    assert!(
        !shown.chars().any(char::is_control),
        "control characters reach the screen: {shown:?}"
    );
}

#[tokio::test]
async fn an_html_502_is_an_http_error_and_only_idempotent_calls_are_retried() {
    let server = FakeServer::start(Behaviour::Answer(http_response(
        "502 Bad Gateway",
        "text/html",
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
    )))
    .await;
    let client = client(&server.base_url, |o| o.retries = 2);
    for (call, error, attempts) in call_each_endpoint(&server, &client).await {
        assert_eq!(error, ApiError::Http { status: 502 }, "{call}");
        assert_eq!(error.kind(), ErrorKind::Server);
        assert!(error.to_string().contains("try again later"), "{call}: {error}");
        assert_no_secret(&error);
        let expected = if is_retried(call) { 3 } else { 1 };
        assert_eq!(attempts, expected, "attempts of {call}");
    }
}

#[tokio::test]
async fn a_500001_answer_is_retried_only_for_idempotent_calls() {
    let server = FakeServer::start(Behaviour::Answer(http_response(
        "500 Internal Server Error",
        "application/json",
        r#"{"code":500001,"msg":"internal error"}"#,
    )))
    .await;
    let client = client(&server.base_url, |o| o.retries = 4);
    for (call, error, attempts) in call_each_endpoint(&server, &client).await {
        assert_eq!(error.code(), Some(500001), "{call}");
        let expected = if is_retried(call) { 5 } else { 1 };
        assert_eq!(attempts, expected, "attempts of {call}");
    }
}

#[tokio::test]
async fn a_silent_server_times_out_and_only_idempotent_calls_are_retried() {
    let server = FakeServer::start(Behaviour::Silent).await;
    let client = client(&server.base_url, |o| {
        o.timeout = Duration::from_millis(400);
        o.retries = 1;
    });
    for (call, error, attempts) in call_each_endpoint(&server, &client).await {
        assert_eq!(
            error,
            ApiError::Timeout {
                after: Duration::from_millis(400)
            },
            "{call}"
        );
        assert_eq!(error.kind(), ErrorKind::Network);
        assert!(error.to_string().contains("0.4 s"), "{error}");
        assert!(error.to_string().contains("raise --timeout"), "{error}");
        let expected = if is_retried(call) { 2 } else { 1 };
        assert_eq!(attempts, expected, "attempts of {call}");
    }
}

#[tokio::test]
async fn an_answer_that_breaks_off_is_a_transport_error() {
    // Announces 200 bytes, sends 20, closes.
    let server = FakeServer::start(Behaviour::Answer(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"code\":0,\"msg\":\"suc"
            .to_string(),
    ))
    .await;
    let error = client(&server.base_url, |o| o.retries = 0)
        .get_record("1")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ApiError::Transport { url, .. } if url == &server.base_url),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Network);
    assert!(error.to_string().contains("broke off"), "{error}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn a_persistent_clock_rejection_is_retried_exactly_once_even_for_creates() {
    let server = FakeServer::start(Behaviour::Answer(http_response(
        "401 Unauthorized",
        "application/json",
        r#"{"code":401002,"msg":"X-Date is later than the server time"}"#,
    )))
    .await;
    let client = client(&server.base_url, |o| o.retries = 3);
    let error = client.create_lock(ModuleCode::Album).await.unwrap_err();
    assert_eq!(error.code(), Some(401002));
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(error.to_string().contains("clock"), "{error}");
    assert_eq!(
        server.request_count(),
        2,
        "one retry with a corrected X-Date, no more"
    );
    server.forget_requests();
    client.get_record("1").await.unwrap_err();
    assert_eq!(
        server.request_count(),
        2,
        "401 is not transient, so only the clock retry"
    );
}

#[tokio::test]
async fn every_request_carries_the_documented_headers() {
    let server = FakeServer::start(Behaviour::Answer(http_response(
        "200 OK",
        "application/json",
        r#"{"code":0,"msg":"success"}"#,
    )))
    .await;
    let client = client(&server.base_url, |_| {});
    let lock = some_lock();
    client.release_lock(&lock.lock_id).await.unwrap();
    client.complete_record(&lock.lock_id, "42", None).await.unwrap();
    client
        .list_records(
            &RecordQuery {
                module: ModuleCode::AddressBook,
                page_size: 20,
                device_id: Some("dev 1".into()),
            },
            Some("abc"),
        )
        .await
        .unwrap();
    let heads = server.requests();
    assert_eq!(heads.len(), 3);
    for head in &heads {
        let header = |name: &str| {
            head.lines().find_map(|line| {
                let (n, v) = line.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        assert_eq!(header("authorization"), Some(format!("Bearer {SECRET}")));
        assert_eq!(header("x-user-id").as_deref(), Some("alice"));
        assert!(header("user-agent").is_some_and(|ua| ua.starts_with("koobackup/")));
        let date = header("x-date").expect("X-Date header");
        let parsed = chrono::NaiveDateTime::parse_from_str(&date, "%Y%m%dT%H%M%SZ")
            .unwrap_or_else(|e| panic!("X-Date {date:?} is not yyyyMMdd'T'HHmmss'Z': {e}"));
        let age = chrono::Utc::now().naive_utc() - parsed;
        assert!(
            age >= chrono::Duration::zero() && age < chrono::Duration::seconds(10),
            "X-Date {date} is not just before now"
        );
        let carries_lock = head.starts_with("DELETE /koodrive/ose/v1/backup/lock ")
            || head.starts_with("PATCH /koodrive/ose/v1/backup/record/42 ");
        assert_eq!(
            header("x-backup-lock-id"),
            carries_lock.then(|| lock.lock_id.clone()),
            "{head}"
        );
    }
    assert!(
        heads[2].starts_with(
            "GET /koodrive/ose/v1/backup/record?cursor=abc&deviceId=dev%201&moduleCode=102&pageSize=20 "
        ),
        "{}",
        heads[2]
    );
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error_naming_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = client(&base_url, |o| o.retries = 1);
    let started = std::time::Instant::now();
    let error = client.list_files("1", 10, None).await.unwrap_err();
    assert!(matches!(error, ApiError::Transport { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Network);
    let text = error.to_string();
    assert!(text.contains(&base_url), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(text.contains("check the base URL"), "{text}");
    assert_no_secret(&error);
    // Refused at once, so no timeout was waited for (that would be 10 s per attempt).
    assert!(started.elapsed() < Duration::from_secs(9));
}

/// A release whose first answer is lost in a server failure may still have released the lock;
/// the retry then finds no lock. That is the release having worked, not a failure to report.
#[tokio::test]
async fn a_release_retried_after_a_failure_accepts_lock_not_found() {
    let bad_gateway = http_response("502 Bad Gateway", "text/html", "<html>bad gateway</html>");
    let gone = http_response(
        "404 Not Found",
        "application/json",
        r#"{"code":404002,"msg":"lock not found"}"#,
    );
    let server = FakeServer::start(Behaviour::Sequence(vec![bad_gateway, gone.clone()])).await;
    let client = client(&server.base_url, |_| {});
    client.release_lock(&some_lock().lock_id).await.unwrap();
    assert_eq!(server.request_count(), 2);

    // Without an earlier failed attempt, "not found" is the answer to report.
    let server = FakeServer::start(Behaviour::Answer(gone)).await;
    let client = self::client(&server.base_url, |_| {});
    let error = client.release_lock(&some_lock().lock_id).await.unwrap_err();
    assert_eq!(error.code(), Some(404002));
    assert_eq!(server.request_count(), 1);
}
