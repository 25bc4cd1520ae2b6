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
        let mut text = String::new();
        for entry in entries {
            let line = serde_json::to_string(entry).map_err(|e| self.write_error(e.into()))?;
            text.push_str(&line);
            text.push('\n');
        }
        self.locked(|| {
            self.rotate_if_full()?;
            let mut file = private_options().append(true).open(self.dir.join(CURRENT))?;
            let before = file.metadata()?.len();
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
            for line in BufReader::new(file).lines() {
                let line = line.map_err(|source| HistoryError::Read {
                    dir: self.dir.clone(),
                    source,
                })?;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str(&line) {
                    Ok(entry) => lines.push(entry),
                    Err(_) => read.unreadable += 1,
                }
            }
            lines.reverse();
            read.entries.extend(lines);
        }
        Ok(read)
    }

    /// Writes a plan's file (beside its `plan.start` entry, appended first).
    pub fn open_plan(&self, start: &Entry) -> Result<(), HistoryError> {
        debug_assert_eq!(start.op, Op::PlanStart);
        self.append(start)?;
        let text = serde_json::to_vec(start).map_err(|e| self.write_error(e.into()))?;
        config::write_private_atomically(&self.plan_path(&start.id), &text).map_err(|e| self.write_error(e))
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

    /// The plans whose `plan.end` was never written (their process may still run).
    pub fn open_plans(&self) -> Vec<Entry> {
        let Ok(dir) = std::fs::read_dir(self.dir.join(PLANS)) else {
            return Vec::new();
        };
        let mut plans: Vec<Entry> = dir
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|bytes| serde_json::from_slice::<Entry>(&bytes).ok())
            .filter(|entry| entry.op == Op::PlanStart)
            .collect();
        plans.sort_by(|a, b| a.id.cmp(&b.id));
        plans
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
