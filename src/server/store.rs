//! SQLite storage: schema and queries. One database file in WAL mode, so data survives a restart
//! and readers never block on the writer.
//!
//! Queries here know nothing of the API rules (who may do what); `rules.rs` decides that and calls
//! these inside one transaction per request. Times are stored as milliseconds since the Unix epoch.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::api::model::{BackupFile, BackupRecord, DeviceEntity, ModuleCode, RecordStatus};

/// Schema version kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS locks (
    lock_id    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    module     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    -- at most one lock row per user and module: a create replaces an expired one, so this
    -- constraint is what makes concurrent creates race-free
    UNIQUE (user_id, module)
);
CREATE TABLE IF NOT EXISTS devices (
    user_id      TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    machine_code TEXT NOT NULL,
    device_name  TEXT NOT NULL,
    device_os    TEXT NOT NULL,
    create_time  INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
CREATE TABLE IF NOT EXISTS records (
    record_id   INTEGER PRIMARY KEY,
    user_id     TEXT NOT NULL,
    module      TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    status      INTEGER NOT NULL,
    properties  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    end_time    INTEGER
);
CREATE INDEX IF NOT EXISTS records_by_owner ON records (user_id, module, record_id);
CREATE TABLE IF NOT EXISTS files (
    file_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id   INTEGER NOT NULL REFERENCES records (record_id) ON DELETE CASCADE,
    file_name   TEXT NOT NULL,
    size        INTEGER NOT NULL,
    create_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_record ON files (record_id, file_id);
";

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open database {}: {source}", path.display())]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error(
        "database {} has schema version {found}, this koobackup understands {SCHEMA_VERSION}: \
         use a newer koobackup or another --db file",
        path.display()
    )]
    Version { path: PathBuf, found: i64 },
}

/// The single connection, guarded by a mutex. Requests are short, so one connection serialises
/// writers simply and makes every rule check + write atomic.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies the schema.
    pub fn open(path: &Path) -> Result<Store, OpenError> {
        let err = |source| OpenError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        Self::init(conn, path)
    }

    #[cfg(test)]
    pub fn open_in_memory() -> Store {
        let conn = Connection::open_in_memory().expect("in-memory sqlite");
        Self::init(conn, Path::new(":memory:")).expect("schema")
    }

    fn init(conn: Connection, path: &Path) -> Result<Store, OpenError> {
        let err = |source| OpenError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        // journal_mode returns a row, so it is read rather than executed.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .map_err(err)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if found > SCHEMA_VERSION {
            return Err(OpenError::Version {
                path: path.to_path_buf(),
                found,
            });
        }
        conn.execute_batch(SCHEMA).map_err(err)?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(err)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// The connection. A panic while it was held cannot leave a half-done write behind (the
    /// transaction rolls back on drop), so a poisoned mutex is still safe to use.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn module_from_sql(text: String) -> rusqlite::Result<ModuleCode> {
    ModuleCode::from_code(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown module code {text:?} in database").into(),
        )
    })
}

/// A lock as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRow {
    pub lock_id: String,
    pub user_id: String,
    pub module: ModuleCode,
    pub expires_at: DateTime<Utc>,
}

fn lock_from_row(r: &Row<'_>) -> rusqlite::Result<LockRow> {
    Ok(LockRow {
        lock_id: r.get(0)?,
        user_id: r.get(1)?,
        module: module_from_sql(r.get(2)?)?,
        expires_at: from_millis(r.get(3)?),
    })
}

pub fn get_lock(conn: &Connection, lock_id: &str) -> rusqlite::Result<Option<LockRow>> {
    conn.query_row(
        "SELECT lock_id, user_id, module, expires_at FROM locks WHERE lock_id = ?1",
        [lock_id],
        lock_from_row,
    )
    .optional()
}

pub fn get_lock_for(
    conn: &Connection,
    user_id: &str,
    module: ModuleCode,
) -> rusqlite::Result<Option<LockRow>> {
    conn.query_row(
        "SELECT lock_id, user_id, module, expires_at FROM locks WHERE user_id = ?1 AND module = ?2",
        params![user_id, module.code()],
        lock_from_row,
    )
    .optional()
}

pub fn insert_lock(conn: &Connection, lock: &LockRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO locks (lock_id, user_id, module, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            lock.lock_id,
            lock.user_id,
            lock.module.code(),
            to_millis(lock.expires_at)
        ],
    )?;
    Ok(())
}

pub fn set_lock_expiry(conn: &Connection, lock_id: &str, expires_at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE locks SET expires_at = ?2 WHERE lock_id = ?1",
        params![lock_id, to_millis(expires_at)],
    )?;
    Ok(())
}

pub fn delete_lock(conn: &Connection, lock_id: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM locks WHERE lock_id = ?1", [lock_id])?;
    Ok(())
}

/// Inserts the device unless the user already has one with this id.
pub fn insert_device_if_absent(
    conn: &Connection,
    user_id: &str,
    device: &DeviceEntity,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO devices
             (user_id, device_id, machine_code, device_name, device_os, create_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
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

/// A record together with its owner.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub user_id: String,
    pub record: BackupRecord,
}

const RECORD_COLUMNS: &str = "r.record_id, r.user_id, r.module, r.status, r.properties, \
     r.version, r.create_time, r.end_time, r.device_id, d.machine_code, d.device_name, \
     d.device_os, d.create_time";

fn record_from_row(r: &Row<'_>) -> rusqlite::Result<StoredRecord> {
    let record_id: i64 = r.get(0)?;
    let device_id: String = r.get(8)?;
    Ok(StoredRecord {
        user_id: r.get(1)?,
        record: BackupRecord {
            record_id: record_id.to_string(),
            module_code: module_from_sql(r.get(2)?)?,
            status: RecordStatus::from_number(r.get(3)?),
            properties: r.get(4)?,
            version: r.get(5)?,
            create_time: from_millis(r.get(6)?),
            end_time: r.get::<_, Option<i64>>(7)?.map(from_millis),
            device_info: DeviceEntity {
                // A device row always exists (created with the record); the fallbacks only
                // matter for a hand-edited database.
                machine_code: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
                device_name: r
                    .get::<_, Option<String>>(10)?
                    .unwrap_or_else(|| device_id.clone()),
                device_os: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
                create_time: r.get::<_, Option<i64>>(12)?.map(from_millis),
                device_id,
            },
        },
    })
}

pub fn get_record(conn: &Connection, record_id: i64) -> rusqlite::Result<Option<StoredRecord>> {
    conn.query_row(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM records r
             LEFT JOIN devices d ON d.user_id = r.user_id AND d.device_id = r.device_id
             WHERE r.record_id = ?1"
        ),
        [record_id],
        record_from_row,
    )
    .optional()
}

/// The smallest snowflake-like record id for time `t`: milliseconds since 2010-11-04 shifted
/// left by 22 bits (ids look like KooDrive's, e.g. `1842862763295184641`).
pub fn snowflake(t: DateTime<Utc>) -> i64 {
    const EPOCH_MS: i64 = 1_288_834_974_657;
    (to_millis(t) - EPOCH_MS).max(1) << 22
}

/// A new record id: [`snowflake`] of `now`, and always greater than every id already stored so
/// ids increase even if the clock goes back.
pub fn next_record_id(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<i64> {
    let max: Option<i64> = conn.query_row("SELECT MAX(record_id) FROM records", [], |r| r.get(0))?;
    Ok(snowflake(now).max(max.map_or(0, |m| m + 1)))
}

pub fn record_exists(conn: &Connection, record_id: i64) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM records WHERE record_id = ?1)",
        [record_id],
        |r| r.get(0),
    )
}

/// Inserts `record` (its id must be numeric and unused) for `user_id`. The device described
/// by `record.device_info` must already exist.
pub fn insert_record(conn: &Connection, user_id: &str, record: &BackupRecord) -> rusqlite::Result<()> {
    let id: i64 = record
        .record_id
        .parse()
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute(
        "INSERT INTO records
             (record_id, user_id, module, device_id, status, properties, version, create_time, end_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            id,
            user_id,
            record.module_code.code(),
            record.device_info.device_id,
            record.status.number(),
            record.properties,
            record.version,
            to_millis(record.create_time),
            record.end_time.map(to_millis),
        ],
    )?;
    Ok(())
}

/// Up to `limit` records of `user_id` in `module`, newest (highest id) first, with ids below
/// `before` when given.
pub fn list_records(
    conn: &Connection,
    user_id: &str,
    module: ModuleCode,
    device_id: Option<&str>,
    before: Option<i64>,
    limit: u32,
) -> rusqlite::Result<Vec<BackupRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM records r
         LEFT JOIN devices d ON d.user_id = r.user_id AND d.device_id = r.device_id
         WHERE r.user_id = ?1 AND r.module = ?2 AND r.record_id < ?3
           AND (?4 IS NULL OR r.device_id = ?4)
         ORDER BY r.record_id DESC LIMIT ?5"
    ))?;
    let rows = stmt.query_map(
        params![
            user_id,
            module.code(),
            before.unwrap_or(i64::MAX),
            device_id,
            limit
        ],
        record_from_row,
    )?;
    rows.map(|r| r.map(|s| s.record)).collect()
}

pub fn count_records_of(conn: &Connection, user_id: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM records WHERE user_id = ?1",
        [user_id],
        |r| r.get(0),
    )
}

/// Marks the record completed at `now`, bumps its version and replaces its properties if given.
pub fn complete_record(
    conn: &Connection,
    record_id: i64,
    now: DateTime<Utc>,
    properties: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE records SET status = 1, end_time = ?2, version = version + 1,
             properties = COALESCE(?3, properties)
         WHERE record_id = ?1",
        params![record_id, to_millis(now), properties],
    )?;
    Ok(())
}

/// Deletes the record and (by the foreign key's cascade) its files.
pub fn delete_record(conn: &Connection, record_id: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM records WHERE record_id = ?1", [record_id])?;
    Ok(())
}

pub fn insert_file(
    conn: &Connection,
    record_id: i64,
    name: &str,
    size: u64,
    create_time: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO files (record_id, file_name, size, create_time) VALUES (?1, ?2, ?3, ?4)",
        params![
            record_id,
            name,
            i64::try_from(size).unwrap_or(i64::MAX),
            to_millis(create_time)
        ],
    )?;
    Ok(())
}

/// Up to `limit` files of the record in upload order, with ids above `after` when given.
pub fn list_files(
    conn: &Connection,
    record_id: i64,
    after: Option<i64>,
    limit: u32,
) -> rusqlite::Result<Vec<BackupFile>> {
    let mut stmt = conn.prepare_cached(
        "SELECT file_id, file_name, size, create_time FROM files
         WHERE record_id = ?1 AND file_id > ?2 ORDER BY file_id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![record_id, after.unwrap_or(0), limit], |r| {
        Ok(BackupFile {
            file_id: r.get::<_, i64>(0)?.to_string(),
            file_name: r.get(1)?,
            size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            create_time: from_millis(r.get(3)?),
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_survives_reopen_and_rejects_newer_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        {
            let store = Store::open(&path).unwrap();
            let conn = store.conn();
            let now = Utc::now();
            insert_lock(
                &conn,
                &LockRow {
                    lock_id: "a@100".into(),
                    user_id: "u".into(),
                    module: ModuleCode::Folder,
                    expires_at: from_millis(to_millis(now)),
                },
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert!(get_lock(&store.conn(), "a@100").unwrap().is_some());
        store.conn().execute_batch("PRAGMA user_version = 99").unwrap();
        drop(store);
        let err = Store::open(&path).err().expect("newer schema must be refused");
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }

    #[test]
    fn garbage_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a-db");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let err = Store::open(&path).err().expect("garbage must be refused");
        assert!(err.to_string().contains("not-a-db"), "{err}");
    }

    #[test]
    fn record_ids_increase_even_when_the_clock_goes_back() {
        let store = Store::open_in_memory();
        let conn = store.conn();
        let now = Utc::now();
        let a = next_record_id(&conn, now).unwrap();
        conn.execute(
            "INSERT INTO records VALUES (?1, 'u', '100', 'd', 0, '', 1, 0, NULL)",
            [a],
        )
        .unwrap();
        let b = next_record_id(&conn, now - chrono::Duration::hours(1)).unwrap();
        assert!(b > a);
    }
}
