//! One async method per KooDrive endpoint, with timeouts, clock-skew correction and retries only
//! where repeating a request cannot do harm.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::Stream;
use reqwest::header::HeaderValue;
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
/// "lock not found (never existed or released)".
const LOCK_NOT_FOUND: i64 = 404002;

/// Longest wait between two retries (unless `retry_backoff` itself is longer), so a generous
/// retry count cannot turn into minutes of silence.
pub const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(5);

/// How a [`Client`] talks to the server.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub base_url: String,
    pub credentials: Credentials,
    /// Limit for one attempt: connecting, sending, and reading the whole answer. Default 10 s.
    pub timeout: Duration,
    /// Extra attempts after a network failure, a timeout or a 5xx answer, for the calls that can
    /// be repeated safely: renew, release, list, view and files. Creates, completes and deletes
    /// are never repeated.
    pub retries: u32,
    /// Wait before the first retry; doubled for each later one, up to [`MAX_RETRY_BACKOFF`].
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
    /// A release: repeated like an idempotent call, and when a repeat is answered "lock not
    /// found" (404002) after an earlier attempt failed in transit, that earlier attempt is taken
    /// to have released the lock, rather than reporting a release that worked as a failure.
    Release,
    /// Creates, completes and deletes are never repeated blindly: a lost answer may hide a
    /// success, and repeating it would duplicate or misreport the change.
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
    /// Fails for a base URL that is not an absolute `http://` or `https://` URL, and for a user id
    /// or token that cannot be sent in a header.
    pub fn new(options: ClientOptions) -> Result<Client, ApiError> {
        check_options(&options)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("koobackup/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .build()
            .map_err(|e| ApiError::Transport {
                url: options.base_url.clone(),
                cause: e.to_string(),
            })?;
        let mut options = options;
        options.base_url = options.base_url.trim().trim_end_matches('/').to_string();
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
            Idempotency::Release,
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
    /// Not retried: a repeat would stamp a new end time and version on a record already done.
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
            Idempotency::NotIdempotent,
        )
        .await
        .map(drop)
    }

    /// `DELETE /record/{id}`: deletes the record and its backup files. Not retried: when the
    /// first answer is lost, a repeat reports "not found" for a delete that succeeded.
    pub async fn delete_record(&self, lock_id: &str, record_id: &str) -> Result<(), ApiError> {
        let path = record_path(record_id);
        self.call::<serde_json::Value, ()>(
            Method::DELETE,
            &path,
            Some(lock_id),
            None,
            &[],
            Idempotency::NotIdempotent,
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

    /// Every page of a record's files, following `nextCursor` to the end.
    pub fn file_pages(
        &self,
        record_id: &str,
        page_size: u32,
    ) -> impl Stream<Item = Result<Page<BackupFile>, ApiError>> + Send + 'static {
        let client = self.clone();
        let record_id = record_id.to_string();
        follow_cursors(move |cursor| {
            let client = client.clone();
            let record_id = record_id.clone();
            async move { client.list_files(&record_id, page_size, cursor.as_deref()).await }
        })
    }

    /// The lock lifetime, capped at a year: expiries are `now + ttl`, which would overflow (and
    /// panic) for an absurd configured lifetime. No server keeps a lock that long.
    fn ttl(&self) -> chrono::Duration {
        let cap = chrono::Duration::days(365);
        chrono::Duration::from_std(self.options.lock_ttl).map_or(cap, |ttl| ttl.min(cap))
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
            Idempotency::Idempotent | Idempotency::Release => self.options.retries,
            Idempotency::NotIdempotent => 0,
        };
        let mut clock_retry_left = true;
        let mut backoff = self.options.retry_backoff;
        let mut an_attempt_may_have_landed = false;
        loop {
            let request = self.request(method.clone(), path, lock_id, body, params);
            let sent = Utc::now();
            match self.send(request).await {
                Ok(envelope) => return Ok((envelope, sent)),
                Err(e) if e.is_clock_rejection() && clock_retry_left => clock_retry_left = false,
                Err(e)
                    if idempotency == Idempotency::Release
                        && an_attempt_may_have_landed
                        && e.code() == Some(LOCK_NOT_FOUND) =>
                {
                    return Ok((Envelope::success(), sent));
                }
                Err(e) if e.is_transient() && transient_retries_left > 0 => {
                    an_attempt_may_have_landed = true;
                    transient_retries_left -= 1;
                    tokio::time::sleep(backoff).await;
                    backoff = backoff
                        .saturating_mul(2)
                        .min(MAX_RETRY_BACKOFF.max(self.options.retry_backoff));
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
        decode_envelope(status, &bytes).map_err(|error| self.without_token::<T>(status, &bytes, error))
    }

    /// A failure's texts quote the server (its `msg`, or decode details citing the body). A proxy
    /// or debug endpoint that echoes the request would put the token there, and from there onto
    /// screens and into logs: the body is decoded again without the token (before messages are
    /// clipped, so no fragment survives), then what a JSON escape could hide is redacted too.
    /// Success answers are never touched.
    fn without_token<T: DeserializeOwned>(
        &self,
        status: StatusCode,
        body: &[u8],
        error: ApiError,
    ) -> ApiError {
        let token = self.options.credentials.token.expose();
        if token.len() < MIN_REDACTED_TOKEN_LEN {
            return error;
        }
        let error = match without_secret(body, token) {
            std::borrow::Cow::Owned(scrubbed) => {
                decode_envelope::<T>(status, &scrubbed).err().unwrap_or(error)
            }
            std::borrow::Cow::Borrowed(_) => error,
        };
        error.redact(token)
    }

    fn transport_error(&self, error: reqwest::Error) -> ApiError {
        if error.is_timeout() {
            return ApiError::Timeout {
                after: self.options.timeout,
            };
        }
        // The innermost cause says what actually went wrong ("Connection refused"); reqwest's
        // own text repeats the URL and adds nothing a user can act on.
        let mut innermost: &dyn std::error::Error = &error;
        while let Some(inner) = innermost.source() {
            innermost = inner;
        }
        let cause = if error.is_connect() {
            format!("{innermost}; check the base URL and that the server is running")
        } else {
            format!(
                "the connection broke off before a complete answer ({innermost}); check the network and try again"
            )
        };
        ApiError::Transport {
            url: self.options.base_url.clone(),
            cause,
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

/// Tokens shorter than this are not searched for in server messages: they would match ordinary
/// words (a local test server may well use `u:t`), and only real, long tokens are secrets.
const MIN_REDACTED_TOKEN_LEN: usize = 8;

/// The body with every occurrence of `secret` replaced by `<redacted>`.
fn without_secret<'a>(body: &'a [u8], secret: &str) -> std::borrow::Cow<'a, [u8]> {
    let secret = secret.as_bytes();
    if secret.is_empty() || !body.windows(secret.len()).any(|w| w == secret) {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut scrubbed = Vec::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        if rest.starts_with(secret) {
            scrubbed.extend_from_slice(b"<redacted>");
            rest = &rest[secret.len()..];
        } else {
            scrubbed.push(rest[0]);
            rest = &rest[1..];
        }
    }
    std::borrow::Cow::Owned(scrubbed)
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

/// Refuses options that could never produce a request: a base URL that is not an absolute
/// http(s) URL, or credentials an HTTP header cannot carry (a pasted line break, say).
fn check_options(options: &ClientOptions) -> Result<(), ApiError> {
    let base_url = options.base_url.trim();
    let unusable = |cause: String| ApiError::Transport {
        url: base_url.to_string(),
        cause,
    };
    let url = reqwest::Url::parse(base_url).map_err(|e| {
        unusable(format!(
            "the base URL is not a valid URL ({e}); write it like http://127.0.0.1:8080"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(unusable(
            "the base URL must start with http:// or https://".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(unusable(
            "the base URL must not contain a query (?…) or a fragment (#…)".into(),
        ));
    }
    let creds = &options.credentials;
    if HeaderValue::from_str(&creds.user_id).is_err() {
        return Err(unusable(
            "the user id contains characters an HTTP header cannot carry (such as line breaks); check it"
                .into(),
        ));
    }
    if HeaderValue::from_str(creds.token.expose()).is_err() {
        return Err(unusable(
            "the access token contains characters an HTTP header cannot carry (such as line breaks); check it"
                .into(),
        ));
    }
    Ok(())
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

/// A stream of pages produced by `fetch(cursor)`, following each page's `next_cursor`. Ends
/// after the last page or the first error. A server that hands back the cursor it was just given
/// would make the walk endless, so that ends it with an error after yielding the page.
pub fn follow_cursors<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<Page<T>, ApiError>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(Option<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Page<T>, ApiError>> + Send + 'static,
{
    enum State {
        Next(Option<String>),
        Fail(ApiError),
        Done,
    }
    // Every cursor handed out so far: a server that hands one out again (A, B, A, ...) would
    // otherwise keep the listing going forever.
    let seen = std::collections::HashSet::<String>::new();
    futures::stream::unfold(
        (State::Next(None), seen, fetch),
        |(state, mut seen, fetch)| async move {
            let cursor = match state {
                State::Next(cursor) => cursor,
                State::Fail(error) => return Some((Err(error), (State::Done, seen, fetch))),
                State::Done => return None,
            };
            match fetch(cursor).await {
                Ok(page) => {
                    let next = match &page.next_cursor {
                        Some(next) if !seen.insert(next.clone()) => State::Fail(ApiError::Decode {
                            status: 200,
                            detail:
                                "the server returned a nextCursor it had already returned, so the listing \
                                 would never end"
                                    .into(),
                        }),
                        Some(next) => State::Next(Some(next.clone())),
                        None => State::Done,
                    };
                    Some((Ok(page), (next, seen, fetch)))
                }
                Err(e) => Some((Err(e), (State::Done, seen, fetch))),
            }
        },
    )
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
    fn unusable_base_urls_are_refused_with_a_hint() {
        for (url, expected) in [
            ("127.0.0.1:8080", "http://"),
            ("ftp://example.com", "http://"),
            ("not a url", "not a valid URL"),
            ("http://h/?a=1", "query"),
        ] {
            let creds = Credentials::new("u", crate::api::Token::new("tok-secret"));
            let err = Client::new(ClientOptions::new(url, creds)).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(expected), "{url}: {text}");
            assert!(!text.contains("tok-secret"));
        }
        let creds = Credentials::new("u", crate::api::Token::new("t"));
        let client = Client::new(ClientOptions::new(" http://127.0.0.1:9/ ", creds)).unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
    }

    #[test]
    fn credentials_a_header_cannot_carry_are_refused_without_showing_them() {
        let pasted = Credentials::new("u", crate::api::Token::new("tok-secret\n"));
        let err = Client::new(ClientOptions::new("http://127.0.0.1:9", pasted)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("access token contains characters"), "{text}");
        assert!(!text.contains("tok-secret") && !format!("{err:?}").contains("tok-secret"));

        let user = Credentials::new("alice\r\n", crate::api::Token::new("t"));
        let err = Client::new(ClientOptions::new("http://127.0.0.1:9", user)).unwrap_err();
        assert!(err.to_string().contains("user id contains characters"), "{err}");
    }

    #[tokio::test]
    async fn a_repeated_cursor_ends_the_walk_with_an_error() {
        use futures::StreamExt;
        let pages: Vec<_> = follow_cursors(|cursor: Option<String>| async move {
            Ok(Page {
                items: vec![cursor.clone()],
                next_cursor: Some("same".to_string()),
            })
        })
        .collect()
        .await;
        assert_eq!(pages.len(), 3, "{pages:?}");
        assert_eq!(pages[0].as_ref().unwrap().items, vec![None]);
        assert_eq!(pages[1].as_ref().unwrap().items, vec![Some("same".to_string())]);
        let err = pages[2].as_ref().unwrap_err();
        assert!(err.to_string().contains("already returned"), "{err}");
    }

    #[tokio::test]
    async fn a_cursor_cycle_ends_the_walk_with_an_error() {
        use futures::StreamExt;
        // A, B, A, B, ...: no cursor repeats back to back, but the walk would never end.
        let pages: Vec<_> = follow_cursors(|cursor: Option<String>| async move {
            let next = if cursor.as_deref() == Some("A") { "B" } else { "A" };
            Ok(Page {
                items: vec![()],
                next_cursor: Some(next.to_string()),
            })
        })
        .take(10)
        .collect()
        .await;
        assert_eq!(pages.len(), 4, "{pages:?}");
        assert!(pages[..3].iter().all(Result::is_ok));
        assert!(
            pages[3]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("already returned")
        );
    }

    #[test]
    fn record_ids_stay_one_path_segment() {
        assert_eq!(record_path("1842862763295184641"), "/record/1842862763295184641");
        assert_eq!(record_path("../x"), "/record/..%2Fx");
    }
}
