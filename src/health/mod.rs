//! Backup health per device and module, computed once for the app's Devices view and for
//! `koobackup status`: the figures of a device's records in one module (last completed backup,
//! records by status, abandoned ones, size as far as known) and the verdict on them under the
//! thresholds ([`rules`]) — fresh, late (a warning) or stale (critical).
//!
//! Every age is measured at an instant on the server's clock, which stamped the records: the
//! caller passes it in (see [`crate::cleanup::ages_measured_at`]), so the same records give the
//! same verdict in the app and on the command line.
//!
//! Our rules where the reference is silent:
//! - a completed backup's time is its `endTime`, else its `createTime`;
//! - a backup dated more than [`crate::retention::FUTURE_SLACK`] after now (made while the
//!   server's clock ran ahead) is counted apart and never as the last completed one: one such
//!   record cannot make a device look fresh for days;
//! - a module with records but none completed is judged by the age of its first record (the
//!   backups have been failing that long); a module with no records at all is `unused` and fine,
//!   unless the rules say every device must back it up (`required`): then it is judged by the age
//!   of the device's binding.
//!
//! This module never imports `cli/` or `tui/`; both call it.

pub mod rules;
pub mod sizes;
pub mod survey;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::{BackupRecord, ModuleCode, RecordStatus};
pub use rules::{HealthConfig, Rules, Thresholds};
pub use sizes::RecordSize;

/// Days of the Devices view's sparkline, the last one today (UTC, on the server's clock).
pub const SPARK_DAYS: usize = 30;

/// What the figures need of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    pub record_id: String,
    pub module: ModuleCode,
    pub status: RecordStatus,
    pub create_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    /// Changes when the record does (its size in the size cache is keyed by it).
    pub version: i64,
}

impl RecordSummary {
    /// `None` for a record of a module this version does not know (it is left out).
    pub fn of(record: &BackupRecord) -> Option<RecordSummary> {
        Some(RecordSummary {
            record_id: record.record_id.clone(),
            module: record.module_code.known()?,
            status: record.status,
            create_time: record.create_time,
            end_time: record.end_time,
            version: record.version,
        })
    }

    /// When a completed backup was done: its end time, else its creation.
    fn done_at(&self) -> DateTime<Utc> {
        self.end_time.unwrap_or(self.create_time)
    }
}

/// The figures of one device in one module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub records: usize,
    pub new: usize,
    pub completed: usize,
    pub to_be_deleted: usize,
    /// Statuses this version does not know.
    pub other: usize,
    /// `new` records older than the rules' `abandoned_after`: backups that were given up.
    pub abandoned: usize,
    /// Completed backups dated in the future (not counted as the last one).
    pub future_dated: usize,
    /// When the first record was created.
    pub first_record: Option<DateTime<Utc>>,
    /// When the last completed backup was done.
    pub last_completed: Option<DateTime<Utc>>,
    /// The size of the records' files, as far as known, and of how many records it is known.
    pub bytes: u64,
    pub sized: usize,
    /// Records queued for deletion (`koobackup pending`), counted apart: they still count above
    /// until `pending apply` deletes them.
    pub queued: usize,
}

impl Figures {
    /// The size of every record, when every one is known.
    pub fn size(&self) -> Option<u64> {
        (self.sized == self.records).then_some(self.bytes)
    }
}

/// The figures of `records` (one device's) in `module` at `now` (the server's clock).
pub fn figures(
    records: &[RecordSummary],
    module: ModuleCode,
    sizes: &HashMap<String, RecordSize>,
    now: DateTime<Utc>,
    abandoned_after: chrono::Duration,
) -> Figures {
    let mut figures = Figures::default();
    for record in records.iter().filter(|r| r.module == module) {
        figures.records += 1;
        figures.first_record = Some(
            figures
                .first_record
                .map_or(record.create_time, |first| first.min(record.create_time)),
        );
        match record.status {
            RecordStatus::New => {
                figures.new += 1;
                if now.signed_duration_since(record.create_time) > abandoned_after {
                    figures.abandoned += 1;
                }
            }
            RecordStatus::Completed => {
                figures.completed += 1;
                let done = record.done_at();
                if done.signed_duration_since(now) > crate::retention::FUTURE_SLACK {
                    figures.future_dated += 1;
                } else {
                    figures.last_completed = Some(figures.last_completed.map_or(done, |last| last.max(done)));
                }
            }
            RecordStatus::ToBeDeleted => figures.to_be_deleted += 1,
            RecordStatus::Unknown(_) => figures.other += 1,
        }
        if let Some(bytes) = sizes.get(&record.record_id).and_then(RecordSize::known) {
            figures.bytes = figures.bytes.saturating_add(bytes);
            figures.sized += 1;
        }
    }
    figures
}

/// Completed backups of `records` per day over the last [`SPARK_DAYS`] days, oldest first, the
/// last entry today.
pub fn completed_per_day(records: &[RecordSummary], now: DateTime<Utc>) -> Vec<u64> {
    let today = now.date_naive();
    let mut days = vec![0u64; SPARK_DAYS];
    for record in records.iter().filter(|r| r.status == RecordStatus::Completed) {
        let ago = today
            .signed_duration_since(record.done_at().date_naive())
            .num_days();
        if (0..SPARK_DAYS as i64).contains(&ago) {
            days[SPARK_DAYS - 1 - ago as usize] += 1;
        }
    }
    days
}

/// A monitoring plugin's states (the Monitoring Plugins guidelines); the discriminant is the
/// exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl State {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn name(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }

    /// How bad it is, for the worst of several: critical, then unknown (nothing could be
    /// checked), then warning, then OK — as Icinga orders states (our rule where checks of
    /// several users disagree).
    pub fn severity(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Unknown => 2,
            State::Critical => 3,
        }
    }

    /// The worse of the two.
    pub fn worst(self, other: State) -> State {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

impl Serialize for State {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// How fresh a device's backups of one module are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Freshness {
    /// No records, and none required.
    Unused,
    /// Within the warning age.
    Fresh,
    /// Past the warning age: a warning.
    Late,
    /// Past the critical age: critical.
    Stale,
}

impl Freshness {
    pub fn state(self) -> State {
        match self {
            Freshness::Unused | Freshness::Fresh => State::Ok,
            Freshness::Late => State::Warning,
            Freshness::Stale => State::Critical,
        }
    }

    /// `fresh`, `late`, `stale`, `unused`: the words the app and `status` use.
    pub fn word(self) -> &'static str {
        match self {
            Freshness::Unused => "unused",
            Freshness::Fresh => "fresh",
            Freshness::Late => "late",
            Freshness::Stale => "stale",
        }
    }
}

/// What the age of a module's backups is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// The last completed backup.
    LastCompleted(DateTime<Utc>),
    /// No backup completed: the first record, made when backups began and failed since.
    FirstRecord(DateTime<Utc>),
    /// No record at all, though the module is required: the device's binding.
    Bound(DateTime<Utc>),
    /// Nothing to count from.
    Nothing,
}

impl Since {
    pub fn time(self) -> Option<DateTime<Utc>> {
        match self {
            Since::LastCompleted(at) | Since::FirstRecord(at) | Since::Bound(at) => Some(at),
            Since::Nothing => None,
        }
    }

    /// `last-completed`, `first-record`, `bound`, `nothing` (for JSON).
    pub fn code(self) -> &'static str {
        match self {
            Since::LastCompleted(_) => "last-completed",
            Since::FirstRecord(_) => "first-record",
            Since::Bound(_) => "bound",
            Since::Nothing => "nothing",
        }
    }
}

/// The verdict on one device's backups of one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub freshness: Freshness,
    pub since: Since,
    /// The age judged: from `since` to now; `None` when there is nothing to count from.
    pub age: Option<chrono::Duration>,
    pub thresholds: Thresholds,
}

impl Verdict {
    pub fn state(&self) -> State {
        self.freshness.state()
    }

    /// What is wrong (or right), in words for people: `last backup 3d 2h ago`, `no backup
    /// completed, the first began 2d 1h ago`, `no backup since it was bound 3d 0h ago`.
    pub fn describe(&self) -> String {
        let age = self.age.map(crate::format::age).unwrap_or_default();
        match self.since {
            Since::LastCompleted(_) => format!("last backup {age} ago"),
            Since::FirstRecord(_) => format!("no backup completed, the first began {age} ago"),
            Since::Bound(_) => format!("no backup since it was bound {age} ago"),
            Since::Nothing => "no backups".into(),
        }
    }
}

/// Judges `figures` (of a device bound at `bound_at`) under `thresholds` at `now`.
pub fn judge(
    figures: &Figures,
    thresholds: Thresholds,
    bound_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Verdict {
    let since = match (figures.last_completed, figures.first_record) {
        (Some(last), _) => Since::LastCompleted(last),
        (None, Some(first)) => Since::FirstRecord(first),
        (None, None) if thresholds.required => bound_at.map_or(Since::Nothing, Since::Bound),
        (None, None) => Since::Nothing,
    };
    let age = since.time().map(|at| now.signed_duration_since(at));
    let freshness = match age {
        None if thresholds.required => Freshness::Stale,
        None => Freshness::Unused,
        Some(age) if age > thresholds.crit_age => Freshness::Stale,
        Some(age) if age > thresholds.warn_age => Freshness::Late,
        Some(_) => Freshness::Fresh,
    };
    Verdict {
        freshness,
        since,
        age,
        thresholds,
    }
}

/// One module of one device: its figures and the verdict on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleHealth {
    pub module: ModuleCode,
    pub figures: Figures,
    pub verdict: Verdict,
}

/// The health of one device's backups in `modules`, from its records as listed.
pub fn device_health(
    records: &[RecordSummary],
    bound_at: Option<DateTime<Utc>>,
    modules: &[ModuleCode],
    sizes: &HashMap<String, RecordSize>,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Vec<ModuleHealth> {
    modules
        .iter()
        .map(|&module| {
            let figures = figures(records, module, sizes, now, rules.abandoned_after);
            let verdict = judge(&figures, rules.for_module(module), bound_at, now);
            ModuleHealth {
                module,
                figures,
                verdict,
            }
        })
        .collect()
}

/// Counts into each module of `modules` (one device's, `device_id`) the records of `queued`
/// (record id, device id, module) that are queued for deletion and still listed in `records`.
pub fn count_queued(
    modules: &mut [ModuleHealth],
    device_id: &str,
    records: &[RecordSummary],
    queued: &[(String, String, ModuleCode)],
) {
    for module in modules {
        module.figures.queued = queued
            .iter()
            .filter(|(record_id, device, m)| {
                device == device_id
                    && *m == module.module
                    && records.iter().any(|r| &r.record_id == record_id)
            })
            .count();
    }
}

/// The worst freshness of a device's modules: a device is late or stale when one of its modules
/// is.
pub fn worst_freshness(modules: &[ModuleHealth]) -> Freshness {
    modules
        .iter()
        .map(|m| m.verdict.freshness)
        .max()
        .unwrap_or(Freshness::Unused)
}

#[cfg(test)]
mod tests;
