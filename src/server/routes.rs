//! HTTP handlers: thin. Each takes its path and query as `Result` extractors (so that they never
//! reject before authentication) and [`Authed`] last, then parses, calls `rules`, and encodes.
//! The order of checks is ours: authentication, then input validation, then the rules. Every
//! outcome, including unknown paths, wrong methods and oversized bodies, is a JSON envelope.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;

use super::auth::{Accepted, Authed, header_str};
use super::error::Failure;
use super::faults::FaultState;
use super::rules::{self, NewRecord};
use super::store::Store;
use crate::api::model::{CreateLockData, Envelope, ModuleCode};

const LOCK_HEADER: &str = "x-backup-lock-id";

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub faults: Arc<FaultState>,
    pub accepted: Arc<Accepted>,
    pub lock_ttl: chrono::Duration,
}

impl AppState {
    /// Runs blocking SQLite work on the blocking pool, never on the async workers.
    pub(super) async fn db<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&mut store.conn()))
            .await
            .map_err(|e| Failure::Internal(format!("request task failed: {e}")))?
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/koodrive/ose/v1/backup/lock",
            post(create_lock).patch(renew_lock).delete(release_lock),
        )
        .route(
            "/koodrive/ose/v1/backup/record",
            post(create_record).get(list_records),
        )
        .route(
            "/koodrive/ose/v1/backup/record/{record_id}",
            get(view_record).patch(complete_record).delete(delete_record),
        )
        .route(
            "/koodrive/ose/v1/backup/record/{record_id}/files",
            get(list_files),
        )
        .merge(super::device_routes::routes())
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), apply_faults))
        .layer(middleware::from_fn_with_state(state.clone(), server_date))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One log line per request answered (with `--log-file`): method, path, status and how long it
/// took. Headers and bodies, where credentials travel, are never logged.
async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "served"
    );
    response
}

/// Sets `Date` from the server clock (fault offset included): clients measure skew from it.
/// Hyper only adds its own `Date` when the response has none.
async fn server_date(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let date = state.faults.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(value) = HeaderValue::from_str(&date) {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

/// Latency and injected errors, before anything else (the rate limit comes after
/// authentication, in [`Authed`]).
async fn apply_faults(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match state.faults.apply().await {
        Ok(()) => next.run(request).await,
        Err(failure) => failure.into_response(),
    }
}

async fn unknown_path(method: Method, uri: Uri) -> Failure {
    Failure::UnknownPath(format!("no endpoint {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> Failure {
    Failure::MethodNotAllowed(format!("method {method} is not allowed on {}", uri.path()))
}

pub(super) fn success<T: Serialize>(data: Option<T>, next_cursor: Option<String>) -> Response {
    axum::Json(Envelope {
        data,
        next_cursor,
        ..Envelope::success()
    })
    .into_response()
}

fn no_data() -> Response {
    success::<()>(None, None)
}

/// Parses a body that must be a JSON object.
fn json_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, Failure> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::BadRequest("request body must be a JSON object".into())),
        Err(e) => Err(Failure::BadRequest(format!(
            "request body is not valid JSON: {e}"
        ))),
    }
}

/// `moduleCode` from a body field or query parameter (string or number).
fn module_code(value: Option<Value>) -> Result<ModuleCode, Failure> {
    match value {
        None | Some(Value::Null) => Err(Failure::BadRequest("moduleCode is required".into())),
        Some(v) => serde_json::from_value(v).map_err(|e| Failure::BadRequest(format!("moduleCode: {e}"))),
    }
}

/// Optional `properties`: absent or null means none; otherwise it must be a string.
fn properties(value: Option<Value>) -> Result<Option<String>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Failure::BadRequest(
            "properties must be a string holding JSON text, e.g. \"{\\\"k\\\":1}\"".into(),
        )),
    }
}

pub(super) fn lock_header(headers: &HeaderMap) -> Option<String> {
    header_str(headers, LOCK_HEADER).map(str::to_owned)
}

pub(super) fn query_map(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, Failure> {
    query
        .map(|Query(q)| q)
        .map_err(|e| Failure::BadRequest(format!("invalid query string: {}", e.body_text())))
}

fn page_size(query: &HashMap<String, String>) -> Result<u32, Failure> {
    let text = query
        .get("pageSize")
        .ok_or_else(|| Failure::BadRequest("pageSize query parameter is required (1-100)".into()))?;
    text.trim()
        .parse()
        .map_err(|_| Failure::BadRequest(format!("pageSize must be an integer from 1 to 100, got {text:?}")))
}

pub(super) fn non_empty(query: &HashMap<String, String>, key: &str) -> Option<String> {
    query.get(key).filter(|v| !v.is_empty()).cloned()
}

pub(super) fn record_id(path: Result<Path<String>, PathRejection>) -> Result<String, Failure> {
    path.map(|Path(id)| id)
        .map_err(|_| Failure::RecordNotFound("record not found".into()))
}

async fn create_lock(
    State(state): State<AppState>,
    Authed { user, body }: Authed,
) -> Result<Response, Failure> {
    let mut fields = json_object(&body)?;
    let module = module_code(fields.remove("moduleCode"))?;
    let (now, ttl) = (state.faults.now(), state.lock_ttl);
    let lock_id = state
        .db(move |c| rules::create_lock(c, &user, module, now, ttl))
        .await?;
    Ok(success(Some(CreateLockData { lock_id }), None))
}

async fn renew_lock(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let lock = lock_header(&headers);
    let (now, ttl) = (state.faults.now(), state.lock_ttl);
    state
        .db(move |c| rules::renew_lock(c, &user, lock.as_deref(), now, ttl))
        .await?;
    Ok(no_data())
}

async fn release_lock(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let lock = lock_header(&headers);
    state
        .db(move |c| rules::release_lock(c, &user, lock.as_deref()))
        .await?;
    Ok(no_data())
}

async fn create_record(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authed { user, body }: Authed,
) -> Result<Response, Failure> {
    let mut fields = json_object(&body)?;
    let module = module_code(fields.remove("moduleCode"))?;
    let device_id = match fields.remove("deviceId") {
        Some(Value::String(s)) => s,
        // The reference's example sends a number; only whole numbers that fit 64 bits are ids
        // (a bigger one, or `1e3`, arrives as a float, already rounded).
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(Value::Number(n)) => {
            return Err(Failure::BadRequest(format!(
                "deviceId {n} is not a whole number that fits 64 bits; send the id as a string"
            )));
        }
        None | Some(Value::Null) => return Err(Failure::BadRequest("deviceId is required".into())),
        Some(_) => {
            return Err(Failure::BadRequest(
                "deviceId must be a string (or a number)".into(),
            ));
        }
    };
    let new = NewRecord {
        module,
        device_id,
        properties: properties(fields.remove("properties"))?,
    };
    let lock = lock_header(&headers);
    let now = state.faults.now();
    let record = state
        .db(move |c| rules::create_record(c, &user, lock.as_deref(), new, now))
        .await?;
    Ok(success(Some(record), None))
}

async fn list_records(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let query = query_map(query)?;
    let module = module_code(query.get("moduleCode").cloned().map(Value::String))?;
    let size = page_size(&query)?;
    let (cursor, device) = (non_empty(&query, "cursor"), non_empty(&query, "deviceId"));
    let page = state
        .db(move |c| rules::list_records(c, &user, module, device.as_deref(), size, cursor.as_deref()))
        .await?;
    Ok(success(Some(page.items), page.next_cursor))
}

async fn view_record(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let id = record_id(path)?;
    let record = state.db(move |c| rules::view_record(c, &user, &id)).await?;
    Ok(success(Some(record), None))
}

async fn complete_record(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    Authed { user, body }: Authed,
) -> Result<Response, Failure> {
    let id = record_id(path)?;
    // The body is optional: none (or only whitespace) means "keep the properties".
    let props = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        properties(json_object(&body)?.remove("properties"))?
    };
    let lock = lock_header(&headers);
    let now = state.faults.now();
    state
        .db(move |c| rules::complete_record(c, &user, lock.as_deref(), &id, props, now))
        .await?;
    Ok(no_data())
}

async fn delete_record(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let id = record_id(path)?;
    let lock = lock_header(&headers);
    let now = state.faults.now();
    state
        .db(move |c| rules::delete_record(c, &user, lock.as_deref(), &id, now))
        .await?;
    Ok(no_data())
}

async fn list_files(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let id = record_id(path)?;
    let query = query_map(query)?;
    let size = page_size(&query)?;
    let cursor = non_empty(&query, "cursor");
    let page = state
        .db(move |c| rules::list_files(c, &user, &id, size, cursor.as_deref()))
        .await?;
    Ok(success(Some(page.items), page.next_cursor))
}
