//! Demo data for `serve --demo` and the TUI's embedded server: a handful of devices and, in each
//! module, records of every status and of varied ages (including "new" ones older than a day,
//! the stale kind a user wants to clean up), each with a few files.
//!
//! The content is deterministic (fixed random seed, ages relative to the seeding time) so
//! screenshots and demos look the same every time.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, TransactionBehavior};

use super::store;
use crate::api::model::{BackupRecord, DeviceEntity, ModuleCode, RecordStatus};

pub const DEMO_USER_ID: &str = "demo-user";
pub const DEMO_TOKEN: &str = "demo-token";

/// (device id, name, OS)
const DEVICES: [(&str, &str, &str); 5] = [
    ("srv-backup-01", "build-server-01", "Ubuntu 24.04 LTS"),
    ("laptop-7f3a", "Mia's ThinkPad X1", "Fedora 41"),
    ("pixel-8-2c91", "Pixel 8", "Android 15"),
    ("iphone-15-a04e", "iPhone 15", "iOS 18.1"),
    ("nas-home", "Synology DS923+", "DSM 7.2"),
];

/// (age, status) of the records seeded in every module, newest first.
const PLAN: [(Duration, RecordStatus); 6] = [
    (Duration::minutes(25), RecordStatus::New),
    (Duration::hours(5), RecordStatus::Completed),
    (Duration::hours(30), RecordStatus::New),
    (Duration::days(4), RecordStatus::Completed),
    (Duration::days(12), RecordStatus::ToBeDeleted),
    (Duration::days(40), RecordStatus::New),
];

fn file_name(module: ModuleCode, rng: &mut fastrand::Rng, n: usize) -> String {
    match module {
        ModuleCode::Folder => {
            const NAMES: [&str; 6] = [
                "report-q3.pdf",
                "budget.xlsx",
                "notes.md",
                "id_ed25519.pub",
                "nginx.conf",
                "thesis.docx",
            ];
            format!(
                "Documents/{}",
                NAMES[(n + rng.usize(..NAMES.len())) % NAMES.len()]
            )
        }
        ModuleCode::Album => format!("DCIM/Camera/IMG_{:04}.jpg", 2000 + rng.u32(..8000)),
        ModuleCode::AddressBook => format!("contacts-{}.vcf", n + 1),
    }
}

/// Adds the demo records unless the demo user already has records (so restarts keep edits).
pub fn seed(conn: &mut Connection, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if store::count_records_of(&tx, DEMO_USER_ID)? > 0 {
        return Ok(());
    }
    let mut rng = fastrand::Rng::with_seed(0x6b6f_6f62);
    for (id, name, os) in DEVICES {
        let device = DeviceEntity {
            device_id: id.into(),
            machine_code: format!("{:016x}", rng.u64(..)),
            device_name: name.into(),
            device_os: os.into(),
            create_time: Some(now - Duration::days(90)),
        };
        store::insert_device_if_absent(&tx, DEMO_USER_ID, &device, now)?;
    }
    for (m, module) in ModuleCode::ALL.into_iter().enumerate() {
        // Oldest first so ids (which follow creation time) come out in the same order.
        for (i, (age, status)) in PLAN.into_iter().enumerate().rev() {
            let created = now - age - Duration::minutes(7 * m as i64);
            let id = store::issue_record_id(&tx, created)?;
            let device = DEVICES[(i + m) % DEVICES.len()].0;
            let file_count = 2 + rng.usize(..4);
            let ended = created + Duration::minutes(3 + rng.i64(0..40));
            let record = BackupRecord {
                record_id: id.to_string(),
                module_code: module.into(),
                status,
                properties: format!(
                    r#"{{"label":"{} backup","fileCount":{file_count}}}"#,
                    module.name()
                ),
                version: match status {
                    RecordStatus::New => 1,
                    RecordStatus::Completed => 2,
                    _ => 3,
                },
                create_time: created,
                end_time: (status != RecordStatus::New).then_some(ended),
                device_info: DeviceEntity {
                    device_id: device.into(),
                    ..DeviceEntity::default()
                },
            };
            store::insert_record(&tx, DEMO_USER_ID, &record)?;
            for n in 0..file_count {
                let name = file_name(module, &mut rng, n);
                let sha256: String = (0..4).map(|_| format!("{:016x}", rng.u64(..))).collect();
                let file = store::NewFile {
                    name: &name,
                    size: 1_000 + rng.u64(..20_000_000),
                    sha256: Some(&sha256),
                    description: (n == 0).then_some("first file of the backup"),
                };
                let at = created + Duration::seconds(n as i64 * 11);
                store::insert_file(&tx, id, &file, at)?;
            }
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::rules;
    use crate::server::store::Store;

    #[test]
    fn seeds_every_module_once_with_a_mix_of_records() {
        let store = Store::open_in_memory();
        let c = &mut *store.conn();
        let now = Utc::now();
        seed(c, now).unwrap();
        seed(c, now).unwrap();
        for module in ModuleCode::ALL {
            let page = rules::list_records(c, DEMO_USER_ID, module, None, 100, None).unwrap();
            assert_eq!(page.items.len(), PLAN.len());
            let stale_new = page
                .items
                .iter()
                .filter(|r| r.status == RecordStatus::New && now - r.create_time > Duration::days(1))
                .count();
            assert!(stale_new >= 1);
            assert!(page.items.iter().any(|r| r.status == RecordStatus::ToBeDeleted));
            assert!(page.items.windows(2).all(|w| w[0].create_time > w[1].create_time));
            let first = &page.items[0];
            assert_ne!(first.device_info.device_os, "unknown");
            let files = rules::list_files(c, DEMO_USER_ID, &first.record_id, 100, None).unwrap();
            assert!((2..=5).contains(&files.items.len()));
        }
    }
}
