//! What the history costs:
//! - `history/append_delete_entry`: one `record.delete` entry with the record as it was (a
//!   few hundred bytes of properties) appended to a history on disk: the lock, the write and
//!   the flush to disk each change pays;
//! - `history/bulk_delete_1000_with_history`, `…_without_history`: the real binary deleting
//!   1 000 records (`record delete ID… --auto-lock --yes`, each read first, 64 at once) from
//!   the local server on 127.0.0.1, with the history (a plan, then one entry per change) and
//!   with `--no-history`.

use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use koobackup::api::BackupRecord;
use koobackup::history::{Entry, History, Op, Outcome, Who};
use koobackup::server::{ServerConfig, UserCredential, start};
use tokio::runtime::Runtime;

const USER: (&str, &str) = ("alice", "alice-token");
const RECORDS: usize = 1000;

fn delete_entry() -> Entry {
    let who = Who::here(
        Some("production".into()),
        "https://drive.example.com".into(),
        "1775406005920779395".into(),
        "koobackup cleanup -m 102 --older-than 7d --yes".into(),
    );
    let record: BackupRecord = serde_json::from_value(serde_json::json!({
        "recordId": "1842862763295184641",
        "moduleCode": "102",
        "status": 0,
        "properties": format!("{{\"paths\":[{}]}}", ["\"/data/photos/2026/12\""; 10].join(",")),
        "version": 1,
        "createTime": "2026-12-01T02:14:00.767Z",
        "deviceInfo": {"deviceId": "1775406005920779395", "machineCode": "PIXEL8_2C91",
                       "deviceName": "Pixel 8", "deviceOS": "Android 15",
                       "createTime": "2025-09-15T06:14:48.630Z"}
    }))
    .unwrap();
    let mut entry = Entry::new(who, Op::RecordDelete, Outcome::ok());
    entry.module = Some("102".into());
    entry.record_id = Some(record.record_id.clone());
    entry.lock_id = Some("9f2c4e1a-6b7d-4c3e-8a15-0d2f9e8b7c61@102".into());
    entry.record = Some(record);
    entry
}

/// `n` new module-100 records of one device, written into the database directly; their ids.
fn fill(db_path: &std::path::Path, first_id: i64, n: usize) -> Vec<String> {
    let mut conn = rusqlite::Connection::open(db_path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let tx = conn.transaction().unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n as i64 {
        tx.execute(
            "INSERT INTO records (record_id, user_id, module, device_id, status, properties, version, create_time, end_time) \
             VALUES (?1, ?2, '100', 'phone', 0, '{\"n\":1}', 1, ?3, NULL)",
            rusqlite::params![first_id + i, USER.0, now - 86_400_000],
        )
        .unwrap();
        ids.push((first_id + i).to_string());
    }
    tx.commit().unwrap();
    ids
}

fn history(c: &mut Criterion) {
    let mut group = c.benchmark_group("history");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));

    let on_disk = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let store = History::at(on_disk.path().join("history"));
    let entry = delete_entry();
    group.bench_function("append_delete_entry", |b| {
        b.iter(|| store.append(&entry).unwrap())
    });

    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let db_path = dir.path().join("bench.db");
    let mut config = ServerConfig::new(&db_path);
    config.users.push(UserCredential {
        user_id: USER.0.into(),
        token: USER.1.into(),
    });
    let server = rt.block_on(start(config)).expect("start server");
    let base_url = server.base_url();
    let home = dir.path().join("home");
    let mut next_id = 1_842_862_763_295_184_641i64;
    for (name, extra) in [
        ("bulk_delete_1000_with_history", &[][..]),
        ("bulk_delete_1000_without_history", &["--no-history"][..]),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    next_id += RECORDS as i64;
                    fill(&db_path, next_id, RECORDS)
                },
                |ids| {
                    let status = Command::new(env!("CARGO_BIN_EXE_koobackup"))
                        .args(["record", "delete", "--auto-lock", "--yes", "-q"])
                        .args(extra)
                        .args(&ids)
                        .env_clear()
                        .env("HOME", &home)
                        .env("XDG_CONFIG_HOME", home.join("config"))
                        .env("XDG_DATA_HOME", home.join("data"))
                        .env("XDG_STATE_HOME", home.join("state"))
                        .env("KOOBACKUP_BASE_URL", &base_url)
                        .env("KOOBACKUP_USER_ID", USER.0)
                        .env("KOOBACKUP_TOKEN", USER.1)
                        .stdout(Stdio::null())
                        .status()
                        .unwrap();
                    assert!(status.success(), "{status}");
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
    rt.block_on(server.shutdown());
}

criterion_group!(benches, history);
criterion_main!(benches);
