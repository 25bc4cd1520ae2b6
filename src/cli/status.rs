//! `koobackup status`: the health of every bound device's backups, for monitoring. For each
//! device and module: the last completed backup and its age on the server's clock, records by
//! status, records abandoned, size when asked for (`--sizes`), and whether that is fresh, late
//! (WARNING) or stale (CRITICAL) under the thresholds (`--warn-age`, `--crit-age`, else
//! `[profiles.NAME.health]`, else 26h/50h); and the locks the journal holds for the user.
//!
//! It is a monitoring plugin and keeps the plugins' contract, not the other commands' exit codes:
//! 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN — UNKNOWN for everything that is not a verdict on the
//! backups (bad options, no connection, credentials refused, nothing bound). Forms: the plugin's
//! lines (`plugin`), one JSON document (`json`), a Prometheus textfile (`prometheus`). With
//! `--users FILE` an app credential checks many users, a few at once, each named everywhere.
//! `--ping URL` tells a healthchecks-style monitor success (OK) or failure (anything else), and
//! the profile's `status-critical` hook runs when a backup is stale.

mod json;
mod plugin;
mod prometheus;
mod report;

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use futures::StreamExt;

use super::exit::CliError;
use super::output::Output;
use super::{Context, parse_concurrency};
use crate::api::ping::{Ping, Pinger};
use crate::api::{Client, ModuleCode};
use crate::connect::{self, ConnectOptions};
use crate::format;
use crate::health::rules::Overrides;
use crate::health::sizes::SIZE_CEILING;
use crate::health::survey::survey;
use crate::health::{self, RecordSummary, Rules, State};
use crate::hooks::{self, HookEvent};
use crate::size_cache::{self, SizeCache};
use report::{Checked, DeviceHealth, Report, UserReport};

/// The most of the plugin's output a ping carries.
const MAX_PING_BODY: usize = 10 * 1024;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this module (repeat for several): 100 (folder), 101 (album), 102 (address book), or
    /// its name
    #[arg(long, short, value_parser = ModuleCode::from_user_text, add = super::discover::module_completer())]
    module: Vec<ModuleCode>,
    /// Only the device with this id, name or machine code (repeat for several); one that matches
    /// no bound device is UNKNOWN
    #[arg(long, value_name = "DEVICE")]
    device: Vec<String>,
    /// A backup older than this is late: WARNING (default 26h, or the profile's health.warn_age)
    #[arg(long, value_name = "AGE", value_parser = format::parse_age)]
    warn_age: Option<chrono::Duration>,
    /// A backup older than this is stale: CRITICAL (default 50h, or the profile's
    /// health.crit_age)
    #[arg(long, value_name = "AGE", value_parser = format::parse_age)]
    crit_age: Option<chrono::Duration>,
    /// A record still new after this is abandoned (default 24h, or the profile's
    /// health.abandoned_after)
    #[arg(long, value_name = "AGE", value_parser = format::parse_age)]
    abandoned_after: Option<chrono::Duration>,
    /// Check every user id in FILE (one a line; empty lines and # comments skipped): needs an
    /// app credential, which acts for any user
    #[arg(long, value_name = "FILE")]
    users: Option<PathBuf>,
    /// Users checked at once with --users
    #[arg(long, value_name = "N", default_value = "4", value_parser = parse_concurrency)]
    concurrency: usize,
    /// Also read the size of every backup (one file listing per record: slow on many records)
    #[arg(long)]
    sizes: bool,
    /// Also write the result to FILE in Prometheus' textfile format (for node_exporter's textfile
    /// collector), atomically
    #[arg(long, value_name = "FILE")]
    prometheus: Option<PathBuf>,
    /// Ping a healthchecks-style URL when done: URL on OK, URL/fail otherwise, with the output
    #[arg(long, value_name = "URL")]
    ping: Option<String>,
    /// How long the ping may take, retries included
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = super::parse_timeout)]
    ping_timeout: Duration,
}

/// Runs the check and returns its state's exit code. Never fails otherwise: whatever goes wrong
/// is an UNKNOWN, said in the form asked for.
pub(crate) async fn run(options: &ConnectOptions, out: Output, args: StatusArgs) -> u8 {
    let started = Utc::now();
    let overrides = Overrides {
        warn_age: args.warn_age,
        crit_age: args.crit_age,
        abandoned_after: args.abandoned_after,
    };
    let setup = (|| {
        let users = args.users.as_deref().map(read_users).transpose()?;
        let pinger = args
            .ping
            .as_deref()
            .map(|url| Pinger::new(url, args.ping_timeout).map_err(CliError::usage))
            .transpose()?;
        let rules = crate::health::HealthConfig::rules(None, overrides).map_err(CliError::usage)?;
        Ok::<_, CliError>((users, pinger, rules))
    })();
    let (users, pinger, standard) = match setup {
        Ok(setup) => setup,
        Err(error) => {
            let report = Report {
                users: Vec::new(),
                rules: Rules::standard(),
                many_users: false,
                started,
                problems: vec![error.message],
            };
            return finish(report, out, &args, None, None).await;
        }
    };
    // Notes and warnings of the connection stay off stderr: monitoring systems read the two
    // streams as one output.
    let quiet = Output { quiet: true, ..out };
    let mut ctx = match Context::open(options, quiet).await {
        Ok(ctx) => ctx,
        Err(error) => {
            let user_id = connect::resolve(options)
                .map(|target| target.user_id().to_string())
                .unwrap_or_default();
            let named = users.unwrap_or_else(|| vec![user_id]);
            let report = Report {
                many_users: args.users.is_some(),
                users: named
                    .into_iter()
                    .map(|user_id| UserReport {
                        user_id,
                        checked: Err(error.clone()),
                        locks: Vec::new(),
                    })
                    .collect(),
                rules: standard,
                started,
                problems: Vec::new(),
            };
            return finish(report, out, &args, pinger.as_ref(), None).await;
        }
    };
    let report = match ctx.connection.health_rules(overrides) {
        Ok(rules) => check(&mut ctx, &args, users, rules, started).await,
        Err(problem) => Report {
            users: Vec::new(),
            rules: standard,
            many_users: false,
            started,
            problems: vec![format!("the profile's health settings: {problem}")],
        },
    };
    let code = finish(report, out, &args, pinger.as_ref(), Some(&ctx)).await;
    ctx.connection.close().await;
    code
}

/// What `status` prints for options clap refused: the plugin line, or with `json` the document,
/// UNKNOWN either way.
pub(crate) fn usage_error(message: &str, json: bool) -> String {
    if !json {
        return plugin::unknown(message);
    }
    let report = Report {
        users: Vec::new(),
        rules: Rules::standard(),
        many_users: false,
        started: Utc::now(),
        problems: vec![message.to_string()],
    };
    format::json_for_terminal(&json::document(&report).to_string()).into_owned()
}

/// Checks the connection's user, or each user of `users`.
async fn check(
    ctx: &mut Context,
    args: &StatusArgs,
    users: Option<Vec<String>>,
    rules: Rules,
    started: chrono::DateTime<Utc>,
) -> Report {
    let many_users = users.is_some();
    let user_ids = users.unwrap_or_else(|| vec![ctx.client().user_id().to_string()]);
    let journal_key = ctx.connection.journal_key().to_string();
    let journal = ctx.journal().ok().cloned();
    let client = ctx.client().clone();
    let modules = if args.module.is_empty() {
        ModuleCode::ALL.to_vec()
    } else {
        let mut modules = args.module.clone();
        modules.sort();
        modules.dedup();
        modules
    };
    let rules = &rules;
    let modules = &modules;
    let journal_key = &journal_key;
    let reports: Vec<UserReport> = futures::stream::iter(user_ids)
        .map(|user_id| {
            let client = client.clone();
            let locks = journal
                .as_ref()
                .map(|j| j.locks_for(journal_key, &user_id).into_iter().cloned().collect())
                .unwrap_or_default();
            async move {
                let checked = match client.acting_for(&user_id) {
                    Ok(client) => check_user(&client, journal_key, args, modules, rules).await,
                    Err(error) => Err(CliError::from(error)),
                };
                UserReport {
                    user_id,
                    checked,
                    locks,
                }
            }
        })
        .buffered(args.concurrency)
        .collect()
        .await;
    Report {
        users: reports,
        rules: rules.clone(),
        many_users,
        started,
        problems: Vec::new(),
    }
}

/// One user's devices, filtered, with the health of each module.
/// `cache_key`: the server as the size cache knows it (the journal's key: stable for the embedded
/// demo server too).
async fn check_user(
    client: &Client,
    cache_key: &str,
    args: &StatusArgs,
    modules: &[ModuleCode],
    rules: &Rules,
) -> Result<Checked, CliError> {
    let survey = survey(client, modules).await.map_err(CliError::from)?;
    if survey.devices.is_empty() {
        return Err(CliError::usage(format!(
            "user {} has no bound device: nothing to check",
            client.user_id()
        )));
    }
    let mut devices = survey.devices.clone();
    if !args.device.is_empty() {
        if let Some(unmatched) = args
            .device
            .iter()
            .find(|wanted| !devices.iter().any(|d| matches_device(d, wanted)))
        {
            return Err(CliError::usage(format!(
                "no bound device of user {} has the id, name or machine code {}",
                client.user_id(),
                format::escape(unmatched)
            )));
        }
        devices.retain(|d| args.device.iter().any(|wanted| matches_device(d, wanted)));
    }
    let sizes = if args.sizes {
        let batch: Vec<RecordSummary> = devices
            .iter()
            .flat_map(|d| survey.records_of(&d.device_id))
            .cloned()
            .collect();
        let cache = std::sync::Mutex::new(SizeCache::open(cache_key, client.user_id()));
        let mut sizes = std::collections::HashMap::new();
        size_cache::read_through(
            client,
            &cache,
            futures::stream::iter([batch]),
            SIZE_CEILING,
            || false,
            |read| sizes.extend(read),
        )
        .await;
        let mut cache = cache.into_inner().unwrap_or_else(|e| e.into_inner());
        // Sizes of records the survey no longer lists are dropped; a cache that cannot be
        // written only costs the next run its reads.
        let listed: std::collections::HashSet<&str> = survey
            .records
            .values()
            .flatten()
            .map(|r| r.record_id.as_str())
            .collect();
        let _ = cache.save(|id| listed.contains(id));
        sizes
    } else {
        Default::default()
    };
    // Measured after the listing: its answers told the server's clock.
    let measured_at = crate::cleanup::ages_measured_at(Utc::now(), client.server_now());
    let queued = queued_here(cache_key, client.user_id());
    let devices = devices
        .into_iter()
        .map(|device| {
            let records = survey.records_of(&device.device_id);
            let mut modules =
                health::device_health(records, device.create_time, modules, &sizes, rules, measured_at);
            health::count_queued(&mut modules, &device.device_id, records, &queued);
            DeviceHealth { modules, device }
        })
        .collect();
    Ok(Checked {
        measured_at,
        clock_offset: client.clock_offset(),
        devices,
        unreadable: survey.unreadable,
    })
}

/// The deletions queued on this machine through `server` as `user` (record, device, module); none
/// when the queue cannot be read (a monitoring check does not fail on it).
fn queued_here(server: &str, user: &str) -> Vec<(String, String, ModuleCode)> {
    let Ok(loaded) = crate::pending::Queue::default_place().and_then(|queue| queue.read()) else {
        return Vec::new();
    };
    loaded
        .entries
        .into_iter()
        .filter(|q| q.who.server == server && q.who.user == user)
        .map(|q| (q.record_id.clone(), q.device_id().to_string(), q.module))
        .collect()
}

/// Whether `device` is the one `wanted` names: its id or machine code exactly, or its name with
/// case aside.
fn matches_device(device: &crate::api::DeviceEntity, wanted: &str) -> bool {
    device.device_id == wanted
        || (!device.machine_code.is_empty() && device.machine_code == wanted)
        || (!device.device_name.is_empty() && device.device_name.to_lowercase() == wanted.to_lowercase())
}

/// The user ids of `--users FILE`: one a line, blank lines and `#` comments skipped, each once.
fn read_users(path: &std::path::Path) -> Result<Vec<String>, CliError> {
    const MAX_BYTES: u64 = 4 << 20;
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_BYTES).read_to_string(&mut text))
        .map_err(|e| CliError::usage(format!("cannot read the users file {}: {e}", path.display())))?;
    let mut users = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CliError::usage(format!(
                "{} line {}: a user id has no spaces or control characters",
                path.display(),
                n + 1
            )));
        }
        users.push(line.to_string());
    }
    let users = super::unique(users);
    if users.is_empty() {
        return Err(CliError::usage(format!(
            "the users file {} lists no user id",
            path.display()
        )));
    }
    Ok(users)
}

/// Writes the Prometheus file, prints the result, runs the hook and pings; returns the exit code.
async fn finish(
    mut report: Report,
    out: Output,
    args: &StatusArgs,
    pinger: Option<&Pinger>,
    ctx: Option<&Context>,
) -> u8 {
    if let Some(path) = &args.prometheus
        && let Err(problem) = prometheus::write(path, &prometheus::render(&report))
    {
        report.problems.push(problem);
    }
    let state = report.state();
    let lines = plugin::render(&report, out.wide());
    let printed = if out.is_json() {
        out.json(&json::document(&report))
    } else if out.quiet {
        out.raw(&lines[0])
    } else {
        out.raw(&lines.join("\n"))
    };
    // A closed stdout changes nothing of the verdict (the exit code carries it).
    let _ = printed;
    if state == State::Critical
        && let Some(ctx) = ctx
    {
        let details = serde_json::json!({
            "state": state,
            "exitCode": state.code(),
            "summary": report.summary(),
            "critical": json::critical(&report),
        });
        if let Some(ending) = hooks::fire(
            &ctx.connection.hooks,
            HookEvent::StatusCritical,
            &ctx.connection.hook_origin(),
            details,
        )
        .await
            && let Some(warning) = hooks::warning(HookEvent::StatusCritical, &ending)
        {
            out.warn(&warning);
        }
    }
    if let Some(pinger) = pinger {
        let ping = if state == State::Ok {
            Ping::Success
        } else {
            Ping::Fail
        };
        let mut body = lines.join("\n");
        if body.len() > MAX_PING_BODY {
            let mut cut = MAX_PING_BODY;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
        }
        if let Err(problem) = pinger.send(ping, body).await {
            out.warn(&problem);
        }
    }
    state.code()
}
