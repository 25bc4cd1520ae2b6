//! HTTP handlers of the device side and of backup files: thin, like `routes.rs`. The scope list
//! and the scope delete put their payload at the top level, as the reference does.

use std::collections::HashMap;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::auth::Authed;
use super::devices;
use super::error::Failure;
use super::routes::{AppState, lock_header, non_empty, query_map, record_id, success};
use crate::api::model::{
    AddScopesRequest, BindDeviceRequest, DeleteScopesRequest, NewBackupFile, UpdateConfigRequest,
};

const PREFIX: &str = "/koodrive/ose/v1/backup";

/// The routes of this module, to merge into the server's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{PREFIX}/device"), post(bind_device).get(list_devices))
        .route(
            &format!("{PREFIX}/device/{{device_id}}"),
            axum::routing::delete(unbind_device),
        )
        .route(
            &format!("{PREFIX}/device/{{device_id}}/scope"),
            post(add_scopes).get(list_scopes).delete(delete_scopes),
        )
        .route(
            &format!("{PREFIX}/device/{{device_id}}/config"),
            get(get_config).merge(patch(update_config)),
        )
        .route(
            &format!("{PREFIX}/device/{{device_id}}/configs"),
            get(list_configs),
        )
        .route(&format!("{PREFIX}/record/{{record_id}}/file"), post(create_file))
}

/// A JSON body of the expected shape.
fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(bytes).map_err(|e| Failure::BadRequest(format!("request body: {e}")))
}

fn device_id(path: Result<Path<String>, PathRejection>) -> Result<String, Failure> {
    path.map(|Path(id)| id)
        .map_err(|_| Failure::DeviceNotFound("device not found".into()))
}

fn required(query: &HashMap<String, String>, key: &str) -> Result<String, Failure> {
    non_empty(query, key).ok_or_else(|| Failure::BadRequest(format!("{key} query parameter is required")))
}

async fn bind_device(
    State(state): State<AppState>,
    Authed { user, body: bytes }: Authed,
) -> Result<Response, Failure> {
    let request: BindDeviceRequest = body(&bytes)?;
    let now = state.faults.now();
    let device = state
        .db(move |c| devices::bind_device(c, &user, request, now))
        .await?;
    Ok(success(Some(device), None))
}

async fn list_devices(
    State(state): State<AppState>,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let list = state.db(move |c| devices::list_devices(c, &user)).await?;
    Ok(success(Some(list), None))
}

async fn unbind_device(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let id = device_id(path)?;
    let device = state.db(move |c| devices::unbind_device(c, &user, &id)).await?;
    Ok(success(Some(device), None))
}

async fn add_scopes(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Authed { user, body: bytes }: Authed,
) -> Result<Response, Failure> {
    let id = device_id(path)?;
    let request: AddScopesRequest = body(&bytes)?;
    let now = state.faults.now();
    let added = state
        .db(move |c| devices::add_scopes(c, &user, &id, &request.module_code, request.scope_list, now))
        .await?;
    Ok(success(Some(added), None))
}

async fn list_scopes(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let id = device_id(path)?;
    let module = required(&query_map(query)?, "moduleCode")?;
    let scopes = state
        .db(move |c| devices::list_scopes(c, &user, &id, &module))
        .await?;
    Ok(axum::Json(json!({"code": 0, "msg": "success", "scopeList": scopes})).into_response())
}

async fn delete_scopes(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Authed { user, body: bytes }: Authed,
) -> Result<Response, Failure> {
    let id = device_id(path)?;
    let request: DeleteScopesRequest = body(&bytes)?;
    let result = state
        .db(move |c| devices::delete_scopes(c, &user, &id, request.scope_id_list))
        .await?;
    Ok(axum::Json(json!({
        "code": 0,
        "msg": "success",
        "scopeIdList": result.scope_id_list,
        "failedScopeList": result.failed_scope_list,
    }))
    .into_response())
}

async fn get_config(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let id = device_id(path)?;
    let query = query_map(query)?;
    let (module, name) = (required(&query, "moduleCode")?, required(&query, "configName")?);
    let config = state
        .db(move |c| devices::get_config(c, &user, &id, &module, &name))
        .await?;
    Ok(success(Some(config), None))
}

async fn list_configs(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    Authed { user, .. }: Authed,
) -> Result<Response, Failure> {
    let id = device_id(path)?;
    let module = required(&query_map(query)?, "moduleCode")?;
    let configs = state
        .db(move |c| devices::list_configs(c, &user, &id, &module))
        .await?;
    Ok(success(Some(configs), None))
}

async fn update_config(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Authed { user, body: bytes }: Authed,
) -> Result<Response, Failure> {
    let id = device_id(path)?;
    let request: UpdateConfigRequest = body(&bytes)?;
    let config = state
        .db(move |c| devices::update_config(c, &user, &id, request))
        .await?;
    Ok(success(Some(config), None))
}

async fn create_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    Authed { user, body: bytes }: Authed,
) -> Result<Response, Failure> {
    let id = record_id(path)?;
    let file: NewBackupFile = body(&bytes)?;
    let lock = lock_header(&headers);
    let now = state.faults.now();
    let created = state
        .db(move |c| devices::create_file(c, &user, lock.as_deref(), &id, file, now))
        .await?;
    Ok(success(Some(created), None))
}
