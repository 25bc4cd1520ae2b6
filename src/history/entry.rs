//! One line of the history: a change sent to the server (or a plan of changes), who sent it,
//! what came of it, and for a delete the record as it was.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::changes::ChangeKind;
use crate::api::{BackupFile, BackupRecord};
use crate::lease::Owner;

/// What was done. The calls that change the server, and the plans of bulk deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "lock.create")]
    LockCreate,
    #[serde(rename = "lock.renew")]
    LockRenew,
    #[serde(rename = "lock.release")]
    LockRelease,
    #[serde(rename = "record.create")]
    RecordCreate,
    #[serde(rename = "record.complete")]
    RecordComplete,
    #[serde(rename = "record.delete")]
    RecordDelete,
    #[serde(rename = "file.add")]
    FileAdd,
    #[serde(rename = "device.bind")]
    DeviceBind,
    #[serde(rename = "device.unbind")]
    DeviceUnbind,
    #[serde(rename = "scope.add")]
    ScopeAdd,
    #[serde(rename = "scope.delete")]
    ScopeDelete,
    #[serde(rename = "config.set")]
    ConfigSet,
    /// A bulk delete or clean-up about to send its deletes: the records it chose, as chosen.
    #[serde(rename = "plan.start")]
    PlanStart,
    /// The end of a plan: how many went; `recovered` when another process found it unfinished.
    #[serde(rename = "plan.end")]
    PlanEnd,
    /// A record queued to be deleted after a grace window (`--grace`, `delete_grace`): nothing
    /// sent yet.
    #[serde(rename = "pending.queue")]
    PendingQueue,
    /// A queued deletion taken back before it was sent.
    #[serde(rename = "pending.cancel")]
    PendingCancel,
    /// A queued deletion `pending apply` did not send, and why (the record changed, is gone, or
    /// its rule no longer chooses it): the record is kept.
    #[serde(rename = "pending.skip")]
    PendingSkip,
}

impl Op {
    pub const ALL: [Op; 17] = [
        Op::LockCreate,
        Op::LockRenew,
        Op::LockRelease,
        Op::RecordCreate,
        Op::RecordComplete,
        Op::RecordDelete,
        Op::FileAdd,
        Op::DeviceBind,
        Op::DeviceUnbind,
        Op::ScopeAdd,
        Op::ScopeDelete,
        Op::ConfigSet,
        Op::PlanStart,
        Op::PlanEnd,
        Op::PendingQueue,
        Op::PendingCancel,
        Op::PendingSkip,
    ];

    /// Its name as written (`record.delete`).
    pub fn name(self) -> &'static str {
        match self {
            Op::LockCreate => "lock.create",
            Op::LockRenew => "lock.renew",
            Op::LockRelease => "lock.release",
            Op::RecordCreate => "record.create",
            Op::RecordComplete => "record.complete",
            Op::RecordDelete => "record.delete",
            Op::FileAdd => "file.add",
            Op::DeviceBind => "device.bind",
            Op::DeviceUnbind => "device.unbind",
            Op::ScopeAdd => "scope.add",
            Op::ScopeDelete => "scope.delete",
            Op::ConfigSet => "config.set",
            Op::PlanStart => "plan.start",
            Op::PlanEnd => "plan.end",
            Op::PendingQueue => "pending.queue",
            Op::PendingCancel => "pending.cancel",
            Op::PendingSkip => "pending.skip",
        }
    }

    /// `record.delete`, or `delete` for every delete-like op, `lock` for the lock ops…
    pub fn matches(self, filter: &str) -> bool {
        let name = self.name();
        name == filter || name.split('.').next() == Some(filter) || name.split('.').nth(1) == Some(filter)
    }
}

impl From<ChangeKind> for Op {
    fn from(kind: ChangeKind) -> Op {
        match kind {
            ChangeKind::LockCreate => Op::LockCreate,
            ChangeKind::LockRenew => Op::LockRenew,
            ChangeKind::LockRelease => Op::LockRelease,
            ChangeKind::RecordCreate => Op::RecordCreate,
            ChangeKind::RecordComplete => Op::RecordComplete,
            ChangeKind::RecordDelete => Op::RecordDelete,
            ChangeKind::FileAdd => Op::FileAdd,
            ChangeKind::DeviceBind => Op::DeviceBind,
            ChangeKind::DeviceUnbind => Op::DeviceUnbind,
            ChangeKind::ScopeAdd => Op::ScopeAdd,
            ChangeKind::ScopeDelete => Op::ScopeDelete,
            ChangeKind::ConfigSet => Op::ConfigSet,
        }
    }
}

/// Who sent it: the connection and the process, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Who {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The server's host (and port), or `embedded demo server`.
    pub server: String,
    pub user: String,
    /// This machine's host name.
    pub host: String,
    pub pid: u32,
    /// The command line (option values that may be secret left out) or the app's action.
    pub by: String,
}

/// A `who` for tests: as `user` on `server`, profile `work`, on host `web-01`, pid 7, by
/// `koobackup`.
#[cfg(test)]
pub fn example_who(server: &str, user: &str) -> Who {
    Who {
        profile: Some("work".into()),
        server: server.into(),
        user: user.into(),
        host: "web-01".into(),
        pid: 7,
        by: "koobackup".into(),
    }
}

impl Who {
    /// This process, on this machine, for the connection `profile` to `server` as `user`.
    pub fn here(profile: Option<String>, server: String, user: String, by: String) -> Who {
        Who {
            profile,
            server,
            user,
            host: crate::lease::owner::host_name(),
            pid: std::process::id(),
            by,
        }
    }
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The API's code, as the server wrote it (a number or a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Outcome {
    pub fn ok() -> Outcome {
        Outcome {
            ok: true,
            status: None,
            code: None,
            message: None,
        }
    }
}

/// One record a plan chose, as it was when chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    pub record_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<BackupRecord>,
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Unique, and sorts by time: `20261205T214600.123Z-4f2a9c`.
    pub id: String,
    pub at: DateTime<Utc>,
    /// The same moment on the server's clock, when it had been measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_at: Option<DateTime<Utc>>,
    pub who: Who,
    pub op: Op,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Other ids the call named (scopes, a config's name, a file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    pub outcome: Outcome,
    /// For a delete: the record as it was right before (the only evidence left: KooDrive
    /// deletes its files with it and has no restore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<BackupRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<BackupFile>>,
    /// The plan this entry belongs to (a bulk delete, a clean-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// `plan.start`: what it is ("clean-up of 102"), its owner process, and the records chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<Planned>,
    /// `plan.end`: how many of the plan's records are known deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<usize>,
    /// `plan.end` written by another process that found the plan's process gone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

impl Entry {
    /// An entry of `op` by `who` now, its outcome `outcome`; the rest is filled in by the caller.
    pub fn new(who: Who, op: Op, outcome: Outcome) -> Entry {
        let at = Utc::now();
        Entry {
            id: new_id(at),
            at,
            server_at: None,
            who,
            op,
            module: None,
            record_id: None,
            lock_id: None,
            device_id: None,
            ids: Vec::new(),
            outcome,
            record: None,
            files: None,
            plan: None,
            what: None,
            owner: None,
            planned: Vec::new(),
            deleted: None,
            recovered: false,
        }
    }

    /// The device the entry concerns: named, or the record's.
    pub fn device(&self) -> Option<&str> {
        self.device_id
            .as_deref()
            .or_else(|| self.record.as_ref().map(|r| r.device_info.device_id.as_str()))
    }
}

/// An id that sorts by time and does not repeat: the UTC instant to the millisecond and six
/// random hex digits.
pub fn new_id(at: DateTime<Utc>) -> String {
    format!(
        "{}-{:06x}",
        at.format("%Y%m%dT%H%M%S%.3fZ"),
        fastrand::u32(..0x100_0000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_are_written_by_name_and_filtered_by_either_half() {
        for op in Op::ALL {
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(json, format!("\"{}\"", op.name()));
        }
        assert!(Op::RecordDelete.matches("record.delete"));
        assert!(Op::RecordDelete.matches("delete"));
        assert!(Op::ScopeDelete.matches("delete"));
        assert!(Op::LockRenew.matches("lock"));
        assert!(!Op::LockRenew.matches("record"));
    }

    #[test]
    fn ids_sort_by_time() {
        let early = new_id("2026-12-05T02:14:00.001Z".parse().unwrap());
        let late = new_id("2026-12-05T02:14:00.010Z".parse().unwrap());
        assert!(early < late, "{early} {late}");
        assert!(early.starts_with("20261205T021400.001Z-"), "{early}");
    }
}
