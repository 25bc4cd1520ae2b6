//! `status -o json` (and `-o jsonl`, the same document on one line): every user, device and
//! module with its state and figures, the rules they were judged by, and the locks the journal
//! holds; `assets/schemas/status.json` describes it. Server text is exact here (JSON escapes it);
//! every device and module item names its user.

use serde::Serialize;
use serde_json::{Value, json};

use super::plugin::module_slug;
use super::report::{DeviceHealth, Report, UserReport};
use crate::cli::output::LockJson;
use crate::health::{ModuleHealth, Rules, Thresholds};

/// The document.
pub fn document(report: &Report) -> Value {
    let state = report.state();
    let counts: serde_json::Map<String, Value> = report
        .counts()
        .iter()
        .map(|(state, n)| (state.name().to_ascii_lowercase(), json!(n)))
        .collect();
    json!({
        "state": state,
        "exitCode": state.code(),
        "summary": report.summary(),
        "checkedAt": report.started,
        "rules": rules(&report.rules),
        "counts": counts,
        "problems": report.problems,
        "users": report.users.iter().map(user).collect::<Vec<_>>(),
    })
}

fn thresholds(thresholds: &Thresholds) -> Value {
    json!({
        "warnAgeSeconds": thresholds.warn_age.num_seconds(),
        "critAgeSeconds": thresholds.crit_age.num_seconds(),
        "required": thresholds.required,
    })
}

fn rules(rules: &Rules) -> Value {
    let modules: serde_json::Map<String, Value> = rules
        .modules
        .iter()
        .map(|(module, own)| (module.code().to_string(), thresholds(own)))
        .collect();
    json!({
        "abandonedAfterSeconds": rules.abandoned_after.num_seconds(),
        "default": thresholds(&rules.default),
        "modules": modules,
    })
}

/// A journal entry, with its user.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserLock<'a> {
    user_id: &'a str,
    #[serde(flatten)]
    lock: LockJson<'a>,
}

fn user(user: &UserReport) -> Value {
    let now = chrono::Utc::now();
    let locks: Vec<UserLock> = user
        .locks
        .iter()
        .map(|held| UserLock {
            user_id: &user.user_id,
            lock: LockJson::held(held, now),
        })
        .collect();
    let mut doc = json!({
        "userId": user.user_id,
        "state": user.state(),
        "error": null,
        "serverTime": null,
        "clockOffsetSeconds": null,
        "unreadable": 0,
        "devices": [],
        "locks": locks,
    });
    match &user.checked {
        Ok(checked) => {
            doc["serverTime"] = json!(checked.measured_at);
            doc["clockOffsetSeconds"] = json!(checked.clock_offset.num_seconds());
            doc["unreadable"] = json!(checked.unreadable);
            doc["devices"] = checked.devices.iter().map(|d| device(&user.user_id, d)).collect();
        }
        Err(error) => {
            doc["error"] = json!({
                "message": error.message,
                "kind": error.exit.name(),
                "apiCode": error.api_code_json(),
            });
        }
    }
    doc
}

fn device(user_id: &str, device: &DeviceHealth) -> Value {
    let entity = &device.device;
    json!({
        "userId": user_id,
        "deviceId": entity.device_id,
        "deviceName": entity.device_name,
        "machineCode": entity.machine_code,
        "deviceOS": entity.device_os,
        "boundAt": entity.create_time,
        "state": device.state(),
        "freshness": device.freshness(),
        "modules": device
            .modules
            .iter()
            .map(|m| module(user_id, &entity.device_id, m))
            .collect::<Vec<_>>(),
    })
}

fn module(user_id: &str, device_id: &str, health: &ModuleHealth) -> Value {
    let (figures, verdict) = (&health.figures, &health.verdict);
    json!({
        "userId": user_id,
        "deviceId": device_id,
        "moduleCode": health.module,
        "moduleName": module_slug(health.module),
        "state": verdict.state(),
        "freshness": verdict.freshness,
        "reason": verdict.describe(),
        "since": verdict.since.code(),
        "sinceTime": verdict.since.time(),
        "ageSeconds": verdict.age.map(|age| age.num_seconds()),
        "lastCompleted": figures.last_completed,
        "warnAgeSeconds": verdict.thresholds.warn_age.num_seconds(),
        "critAgeSeconds": verdict.thresholds.crit_age.num_seconds(),
        "required": verdict.thresholds.required,
        "records": {
            "total": figures.records,
            "new": figures.new,
            "completed": figures.completed,
            "toBeDeleted": figures.to_be_deleted,
            "other": figures.other,
        },
        "abandoned": figures.abandoned,
        "queuedForDeletion": figures.queued,
        "futureDated": figures.future_dated,
        "sizeBytes": figures.size(),
        "sizedRecords": figures.sized,
    })
}

/// The stale device modules, for the `status-critical` hook.
pub fn critical(report: &Report) -> Value {
    report
        .findings()
        .iter()
        .filter(|f| f.state == crate::health::State::Critical)
        .filter_map(|f| f.module.map(|(device, m)| (f.user, device, m)))
        .map(|(user, device, m)| {
            json!({
                "userId": user.user_id,
                "deviceId": device.device.device_id,
                "deviceName": device.device.device_name,
                "machineCode": device.device.machine_code,
                "moduleCode": m.module,
                "reason": m.verdict.describe(),
                "ageSeconds": m.verdict.age.map(|age| age.num_seconds()),
            })
        })
        .collect()
}
