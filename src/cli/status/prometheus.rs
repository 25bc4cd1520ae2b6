//! `status --prometheus FILE`: the run in node_exporter's textfile format (Prometheus text
//! exposition format 0.0.4), written atomically (a temporary file beside it, then a rename) so the
//! collector never reads half a file. The temporary name does not end in `.prom`, which the
//! collector skips.
//!
//! Names and labels follow Prometheus' conventions: base units (seconds, bytes), `_seconds` and
//! `_bytes` suffixes, timestamps rather than ages (an age in a file scraped later would be stale),
//! one `# HELP` and `# TYPE` per family, every sample of a family together. Every sample names
//! its `user`. Label values escape `\`, `"` and line feeds; nothing else needs it.

use std::fmt::Write as _;

use super::plugin::module_slug;
use super::report::{DeviceHealth, Report, UserReport};
use crate::health::{ModuleHealth, State};

/// The file's content.
pub fn render(report: &Report) -> String {
    let mut families: Vec<Family> = Vec::new();
    let mut family = |name: &'static str, help: &'static str| {
        families.push(Family {
            name,
            help,
            samples: Vec::new(),
        });
        families.len() - 1
    };
    let up = family(
        "koobackup_status_up",
        "Whether the user's devices and records could be read (1) or not (0).",
    );
    let state = family(
        "koobackup_status_state",
        "The check's state for the user: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    );
    let run = family(
        "koobackup_status_timestamp_seconds",
        "When the check ran, in seconds since the epoch.",
    );
    let offset = family(
        "koobackup_server_clock_offset_seconds",
        "The server's clock minus this machine's, as measured.",
    );
    let module_state = family(
        "koobackup_module_state",
        "A device module's state: 0 OK (fresh or unused), 1 WARNING (late), 2 CRITICAL (stale).",
    );
    let last = family(
        "koobackup_last_completed_timestamp_seconds",
        "When the last completed backup of the device module ended, in seconds since the epoch.",
    );
    let warn = family(
        "koobackup_warn_age_seconds",
        "Age of the last backup past which the device module is late (a warning).",
    );
    let crit = family(
        "koobackup_crit_age_seconds",
        "Age of the last backup past which the device module is stale (critical).",
    );
    let records = family(
        "koobackup_records",
        "Backup records of the device module by status.",
    );
    let abandoned = family(
        "koobackup_abandoned_records",
        "Records of the device module still new after the abandoned age.",
    );
    let queued = family(
        "koobackup_queued_deletions",
        "Records of the device module queued for deletion on this machine (koobackup pending).",
    );
    let size = family(
        "koobackup_backup_size_bytes",
        "Size of the device module's backup files, when every record's size is known.",
    );
    let locks = family(
        "koobackup_journal_locks",
        "Locks the lock journal holds for the user, by module and by where their owner stands.",
    );
    let started = report.started.timestamp_millis() as f64 / 1000.0;
    for user in &report.users {
        let who = [("user", user.user_id.as_str())];
        families[up].push(&who, f64::from(u8::from(user.checked.is_ok())));
        families[state].push(&who, f64::from(user.state().code()));
        families[run].push(&who, started);
        if let Ok(checked) = &user.checked {
            families[offset].push(&who, checked.clock_offset.num_milliseconds() as f64 / 1000.0);
            for device in &checked.devices {
                for module in &device.modules {
                    let labels = module_labels(user, device, module);
                    let labels: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (*n, v.as_str())).collect();
                    let figures = &module.figures;
                    let code = match module.verdict.state() {
                        State::Ok | State::Unknown => 0,
                        State::Warning => 1,
                        State::Critical => 2,
                    };
                    families[module_state].push(&labels, f64::from(code));
                    if let Some(at) = figures.last_completed {
                        families[last].push(&labels, at.timestamp_millis() as f64 / 1000.0);
                    }
                    let thresholds = module.verdict.thresholds;
                    families[warn].push(&labels, thresholds.warn_age.num_seconds() as f64);
                    families[crit].push(&labels, thresholds.crit_age.num_seconds() as f64);
                    for (status, n) in [
                        ("new", figures.new),
                        ("completed", figures.completed),
                        ("to_be_deleted", figures.to_be_deleted),
                        ("other", figures.other),
                    ] {
                        let mut with_status = labels.clone();
                        with_status.push(("status", status));
                        families[records].push(&with_status, n as f64);
                    }
                    families[abandoned].push(&labels, figures.abandoned as f64);
                    families[queued].push(&labels, figures.queued as f64);
                    if let Some(bytes) = figures.size().filter(|_| figures.records > 0) {
                        families[size].push(&labels, bytes as f64);
                    }
                }
            }
        }
        let mut counted: std::collections::BTreeMap<(String, &'static str), usize> = Default::default();
        for held in &user.locks {
            *counted
                .entry((held.lock.module.code().to_string(), held.standing().code()))
                .or_default() += 1;
        }
        for ((module, standing), n) in counted {
            let labels = [
                ("user", user.user_id.as_str()),
                ("module", module.as_str()),
                ("standing", standing),
            ];
            families[locks].push(&labels, n as f64);
        }
    }
    let mut text = String::new();
    for family in families.iter().filter(|f| !f.samples.is_empty()) {
        let _ = writeln!(text, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(text, "# TYPE {} gauge", family.name);
        for sample in &family.samples {
            let _ = writeln!(text, "{}{sample}", family.name);
        }
    }
    text
}

/// The labels of one device module.
fn module_labels(
    user: &UserReport,
    device: &DeviceHealth,
    module: &ModuleHealth,
) -> Vec<(&'static str, String)> {
    vec![
        ("user", user.user_id.clone()),
        ("device", device.device.device_id.clone()),
        ("device_name", device.device.device_name.clone()),
        ("machine_code", device.device.machine_code.clone()),
        ("module", module.module.code().to_string()),
        ("module_name", module_slug(module.module).to_string()),
    ]
}

/// One metric family: every sample of it is written together under its HELP and TYPE.
struct Family {
    name: &'static str,
    help: &'static str,
    /// `{labels} value`, each.
    samples: Vec<String>,
}

impl Family {
    fn push(&mut self, labels: &[(&str, &str)], value: f64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(name, value)| format!("{name}=\"{}\"", label_value(value)))
            .collect();
        self.samples
            .push(format!("{{{}}} {}", labels.join(","), number(value)));
    }
}

/// A label value as the format wants it: `\` as `\\`, `"` as `\"`, a line feed as `\n`.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A sample value: whole numbers without a fraction, others as Rust writes them (which the
/// format reads).
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Writes `text` to `path` atomically, readable by the collector (mode 0644 less the umask).
pub fn write(path: &std::path::Path, text: &str) -> Result<(), String> {
    crate::config::write_atomically(path, text.as_bytes(), 0o644)
        .map_err(|e| format!("cannot write the Prometheus file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_what_the_format_needs() {
        assert_eq!(label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1.5), "1.5");
    }
}
