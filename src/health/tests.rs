//! The health figures and verdicts on a fixed clock: counts, abandoned and future-dated records,
//! the sparkline, the thresholds and what each verdict counts from.

use chrono::TimeZone;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 30, 12, 0, 0).unwrap()
}

fn hours(n: i64) -> chrono::Duration {
    chrono::Duration::hours(n)
}

fn summary(id: &str, module: ModuleCode, status: RecordStatus, hours_ago: i64) -> RecordSummary {
    let at = now() - hours(hours_ago);
    RecordSummary {
        record_id: id.into(),
        module,
        status,
        create_time: at,
        end_time: (status == RecordStatus::Completed).then(|| at + chrono::Duration::minutes(5)),
        version: 1,
    }
}

#[test]
fn figures_per_module_count_statuses_abandoned_ones_the_last_backup_and_known_sizes() {
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
    let figures = figures(&records, ModuleCode::Album, &sizes, now(), hours(24));
    assert_eq!(
        figures,
        Figures {
            records: 6,
            new: 2,
            completed: 2,
            to_be_deleted: 1,
            other: 1,
            abandoned: 1,
            future_dated: 0,
            first_record: Some(now() - hours(100)),
            last_completed: Some(now() - hours(5) + chrono::Duration::minutes(5)),
            bytes: 1024,
            sized: 2,
            queued: 0,
        }
    );
    assert_eq!(figures.size(), None, "two of six records sized");
    assert_eq!(
        super::figures(&records, ModuleCode::AddressBook, &sizes, now(), hours(24)),
        Figures::default()
    );
}

#[test]
fn a_backup_dated_in_the_future_is_not_the_last_one() {
    let records = [
        summary("real", ModuleCode::Album, RecordStatus::Completed, 60),
        summary("ahead", ModuleCode::Album, RecordStatus::Completed, -48),
    ];
    let figures = figures(&records, ModuleCode::Album, &HashMap::new(), now(), hours(24));
    assert_eq!(figures.future_dated, 1);
    assert_eq!(
        figures.last_completed,
        Some(now() - hours(60) + chrono::Duration::minutes(5))
    );
    let verdict = judge(&figures, Thresholds::default(), None, now());
    assert_eq!(verdict.freshness, Freshness::Stale);
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

#[test]
fn verdicts_follow_the_thresholds_and_say_what_they_count_from() {
    let thresholds = Thresholds::default();
    let judge_at = |hours_ago: i64, status: RecordStatus| {
        let records = [summary("r", ModuleCode::Album, status, hours_ago)];
        let figures = figures(&records, ModuleCode::Album, &HashMap::new(), now(), hours(24));
        judge(&figures, thresholds, None, now())
    };
    let done = RecordStatus::Completed;
    assert_eq!(judge_at(0, done).freshness, Freshness::Fresh);
    // The end time is 5 minutes after creation: 26 h 5 min ago ends 26 h ago, not past it.
    assert_eq!(judge_at(26, done).freshness, Freshness::Fresh);
    assert_eq!(judge_at(27, done).freshness, Freshness::Late);
    assert_eq!(judge_at(36, done).state(), State::Warning);
    assert_eq!(judge_at(72, done).state(), State::Critical);
    assert_eq!(judge_at(72, done).describe(), "last backup 2d 23h ago");
    let failing = judge_at(30, RecordStatus::New);
    assert_eq!(failing.freshness, Freshness::Late);
    assert!(matches!(failing.since, Since::FirstRecord(_)));
    assert_eq!(
        failing.describe(),
        "no backup completed, the first began 1d 6h ago"
    );
    assert_eq!(judge_at(1, RecordStatus::New).freshness, Freshness::Fresh);
}

#[test]
fn a_module_without_records_is_unused_unless_required() {
    let none = Figures::default();
    let unused = judge(&none, Thresholds::default(), Some(now() - hours(100)), now());
    assert_eq!((unused.freshness, unused.state()), (Freshness::Unused, State::Ok));
    let required = Thresholds {
        required: true,
        ..Thresholds::default()
    };
    let bound_long_ago = judge(&none, required, Some(now() - hours(100)), now());
    assert_eq!(bound_long_ago.freshness, Freshness::Stale);
    assert_eq!(
        bound_long_ago.describe(),
        "no backup since it was bound 4d 4h ago"
    );
    assert_eq!(
        judge(&none, required, Some(now() - hours(1)), now()).freshness,
        Freshness::Fresh,
        "a device bound an hour ago has time for its first backup"
    );
}

#[test]
fn a_device_is_as_late_as_its_latest_module_and_states_order_as_icinga_does() {
    let records = [
        summary("a", ModuleCode::Folder, RecordStatus::Completed, 1),
        summary("b", ModuleCode::Album, RecordStatus::Completed, 30),
    ];
    let modules = device_health(
        &records,
        None,
        &ModuleCode::ALL,
        &HashMap::new(),
        &Rules::standard(),
        now(),
    );
    let words: Vec<&str> = modules.iter().map(|m| m.verdict.freshness.word()).collect();
    assert_eq!(words, ["fresh", "late", "unused"]);
    assert_eq!(worst_freshness(&modules), Freshness::Late);
    assert_eq!(State::Warning.worst(State::Unknown), State::Unknown);
    assert_eq!(State::Critical.worst(State::Unknown), State::Critical);
    assert_eq!(State::Ok.worst(State::Warning), State::Warning);
    assert_eq!(State::Unknown.code(), 3);
}

#[test]
fn queued_deletions_are_counted_per_module_only_while_their_record_is_listed() {
    let records = vec![
        summary("1", ModuleCode::Album, RecordStatus::Completed, 30),
        summary("2", ModuleCode::Album, RecordStatus::New, 30),
        summary("3", ModuleCode::Folder, RecordStatus::Completed, 30),
    ];
    let mut modules = device_health(
        &records,
        None,
        &[ModuleCode::Album, ModuleCode::Folder],
        &HashMap::new(),
        &Rules::standard(),
        now(),
    );
    let queued = vec![
        ("1".to_string(), "dev".to_string(), ModuleCode::Album),
        ("2".to_string(), "other device".to_string(), ModuleCode::Album),
        ("9".to_string(), "dev".to_string(), ModuleCode::Album),
        ("3".to_string(), "dev".to_string(), ModuleCode::Folder),
    ];
    count_queued(&mut modules, "dev", &records, &queued);
    assert_eq!(
        modules[0].figures.queued, 1,
        "record 9 is gone, record 2 is another device's"
    );
    assert_eq!(modules[1].figures.queued, 1);
    assert_eq!(
        modules[0].figures.records, 2,
        "queued records still count until deleted"
    );
}
