//! The locks this user holds, kept on disk.
//!
//! KooDrive has no endpoint that lists locks: a client that loses a lock id can neither renew nor
//! release that lock until it expires. Every lock koobackup creates is therefore written here
//! (`~/.local/share/koobackup/locks.json`, or `$KOOBACKUP_JOURNAL`) and removed when released.
//!
//! Several koobackup processes may share the file (a TUI, a `lock hold`, a cron job), so every
//! change re-reads the file under an exclusive file lock, applies itself, and replaces the file
//! atomically. A change is a compare-and-set against what is on disk then: a renewal updates an
//! entry only if it is still there ([`Journal::update`]), so a lock released meanwhile by another
//! process never comes back. A damaged or unreadable file is reported, never silently replaced:
//! it may be the only record of a lock that is still held.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::{LockInfo, ModuleCode};
use crate::config::{self, ConfigError};

/// Overrides the journal location (tests point it into a temporary directory).
pub const JOURNAL_ENV: &str = "KOOBACKUP_JOURNAL";

/// Version of the file layout, written into the file.
const FORMAT_VERSION: u32 = 1;

/// One lock this user holds on one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldLock {
    pub lock: LockInfo,
    /// Which server the lock belongs to: its base URL, or for the embedded demo server a stable
    /// key (see `Connection::journal_key`), because its port changes on every start.
    pub base_url: String,
    pub user_id: String,
    /// Whether a running TUI should keep renewing this lock.
    #[serde(default)]
    pub auto_renew: bool,
}

impl HeldLock {
    fn belongs_to(&self, base_url: &str, user_id: &str) -> bool {
        same_server(&self.base_url, base_url) && self.user_id == user_id
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(transparent)]
    Location(#[from] ConfigError),
    #[error("cannot read the lock journal {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "the lock journal {} is damaged ({detail}). It lists the locks you hold, which KooDrive \
         cannot list: repair it or move it aside (locks it names expire on their own within 10 minutes)",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error("cannot write the lock journal {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

#[derive(Serialize, Deserialize)]
struct JournalFile {
    version: u32,
    locks: Vec<HeldLock>,
}

/// The journal as last read from (or written to) its file.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
    locks: Vec<HeldLock>,
}

impl Journal {
    /// `$KOOBACKUP_JOURNAL`, else `locks.json` in the data directory
    /// (`$XDG_DATA_HOME/koobackup`, else `~/.local/share/koobackup`).
    pub fn default_path() -> Result<PathBuf, JournalError> {
        if let Some(path) = config::non_empty_env(JOURNAL_ENV) {
            return Ok(PathBuf::from(path));
        }
        Ok(config::data_dir()?.join("locks.json"))
    }

    /// Reads the journal; a missing file is an empty journal.
    pub fn load(path: impl Into<PathBuf>) -> Result<Journal, JournalError> {
        let path = path.into();
        let locks = read_locks(&path)?;
        Ok(Journal { path, locks })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, for every server and user.
    pub fn all(&self) -> &[HeldLock] {
        &self.locks
    }

    /// The locks held on `base_url` by `user_id`, soonest expiry first.
    pub fn locks_for(&self, base_url: &str, user_id: &str) -> Vec<&HeldLock> {
        let mut locks: Vec<&HeldLock> = self
            .locks
            .iter()
            .filter(|held| held.belongs_to(base_url, user_id))
            .collect();
        locks.sort_by_key(|held| held.lock.expires_at);
        locks
    }

    pub fn get(&self, lock_id: &str) -> Option<&HeldLock> {
        self.locks.iter().find(|held| held.lock.lock_id == lock_id)
    }

    /// The unexpired lock for `module`, if this journal has one (the longest-lived if several).
    pub fn live_lock_for(
        &self,
        base_url: &str,
        user_id: &str,
        module: ModuleCode,
        now: DateTime<Utc>,
    ) -> Option<&HeldLock> {
        self.locks_for(base_url, user_id)
            .into_iter()
            .filter(|held| held.lock.module == module && !held.lock.is_expired(now))
            .max_by_key(|held| held.lock.expires_at)
    }

    /// Updates the entry of `held`'s lock (a new expiry after a renewal, a new auto-renew
    /// setting) if the journal on disk still has it. Returns whether it had: `false` means it was
    /// removed meanwhile (released by another koobackup), and it stays removed.
    pub fn update(&mut self, held: HeldLock) -> Result<bool, JournalError> {
        let mut found = false;
        self.modify(|locks| {
            if let Some(existing) = locks.iter_mut().find(|l| l.lock.lock_id == held.lock.lock_id) {
                *existing = held.clone();
                found = true;
            }
            found
        })?;
        tracing::info!(lock_id = %held.lock.lock_id, expires_at = %held.lock.expires_at, found, "journal: update");
        Ok(found)
    }

    /// Adds the lock (just created, or adopted), or replaces the entry with the same lock id.
    pub fn upsert(&mut self, held: HeldLock) -> Result<(), JournalError> {
        self.modify(|locks| {
            match locks.iter_mut().find(|l| l.lock.lock_id == held.lock.lock_id) {
                Some(existing) => *existing = held.clone(),
                None => locks.push(held.clone()),
            }
            true
        })?;
        tracing::info!(lock_id = %held.lock.lock_id, expires_at = %held.lock.expires_at, "journal: add");
        Ok(())
    }

    /// Forgets the lock. Returns whether the journal had it.
    pub fn remove(&mut self, lock_id: &str) -> Result<bool, JournalError> {
        let mut found = false;
        self.modify(|locks| {
            let before = locks.len();
            locks.retain(|held| held.lock.lock_id != lock_id);
            found = locks.len() != before;
            found
        })?;
        tracing::info!(lock_id, found, "journal: remove");
        Ok(found)
    }

    /// Forgets this server's and user's locks that can never be renewed again: the server extends
    /// an expired lock from its old expiry, so one whose expiry plus `ttl` is not after `now` is
    /// gone for good (the same instant the server answers 409002; see [`is_dead`]). Returns how
    /// many were forgotten.
    pub fn prune_dead(
        &mut self,
        base_url: &str,
        user_id: &str,
        ttl: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<usize, JournalError> {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let mut pruned = 0;
        self.modify(|locks| {
            let before = locks.len();
            locks.retain(|held| !(held.belongs_to(base_url, user_id) && is_dead(&held.lock, ttl, now)));
            pruned = before - locks.len();
            pruned > 0
        })?;
        Ok(pruned)
    }

    /// Forgets every lock of every user on the server `base_url` (e.g. after its database was
    /// reset). Returns how many were forgotten.
    pub fn forget_server(&mut self, base_url: &str) -> Result<usize, JournalError> {
        let mut forgotten = 0;
        self.modify(|locks| {
            let before = locks.len();
            locks.retain(|held| !same_server(&held.base_url, base_url));
            forgotten = before - locks.len();
            forgotten > 0
        })?;
        Ok(forgotten)
    }

    /// Re-reads the file under an exclusive lock, lets `change` edit the entries, and writes the
    /// result if `change` reports a change. Other processes' updates are never lost.
    fn modify(&mut self, change: impl FnOnce(&mut Vec<HeldLock>) -> bool) -> Result<(), JournalError> {
        let write_error = |source| JournalError::Write {
            path: self.path.clone(),
            source,
        };
        let guard = lock_file(&self.path).map_err(write_error)?;
        let mut locks = read_locks(&self.path)?;
        if change(&mut locks) {
            let file = JournalFile {
                version: FORMAT_VERSION,
                locks: locks.clone(),
            };
            let mut bytes = serde_json::to_vec_pretty(&file).expect("journal entries serialize");
            bytes.push(b'\n');
            config::write_private_atomically(&self.path, &bytes).map_err(write_error)?;
        }
        drop(guard);
        self.locks = locks;
        Ok(())
    }
}

/// Whether a renewal of `lock` at `now` can no longer succeed: renewing an expired lock sets its
/// expiry to the old one plus `ttl`, and an expiry that is not after `now` is no lock at all.
/// Saturates: an expiry at the end of time is never dead.
pub fn is_dead(lock: &LockInfo, ttl: chrono::Duration, now: DateTime<Utc>) -> bool {
    lock.expires_at
        .checked_add_signed(ttl)
        .is_some_and(|renewable_until| renewable_until <= now)
}

/// Base URLs are compared without trailing slashes.
fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn read_locks(path: &Path) -> Result<Vec<HeldLock>, JournalError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JournalError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let corrupt = |detail: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let file: JournalFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if file.version != FORMAT_VERSION {
        return Err(corrupt(format!(
            "format version {} is not the {FORMAT_VERSION} this koobackup understands",
            file.version
        )));
    }
    Ok(file.locks)
}

/// Holds an exclusive lock on `<journal>.lock` until dropped. A separate file is used because the
/// journal itself is replaced by rename on every write.
fn lock_file(journal: &Path) -> std::io::Result<File> {
    let mut name = journal.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let path = journal.with_file_name(name);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        config::create_private_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path)?;
    file.lock()?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(id: &str, module: ModuleCode, expires_at: DateTime<Utc>, base_url: &str) -> HeldLock {
        HeldLock {
            lock: LockInfo {
                lock_id: id.into(),
                module,
                expires_at,
            },
            base_url: base_url.into(),
            user_id: "alice".into(),
            auto_renew: false,
        }
    }

    fn now() -> DateTime<Utc> {
        "2025-11-03T07:00:00Z".parse().unwrap()
    }

    #[test]
    fn missing_file_is_an_empty_journal() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::load(dir.path().join("locks.json")).unwrap();
        assert!(journal.all().is_empty());
    }

    #[test]
    fn entries_survive_a_reload_and_are_scoped_to_server_and_user() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("locks.json");
        let mut journal = Journal::load(&path).unwrap();
        let in_ten = now() + chrono::Duration::minutes(10);
        journal
            .upsert(held("a@102", ModuleCode::AddressBook, in_ten, "http://h:1/"))
            .unwrap();
        journal
            .upsert(held("b@100", ModuleCode::Folder, in_ten, "http://other"))
            .unwrap();

        let reloaded = Journal::load(&path).unwrap();
        assert_eq!(reloaded.all().len(), 2);
        let mine = reloaded.locks_for("http://h:1", "alice");
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].lock.lock_id, "a@102");
        assert!(reloaded.locks_for("http://h:1", "bob").is_empty());
    }

    #[test]
    fn upsert_replaces_by_lock_id_and_remove_reports_presence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks.json");
        let mut journal = Journal::load(&path).unwrap();
        journal
            .upsert(held("a@102", ModuleCode::AddressBook, now(), "http://h"))
            .unwrap();
        let renewed = now() + chrono::Duration::minutes(10);
        journal
            .upsert(held("a@102", ModuleCode::AddressBook, renewed, "http://h"))
            .unwrap();
        assert_eq!(journal.all().len(), 1);
        assert_eq!(journal.get("a@102").unwrap().lock.expires_at, renewed);

        assert!(journal.remove("a@102").unwrap());
        assert!(!journal.remove("a@102").unwrap());
        assert!(Journal::load(&path).unwrap().all().is_empty());
    }

    #[test]
    fn two_handles_do_not_lose_each_others_updates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks.json");
        let mut first = Journal::load(&path).unwrap();
        let mut second = Journal::load(&path).unwrap();
        first
            .upsert(held("a@100", ModuleCode::Folder, now(), "http://h"))
            .unwrap();
        second
            .upsert(held("b@101", ModuleCode::Album, now(), "http://h"))
            .unwrap();
        assert_eq!(second.all().len(), 2);
        assert_eq!(Journal::load(&path).unwrap().all().len(), 2);
    }

    #[test]
    fn live_lock_ignores_expired_entries_and_other_modules() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::load(dir.path().join("locks.json")).unwrap();
        let past = now() - chrono::Duration::seconds(1);
        let future = now() + chrono::Duration::minutes(5);
        journal
            .upsert(held("old@102", ModuleCode::AddressBook, past, "http://h"))
            .unwrap();
        journal
            .upsert(held("album@101", ModuleCode::Album, future, "http://h"))
            .unwrap();
        assert!(
            journal
                .live_lock_for("http://h", "alice", ModuleCode::AddressBook, now())
                .is_none()
        );
        journal
            .upsert(held("new@102", ModuleCode::AddressBook, future, "http://h"))
            .unwrap();
        let live = journal
            .live_lock_for("http://h", "alice", ModuleCode::AddressBook, now())
            .unwrap();
        assert_eq!(live.lock.lock_id, "new@102");
    }

    #[test]
    fn a_renewal_never_brings_back_a_released_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks.json");
        let mut renewer = Journal::load(&path).unwrap();
        let mut releaser = Journal::load(&path).unwrap();
        renewer
            .upsert(held("a@100", ModuleCode::Folder, now(), "http://h"))
            .unwrap();
        // Another process releases the lock while this one's renewal is on its way.
        assert!(releaser.remove("a@100").unwrap());
        let renewed = now() + chrono::Duration::minutes(10);
        assert!(
            !renewer
                .update(held("a@100", ModuleCode::Folder, renewed, "http://h"))
                .unwrap()
        );
        assert!(
            Journal::load(&path).unwrap().all().is_empty(),
            "it stays released"
        );
        assert!(renewer.all().is_empty());
        // A lock still there is updated in place.
        renewer
            .upsert(held("b@101", ModuleCode::Album, now(), "http://h"))
            .unwrap();
        assert!(
            releaser
                .update(held("b@101", ModuleCode::Album, renewed, "http://h"))
                .unwrap()
        );
        assert_eq!(
            Journal::load(&path)
                .unwrap()
                .get("b@101")
                .unwrap()
                .lock
                .expires_at,
            renewed
        );
    }

    #[test]
    fn a_lock_is_dead_exactly_when_the_server_refuses_its_renewal() {
        // The server (rules::renew_lock) refuses when old expiry + ttl <= now: at that very
        // millisecond the journal forgets it too, and not a millisecond before.
        let ttl = chrono::Duration::minutes(10);
        let lock = LockInfo {
            lock_id: "x@100".into(),
            module: ModuleCode::Folder,
            expires_at: now(),
        };
        let ms = chrono::Duration::milliseconds;
        assert!(!is_dead(&lock, ttl, now() + ttl - ms(1)));
        assert!(is_dead(&lock, ttl, now() + ttl));
        assert!(is_dead(&lock, ttl, now() + ttl + ms(1)));
        let forever = LockInfo {
            expires_at: DateTime::<Utc>::MAX_UTC,
            ..lock
        };
        assert!(!is_dead(&forever, ttl, DateTime::<Utc>::MAX_UTC));
    }

    #[test]
    fn an_unreadable_journal_is_an_error_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: reading fails with something other than
        // "not found", which must never be taken for an empty journal.
        let path = dir.path().join("locks.json");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), "x").unwrap();
        assert!(matches!(Journal::load(&path), Err(JournalError::Read { .. })));
        let mut journal = Journal {
            path: path.clone(),
            locks: Vec::new(),
        };
        assert!(
            journal
                .upsert(held("a@100", ModuleCode::Folder, now(), "http://h"))
                .is_err()
        );
        assert!(path.join("keep").exists(), "left alone");
    }

    #[test]
    fn prune_forgets_only_locks_past_renewal() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::load(dir.path().join("locks.json")).unwrap();
        let ttl = std::time::Duration::from_secs(600);
        let renewable = now() - chrono::Duration::minutes(5);
        let dead = now() - chrono::Duration::minutes(11);
        journal
            .upsert(held("renewable@100", ModuleCode::Folder, renewable, "http://h"))
            .unwrap();
        journal
            .upsert(held("dead@101", ModuleCode::Album, dead, "http://h"))
            .unwrap();
        journal
            .upsert(held("elsewhere@101", ModuleCode::Album, dead, "http://other"))
            .unwrap();
        journal
            .upsert(held("dead@102", ModuleCode::AddressBook, dead, "http://h"))
            .unwrap();
        // Two of four forgotten: the count is the number removed.
        assert_eq!(journal.prune_dead("http://h", "alice", ttl, now()).unwrap(), 2);
        let ids: Vec<_> = journal.all().iter().map(|h| h.lock.lock_id.as_str()).collect();
        assert_eq!(ids, ["renewable@100", "elsewhere@101"]);
        assert_eq!(journal.prune_dead("http://h", "alice", ttl, now()).unwrap(), 0);
        // The prune is on disk, not only in this handle.
        let reloaded = Journal::load(journal.path()).unwrap();
        let ids: Vec<_> = reloaded.all().iter().map(|h| h.lock.lock_id.as_str()).collect();
        assert_eq!(ids, ["renewable@100", "elsewhere@101"]);
    }

    #[test]
    fn forgetting_a_server_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::load(dir.path().join("locks.json")).unwrap();
        journal
            .upsert(held("a@100", ModuleCode::Folder, now(), "http://h"))
            .unwrap();
        journal
            .upsert(held("b@100", ModuleCode::Folder, now(), "http://other"))
            .unwrap();
        assert_eq!(journal.forget_server("http://h/").unwrap(), 1);
        assert_eq!(journal.all().len(), 1);
        assert_eq!(journal.all()[0].lock.lock_id, "b@100");
        // Forgotten on disk, not only in this handle.
        let reloaded = Journal::load(journal.path()).unwrap();
        let ids: Vec<_> = reloaded.all().iter().map(|h| h.lock.lock_id.as_str()).collect();
        assert_eq!(ids, ["b@100"]);
    }

    #[test]
    fn corrupt_file_is_an_error_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks.json");
        std::fs::write(&path, "{ not json").unwrap();
        let err = Journal::load(&path).unwrap_err();
        assert!(matches!(err, JournalError::Corrupt { .. }));
        assert!(err.to_string().contains("move it aside"), "{err}");

        // A handle loaded before the damage refuses to overwrite it.
        std::fs::remove_file(&path).unwrap();
        let mut journal = Journal::load(&path).unwrap();
        std::fs::write(&path, "{ not json").unwrap();
        assert!(
            journal
                .upsert(held("a@100", ModuleCode::Folder, now(), "http://h"))
                .is_err()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
    }

    #[cfg(unix)]
    #[test]
    fn journal_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks.json");
        let mut journal = Journal::load(&path).unwrap();
        journal
            .upsert(held("a@100", ModuleCode::Folder, now(), "http://h"))
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
