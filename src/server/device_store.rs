//! SQLite queries for bound devices, their backup scopes and their configs (schema in
//! `store.rs`). Like `store.rs`, these know nothing of the API's rules; `devices.rs` decides.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::store::{from_millis, to_millis};
use crate::api::model::{ConfigInfo, DeviceEntity, ModuleCode, ScopeBaseInfo, ScopeInfo};

fn device_from_row(r: &Row<'_>) -> rusqlite::Result<DeviceEntity> {
    Ok(DeviceEntity {
        device_id: r.get(0)?,
        machine_code: r.get(1)?,
        device_name: r.get(2)?,
        device_os: r.get(3)?,
        create_time: Some(from_millis(r.get(4)?)),
    })
}

const DEVICE_COLUMNS: &str = "device_id, machine_code, device_name, device_os, create_time";

/// The user's bound device with this machine code.
pub fn bound_by_machine_code(
    conn: &Connection,
    user_id: &str,
    machine_code: &str,
) -> rusqlite::Result<Option<DeviceEntity>> {
    conn.query_row(
        &format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE user_id = ?1 AND machine_code = ?2 AND bound = 1"
        ),
        params![user_id, machine_code],
        device_from_row,
    )
    .optional()
}

/// The user's bound device `device_id`.
pub fn bound_device(
    conn: &Connection,
    user_id: &str,
    device_id: &str,
) -> rusqlite::Result<Option<DeviceEntity>> {
    conn.query_row(
        &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE user_id = ?1 AND device_id = ?2 AND bound = 1"),
        params![user_id, device_id],
        device_from_row,
    )
    .optional()
}

/// Every bound device of the user, oldest binding first.
pub fn bound_devices(conn: &Connection, user_id: &str) -> rusqlite::Result<Vec<DeviceEntity>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE user_id = ?1 AND bound = 1 ORDER BY create_time, device_id"
    ))?;
    let rows = stmt.query_map([user_id], device_from_row)?;
    rows.collect()
}

/// Stores `device` as bound (replacing an unbound row of the same id).
pub fn insert_bound_device(
    conn: &Connection,
    user_id: &str,
    device: &DeviceEntity,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO devices
             (user_id, device_id, machine_code, device_name, device_os, create_time, bound)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)",
        params![
            user_id,
            device.device_id,
            device.machine_code,
            device.device_name,
            device.device_os,
            to_millis(device.create_time.unwrap_or(now)),
        ],
    )?;
    Ok(())
}

/// Removes the device with its scopes and configs. Its records stay (they then show the device
/// id only).
pub fn delete_device(conn: &Connection, user_id: &str, device_id: &str) -> rusqlite::Result<()> {
    for table in ["scopes", "configs", "devices"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE user_id = ?1 AND device_id = ?2"),
            params![user_id, device_id],
        )?;
    }
    Ok(())
}

fn scope_from_row(r: &Row<'_>) -> rusqlite::Result<ScopeInfo> {
    Ok(ScopeInfo {
        scope_id: r.get::<_, i64>(0)?.to_string(),
        module_code: r.get(1)?,
        local_path: r.get(2)?,
        target_folder_path: r.get(3)?,
        create_time: Some(from_millis(r.get(4)?)),
    })
}

/// Adds a scope; returns it as stored.
pub fn insert_scope(
    conn: &Connection,
    user_id: &str,
    device_id: &str,
    module: ModuleCode,
    scope: &ScopeBaseInfo,
    now: DateTime<Utc>,
) -> rusqlite::Result<ScopeInfo> {
    conn.execute(
        "INSERT INTO scopes (user_id, device_id, module, local_path, target_folder_path, create_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            user_id,
            device_id,
            module.code(),
            scope.local_path,
            scope.target_folder_path,
            to_millis(now)
        ],
    )?;
    Ok(ScopeInfo {
        scope_id: conn.last_insert_rowid().to_string(),
        module_code: module.code().to_string(),
        local_path: scope.local_path.clone(),
        target_folder_path: scope.target_folder_path.clone(),
        create_time: Some(from_millis(to_millis(now))),
    })
}

/// The device's scopes of `module`, in the order they were added.
pub fn scopes(
    conn: &Connection,
    user_id: &str,
    device_id: &str,
    module: ModuleCode,
) -> rusqlite::Result<Vec<ScopeInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT scope_id, module, local_path, target_folder_path, create_time FROM scopes
         WHERE user_id = ?1 AND device_id = ?2 AND module = ?3 ORDER BY scope_id",
    )?;
    let rows = stmt.query_map(params![user_id, device_id, module.code()], scope_from_row)?;
    rows.collect()
}

/// Deletes one of the device's scopes; `false` if it has none with this id.
pub fn delete_scope(
    conn: &Connection,
    user_id: &str,
    device_id: &str,
    scope_id: i64,
) -> rusqlite::Result<bool> {
    let deleted = conn.execute(
        "DELETE FROM scopes WHERE user_id = ?1 AND device_id = ?2 AND scope_id = ?3",
        params![user_id, device_id, scope_id],
    )?;
    Ok(deleted > 0)
}

fn config_from_row(r: &Row<'_>) -> rusqlite::Result<ConfigInfo> {
    Ok(ConfigInfo {
        device_id: r.get(0)?,
        module_code: r.get(1)?,
        config_name: r.get(2)?,
        config_value: r.get(3)?,
        description: Some(r.get(4)?),
    })
}

const CONFIG_COLUMNS: &str = "device_id, module, config_name, config_value, description";

pub fn insert_config(conn: &Connection, user_id: &str, config: &ConfigInfo) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO configs (user_id, device_id, module, config_name, config_value, description)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            user_id,
            config.device_id,
            config.module_code,
            config.config_name,
            config.config_value,
            config.description.as_deref().unwrap_or_default()
        ],
    )?;
    Ok(())
}

/// The device's configs of `module`, by name.
pub fn configs(
    conn: &Connection,
    user_id: &str,
    device_id: &str,
    module: ModuleCode,
) -> rusqlite::Result<Vec<ConfigInfo>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONFIG_COLUMNS} FROM configs WHERE user_id = ?1 AND device_id = ?2 AND module = ?3
         ORDER BY config_name"
    ))?;
    let rows = stmt.query_map(params![user_id, device_id, module.code()], config_from_row)?;
    rows.collect()
}

pub fn config(
    conn: &Connection,
    user_id: &str,
    device_id: &str,
    module: ModuleCode,
    name: &str,
) -> rusqlite::Result<Option<ConfigInfo>> {
    conn.query_row(
        &format!(
            "SELECT {CONFIG_COLUMNS} FROM configs
             WHERE user_id = ?1 AND device_id = ?2 AND module = ?3 AND config_name = ?4"
        ),
        params![user_id, device_id, module.code(), name],
        config_from_row,
    )
    .optional()
}

/// Sets the value if it is still `current`; `false` when it was not (a compare-and-set).
pub fn set_config_if(
    conn: &Connection,
    user_id: &str,
    device_id: &str,
    module: ModuleCode,
    name: &str,
    current: &str,
    new: &str,
) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "UPDATE configs SET config_value = ?6
         WHERE user_id = ?1 AND device_id = ?2 AND module = ?3 AND config_name = ?4 AND config_value = ?5",
        params![user_id, device_id, module.code(), name, current, new],
    )?;
    Ok(changed > 0)
}
