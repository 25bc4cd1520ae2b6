//! Helpers shared by the integration tests: a server on a temporary database with two users, and
//! a raw HTTP helper that sends correctly signed requests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use koobackup::server::{AppCredential, RunningServer, ServerConfig, UserCredential, start};
use serde_json::Value;

pub const ALICE: (&str, &str) = ("alice", "alice-token");
pub const BOB: (&str, &str) = ("bob", "bob-token");
/// An app the test servers accept (app-based authentication): `(app id, secret)`.
pub const APP: (&str, &str) = ("backup-app-7", "app-secret-0c9e41d2");
pub const PREFIX: &str = "/koodrive/ose/v1/backup";

/// A running server whose database lives in a temporary directory kept alive with it.
pub struct TestServer {
    pub server: RunningServer,
    pub db_path: PathBuf,
    pub config: ServerConfig,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl TestServer {
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// A client of this server as `user` (its lock lifetime known).
    pub fn client(&self, user: (&str, &str)) -> koobackup::api::Client {
        self.client_with(user, |_| {})
    }

    /// [`TestServer::client`] with options changed by `configure` (retries, timeouts…).
    pub fn client_with(
        &self,
        (user, token): (&str, &str),
        configure: impl FnOnce(&mut koobackup::api::ClientOptions),
    ) -> koobackup::api::Client {
        use koobackup::api::{Client, ClientOptions, Credentials, Token};
        let mut options = ClientOptions::new(self.base_url(), Credentials::new(user, Token::new(token)));
        options.lock_ttl = self.config.lock_ttl;
        configure(&mut options);
        Client::new(options).expect("client")
    }

    /// A request as alice, with valid token and X-Date.
    pub fn req(&self, method: &str, path: &str) -> Req {
        Req {
            http: self.http.clone(),
            method: reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            url: format!("{}{path}", self.base_url()),
            headers: vec![
                ("X-User-Id".into(), ALICE.0.into()),
                ("Authorization".into(), format!("Bearer {}", ALICE.1)),
                ("X-Date".into(), x_date_now()),
            ],
            body: None,
            app: None,
        }
    }

    /// Stops the server and starts a new one on the same database file and config.
    pub async fn restart(self) -> TestServer {
        let TestServer {
            server,
            db_path,
            config,
            dir,
            http,
        } = self;
        server.shutdown().await;
        let server = start(config.clone()).await.expect("restart server");
        TestServer {
            server,
            db_path,
            config,
            dir,
            http,
        }
    }

    /// Moves the server's clock to `minutes` after the real time (no sleeping: a loaded machine
    /// cannot make a lock expire early or late). Replaces any other fault.
    pub fn at_minute(&self, minutes: i64) {
        self.server.set_faults(koobackup::server::Faults {
            clock_offset: chrono::Duration::minutes(minutes),
            ..koobackup::server::Faults::default()
        });
    }

    /// A request as alice whose X-Date is the server's clock, as from a client that has measured
    /// its offset: for seeding while the clock-offset fault is set.
    pub fn req_on_server_clock(&self, method: &str, path: &str) -> Req {
        self.req(method, path)
            .header("X-Date", &x_date(self.server.clock()))
    }

    /// Creates a lock for `user` on `module` (on the server's clock), panicking unless it
    /// succeeds.
    pub async fn lock(&self, user: (&str, &str), module: &str) -> String {
        let resp = self
            .req_on_server_clock("POST", &format!("{PREFIX}/lock"))
            .user(user)
            .json(serde_json::json!({"moduleCode": module}))
            .send()
            .await;
        resp.expect_ok();
        resp.body["data"]["lockId"].as_str().expect("lockId").to_owned()
    }

    /// Marks alice's record `id` completed, as a backup finishing would: under a lock of its
    /// own, on the server's clock; panics unless it succeeds.
    pub async fn complete(&self, id: &str) {
        let lock = self.lock(ALICE, "102").await;
        self.req_on_server_clock("PATCH", &format!("{PREFIX}/record/{id}"))
            .lock(&lock)
            .send()
            .await
            .expect_ok();
        self.req_on_server_clock("DELETE", &format!("{PREFIX}/lock"))
            .lock(&lock)
            .send()
            .await
            .expect_ok();
    }

    /// Creates a record under `lock` (on the server's clock), panicking unless it succeeds;
    /// returns the record JSON.
    pub async fn record(&self, user: (&str, &str), lock: &str, module: &str, device: &str) -> Value {
        let resp = self
            .req_on_server_clock("POST", &format!("{PREFIX}/record"))
            .user(user)
            .lock(lock)
            .json(serde_json::json!({"moduleCode": module, "deviceId": device, "properties": "{\"n\":1}"}))
            .send()
            .await;
        resp.expect_ok();
        resp.body["data"].clone()
    }
}

pub async fn spawn_server() -> TestServer {
    spawn_server_with(|_| {}).await
}

/// Starts a server on a fresh temporary database with users alice and bob; `configure` may
/// change the config first (faults, lock ttl, demo data…).
pub async fn spawn_server_with(configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("koodrive.db");
    let mut config = ServerConfig::new(&db_path);
    for (user, token) in [ALICE, BOB] {
        config.users.push(UserCredential {
            user_id: user.into(),
            token: token.into(),
        });
    }
    config.apps.push(AppCredential {
        app_id: APP.0.into(),
        secret: APP.1.into(),
    });
    configure(&mut config);
    let server = start(config.clone()).await.expect("start server");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    TestServer {
        server,
        db_path,
        config,
        dir,
        http,
    }
}

/// `X-Date` for the current real time.
pub fn x_date_now() -> String {
    x_date(chrono::Utc::now())
}

pub fn x_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Adds `n` files to a record straight into the database (the API has no upload endpoint).
pub fn insert_files(db_path: &std::path::Path, record_id: &str, n: usize) {
    let conn = rusqlite::Connection::open(db_path).expect("open db");
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let id: i64 = record_id.parse().expect("numeric record id");
    for i in 0..n {
        conn.execute(
            "INSERT INTO files (record_id, file_name, size, create_time) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![
                id,
                format!("file-{i:04}.bin"),
                100 + i as i64,
                1_760_000_000_000i64
            ],
        )
        .expect("insert file");
    }
}

/// Number of file rows of a record in the database.
pub fn count_files(db_path: &std::path::Path, record_id: &str) -> i64 {
    let conn = rusqlite::Connection::open(db_path).expect("open db");
    let id: i64 = record_id.parse().expect("numeric record id");
    conn.query_row("SELECT COUNT(*) FROM files WHERE record_id = ?1", [id], |r| {
        r.get(0)
    })
    .unwrap()
}

/// A raw request under construction.
#[derive(Clone)]
pub struct Req {
    http: reqwest::Client,
    method: reqwest::Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    /// Sign as this app `(id, secret)` when sent, instead of the bearer token.
    app: Option<(String, String)>,
}

impl Req {
    /// Sets or replaces a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// Act as another user with their own token.
    pub fn user(self, (user, token): (&str, &str)) -> Self {
        self.header("X-User-Id", user)
            .header("Authorization", &format!("Bearer {token}"))
    }

    /// Sign as `(app id, secret)` (app-based authentication) for the user the request names;
    /// the signature is made when the request is sent, over what is sent.
    pub fn app_signed(mut self, (app_id, secret): (&str, &str)) -> Self {
        self.app = Some((app_id.into(), secret.into()));
        self.without("Authorization")
    }

    pub fn lock(self, lock_id: &str) -> Self {
        self.header("x-backup-lock-id", lock_id)
    }

    pub fn json(self, body: Value) -> Self {
        self.raw(serde_json::to_vec(&body).unwrap())
    }

    pub fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.header("Content-Type", "application/json")
    }

    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        let mut url = reqwest::Url::parse(&self.url).unwrap();
        url.query_pairs_mut().extend_pairs(pairs);
        self.url = url.to_string();
        self
    }

    pub async fn send(mut self) -> Resp {
        if let Some((app_id, secret)) = self.app.clone() {
            let authorization = self.signature(&app_id, &secret);
            self = self.header("Authorization", &authorization);
        }
        let mut builder = self.http.request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = self.body {
            builder = builder.body(body);
        }
        let response = builder
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", self.method, self.url));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "{} {} -> {status}: body is not JSON ({e}): {text:?}",
                self.method, self.url
            )
        });
        Resp {
            status,
            headers,
            body,
            what: format!("{} {}", self.method, self.url),
        }
    }
}

impl Req {
    /// The `Authorization` header signing this request as `app_id`.
    fn signature(&self, app_id: &str, secret: &str) -> String {
        use koobackup::api::sign;
        let url = reqwest::Url::parse(&self.url).unwrap();
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap()),
            None => url.host_str().unwrap().to_string(),
        };
        let header = |name: &str| {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let headers = vec![
            ("host".to_string(), host),
            ("x-date".to_string(), header("X-Date")),
            ("x-user-id".to_string(), header("X-User-Id")),
        ];
        let segments = sign::decode_path(url.path());
        let query = sign::parse_query(url.query().unwrap_or_default());
        let parts = sign::SignedParts {
            method: self.method.as_str(),
            path_segments: &segments,
            query: &query,
            headers: &headers,
            body: self.body.as_deref().unwrap_or_default(),
        };
        sign::authorization(app_id, "host;x-date;x-user-id", &sign::signature(secret, &parts))
    }
}

/// A response whose body was JSON.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub what: String,
}

impl Resp {
    pub fn code(&self) -> i64 {
        self.body["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("{}: no numeric code in {}", self.what, self.body))
    }

    /// Asserts HTTP status and envelope code (and a non-empty msg).
    pub fn expect(&self, status: u16, code: i64) -> &Self {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "{}: unexpected answer {}",
            self.what,
            self.body
        );
        assert!(
            self.body["msg"].as_str().is_some_and(|m| !m.is_empty()),
            "{}: empty msg",
            self.what
        );
        self
    }

    pub fn expect_ok(&self) -> &Self {
        self.expect(200, 0);
        assert_eq!(self.body["msg"], "success");
        self
    }
}

/// Milliseconds until `lock_id` expires according to the server's database (read directly, so
/// the look neither meets a fault nor extends the lock); `None` if the lock is gone.
pub fn server_time_left_ms(db: &std::path::Path, lock_id: &str) -> Option<i64> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let expires: Option<i64> = conn
        .query_row(
            "SELECT expires_at FROM locks WHERE lock_id = ?1",
            [lock_id],
            |r| r.get(0),
        )
        .ok();
    expires.map(|e| e - chrono::Utc::now().timestamp_millis())
}

/// The ids of every record of `module` in the server's database.
pub fn record_ids(db: &std::path::Path, module: &str) -> std::collections::BTreeSet<String> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut stmt = conn
        .prepare("SELECT record_id FROM records WHERE module = ?1")
        .expect("prepare");
    stmt.query_map([module], |r| r.get::<_, i64>(0))
        .expect("query")
        .map(|id| id.expect("id").to_string())
        .collect()
}

/// `n` records of `module` made two days ago on the server's clock (abandoned if still new);
/// their ids, oldest first.
pub async fn old_records(server: &TestServer, module: &str, n: usize) -> Vec<String> {
    server.at_minute(-2 * 24 * 60);
    let lock = server.lock(ALICE, module).await;
    let mut ids = Vec::new();
    for i in 0..n {
        let record = server.record(ALICE, &lock, module, &format!("d{i}")).await;
        ids.push(record["recordId"].as_str().unwrap().to_owned());
    }
    server
        .req_on_server_clock("DELETE", &format!("{PREFIX}/lock"))
        .lock(&lock)
        .send()
        .await
        .expect_ok();
    server.server.set_faults(koobackup::server::Faults::default());
    ids
}
