//! Demo data for `serve --demo` and the TUI's embedded server: a handful of bound devices (with
//! the reference's field patterns), each with backup scopes and its configs, and, in each
//! module, records of every status and of varied ages (including "new" ones older than a day,
//! the stale kind a user wants to clean up), each with a few files.
//!
//! The content is deterministic (fixed random seed, ages relative to the seeding time) so
//! screenshots and demos look the same every time.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, TransactionBehavior};

use super::{device_store, devices, store};
use crate::api::model::{BackupRecord, ConfigInfo, DeviceEntity, ModuleCode, RecordStatus, ScopeBaseInfo};

pub const DEMO_USER_ID: &str = "demo-user";
pub const DEMO_TOKEN: &str = "demo-token";

/// (device id, machine code, name, OS), the names and OSes within the reference's patterns.
const DEVICES: [(&str, &str, &str, &str); 5] = [
    (
        "1775406005920779393",
        "SRV_BACKUP_01",
        "build-server-01",
        "Ubuntu 24 LTS",
    ),
    (
        "1775406005920779394",
        "LAPTOP_7F3A",
        "Mia ThinkPad X1",
        "Fedora 41",
    ),
    ("1775406005920779395", "PIXEL8_2C91", "Pixel 8", "Android 15"),
    ("1775406005920779396", "IPHONE15_A04E", "iPhone 15", "iOS 18"),
    ("1775406005920779397", "NAS_HOME", "Synology DS923", "DSM 7"),
];

/// What each module backs up on a device: (local path, folder in the cloud).
fn scopes_of(module: ModuleCode) -> [(&'static str, &'static str); 2] {
    match module {
        ModuleCode::Folder => [
            ("/home/mia/Documents", "/Backups/Documents"),
            ("/etc", "/Backups/etc"),
        ],
        ModuleCode::Album => [
            ("/DCIM/Camera", "/Photos/Camera"),
            ("/Pictures/Screenshots", "/Photos/Screenshots"),
        ],
        ModuleCode::AddressBook => [("/contacts", "/Contacts"), ("/sim", "/Contacts/SIM")],
    }
}

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
    for (d, (id, machine_code, name, os)) in DEVICES.into_iter().enumerate() {
        let bound_at = now - Duration::days(90 - 7 * d as i64);
        let device = DeviceEntity {
            device_id: id.into(),
            machine_code: machine_code.into(),
            device_name: name.into(),
            device_os: os.into(),
            create_time: Some(bound_at),
        };
        device_store::insert_bound_device(&tx, DEMO_USER_ID, &device, now)?;
        for module in ModuleCode::ALL {
            for (local, target) in scopes_of(module).into_iter().take(1 + d % 2) {
                let scope = ScopeBaseInfo {
                    local_path: local.into(),
                    target_folder_path: target.into(),
                };
                device_store::insert_scope(&tx, DEMO_USER_ID, id, module, &scope, bound_at)?;
            }
            for (config, value, description) in devices::DEFAULT_CONFIGS {
                // The phones back up over Wi-Fi only; the others over any network.
                let value = match (config, d) {
                    ("wifi_only", 0 | 1 | 4) => "off",
                    _ => value,
                };
                let config = ConfigInfo {
                    device_id: id.into(),
                    module_code: module.code().into(),
                    config_name: config.into(),
                    config_value: value.into(),
                    description: Some(description.into()),
                };
                device_store::insert_config(&tx, DEMO_USER_ID, &config)?;
            }
        }
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
            assert_eq!(
                devices::list_devices(c, DEMO_USER_ID).unwrap().len(),
                DEVICES.len()
            );
            let device = &first.device_info.device_id;
            assert!(
                !devices::list_scopes(c, DEMO_USER_ID, device, module.code())
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(
                devices::list_configs(c, DEMO_USER_ID, device, module.code())
                    .unwrap()
                    .len(),
                3
            );
            let files = rules::list_files(c, DEMO_USER_ID, &first.record_id, 100, None).unwrap();
            assert!((2..=5).contains(&files.items.len()));
        }
    }
}
