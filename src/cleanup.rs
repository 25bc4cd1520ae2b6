//! Which backup records are clean-up candidates. Shared by `koobackup cleanup` and the TUI so both
//! propose exactly the same records.
//!
//! A record is a candidate when it is still `new` long after it was created (the backup that
//! created it was abandoned and never completed), when it is marked `to be deleted`, or — with a
//! retention policy ([`crate::retention`]) — when it is a completed backup no retention rule
//! keeps. Records with a status this version does not know are never proposed.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::api::{BackupRecord, RecordStatus};
use crate::format;
use crate::retention::{KeepReason, Retention};

/// The rules an operator can tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupRules {
    /// A `new` record older than this is considered abandoned.
    pub stale_new_after: chrono::Duration,
    /// Whether records marked `to be deleted` are proposed.
    pub include_to_be_deleted: bool,
    /// Which completed backups to keep; without one, completed backups are never proposed.
    pub retention: Option<Retention>,
}

impl Default for CleanupRules {
    fn default() -> CleanupRules {
        CleanupRules {
            stale_new_after: chrono::Duration::hours(24),
            include_to_be_deleted: true,
            retention: None,
        }
    }
}

/// Why a record is proposed for deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupReason {
    /// Still `new` this long after creation.
    Abandoned { age: chrono::Duration },
    /// The record's status is `to be deleted`.
    MarkedForDeletion,
    /// A completed backup that no rule of this retention policy keeps.
    NotRetained(Retention),
}

impl fmt::Display for CleanupReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CleanupReason::Abandoned { age } => {
                write!(f, "abandoned: still new after {}", format::age(*age))
            }
            CleanupReason::MarkedForDeletion => f.write_str("marked to be deleted"),
            CleanupReason::NotRetained(policy) => write!(f, "not kept by {}", policy.describe()),
        }
    }
}

/// A record proposed for deletion, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub record: BackupRecord,
    pub reason: CleanupReason,
}

impl CleanupReason {
    /// A stable name for scripts (`--json`).
    pub fn code(&self) -> &'static str {
        match self {
            CleanupReason::Abandoned { .. } => "abandoned",
            CleanupReason::MarkedForDeletion => "marked-for-deletion",
            CleanupReason::NotRetained(_) => "not-retained",
        }
    }
}

/// A completed backup the retention policy keeps, with the rule that keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    pub record: BackupRecord,
    pub reason: KeepReason,
}

/// What clean-up would do: the records to delete, and (under a retention policy) the completed
/// backups it keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub delete: Vec<Candidate>,
    pub keep: Vec<Kept>,
}

/// The records of `records` that `rules` propose for deletion at `now`: abandoned and marked
/// ones in the given order, then the completed backups no retention rule keeps (by device and
/// module, newest first).
pub fn candidates(records: &[BackupRecord], rules: &CleanupRules, now: DateTime<Utc>) -> Vec<Candidate> {
    plan(records, rules, now).delete
}

/// [`candidates`], and what the retention policy keeps.
pub fn plan(records: &[BackupRecord], rules: &CleanupRules, now: DateTime<Utc>) -> Plan {
    let mut plan = Plan {
        delete: records
            .iter()
            .filter_map(|record| {
                reason_for(record, rules, now).map(|reason| Candidate {
                    record: record.clone(),
                    reason,
                })
            })
            .collect(),
        keep: Vec::new(),
    };
    if let Some(policy) = rules.retention {
        for decision in policy.decide(records, now) {
            match decision.kept {
                Some(reason) => plan.keep.push(Kept {
                    record: decision.record,
                    reason,
                }),
                None => plan.delete.push(Candidate {
                    record: decision.record,
                    reason: CleanupReason::NotRetained(policy),
                }),
            }
        }
    }
    plan
}

/// Why `record` is a candidate for its own status under `rules` (abandoned, marked), or `None`.
/// Completed records are a matter of the retention policy, which looks at them together.
pub fn reason_for(record: &BackupRecord, rules: &CleanupRules, now: DateTime<Utc>) -> Option<CleanupReason> {
    match record.status {
        RecordStatus::New => {
            let age = now - record.create_time;
            (age > rules.stale_new_after).then_some(CleanupReason::Abandoned { age })
        }
        RecordStatus::ToBeDeleted if rules.include_to_be_deleted => Some(CleanupReason::MarkedForDeletion),
        RecordStatus::ToBeDeleted | RecordStatus::Completed | RecordStatus::Unknown(_) => None,
    }
}

/// The instant clean-up measures ages at: the earlier of this machine's clock and the server's
/// as measured. The records' times are the server's, so its clock is right when it is honest
/// (a machine running ahead would otherwise see young records as abandoned); and one `Date`
/// header from a broken server or proxy (year 9999) must not make every record look old. The
/// earlier of the two never overstates an age by either clock.
pub fn ages_measured_at(local_now: DateTime<Utc>, server_now: DateTime<Utc>) -> DateTime<Utc> {
    local_now.min(server_now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{DeviceEntity, ModuleCode};

    fn now() -> DateTime<Utc> {
        "2025-11-03T12:00:00Z".parse().unwrap()
    }

    fn record(id: &str, status: RecordStatus, age: chrono::Duration) -> BackupRecord {
        BackupRecord {
            record_id: id.into(),
            module_code: ModuleCode::AddressBook.into(),
            status,
            properties: String::new(),
            version: 1,
            create_time: now() - age,
            end_time: None,
            device_info: DeviceEntity::default(),
        }
    }

    fn ids(candidates: &[Candidate]) -> Vec<&str> {
        candidates.iter().map(|c| c.record.record_id.as_str()).collect()
    }

    #[test]
    fn old_new_records_and_marked_ones_are_candidates() {
        let hours = chrono::Duration::hours;
        let records = [
            record("fresh-new", RecordStatus::New, hours(2)),
            record("old-new", RecordStatus::New, hours(30)),
            record("old-completed", RecordStatus::Completed, hours(300)),
            record("marked", RecordStatus::ToBeDeleted, hours(1)),
            record("unknown", RecordStatus::Unknown(9), hours(300)),
        ];
        let found = candidates(&records, &CleanupRules::default(), now());
        assert_eq!(ids(&found), ["old-new", "marked"]);
        assert_eq!(found[0].reason, CleanupReason::Abandoned { age: hours(30) });
        assert_eq!(found[0].reason.to_string(), "abandoned: still new after 1d 6h");
        assert_eq!(found[1].reason, CleanupReason::MarkedForDeletion);
    }

    #[test]
    fn rules_are_honoured() {
        let records = [
            record("new-3h", RecordStatus::New, chrono::Duration::hours(3)),
            record("marked", RecordStatus::ToBeDeleted, chrono::Duration::hours(1)),
        ];
        let rules = CleanupRules {
            stale_new_after: chrono::Duration::hours(2),
            include_to_be_deleted: false,
            retention: None,
        };
        assert_eq!(ids(&candidates(&records, &rules, now())), ["new-3h"]);
    }

    #[test]
    fn a_retention_policy_adds_the_completed_backups_it_does_not_keep() {
        let records = [
            record("done-1h", RecordStatus::Completed, chrono::Duration::hours(1)),
            record("done-2h", RecordStatus::Completed, chrono::Duration::hours(2)),
            record("done-3h", RecordStatus::Completed, chrono::Duration::hours(3)),
            record("new-30h", RecordStatus::New, chrono::Duration::hours(30)),
        ];
        assert_eq!(
            ids(&candidates(&records, &CleanupRules::default(), now())),
            ["new-30h"],
            "no policy: completed backups stay"
        );
        let rules = CleanupRules {
            retention: Some(Retention {
                keep_last: Some(2),
                ..Retention::default()
            }),
            ..CleanupRules::default()
        };
        let plan = plan(&records, &rules, now());
        assert_eq!(ids(&plan.delete), ["new-30h", "done-3h"]);
        assert_eq!(plan.delete[1].reason.to_string(), "not kept by keep_last 2");
        assert_eq!(plan.delete[1].reason.code(), "not-retained");
        let kept: Vec<(&str, String)> = plan
            .keep
            .iter()
            .map(|k| (k.record.record_id.as_str(), k.reason.to_string()))
            .collect();
        assert_eq!(
            kept,
            [
                ("done-1h", "kept by keep_last 2".to_string()),
                ("done-2h", "kept by keep_last 2".to_string())
            ]
        );
    }

    #[test]
    fn a_record_exactly_at_the_limit_is_kept() {
        let records = [record("edge", RecordStatus::New, chrono::Duration::hours(24))];
        assert!(candidates(&records, &CleanupRules::default(), now()).is_empty());
    }
}
