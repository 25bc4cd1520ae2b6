//! Lock and record semantics as plain functions over a SQLite connection.
//!
//! Each function runs in its own immediate transaction, so the check ("is there a live lock?")
//! and the write that depends on it cannot interleave with another request. The caller passes
//! the server clock (`now`, fault offset included) and the lock lifetime, which keeps these
//! functions deterministic and unit-testable.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};

use super::error::Failure;
use super::store::{self, LockRow};
use crate::api::model::{
    BackupFile, BackupRecord, DeviceEntity, MAX_CURSOR_LEN, MAX_PAGE_SIZE, ModuleCode, Page, RecordStatus,
};

/// Longest `deviceId` accepted on create.
pub const MAX_DEVICE_ID_LEN: usize = 256;

pub(super) fn immediate(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>, Failure> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

/// Creates the lock of `user_id` on `module`. An expired lock of the same user and module is
/// replaced (its id then answers 404002); a live one makes this fail with 409001.
pub fn create_lock(
    conn: &mut Connection,
    user_id: &str,
    module: ModuleCode,
    now: DateTime<Utc>,
    ttl: chrono::Duration,
) -> Result<String, Failure> {
    let tx = immediate(conn)?;
    if let Some(existing) = store::get_lock_for(&tx, user_id, module)? {
        if existing.expires_at > now {
            return Err(Failure::LockHeld(format!(
                "a live lock already exists for module {} (it expires at {})",
                module.code(),
                existing.expires_at.to_rfc3339()
            )));
        }
        store::delete_lock(&tx, &existing.lock_id)?;
    }
    let lock_id = format!("{}@{}", uuid::Uuid::new_v4(), module.code());
    store::insert_lock(
        &tx,
        &LockRow {
            lock_id: lock_id.clone(),
            user_id: user_id.to_owned(),
            module,
            expires_at: now + ttl,
        },
    )?;
    tx.commit()?;
    Ok(lock_id)
}

/// The lock `lock_id` if it exists and belongs to `user_id` (expired or not).
fn owned_lock(conn: &Connection, user_id: &str, lock_id: Option<&str>) -> Result<LockRow, Failure> {
    let lock_id = lock_id.ok_or_else(|| Failure::LockNotFound("missing x-backup-lock-id header".into()))?;
    let lock = store::get_lock(conn, lock_id)?.ok_or_else(|| {
        Failure::LockNotFound(format!(
            "lock {lock_id} not found (never created, released or replaced)"
        ))
    })?;
    if lock.user_id != user_id {
        return Err(Failure::Forbidden(format!(
            "lock {lock_id} belongs to another user"
        )));
    }
    Ok(lock)
}

/// Like [`owned_lock`], and the lock must still be live.
fn live_lock(
    conn: &Connection,
    user_id: &str,
    lock_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<LockRow, Failure> {
    let lock = owned_lock(conn, user_id, lock_id)?;
    if lock.expires_at <= now {
        return Err(Failure::LockExpired(format!(
            "lock {} expired at {}",
            lock.lock_id,
            lock.expires_at.to_rfc3339()
        )));
    }
    Ok(lock)
}

/// Renews a lock and returns its new expiry: `now + ttl` for a live lock, `old expiry + ttl` for
/// an expired one (409002, unchanged, if that is still not in the future).
pub fn renew_lock(
    conn: &mut Connection,
    user_id: &str,
    lock_id: Option<&str>,
    now: DateTime<Utc>,
    ttl: chrono::Duration,
) -> Result<DateTime<Utc>, Failure> {
    let tx = immediate(conn)?;
    let lock = owned_lock(&tx, user_id, lock_id)?;
    let expires_at = if lock.expires_at > now {
        now + ttl
    } else {
        let renewed = lock.expires_at + ttl;
        if renewed <= now {
            return Err(Failure::LockExpired(format!(
                "lock {} expired at {}, too long ago to renew (a renewal counts from the expiry)",
                lock.lock_id,
                lock.expires_at.to_rfc3339()
            )));
        }
        renewed
    };
    store::set_lock_expiry(&tx, &lock.lock_id, expires_at)?;
    tx.commit()?;
    Ok(expires_at)
}

/// Releases (deletes) a lock of `user_id`, live or expired.
pub fn release_lock(conn: &mut Connection, user_id: &str, lock_id: Option<&str>) -> Result<(), Failure> {
    let tx = immediate(conn)?;
    let lock = owned_lock(&tx, user_id, lock_id)?;
    store::delete_lock(&tx, &lock.lock_id)?;
    tx.commit()?;
    Ok(())
}

/// The validated body of a record create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub module: ModuleCode,
    pub device_id: String,
    pub properties: Option<String>,
}

/// Properties must be JSON text when given.
fn check_properties(properties: Option<&str>) -> Result<(), Failure> {
    match properties {
        Some(p) if serde_json::from_str::<serde::de::IgnoredAny>(p).is_err() => Err(Failure::BadRequest(
            "properties must be a string holding valid JSON text".into(),
        )),
        _ => Ok(()),
    }
}

/// What an unknown device is shown as: its id as name, "unknown" OS, and a machine code derived
/// from the user and device id (FNV-1a), so the same device always looks the same.
pub fn default_device(user_id: &str, device_id: &str, now: DateTime<Utc>) -> DeviceEntity {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in user_id.bytes().chain([0]).chain(device_id.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    DeviceEntity {
        device_id: device_id.to_owned(),
        machine_code: format!("{hash:016x}"),
        device_name: device_id.to_owned(),
        device_os: "unknown".into(),
        create_time: Some(now),
    }
}

/// Checks a lock id of `user_id` is live and for `module`.
pub(super) fn lock_for_module(
    conn: &Connection,
    user_id: &str,
    lock_id: Option<&str>,
    module: ModuleCode,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    let lock = live_lock(conn, user_id, lock_id, now)?;
    if lock.module != module {
        return Err(Failure::ModuleMismatch(format!(
            "lock {} is for module {}, the record is in module {}",
            lock.lock_id,
            lock.module.code(),
            module.code()
        )));
    }
    Ok(())
}

/// Creates a record (status new, version 1) under a live lock for its module.
pub fn create_record(
    conn: &mut Connection,
    user_id: &str,
    lock_id: Option<&str>,
    new: NewRecord,
    now: DateTime<Utc>,
) -> Result<BackupRecord, Failure> {
    if new.device_id.trim().is_empty() || new.device_id.len() > MAX_DEVICE_ID_LEN {
        return Err(Failure::BadRequest(format!(
            "deviceId must be 1 to {MAX_DEVICE_ID_LEN} characters"
        )));
    }
    check_properties(new.properties.as_deref())?;
    let tx = immediate(conn)?;
    lock_for_module(&tx, user_id, lock_id, new.module, now)?;
    store::insert_device_if_absent(&tx, user_id, &default_device(user_id, &new.device_id, now), now)?;
    let id = store::issue_record_id(&tx, now)?;
    let draft = BackupRecord {
        record_id: id.to_string(),
        module_code: new.module.into(),
        status: RecordStatus::New,
        properties: new.properties.unwrap_or_default(),
        version: 1,
        create_time: now,
        end_time: None,
        device_info: DeviceEntity {
            device_id: new.device_id,
            ..DeviceEntity::default()
        },
    };
    store::insert_record(&tx, user_id, &draft)?;
    // Read it back so the answer carries exactly what later reads will show (device info, and
    // times at the stored millisecond precision).
    let stored = store::get_record(&tx, id)?
        .ok_or_else(|| Failure::Internal("record vanished right after insert".into()))?;
    tx.commit()?;
    Ok(stored.record)
}

/// The record `record_id` if it exists and belongs to `user_id`.
pub(super) fn owned_record(
    conn: &Connection,
    user_id: &str,
    record_id: &str,
) -> Result<BackupRecord, Failure> {
    let not_found = || Failure::RecordNotFound(format!("record {record_id} not found"));
    let id: i64 = record_id.parse().map_err(|_| not_found())?;
    let stored = store::get_record(conn, id)?.ok_or_else(not_found)?;
    if stored.user_id != user_id {
        return Err(Failure::Forbidden(format!(
            "record {record_id} belongs to another user"
        )));
    }
    Ok(stored.record)
}

pub fn view_record(conn: &mut Connection, user_id: &str, record_id: &str) -> Result<BackupRecord, Failure> {
    owned_record(conn, user_id, record_id)
}

/// Completes a record: status 1, end time now, version + 1, properties replaced if given.
/// Completing an already completed (or to-be-deleted) record does the same again, so a retried
/// request is harmless.
pub fn complete_record(
    conn: &mut Connection,
    user_id: &str,
    lock_id: Option<&str>,
    record_id: &str,
    properties: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    check_properties(properties.as_deref())?;
    let tx = immediate(conn)?;
    let record = owned_record(&tx, user_id, record_id)?;
    lock_for_module(&tx, user_id, lock_id, stored_module(&record)?, now)?;
    store::complete_record(&tx, record_id_number(&record)?, now, properties.as_deref())?;
    tx.commit()?;
    Ok(())
}

/// Deletes a record and its files.
pub fn delete_record(
    conn: &mut Connection,
    user_id: &str,
    lock_id: Option<&str>,
    record_id: &str,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    let tx = immediate(conn)?;
    let record = owned_record(&tx, user_id, record_id)?;
    lock_for_module(&tx, user_id, lock_id, stored_module(&record)?, now)?;
    store::delete_record(&tx, record_id_number(&record)?)?;
    tx.commit()?;
    Ok(())
}

/// The module of a stored record (always one we know: only those are accepted).
pub(super) fn stored_module(record: &BackupRecord) -> Result<ModuleCode, Failure> {
    record
        .module_code
        .known()
        .ok_or_else(|| Failure::Internal(format!("stored record {} has no known module", record.record_id)))
}

pub(super) fn record_id_number(record: &BackupRecord) -> Result<i64, Failure> {
    record
        .record_id
        .parse()
        .map_err(|_| Failure::Internal(format!("stored record id {:?} is not numeric", record.record_id)))
}

fn check_page_size(page_size: u32) -> Result<(), Failure> {
    if (1..=MAX_PAGE_SIZE).contains(&page_size) {
        Ok(())
    } else {
        Err(Failure::BadRequest(format!(
            "pageSize must be between 1 and {MAX_PAGE_SIZE}, got {page_size}"
        )))
    }
}

/// Cursors are opaque to clients: base64url of `<kind>:<last id>`. The kind keeps a files cursor
/// from being accepted by the records list and vice versa.
fn encode_cursor(kind: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

/// `None` for an absent or empty cursor (first page).
fn decode_cursor(kind: &str, cursor: Option<&str>) -> Result<Option<i64>, Failure> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(Failure::BadRequest(format!(
            "cursor is {} characters, at most {MAX_CURSOR_LEN} are allowed",
            cursor.len()
        )));
    }
    let invalid = || {
        Failure::BadRequest("invalid cursor: pass back the nextCursor of the previous page unchanged".into())
    };
    let text = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(text).map_err(|_| invalid())?;
    let (k, id) = text.split_once(':').ok_or_else(invalid)?;
    if k != kind {
        return Err(invalid());
    }
    id.parse().map(Some).map_err(|_| invalid())
}

/// One page of a user's records in a module, newest first. Keyset pagination on the record id,
/// so concurrent inserts and deletes never shift a page: nothing is repeated or skipped among
/// the records that exist throughout the walk.
pub fn list_records(
    conn: &mut Connection,
    user_id: &str,
    module: ModuleCode,
    device_id: Option<&str>,
    page_size: u32,
    cursor: Option<&str>,
) -> Result<Page<BackupRecord>, Failure> {
    check_page_size(page_size)?;
    let before = decode_cursor("records", cursor)?;
    // One extra row tells whether another page follows, so the last page has no cursor.
    let mut items = store::list_records(conn, user_id, module, device_id, before, page_size + 1)?;
    let next_cursor = if items.len() > page_size as usize {
        items.truncate(page_size as usize);
        let last = items.last().map(record_id_number).transpose()?;
        last.map(|id| encode_cursor("records", id))
    } else {
        None
    };
    Ok(Page::new(items, next_cursor))
}

/// One page of a record's files in upload order.
pub fn list_files(
    conn: &mut Connection,
    user_id: &str,
    record_id: &str,
    page_size: u32,
    cursor: Option<&str>,
) -> Result<Page<BackupFile>, Failure> {
    let record = owned_record(conn, user_id, record_id)?;
    check_page_size(page_size)?;
    let after = decode_cursor("files", cursor)?;
    let mut items = store::list_files(conn, record_id_number(&record)?, after, page_size + 1)?;
    let next_cursor = if items.len() > page_size as usize {
        items.truncate(page_size as usize);
        match items.last() {
            Some(f) => Some(encode_cursor(
                "files",
                f.file_id
                    .parse()
                    .map_err(|_| Failure::Internal("non-numeric file id".into()))?,
            )),
            None => None,
        }
    } else {
        None
    };
    Ok(Page::new(items, next_cursor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::Store;

    fn ttl() -> chrono::Duration {
        chrono::Duration::minutes(10)
    }

    fn t0() -> DateTime<Utc> {
        store::from_millis(1_760_000_000_000)
    }

    fn new(module: ModuleCode, device: &str) -> NewRecord {
        NewRecord {
            module,
            device_id: device.into(),
            properties: None,
        }
    }

    #[test]
    fn one_live_lock_per_user_and_module() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let id = create_lock(c, "alice", ModuleCode::Album, t0(), ttl()).unwrap();
        assert!(id.ends_with("@101"));
        assert_eq!(id.len(), 36 + 4);
        let again = create_lock(c, "alice", ModuleCode::Album, t0(), ttl()).unwrap_err();
        assert_eq!(again.code(), 409001);
        // Other module and other user are independent.
        create_lock(c, "alice", ModuleCode::Folder, t0(), ttl()).unwrap();
        create_lock(c, "bob", ModuleCode::Album, t0(), ttl()).unwrap();
    }

    #[test]
    fn expired_lock_is_replaced_by_a_new_create() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let old = create_lock(c, "alice", ModuleCode::Album, t0(), ttl()).unwrap();
        let later = t0() + ttl();
        let fresh = create_lock(c, "alice", ModuleCode::Album, later, ttl()).unwrap();
        assert_ne!(old, fresh);
        assert_eq!(
            renew_lock(c, "alice", Some(&old), later, ttl())
                .unwrap_err()
                .code(),
            404002
        );
    }

    #[test]
    fn renewal_of_live_and_expired_locks() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let id = create_lock(c, "alice", ModuleCode::Folder, t0(), ttl()).unwrap();
        let at = t0() + chrono::Duration::minutes(3);
        // Live: counts from now.
        assert_eq!(renew_lock(c, "alice", Some(&id), at, ttl()).unwrap(), at + ttl());
        let expiry = at + ttl();
        // Expired 4 minutes ago: counts from the old expiry.
        let late = expiry + chrono::Duration::minutes(4);
        assert_eq!(
            renew_lock(c, "alice", Some(&id), late, ttl()).unwrap(),
            expiry + ttl()
        );
        // Expired longer than a ttl ago: 409002 and unchanged.
        let too_late = expiry + ttl() + ttl() + chrono::Duration::seconds(1);
        assert_eq!(
            renew_lock(c, "alice", Some(&id), too_late, ttl())
                .unwrap_err()
                .code(),
            409002
        );
        assert_eq!(
            store::get_lock(c, &id).unwrap().unwrap().expires_at,
            expiry + ttl()
        );
    }

    #[test]
    fn lock_errors_for_missing_foreign_and_released_locks() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let id = create_lock(c, "alice", ModuleCode::Folder, t0(), ttl()).unwrap();
        assert_eq!(
            renew_lock(c, "alice", None, t0(), ttl()).unwrap_err().code(),
            404002
        );
        assert_eq!(
            renew_lock(c, "bob", Some(&id), t0(), ttl()).unwrap_err().code(),
            403001
        );
        assert_eq!(release_lock(c, "bob", Some(&id)).unwrap_err().code(), 403001);
        release_lock(c, "alice", Some(&id)).unwrap();
        assert_eq!(release_lock(c, "alice", Some(&id)).unwrap_err().code(), 404002);
        assert_eq!(
            renew_lock(c, "alice", Some(&id), t0(), ttl()).unwrap_err().code(),
            404002
        );
    }

    #[test]
    fn record_lifecycle_under_a_lock() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let lock = create_lock(c, "alice", ModuleCode::AddressBook, t0(), ttl()).unwrap();
        let mut req = new(ModuleCode::AddressBook, "42");
        req.properties = Some(r#"{"a":1}"#.into());
        let rec = create_record(c, "alice", Some(&lock), req, t0()).unwrap();
        assert_eq!((rec.status, rec.version), (RecordStatus::New, 1));
        assert_eq!(rec.device_info.device_name, "42");
        assert_eq!(rec.device_info.device_os, "unknown");
        assert_eq!(rec.create_time, t0());
        let later = t0() + chrono::Duration::seconds(5);
        complete_record(c, "alice", Some(&lock), &rec.record_id, None, later).unwrap();
        let done = view_record(c, "alice", &rec.record_id).unwrap();
        assert_eq!((done.status, done.version), (RecordStatus::Completed, 2));
        assert_eq!(done.end_time, Some(later));
        assert_eq!(done.properties, r#"{"a":1}"#);
        let file = store::NewFile {
            name: "a.vcf",
            size: 10,
            sha256: None,
            description: None,
        };
        store::insert_file(c, rec.record_id.parse().unwrap(), &file, t0()).unwrap();
        delete_record(c, "alice", Some(&lock), &rec.record_id, later).unwrap();
        assert_eq!(
            view_record(c, "alice", &rec.record_id).unwrap_err().code(),
            404001
        );
        let files: i64 = c
            .query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0))
            .unwrap();
        assert_eq!(files, 0);
    }

    #[test]
    fn record_operations_check_the_lock() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let folder = create_lock(c, "alice", ModuleCode::Folder, t0(), ttl()).unwrap();
        let bobs = create_lock(c, "bob", ModuleCode::Album, t0(), ttl()).unwrap();
        let code = |r: Result<BackupRecord, Failure>| r.unwrap_err().code();
        assert_eq!(
            code(create_record(
                c,
                "alice",
                None,
                new(ModuleCode::Folder, "d"),
                t0()
            )),
            404002
        );
        assert_eq!(
            code(create_record(
                c,
                "alice",
                Some("nope"),
                new(ModuleCode::Folder, "d"),
                t0()
            )),
            404002
        );
        assert_eq!(
            code(create_record(
                c,
                "alice",
                Some(&bobs),
                new(ModuleCode::Album, "d"),
                t0()
            )),
            403001
        );
        assert_eq!(
            code(create_record(
                c,
                "alice",
                Some(&folder),
                new(ModuleCode::Album, "d"),
                t0()
            )),
            409003
        );
        let late = t0() + ttl();
        assert_eq!(
            code(create_record(
                c,
                "alice",
                Some(&folder),
                new(ModuleCode::Folder, "d"),
                late
            )),
            409002
        );
        let rec = create_record(c, "alice", Some(&folder), new(ModuleCode::Folder, "d"), t0()).unwrap();
        assert_eq!(
            complete_record(c, "alice", Some(&folder), &rec.record_id, None, late)
                .unwrap_err()
                .code(),
            409002
        );
        assert_eq!(
            delete_record(c, "bob", Some(&bobs), &rec.record_id, t0())
                .unwrap_err()
                .code(),
            403001
        );
        assert_eq!(view_record(c, "bob", &rec.record_id).unwrap_err().code(), 403001);
        assert_eq!(
            list_files(c, "bob", &rec.record_id, 10, None).unwrap_err().code(),
            403001
        );
        assert_eq!(view_record(c, "alice", "abc").unwrap_err().code(), 404001);
        assert_eq!(view_record(c, "alice", "12345").unwrap_err().code(), 404001);
        // Untouched by the failed attempts.
        assert_eq!(view_record(c, "alice", &rec.record_id).unwrap(), rec);
    }

    #[test]
    fn an_unknown_devices_machine_code_is_fnv1a_of_user_and_device() {
        // Worked out by hand from FNV-1a 64 over "alice\0phone-1" (and over "\0" alone): the
        // code must stay the same across versions, or a device would look new after an upgrade.
        assert_eq!(
            default_device("alice", "phone-1", t0()).machine_code,
            "796543dc176d24d5"
        );
        assert_eq!(default_device("", "", t0()).machine_code, "af63bd4c8601b7df");
    }

    #[test]
    fn create_validates_its_input() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let lock = create_lock(c, "alice", ModuleCode::Folder, t0(), ttl()).unwrap();
        let mut bad = new(ModuleCode::Folder, "d");
        bad.properties = Some("{not json".into());
        assert_eq!(
            create_record(c, "alice", Some(&lock), bad, t0())
                .unwrap_err()
                .code(),
            400001
        );
        let empty = new(ModuleCode::Folder, " ");
        assert_eq!(
            create_record(c, "alice", Some(&lock), empty, t0())
                .unwrap_err()
                .code(),
            400001
        );
        let long = new(ModuleCode::Folder, &"x".repeat(MAX_DEVICE_ID_LEN + 1));
        assert_eq!(
            create_record(c, "alice", Some(&lock), long, t0())
                .unwrap_err()
                .code(),
            400001
        );
        // Exactly the limit is still a device id.
        let longest = new(ModuleCode::Folder, &"x".repeat(MAX_DEVICE_ID_LEN));
        let created = create_record(c, "alice", Some(&lock), longest, t0()).unwrap();
        assert_eq!(created.device_info.device_id.len(), MAX_DEVICE_ID_LEN);
    }

    #[test]
    fn pagination_walks_everything_once_and_filters() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let lock = create_lock(c, "alice", ModuleCode::Folder, t0(), ttl()).unwrap();
        let mut ids = Vec::new();
        for i in 0..25 {
            let device = if i % 5 == 0 { "five" } else { "other" };
            ids.push(
                create_record(c, "alice", Some(&lock), new(ModuleCode::Folder, device), t0())
                    .unwrap()
                    .record_id,
            );
        }
        ids.reverse();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        // Three pages of 10 hold 25 records; a cursor that never ends fails here, not hangs.
        for _ in 0..3 {
            let page = list_records(c, "alice", ModuleCode::Folder, None, 10, cursor.as_deref()).unwrap();
            seen.extend(page.items.into_iter().map(|r| r.record_id));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert!(cursor.is_none(), "still a cursor after three pages");
        assert_eq!(seen, ids);
        let five = list_records(c, "alice", ModuleCode::Folder, Some("five"), 100, None).unwrap();
        assert_eq!(five.items.len(), 5);
        assert!(five.next_cursor.is_none());
        assert!(
            list_records(c, "bob", ModuleCode::Folder, None, 100, None)
                .unwrap()
                .items
                .is_empty()
        );
        assert!(
            list_records(c, "alice", ModuleCode::Album, None, 100, None)
                .unwrap()
                .items
                .is_empty()
        );
        // Exactly one full page: no cursor.
        let exact = list_records(c, "alice", ModuleCode::Folder, None, 25, None).unwrap();
        assert!(exact.next_cursor.is_none());
    }

    #[test]
    fn page_size_and_cursor_are_validated() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let code = |r: Result<Page<BackupRecord>, Failure>| r.unwrap_err().code();
        assert_eq!(
            code(list_records(c, "a", ModuleCode::Folder, None, 0, None)),
            400001
        );
        assert_eq!(
            code(list_records(c, "a", ModuleCode::Folder, None, 101, None)),
            400001
        );
        assert_eq!(
            code(list_records(c, "a", ModuleCode::Folder, None, 10, Some("!!"))),
            400001
        );
        let long = "A".repeat(MAX_CURSOR_LEN + 1);
        assert_eq!(
            code(list_records(c, "a", ModuleCode::Folder, None, 10, Some(&long))),
            400001
        );
        // The length limit itself: one past it is refused for its length, at it for its content.
        let mut message = |cursor: &str| {
            list_records(c, "a", ModuleCode::Folder, None, 10, Some(cursor))
                .unwrap_err()
                .to_string()
        };
        let too_long = message(&long);
        assert!(too_long.contains("at most"), "{too_long}");
        let at_limit = message(&"A".repeat(MAX_CURSOR_LEN));
        assert!(at_limit.contains("invalid cursor"), "{at_limit}");
        let files_cursor = encode_cursor("files", 3);
        assert_eq!(
            code(list_records(
                c,
                "a",
                ModuleCode::Folder,
                None,
                10,
                Some(&files_cursor)
            )),
            400001
        );
        assert!(list_records(c, "a", ModuleCode::Folder, None, 10, Some("")).is_ok());
    }

    #[test]
    fn files_are_paged_in_upload_order() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let lock = create_lock(c, "alice", ModuleCode::Album, t0(), ttl()).unwrap();
        let rec = create_record(c, "alice", Some(&lock), new(ModuleCode::Album, "cam"), t0()).unwrap();
        let id: i64 = rec.record_id.parse().unwrap();
        for i in 0..10 {
            let name = format!("IMG_{i}.jpg");
            let file = store::NewFile {
                name: &name,
                size: 1000 + i,
                sha256: None,
                description: None,
            };
            store::insert_file(c, id, &file, t0()).unwrap();
        }
        let first = list_files(c, "alice", &rec.record_id, 5, None).unwrap();
        assert_eq!(first.items.len(), 5);
        let second = list_files(c, "alice", &rec.record_id, 5, first.next_cursor.as_deref()).unwrap();
        let names: Vec<_> = second.items.iter().map(|f| f.file_name.as_str()).collect();
        assert_eq!(
            names,
            ["IMG_5.jpg", "IMG_6.jpg", "IMG_7.jpg", "IMG_8.jpg", "IMG_9.jpg"]
        );
        // The last page is exactly full: no cursor to an empty page after it.
        assert!(second.next_cursor.is_none());
    }
}

#[cfg(test)]
mod id_tests {
    //! Record ids are never issued twice: a property over random interleavings of creates (by two
    //! users), deletes (the newest record included), restarts of the server and steps of its
    //! clock, backwards as well as forwards.

    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::server::store::Store;

    #[derive(Debug, Clone)]
    enum Step {
        Create {
            bob: bool,
        },
        /// Delete the n-th record still there (modulo their number), counted from the newest.
        Delete(usize),
        Restart,
        /// Move the server clock by this many milliseconds.
        Clock(i64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => any::<bool>().prop_map(|bob| Step::Create { bob }),
            3 => (0usize..4).prop_map(Step::Delete),
            1 => Just(Step::Restart),
            2 => prop_oneof![-86_400_000i64..86_400_000, -5i64..5].prop_map(Step::Clock),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn no_record_id_is_ever_issued_twice(steps in proptest::collection::vec(step(), 1..60)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ids.db");
            let mut store = Store::open(&path).unwrap();
            let ttl = chrono::Duration::days(3);
            let mut now = store::from_millis(1_760_000_000_000);
            let lock = |c: &mut Connection, user: &str, now| create_lock(c, user, ModuleCode::Folder, now, ttl).unwrap();
            let mut locks = {
                let c = &mut *store.conn();
                (lock(c, "alice", now), lock(c, "bob", now))
            };
            let mut issued = HashSet::new();
            // (owner, lock, id) of the records still there, newest last.
            let mut alive: Vec<(&str, String)> = Vec::new();
            for step in steps {
                match step {
                    Step::Create { bob } => {
                        let (user, lock) = if bob { ("bob", &locks.1) } else { ("alice", &locks.0) };
                        let new = NewRecord { module: ModuleCode::Folder, device_id: "d".into(), properties: None };
                        let record = create_record(&mut store.conn(), user, Some(lock), new, now).unwrap();
                        prop_assert!(issued.insert(record.record_id.clone()), "{} issued twice", record.record_id);
                        alive.push((user, record.record_id));
                    }
                    Step::Delete(n) if !alive.is_empty() => {
                        let index = alive.len() - 1 - n % alive.len();
                        let (user, id) = alive.remove(index);
                        let lock = if user == "bob" { &locks.1 } else { &locks.0 };
                        delete_record(&mut store.conn(), user, Some(lock), &id, now).unwrap();
                    }
                    Step::Delete(_) => {}
                    Step::Restart => {
                        drop(store);
                        store = Store::open(&path).unwrap();
                    }
                    Step::Clock(ms) => {
                        now += chrono::Duration::milliseconds(ms);
                        // Keep the locks live across big steps.
                        let c = &mut *store.conn();
                        for (user, id) in [("alice", &locks.0), ("bob", &locks.1)] {
                            if renew_lock(c, user, Some(id), now, ttl).is_err() {
                                let _ = release_lock(c, user, Some(id));
                            }
                        }
                        locks = (
                            store::get_lock_for(c, "alice", ModuleCode::Folder).unwrap().filter(|l| l.expires_at > now).map_or_else(|| lock(c, "alice", now), |l| l.lock_id),
                            store::get_lock_for(c, "bob", ModuleCode::Folder).unwrap().filter(|l| l.expires_at > now).map_or_else(|| lock(c, "bob", now), |l| l.lock_id),
                        );
                    }
                }
            }
        }
    }
}
