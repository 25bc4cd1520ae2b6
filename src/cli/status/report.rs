//! What one `status` run found: per user, their devices with the health of each module and the
//! locks the journal holds for them, or why they could not be checked; and the state that makes
//! of it (the worst of all, see [`State::worst`]).

use chrono::{DateTime, Utc};

use crate::api::DeviceEntity;
use crate::cli::exit::CliError;
use crate::format;
use crate::health::{Freshness, ModuleHealth, Rules, State};
use crate::journal::HeldLock;

/// One user's devices as checked.
#[derive(Debug, Clone)]
pub struct Checked {
    /// When ages were measured (the server's clock, as far as ours can tell).
    pub measured_at: DateTime<Utc>,
    /// The server's clock minus ours.
    pub clock_offset: chrono::Duration,
    pub devices: Vec<DeviceHealth>,
    /// Devices and records the server sent that could not be read.
    pub unreadable: usize,
}

/// One device and the health of its modules.
#[derive(Debug, Clone)]
pub struct DeviceHealth {
    pub device: DeviceEntity,
    pub modules: Vec<ModuleHealth>,
}

impl DeviceHealth {
    pub fn state(&self) -> State {
        self.modules
            .iter()
            .fold(State::Ok, |state, m| state.worst(m.verdict.state()))
    }

    pub fn freshness(&self) -> Freshness {
        crate::health::worst_freshness(&self.modules)
    }

    /// `Home NAS`, or the id when the name is empty: what people call it.
    pub fn name(&self) -> &str {
        if self.device.device_name.is_empty() {
            &self.device.device_id
        } else {
            &self.device.device_name
        }
    }
}

/// One user of the run.
#[derive(Debug, Clone)]
pub struct UserReport {
    pub user_id: String,
    /// The figures, or why there are none (an UNKNOWN).
    pub checked: Result<Checked, CliError>,
    /// The locks the journal holds for this user on this server.
    pub locks: Vec<HeldLock>,
}

impl UserReport {
    pub fn state(&self) -> State {
        match &self.checked {
            Ok(checked) => checked
                .devices
                .iter()
                .fold(State::Ok, |state, d| state.worst(d.state())),
            Err(_) => State::Unknown,
        }
    }
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Report {
    pub users: Vec<UserReport>,
    pub rules: Rules,
    /// Whether users were named (`--users`): every line then names its user.
    pub many_users: bool,
    /// When the run started (this machine's clock).
    pub started: DateTime<Utc>,
    /// Problems of the run itself (a Prometheus file that cannot be written): each an UNKNOWN.
    pub problems: Vec<String>,
}

/// One device's module that is not OK, or one user that could not be checked: a line of the
/// plugin output.
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    pub state: State,
    pub user: &'a UserReport,
    /// The device and module, for a module's finding; `None` for a user that could not be
    /// checked.
    pub module: Option<(&'a DeviceHealth, &'a ModuleHealth)>,
}

impl Report {
    pub fn state(&self) -> State {
        let state = self.users.iter().fold(State::Ok, |s, u| s.worst(u.state()));
        if self.problems.is_empty() {
            state
        } else {
            state.worst(State::Unknown)
        }
    }

    /// Every module that is not OK and every user that could not be checked, worst first (the
    /// oldest backup first among equals).
    pub fn findings(&self) -> Vec<Finding<'_>> {
        self.every_module(|state| state != State::Ok)
    }

    /// Every device's module, and every user that could not be checked, worst first.
    pub fn every_module(&self, keep: impl Fn(State) -> bool) -> Vec<Finding<'_>> {
        let mut findings = Vec::new();
        for user in &self.users {
            match &user.checked {
                Err(_) => findings.push(Finding {
                    state: State::Unknown,
                    user,
                    module: None,
                }),
                Ok(checked) => {
                    for device in &checked.devices {
                        for module in &device.modules {
                            findings.push(Finding {
                                state: module.verdict.state(),
                                user,
                                module: Some((device, module)),
                            });
                        }
                    }
                }
            }
        }
        findings.retain(|f| keep(f.state));
        let rank = |f: &Finding| {
            let age = f
                .module
                .and_then(|(_, m)| m.verdict.age)
                .unwrap_or(chrono::Duration::zero());
            (std::cmp::Reverse(f.state.severity()), std::cmp::Reverse(age))
        };
        findings.sort_by_key(rank);
        findings
    }

    /// How many device modules (and unchecked users) are in each state.
    pub fn counts(&self) -> [(State, usize); 4] {
        let all = self.every_module(|_| true);
        [State::Ok, State::Warning, State::Critical, State::Unknown]
            .map(|state| (state, all.iter().filter(|f| f.state == state).count()))
    }

    /// Devices checked, over every user.
    pub fn devices(&self) -> usize {
        self.users
            .iter()
            .filter_map(|u| u.checked.as_ref().ok())
            .map(|c| c.devices.len())
            .sum()
    }

    /// The summary after the state on the first line: the worst findings by name, or what was
    /// found fine.
    pub fn summary(&self) -> String {
        let findings = self.findings();
        if findings.is_empty() && self.problems.is_empty() {
            let modules = self.every_module(|_| true);
            let judged: Vec<chrono::Duration> = modules
                .iter()
                .filter_map(|f| f.module.filter(|(_, m)| m.verdict.freshness == Freshness::Fresh))
                .filter_map(|(_, m)| m.verdict.age)
                .collect();
            let devices = format::count(self.devices(), "device");
            return match judged.iter().max() {
                Some(oldest) => format!(
                    "{devices}, every backup fresh (the oldest {} ago)",
                    format::age(*oldest)
                ),
                None => format!("{devices}, no backups to judge"),
            };
        }
        const NAMED: usize = 3;
        let mut parts: Vec<String> = self.problems.clone();
        parts.extend(findings.iter().take(NAMED).map(|f| self.finding_text(f, false)));
        let more = (findings.len() + self.problems.len()).saturating_sub(parts.len());
        let mut text = parts.join("; ");
        if more > 0 {
            text.push_str(&format!("; and {more} more"));
        }
        text
    }

    /// A finding in words: `alice: Home NAS address book stale: last backup 3d 0h ago`, with
    /// `detailed` the device's machine code and id, the thresholds and the other figures too.
    pub fn finding_text(&self, finding: &Finding, detailed: bool) -> String {
        let user = if self.many_users {
            format!("{}: ", finding.user.user_id)
        } else {
            String::new()
        };
        let Some((device, module)) = finding.module else {
            let why = match &finding.user.checked {
                // For people: with the server's code (JSON has it as apiCode).
                Err(error) => error.to_string(),
                Ok(_) => String::new(),
            };
            return format!("{user}{why}");
        };
        let verdict = &module.verdict;
        let mut text = if detailed {
            format!(
                "{user}{} ({}, id {}) {} ({}) is {}: {}",
                device.name(),
                device.device.machine_code,
                device.device.device_id,
                module.module.name(),
                module.module.code(),
                verdict.freshness.word(),
                verdict.describe()
            )
        } else {
            format!(
                "{user}{} {} {} ({})",
                device.name(),
                module.module.name(),
                verdict.freshness.word(),
                verdict.describe()
            )
        };
        if detailed {
            let limits = format!(
                "late after {}, stale after {}",
                format::exact_age(verdict.thresholds.warn_age),
                format::exact_age(verdict.thresholds.crit_age)
            );
            text.push_str(&format!(" ({limits})"));
            let figures = &module.figures;
            if figures.abandoned > 0 {
                text.push_str(&format!("; {} abandoned", figures.abandoned));
            }
            if figures.future_dated > 0 {
                text.push_str(&format!("; {} dated in the future", figures.future_dated));
            }
            if figures.queued > 0 {
                text.push_str(&format!("; {} queued for deletion", figures.queued));
            }
        }
        text
    }
}
