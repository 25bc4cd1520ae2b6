use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::api::{DeviceEntity, ModuleCode};

/// A completed record of `device` in module 102, created at `at`.
fn completed(id: &str, device: &str, at: DateTime<Utc>) -> BackupRecord {
    BackupRecord {
        record_id: id.into(),
        module_code: ModuleCode::AddressBook.into(),
        status: RecordStatus::Completed,
        properties: String::new(),
        version: 2,
        create_time: at,
        end_time: Some(at),
        device_info: DeviceEntity {
            device_id: device.into(),
            ..DeviceEntity::default()
        },
    }
}

/// A "now" after every record of these tests, so none is dated in the future.
fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
}

fn noon(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, day, 12, 0, 0).unwrap()
}

/// One backup a day at noon from 1 to 10 November 2025, and a second one on the 10th at 08:00.
/// 10 November is a Monday (ISO week 46); the 3rd–9th are week 45, the 1st–2nd week 44.
fn ten_days() -> Vec<BackupRecord> {
    let mut records: Vec<BackupRecord> = (1..=10)
        .map(|day| completed(&format!("{day:02}"), "pixel", noon(day)))
        .collect();
    records.push(completed(
        "10a",
        "pixel",
        Utc.with_ymd_and_hms(2025, 11, 10, 8, 0, 0).unwrap(),
    ));
    records
}

/// `(record id, reason code or "delete")`, sorted by id.
fn verdicts(policy: Retention, records: &[BackupRecord]) -> Vec<(String, &'static str)> {
    let mut out: Vec<_> = policy
        .decide(records, far_future())
        .into_iter()
        .map(|d| (d.record.record_id, d.kept.map_or("delete", |k| k.code())))
        .collect();
    out.sort();
    out
}

fn kept_ids(policy: Retention, records: &[BackupRecord]) -> Vec<String> {
    let mut ids: Vec<String> = policy
        .decide(records, far_future())
        .into_iter()
        .filter(|d| d.kept.is_some())
        .map(|d| d.record.record_id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn keep_last_keeps_the_newest_n() {
    let policy = Retention {
        keep_last: Some(2),
        ..Retention::default()
    };
    assert_eq!(kept_ids(policy, &ten_days()), ["10", "10a"]);
}

#[test]
fn keep_daily_keeps_the_newest_of_each_of_the_newest_days() {
    let policy = Retention {
        keep_daily: Some(3),
        ..Retention::default()
    };
    // The 10th has two: its noon backup is the newest of that day.
    assert_eq!(kept_ids(policy, &ten_days()), ["08", "09", "10"]);
}

#[test]
fn keep_weekly_buckets_by_iso_week() {
    let policy = Retention {
        keep_weekly: Some(3),
        ..Retention::default()
    };
    // Week 46: the 10th at noon; week 45: the 9th; week 44: the 2nd.
    assert_eq!(kept_ids(policy, &ten_days()), ["02", "09", "10"]);
}

#[test]
fn keep_monthly_buckets_by_calendar_month() {
    let mut records = ten_days();
    records.push(completed(
        "oct31",
        "pixel",
        Utc.with_ymd_and_hms(2025, 10, 31, 23, 59, 59).unwrap(),
    ));
    records.push(completed(
        "oct01",
        "pixel",
        Utc.with_ymd_and_hms(2025, 10, 1, 0, 0, 0).unwrap(),
    ));
    let policy = Retention {
        keep_monthly: Some(2),
        ..Retention::default()
    };
    assert_eq!(kept_ids(policy, &records), ["10", "oct31"]);
}

#[test]
fn keep_within_counts_back_from_the_newest_backup_and_includes_the_boundary() {
    let policy = Retention {
        keep_within: Some(chrono::Duration::days(2)),
        ..Retention::default()
    };
    // The newest is the 10th at noon: everything from the 8th at noon on.
    assert_eq!(kept_ids(policy, &ten_days()), ["08", "09", "10", "10a"]);
}

#[test]
fn a_record_is_kept_if_any_rule_keeps_it_and_names_the_first() {
    let policy = Retention {
        keep_last: Some(1),
        keep_daily: Some(2),
        keep_weekly: Some(3),
        ..Retention::default()
    };
    let expected = [
        ("01", "delete"),
        ("02", "keep-weekly"),
        ("03", "delete"),
        ("04", "delete"),
        ("05", "delete"),
        ("06", "delete"),
        ("07", "delete"),
        ("08", "delete"),
        ("09", "keep-daily"),
        ("10", "keep-last"),
        ("10a", "delete"),
    ];
    let expected: Vec<(String, &str)> = expected.iter().map(|(id, v)| (id.to_string(), *v)).collect();
    assert_eq!(verdicts(policy, &ten_days()), expected);
    assert_eq!(KeepReason::Daily(2).to_string(), "kept by keep_daily 2");
    assert_eq!(policy.describe(), "keep_last 1, keep_daily 2, keep_weekly 3");
}

#[test]
fn groups_are_per_device_and_module_and_only_completed_records_count() {
    let mut records = ten_days();
    records.push(completed("ipad", "ipad", noon(1)));
    let mut other_module = completed("album", "pixel", noon(2));
    other_module.module_code = ModuleCode::Album.into();
    records.push(other_module);
    let mut unfinished = completed("new", "pixel", noon(11));
    unfinished.status = RecordStatus::New;
    records.push(unfinished);
    let policy = Retention {
        keep_last: Some(1),
        ..Retention::default()
    };
    assert_eq!(kept_ids(policy, &records), ["10", "album", "ipad"]);
    assert!(
        policy
            .decide(&records, far_future())
            .iter()
            .all(|d| d.record.record_id != "new")
    );
}

#[test]
fn the_newest_backup_of_a_device_survives_unless_allowed() {
    // keep_within 0 keeps only what was made in the same instant as the newest: the newest.
    let mut policy = Retention {
        keep_monthly: Some(1),
        ..Retention::default()
    };
    let old_device = vec![completed("a", "old", noon(1)), completed("b", "old", noon(2))];
    assert_eq!(kept_ids(policy, &old_device), ["b"]);
    policy = Retention {
        keep_last: Some(0),
        keep_within: Some(chrono::Duration::zero()),
        ..Retention::default()
    };
    assert_eq!(kept_ids(policy, &old_device), ["b"]);
    let strict = Retention {
        keep_last: Some(0),
        keep_daily: Some(1),
        allow_empty: true,
        ..Retention::default()
    };
    assert_eq!(
        verdicts(strict, &old_device),
        [("a".into(), "delete"), ("b".into(), "keep-daily")]
    );
}

#[test]
fn a_policy_that_keeps_nothing_is_refused() {
    assert!(Retention::default().check().is_err());
    let zeros = Retention {
        keep_last: Some(0),
        keep_daily: Some(0),
        ..Retention::default()
    };
    assert!(zeros.check().unwrap_err().contains("keeps nothing"));
    assert!(
        Retention {
            keep_last: Some(1),
            ..Retention::default()
        }
        .check()
        .is_ok()
    );
}

#[test]
fn a_profile_writes_keep_within_as_an_age() {
    let policy: Retention = toml::from_str("keep_last = 3\nkeep_within = \"30d\"\n").unwrap();
    assert_eq!(policy.keep_last, Some(3));
    assert_eq!(policy.keep_within, Some(chrono::Duration::days(30)));
    assert!(
        toml::from_str::<Retention>("keep_lats = 3").is_err(),
        "a typo is an error"
    );
}

fn any_record() -> impl Strategy<Value = BackupRecord> {
    (0u64..40, 0usize..3, 0usize..2, 0i64..(200 * 86_400), 0usize..4).prop_map(
        |(id, device, module, secs, status)| {
            let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(secs);
            let mut record = completed(&id.to_string(), ["a", "b", "c"][device], at);
            record.module_code = [ModuleCode::Folder, ModuleCode::Album][module].into();
            record.status = [
                RecordStatus::Completed,
                RecordStatus::Completed,
                RecordStatus::New,
                RecordStatus::ToBeDeleted,
            ][status];
            record
        },
    )
}

fn any_records() -> impl Strategy<Value = Vec<BackupRecord>> {
    proptest::collection::vec(any_record(), 0..60).prop_map(|mut records| {
        // Ids are unique on a server.
        let mut seen = HashSet::new();
        records.retain(|r| seen.insert(r.record_id.clone()));
        records
    })
}

fn any_policy() -> impl Strategy<Value = Retention> {
    let count = proptest::option::of(0u32..5);
    (
        count.clone(),
        count.clone(),
        count.clone(),
        count,
        proptest::option::of(0i64..(60 * 86_400)),
        any::<bool>(),
    )
        .prop_map(|(last, daily, weekly, monthly, within, allow_empty)| Retention {
            keep_last: last,
            keep_daily: daily,
            keep_weekly: weekly,
            keep_monthly: monthly,
            keep_within: within.map(chrono::Duration::seconds),
            allow_empty,
        })
        .prop_filter("a policy that keeps something", |p| p.check().is_ok())
}

proptest! {
    #[test]
    fn the_order_records_arrive_in_changes_nothing(records in any_records(), policy in any_policy(), seed in any::<u64>()) {
        let mut shuffled = records.clone();
        let mut rng = fastrand::Rng::with_seed(seed);
        rng.shuffle(&mut shuffled);
        prop_assert_eq!(verdicts(policy, &records), verdicts(policy, &shuffled));
    }

    #[test]
    fn a_second_pass_proposes_nothing(records in any_records(), policy in any_policy()) {
        let kept: Vec<BackupRecord> = policy
            .decide(&records, far_future())
            .into_iter()
            .filter(|d| d.kept.is_some())
            .map(|d| d.record)
            .collect();
        let again = policy.decide(&kept, far_future());
        prop_assert!(again.iter().all(|d| d.kept.is_some()), "{:?}", again);
    }

    #[test]
    fn the_newest_of_every_device_survives_and_keep_last_is_honoured(records in any_records(), policy in any_policy()) {
        let decisions = policy.decide(&records, far_future());
        let mut groups: BTreeMap<(String, String), Vec<&Decision>> = BTreeMap::new();
        for decision in &decisions {
            let record = &decision.record;
            groups.entry((record.device_info.device_id.clone(), record.module_code.code().to_string())).or_default().push(decision);
        }
        for group in groups.values() {
            // Newest first within a group: the first is the newest.
            if !policy.allow_empty {
                prop_assert!(group[0].kept.is_some(), "the newest of a device was deleted");
            }
            if let Some(n) = policy.keep_last {
                prop_assert!(group.iter().take(n as usize).all(|d| d.kept.is_some()));
            }
            for pair in group.windows(2) {
                prop_assert!(pair[0].record.create_time >= pair[1].record.create_time);
            }
        }
        let completed = records.iter().filter(|r| r.status == RecordStatus::Completed).count();
        prop_assert_eq!(decisions.len(), completed, "every completed record decided, nothing else");
    }
}

#[test]
fn a_policy_reads_back_what_it_writes_and_refuses_nonsense() {
    let policy = Retention {
        keep_last: Some(3),
        keep_daily: Some(7),
        keep_within: Some(chrono::Duration::days(30)),
        allow_empty: true,
        ..Retention::default()
    };
    assert_eq!(
        policy.to_text(),
        "keep_last 3, keep_daily 7, keep_within 30d, allow_empty"
    );
    assert_eq!(Retention::parse(&policy.to_text()), Ok(Some(policy)));
    assert_eq!(
        Retention::parse("keep-last 2 keep_monthly 6"),
        Ok(Some(Retention {
            keep_last: Some(2),
            keep_monthly: Some(6),
            ..Retention::default()
        }))
    );
    assert_eq!(Retention::parse("  "), Ok(None));
    for (bad, says) in [
        ("keep_last", "needs a value"),
        ("keep_last three", "whole number"),
        ("keep_yearly 2", "not a rule"),
        ("keep_within forever", "not an age"),
        ("keep_last 0", "keeps nothing"),
        ("allow_empty", "needs rules"),
    ] {
        let error = Retention::parse(bad).unwrap_err();
        assert!(error.contains(says), "{bad}: {error}");
    }
}

#[test]
fn the_newest_is_kept_by_its_own_guard_when_no_rule_keeps_it() {
    // keep_last 0 keeps nothing by itself (check() refuses such a policy; the engine must still
    // never empty a device when asked to use it).
    let device = vec![completed("a", "d", noon(1)), completed("b", "d", noon(2))];
    let none = Retention {
        keep_last: Some(0),
        ..Retention::default()
    };
    assert_eq!(
        verdicts(none, &device),
        [("a".into(), "delete"), ("b".into(), "newest-of-device")]
    );
    let allowed = Retention {
        allow_empty: true,
        ..none
    };
    assert_eq!(
        verdicts(allowed, &device),
        [("a".into(), "delete"), ("b".into(), "delete")]
    );
    assert!(kept_ids(none, &[]).is_empty(), "no records, nothing to keep");
}

#[test]
fn any_one_rule_makes_a_policy_and_each_is_read_by_its_name() {
    let day = chrono::Duration::days(1);
    for (text, policy) in [
        (
            "keep_last 1",
            Retention {
                keep_last: Some(1),
                ..Retention::default()
            },
        ),
        (
            "keep_daily 2",
            Retention {
                keep_daily: Some(2),
                ..Retention::default()
            },
        ),
        (
            "keep_weekly 3",
            Retention {
                keep_weekly: Some(3),
                ..Retention::default()
            },
        ),
        (
            "keep_monthly 4",
            Retention {
                keep_monthly: Some(4),
                ..Retention::default()
            },
        ),
        (
            "keep_within 1d",
            Retention {
                keep_within: Some(day),
                ..Retention::default()
            },
        ),
    ] {
        assert!(policy.is_set(), "{text}");
        assert_eq!(Retention::parse(text), Ok(Some(policy)), "{text}");
    }
    assert!(!Retention::default().is_set());
    assert_eq!(
        crate::format::parse_age("2w").unwrap(),
        chrono::Duration::days(14)
    );
}

#[test]
fn a_record_dated_in_the_future_is_kept_flagged_and_never_the_newest() {
    // One backup made while the server's clock was a year ahead, among ten real ones.
    let mut records = ten_days();
    records.push(completed(
        "ahead",
        "pixel",
        noon(10) + chrono::Duration::days(365),
    ));
    let now = noon(11);
    let policy = Retention {
        keep_within: Some(chrono::Duration::days(3)),
        ..Retention::default()
    };
    let decisions = policy.decide(&records, now);
    let verdict = |id: &str| {
        decisions
            .iter()
            .find(|d| d.record.record_id == id)
            .and_then(|d| d.kept)
    };
    assert_eq!(verdict("ahead"), Some(KeepReason::FutureDated));
    // keep_within counts from the newest real backup (the 10th), not the future one.
    for kept in ["08", "09", "10", "10a"] {
        assert!(
            verdict(kept).is_some(),
            "{kept} is within 3 days of the newest real one"
        );
    }
    assert_eq!(verdict("01"), None);
    // A record dated a few minutes ahead of now (a server a little ahead) is judged as usual.
    let mut fresh = ten_days();
    fresh.push(completed("fresh", "pixel", now + chrono::Duration::minutes(5)));
    let decisions = Retention {
        keep_last: Some(1),
        ..Retention::default()
    }
    .decide(&fresh, now);
    let newest = decisions.iter().find(|d| d.record.record_id == "fresh").unwrap();
    assert_eq!(newest.kept, Some(KeepReason::Last(1)));
}
