//! Applies journal changes on a thread of its own: each write locks, re-reads and atomically
//! replaces the file, which must not stall the UI, and changes must land in order.

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, JournalChange};
use crate::journal::{HeldLock, Journal};

pub struct JournalWriter {
    changes: Option<mpsc::Sender<JournalChange>>,
    thread: Option<JoinHandle<()>>,
}

impl JournalWriter {
    /// Writes `journal` under the server key `server` and user `user_id`; reports each result
    /// to `results`.
    pub fn start(
        mut journal: Journal,
        server: String,
        user_id: String,
        results: UnboundedSender<Action>,
    ) -> JournalWriter {
        let (changes, incoming) = mpsc::channel::<JournalChange>();
        let thread = std::thread::spawn(move || {
            for change in incoming {
                let result = match change {
                    JournalChange::Upsert { lock, auto_renew } => journal.upsert(HeldLock {
                        lock,
                        base_url: server.clone(),
                        user_id: user_id.clone(),
                        auto_renew,
                    }),
                    JournalChange::Update { lock, auto_renew } => journal
                        .update(HeldLock {
                            lock,
                            base_url: server.clone(),
                            user_id: user_id.clone(),
                            auto_renew,
                        })
                        .map(drop),
                    JournalChange::Remove { lock_id } => journal.remove(&lock_id).map(drop),
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

impl Drop for JournalWriter {
    /// Waits until every change sent so far is on disk.
    fn drop(&mut self) {
        self.changes = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
