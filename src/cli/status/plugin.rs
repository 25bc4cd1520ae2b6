//! `status` as a monitoring plugin (the Monitoring Plugins development guidelines, as Nagios,
//! Icinga, Naemon and Sensu read them): one first line `KOOBACKUP STATE - summary | perfdata`,
//! then one line per device module that is not OK (every one with `-o wide`). The exit code is
//! the state's: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
//!
//! A `|` starts performance data for the reader of plugin output, so none may appear in the
//! text: one in a device name is written `¦`. Control characters are escaped as everywhere.

use super::report::Report;
use crate::api::ModuleCode;
use crate::format;
use crate::health::State;

/// The plugin's output, line by line; `every_module` lists the modules that are fine too.
pub fn render(report: &Report, every_module: bool) -> Vec<String> {
    let state = report.state();
    let mut lines = vec![format!(
        "KOOBACKUP {} - {} | {}",
        state.name(),
        text(&report.summary()),
        perfdata(report)
    )];
    lines.extend(report.problems.iter().map(|p| format!("UNKNOWN: {}", text(p))));
    let findings = if every_module {
        report.every_module(|_| true)
    } else {
        report.findings()
    };
    lines.extend(findings.iter().map(|finding| {
        format!(
            "{}: {}",
            finding.state.name(),
            text(&report.finding_text(finding, true))
        )
    }));
    if every_module {
        lines.extend(lock_lines(report));
    }
    lines
}

/// The locks the journal holds, one line each: `LOCK: lock ID (102 address book), held by …,
/// 03:12 left`.
fn lock_lines(report: &Report) -> Vec<String> {
    let now = chrono::Utc::now();
    let mut lines = Vec::new();
    for user in &report.users {
        let who = if report.many_users {
            format!("{}: ", user.user_id)
        } else {
            String::new()
        };
        for held in &user.locks {
            let line = format!(
                "LOCK: {who}lock {} ({}), {}, {} left",
                held.lock.lock_id,
                format::module_label(held.lock.module),
                crate::lease::describe_holder(held.owner.as_ref(), held.standing()),
                format::time_left(&held.lock, now)
            );
            lines.push(text(&line));
        }
    }
    lines
}

/// The first line alone, for options clap refused.
pub fn unknown(message: &str) -> String {
    format!("KOOBACKUP {} - {}", State::Unknown.name(), text(message))
}

/// Text for the plugin's output: control characters escaped, line breaks included, and no `|`.
pub fn text(raw: &str) -> String {
    format::escape(raw).replace('|', "¦")
}

/// `folder`, `album`, `address-book`: a module in labels.
pub fn module_slug(module: ModuleCode) -> &'static str {
    match module {
        ModuleCode::Folder => "folder",
        ModuleCode::Album => "album",
        ModuleCode::AddressBook => "address-book",
    }
}

/// The counts by state, devices and abandoned records, then the age of each device module with
/// backups (seconds, with its warning and critical thresholds), labelled `[user/]machine
/// code/module`.
fn perfdata(report: &Report) -> String {
    let counts = report.counts();
    let mut parts = vec![format!("devices={};;;0", report.devices())];
    parts.extend(
        counts
            .iter()
            .map(|(state, n)| format!("{}={n};;;0", state.name().to_ascii_lowercase())),
    );
    let modules = report.every_module(|_| true);
    let abandoned: usize = modules
        .iter()
        .filter_map(|f| f.module)
        .map(|(_, m)| m.figures.abandoned)
        .sum();
    parts.push(format!("abandoned={abandoned};;;0"));
    for finding in &modules {
        let Some((device, module)) = finding.module else {
            continue;
        };
        let verdict = &module.verdict;
        if verdict.freshness == crate::health::Freshness::Unused {
            continue;
        }
        let who = if device.device.machine_code.is_empty() {
            &device.device.device_id
        } else {
            &device.device.machine_code
        };
        let mut label = format!("{who}/{}", module_slug(module.module));
        if report.many_users {
            label = format!("{}/{label}", finding.user.user_id);
        }
        let value = verdict
            .age
            .map_or_else(|| "U".to_string(), |age| format!("{}s", age.num_seconds().max(0)));
        parts.push(format!(
            "'{}'={value};{};{};0",
            label_text(&label),
            verdict.thresholds.warn_age.num_seconds(),
            verdict.thresholds.crit_age.num_seconds()
        ));
    }
    parts.join(" ")
}

/// A perfdata label: no `'` or `=` (the guidelines allow neither), no `|`, nothing a terminal acts
/// on.
fn label_text(label: &str) -> String {
    text(label).replace(['\'', '='], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_start_perfdata_or_forge_a_line() {
        assert_eq!(text("NAS | backup\nCRITICAL: x"), "NAS ¦ backup\\x0aCRITICAL: x");
        assert_eq!(label_text("o'brien=1"), "o_brien_1");
        assert_eq!(unknown("no device bound"), "KOOBACKUP UNKNOWN - no device bound");
    }
}
