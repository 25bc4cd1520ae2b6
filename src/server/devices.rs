//! The rules of the device side and of backup files (reference §3 #9, #11–#19), over
//! `&mut Connection` like `rules.rs`. Field patterns are the reference's; what it leaves open is
//! our rule, and says so:
//!
//! - binding a machine code already bound returns that device (our rule), and a new binding
//!   gets the default configs of every module ([`DEFAULT_CONFIGS`], our rule);
//! - unbinding keeps the device's records and removes its scopes and configs (our rule);
//! - an unknown device is 404 / 404003, an unknown config 404 / 404005, a stale compare-and-set
//!   409 / 409004, a scope that cannot be deleted is reported in `failedScopeList` with
//!   `404004` (our codes);
//! - adding scopes answers the scopes added, creating a file answers the file (our rule: the
//!   reference shows no answer).

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::device_store as store;
use super::error::Failure;
use super::rules::{immediate, lock_for_module, owned_record, record_id_number, stored_module};
use crate::api::model::{
    BackupFile, BindDeviceRequest, CONFIG_NAME, ConfigInfo, DeviceEntity, ModuleCode, NewBackupFile,
    ScopeBaseInfo, ScopeDeleteFailedInfo, ScopeDeleteResult, ScopeInfo, UpdateConfigRequest,
};

// Most scopes added or deleted in one call: the reference's limit, which the client checks too.
use crate::api::devices::MAX_SCOPES_PER_CALL as MAX_BATCH;
/// Longest scope path.
const MAX_PATH_LEN: usize = 10_000;
/// Longest file name.
const MAX_FILE_NAME_LEN: usize = 250;
/// The code a scope that cannot be deleted is reported with (our rule).
pub const SCOPE_NOT_FOUND: &str = "404004";

/// The configs every module of a newly bound device starts with: name, value, description.
pub const DEFAULT_CONFIGS: [(&str, &str, &str); 3] = [
    ("auto_backup", "on", "Back up automatically"),
    ("wifi_only", "on", "Back up only over Wi-Fi"),
    ("schedule", "daily", "When automatic backups run"),
];

fn module(code: &str) -> Result<ModuleCode, Failure> {
    ModuleCode::from_code(code)
        .ok_or_else(|| Failure::BadRequest(format!("moduleCode must be 100, 101 or 102, not {code:?}")))
}

fn device_not_found(device_id: &str) -> Failure {
    Failure::DeviceNotFound(format!("device {device_id} is not bound"))
}

fn bound(conn: &Connection, user_id: &str, device_id: &str) -> Result<DeviceEntity, Failure> {
    store::bound_device(conn, user_id, device_id)?.ok_or_else(|| device_not_found(device_id))
}

/// Binds a device, or returns the one already bound to this machine code.
pub fn bind_device(
    conn: &mut Connection,
    user_id: &str,
    request: BindDeviceRequest,
    now: DateTime<Utc>,
) -> Result<DeviceEntity, Failure> {
    request.check().map_err(Failure::BadRequest)?;
    let tx = immediate(conn)?;
    if let Some(existing) = store::bound_by_machine_code(&tx, user_id, &request.machine_code)? {
        return Ok(existing);
    }
    let id = super::store::issue_device_id(&tx, now)?.to_string();
    let device = DeviceEntity {
        device_id: id.clone(),
        device_name: request
            .device_name
            .unwrap_or_else(|| request.machine_code.clone()),
        machine_code: request.machine_code,
        device_os: request.device_os.unwrap_or_default(),
        create_time: Some(super::store::from_millis(super::store::to_millis(now))),
    };
    store::insert_bound_device(&tx, user_id, &device, now)?;
    for module in ModuleCode::ALL {
        for (name, value, description) in DEFAULT_CONFIGS {
            let config = ConfigInfo {
                device_id: id.clone(),
                module_code: module.code().to_string(),
                config_name: name.into(),
                config_value: value.into(),
                description: Some(description.into()),
            };
            store::insert_config(&tx, user_id, &config)?;
        }
    }
    tx.commit()?;
    Ok(device)
}

pub fn list_devices(conn: &mut Connection, user_id: &str) -> Result<Vec<DeviceEntity>, Failure> {
    Ok(store::bound_devices(conn, user_id)?)
}

/// Unbinds a device and answers it as it was. Its records stay; its scopes and configs go.
pub fn unbind_device(conn: &mut Connection, user_id: &str, device_id: &str) -> Result<DeviceEntity, Failure> {
    let tx = immediate(conn)?;
    let device = bound(&tx, user_id, device_id)?;
    store::delete_device(&tx, user_id, device_id)?;
    tx.commit()?;
    Ok(device)
}

/// A scope path: empty, or starting with `/`, without a backslash, at most 10 000 characters.
fn check_path(field: &str, index: usize, path: &str) -> Result<(), Failure> {
    if path.is_empty() {
        return Ok(());
    }
    if !path.starts_with('/')
        || path.contains('\\')
        || path.chars().count() > MAX_PATH_LEN
        || path.chars().any(char::is_control)
    {
        return Err(Failure::BadRequest(format!(
            "scopeList[{index}].{field} must start with /, hold no backslash or control character, \
             and be at most {MAX_PATH_LEN} characters"
        )));
    }
    Ok(())
}

fn check_batch(field: &str, len: usize) -> Result<(), Failure> {
    if (1..=MAX_BATCH).contains(&len) {
        Ok(())
    } else {
        Err(Failure::BadRequest(format!(
            "{field} must hold 1 to {MAX_BATCH} items, not {len}"
        )))
    }
}

/// Adds scopes to a bound device (all or none); answers them as stored.
pub fn add_scopes(
    conn: &mut Connection,
    user_id: &str,
    device_id: &str,
    module_code: &str,
    scopes: Vec<ScopeBaseInfo>,
    now: DateTime<Utc>,
) -> Result<Vec<ScopeInfo>, Failure> {
    let module = module(module_code)?;
    check_batch("scopeList", scopes.len())?;
    for (index, scope) in scopes.iter().enumerate() {
        if scope.local_path.is_empty() && scope.target_folder_path.is_empty() {
            return Err(Failure::BadRequest(format!(
                "scopeList[{index}]: localPath and targetFolderPath cannot both be empty"
            )));
        }
        check_path("localPath", index, &scope.local_path)?;
        check_path("targetFolderPath", index, &scope.target_folder_path)?;
    }
    let tx = immediate(conn)?;
    bound(&tx, user_id, device_id)?;
    let added = scopes
        .iter()
        .map(|scope| store::insert_scope(&tx, user_id, device_id, module, scope, now))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.commit()?;
    Ok(added)
}

pub fn list_scopes(
    conn: &mut Connection,
    user_id: &str,
    device_id: &str,
    module_code: &str,
) -> Result<Vec<ScopeInfo>, Failure> {
    let module = module(module_code)?;
    bound(conn, user_id, device_id)?;
    Ok(store::scopes(conn, user_id, device_id, module)?)
}

/// Deletes scopes of a bound device one by one; those that cannot be are reported, not fatal.
pub fn delete_scopes(
    conn: &mut Connection,
    user_id: &str,
    device_id: &str,
    scope_ids: Vec<String>,
) -> Result<ScopeDeleteResult, Failure> {
    check_batch("scopeIdList", scope_ids.len())?;
    let tx = immediate(conn)?;
    bound(&tx, user_id, device_id)?;
    let mut result = ScopeDeleteResult::default();
    for scope_id in scope_ids {
        let deleted = match scope_id.parse::<i64>() {
            Ok(id) => store::delete_scope(&tx, user_id, device_id, id)?,
            Err(_) => false,
        };
        if deleted {
            result.scope_id_list.push(scope_id);
        } else {
            result.failed_scope_list.push(ScopeDeleteFailedInfo {
                msg: format!("scope {scope_id} not found on device {device_id}"),
                scope_id,
                error_code: SCOPE_NOT_FOUND.into(),
            });
        }
    }
    tx.commit()?;
    Ok(result)
}

pub fn get_config(
    conn: &mut Connection,
    user_id: &str,
    device_id: &str,
    module_code: &str,
    name: &str,
) -> Result<ConfigInfo, Failure> {
    let module = module(module_code)?;
    CONFIG_NAME.check(name).map_err(Failure::BadRequest)?;
    bound(conn, user_id, device_id)?;
    store::config(conn, user_id, device_id, module, name)?.ok_or_else(|| {
        Failure::ConfigNotFound(format!(
            "device {device_id} has no config {name} in module {module_code}"
        ))
    })
}

pub fn list_configs(
    conn: &mut Connection,
    user_id: &str,
    device_id: &str,
    module_code: &str,
) -> Result<Vec<ConfigInfo>, Failure> {
    let module = module(module_code)?;
    bound(conn, user_id, device_id)?;
    Ok(store::configs(conn, user_id, device_id, module)?)
}

/// Sets a config if its value is still the one the caller saw; answers the config without its
/// description (SimpleConfigInfo).
pub fn update_config(
    conn: &mut Connection,
    user_id: &str,
    device_id: &str,
    request: UpdateConfigRequest,
) -> Result<ConfigInfo, Failure> {
    let module = module(&request.module_code)?;
    request.check().map_err(Failure::BadRequest)?;
    let tx = immediate(conn)?;
    bound(&tx, user_id, device_id)?;
    let name = &request.config_name;
    let Some(config) = store::config(&tx, user_id, device_id, module, name)? else {
        return Err(Failure::ConfigNotFound(format!(
            "device {device_id} has no config {name} in module {}",
            request.module_code
        )));
    };
    if !store::set_config_if(
        &tx,
        user_id,
        device_id,
        module,
        name,
        &request.current_config_value,
        &request.new_config_value,
    )? {
        return Err(Failure::ConfigChanged(format!(
            "config {name} is {:?} now, not {:?}: read it again before changing it",
            config.config_value, request.current_config_value
        )));
    }
    tx.commit()?;
    Ok(ConfigInfo {
        config_value: request.new_config_value,
        description: None,
        ..config
    })
}

/// A file name: not empty, `.` or `..`, none of `< > | : " * ? /` (nor a control character, our
/// rule), at most 250 characters.
fn check_file_name(name: &str) -> Result<(), Failure> {
    let forbidden = |c: char| matches!(c, '<' | '>' | '|' | ':' | '"' | '*' | '?' | '/') || c.is_control();
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.chars().count() > MAX_FILE_NAME_LEN
        || name.chars().any(forbidden)
    {
        return Err(Failure::BadRequest(format!(
            "fileName must be 1 to {MAX_FILE_NAME_LEN} characters, not . or .., without < > | : \" * ? / \
             or control characters"
        )));
    }
    Ok(())
}

/// Registers a backup file's metadata under a record, under a live lock for its module.
pub fn create_file(
    conn: &mut Connection,
    user_id: &str,
    lock_id: Option<&str>,
    record_id: &str,
    file: NewBackupFile,
    now: DateTime<Utc>,
) -> Result<BackupFile, Failure> {
    check_file_name(&file.file_name)?;
    if let Some(sha256) = &file.sha256
        && (sha256.is_empty() || sha256.len() > 128 || !sha256.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(Failure::BadRequest(
            "sha256 must be the file's hex fingerprint".into(),
        ));
    }
    if file
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 1_000)
    {
        return Err(Failure::BadRequest(
            "description must be at most 1000 characters".into(),
        ));
    }
    let length = match file.length {
        Some(length) if length > i64::MAX as u64 => {
            return Err(Failure::BadRequest("length is larger than a file can be".into()));
        }
        Some(length) => length,
        None => 0,
    };
    let tx = immediate(conn)?;
    let record = owned_record(&tx, user_id, record_id)?;
    lock_for_module(&tx, user_id, lock_id, stored_module(&record)?, now)?;
    let new = super::store::NewFile {
        name: &file.file_name,
        size: length,
        sha256: file.sha256.as_deref(),
        description: file.description.as_deref(),
    };
    let file_id = super::store::insert_file(&tx, record_id_number(&record)?, &new, now)?;
    tx.commit()?;
    Ok(BackupFile {
        file_id: file_id.to_string(),
        file_name: file.file_name,
        sha256: file.sha256,
        size: length,
        description: file.description,
        create_time: Some(super::store::from_millis(super::store::to_millis(now))),
    })
}

#[cfg(test)]
mod tests;
