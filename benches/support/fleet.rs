//! A fleet of bound devices with backups, written into the local server's database directly (the
//! API has no bulk create), so a bench spends its time on what it measures. Shared by the
//! Devices view's bench and `status`'s.

use std::time::Duration;

use chrono::Utc;
use koobackup::api::ModuleCode;

/// `devices` bound devices of `user`; per device and module `records` records (spread over the
/// last 60 days, the newest now; every `completed_every`th completed from the newest on, the
/// others `new`), each with one backup file.
pub fn fill(db_path: &std::path::Path, user: &str, devices: usize, records: usize, completed_every: usize) {
    let mut conn = rusqlite::Connection::open(db_path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let tx = conn.transaction().unwrap();
    let now = Utc::now().timestamp_millis();
    let day = 86_400_000i64;
    let mut record_id = 1_842_862_763_295_184_641i64;
    for device in 0..devices {
        let device_id = format!("{}", 1_775_406_005_920_779_395u64 + device as u64);
        tx.execute(
            "INSERT INTO devices (user_id, device_id, machine_code, device_name, device_os, create_time, bound) \
             VALUES (?1, ?2, ?3, ?4, 'Android 15', ?5, 1)",
            rusqlite::params![user, device_id, format!("PIXEL_{device:04}"), format!("phone {device}"), now - 90 * day],
        )
        .unwrap();
        for module in ModuleCode::ALL {
            for i in 0..records {
                let status = i64::from(i % completed_every.max(1) == 0);
                let created = now - (i as i64 * 60 * day) / records as i64;
                tx.execute(
                    "INSERT INTO records (record_id, user_id, module, device_id, status, properties, version, create_time, end_time) \
                     VALUES (?1, ?2, ?3, ?4, ?5, '{}', 1, ?6, ?7)",
                    rusqlite::params![
                        record_id,
                        user,
                        module.code(),
                        device_id,
                        status,
                        created,
                        (status == 1).then_some(created + 60_000)
                    ],
                )
                .unwrap();
                tx.execute(
                    "INSERT INTO files (record_id, file_name, size, create_time) VALUES (?1, 'backup.tar', ?2, ?3)",
                    rusqlite::params![record_id, 1_000_000 + i as i64, created],
                )
                .unwrap();
                record_id += 1;
            }
        }
    }
    tx.commit().unwrap();
}
