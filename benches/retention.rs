//! Retention rule evaluation: 100 000 completed backups over 1 000 devices (100 each, one a day),
//! with restic's usual policy `keep_last 3, keep_daily 7, keep_weekly 4, keep_monthly 6`.

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use koobackup::api::{BackupRecord, DeviceEntity, ModuleCode, RecordStatus};
use koobackup::retention::Retention;

fn records() -> Vec<BackupRecord> {
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 3, 0, 0).unwrap();
    (0..100_000u64)
        .map(|i| {
            let device = i % 1_000;
            let day = (i / 1_000) as i64;
            let at = start + chrono::Duration::days(day) + chrono::Duration::seconds(device as i64);
            BackupRecord {
                record_id: (1_842_862_763_295_184_641 + i).to_string(),
                module_code: ModuleCode::AddressBook.into(),
                status: RecordStatus::Completed,
                properties: String::new(),
                version: 2,
                create_time: at,
                end_time: Some(at),
                device_info: DeviceEntity {
                    device_id: format!("device-{device}"),
                    ..DeviceEntity::default()
                },
            }
        })
        .collect()
}

fn retention(c: &mut Criterion) {
    let records = records();
    let policy = Retention {
        keep_last: Some(3),
        keep_daily: Some(7),
        keep_weekly: Some(4),
        keep_monthly: Some(6),
        ..Retention::default()
    };
    let kept = policy
        .decide(&records, chrono::Utc::now())
        .iter()
        .filter(|d| d.kept.is_some())
        .count();
    println!("retention: {kept} of {} backups kept", records.len());
    let mut group = c.benchmark_group("retention");
    group.sample_size(20);
    group.bench_function("decide_100k_records_1000_devices", |b| {
        b.iter(|| policy.decide(&records, chrono::Utc::now()))
    });
    group.finish();
}

criterion_group!(benches, retention);
criterion_main!(benches);
