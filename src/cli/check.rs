//! `koobackup config check`: reads the config and the profile, checks the token source, and makes
//! one harmless call (a one-item record list) to check the server, the credentials and the clock.
//! Each finding is one line in plain words; the exit code is that of the first problem.

use std::time::Instant;

use serde::Serialize;

use super::exit::{CliError, Exit};
use super::output::{self, Output};
use crate::api::client::RecordQuery;
use crate::api::{ApiError, ModuleCode};
use crate::connect::{self, ConnectOptions, Origin, Target};
use crate::format;

/// KooDrive rejects a request whose X-Date is more than this far behind its clock.
const SERVER_CLOCK_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// An offset below this is ordinary clock drift and not worth a warning.
const NOTABLE_OFFSET: chrono::Duration = chrono::Duration::seconds(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warning,
    Problem,
}

#[derive(Debug, Serialize)]
struct Finding {
    check: &'static str,
    status: Status,
    detail: String,
}

#[derive(Default)]
struct Report {
    findings: Vec<Finding>,
    first_problem: Option<Exit>,
}

impl Report {
    fn ok(&mut self, check: &'static str, detail: impl Into<String>) {
        self.push(check, Status::Ok, detail.into());
    }

    fn warning(&mut self, check: &'static str, detail: impl Into<String>) {
        self.push(check, Status::Warning, detail.into());
    }

    fn problem(&mut self, check: &'static str, error: CliError) {
        self.first_problem.get_or_insert(error.exit);
        self.push(check, Status::Problem, error.to_string());
    }

    fn push(&mut self, check: &'static str, status: Status, detail: String) {
        self.findings.push(Finding {
            check,
            status,
            detail,
        });
    }

    fn print(&self, out: Output) -> Result<(), CliError> {
        if out.is_json() {
            return out.json(&serde_json::json!({
                "ok": self.first_problem.is_none(),
                "checks": self.findings,
            }));
        }
        let rows: Vec<Vec<String>> = self
            .findings
            .iter()
            .filter(|f| !out.quiet || f.status != Status::Ok)
            .map(|f| {
                let status = match f.status {
                    Status::Ok => "ok",
                    Status::Warning => "warning",
                    Status::Problem => "PROBLEM",
                };
                vec![f.check.to_string(), status.to_string(), f.detail.clone()]
            })
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        // The header row is noise in a list of findings, and no detail is cut short.
        out.line(&output::fitted_table(
            &["CHECK", "STATUS", "DETAIL"],
            &rows,
            None,
            false,
        ))
    }
}

pub(crate) async fn run(
    options: &ConnectOptions,
    out: Output,
    app_check: super::settings::AppCheck,
) -> Result<u8, CliError> {
    let mut report = Report::default();
    check(options, &mut report, app_check).await;
    report.print(out)?;
    Ok(report.first_problem.unwrap_or(Exit::Ok).code())
}

async fn check(options: &ConnectOptions, report: &mut Report, app_check: super::settings::AppCheck) {
    let target = match connect::resolve(options) {
        Ok(target) => target,
        Err(error) => return report.problem("config", error.into()),
    };
    // The terminal app's keys and colours, checked as the app checks them at start.
    if let Ok((path, Some(config))) = connect::config_file(options)
        && (!config.keys.is_empty() || !config.theme.is_empty())
    {
        match app_check(&config, &path) {
            Ok(_) => report.ok("app", "the [keys] and [theme] of the config file work"),
            Err(problem) => report.problem("app", CliError::usage(problem)),
        }
    }
    match &target {
        Target::Remote(settings) => {
            match &settings.origin {
                Origin::Profile { name, config_path } => {
                    report.ok("config", format!("{} is valid", config_path.display()));
                    report.ok("profile", format!("using profile {name}"));
                }
                Origin::CommandLine => report.ok("profile", "using --base-url and --user-id (no profile)"),
            }
            report.ok(
                "server",
                format!("{} as user {}", settings.base_url, settings.user_id),
            );
            report.ok("scheme", settings.credential.describe());
            let source = settings.credential.secret();
            match source.resolve(settings.credential.secret_name()) {
                Ok(_) => report.ok("secret", format!("read from {}", source.describe())),
                Err(error) => return report.problem("secret", error.into()),
            }
            if let Some(warning) = source.permission_warning() {
                report.warning("secret", warning);
            }
            if connect::ignored_token_env(settings) {
                report.warning(
                    "secret",
                    format!(
                        "{} is set but not used: a profile's own credentials always win \
                         (--token-file replaces them)",
                        connect::TOKEN_ENV
                    ),
                );
            }
            if let Some(ca) = &settings.ca_file {
                report.ok("tls", format!("trusting the system's CAs and {}", ca.display()));
            }
            check_health(settings, report);
            if let Some(hooks) = &settings.hooks {
                check_hooks(hooks, report);
            }
        }
        Target::EmbeddedDemo(settings) => {
            report.warning(
                "config",
                format!(
                    "no config file at {}; without a profile koobackup uses the embedded demo \
                     server (see assets/config.example.toml)",
                    settings.config_path.display()
                ),
            );
            if let Some(warning) = &settings.config_warning {
                report.warning("config", warning.clone());
            }
        }
    }
    let connection = match target.connect().await {
        Ok(connection) => connection,
        Err(error) => return report.problem("connect", error.into()),
    };
    call_server(&connection, report).await;
    connection.close().await;
}

/// The profile's health thresholds, in words (they were checked when the file was read).
fn check_health(settings: &connect::RemoteSettings, report: &mut Report) {
    let Some(config) = &settings.health else {
        return;
    };
    match crate::health::HealthConfig::rules(Some(config), Default::default()) {
        Ok(rules) => {
            let mut text = format!(
                "late after {}, stale after {}, abandoned after {}",
                format::exact_age(rules.default.warn_age),
                format::exact_age(rules.default.crit_age),
                format::exact_age(rules.abandoned_after)
            );
            for (module, own) in &rules.modules {
                text.push_str(&format!(
                    "; module {}: late after {}, stale after {}{}",
                    module.code(),
                    format::exact_age(own.warn_age),
                    format::exact_age(own.crit_age),
                    if own.required { ", required" } else { "" }
                ));
            }
            report.ok("health", text);
        }
        Err(problem) => report.problem("health", CliError::usage(problem)),
    }
}

/// The profile's hooks: which events have one, and a warning for a program that is not found.
fn check_hooks(hooks: &crate::hooks::Hooks, report: &mut Report) {
    let events = hooks.configured();
    if events.is_empty() {
        return;
    }
    let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    report.ok(
        "hooks",
        format!(
            "{} (time limit {} s)",
            names.join(", "),
            format::seconds(hooks.time_limit())
        ),
    );
    for event in events {
        let command = hooks.command(event).unwrap_or_default();
        let program = command.split_whitespace().next().unwrap_or_default();
        if !program_exists(program) {
            report.warning(
                "hooks",
                format!(
                    "hooks.{}: {} is not found (the hook will fail)",
                    event.name(),
                    format::escape(program)
                ),
            );
        }
    }
}

/// Whether `sh -c` can run `program`: a path to a file, a program on `$PATH`, or something the
/// shell itself knows (a builtin, a variable, a quote: not judged).
fn program_exists(program: &str) -> bool {
    if program.is_empty() || program.contains(['$', '"', '\'', '(', '`', '=']) {
        return true;
    }
    const BUILTINS: [&str; 10] = [
        "echo", "printf", "test", "[", "true", "false", ":", "exit", "exec", "cd",
    ];
    if BUILTINS.contains(&program) {
        return true;
    }
    if program.contains('/') {
        return std::path::Path::new(&crate::config::expand_home(std::path::Path::new(program))).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// One read-only request: proves the server answers, accepts the credentials and our X-Date,
/// and yields the server's clock from its `Date` header.
async fn call_server(connection: &connect::Connection, report: &mut Report) {
    let client = &connection.client;
    let query = RecordQuery {
        module: ModuleCode::Folder,
        page_size: 1,
        device_id: None,
    };
    let started = Instant::now();
    let scheme = client.credentials().scheme.describe();
    match client.list_records(&query, None).await {
        Ok(_) => report.ok(
            "request",
            format!(
                "{} answered and accepted the {scheme} in {} ms",
                connection.label,
                started.elapsed().as_millis()
            ),
        ),
        Err(error) => {
            let (check, refused) = refusal(&error, &scheme);
            let mut problem = CliError::from(error);
            if let Some(refused) = refused {
                problem = problem.context(refused);
            }
            report.problem(check, problem);
            if check == "request" {
                return;
            }
        }
    }
    if !client.clock_measured() {
        let why = if client.ignored_dates() > 0 {
            "the server's Date header was no date, or more than a day away from this machine's \
             clock, and was ignored"
        } else {
            "the server's answer carried no Date header"
        };
        report.warning(
            "clock",
            format!(
                "unknown: {why}; koobackup stamps requests with this machine's clock, which the \
                 server may refuse if it is off"
            ),
        );
        return;
    }
    let offset = client.clock_offset();
    let described = describe_offset(offset);
    if offset.abs() >= SERVER_CLOCK_WINDOW {
        report.warning(
            "clock",
            format!(
                "{described}. koobackup corrects for this, but other KooDrive clients on this \
                 machine will be rejected; fix the clock (e.g. enable NTP)"
            ),
        );
    } else if offset.abs() >= NOTABLE_OFFSET {
        report.warning("clock", format!("{described}; koobackup corrects for it"));
    } else {
        report.ok("clock", described);
    }
}

/// Which check a failed test call fails, and what the server refused, in words: the clock
/// (X-Date), the credentials (token, signature or app id), or the user.
fn refusal(error: &ApiError, scheme: &str) -> (&'static str, Option<String>) {
    match (error.code(), error.status()) {
        (Some(401002), _) => (
            "clock",
            Some("the server refused the request time (X-Date)".into()),
        ),
        (Some(401001), _) | (None, Some(401)) => (
            "credentials",
            Some(format!(
                "the server refused the {scheme}: the secret, the app id or the user id is wrong"
            )),
        ),
        (Some(403001), _) | (None, Some(403)) => (
            "credentials",
            Some("the server refused this user id for these credentials".into()),
        ),
        _ if matches!(error, ApiError::Api { .. } | ApiError::Http { .. }) => ("credentials", None),
        _ => ("request", None),
    }
}

/// "this machine's clock is 3 s behind the server" (the `Date` header has whole seconds).
fn describe_offset(offset: chrono::Duration) -> String {
    let secs = offset.num_milliseconds() as f64 / 1000.0;
    if secs.abs() < 1.0 {
        "this machine's clock agrees with the server's (within a second)".into()
    } else if secs > 0.0 {
        format!("this machine's clock is {secs:.0} s behind the server")
    } else {
        format!("this machine's clock is {:.0} s ahead of the server", -secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_described_in_words() {
        assert!(describe_offset(chrono::Duration::milliseconds(400)).contains("agrees"));
        assert_eq!(
            describe_offset(chrono::Duration::seconds(90)),
            "this machine's clock is 90 s behind the server"
        );
        assert_eq!(
            describe_offset(chrono::Duration::seconds(-5)),
            "this machine's clock is 5 s ahead of the server"
        );
    }
}
