//! Applies journal changes on a thread of its own: each write locks, re-reads and atomically
//! replaces the file, which must not stall the UI, and changes must land in order.
//!
//! The same thread watches the file for other koobackup processes (a `lock hold` cron job, a
//! second app): about once a second it compares the file's size and modification time, and
//! when they changed it reads the journal and reports this connection's locks as
//! [`Action::JournalChanged`]. Idle, that is one `stat` a second. Reading and writing on one
//! thread means a report never predates a change applied before it; each report says how many
//! of the app's changes it includes, so the app can tell a report older than its own changes.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::UnboundedSender;

use std::collections::HashMap;

use super::action::{Action, JournalChange, JournalSnapshot, Journalled};
use crate::api::{Client, LockInfo};
use crate::journal::{HeldLock, Journal};
use crate::lease::{Owner, Purpose};

/// How often the journal file is looked at for changes made by other processes.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// What tells one version of the journal file from another without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl Stamp {
    /// `None` when the file does not exist (yet).
    fn of(path: &Path) -> Option<Stamp> {
        std::fs::metadata(path).ok().map(|meta| Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        })
    }
}

pub struct JournalWriter {
    changes: Option<mpsc::Sender<JournalChange>>,
    thread: Option<JoinHandle<()>>,
}

impl JournalWriter {
    /// Writes `journal` under the server key `server` and user `user_id`, with expiries on the
    /// server's clock as `client` measured it; reports each result to `results`.
    pub fn start(
        mut journal: Journal,
        server: String,
        client: Client,
        results: UnboundedSender<Action>,
    ) -> JournalWriter {
        let user_id = client.user_id().to_string();
        let (changes, incoming) = mpsc::channel::<JournalChange>();
        let thread = std::thread::spawn(move || {
            let path = journal.path().to_path_buf();
            let mut seen = Stamp::of(&path);
            let mut applied = 0u64;
            // This app's own entries: the owner first written, so that re-asserting an entry
            // keeps the time it was taken.
            let mut owners: HashMap<String, Owner> = HashMap::new();
            loop {
                let change = match incoming.recv_timeout(WATCH_INTERVAL) {
                    Ok(change) => change,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        let stamp = Stamp::of(&path);
                        if stamp != seen {
                            seen = stamp;
                            // A journal gone or unreadable says nothing about the locks: the app
                            // keeps showing (and renewing) them, and says what happened.
                            let report = match (stamp, Journal::load(&path)) {
                                (None, _) => Action::Background(format!(
                                    "the lock journal {} was deleted: the locks shown stay in this \
                                     app, but the next start and other koobackup processes will not \
                                     know them; release them here before quitting",
                                    path.display()
                                )),
                                (Some(_), Err(e)) => Action::Background(format!(
                                    "the lock journal changed but cannot be read ({e}); the locks \
                                     shown stay as they were"
                                )),
                                (Some(_), Ok(now)) => {
                                    let held = now
                                        .locks_for(&server, &user_id)
                                        .into_iter()
                                        .map(Journalled::of)
                                        .collect();
                                    Action::JournalChanged(JournalSnapshot { held, applied })
                                }
                            };
                            let _ = results.send(report);
                        }
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                };
                applied += 1;
                let entry = |lock: LockInfo, auto_renew: bool, owner: Option<Owner>| HeldLock {
                    auto_renew,
                    owner,
                    server_expires_at: client
                        .clock_measured()
                        .then(|| lock.expires_at + client.clock_offset()),
                    ..HeldLock::new(lock, server.clone(), user_id.clone())
                };
                let result = match change {
                    JournalChange::Upsert {
                        lock,
                        auto_renew,
                        purpose,
                    } => {
                        let owner = owner_for(&mut owners, &lock.lock_id, purpose);
                        journal.upsert(entry(lock, auto_renew, Some(owner)))
                    }
                    JournalChange::Update { lock, auto_renew } => {
                        journal.update(entry(lock, auto_renew, None)).map(drop)
                    }
                    JournalChange::Remove { lock_id } => {
                        owners.remove(&lock_id);
                        journal.remove(&lock_id).map(drop)
                    }
                };
                // The receiver is gone only when the app has quit; the write itself is done.
                let _ = results.send(Action::JournalWritten(result.map_err(|e| e.to_string())));
            }
        });
        JournalWriter {
            changes: Some(changes),
            thread: Some(thread),
        }
    }

    pub fn apply(&self, change: JournalChange) {
        if let Some(changes) = &self.changes {
            // Fails only if the thread panicked; the next start will show the journal as it is.
            let _ = changes.send(change);
        }
    }
}

/// The owner to write for this app's lock `lock_id` taken for `purpose`: the one written before
/// (its start time kept), or this process from now.
fn owner_for(owners: &mut HashMap<String, Owner>, lock_id: &str, purpose: Purpose) -> Owner {
    let owner = match owners.get(lock_id) {
        Some(owner) if owner.purpose == purpose => owner.clone(),
        Some(owner) => owner.with_purpose(purpose),
        None => Owner::this_process(purpose),
    };
    owners.insert(lock_id.to_string(), owner.clone());
    owner
}

impl Drop for JournalWriter {
    /// Waits until every change sent so far is on disk.
    fn drop(&mut self) {
        self.changes = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
