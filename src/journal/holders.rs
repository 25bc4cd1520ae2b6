//! Who holds a module the server says is locked, as far as the journal knows: the entries that
//! may still hold it, the orphaned ones (their process gone, so they may be released) apart.

use chrono::{DateTime, Utc};

use super::{HeldLock, Journal};
use crate::api::ModuleCode;
use crate::lease::{Standing, describe_holder};

/// What the journal knows of who holds a module the server says is locked.
#[derive(Debug, Default)]
pub struct Holders {
    /// Entries whose owner process is gone: they may be released.
    pub orphaned: Vec<HeldLock>,
    /// Every other entry that may still hold the module, longest-lived first.
    pub others: Vec<HeldLock>,
    /// The server's clock minus ours, if measured: how the entries' expiries are read.
    pub offset: Option<chrono::Duration>,
}

impl Holders {
    /// The journal's entries for `module` on this server and user that may still hold it at
    /// `now` (the writer's estimate), sorted by their owners' standing.
    pub fn of(
        journal: &Journal,
        base_url: &str,
        user_id: &str,
        module: ModuleCode,
        now: DateTime<Utc>,
        offset: Option<chrono::Duration>,
    ) -> Holders {
        let mut holders = Holders {
            offset,
            ..Holders::default()
        };
        for held in journal.holders_of(base_url, user_id, module, now, offset) {
            match held.standing() {
                Standing::Orphaned => holders.orphaned.push(held.clone()),
                _ => holders.others.push(held.clone()),
            }
        }
        holders
    }

    /// Whose lock holds `module`, in words, as far as the journal knows.
    pub fn explain(&self, module: ModuleCode) -> String {
        match self.others.first() {
            Some(held) => format!(
                "module {module} is locked by lock {}, {} ({} left)",
                crate::format::escape(&held.lock.lock_id),
                describe_holder(held.owner.as_ref(), held.standing()),
                crate::format::time_left(&held.lock_here(self.offset), Utc::now())
            ),
            None => format!(
                "module {module} is locked by a lock the lock journal does not list (taken on \
                 another machine, by another tool, or by a koobackup whose entry was lost); it \
                 expires on its own unless its holder renews it"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::LockInfo;
    use crate::lease::{Owner, Purpose};

    fn entry(id: &str, owner: Option<Owner>, minutes_left: i64) -> HeldLock {
        let lock = LockInfo {
            lock_id: id.into(),
            module: ModuleCode::AddressBook,
            expires_at: Utc::now() + chrono::Duration::minutes(minutes_left),
        };
        HeldLock {
            owner,
            ..HeldLock::new(lock, "http://h", "alice")
        }
    }

    #[test]
    fn holders_are_sorted_by_standing_and_explained() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::load(dir.path().join("locks.json")).unwrap();
        let mut gone = Owner::this_process(Purpose::Cleanup);
        gone.pid = u32::MAX - 3;
        let hold = Owner::this_process(Purpose::Hold {
            command: "restic backup".into(),
        });
        journal.upsert(entry("orphan@102", Some(gone), 5)).unwrap();
        journal.upsert(entry("hold@102", Some(hold), 9)).unwrap();
        journal.upsert(entry("expired@102", None, -1)).unwrap();
        let holders = Holders::of(
            &journal,
            "http://h",
            "alice",
            ModuleCode::AddressBook,
            Utc::now(),
            None,
        );
        assert_eq!(holders.orphaned.len(), 1);
        assert_eq!(holders.orphaned[0].lock.lock_id, "orphan@102");
        assert_eq!(holders.others.len(), 1, "the expired entry holds nothing");
        let text = holders.explain(ModuleCode::AddressBook);
        assert!(
            text.contains("lock hold@102, held by this process (`lock hold` of `restic backup`)"),
            "{text}"
        );

        let nobody = Holders::default().explain(ModuleCode::AddressBook);
        assert!(nobody.contains("does not list"), "{nobody}");
    }
}
