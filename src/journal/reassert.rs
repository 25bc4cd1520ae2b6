//! The journal entry of a lock a keeper holds, written again at each renewal (see
//! [`crate::lease::keeper::EntryWriter`]): its owner's, so that a journal restored from an
//! older copy, or an entry removed by mistake, comes back.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::{HeldLock, Journal};
use crate::api::LockInfo;
use crate::lease::keeper::EntryWriter;
use crate::lease::owner::Owner;

#[derive(Debug, Clone)]
pub struct Reassert {
    pub journal_path: PathBuf,
    /// The entry as last written: its lock and server expiry change at each renewal.
    pub entry: HeldLock,
}

impl Reassert {
    fn write(&self) -> Result<(), String> {
        Journal::load(&self.journal_path)
            .and_then(|mut journal| journal.upsert(self.entry.clone()))
            .map_err(|e| e.to_string())
    }
}

impl EntryWriter for Reassert {
    fn renewed(&mut self, lock: &LockInfo, server_expires_at: Option<DateTime<Utc>>) -> Result<(), String> {
        self.entry.lock = lock.clone();
        self.entry.server_expires_at = server_expires_at;
        self.write()
    }

    fn amend_owner(&mut self, change: &dyn Fn(&mut Owner)) -> Result<(), String> {
        if let Some(owner) = self.entry.owner.as_mut() {
            change(owner);
        }
        self.write()
    }
}
