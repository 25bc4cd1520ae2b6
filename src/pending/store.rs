//! The queue on disk: `pending.jsonl` in the history's directory, one queued deletion a line,
//! rewritten whole (temporary file, fsync, rename) under an exclusive lock on `pending.lock`, so
//! a reader sees the old queue or the new one and two writers never lose each other's change.
//! A line this koobackup cannot read (damaged, or a newer koobackup's) is kept as it is: it may
//! be someone's queued deletion.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::Queued;
use crate::config;
use crate::history::History;
use crate::lease::{Owner, Purpose, Standing};

const FILE: &str = "pending.jsonl";
const LOCK: &str = "pending.lock";

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Location(#[from] crate::history::HistoryError),
    #[error("cannot write the queue of pending deletions in {}: {source}", dir.display())]
    Write {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the queue of pending deletions in {}: {source}", dir.display())]
    Read {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The queue's directory (the history's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    dir: PathBuf,
}

/// What reading the queue found.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    /// In the order queued.
    pub entries: Vec<Queued>,
    /// Lines that are not queued deletions this koobackup can read: kept byte for byte, never
    /// acted on.
    pub unreadable: Vec<Vec<u8>>,
}

/// What a claim found among the entries it was asked for.
#[derive(Debug, Default)]
pub struct Claimed {
    /// Claimed by this process now.
    pub mine: Vec<Queued>,
    /// Claimed by another `pending apply` still running (or on another host).
    pub busy: Vec<Queued>,
}

/// What a cancel did.
#[derive(Debug, Default)]
pub struct Cancelled {
    /// Taken out of the queue.
    pub cancelled: Vec<Queued>,
    /// Being applied by a running `pending apply`: left alone.
    pub busy: Vec<Queued>,
}

/// What became of a claimed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Done with (deleted, or kept and said): out of the queue.
    Remove,
    /// Not done (a failure, the lock lost): back in the queue for the next apply.
    Release,
}

impl Queue {
    /// Beside the history: `$XDG_STATE_HOME/koobackup/history/pending.jsonl`.
    pub fn default_place() -> Result<Queue, QueueError> {
        Ok(Queue::beside(&History::default_place()?))
    }

    pub fn beside(history: &History) -> Queue {
        Queue::at(history.dir())
    }

    pub fn at(dir: impl Into<PathBuf>) -> Queue {
        Queue { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The queue as it is now (empty when there is none yet).
    pub fn read(&self) -> Result<Loaded, QueueError> {
        let text = match std::fs::read(self.path()) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
            Err(source) => {
                return Err(QueueError::Read {
                    dir: self.dir.clone(),
                    source,
                });
            }
        };
        Ok(parse(&text))
    }

    /// Adds `entries`, except a record already queued (kept as it was queued first). Returns
    /// the ones added and the ones that were queued already.
    pub fn add(&self, entries: Vec<Queued>) -> Result<(Vec<Queued>, Vec<Queued>), QueueError> {
        self.change(|loaded| {
            let mut added = Vec::new();
            let mut already = Vec::new();
            for entry in entries {
                match loaded.entries.iter().find(|q| q.record_id == entry.record_id) {
                    Some(queued) => already.push(queued.clone()),
                    None if added.iter().any(|q: &Queued| q.record_id == entry.record_id) => {}
                    None => added.push(entry),
                }
            }
            loaded.entries.extend(added.iter().cloned());
            (added, already)
        })
    }

    /// Takes out the entries `chosen` picks, except those a running `pending apply` works on.
    pub fn cancel(&self, chosen: impl Fn(&Queued) -> bool) -> Result<Cancelled, QueueError> {
        self.change(|loaded| {
            let mut result = Cancelled::default();
            loaded.entries.retain(|entry| {
                if !chosen(entry) {
                    return true;
                }
                if claim_is_live(entry) {
                    result.busy.push(entry.clone());
                    return true;
                }
                result.cancelled.push(entry.clone());
                false
            });
            result
        })
    }

    /// Claims for this process the entries `wanted` picks that no running `pending apply` has
    /// claimed: from now until [`Queue::settle`] a cancel leaves them alone.
    pub fn claim(&self, wanted: impl Fn(&Queued) -> bool) -> Result<Claimed, QueueError> {
        let owner = Owner::this_process(Purpose::Operation {
            what: "pending apply".into(),
        });
        self.change(|loaded| {
            let mut claimed = Claimed::default();
            for entry in loaded.entries.iter_mut().filter(|e| wanted(e)) {
                if claim_is_live(entry) {
                    claimed.busy.push(entry.clone());
                } else {
                    entry.claim = Some(owner.clone());
                    claimed.mine.push(entry.clone());
                }
            }
            claimed
        })
    }

    /// Ends this process's claim on each entry of `settled`: removed from the queue, or back in
    /// it unclaimed. Entries it does not hold (anymore) are left as they are.
    pub fn settle(&self, settled: &[(String, Settle)]) -> Result<(), QueueError> {
        self.change(|loaded| {
            let fate = |id: &str| settled.iter().find(|(one, _)| one == id).map(|(_, s)| *s);
            loaded.entries.retain_mut(|entry| {
                if !entry.claim.as_ref().is_some_and(is_this_process) {
                    return true;
                }
                match fate(&entry.record_id) {
                    Some(Settle::Remove) => false,
                    Some(Settle::Release) => {
                        entry.claim = None;
                        true
                    }
                    None => true,
                }
            })
        })
    }

    /// Runs `f` on the queue under its exclusive lock and writes the result back.
    fn change<T>(&self, f: impl FnOnce(&mut Loaded) -> T) -> Result<T, QueueError> {
        let write_error = |source| QueueError::Write {
            dir: self.dir.clone(),
            source,
        };
        config::create_private_dir_all(&self.dir).map_err(write_error)?;
        let lock = lock_file(&self.dir.join(LOCK)).map_err(write_error)?;
        lock.lock().map_err(write_error)?;
        let mut loaded = self.read()?;
        let before = serialize(&loaded);
        let result = f(&mut loaded);
        let after = serialize(&loaded);
        if after != before {
            config::write_private_atomically(&self.path(), &after).map_err(write_error)?;
        }
        Ok(result)
    }
}

/// Whether a running process (or one whose life cannot be told from here) claimed `entry`.
fn claim_is_live(entry: &Queued) -> bool {
    entry.being_applied()
}

fn is_this_process(owner: &Owner) -> bool {
    Standing::of(Some(owner)) == Standing::Mine
}

fn lock_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn parse(bytes: &[u8]) -> Loaded {
    let mut loaded = Loaded::default();
    for line in bytes.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Queued>(line) {
            Ok(entry) => loaded.entries.push(entry),
            Err(_) => loaded.unreadable.push(line.to_vec()),
        }
    }
    loaded
}

fn serialize(loaded: &Loaded) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in &loaded.entries {
        // A queued entry is plain data; it always encodes.
        if let Ok(line) = serde_json::to_vec(entry) {
            bytes.extend_from_slice(&line);
            bytes.push(b'\n');
        }
    }
    for line in &loaded.unreadable {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{BackupRecord, ModuleCode};
    use crate::history::Who;
    use crate::pending::Why;

    fn record(id: &str) -> BackupRecord {
        serde_json::from_value(serde_json::json!({
            "recordId": id,
            "moduleCode": "102",
            "status": 0,
            "version": 1,
            "createTime": "2026-12-01T00:00:00Z",
            "deviceInfo": {"deviceId": "d1", "deviceName": "laptop", "machineCode": "m1"},
        }))
        .unwrap()
    }

    fn queued(id: &str) -> Queued {
        let who = Who::here(None, "server".into(), "user".into(), "koobackup test".into());
        Queued::new(
            record(id),
            ModuleCode::AddressBook,
            who,
            Why::ByHand,
            chrono::Utc::now(),
            chrono::Duration::zero(),
            chrono::Duration::hours(1),
        )
    }

    #[test]
    fn a_record_is_queued_once_and_cancelled_unless_an_apply_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::at(dir.path());
        let (added, already) = queue.add(vec![queued("r1"), queued("r2"), queued("r1")]).unwrap();
        assert_eq!(added.len(), 2);
        assert!(already.is_empty());
        let (added, already) = queue.add(vec![queued("r2")]).unwrap();
        assert!(added.is_empty());
        assert_eq!(already[0].record_id, "r2");

        let claimed = queue.claim(|q| q.record_id == "r1").unwrap();
        assert_eq!(claimed.mine.len(), 1);
        let again = queue.claim(|q| q.record_id == "r1").unwrap();
        assert_eq!(again.busy.len(), 1, "this process's own claim is live");

        let cancelled = queue.cancel(|_| true).unwrap();
        assert_eq!(cancelled.cancelled[0].record_id, "r2");
        assert_eq!(cancelled.busy[0].record_id, "r1");

        queue.settle(&[("r1".into(), Settle::Release)]).unwrap();
        let left = queue.read().unwrap();
        assert_eq!(left.entries.len(), 1);
        assert!(left.entries[0].claim.is_none());
        queue.settle(&[("r1".into(), Settle::Remove)]).unwrap();
        assert_eq!(
            queue.read().unwrap().entries.len(),
            1,
            "only a claimed entry is settled"
        );
        queue.claim(|_| true).unwrap();
        queue.settle(&[("r1".into(), Settle::Remove)]).unwrap();
        assert!(queue.read().unwrap().entries.is_empty());
    }

    #[test]
    fn a_dead_process_claim_is_void_and_unreadable_lines_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::at(dir.path());
        let mut entry = queued("r1");
        let mut owner = Owner::this_process(Purpose::Operation {
            what: "pending apply".into(),
        });
        owner.pid = u32::MAX - 1;
        entry.claim = Some(owner);
        let mut newer = serde_json::to_value(queued("r2")).unwrap();
        newer["onlyIfTagged"] = "keep-me".into();
        let mut text =
            format!("{}\n{newer}\nnot json\n", serde_json::to_string(&entry).unwrap()).into_bytes();
        text.extend_from_slice(b"bad \xff\xfe bytes\n");
        std::fs::write(queue.path(), &text).unwrap();
        let loaded = queue.read().unwrap();
        assert_eq!(loaded.entries.len(), 1);
        assert_eq!(
            loaded.unreadable.len(),
            3,
            "a field this version does not know is not dropped"
        );

        let cancelled = queue.cancel(|_| true).unwrap();
        assert_eq!(
            cancelled.cancelled.len(),
            1,
            "a dead apply's claim does not block"
        );
        let after = std::fs::read(queue.path()).unwrap();
        let kept = &text[text.iter().position(|b| *b == b'\n').unwrap() + 1..];
        assert_eq!(after, kept, "the lines it cannot read are kept byte for byte");
    }

    #[test]
    fn a_queue_that_cannot_be_written_is_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::at(dir.path().join("file"));
        std::fs::write(dir.path().join("file"), "").unwrap();
        let error = queue.add(vec![queued("r1")]).unwrap_err();
        assert!(error.to_string().contains("cannot write the queue"), "{error}");
    }
}
