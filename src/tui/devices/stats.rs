//! The figures of a device, computed from its records when drawn (they depend on the server's
//! clock: ages, "new after a day", the sparkline's days).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{RecordSize, RecordSummary};
use crate::api::{ModuleCode, RecordStatus};

/// Days of the sparkline, the last one today (UTC, on the server's clock).
pub const SPARK_DAYS: usize = 30;

/// A `new` record older than this is counted as stale (the clean-up's default).
pub const STALE_NEW_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// The figures of one device in one module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleStats {
    pub records: usize,
    pub new: usize,
    pub completed: usize,
    pub to_be_deleted: usize,
    /// Statuses this version does not know.
    pub other: usize,
    /// `new` records older than a day: backups that were probably abandoned.
    pub stale_new: usize,
    /// When the last completed backup ended (or was created, if it has no end time).
    pub last_completed: Option<DateTime<Utc>>,
    /// The size of the records' files, as far as known, and of how many records it is known.
    pub bytes: u64,
    pub sized: usize,
}

/// When a completed backup was done: its end time, else its creation.
fn done_at(record: &RecordSummary) -> DateTime<Utc> {
    record.end_time.unwrap_or(record.create_time)
}

/// The figures of `records` (one device's) in `module` at `server_now`.
pub fn module_stats(
    records: &[RecordSummary],
    module: ModuleCode,
    sizes: &HashMap<String, RecordSize>,
    server_now: DateTime<Utc>,
) -> ModuleStats {
    let mut stats = ModuleStats::default();
    for record in records.iter().filter(|r| r.module == module) {
        stats.records += 1;
        match record.status {
            RecordStatus::New => {
                stats.new += 1;
                if server_now.signed_duration_since(record.create_time) > STALE_NEW_AFTER {
                    stats.stale_new += 1;
                }
            }
            RecordStatus::Completed => {
                stats.completed += 1;
                let done = done_at(record);
                stats.last_completed = Some(stats.last_completed.map_or(done, |last| last.max(done)));
            }
            RecordStatus::ToBeDeleted => stats.to_be_deleted += 1,
            RecordStatus::Unknown(_) => stats.other += 1,
        }
        if let Some(RecordSize::Known(bytes)) = sizes.get(&record.record_id) {
            stats.bytes = stats.bytes.saturating_add(*bytes);
            stats.sized += 1;
        }
    }
    stats
}

/// Completed backups of `records` per day over the last [`SPARK_DAYS`] days, oldest first, the
/// last entry today.
pub fn completed_per_day(records: &[RecordSummary], server_now: DateTime<Utc>) -> Vec<u64> {
    let today = server_now.date_naive();
    let mut days = vec![0u64; SPARK_DAYS];
    for record in records.iter().filter(|r| r.status == RecordStatus::Completed) {
        let ago = today
            .signed_duration_since(done_at(record).date_naive())
            .num_days();
        if (0..SPARK_DAYS as i64).contains(&ago) {
            days[SPARK_DAYS - 1 - ago as usize] += 1;
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 30, 12, 0, 0).unwrap()
    }

    fn summary(id: &str, module: ModuleCode, status: RecordStatus, hours_ago: i64) -> RecordSummary {
        let at = now() - chrono::Duration::hours(hours_ago);
        RecordSummary {
            record_id: id.into(),
            module,
            status,
            create_time: at,
            end_time: (status == RecordStatus::Completed).then(|| at + chrono::Duration::minutes(5)),
        }
    }

    #[test]
    fn figures_per_module_count_statuses_stale_ones_the_last_backup_and_known_sizes() {
        let records = [
            summary("1", ModuleCode::Album, RecordStatus::New, 2),
            summary("2", ModuleCode::Album, RecordStatus::New, 30),
            summary("3", ModuleCode::Album, RecordStatus::Completed, 50),
            summary("4", ModuleCode::Album, RecordStatus::Completed, 5),
            summary("5", ModuleCode::Album, RecordStatus::ToBeDeleted, 100),
            summary("6", ModuleCode::Album, RecordStatus::Unknown(7), 1),
            summary("7", ModuleCode::Folder, RecordStatus::Completed, 1),
        ];
        let sizes = HashMap::from([
            ("3".to_string(), RecordSize::Known(1000)),
            (
                "4".to_string(),
                RecordSize::Partial {
                    bytes: 99,
                    cursor: "c".into(),
                },
            ),
            ("5".to_string(), RecordSize::Known(24)),
            ("7".to_string(), RecordSize::Known(1)),
        ]);
        let stats = module_stats(&records, ModuleCode::Album, &sizes, now());
        assert_eq!(
            stats,
            ModuleStats {
                records: 6,
                new: 2,
                completed: 2,
                to_be_deleted: 1,
                other: 1,
                stale_new: 1,
                last_completed: Some(now() - chrono::Duration::hours(5) + chrono::Duration::minutes(5)),
                bytes: 1024,
                sized: 2,
            }
        );
        assert_eq!(
            module_stats(&records, ModuleCode::AddressBook, &sizes, now()),
            ModuleStats::default()
        );
    }

    #[test]
    fn the_sparkline_counts_completed_backups_per_day_oldest_first() {
        let records = [
            summary("today", ModuleCode::Album, RecordStatus::Completed, 1),
            summary("today too", ModuleCode::Folder, RecordStatus::Completed, 3),
            summary("yesterday", ModuleCode::Album, RecordStatus::Completed, 24),
            summary("29 days ago", ModuleCode::Album, RecordStatus::Completed, 29 * 24),
            summary("too old", ModuleCode::Album, RecordStatus::Completed, 30 * 24),
            summary("not done", ModuleCode::Album, RecordStatus::New, 1),
        ];
        let days = completed_per_day(&records, now());
        assert_eq!(days.len(), SPARK_DAYS);
        assert_eq!((days[29], days[28], days[0]), (2, 1, 1));
        assert_eq!(days.iter().sum::<u64>(), 4);
    }
}
