//! The history on disk: `history.jsonl` (one entry a line, appended) and its older rotations
//! `history.1.jsonl` … `history.4.jsonl`, in a private directory. Writers take an exclusive lock
//! on `history.lock` for each append (and for a rotation), so several processes — cron jobs, a
//! `lock hold`, the app — never interleave or lose an entry; each entry is flushed to disk before
//! the change it records is reported. Plans of bulk deletes also get a file of their own under
//! `plans/` until they end, so an unfinished one is found without reading the whole history.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::entry::{Entry, Op};
use crate::config;

/// A file is rotated once it is larger than this.
pub const MAX_FILE_BYTES: u64 = 8 << 20;
/// Rotated files kept besides the current one: the history keeps 5 × 8 MiB at most.
pub const ROTATIONS: usize = 4;

const CURRENT: &str = "history.jsonl";
const LOCK: &str = "history.lock";
const PLANS: &str = "plans";
const NOTICES: &str = "notices";
const RECOVERY_LOCK: &str = "recovery.lock";

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Location(#[from] config::ConfigError),
    #[error("cannot write the history in {}: {source}", dir.display())]
    Write {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the history in {}: {source}", dir.display())]
    Read {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether a write waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    ToDisk,
    Later,
}

/// The history directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    dir: PathBuf,
}

/// What reading the history found.
#[derive(Debug, Default)]
pub struct Read {
    /// Newest first.
    pub entries: Vec<Entry>,
    /// Lines that are not entries (a newer version's, or damaged): skipped, never trusted.
    pub unreadable: usize,
}

impl History {
    /// `$XDG_STATE_HOME/koobackup/history` (else `~/.local/state/koobackup/history`).
    pub fn default_place() -> Result<History, HistoryError> {
        Ok(History::at(config::state_dir()?.join("history")))
    }

    pub fn at(dir: impl Into<PathBuf>) -> History {
        History { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn write_error(&self, source: std::io::Error) -> HistoryError {
        HistoryError::Write {
            dir: self.dir.clone(),
            source,
        }
    }

    /// Runs `f` holding the history's exclusive lock.
    fn locked<T>(&self, f: impl FnOnce() -> std::io::Result<T>) -> Result<T, HistoryError> {
        let attempt = || -> std::io::Result<T> {
            config::create_private_dir_all(&self.dir)?;
            make_private(&self.dir, 0o700)?;
            let lock = private_options()
                .read(true)
                .write(true)
                .open(self.dir.join(LOCK))?;
            lock.lock()?;
            f()
        };
        attempt().map_err(|e| self.write_error(e))
    }

    /// Appends `entry`, flushed to disk when this returns.
    pub fn append(&self, entry: &Entry) -> Result<(), HistoryError> {
        self.append_all(std::slice::from_ref(entry))
    }

    /// Appends `entries` in one write, flushed to disk when this returns.
    pub fn append_all(&self, entries: &[Entry]) -> Result<(), HistoryError> {
        self.write(entries, Flush::ToDisk)
    }

    /// Appends `entry` without waiting for the disk: for the deletes of an open plan, whose
    /// plan is on disk already and whose end flushes them all (a `kill -9` loses nothing the
    /// kernel was given; after a power loss the plan's recovery accounts for them). One flush
    /// per delete would cost a bulk delete several times its time.
    pub fn append_unflushed(&self, entry: &Entry) -> Result<(), HistoryError> {
        self.write(std::slice::from_ref(entry), Flush::Later)
    }

    fn write(&self, entries: &[Entry], flush: Flush) -> Result<(), HistoryError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for entry in entries {
            let line = serde_json::to_string(entry).map_err(|e| self.write_error(e.into()))?;
            text.push_str(&line);
            text.push('\n');
        }
        self.locked(|| {
            self.rotate_if_full()?;
            let mut file = private_options()
                .read(true)
                .append(true)
                .open(self.dir.join(CURRENT))?;
            make_private(&self.dir.join(CURRENT), 0o600)?;
            let before = file.metadata()?.len();
            if before > 0 && !ends_in_newline(&mut file, before)? {
                // A line cut short (a crash mid-write by an older version, a hand edit) must not
                // swallow this one: it stays one unreadable line of its own.
                text.insert(0, '\n');
            }
            let written = file.write_all(text.as_bytes()).and_then(|()| match flush {
                Flush::ToDisk => file.sync_data(),
                Flush::Later => Ok(()),
            });
            if written.is_err() {
                // A part of a line (a full disk) would swallow the next entry: cut it off.
                let _ = file.set_len(before);
            }
            written
        })
    }

    /// Moves the current file to `history.1.jsonl` (and each older one up) when it is full; the
    /// oldest beyond [`ROTATIONS`] goes.
    fn rotate_if_full(&self) -> std::io::Result<()> {
        let current = self.dir.join(CURRENT);
        match std::fs::metadata(&current) {
            Ok(meta) if meta.len() >= MAX_FILE_BYTES => {}
            _ => return Ok(()),
        }
        for n in (1..ROTATIONS).rev() {
            let from = self.dir.join(rotated(n));
            if from.exists() {
                std::fs::rename(&from, self.dir.join(rotated(n + 1)))?;
            }
        }
        std::fs::rename(current, self.dir.join(rotated(1)))
    }

    /// Every entry, newest first. A missing history is an empty one.
    pub fn read(&self) -> Result<Read, HistoryError> {
        let mut read = Read::default();
        let mut files = vec![self.dir.join(CURRENT)];
        files.extend((1..=ROTATIONS).map(|n| self.dir.join(rotated(n))));
        for path in files {
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(HistoryError::Read {
                        dir: self.dir.clone(),
                        source,
                    });
                }
            };
            let mut lines: Vec<Entry> = Vec::new();
            // Split on bytes: a line that is not UTF-8 (damage) is one unreadable line, not an
            // unreadable history.
            for line in BufReader::new(file).split(b'\n') {
                let line = line.map_err(|source| HistoryError::Read {
                    dir: self.dir.clone(),
                    source,
                })?;
                if line.trim_ascii().is_empty() {
                    continue;
                }
                match serde_json::from_slice(&line) {
                    Ok(entry) => lines.push(entry),
                    Err(_) => read.unreadable += 1,
                }
            }
            lines.reverse();
            read.entries.extend(lines);
        }
        Ok(read)
    }

    /// Writes a plan's file and its `plan.start` entry; when either cannot be written, neither
    /// is left behind.
    pub fn open_plan(&self, start: &Entry) -> Result<(), HistoryError> {
        debug_assert_eq!(start.op, Op::PlanStart);
        let text = serde_json::to_vec(start).map_err(|e| self.write_error(e.into()))?;
        let path = self.plan_path(&start.id);
        config::write_private_atomically(&path, &text).map_err(|e| self.write_error(e))?;
        self.append(start).inspect_err(|_| {
            let _ = std::fs::remove_file(&path);
        })
    }

    /// Whether something can be written now: a block of the disk is taken and given back (an
    /// empty write succeeds on a full disk), under the history's lock.
    pub fn check_writable(&self) -> Result<(), HistoryError> {
        self.locked(|| {
            let probe = self.dir.join(format!(".probe-{}", std::process::id()));
            let written = private_options()
                .write(true)
                .truncate(true)
                .open(&probe)
                .and_then(|mut file| {
                    file.write_all(&[0u8; 4096])?;
                    file.sync_data()
                });
            let _ = std::fs::remove_file(&probe);
            written
        })
    }

    /// Removes a plan's file once its `plan.end` is written.
    pub fn close_plan(&self, end: &Entry) -> Result<(), HistoryError> {
        self.append(end)?;
        if let Some(plan) = &end.plan {
            match std::fs::remove_file(self.plan_path(plan)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.write_error(e)),
            }
        }
        Ok(())
    }

    /// The plans whose `plan.end` was never written (their process may still run). A file that
    /// is not a plan of ours under its own name (damaged, or a copy) is set aside as
    /// `*.json.damaged` once, never read as a plan.
    pub fn open_plans(&self) -> Vec<Entry> {
        let Ok(dir) = std::fs::read_dir(self.dir.join(PLANS)) else {
            return Vec::new();
        };
        let mut plans = Vec::new();
        for path in dir.flatten().map(|e| e.path()) {
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let plan = std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Entry>(&bytes).ok())
                .filter(|entry| entry.op == Op::PlanStart && self.plan_path(&entry.id) == path);
            match plan {
                Some(plan) => plans.push(plan),
                None => {
                    let mut aside = path.clone().into_os_string();
                    aside.push(".damaged");
                    let _ = std::fs::rename(&path, aside);
                }
            }
        }
        plans.sort_by(|a, b| a.id.cmp(&b.id));
        plans
    }

    /// The right to recover this history's plans, held until the returned file is dropped;
    /// `None` while another process holds it (or it cannot be taken).
    pub fn recovery_lock(&self) -> Option<File> {
        config::create_private_dir_all(&self.dir).ok()?;
        let lock = private_options()
            .read(true)
            .write(true)
            .open(self.dir.join(RECOVERY_LOCK))
            .ok()?;
        lock.try_lock().ok()?;
        Some(lock)
    }

    /// Keeps `notice` for the next command that can show it (see [`History::take_notices`]).
    pub fn save_notice(&self, notice: &str) -> Result<(), HistoryError> {
        let path = self
            .dir
            .join(NOTICES)
            .join(format!("{}.txt", super::entry::new_id(chrono::Utc::now())));
        config::write_private_atomically(&path, notice.as_bytes()).map_err(|e| self.write_error(e))
    }

    /// The notices kept by commands that could not show them, oldest first; each is given once.
    pub fn take_notices(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.dir.join(NOTICES)) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        paths.sort();
        paths
            .into_iter()
            .filter_map(|path| {
                let text = std::fs::read_to_string(&path).ok();
                // Given once: a notice that cannot be removed is not shown (it would repeat).
                std::fs::remove_file(&path).ok()?;
                text
            })
            .collect()
    }

    fn plan_path(&self, id: &str) -> PathBuf {
        // Ids are ours (time and hex), but a plan file's name must never leave the folder.
        let name: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
            .collect();
        self.dir.join(PLANS).join(format!("{name}.json"))
    }
}

/// Takes group and other permissions off `path` when it has any (a history directory or file
/// made by hand, or restored from a backup, with the usual 0755/0644): deletes and the records
/// as they were are nobody else's to read.
fn make_private(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let permissions = std::fs::metadata(path)?.permissions();
        if permissions.mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Whether the `len`-byte file ends in a line break.
fn ends_in_newline(file: &mut File, len: u64) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

fn rotated(n: usize) -> String {
    format!("history.{n}.jsonl")
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::entry::{Outcome, Who};

    fn who() -> Who {
        Who {
            profile: Some("work".into()),
            server: "koodrive.example".into(),
            user: "alice".into(),
            host: "web-01".into(),
            pid: 7,
            by: "koobackup record delete 1".into(),
        }
    }

    fn entry(op: Op, record: &str) -> Entry {
        let mut entry = Entry::new(who(), op, Outcome::ok());
        entry.record_id = Some(record.into());
        entry
    }

    #[test]
    fn entries_come_back_newest_first_and_foreign_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::at(dir.path().join("h"));
        assert!(history.read().unwrap().entries.is_empty(), "none yet");
        history.append(&entry(Op::RecordCreate, "1")).unwrap();
        history.append(&entry(Op::RecordDelete, "1")).unwrap();
        let path = dir.path().join("h").join(CURRENT);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        writeln!(file, "{{\"from\": \"a newer version\"}}\nnot json").unwrap();
        let read = history.read().unwrap();
        let ops: Vec<Op> = read.entries.iter().map(|e| e.op).collect();
        assert_eq!(ops, [Op::RecordDelete, Op::RecordCreate]);
        assert_eq!(read.unreadable, 2);

        // A byte that is not UTF-8, and a last line cut short: each is one unreadable line,
        // and the entry appended after the cut line is whole.
        file.write_all(b"\xff\xfe\n{\"id\":\"cut sh").unwrap();
        history.append(&entry(Op::LockRelease, "2")).unwrap();
        let read = history.read().unwrap();
        let ops: Vec<Op> = read.entries.iter().map(|e| e.op).collect();
        assert_eq!(ops, [Op::LockRelease, Op::RecordDelete, Op::RecordCreate]);
        assert_eq!(read.unreadable, 4);
    }

    #[test]
    fn a_plan_file_that_is_not_its_own_is_set_aside_and_never_read_as_a_plan() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::at(dir.path().join("h"));
        let mut start = entry(Op::PlanStart, "1");
        start.plan = Some(start.id.clone());
        history.open_plan(&start).unwrap();
        let plans = dir.path().join("h").join(PLANS);
        std::fs::copy(history.plan_path(&start.id), plans.join("copy.json")).unwrap();
        std::fs::write(plans.join("damaged.json"), b"{").unwrap();
        let open: Vec<String> = history.open_plans().into_iter().map(|p| p.id).collect();
        assert_eq!(open, [start.id.clone()]);
        assert!(plans.join("copy.json.damaged").exists());
        assert!(plans.join("damaged.json.damaged").exists());
        assert_eq!(
            history.open_plans().len(),
            1,
            "set aside once, the plan itself stays"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let history = History::at(dir.path().join("state").join("history"));
        history.append(&entry(Op::LockCreate, "1")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(history.dir()), 0o700);
        assert_eq!(mode(&history.dir().join(CURRENT)), 0o600);
        assert_eq!(mode(&history.dir().join(LOCK)), 0o600);

        // Made wider by hand (or restored so): narrowed again at the next write.
        use std::fs::Permissions;
        std::fs::set_permissions(history.dir(), Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(history.dir().join(CURRENT), Permissions::from_mode(0o644)).unwrap();
        history.append(&entry(Op::LockRenew, "1")).unwrap();
        assert_eq!(mode(history.dir()), 0o700);
        assert_eq!(mode(&history.dir().join(CURRENT)), 0o600);
    }

    #[test]
    fn a_full_file_is_rotated_and_the_oldest_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::at(dir.path());
        for round in 0..=ROTATIONS + 1 {
            // A file just over the limit: the next append rotates it.
            let filler = format!("{}\n", "x".repeat(MAX_FILE_BYTES as usize));
            std::fs::write(dir.path().join(CURRENT), filler).unwrap();
            history
                .append(&entry(Op::RecordDelete, &round.to_string()))
                .unwrap();
        }
        assert!(dir.path().join(rotated(ROTATIONS)).exists());
        assert!(!dir.path().join(rotated(ROTATIONS + 1)).exists());
        let newest = history.read().unwrap().entries[0].clone();
        assert_eq!(newest.record_id.as_deref(), Some(&*(ROTATIONS + 1).to_string()));
    }

    #[test]
    fn concurrent_writers_lose_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::at(dir.path());
        std::thread::scope(|scope| {
            for writer in 0..8 {
                let history = history.clone();
                scope.spawn(move || {
                    for n in 0..50 {
                        history
                            .append(&entry(Op::RecordDelete, &format!("{writer}-{n}")))
                            .unwrap();
                    }
                });
            }
        });
        let read = history.read().unwrap();
        assert_eq!(read.unreadable, 0);
        let ids: std::collections::BTreeSet<String> =
            read.entries.iter().filter_map(|e| e.record_id.clone()).collect();
        assert_eq!(ids.len(), 400);
    }

    #[test]
    fn a_plan_stays_open_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::at(dir.path());
        let mut start = entry(Op::PlanStart, "");
        start.plan = Some(start.id.clone());
        history.open_plan(&start).unwrap();
        assert_eq!(history.open_plans(), [start.clone()]);
        let mut end = entry(Op::PlanEnd, "");
        end.plan = Some(start.id.clone());
        history.close_plan(&end).unwrap();
        assert!(history.open_plans().is_empty());
        let ops: Vec<Op> = history.read().unwrap().entries.iter().map(|e| e.op).collect();
        assert_eq!(ops, [Op::PlanEnd, Op::PlanStart]);
    }
}
