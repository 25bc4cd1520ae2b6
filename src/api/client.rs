//! The HTTP side of the KooDrive client: building each request as it is sent (credentials, a
//! corrected X-Date, an app signature over exactly those bytes), reading the answer within a
//! size limit, and repeating a request only where repeating cannot do harm. The endpoints are in
//! [`super::backup`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;

use super::auth::{ClockSkew, Credentials, Scheme};
use super::changes::{Change, Changes, nothing_sent};
use super::decode::{Answer, decode_answer, without_secret};
use super::error::ApiError;
use super::model::{LOCK_TTL, Page};
use super::{sign, tls};
use crate::units;

pub use super::backup::{NewRecord, RecordQuery};

pub(super) const API_PREFIX: &str = "/koodrive/ose/v1/backup";
const LOCK_HEADER: &str = "x-backup-lock-id";

/// Longest wait between two retries (unless `retry_backoff` itself is longer), so a generous
/// retry count cannot turn into minutes of silence.
pub const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(5);

/// Longest `Retry-After` honoured; a server asking for more gets the error instead.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Largest answer read by default. KooDrive's largest answers (a page of 100 records) are far
/// smaller; anything bigger is a wrong base URL or a hostile server, and is not read into memory.
pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;

/// How a [`Client`] talks to the server.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub base_url: String,
    pub credentials: Credentials,
    /// Limit for one attempt: connecting, sending, and reading the whole answer. Default 10 s.
    pub timeout: Duration,
    /// Extra attempts after a network failure, a timeout, a 5xx or a 429 answer, for the calls
    /// that can be repeated safely (renew, release, reads, record deletes). Creates and completes
    /// are never repeated.
    pub retries: u32,
    /// Wait before the first retry; doubled for each later one, up to [`MAX_RETRY_BACKOFF`], each
    /// wait drawn at random from its upper half so that many clients do not retry in step.
    pub retry_backoff: Duration,
    /// Lock lifetime the server applies (10 minutes on KooDrive; shorter on a test server).
    pub lock_ttl: Duration,
    /// Largest answer accepted ([`DEFAULT_MAX_ANSWER_BYTES`]).
    pub max_answer_bytes: u64,
    /// Extra certificate authorities to trust (PEM), beside the operating system's store.
    pub ca_file: Option<PathBuf>,
    /// Allow plain `http://` to a host that is not this machine (tokens travel readable).
    pub allow_insecure_http: bool,
    /// Send only reads (GET): every call that would change something on the server fails with
    /// [`ApiError::ReadOnly`] before anything is sent.
    pub read_only: bool,
    /// Told of every retry as it happens, in a sentence (the command line prints it as a note).
    pub on_retry: Option<RetryNotes>,
    /// Told of every attempt's outcome (the bulk engine adapts its concurrency to them).
    pub on_attempt: Option<AttemptObserver>,
    /// Told of every change call once it ended, and of records and files read (the history).
    pub on_change: Option<Changes>,
}

/// What a call does, in words for messages: `creating a lock`, `deleting record 42`. An id in
/// it is as sent (decoded, not escaped: whatever prints the sentence escapes it).
pub fn describe_call(method: &Method, path: &str) -> String {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let verb = match *method {
        Method::GET => "reading",
        Method::POST => "creating",
        Method::PATCH | Method::PUT => "changing",
        Method::DELETE => "deleting",
        _ => "sending",
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (method, segments.as_slice()) {
        (&Method::POST, ["lock"]) => "creating a lock".into(),
        (&Method::PATCH, ["lock"]) => "renewing a lock".into(),
        (&Method::DELETE, ["lock"]) => "releasing a lock".into(),
        (&Method::GET, ["record"]) => "listing records".into(),
        (_, ["record"]) => format!("{verb} a record"),
        (&Method::PATCH, ["record", id]) => format!("completing record {id}"),
        (_, ["record", id]) => format!("{verb} record {id}"),
        (_, ["record", id, ..]) => format!("{verb} the files of record {id}"),
        (&Method::GET, ["device"]) => "listing devices".into(),
        (&Method::POST, ["device"]) => "binding a device".into(),
        (_, ["device", id, rest @ ..]) => match rest.first() {
            Some(part) => format!("{verb} the {part} of device {id}"),
            None => format!("{verb} device {id}"),
        },
        _ => format!("{verb} {}", segments.join("/")),
    }
}

/// A failure in a few words, for a retry note (the full message comes if the last attempt
/// fails too).
fn brief(error: &ApiError) -> String {
    match error {
        ApiError::Timeout { after } => format!("no answer within {} s", units::seconds(*after)),
        ApiError::Transport { .. } => "the connection failed".into(),
        ApiError::Http { status } => format!("HTTP {status}"),
        ApiError::Api { status, code, .. } => format!("HTTP {status}, code {code}"),
        ApiError::Decode { status, .. } => format!("HTTP {status} with an answer that is not KooDrive JSON"),
        other => other.to_string(),
    }
}

/// Receives a sentence for each retry: which call failed, how, and when it is tried again.
#[derive(Clone)]
pub struct RetryNotes(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for RetryNotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetryNotes")
    }
}

/// What one attempt of a call met, for whoever paces the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempted {
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// Whether the attempt failed in a way a later one may not (a rate limit, a server error, a
    /// timeout, a broken connection): the server is loaded or the link is bad.
    pub pushed_back: bool,
    /// From sending the request to reading the whole answer (or giving up).
    pub latency: Duration,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

/// Receives each attempt's [`Attempted`].
#[derive(Clone)]
pub struct AttemptObserver(pub Arc<dyn Fn(&Attempted) + Send + Sync>);

impl std::fmt::Debug for AttemptObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttemptObserver")
    }
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
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
            ca_file: None,
            allow_insecure_http: false,
            read_only: false,
            on_retry: None,
            on_attempt: None,
            on_change: None,
        }
    }
}

/// Whether a call may be repeated without changing its effect.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Idempotency {
    Idempotent,
    /// Repeated like an idempotent call; and when a repeat is answered "not found" (`gone`, the
    /// lock's 404002 for a release, the record's 404001 for a delete) after an earlier attempt
    /// may have landed, that attempt did the work: success, not a failure. Sound because the
    /// server never issues an id twice.
    Removal {
        gone: i64,
    },
    /// Creates and completes are never repeated blindly: a lost answer may hide a success, and
    /// repeating it would duplicate the change.
    NotIdempotent,
}

/// A request before it is built: everything an attempt needs to build it afresh.
pub(super) struct Call<'a> {
    pub method: Method,
    /// Below [`API_PREFIX`], already escaped.
    pub path: &'a str,
    pub lock_id: Option<&'a str>,
    pub body: Option<Vec<u8>>,
    pub params: Vec<(String, String)>,
    pub idempotency: Idempotency,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, path: &'a str, idempotency: Idempotency) -> Call<'a> {
        Call {
            method,
            path,
            lock_id: None,
            body: None,
            params: Vec::new(),
            idempotency,
        }
    }

    pub fn lock(mut self, lock_id: &'a str) -> Call<'a> {
        self.lock_id = Some(lock_id);
        self
    }

    pub fn json(mut self, body: &impl Serialize) -> Call<'a> {
        self.body = Some(serde_json::to_vec(body).expect("request bodies serialize"));
        self
    }

    pub fn param(mut self, name: &str, value: impl Into<String>) -> Call<'a> {
        self.params.push((name.to_string(), value.into()));
        self
    }
}

/// A successful exchange: the answer, and when the attempt that got it was sent.
pub(super) struct Reply {
    pub answer: Answer,
    pub sent: DateTime<Utc>,
    /// A removal whose repeat (after an attempt that may have landed) was answered "not found":
    /// gone, most likely by the earlier attempt, but that cannot be proven.
    pub gone_on_retry: bool,
}

/// A KooDrive client. Cheap to clone; clones share the connection pool and the clock estimate.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    options: Arc<ClientOptions>,
    skew: Arc<ClockSkew>,
    /// `host[:port]` of the base URL, as the `Host` header carries it (and the signature covers).
    host: String,
    /// The base URL's own path (a server mounted below `/`), without a trailing slash.
    base_path: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.options.base_url)
            .field("user_id", &self.options.credentials.user_id)
            .finish_non_exhaustive()
    }
}

/// One attempt's outcome, with what the retry policy needs to know about it.
struct Attempt {
    result: Result<Answer, ApiError>,
    sent: DateTime<Utc>,
    /// The HTTP status, when an answer came.
    status: Option<u16>,
    /// The server's `Retry-After`, when it sent one.
    retry_after: Option<Duration>,
}

impl Client {
    /// Fails for a base URL that is not an absolute `http://` or `https://` URL (or that carries
    /// credentials, a query or a fragment, or is plain HTTP to another machine without
    /// `allow_insecure_http`), and for credentials that cannot be sent in a header.
    pub fn new(options: ClientOptions) -> Result<Client, ApiError> {
        let url = check_options(&options)?;
        let unusable = |cause: String| ApiError::Settings {
            url: options.base_url.clone(),
            cause,
        };
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("koobackup/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            // A redirect would take the credentials, the user id and the lock id to another
            // host, and turn a POST into a GET: never followed, reported instead.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &options.ca_file {
            builder = builder.use_preconfigured_tls(tls::config_with_ca_file(path).map_err(unusable)?);
        }
        let http = builder.build().map_err(|e| unusable(e.to_string()))?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let base_path = url.path().trim_end_matches('/').to_string();
        let mut options = options;
        options.base_url = options.base_url.trim().trim_end_matches('/').to_string();
        Ok(Client {
            http,
            options: Arc::new(options),
            skew: Arc::new(ClockSkew::default()),
            host,
            base_path,
        })
    }

    /// The same client (sharing connections and the clock estimate) telling `notes` of each
    /// retry.
    pub fn with_retry_notes(&self, notes: RetryNotes) -> Client {
        let mut options = (*self.options).clone();
        options.on_retry = Some(notes);
        Client {
            options: Arc::new(options),
            ..self.clone()
        }
    }

    /// The same client (sharing connections and the clock estimate) telling `observer` of each
    /// attempt's outcome.
    pub fn with_observer(&self, observer: AttemptObserver) -> Client {
        let mut options = (*self.options).clone();
        options.on_attempt = Some(observer);
        Client {
            options: Arc::new(options),
            ..self.clone()
        }
    }

    /// The same client (sharing connections and the clock estimate) telling `changes` of every
    /// change call and of what it read.
    pub fn with_changes(&self, changes: Changes) -> Client {
        let mut options = (*self.options).clone();
        options.on_change = Some(changes);
        Client {
            options: Arc::new(options),
            ..self.clone()
        }
    }

    /// The listener told of changes and reads, if any.
    pub(super) fn changes(&self) -> Option<&Changes> {
        self.options.on_change.as_ref()
    }

    /// Tells the listener, if any, that `change` ended with `result` (not when nothing was sent).
    pub(super) fn tell<'a, T>(&self, mut change: Change<'a>, result: &'a Result<T, ApiError>) {
        let Some(changes) = &self.options.on_change else {
            return;
        };
        change.failure = result.as_ref().err();
        if change.failure.is_some_and(nothing_sent) {
            return;
        }
        change.server_offset = self.clock_measured().then(|| self.clock_offset());
        changes.0.changed(&change);
    }

    /// The same client (sharing connections and the clock estimate) with `retries` extra
    /// attempts for the calls that can be repeated, e.g. for a bulk delete that must get through
    /// a rate limit.
    pub fn with_retries(&self, retries: u32) -> Client {
        let mut options = (*self.options).clone();
        options.retries = retries;
        Client {
            options: Arc::new(options),
            ..self.clone()
        }
    }

    /// The same client (sharing connections and the clock estimate) acting for `user_id`: an
    /// app signs for any user of the carrier (app-based authentication), so it can check many
    /// users in one run. A bearer token belongs to one user and is refused for another.
    pub fn acting_for(&self, user_id: &str) -> Result<Client, ApiError> {
        if matches!(self.options.credentials.scheme, Scheme::Bearer(_)) && user_id != self.user_id() {
            return Err(ApiError::Settings {
                url: self.options.base_url.clone(),
                cause: "an access token belongs to one user: acting for other users needs app \
                        credentials (app_id and app_secret)"
                    .into(),
            });
        }
        let mut options = (*self.options).clone();
        options.credentials.user_id = user_id.to_string();
        check_options(&options)?;
        Ok(Client {
            options: Arc::new(options),
            ..self.clone()
        })
    }

    pub fn base_url(&self) -> &str {
        &self.options.base_url
    }

    /// `text` with every occurrence of this client's secret (token or app secret) replaced by
    /// `<redacted>`: for text from elsewhere that leaves koobackup (a ping's body).
    pub fn scrub(&self, text: &str) -> String {
        let secret = self.options.credentials.scheme.secret().expose();
        String::from_utf8_lossy(&without_secret(text.as_bytes(), secret)).into_owned()
    }

    pub fn user_id(&self) -> &str {
        &self.options.credentials.user_id
    }

    pub fn credentials(&self) -> &Credentials {
        &self.options.credentials
    }

    pub fn lock_ttl(&self) -> Duration {
        self.options.lock_ttl
    }

    /// The limit for one attempt.
    pub fn timeout(&self) -> Duration {
        self.options.timeout
    }

    /// Whether this client sends only reads ([`ClientOptions::read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.options.read_only
    }

    /// Server clock minus local clock, as measured from recent `Date` headers (zero until the
    /// first plausible one).
    pub fn clock_offset(&self) -> chrono::Duration {
        self.skew.offset()
    }

    /// Whether an answer has told the server's clock yet.
    pub fn clock_measured(&self) -> bool {
        self.skew.measured()
    }

    /// How many `Date` headers were ignored as no date, or as more than a day from this
    /// machine's clock ([`super::auth::MAX_PLAUSIBLE_OFFSET`]).
    pub fn ignored_dates(&self) -> usize {
        self.skew.ignored()
    }

    /// Our best estimate of the server's clock now.
    pub fn server_now(&self) -> DateTime<Utc> {
        self.skew.server_time(Utc::now())
    }

    /// The lock lifetime as a time span, capped at a year: expiries are `now + ttl`, which
    /// would overflow (and panic) for an absurd configured lifetime.
    pub(super) fn ttl(&self) -> chrono::Duration {
        let cap = chrono::Duration::days(365);
        chrono::Duration::from_std(self.options.lock_ttl).map_or(cap, |ttl| ttl.min(cap))
    }

    /// Sends `call` under its retry policy and returns the answer with the instant the
    /// successful attempt was sent. Idempotent calls are repeated, with jittered backoff, after
    /// transient failures (honouring `Retry-After`); any call is repeated once after an X-Date
    /// rejection, because the server refused it before acting and the retry carries a freshly
    /// corrected date.
    pub(super) async fn exchange(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        // Every KooDrive call that changes something is a POST, PATCH or DELETE; reads are GETs.
        if self.options.read_only && call.method != Method::GET {
            return Err(ApiError::ReadOnly {
                what: describe_call(&call.method, call.path),
            });
        }
        let mut retries_left = match call.idempotency {
            Idempotency::NotIdempotent => 0,
            Idempotency::Idempotent | Idempotency::Removal { .. } => self.options.retries,
        };
        let mut clock_retry_left = true;
        let mut backoff = self.options.retry_backoff;
        let mut an_attempt_may_have_landed = false;
        loop {
            let started = std::time::Instant::now();
            let attempt = self.attempt(&call).await;
            if let Some(AttemptObserver(observe)) = &self.options.on_attempt {
                observe(&Attempted {
                    status: attempt.status,
                    pushed_back: attempt.result.as_ref().is_err_and(ApiError::is_transient),
                    latency: started.elapsed(),
                    retry_after: attempt.retry_after,
                });
            }
            let error = match attempt.result {
                Ok(answer) => {
                    return Ok(Reply {
                        answer,
                        sent: attempt.sent,
                        gone_on_retry: false,
                    });
                }
                Err(error) => error,
            };
            if error.is_clock_rejection() && clock_retry_left {
                clock_retry_left = false;
                self.skew.keep_latest_only();
                tracing::info!(
                    path = call.path,
                    "X-Date refused; retrying with the corrected clock"
                );
                continue;
            }
            // "Not found" by status and by code: a 500 that happens to carry the code is not
            // an answer that the thing is gone.
            if let Idempotency::Removal { gone } = call.idempotency
                && an_attempt_may_have_landed
                && error.kind() == super::error::ErrorKind::NotFound
                && error.code() == Some(gone)
            {
                tracing::info!(
                    path = call.path,
                    "gone after an attempt that may have landed: done"
                );
                return Ok(Reply {
                    answer: Answer(serde_json::Map::new()),
                    sent: attempt.sent,
                    gone_on_retry: true,
                });
            }
            if !error.is_transient() || retries_left == 0 {
                return Err(error);
            }
            // A 429 was refused before anything was done; a 5xx or a lost answer may hide work
            // done.
            an_attempt_may_have_landed |= error.status() != Some(429);
            let wait = match attempt.retry_after {
                Some(asked) if asked > MAX_RETRY_AFTER => return Err(error),
                Some(asked) => asked.max(jittered(backoff)),
                None => jittered(backoff),
            };
            retries_left -= 1;
            tracing::info!(
                path = call.path,
                // Quoted as a Rust string, so a server's control characters in it reach the log
                // file escaped (an operator may `tail` it on a terminal).
                error = ?error.to_string(),
                wait_ms = wait.as_millis() as u64,
                retries_left,
                "retrying"
            );
            if let Some(RetryNotes(notes)) = &self.options.on_retry {
                notes(&format!(
                    "{} failed ({}); trying again in {} s ({} more attempt(s) at most)",
                    describe_call(&call.method, call.path),
                    brief(&error),
                    units::seconds(wait),
                    retries_left + 1
                ));
            }
            tokio::time::sleep(wait).await;
            backoff = backoff
                .saturating_mul(2)
                .min(MAX_RETRY_BACKOFF.max(self.options.retry_backoff));
        }
    }

    /// Builds `call` (a fresh X-Date and signature each time), sends it, and reads the answer.
    async fn attempt(&self, call: &Call<'_>) -> Attempt {
        let sent = Utc::now();
        let request = match self.build(call, sent) {
            Ok(request) => request,
            Err(error) => {
                return Attempt {
                    result: Err(error),
                    sent,
                    status: None,
                    retry_after: None,
                };
            }
        };
        tracing::debug!(method = %call.method, path = call.path, "request");
        let response = match self.http.execute(request).await {
            Ok(response) => response,
            Err(e) => {
                return Attempt {
                    result: Err(self.transport_error(e)),
                    sent,
                    status: None,
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(date) = headers.get(header::DATE).and_then(|v| v.to_str().ok()) {
            self.skew.observe(date, Utc::now());
        }
        let retry_after = (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
            .then(|| retry_after(&headers))
            .flatten();
        let result = match self.read_body(response).await {
            Ok(body) => {
                let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok());
                decode_answer(status, location, &body)
                    .map_err(|error| self.without_secret(status, &body, error))
            }
            Err(error) => Err(error),
        };
        tracing::debug!(status = status.as_u16(), ok = result.is_ok(), "answer");
        Attempt {
            result,
            sent,
            status: Some(status.as_u16()),
            retry_after,
        }
    }

    fn build(&self, call: &Call<'_>, now: DateTime<Utc>) -> Result<reqwest::Request, ApiError> {
        let creds = &self.options.credentials;
        let path = format!("{}{API_PREFIX}{}", self.base_path, call.path);
        let query = sign::query_string(&call.params);
        let mut url = format!("{}{API_PREFIX}{}", self.options.base_url, call.path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        let url = reqwest::Url::parse(&url).map_err(|e| ApiError::Settings {
            url: self.options.base_url.clone(),
            cause: format!("cannot build the request URL: {e}"),
        })?;
        // A lock id comes from the user or a journal file, not from the checked settings: one an
        // HTTP header cannot carry is refused here rather than silently left out.
        if let Some(lock_id) = call.lock_id
            && !header_safe(lock_id)
        {
            return Err(ApiError::NotSent {
                cause: format!(
                    "the lock id {} holds characters an HTTP header cannot carry (line breaks or \
                     other control characters)",
                    super::path::shown_id(lock_id)
                ),
            });
        }
        let x_date = self.skew.x_date(now);
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| {
            // Checked when the client was made (the lock id just above), so these always fit.
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        };
        put("host", &self.host);
        put("x-user-id", &creds.user_id);
        put("x-date", &x_date);
        if let Some(lock_id) = call.lock_id {
            put(LOCK_HEADER, lock_id);
        }
        if call.body.is_some() {
            put("content-type", "application/json");
        }
        let authorization = match &creds.scheme {
            Scheme::Bearer(token) => format!("Bearer {}", token.expose()),
            Scheme::App { app_id, secret } => {
                let signed: Vec<(String, String)> = [
                    ("host", self.host.as_str()),
                    ("x-date", &x_date),
                    ("x-user-id", &creds.user_id),
                ]
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect();
                let segments = sign::decode_path(&path);
                let parts = sign::SignedParts {
                    method: call.method.as_str(),
                    path_segments: &segments,
                    query: &call.params,
                    headers: &signed,
                    body: call.body.as_deref().unwrap_or_default(),
                };
                let signature = sign::signature(secret.expose(), &parts);
                sign::authorization(app_id, &sign::SIGNED_HEADERS.join(";"), &signature)
            }
        };
        let mut authorization = HeaderValue::from_str(&authorization).map_err(|_| ApiError::Settings {
            url: self.options.base_url.clone(),
            cause: "the credentials contain characters an HTTP header cannot carry".into(),
        })?;
        authorization.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, authorization);
        let mut request = reqwest::Request::new(call.method.clone(), url);
        *request.headers_mut() = headers;
        if let Some(body) = &call.body {
            *request.body_mut() = Some(body.clone().into());
        }
        Ok(request)
    }

    /// Reads the whole body, but never more than the answer size limit: a `Content-Length` over
    /// it fails at once, and a body that grows past it stops being read.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, ApiError> {
        let limit = self.options.max_answer_bytes;
        let too_large = ApiError::TooLarge { limit };
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport_error(e))? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A failure's texts quote the server (its `msg`, or decode details citing the body). A proxy
    /// or debug endpoint that echoes the request would put the secret there, and from there onto
    /// screens and into logs: the body is decoded again without the secret (before messages are
    /// clipped, so no fragment survives), then what a JSON escape could hide is redacted too.
    /// Success answers are never touched.
    fn without_secret(&self, status: StatusCode, body: &[u8], error: ApiError) -> ApiError {
        let Some(secret) = self.secret_to_scrub() else {
            return error;
        };
        let error = match without_secret(body, secret) {
            std::borrow::Cow::Owned(scrubbed) => {
                decode_answer(status, None, &scrubbed).err().unwrap_or(error)
            }
            std::borrow::Cow::Borrowed(_) => error,
        };
        error.redact(secret)
    }

    /// A success answer that does not have the expected shape is reported with serde's words,
    /// which quote the value found: scrubbed of the secret like every other server text.
    pub(super) fn scrubbed<T>(&self, result: Result<T, ApiError>) -> Result<T, ApiError> {
        result.map_err(|error| match self.secret_to_scrub() {
            Some(secret) => error.redact(secret),
            None => error,
        })
    }

    /// [`Client::scrubbed`] for a page, whose unreadable items are described the same way.
    pub(super) fn scrubbed_page<T>(&self, result: Result<Page<T>, ApiError>) -> Result<Page<T>, ApiError> {
        let mut page = self.scrubbed(result)?;
        if let Some(secret) = self.secret_to_scrub() {
            for reason in &mut page.unreadable {
                if reason.contains(secret) {
                    *reason = reason.replace(secret, "<redacted>");
                }
            }
        }
        Ok(page)
    }

    fn secret_to_scrub(&self) -> Option<&str> {
        let secret = self.options.credentials.scheme.secret().expose();
        (secret.len() >= MIN_REDACTED_SECRET_LEN).then_some(secret)
    }

    fn transport_error(&self, error: reqwest::Error) -> ApiError {
        if error.is_timeout() {
            return ApiError::Timeout {
                after: self.options.timeout,
            };
        }
        if let Some(cause) = tls::certificate_problem(&error) {
            return ApiError::Certificate {
                url: self.options.base_url.clone(),
                cause,
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

/// Whether `value` can travel in an HTTP header as it is: no line breaks or other control
/// characters (a tab included, which a header would carry but a server may trim or split on).
pub(super) fn header_safe(value: &str) -> bool {
    HeaderValue::from_str(value).is_ok() && !value.chars().any(char::is_control)
}

/// Secrets shorter than this are not searched for in server messages: they would match ordinary
/// words (a local test server may well use `u:t`), and only real, long secrets are secrets.
const MIN_REDACTED_SECRET_LEN: usize = 8;

/// `Retry-After` as a wait: delay-seconds, or an HTTP date (from now).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

/// A wait drawn at random from the upper half of `backoff`: retries of many clients spread out.
fn jittered(backoff: Duration) -> Duration {
    backoff.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// Whether `host` (as a URL writes it, IPv6 in brackets) is this machine: loopback addresses and
/// `localhost`.
fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let name = bare.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// Longest base URL accepted, in characters (our rule): a real one is a host and a short path;
/// a longer one is a paste gone wrong, and would only end as a refused request line.
pub const MAX_BASE_URL_LEN: usize = 2048;

/// Why `url` is too long to be a base URL, or `None`. Said without repeating it.
pub fn base_url_length_problem(url: &str) -> Option<String> {
    let length = url.chars().count();
    (length > MAX_BASE_URL_LEN).then(|| {
        format!(
            "the base URL is {length} characters long; at most {MAX_BASE_URL_LEN} are accepted (our rule)"
        )
    })
}

/// Refuses options that could never produce a request, or that would send the credentials
/// where they should not go; returns the parsed base URL.
fn check_options(options: &ClientOptions) -> Result<reqwest::Url, ApiError> {
    let base_url = options.base_url.trim();
    if let Some(problem) = base_url_length_problem(base_url) {
        return Err(ApiError::Settings {
            url: super::path::shown_id(base_url),
            cause: problem,
        });
    }
    let unusable = |cause: String| ApiError::Settings {
        // The URL as typed may hold a password: show it only without one.
        url: match reqwest::Url::parse(base_url) {
            Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.to_string()
            }
            _ => base_url.to_string(),
        },
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
    if !url.username().is_empty() || url.password().is_some() {
        return Err(unusable(
            "the base URL must not contain a user name or password (user:password@host); \
             credentials come from the profile"
                .into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(unusable(
            "the base URL must not contain a query (?…) or a fragment (#…)".into(),
        ));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| unusable("the base URL names no host".into()))?;
    if url.scheme() == "http" && !is_loopback_host(host) && !options.allow_insecure_http {
        return Err(unusable(
            "plain http:// is allowed only to this machine: the credentials would travel readable. \
             Use https://, or set allow_insecure_http = true in the profile"
                .into(),
        ));
    }
    let creds = &options.credentials;
    if !header_safe(&creds.user_id) {
        return Err(unusable(
            "the user id contains characters an HTTP header cannot carry (such as line breaks); check it"
                .into(),
        ));
    }
    let unfit = |value: &str| !header_safe(value);
    let refuse = |what: &str| {
        Err(unusable(format!(
            "the {what} contains characters an HTTP header cannot carry (such as line breaks); check it"
        )))
    };
    match &creds.scheme {
        Scheme::Bearer(token) if unfit(token.expose()) => return refuse("access token"),
        // The app id sits inside a comma-separated header value.
        Scheme::App { app_id, .. } if unfit(app_id) || app_id.contains([',', '=']) => {
            return refuse("app id");
        }
        Scheme::App { secret, .. } if unfit(secret.expose()) => return refuse("app secret"),
        _ => {}
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Token;

    #[test]
    fn unusable_base_urls_are_refused_with_a_hint() {
        for (url, expected) in [
            ("127.0.0.1:8080", "http://"),
            ("ftp://example.com", "http://"),
            ("not a url", "not a valid URL"),
            ("http://h/?a=1", "query"),
            ("http://u:pw-secret@127.0.0.1:9", "user name or password"),
            ("http://drive.example.com", "only to this machine"),
        ] {
            let creds = Credentials::new("u", Token::new("tok-secret"));
            let err = Client::new(ClientOptions::new(url, creds)).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(expected), "{url}: {text}");
            assert!(
                !text.contains("tok-secret") && !text.contains("pw-secret"),
                "{text}"
            );
        }
        let creds = Credentials::new("u", Token::new("t"));
        let client = Client::new(ClientOptions::new(" http://127.0.0.1:9/ ", creds.clone())).unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
        for fine in [
            "http://localhost:8080",
            "http://[::1]:80",
            "https://drive.example.com",
        ] {
            Client::new(ClientOptions::new(fine, creds.clone())).unwrap();
        }
        let mut insecure = ClientOptions::new("http://drive.example.com", creds);
        insecure.allow_insecure_http = true;
        Client::new(insecure).unwrap();
    }

    #[test]
    fn credentials_a_header_cannot_carry_are_refused_without_showing_them() {
        let pasted = Credentials::new("u", Token::new("tok-secret\n"));
        let err = Client::new(ClientOptions::new("http://127.0.0.1:9", pasted)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("access token contains characters"), "{text}");
        assert!(!text.contains("tok-secret") && !format!("{err:?}").contains("tok-secret"));

        let user = Credentials::new("alice\r\n", Token::new("t"));
        let err = Client::new(ClientOptions::new("http://127.0.0.1:9", user)).unwrap_err();
        assert!(err.to_string().contains("user id contains characters"), "{err}");
        let tab = Credentials::new("ali\tce", Token::new("t"));
        assert!(Client::new(ClientOptions::new("http://127.0.0.1:9", tab)).is_err());

        let app = Credentials::app("u", "app,1", Token::new("s"));
        let err = Client::new(ClientOptions::new("http://127.0.0.1:9", app)).unwrap_err();
        assert!(err.to_string().contains("app id contains"), "{err}");
        let secret = Credentials::app("u", "app", Token::new("app-secret\n"));
        let err = Client::new(ClientOptions::new("http://127.0.0.1:9", secret)).unwrap_err();
        assert!(err.to_string().contains("app secret contains"), "{err}");
        assert!(!err.to_string().contains("app-secret"));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Mon, 03 Nov 2025 07:00:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "a date in the past");
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        for _ in 0..200 {
            let wait = jittered(Duration::from_millis(400));
            assert!(
                wait >= Duration::from_millis(200) && wait <= Duration::from_millis(400),
                "{wait:?}"
            );
        }
    }
}
