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
const SCHEMA_VERSION: i64 = 3;

/// The schema of a new database (the latest version). Older databases are brought up to it by
/// [`MIGRATIONS`].
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
    -- 1: bound through POST /device (listed, has scopes and configs); 0: only named by records
    bound        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, device_id)
);
-- binding a machine code again returns the device already bound to it
CREATE UNIQUE INDEX IF NOT EXISTS bound_machine_codes ON devices (user_id, machine_code) WHERE bound = 1;
CREATE TABLE IF NOT EXISTS scopes (
    scope_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            TEXT NOT NULL,
    device_id          TEXT NOT NULL,
    module             TEXT NOT NULL,
    local_path         TEXT NOT NULL,
    target_folder_path TEXT NOT NULL,
    create_time        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS scopes_by_device ON scopes (user_id, device_id, module, scope_id);
CREATE TABLE IF NOT EXISTS configs (
    user_id      TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    module       TEXT NOT NULL,
    config_name  TEXT NOT NULL,
    config_value TEXT NOT NULL,
    description  TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, module, config_name)
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
    create_time INTEGER NOT NULL,
    sha256      TEXT,
    description TEXT
);
CREATE INDEX IF NOT EXISTS files_by_record ON files (record_id, file_id);
-- counters that only grow; `record_id_hwm` is the highest record id ever issued
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

/// `MIGRATIONS[n]` brings a database from schema version `n + 1` to `n + 2`.
const MIGRATIONS: [&str; 2] = [
    // 1 -> 2: the record id high-water mark (so that a deleted record's id is never issued
    // again), and files keep their fingerprint and description.
    "ALTER TABLE files ADD COLUMN sha256 TEXT;
     ALTER TABLE files ADD COLUMN description TEXT;
     CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
     INSERT INTO meta (key, value) SELECT 'record_id_hwm', COALESCE(MAX(record_id), 0) FROM records;",
    // 2 -> 3: bound devices (the devices only named by records stay unbound), their backup
    // scopes and configs.
    "ALTER TABLE devices ADD COLUMN bound INTEGER NOT NULL DEFAULT 0;
     CREATE UNIQUE INDEX bound_machine_codes ON devices (user_id, machine_code) WHERE bound = 1;
     CREATE TABLE scopes (scope_id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,
         device_id TEXT NOT NULL, module TEXT NOT NULL, local_path TEXT NOT NULL,
         target_folder_path TEXT NOT NULL, create_time INTEGER NOT NULL);
     CREATE INDEX scopes_by_device ON scopes (user_id, device_id, module, scope_id);
     CREATE TABLE configs (user_id TEXT NOT NULL, device_id TEXT NOT NULL, module TEXT NOT NULL,
         config_name TEXT NOT NULL, config_value TEXT NOT NULL, description TEXT NOT NULL,
         PRIMARY KEY (user_id, device_id, module, config_name));",
];

/// The `meta` key of the highest record id ever issued.
const RECORD_ID_HWM: &str = "record_id_hwm";
/// The `meta` key of the highest device id ever issued.
const DEVICE_ID_HWM: &str = "device_id_hwm";

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
    #[error("cannot create database {}: {source}", path.display())]
    Create { path: PathBuf, source: std::io::Error },
}

/// Creates `path` empty with mode 0600 unless it exists (an existing file keeps its mode).
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The single connection, guarded by a mutex. Requests are short, so one connection serialises
/// writers simply and makes every rule check + write atomic.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies the schema. A new file is
    /// created readable by its owner only; SQLite gives its `-wal` and `-shm` files the same
    /// permissions.
    pub fn open(path: &Path) -> Result<Store, OpenError> {
        let err = |source| OpenError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        create_private_file(path).map_err(|e| OpenError::Create {
            path: path.to_path_buf(),
            source: e,
        })?;
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
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'records'",
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        if tables == 0 {
            conn.execute_batch(SCHEMA).map_err(err)?;
        } else {
            // An existing database of version `found` (0 was written before versions were kept).
            for migration in MIGRATIONS
                .iter()
                .skip(usize::try_from(found.max(1) - 1).unwrap_or(0))
            {
                conn.execute_batch(&format!("BEGIN IMMEDIATE; {migration} COMMIT;"))
                    .map_err(err)?;
            }
        }
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(err)?;
        // This start's instance bits for new ids: random, and kept only by this connection (a
        // temporary table), so that a database restored from an older copy and a clock stepped
        // back do not make this start issue the ids an earlier one issued.
        conn.execute("CREATE TEMP TABLE instance (bits INTEGER NOT NULL)", [])
            .and_then(|_| {
                conn.execute(
                    "INSERT INTO temp.instance (bits) VALUES (?1)",
                    [i64::from(fastrand::u16(..INSTANCES))],
                )
            })
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
            module_code: module_from_sql(r.get(2)?)?.into(),
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

/// Milliseconds of [`snowflake`]'s epoch (2010-11-04T01:42:54.657Z, Twitter's): ids then look
/// like KooDrive's, e.g. `1842862763295184641`.
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;

/// The 22 bits below an id's milliseconds: 12 bits of instance (random per server start), then
/// 10 bits of sequence within a millisecond.
const SEQUENCE_BITS: u32 = 10;
const INSTANCES: u16 = 1 << 12;

/// The smallest snowflake-like record id for time `t`: milliseconds since
/// [`SNOWFLAKE_EPOCH_MS`] shifted left by 22 bits (the low bits left for a sequence), at least
/// `1 << 22`, and at most what fits an `i64`.
pub fn snowflake(t: DateTime<Utc>) -> i64 {
    let ms = (to_millis(t) - SNOWFLAKE_EPOCH_MS).clamp(1, i64::MAX >> 22);
    ms << 22
}

/// Issues a new record id for a record created at `now`: [`snowflake`] of `now` with this
/// start's instance bits, and above the high-water mark of every id ever issued, which it then
/// raises. The mark is persisted and only grows, so an id is never issued twice — not after the
/// newest record is deleted, not after a restart, not when the clock steps back. When the
/// database is also restored from an older copy (the mark goes back with it), the instance bits,
/// drawn anew at every start, keep this start's ids apart from an earlier start's (a collision
/// needs the same millisecond, the same of 4 096 instances and the same sequence number). Run
/// inside the transaction that inserts the record.
pub fn issue_record_id(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<i64> {
    issue_id(conn, RECORD_ID_HWM, now)
}

/// Issues a new device id, like [`issue_record_id`] but from a mark of its own.
pub fn issue_device_id(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<i64> {
    issue_id(conn, DEVICE_ID_HWM, now)
}

fn issue_id(conn: &Connection, mark: &str, now: DateTime<Utc>) -> rusqlite::Result<i64> {
    let hwm: i64 = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [mark], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let instance: i64 = conn
        .query_row("SELECT bits FROM temp.instance", [], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let id = next_id(snowflake(now), instance, hwm);
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
        params![mark, id],
    )?;
    Ok(id)
}

/// The id after `hwm` for the millisecond `ms_id` (a [`snowflake`]) and `instance`: the first of
/// that millisecond's sequence when it is above the mark, else the mark plus one within the same
/// millisecond and instance, else the first of the next millisecond.
fn next_id(ms_id: i64, instance: i64, hwm: i64) -> i64 {
    let first = ms_id | (instance << SEQUENCE_BITS);
    if first > hwm {
        return first;
    }
    let next = hwm.saturating_add(1);
    let same_slot = |id: i64| id >> SEQUENCE_BITS == hwm >> SEQUENCE_BITS;
    if same_slot(next) && (hwm >> SEQUENCE_BITS) & i64::from(INSTANCES - 1) == instance {
        next
    } else {
        ((hwm >> 22).saturating_add(1) << 22) | (instance << SEQUENCE_BITS)
    }
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

/// A file of a record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile<'a> {
    pub name: &'a str,
    pub size: u64,
    pub sha256: Option<&'a str>,
    pub description: Option<&'a str>,
}

/// Adds a file to a record; returns its id.
pub fn insert_file(
    conn: &Connection,
    record_id: i64,
    file: &NewFile<'_>,
    create_time: DateTime<Utc>,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO files (record_id, file_name, size, create_time, sha256, description)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            record_id,
            file.name,
            i64::try_from(file.size).unwrap_or(i64::MAX),
            to_millis(create_time),
            file.sha256,
            file.description,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Up to `limit` files of the record in upload order, with ids above `after` when given.
pub fn list_files(
    conn: &Connection,
    record_id: i64,
    after: Option<i64>,
    limit: u32,
) -> rusqlite::Result<Vec<BackupFile>> {
    let mut stmt = conn.prepare_cached(
        "SELECT file_id, file_name, size, create_time, sha256, description FROM files
         WHERE record_id = ?1 AND file_id > ?2 ORDER BY file_id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![record_id, after.unwrap_or(0), limit], |r| {
        Ok(BackupFile {
            file_id: r.get::<_, i64>(0)?.to_string(),
            file_name: r.get(1)?,
            sha256: r.get(4)?,
            size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            description: r.get(5)?,
            create_time: Some(from_millis(r.get(3)?)),
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_file_is_created_private_and_other_failures_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        super::create_private_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        super::create_private_file(&path).expect("an existing file is fine");
        let nowhere = dir.path().join("missing").join("x.db");
        assert!(super::create_private_file(&nowhere).is_err());
    }

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
        let a = issue_record_id(&conn, now).unwrap();
        let b = issue_record_id(&conn, now - chrono::Duration::hours(1)).unwrap();
        assert_eq!(b, a + 1);
        // Nothing was stored under either id: the mark alone keeps them from coming back.
        assert_eq!(issue_record_id(&conn, now).unwrap(), a + 2);
    }

    #[test]
    fn the_sequence_stays_within_its_instance_and_millisecond() {
        let ms = 5 << 22;
        assert_eq!(next_id(ms, 3, 0), ms | 3 << 10);
        assert_eq!(next_id(ms, 3, ms | 3 << 10), (ms | 3 << 10) + 1);
        // The sequence ran out: on to the next millisecond, same instance.
        let full = ms | 3 << 10 | 1023;
        assert_eq!(next_id(ms, 3, full), (6 << 22) | 3 << 10);
        // A mark of another instance in a later millisecond (a clock stepped back): the next
        // millisecond after it, with this instance's bits.
        assert_eq!(next_id(ms, 3, (9 << 22) | 7 << 10), (10 << 22) | 3 << 10);
    }

    #[test]
    fn a_restored_database_and_a_clock_stepped_back_do_not_reissue_ids() {
        // Ids issued at t by the start that wrote the database; then the database is restored
        // from a copy made before them, and a new start issues at the same t (its clock stepped
        // back). Different instance bits keep the new ids apart.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.db");
        let t = Utc::now();
        drop(Store::open(&path).unwrap());
        std::fs::copy(&path, dir.path().join("backup.db")).unwrap();
        let mut issued = std::collections::BTreeSet::new();
        // Each start draws its instance at random: the same bits twice would give the same ids,
        // which is the 1 in 4 096 chance the design accepts; retry until two starts differ.
        let first_start = Store::open(&path).unwrap();
        let first_bits: i64 = first_start
            .conn()
            .query_row("SELECT bits FROM temp.instance", [], |r| r.get(0))
            .unwrap();
        for _ in 0..5 {
            issued.insert(issue_record_id(&first_start.conn(), t).unwrap());
        }
        drop(first_start);
        std::fs::copy(dir.path().join("backup.db"), &path).unwrap();
        let second_start = loop {
            let store = Store::open(&path).unwrap();
            let bits: i64 = store
                .conn()
                .query_row("SELECT bits FROM temp.instance", [], |r| r.get(0))
                .unwrap();
            if bits != first_bits {
                break store;
            }
        };
        for _ in 0..5 {
            let id = issue_record_id(&second_start.conn(), t).unwrap();
            assert!(issued.insert(id), "{id} issued twice");
        }
    }

    #[test]
    fn the_id_format_is_pinned() {
        // Hand-computed: 2025-12-17T07:59:20.752Z is 1_765_958_360_752 ms after the Unix epoch,
        // 477_123_386_095 ms after the snowflake epoch; shifted left by 22 bits.
        let t: DateTime<Utc> = "2025-12-17T07:59:20.752Z".parse().unwrap();
        assert_eq!(snowflake(t), 477_123_386_095_i64 << 22);
        assert_eq!(snowflake(t), 2_001_200_526_791_802_880);
        assert_eq!(
            snowflake(t + chrono::Duration::milliseconds(1)) - snowflake(t),
            1 << 22
        );
        // Before the epoch and at the end of time: clamped, never negative, never overflowing.
        assert_eq!(snowflake(DateTime::<Utc>::MIN_UTC), 1 << 22);
        assert_eq!(snowflake(DateTime::<Utc>::MAX_UTC), (i64::MAX >> 22) << 22);
        let store = Store::open_in_memory();
        let conn = store.conn();
        let instance: i64 = conn
            .query_row("SELECT bits FROM temp.instance", [], |r| r.get(0))
            .unwrap();
        assert_eq!(issue_record_id(&conn, t).unwrap(), snowflake(t) | instance << 10);
    }

    #[test]
    fn a_version_1_database_is_migrated_and_keeps_its_high_water_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE locks (lock_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, module TEXT NOT NULL,
                     expires_at INTEGER NOT NULL, UNIQUE (user_id, module));
                 CREATE TABLE devices (user_id TEXT NOT NULL, device_id TEXT NOT NULL, machine_code TEXT NOT NULL,
                     device_name TEXT NOT NULL, device_os TEXT NOT NULL, create_time INTEGER NOT NULL,
                     PRIMARY KEY (user_id, device_id));
                 CREATE TABLE records (record_id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, module TEXT NOT NULL,
                     device_id TEXT NOT NULL, status INTEGER NOT NULL, properties TEXT NOT NULL,
                     version INTEGER NOT NULL, create_time INTEGER NOT NULL, end_time INTEGER);
                 CREATE TABLE files (file_id INTEGER PRIMARY KEY AUTOINCREMENT, record_id INTEGER NOT NULL,
                     file_name TEXT NOT NULL, size INTEGER NOT NULL, create_time INTEGER NOT NULL);
                 INSERT INTO records VALUES (9000000000000000000, 'u', '100', 'd', 0, '', 1, 0, NULL);
                 INSERT INTO files (record_id, file_name, size, create_time) VALUES (9000000000000000000, 'a', 1, 0);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let conn = store.conn();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert!(issue_record_id(&conn, Utc::now()).unwrap() > 9_000_000_000_000_000_000);
        let files = list_files(&conn, 9_000_000_000_000_000_000, None, 10).unwrap();
        assert_eq!(
            (files[0].sha256.clone(), files[0].description.clone()),
            (None, None)
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_new_database_and_its_wal_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.db");
        let store = Store::open(&path).unwrap();
        issue_record_id(&store.conn(), Utc::now()).unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("private.db{suffix}"));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
    }
}
