//! The locks this user holds, kept on disk, each with its owner.
//!
//! KooDrive has no endpoint that lists locks: a client that loses a lock id can neither renew nor
//! release that lock until it expires. Every lock koobackup creates is therefore written here
//! (`~/.local/share/koobackup/locks.json`, or `$KOOBACKUP_JOURNAL`) and removed when released.
//! Each entry names its owner ([`Owner`]: what the lock is for, host, process), because a lock
//! is a mutex between operations, not a credential: an operation uses only its own lock or one
//! the user named (see [`crate::lease`]).
//!
//! Several koobackup processes may share the file (a TUI, a `lock hold`, a cron job), so every
//! change re-reads the file under an exclusive file lock, applies itself, and replaces the file
//! atomically; readers take the same lock shared. A change is a compare-and-set against what is
//! on disk then: a renewal by anyone but the owner updates an entry only if it is still there
//! ([`Journal::update`]), so a lock released meanwhile never comes back; the owner re-asserts
//! its entry at every renewal ([`Journal::upsert`]), so a journal restored from an older copy
//! heals. A damaged or unreadable file is reported, never silently replaced: it may be the only
//! record of a lock that is still held.
//!
//! Nothing is forgotten because of this machine's clock alone: only on the server's word (a
//! release, "lock not found", "expired beyond renewal"), or past renewal by the server's clock
//! as measured ([`Journal::prune_dead`]).
//!
//! A symlinked journal is written through its link. A removal that cannot be written for lack
//! of space is written in place (the file only shrinks), so a released lock is not shown as held.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::{LockInfo, ModuleCode};
use crate::config::{self, ConfigError};
use crate::lease::{Owner, Standing};

mod holders;
mod reassert;

pub use holders::Holders;
pub use reassert::Reassert;

/// Overrides the journal location (tests point it into a temporary directory).
pub const JOURNAL_ENV: &str = "KOOBACKUP_JOURNAL";

/// Version of the file layout, written into the file. Entries gained optional fields (owner,
/// server expiry) without a new version: older koobackups ignore them.
const FORMAT_VERSION: u32 = 1;

/// A journal larger than this is not read: it cannot be a list of locks (each entry takes a few
/// hundred bytes), and reading a huge file would stall every command.
pub const MAX_JOURNAL_BYTES: u64 = 16 << 20;

/// How much later than the server's clock as measured an entry is kept before it is pruned:
/// the server's `Date` has whole seconds, and a measurement is a round trip old.
const PRUNE_SLACK: chrono::Duration = chrono::Duration::seconds(5);

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
    /// Who holds it; absent in entries older koobackups wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// The expiry on the server's clock, as the writer estimated it through its measured clock
    /// offset (`lock.expires_at` is on the writer's own clock); absent when it had not measured
    /// the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_expires_at: Option<DateTime<Utc>>,
}

impl HeldLock {
    /// An entry for `lock` on `base_url` as `user_id`, with no owner and no server expiry yet.
    pub fn new(lock: LockInfo, base_url: impl Into<String>, user_id: impl Into<String>) -> HeldLock {
        HeldLock {
            lock,
            base_url: base_url.into(),
            user_id: user_id.into(),
            auto_renew: false,
            owner: None,
            server_expires_at: None,
        }
    }

    fn belongs_to(&self, base_url: &str, user_id: &str) -> bool {
        same_server(&self.base_url, base_url) && self.user_id == user_id
    }

    /// Where its owner stands, seen from this process.
    pub fn standing(&self) -> Standing {
        Standing::of(self.owner.as_ref())
    }

    /// When the lock expires on this machine's clock, as well as can be told. `lock.expires_at`
    /// is on the writer's clock, which may be off; `server_expires_at` (when the writer had
    /// measured the server's clock) is on the server's. With this machine's own offset to the
    /// server measured (`offset`: the server's clock minus ours), the server's expiry is brought
    /// onto our clock. Without, an entry written on this host is read on its own clock (the same
    /// one), another host's by the server's expiry (ours is then assumed right).
    pub fn expires_here(&self, offset: Option<chrono::Duration>) -> DateTime<Utc> {
        let written_here = self
            .owner
            .as_ref()
            .is_some_and(|owner| owner.host == crate::lease::owner::Machine::current().host);
        match (self.server_expires_at, offset) {
            (Some(server), Some(offset)) => server - offset,
            (Some(server), None) if !written_here => server,
            _ => self.lock.expires_at,
        }
    }

    /// The lock with [`HeldLock::expires_here`] as its expiry: for countdowns and "is it still
    /// live?".
    pub fn lock_here(&self, offset: Option<chrono::Duration>) -> LockInfo {
        LockInfo {
            expires_at: self.expires_here(offset),
            ..self.lock.clone()
        }
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
         cannot list: repair it or move it aside (locks it names expire on their own unless renewed)",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error("cannot write the lock journal {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

impl JournalError {
    /// Whether the journal could not be written for lack of space (or quota).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, JournalError::Write { source, .. } if is_disk_full(source))
    }
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

    /// Reads the journal; a missing file is an empty journal. A reader never waits for a writer
    /// (a stuck process holding the lock must not hang `lock list`): it takes the lock shared
    /// when it is free, which keeps it from reading a removal being written in place.
    pub fn load(path: impl Into<PathBuf>) -> Result<Journal, JournalError> {
        let path = path.into();
        let guard = lock_file(&path, Access::TryShared).ok();
        let locks = read_locks(&path)?;
        drop(guard);
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

    /// The entries of `module`'s locks on `base_url` for `user_id` that may still hold it at
    /// `now` (not expired, on this machine's clock with the server `offset` if measured: see
    /// [`HeldLock::expires_here`]), longest-lived first: whoever holds the module, as far as this
    /// journal knows.
    pub fn holders_of(
        &self,
        base_url: &str,
        user_id: &str,
        module: ModuleCode,
        now: DateTime<Utc>,
        offset: Option<chrono::Duration>,
    ) -> Vec<&HeldLock> {
        let mut holders: Vec<&HeldLock> = self
            .locks_for(base_url, user_id)
            .into_iter()
            .filter(|held| held.lock.module == module && !held.lock_here(offset).is_expired(now))
            .collect();
        holders.reverse();
        holders
    }

    pub fn get(&self, lock_id: &str) -> Option<&HeldLock> {
        self.locks.iter().find(|held| held.lock.lock_id == lock_id)
    }

    /// Updates the entry of `held`'s lock (a new expiry after a renewal, a new auto-renew
    /// setting) if the journal on disk still has it, keeping its owner unless `held` names one.
    /// Returns whether it had: `false` means it was removed meanwhile (released by another
    /// koobackup), and it stays removed.
    pub fn update(&mut self, held: HeldLock) -> Result<bool, JournalError> {
        let mut found = false;
        self.modify(|locks| {
            if let Some(existing) = locks.iter_mut().find(|l| l.lock.lock_id == held.lock.lock_id) {
                let owner = held.owner.clone().or(existing.owner.take());
                *existing = HeldLock {
                    owner,
                    server_expires_at: held.server_expires_at.or(existing.server_expires_at),
                    ..held.clone()
                };
                found = true;
            }
            found
        })?;
        tracing::info!(lock_id = %held.lock.lock_id, expires_at = %held.lock.expires_at, found, "journal: update");
        Ok(found)
    }

    /// Adds the lock (just created, or adopted), or replaces the entry with the same lock id:
    /// also how an owner re-asserts its entry at a renewal.
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

    /// Forgets this server's and user's locks that can never be renewed again by the server's
    /// clock: the server extends an expired lock from its old expiry, so one whose server expiry
    /// plus `ttl` is not after `server_now` (with a few seconds' slack) is gone for good. Only
    /// entries whose writer measured the server's clock are judged; `server_now` must come from
    /// a measurement too. Returns how many were forgotten.
    pub fn prune_dead(
        &mut self,
        base_url: &str,
        user_id: &str,
        ttl: std::time::Duration,
        server_now: DateTime<Utc>,
    ) -> Result<usize, JournalError> {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let dead = |held: &HeldLock| {
            held.belongs_to(base_url, user_id)
                && held.server_expires_at.is_some_and(|expiry| {
                    expiry
                        .checked_add_signed(ttl)
                        .and_then(|t| t.checked_add_signed(PRUNE_SLACK))
                        .is_some_and(|renewable_until| renewable_until <= server_now)
                })
        };
        let mut pruned = 0;
        self.modify(|locks| {
            let before = locks.len();
            locks.retain(|held| !dead(held));
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
        let target = resolve_links(&self.path);
        let write_error = |source| JournalError::Write {
            path: self.path.clone(),
            source,
        };
        let guard = lock_file(&self.path, Access::Exclusive).map_err(write_error)?;
        let mut locks = read_locks(&self.path)?;
        let before = locks.len();
        if change(&mut locks) {
            let file = JournalFile {
                version: FORMAT_VERSION,
                locks: locks.clone(),
            };
            let mut bytes = serde_json::to_vec_pretty(&file).expect("journal entries serialize");
            bytes.push(b'\n');
            match config::write_private_atomically(&target, &bytes) {
                Ok(()) => {}
                // A disk too full for a new copy still holds the old one: a removal, which only
                // shrinks it, is written over it (under the lock, which readers take too), so a
                // released lock is not left looking held.
                Err(e) if is_disk_full(&e) && locks.len() < before => {
                    write_in_place(&target, &bytes).map_err(|_| write_error(e))?;
                }
                Err(e) => return Err(write_error(e)),
            }
        }
        drop(guard);
        self.locks = locks;
        Ok(())
    }
}

/// Whether an I/O error means the disk (or the user's quota) is full.
fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// Overwrites `path` with `bytes` (no longer than what it holds) and cuts it to their length.
fn write_in_place(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    if file.metadata()?.len() < bytes.len() as u64 {
        return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
    }
    file.write_all(bytes)?;
    file.set_len(bytes.len() as u64)?;
    file.sync_all()
}

/// Base URLs are compared without trailing slashes.
fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The file a path names once its symlinks are followed (a link to a file not there yet
/// resolves to where the file will be): writes go through the link instead of replacing it.
fn resolve_links(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&current) {
            Ok(target) if target.is_absolute() => current = target,
            Ok(target) => {
                current = current
                    .parent()
                    .map_or_else(|| target.clone(), |dir| dir.join(&target));
            }
            Err(_) => break,
        }
    }
    current
}

fn read_locks(path: &Path) -> Result<Vec<HeldLock>, JournalError> {
    let read_error = |source| JournalError::Read {
        path: path.to_path_buf(),
        source,
    };
    let corrupt = |detail: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(read_error(source)),
    };
    let meta = file.metadata().map_err(read_error)?;
    if meta.is_dir() {
        return Err(corrupt("it is a directory, not a file".into()));
    }
    if meta.len() > MAX_JOURNAL_BYTES {
        return Err(corrupt(format!(
            "it is {} MiB, more than the {} MiB a lock journal can take; it was not read",
            meta.len() >> 20,
            MAX_JOURNAL_BYTES >> 20
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    use std::io::Read;
    file.take(MAX_JOURNAL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_JOURNAL_BYTES {
        return Err(corrupt(format!(
            "it holds more than the {} MiB a lock journal can take; it was not read",
            MAX_JOURNAL_BYTES >> 20
        )));
    }
    let file: JournalFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if file.version != FORMAT_VERSION {
        return Err(corrupt(format!(
            "format version {} is not the {FORMAT_VERSION} this koobackup understands",
            file.version
        )));
    }
    Ok(file.locks)
}

/// How the journal is locked: shared to read (if free), exclusive to change.
#[derive(Clone, Copy)]
enum Access {
    TryShared,
    Exclusive,
}

/// Holds a lock on `<journal>.lock` (beside the file the journal's links lead to) until
/// dropped. A separate file is used because the journal itself is replaced by rename on every
/// write.
fn lock_file(journal: &Path, access: Access) -> std::io::Result<File> {
    let journal = resolve_links(journal);
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
    match access {
        Access::TryShared => file.try_lock_shared().map_err(std::io::Error::other)?,
        Access::Exclusive => file.lock()?,
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(id: &str, module: ModuleCode, expires_at: DateTime<Utc>, base_url: &str) -> HeldLock {
        let lock = LockInfo {
            lock_id: id.into(),
            module,
            expires_at,
        };
        HeldLock {
            // Written by a koobackup whose clock agrees with the server's.
            server_expires_at: Some(expires_at),
            ..HeldLock::new(lock, base_url, "alice")
        }
    }

    fn now() -> DateTime<Utc> {
        "2025-11-03T07:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_expiry_is_read_on_this_machines_clock_whoever_wrote_it() {
        use crate::lease::{Owner, Purpose};
        let minutes = chrono::Duration::minutes;
        // A writer whose clock is 25 minutes behind the server's: its own expiry says 07:05,
        // the server's 07:30.
        let mut entry = held("a@100", ModuleCode::Folder, now() + minutes(5), "http://h");
        entry.server_expires_at = Some(now() + minutes(30));
        let mut elsewhere = Owner::this_process(Purpose::Cleanup);
        elsewhere.host = "web-02".into();
        entry.owner = Some(elsewhere);
        assert_eq!(entry.expires_here(None), now() + minutes(30), "the server's word");
        // Our own offset measured (our clock 2 minutes behind the server's): onto our clock.
        assert_eq!(entry.expires_here(Some(minutes(2))), now() + minutes(28));
        // Written on this host: its clock is ours, its own expiry is read as it is.
        entry.owner = Some(Owner::this_process(Purpose::Cleanup));
        assert_eq!(entry.expires_here(None), now() + minutes(5));
        // Nothing measured by the writer: its expiry is all there is.
        entry.server_expires_at = None;
        assert_eq!(entry.expires_here(Some(minutes(2))), now() + minutes(5));
        assert_eq!(entry.lock_here(None).expires_at, now() + minutes(5));
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
    fn holders_ignore_expired_entries_and_other_modules() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::load(dir.path().join("locks.json")).unwrap();
        let past = now() - chrono::Duration::seconds(1);
        let future = now() + chrono::Duration::minutes(5);
        let later = now() + chrono::Duration::minutes(8);
        journal
            .upsert(held("old@102", ModuleCode::AddressBook, past, "http://h"))
            .unwrap();
        journal
            .upsert(held("album@101", ModuleCode::Album, future, "http://h"))
            .unwrap();
        assert!(
            journal
                .holders_of("http://h", "alice", ModuleCode::AddressBook, now(), None)
                .is_empty()
        );
        journal
            .upsert(held("new@102", ModuleCode::AddressBook, future, "http://h"))
            .unwrap();
        journal
            .upsert(held("newer@102", ModuleCode::AddressBook, later, "http://h"))
            .unwrap();
        let ids: Vec<&str> = journal
            .holders_of("http://h", "alice", ModuleCode::AddressBook, now(), None)
            .iter()
            .map(|h| h.lock.lock_id.as_str())
            .collect();
        assert_eq!(ids, ["newer@102", "new@102"], "longest-lived first");
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
    fn an_update_keeps_the_owner_and_an_upsert_reasserts_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks.json");
        let mut journal = Journal::load(&path).unwrap();
        let owner = Owner::this_process(crate::lease::Purpose::Cleanup);
        let mut entry = held("a@100", ModuleCode::Folder, now(), "http://h");
        entry.owner = Some(owner.clone());
        journal.upsert(entry.clone()).unwrap();
        // Someone else's renewal (no owner of its own) keeps the owner.
        let renewed = held(
            "a@100",
            ModuleCode::Folder,
            now() + chrono::Duration::minutes(10),
            "http://h",
        );
        assert!(journal.update(renewed).unwrap());
        assert_eq!(
            Journal::load(&path).unwrap().get("a@100").unwrap().owner,
            Some(owner)
        );
        // A journal restored from a copy without the entry: the owner's next renewal brings it
        // back.
        std::fs::write(&path, "{\"version\":1,\"locks\":[]}").unwrap();
        journal.upsert(entry).unwrap();
        assert!(Journal::load(&path).unwrap().get("a@100").is_some());
    }

    #[test]
    fn an_unreadable_journal_is_an_error_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: reading fails with something other than
        // "not found", which must never be taken for an empty journal.
        let path = dir.path().join("locks.json");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), "x").unwrap();
        let error = Journal::load(&path).unwrap_err();
        assert!(error.to_string().contains("is a directory"), "{error}");
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
    fn prune_forgets_only_locks_past_renewal_by_the_servers_clock() {
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
        // Written by a koobackup that never measured the server's clock: only its local expiry
        // is known, which says nothing a skewed clock could not fake. Kept.
        let mut unmeasured = held("unmeasured@100", ModuleCode::Folder, dead, "http://h");
        unmeasured.server_expires_at = None;
        journal.upsert(unmeasured).unwrap();
        // Two of five forgotten: the count is the number removed.
        assert_eq!(journal.prune_dead("http://h", "alice", ttl, now()).unwrap(), 2);
        let ids: Vec<_> = journal.all().iter().map(|h| h.lock.lock_id.as_str()).collect();
        assert_eq!(ids, ["renewable@100", "elsewhere@101", "unmeasured@100"]);
        assert_eq!(journal.prune_dead("http://h", "alice", ttl, now()).unwrap(), 0);
        // The prune is on disk, not only in this handle.
        let reloaded = Journal::load(journal.path()).unwrap();
        let ids: Vec<_> = reloaded.all().iter().map(|h| h.lock.lock_id.as_str()).collect();
        assert_eq!(ids, ["renewable@100", "elsewhere@101", "unmeasured@100"]);
    }

    #[test]
    fn the_last_seconds_before_the_server_refuses_a_renewal_keep_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::load(dir.path().join("locks.json")).unwrap();
        let ttl = std::time::Duration::from_secs(600);
        journal
            .upsert(held("a@100", ModuleCode::Folder, now(), "http://h"))
            .unwrap();
        let renewal_refused = now() + chrono::Duration::minutes(10);
        assert_eq!(
            journal
                .prune_dead("http://h", "alice", ttl, renewal_refused)
                .unwrap(),
            0
        );
        let past_slack = renewal_refused + PRUNE_SLACK;
        assert_eq!(
            journal.prune_dead("http://h", "alice", ttl, past_slack).unwrap(),
            1
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_journal_is_written_through_its_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("shared").join("locks.json");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        let link = dir.path().join("locks.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut journal = Journal::load(&link).unwrap();
        journal
            .upsert(held("a@100", ModuleCode::Folder, now(), "http://h"))
            .unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(Journal::load(&real).unwrap().all().len(), 1);
        assert_eq!(Journal::load(&link).unwrap().all().len(), 1);
    }

    #[test]
    fn a_huge_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks.json");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_JOURNAL_BYTES + 1).unwrap();
        let error = Journal::load(&path).unwrap_err();
        assert!(error.to_string().contains("MiB"), "{error}");
        assert!(matches!(error, JournalError::Corrupt { .. }));
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
