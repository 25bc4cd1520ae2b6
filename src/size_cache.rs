//! The sizes of backups, kept on disk between runs: KooDrive has no call for a record's size, so
//! each one costs a listing of its files, and an account's sizes cost thousands of requests on
//! every start without it. `status --sizes` and the app's Devices view read and write it, both
//! through [`read_through`]: the sizes it knows at once, the others read at the bulk engine's
//! adaptive pace ([`crate::bulk::limit`]) and kept.
//!
//! Only a record whose files are taken as final is kept: a completed one (or one marked to be
//! deleted), under its id, status, version and end time. A `new` record is still being backed up
//! (files can be added to it) and is read every time; completing a record changes its status,
//! version and end time, so it is read again then (our rule: the reference does not say whether
//! files can be added to a completed record; delete the cache file to read every size again).
//!
//! The file is one JSON document per server and user in `$XDG_CACHE_HOME/koobackup/sizes/`,
//! written atomically (0600). A file that is damaged, too large, of another format, server or
//! user is ignored — the sizes are read again — never trusted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::api::{BackupRecord, Client, RecordStatus};
use crate::bulk::limit::{Limit, paced};
use crate::config;
use crate::health::RecordSummary;
use crate::health::sizes::{RecordSize, read_size};

/// What a cache file says it is.
const FORMAT: &str = "koobackup-sizes-1";
/// A file larger than this is not read (about 2 million records): a cache is never worth
/// holding more memory than the listing it saves.
const MAX_FILE_BYTES: u64 = 128 << 20;

/// One record's size, valid while the record is as it was then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cached {
    status: i64,
    version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<DateTime<Utc>>,
    bytes: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    format: String,
    server: String,
    user: String,
    records: HashMap<String, Cached>,
}

/// The cached sizes of one server and user.
#[derive(Debug)]
pub struct SizeCache {
    /// `None` when there is nowhere to keep it (no home directory): then nothing is cached.
    path: Option<PathBuf>,
    server: String,
    user: String,
    records: HashMap<String, Cached>,
}

/// Where the cache of one server and user is kept, to open it when sizes are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The directory of cache files; `None` when there is none (nothing is cached then).
    dir: Option<PathBuf>,
    server: String,
    user: String,
}

impl Place {
    /// The cache of `server` (its base URL or journal key) and `user` in the cache directory
    /// (`$XDG_CACHE_HOME/koobackup/sizes/`).
    pub fn usual(server: &str, user: &str) -> Place {
        let dir = config::cache_dir().ok().map(|dir| dir.join("sizes"));
        Place::in_dir(dir, server, user)
    }

    /// The cache of `server` and `user` among the cache files of `dir`.
    pub fn in_dir(dir: Option<PathBuf>, server: &str, user: &str) -> Place {
        Place {
            dir,
            server: server.to_string(),
            user: user.to_string(),
        }
    }

    /// The cache of another server and user, in the same directory.
    pub fn for_connection(&self, server: &str, user: &str) -> Place {
        Place::in_dir(self.dir.clone(), server, user)
    }

    /// The cache as its file holds it now.
    pub fn open(&self) -> SizeCache {
        let path = self
            .dir
            .as_ref()
            .map(|dir| dir.join(file_name(&self.server, &self.user)));
        SizeCache::at(path, &self.server, &self.user)
    }
}

impl SizeCache {
    /// The cache of `server` (its base URL or journal key) and `user`, read from the cache
    /// directory; empty when there is none or it cannot be trusted.
    pub fn open(server: &str, user: &str) -> SizeCache {
        Place::usual(server, user).open()
    }

    /// [`SizeCache::open`] with the file at `path`.
    pub fn at(path: Option<PathBuf>, server: &str, user: &str) -> SizeCache {
        let records = path
            .as_deref()
            .and_then(|path| read(path, server, user))
            .unwrap_or_default();
        SizeCache {
            path,
            server: server.to_string(),
            user: user.to_string(),
            records,
        }
    }

    /// The size of `record` as cached, if it is still as it was when its size was read.
    pub fn get(&self, record: Key<'_>) -> Option<u64> {
        let cached = self.records.get(record.id)?;
        (Some(cached) == record.cached(cached.bytes).as_ref()).then_some(cached.bytes)
    }

    /// Keeps `bytes` as the size of `record`, if its files are final.
    pub fn put(&mut self, record: Key<'_>, bytes: u64) {
        if let Some(cached) = record.cached(bytes) {
            self.records.insert(record.id.to_string(), cached);
        }
    }

    /// How many sizes it holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Writes the sizes of the records for which `listed` is true (the others are gone or were
    /// not looked at: an account's cache holds no more than the account).
    pub fn save(&mut self, listed: impl Fn(&str) -> bool) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        self.records.retain(|id, _| listed(id));
        let file = File {
            format: FORMAT.into(),
            server: self.server.clone(),
            user: self.user.clone(),
            records: std::mem::take(&mut self.records),
        };
        let text = serde_json::to_vec(&file).map_err(std::io::Error::other);
        self.records = file.records;
        config::write_private_atomically(path, &text?)
    }
}

/// What a size is kept under: the record as it is now.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub id: &'a str,
    pub status: RecordStatus,
    pub version: i64,
    pub end: Option<DateTime<Utc>>,
}

impl<'a> From<&'a BackupRecord> for Key<'a> {
    fn from(record: &'a BackupRecord) -> Key<'a> {
        Key {
            id: &record.record_id,
            status: record.status,
            version: record.version,
            end: record.end_time,
        }
    }
}

impl<'a> From<&'a RecordSummary> for Key<'a> {
    fn from(record: &'a RecordSummary) -> Key<'a> {
        Key {
            id: &record.record_id,
            status: record.status,
            version: record.version,
            end: record.end_time,
        }
    }
}

impl Key<'_> {
    /// The entry it would be kept under, or `None` when its files may still change.
    fn cached(&self, bytes: u64) -> Option<Cached> {
        let status = match self.status {
            RecordStatus::Completed => 1,
            RecordStatus::ToBeDeleted => 2,
            RecordStatus::New | RecordStatus::Unknown(_) => return None,
        };
        Some(Cached {
            status,
            version: self.version,
            end: self.end,
            bytes,
        })
    }
}

/// The sizes of the records `batches` brings, as they come: for each batch, the sizes `cache`
/// holds are handed to `on_sizes` at once (together), and the other records' file lists are
/// read at the adaptive pace of [`Limit`] (at most `ceiling` at once, the client's retries
/// kept), each size handed over as it is known and put in `cache` (which keeps it only if the
/// record's files are final). `stop` is asked before each list is read: once it says stop,
/// no further one is begun and the rest are not handed over. The caller saves the cache.
pub async fn read_through(
    client: &Client,
    cache: &Mutex<SizeCache>,
    batches: impl Stream<Item = Vec<RecordSummary>> + Unpin,
    ceiling: usize,
    stop: impl FnMut() -> bool,
    on_sizes: impl FnMut(Vec<(String, RecordSize)>),
) {
    let limit = Arc::new(Limit::new(ceiling));
    let client = client.with_observer(limit.observer());
    let client = &client;
    let lock = || cache.lock().unwrap_or_else(|e| e.into_inner());
    // A batch becomes one piece of work for its cached sizes (done at once) and one per record
    // to read.
    let mut work = batches.flat_map(|batch| {
        let cache = lock();
        let (cached, to_read): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|record| match cache.get((&record).into()) {
                Some(bytes) => Ok((record.record_id, RecordSize::Known(bytes))),
                None => Err(record),
            })
            .partition(Result::is_ok);
        let cached: Vec<_> = cached.into_iter().flatten().collect();
        let cached = (!cached.is_empty()).then_some(Work::Cached(cached));
        let to_read = to_read.into_iter().filter_map(Result::err).map(Work::Read);
        futures::stream::iter(cached.into_iter().chain(to_read))
    });
    let mut on_sizes = on_sizes;
    paced(
        &limit,
        &mut work,
        stop,
        |work| async move {
            match work {
                Work::Cached(sizes) => (None, sizes),
                Work::Read(record) => {
                    let size = read_size(client, &record.record_id).await;
                    let sizes = vec![(record.record_id.clone(), size)];
                    (Some(record), sizes)
                }
            }
        },
        |(record, sizes): (Option<RecordSummary>, Vec<(String, RecordSize)>)| {
            if let (Some(record), Some(bytes)) = (&record, sizes.first().and_then(|(_, s)| s.known())) {
                lock().put(record.into(), bytes);
            }
            on_sizes(sizes);
        },
    )
    .await;
}

/// What [`read_through`] does for a batch of records.
enum Work {
    /// Sizes the cache held: handed over together.
    Cached(Vec<(String, RecordSize)>),
    Read(RecordSummary),
}

/// A name that says nothing of the server or user to someone listing the directory.
fn file_name(server: &str, user: &str) -> String {
    let digest = Sha256::digest(format!("{server}\n{user}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{hex}.json")
}

/// The records of the cache file at `path`, when it is one of ours for `server` and `user`.
fn read(path: &Path, server: &str, user: &str) -> Option<HashMap<String, Cached>> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    let file: File = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (file.format == FORMAT && file.server == server && file.user == user).then_some(file.records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, status: RecordStatus, version: i64) -> BackupRecord {
        serde_json::from_value(serde_json::json!({
            "recordId": id,
            "moduleCode": "100",
            "status": match status { RecordStatus::New => 0, RecordStatus::Completed => 1, _ => 2 },
            "properties": "{}",
            "version": version,
            "createTime": "2026-12-01T02:14:00Z",
            "endTime": if status == RecordStatus::New { "" } else { "2026-12-01T02:30:00Z" },
            "deviceInfo": {"deviceId": "d"}
        }))
        .unwrap()
    }

    #[test]
    fn a_size_comes_back_while_the_record_is_unchanged_and_new_records_are_never_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sizes").join("c.json");
        let done = record("1", RecordStatus::Completed, 2);
        let fresh = record("2", RecordStatus::New, 1);
        let mut cache = SizeCache::at(Some(path.clone()), "https://k.example", "alice");
        cache.put((&done).into(), 1024);
        cache.put((&fresh).into(), 99);
        assert_eq!(cache.len(), 1, "a new record's files may still change");
        cache.save(|_| true).unwrap();

        let again = SizeCache::at(Some(path.clone()), "https://k.example", "alice");
        assert_eq!(again.get((&done).into()), Some(1024));
        assert_eq!(
            again.get((&record("1", RecordStatus::Completed, 3)).into()),
            None,
            "new version"
        );
        assert_eq!(
            again.get((&record("1", RecordStatus::ToBeDeleted, 2)).into()),
            None,
            "new status"
        );
        assert_eq!(again.get((&fresh).into()), None);
    }

    #[test]
    fn a_foreign_damaged_or_huge_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let done = record("1", RecordStatus::Completed, 2);
        let mut cache = SizeCache::at(Some(path.clone()), "https://k.example", "alice");
        cache.put((&done).into(), 7);
        cache.save(|_| true).unwrap();
        assert!(SizeCache::at(Some(path.clone()), "https://k.example", "bob").is_empty());
        assert!(SizeCache::at(Some(path.clone()), "https://other.example", "alice").is_empty());
        std::fs::write(&path, b"{\"format\":\"koobackup-sizes-1\",\"server\":").unwrap();
        assert!(SizeCache::at(Some(path.clone()), "https://k.example", "alice").is_empty());
        std::fs::write(&path, b"{\"format\":\"koobackup-sizes-9\",\"server\":\"https://k.example\",\"user\":\"alice\",\"records\":{}}").unwrap();
        assert!(SizeCache::at(Some(path), "https://k.example", "alice").is_empty());
    }

    #[test]
    fn saving_keeps_only_the_records_still_listed_and_the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let mut cache = SizeCache::at(Some(path.clone()), "s", "u");
        cache.put((&record("1", RecordStatus::Completed, 1)).into(), 1);
        cache.put((&record("2", RecordStatus::Completed, 1)).into(), 2);
        cache.save(|id| id == "2").unwrap();
        let again = SizeCache::at(Some(path.clone()), "s", "u");
        assert_eq!(again.len(), 1);
        assert_eq!(
            again.get((&record("2", RecordStatus::Completed, 1)).into()),
            Some(2)
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn file_names_do_not_show_the_server_or_user() {
        let name = file_name("https://drive.example.com", "1775406005920779395");
        assert!(!name.contains("drive") && !name.contains("1775"), "{name}");
        assert_ne!(name, file_name("https://drive.example.com", "other"));
    }
}
