//! One async method per KooDrive endpoint, with timeouts, clock-skew correction and retries only
//! where repeating a request cannot do harm.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::Stream;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::{ClockSkew, Credentials};
use super::error::ApiError;
use super::model::{
    BackupFile, BackupRecord, CompleteRecordRequest, CreateLockData, CreateLockRequest, CreateRecordRequest,
    Envelope, LOCK_TTL, LockInfo, ModuleCode, Page,
};

const API_PREFIX: &str = "/koodrive/ose/v1/backup";
const LOCK_HEADER: &str = "x-backup-lock-id";

/// How a [`Client`] talks to the server.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub base_url: String,
    pub credentials: Credentials,
    /// Limit for one HTTP exchange.
    pub timeout: Duration,
    /// Extra attempts for idempotent calls after a network failure or a 5xx answer.
    pub retries: u32,
    /// Wait before the first retry; doubled for each later one.
    pub retry_backoff: Duration,
    /// Lock lifetime the server applies (10 minutes on KooDrive; shorter on a test server).
    pub lock_ttl: Duration,
}

impl ClientOptions {
    pub fn new(base_url: impl Into<String>, credentials: Credentials) -> ClientOptions {
        ClientOptions {
            base_url: base_url.into(),
            credentials,
            timeout: Duration::from_secs(10),
            retries: 2,
            retry_backoff: Duration::from_millis(200),
            lock_ttl: LOCK_TTL,
        }
    }
}

/// What to list: one module's records, optionally of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordQuery {
    pub module: ModuleCode,
    pub page_size: u32,
    pub device_id: Option<String>,
}

/// A record to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub module: ModuleCode,
    pub device_id: String,
    /// JSON text, already validated by the caller.
    pub properties: Option<String>,
}

/// Whether a call may be repeated without changing its effect.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Idempotency {
    Idempotent,
    /// Creates must never be repeated blindly: a lost answer may hide a success.
    NotIdempotent,
}

/// A KooDrive client. Cheap to clone; clones share the connection pool and the clock estimate.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    options: Arc<ClientOptions>,
    skew: Arc<ClockSkew>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.options.base_url)
            .field("user_id", &self.options.credentials.user_id)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, ApiError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .build()
            .map_err(|e| ApiError::Transport {
                url: options.base_url.clone(),
                cause: e.to_string(),
            })?;
        let mut options = options;
        options.base_url = options.base_url.trim_end_matches('/').to_string();
        Ok(Client {
            http,
            options: Arc::new(options),
            skew: Arc::new(ClockSkew::default()),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.options.base_url
    }

    pub fn user_id(&self) -> &str {
        &self.options.credentials.user_id
    }

    pub fn lock_ttl(&self) -> Duration {
        self.options.lock_ttl
    }

    /// Server clock minus local clock, as last measured from a `Date` header.
    pub fn clock_offset(&self) -> chrono::Duration {
        self.skew.offset()
    }

    /// `POST /lock`. The expiry is counted from the moment the request was sent.
    pub async fn create_lock(&self, module: ModuleCode) -> Result<LockInfo, ApiError> {
        let body = CreateLockRequest { module_code: module };
        let (data, sent): (CreateLockData, _) = self
            .call(
                Method::POST,
                "/lock",
                None,
                Some(&body),
                &[],
                Idempotency::NotIdempotent,
            )
            .await
            .and_then(require_data)?;
        Ok(LockInfo {
            module: LockInfo::module_of_id(&data.lock_id).unwrap_or(module),
            lock_id: data.lock_id,
            expires_at: sent + self.ttl(),
        })
    }

    /// `PATCH /lock`. Returns the lock with its new, conservatively estimated expiry: a live lock
    /// is extended to send time + TTL; an expired one to its old expiry + TTL (documented rule).
    pub async fn renew_lock(&self, lock: &LockInfo) -> Result<LockInfo, ApiError> {
        let (_, sent) = self
            .call::<serde_json::Value, ()>(
                Method::PATCH,
                "/lock",
                Some(&lock.lock_id),
                None,
                &[],
                Idempotency::Idempotent,
            )
            .await?;
        let expires_at = if sent >= lock.expires_at {
            lock.expires_at + self.ttl()
        } else {
            sent + self.ttl()
        };
        Ok(LockInfo {
            expires_at,
            ..lock.clone()
        })
    }

    /// `DELETE /lock`.
    pub async fn release_lock(&self, lock_id: &str) -> Result<(), ApiError> {
        self.call::<serde_json::Value, ()>(
            Method::DELETE,
            "/lock",
            Some(lock_id),
            None,
            &[],
            Idempotency::Idempotent,
        )
        .await
        .map(drop)
    }

    /// `POST /record` under `lock_id`.
    pub async fn create_record(&self, lock_id: &str, record: &NewRecord) -> Result<BackupRecord, ApiError> {
        let body = CreateRecordRequest {
            module_code: record.module,
            device_id: record.device_id.clone(),
            properties: record.properties.clone(),
        };
        self.call(
            Method::POST,
            "/record",
            Some(lock_id),
            Some(&body),
            &[],
            Idempotency::NotIdempotent,
        )
        .await
        .and_then(require_data)
        .map(|(record, _)| record)
    }

    /// `GET /record`: one page, starting at `cursor` (or the first page).
    pub async fn list_records(
        &self,
        query: &RecordQuery,
        cursor: Option<&str>,
    ) -> Result<Page<BackupRecord>, ApiError> {
        let page_size = query.page_size.to_string();
        let mut params = vec![
            ("moduleCode", query.module.code()),
            ("pageSize", page_size.as_str()),
        ];
        if let Some(device) = &query.device_id {
            params.push(("deviceId", device.as_str()));
        }
        if let Some(cursor) = cursor {
            params.push(("cursor", cursor));
        }
        self.page("/record", &params).await
    }

    /// Every page of `query`, following `nextCursor` to the end. Stops after the first error.
    pub fn record_pages(
        &self,
        query: RecordQuery,
    ) -> impl Stream<Item = Result<Page<BackupRecord>, ApiError>> + Send + 'static {
        let client = self.clone();
        follow_cursors(move |cursor| {
            let client = client.clone();
            let query = query.clone();
            async move { client.list_records(&query, cursor.as_deref()).await }
        })
    }

    /// `GET /record/{id}`.
    pub async fn get_record(&self, record_id: &str) -> Result<BackupRecord, ApiError> {
        let path = record_path(record_id);
        self.call::<BackupRecord, ()>(Method::GET, &path, None, None, &[], Idempotency::Idempotent)
            .await
            .and_then(require_data)
            .map(|(record, _)| record)
    }

    /// `PATCH /record/{id}`: marks the record completed, optionally replacing its properties.
    pub async fn complete_record(
        &self,
        lock_id: &str,
        record_id: &str,
        properties: Option<String>,
    ) -> Result<(), ApiError> {
        let body = CompleteRecordRequest { properties };
        let path = record_path(record_id);
        self.call::<serde_json::Value, _>(
            Method::PATCH,
            &path,
            Some(lock_id),
            Some(&body),
            &[],
            Idempotency::Idempotent,
        )
        .await
        .map(drop)
    }

    /// `DELETE /record/{id}`: deletes the record and its backup files.
    pub async fn delete_record(&self, lock_id: &str, record_id: &str) -> Result<(), ApiError> {
        let path = record_path(record_id);
        self.call::<serde_json::Value, ()>(
            Method::DELETE,
            &path,
            Some(lock_id),
            None,
            &[],
            Idempotency::Idempotent,
        )
        .await
        .map(drop)
    }

    /// `GET /record/{id}/files`: one page of a record's files.
    pub async fn list_files(
        &self,
        record_id: &str,
        page_size: u32,
        cursor: Option<&str>,
    ) -> Result<Page<BackupFile>, ApiError> {
        let page_size = page_size.to_string();
        let mut params = vec![("pageSize", page_size.as_str())];
        if let Some(cursor) = cursor {
            params.push(("cursor", cursor));
        }
        self.page(&format!("{}/files", record_path(record_id)), &params)
            .await
    }

    fn ttl(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.options.lock_ttl).unwrap_or(chrono::Duration::MAX)
    }

    async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<Page<T>, ApiError> {
        let envelope = self
            .exchange::<Vec<T>, ()>(Method::GET, path, None, None, params, Idempotency::Idempotent)
            .await?
            .0;
        Ok(Page {
            items: envelope.data.unwrap_or_default(),
            next_cursor: envelope.next_cursor.filter(|c| !c.is_empty()),
        })
    }

    /// Sends a request and returns its `data` with the instant the successful attempt was sent.
    async fn call<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        path: &str,
        lock_id: Option<&str>,
        body: Option<&B>,
        params: &[(&str, &str)],
        idempotency: Idempotency,
    ) -> Result<(Option<T>, DateTime<Utc>), ApiError> {
        let (envelope, sent) = self
            .exchange(method, path, lock_id, body, params, idempotency)
            .await?;
        Ok((envelope.data, sent))
    }

    /// The retry policy: idempotent calls are repeated with backoff after transient failures;
    /// any call is repeated once after an X-Date rejection, because the server refused it before
    /// acting and the retry carries a freshly corrected date.
    async fn exchange<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        path: &str,
        lock_id: Option<&str>,
        body: Option<&B>,
        params: &[(&str, &str)],
        idempotency: Idempotency,
    ) -> Result<(Envelope<T>, DateTime<Utc>), ApiError> {
        let mut transient_retries_left = match idempotency {
            Idempotency::Idempotent => self.options.retries,
            Idempotency::NotIdempotent => 0,
        };
        let mut clock_retry_left = true;
        let mut backoff = self.options.retry_backoff;
        loop {
            let request = self.request(method.clone(), path, lock_id, body, params);
            let sent = Utc::now();
            match self.send(request).await {
                Ok(envelope) => return Ok((envelope, sent)),
                Err(e) if e.is_clock_rejection() && clock_retry_left => clock_retry_left = false,
                Err(e) if e.is_transient() && transient_retries_left > 0 => {
                    transient_retries_left -= 1;
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn request<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        lock_id: Option<&str>,
        body: Option<&B>,
        params: &[(&str, &str)],
    ) -> RequestBuilder {
        let url = format!("{}{API_PREFIX}{path}", self.options.base_url);
        let creds = &self.options.credentials;
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(creds.token.expose())
            .header("X-User-Id", &creds.user_id)
            .header("X-Date", self.skew.x_date(Utc::now()));
        if let Some(lock_id) = lock_id {
            request = request.header(LOCK_HEADER, lock_id);
        }
        if !params.is_empty() {
            request = request.query(params);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<Envelope<T>, ApiError> {
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if let Some(date) = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
        {
            self.skew.observe(date, Utc::now());
        }
        let bytes = response.bytes().await.map_err(|e| self.transport_error(e))?;
        decode_envelope(status, &bytes)
    }

    fn transport_error(&self, error: reqwest::Error) -> ApiError {
        if error.is_timeout() {
            return ApiError::Timeout {
                after: self.options.timeout,
            };
        }
        // The innermost cause says what actually went wrong ("Connection refused").
        let mut cause: &dyn std::error::Error = &error;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        ApiError::Transport {
            url: self.options.base_url.clone(),
            cause: cause.to_string(),
        }
    }
}

/// Turns an HTTP answer into the envelope, or the error it describes.
pub(crate) fn decode_envelope<T: DeserializeOwned>(
    status: StatusCode,
    body: &[u8],
) -> Result<Envelope<T>, ApiError> {
    let status_code = status.as_u16();
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) if !status.is_success() => return Err(ApiError::Http { status: status_code }),
        Err(e) => {
            return Err(ApiError::Decode {
                status: status_code,
                detail: format!("not JSON: {e}"),
            });
        }
    };
    let code = value.get("code").and_then(serde_json::Value::as_i64);
    let msg = value
        .get("msg")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    match code {
        Some(0) if status.is_success() => serde_json::from_value(value).map_err(|e| ApiError::Decode {
            status: status_code,
            detail: format!("unexpected shape: {e}"),
        }),
        Some(code) if code != 0 => Err(ApiError::Api {
            status: status_code,
            code,
            msg: clip(msg),
        }),
        _ if !status.is_success() => Err(ApiError::Http { status: status_code }),
        _ => Err(ApiError::Decode {
            status: status_code,
            detail: "no numeric \"code\" field".into(),
        }),
    }
}

/// Server messages are shown on one status line: keep them short and printable.
fn clip(msg: &str) -> String {
    const MAX_CHARS: usize = 300;
    let printable: String = msg
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match printable.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &printable[..cut]),
        None => printable,
    }
}

fn require_data<T>((data, sent): (Option<T>, DateTime<Utc>)) -> Result<(T, DateTime<Utc>), ApiError> {
    data.map(|d| (d, sent)).ok_or_else(|| ApiError::Decode {
        status: 200,
        detail: "the success answer has no \"data\"".into(),
    })
}

fn record_path(record_id: &str) -> String {
    // Record ids are numeric strings; anything else is escaped so it stays one path segment.
    let escaped: String = record_id
        .bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("/record/{escaped}")
}

/// A stream of pages produced by `fetch(cursor)`, following each page's `next_cursor`.
pub fn follow_cursors<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<Page<T>, ApiError>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(Option<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Page<T>, ApiError>> + Send + 'static,
{
    enum State {
        Next(Option<String>),
        Done,
    }
    futures::stream::unfold((State::Next(None), fetch), |(state, fetch)| async move {
        let State::Next(cursor) = state else { return None };
        match fetch(cursor).await {
            Ok(page) => {
                let next = match &page.next_cursor {
                    Some(c) => State::Next(Some(c.clone())),
                    None => State::Done,
                };
                Some((Ok(page), (next, fetch)))
            }
            Err(e) => Some((Err(e), (State::Done, fetch))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_success_error_and_garbage() {
        let ok: Envelope<CreateLockData> = decode_envelope(
            StatusCode::OK,
            br#"{"code":0,"msg":"success","data":{"lockId":"a@100"}}"#,
        )
        .unwrap();
        assert_eq!(ok.data.unwrap().lock_id, "a@100");

        let err = decode_envelope::<serde_json::Value>(
            StatusCode::CONFLICT,
            br#"{"code":409001,"msg":"lock exists"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            ApiError::Api {
                status: 409,
                code: 409001,
                msg: "lock exists".into()
            }
        );

        let html = decode_envelope::<serde_json::Value>(StatusCode::BAD_GATEWAY, b"<html>").unwrap_err();
        assert_eq!(html, ApiError::Http { status: 502 });

        let garbage = decode_envelope::<serde_json::Value>(StatusCode::OK, b"\x00\xff").unwrap_err();
        assert!(matches!(garbage, ApiError::Decode { status: 200, .. }));

        let wrong_shape = decode_envelope::<CreateLockData>(
            StatusCode::OK,
            br#"{"code":0,"msg":"success","data":{"x":1}}"#,
        )
        .unwrap_err();
        assert!(matches!(wrong_shape, ApiError::Decode { .. }));
    }

    #[test]
    fn long_or_control_messages_are_clipped() {
        let long = "x".repeat(1000);
        assert!(clip(&long).chars().count() <= 301);
        assert_eq!(clip("a\nb\x1b[31m"), "a b [31m");
    }

    #[test]
    fn record_ids_stay_one_path_segment() {
        assert_eq!(record_path("1842862763295184641"), "/record/1842862763295184641");
        assert_eq!(record_path("../x"), "/record/..%2Fx");
    }
}
