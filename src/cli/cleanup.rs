//! `koobackup cleanup`: the TUI's clean-up candidates (see `crate::cleanup`), listed by default and
//! deleted with `--yes`.
//!
//! Deleting takes a fresh lock per module, never a lock from the journal: a journalled lock may
//! belong to a backup that is running right now (`lock hold`), whose `new` record must not be
//! deleted under it. If the module is locked, it is skipped. Records are listed again *under* the
//! lock, so a backup that completed in the meantime is not deleted.

use chrono::Utc;
use clap::Args;
use futures::StreamExt;
use serde::Serialize;

use super::exit::{CliError, Exit};
use super::named_device::NamedDevice;
use super::output;
use super::record::{MAX_HELD_BYTES, WalkBounds, held_size, incomplete, too_big, walk_error};
use super::{Context, parse_module};
use crate::api::client::RecordQuery;
use crate::api::error::LOCK_EXPIRED;
use crate::api::{BackupRecord, LockInfo, MAX_PAGE_SIZE, ModuleCode};
use crate::cleanup::{Candidate, CleanupRules, Kept, Plan, ages_measured_at, parse_age, plan};
use crate::retention::Retention;

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Module to clean; repeat for several (default: all three)
    #[arg(long, short, value_parser = parse_module, add = super::discover::module_completer())]
    pub module: Vec<ModuleCode>,
    /// Only records of this device: its id, machine code or name (see `device list`)
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
    /// A record still "new" after this long is abandoned (e.g. 24h, 90m, 7d, 1d12h)
    #[arg(long, value_name = "AGE", default_value = "24h", value_parser = parse_age)]
    pub older_than: chrono::Duration,
    /// Do not propose records marked "to be deleted"
    #[arg(long)]
    pub keep_marked: bool,
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Only list the candidates (this is the default)
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Delete the candidates
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub bounds: WalkBounds,
}

/// Retention rules for completed backups, per device and module (restic's `forget --keep-*`).
/// Without any, the profile's `[profiles.NAME.retention]` applies, if it has one; without
/// that, completed backups are never proposed.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Keep the N newest completed backups of each device
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest completed backup of each of the N newest days with one (UTC)
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest completed backup of each of the N newest ISO weeks with one
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest completed backup of each of the N newest months with one
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep every completed backup made within AGE before the device's newest (e.g. 30d)
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub keep_within: Option<chrono::Duration>,
    /// Let the rules delete even the newest completed backup of a device
    #[arg(long)]
    pub allow_empty: bool,
}

impl RetentionArgs {
    /// The policy to apply: the options', else the profile's; refused when it keeps nothing.
    fn policy(&self, profile: Option<Retention>) -> Result<Option<Retention>, CliError> {
        let given = Retention {
            keep_last: self.keep_last,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_within: self.keep_within,
            allow_empty: self.allow_empty,
        };
        let policy = if given.is_set() {
            Some(given)
        } else {
            profile.map(|p| Retention {
                allow_empty: p.allow_empty || self.allow_empty,
                ..p
            })
        };
        if let Some(policy) = policy {
            policy.check().map_err(CliError::usage)?;
        } else if self.allow_empty {
            return Err(CliError::usage(
                "--allow-empty needs retention rules (--keep-last, --keep-daily, --keep-weekly, \
                 --keep-monthly or --keep-within)",
            ));
        }
        Ok(policy)
    }
}

/// A completed backup the retention policy keeps.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct KeptReport {
    #[serde(serialize_with = "output::record_json")]
    record: BackupRecord,
    reason: String,
    reason_code: &'static str,
}

impl From<Kept> for KeptReport {
    fn from(kept: Kept) -> KeptReport {
        KeptReport {
            reason: kept.reason.to_string(),
            reason_code: kept.reason.code(),
            record: kept.record,
        }
    }
}

/// Everything `cleanup` found and did.
#[derive(Debug, Default)]
struct Reports {
    candidates: Vec<CandidateReport>,
    kept: Vec<KeptReport>,
    listed: Listed,
}

/// What the listings under clean-up held.
#[derive(Debug, Default)]
struct Listed {
    /// Records read.
    records: usize,
    /// Records that could not be read (never candidates): the clean-up is incomplete.
    unreadable: Vec<String>,
}

/// What happened to one candidate. In JSON: `{"record", "reason", "reasonCode", "deleted"}`,
/// and for a failed delete its `error` (the message exactly as the server said it), `exitCode`
/// and `apiCode`, as a failed item of `record delete` says them.
#[derive(Debug)]
struct CandidateReport {
    record: BackupRecord,
    reason: String,
    reason_code: &'static str,
    deleted: bool,
    /// Why it was not deleted.
    failure: Option<CliError>,
}

impl Serialize for CandidateReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut report = serde_json::json!({
            "record": output::RecordJson::new(&self.record),
            "reason": self.reason,
            "reasonCode": self.reason_code,
            "deleted": self.deleted,
        });
        if let Some(failure) = &self.failure {
            report["error"] = failure.message.clone().into();
            report["exitCode"] = failure.exit.code().into();
            report["apiCode"] = failure.api_code_json();
        }
        report.serialize(serializer)
    }
}

impl CandidateReport {
    fn new(candidate: Candidate) -> CandidateReport {
        CandidateReport {
            reason: candidate.reason.to_string(),
            reason_code: candidate.reason.code(),
            record: candidate.record,
            deleted: false,
            failure: None,
        }
    }
}

/// A module that could not be cleaned at all. In JSON: `{"moduleCode", "error", "exitCode",
/// "apiCode"}`, read from the failure.
#[derive(Debug)]
struct SkippedModule {
    module: ModuleCode,
    cause: CliError,
}

impl Serialize for SkippedModule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde_json::json!({
            "moduleCode": self.module,
            "error": self.cause.message,
            "exitCode": self.cause.exit.code(),
            "apiCode": self.cause.api_code_json(),
        })
        .serialize(serializer)
    }
}

pub(crate) async fn run(ctx: &mut Context, mut args: CleanupArgs) -> Result<u8, CliError> {
    if args.yes {
        super::refuse_if_read_only(ctx, "cleanup --yes")?;
    }
    let device = match &args.device {
        Some(given) => Some(NamedDevice::resolve(ctx.client(), given).await?),
        None => None,
    };
    args.device = device.as_ref().map(|d| d.id.clone());
    let rules = CleanupRules {
        stale_new_after: args.older_than,
        include_to_be_deleted: !args.keep_marked,
        retention: args.retention.policy(ctx.connection.retention)?,
    };
    let modules = if args.module.is_empty() {
        ModuleCode::ALL.to_vec()
    } else {
        args.module.clone()
    };
    let chosen = if args.yes && super::can_ask() {
        match confirm_many(ctx, &modules, &args, &rules).await? {
            Confirmation::Declined => {
                return Err(CliError::failure("not confirmed; nothing was deleted"));
            }
            Confirmation::Chosen(ids) => Some(ids),
            Confirmation::NotNeeded => None,
        }
    } else {
        None
    };
    let mut reports = Reports::default();
    let mut skipped = Vec::new();
    let mut first_error: Option<CliError> = None;
    for module in modules {
        let outcome = if args.yes {
            let targets = Targets {
                rules: &rules,
                chosen: chosen.as_ref(),
            };
            delete_in_module(ctx, module, &args, targets, &mut reports).await
        } else {
            find(ctx, module, &args, &rules, &mut reports.listed)
                .await
                .map(|found| {
                    reports
                        .candidates
                        .extend(found.delete.into_iter().map(CandidateReport::new));
                    reports.kept.extend(found.keep.into_iter().map(KeptReport::from));
                })
        };
        if let Err(error) = outcome {
            skipped.push(SkippedModule {
                module,
                cause: error.clone(),
            });
            first_error.get_or_insert(error);
        }
    }
    if let Some(failure) = reports.candidates.iter().find_map(|r| r.failure.clone()) {
        first_error.get_or_insert(failure);
    }
    if let Some(device) = device.filter(|d| !d.bound)
        && reports.listed.records == 0
        && reports.listed.unreadable.is_empty()
        && skipped.is_empty()
    {
        return Err(device.names_nothing());
    }
    print(ctx, &args, &rules, &reports, &skipped)?;
    // Said after the rest; the exit code is the first failure's, else this one's (8).
    let incomplete = incomplete(&reports.listed.unreadable).err();
    if let Some(error) = &incomplete {
        ctx.out.error(error);
    }
    Ok(first_error
        .or(incomplete)
        .map_or(Exit::Ok.code(), |e| e.exit.code()))
}

/// The module's candidates at this moment, and what the retention policy keeps. Ages are
/// measured on the server's clock (the records' times are the server's), through the offset the
/// listing itself measured. Records that could not be read (counted in `listed`), or that the
/// server lists under another module, are never candidates.
async fn find(
    ctx: &Context,
    module: ModuleCode,
    args: &CleanupArgs,
    rules: &CleanupRules,
    listed: &mut Listed,
) -> Result<Plan, CliError> {
    let query = RecordQuery {
        module,
        page_size: MAX_PAGE_SIZE,
        device_id: args.device.clone(),
    };
    let mut pages = std::pin::pin!(ctx.client().record_pages(query, args.bounds.max_pages));
    let mut records: Vec<BackupRecord> = Vec::new();
    let mut held = 0usize;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| walk_error(e, &args.bounds))?;
        listed.unreadable.extend(page.unreadable);
        if records.len() + page.items.len() > args.bounds.max_records {
            return Err(CliError::new(
                Exit::Server,
                format!(
                    "module {module} has more than {} records (--max-records); nothing was \
                     deleted. Narrow it with --device, or raise --max-records",
                    args.bounds.max_records
                ),
            ));
        }
        held += page.items.iter().map(held_size).sum::<usize>();
        if held > MAX_HELD_BYTES {
            return Err(too_big(&format!("module {module}'s listing")));
        }
        records.extend(page.items);
    }
    listed.records += records.len();
    let (ours, odd): (Vec<BackupRecord>, Vec<BackupRecord>) = records
        .into_iter()
        .partition(|record| record.module_code == module);
    if let Some(record) = odd.first() {
        ctx.out.warn(&format!(
            "{} record(s) listed under module {module} report another module (e.g. {} in {}); \
             they are left alone",
            odd.len(),
            record.record_id,
            record.module_code.code()
        ));
    }
    if !ctx.client().clock_measured() {
        ctx.out.warn(
            "the server sent no Date header, so its clock is unknown: ages are measured on this \
             machine's clock",
        );
    }
    Ok(plan(
        &ours,
        rules,
        ages_measured_at(Utc::now(), ctx.client().server_now()),
    ))
}

/// More candidates than this are named and confirmed before `--yes` deletes them on a terminal.
const CONFIRM_ABOVE: usize = 10;

/// Whether the user agreed to a large clean-up.
enum Confirmation {
    /// Few enough candidates: `--yes` is enough.
    NotNeeded,
    /// The user said yes to exactly these records.
    Chosen(std::collections::HashSet<String>),
    Declined,
}

/// On a terminal, a `--yes` over more than [`CONFIRM_ABOVE`] records first lists them all (as a
/// dry run would) and asks. The answer covers exactly the records shown: one that becomes a
/// candidate only by the time its module is locked is left alone.
async fn confirm_many(
    ctx: &Context,
    modules: &[ModuleCode],
    args: &CleanupArgs,
    rules: &CleanupRules,
) -> Result<Confirmation, CliError> {
    let mut candidates = Vec::new();
    for &module in modules {
        // What cannot be read is said once, by the listing under the lock that follows.
        candidates.extend(
            find(ctx, module, args, rules, &mut Listed::default())
                .await?
                .delete,
        );
    }
    if candidates.len() <= CONFIRM_ABOVE {
        return Ok(Confirmation::NotNeeded);
    }
    let rows: Vec<Vec<String>> = candidates
        .iter()
        .map(|c| candidate_row(&c.record, &c.reason.to_string()))
        .collect();
    // The table's cells are escaped; the rest is our own text.
    let question = format!(
        "These {} records and their backup files will be deleted:\n{}\nDelete them?",
        candidates.len(),
        output::fitted_table(&CANDIDATE_HEADERS, &rows, output::stderr_width(), true)
    );
    if !super::ask(&question)? {
        return Ok(Confirmation::Declined);
    }
    Ok(Confirmation::Chosen(
        candidates.into_iter().map(|c| c.record.record_id).collect(),
    ))
}

/// What a `--yes` run deletes: the rules' candidates, and of those only the ones the user
/// confirmed, when asked.
#[derive(Clone, Copy)]
struct Targets<'a> {
    rules: &'a CleanupRules,
    chosen: Option<&'a std::collections::HashSet<String>>,
}

/// Takes a lock for `module`, lists its candidates again under it, deletes them, releases it.
async fn delete_in_module(
    ctx: &mut Context,
    module: ModuleCode,
    args: &CleanupArgs,
    targets: Targets<'_>,
    reports: &mut Reports,
) -> Result<(), CliError> {
    let mut lock = match ctx.create_lock(module, false).await {
        Ok(lock) => lock,
        Err(error) if error.exit == Exit::Conflict => {
            // Said once, in our words: whose lock it is decides what the user can do.
            let message = match ctx.live_lock(module).ok().flatten() {
                Some(held) => format!(
                    "module {module} is locked by your own lock {} ({} left); skipped it. Release \
                     it with `koobackup lock release {}` to clean up this module",
                    held.lock.lock_id,
                    crate::format::time_left(&held.lock, Utc::now()),
                    held.lock.lock_id
                ),
                None => format!("module {module} is locked elsewhere (a backup may be running); skipped it"),
            };
            return Err(CliError { message, ..error });
        }
        Err(error) => return Err(error.context(format!("cannot lock module {module}"))),
    };
    let result = delete_candidates(ctx, &mut lock, args, targets, reports).await;
    if let Err(error) = ctx.release_lock(&lock.lock_id).await {
        ctx.out.warn(
            &error
                .context(format!("cannot release lock {}", lock.lock_id))
                .to_string(),
        );
    }
    result
}

async fn delete_candidates(
    ctx: &mut Context,
    lock: &mut LockInfo,
    args: &CleanupArgs,
    targets: Targets<'_>,
    reports: &mut Reports,
) -> Result<(), CliError> {
    let renew_below =
        chrono::Duration::from_std(ctx.client().lock_ttl() / 3).unwrap_or(chrono::Duration::MAX);
    let found = find(ctx, lock.module, args, targets.rules, &mut reports.listed).await?;
    reports.kept.extend(found.keep.into_iter().map(KeptReport::from));
    let confirmed = |candidate: &Candidate| {
        targets
            .chosen
            .is_none_or(|chosen| chosen.contains(&candidate.record.record_id))
    };
    for candidate in found.delete.into_iter().filter(confirmed) {
        // A long clean-up must not outlive its lock.
        if lock.time_left(Utc::now()) < renew_below {
            *lock = ctx.client().renew_lock(lock).await?;
            ctx.remember_renewal(lock, false)?;
        }
        let mut report = CandidateReport::new(candidate);
        let record_id = report.record.record_id.clone();
        let mut result = ctx.client().delete_record(&lock.lock_id, &record_id).await;
        if matches!(&result, Err(error) if error.code() == Some(LOCK_EXPIRED)) {
            // The lock lapsed during slow calls (retries, a slow server). Renewed soon after its
            // expiry it lives again; the refused delete changed nothing and is sent once more.
            *lock = ctx.client().renew_lock(lock).await?;
            ctx.remember_renewal(lock, false)?;
            result = ctx.client().delete_record(&lock.lock_id, &record_id).await;
        }
        match result {
            Ok(()) => report.deleted = true,
            Err(error) => {
                report.failure = Some(CliError::from(error));
            }
        }
        reports.candidates.push(report);
    }
    Ok(())
}

const CANDIDATE_HEADERS: [&str; 5] = ["RECORD ID", "MODULE", "DEVICE", "CREATED", "REASON"];

/// A record clean-up deletes or keeps, with why.
fn candidate_row(record: &BackupRecord, reason: &str) -> Vec<String> {
    vec![
        record.record_id.clone(),
        record.module_code.label(),
        record.device_info.device_id.clone(),
        output::local_minutes(record.create_time),
        reason.to_string(),
    ]
}

fn to_value(item: &impl Serialize) -> Result<serde_json::Value, CliError> {
    serde_json::to_value(item)
        .map_err(|e| CliError::failure(format!("cannot encode the output as JSON: {e}")))
}

fn print(
    ctx: &Context,
    args: &CleanupArgs,
    rules: &CleanupRules,
    all: &Reports,
    skipped: &[SkippedModule],
) -> Result<(), CliError> {
    let out = ctx.out;
    let reports = &all.candidates;
    if out.is_jsonl() {
        // One document per record: each candidate (`"kind": "candidate"`), then each record the
        // retention policy keeps (`"kind": "kept"`); skipped modules are errors on stderr.
        for module in skipped {
            out.error(&module.cause);
        }
        let tagged = |kind: &str, item: serde_json::Value| {
            let mut item = item;
            if let Some(object) = item.as_object_mut() {
                object.insert("kind".into(), kind.into());
                object.insert("dryRun".into(), (!args.yes).into());
            }
            item
        };
        for report in reports {
            out.json(&tagged("candidate", to_value(report)?))?;
        }
        for kept in &all.kept {
            out.json(&tagged("kept", to_value(kept)?))?;
        }
        return Ok(());
    }
    if out.is_json() {
        return out.json(&serde_json::json!({
            "dryRun": !args.yes,
            "retention": rules.retention.map(|policy| policy.to_text()),
            "candidates": reports,
            "kept": all.kept,
            "skippedModules": skipped,
        }));
    }
    for module in skipped {
        out.error(&module.cause);
    }
    // Failures are errors on stderr, also with -q: stdout lists only what went (or would go), so
    // that `cleanup --no-headers | awk '{print $1}'` yields record ids and nothing else.
    for report in reports {
        if let Some(failure) = &report.failure {
            out.error(&failure.clone().about("record", &report.record.record_id));
        }
    }
    let done: Vec<&CandidateReport> = reports.iter().filter(|r| !args.yes || r.deleted).collect();
    if out.quiet {
        return done.iter().try_for_each(|r| out.value(&r.record.record_id));
    }
    if let Some(policy) = rules.retention
        && !all.kept.is_empty()
    {
        let rows: Vec<Vec<String>> = all
            .kept
            .iter()
            .map(|k| candidate_row(&k.record, &k.reason))
            .collect();
        // On stderr: stdout lists only what would go, so no kept backup can be piped into a
        // delete by mistake.
        out.note_lines(&format!(
            "kept by the retention policy ({}):\n{}",
            policy.describe(),
            output::fitted_table(&CANDIDATE_HEADERS, &rows, output::stderr_width(), !out.no_headers)
        ));
    }
    if !done.is_empty() {
        let rows: Vec<Vec<String>> = done.iter().map(|r| candidate_row(&r.record, &r.reason)).collect();
        out.line(&out.table(&CANDIDATE_HEADERS, &rows))?;
    }
    out.note(&summary(args.yes, reports, skipped));
    Ok(())
}

/// What clean-up did, in a sentence for stderr.
fn summary(deleting: bool, reports: &[CandidateReport], skipped: &[SkippedModule]) -> String {
    let candidates = crate::format::count(reports.len(), "candidate");
    if reports.is_empty() && skipped.is_empty() {
        "no clean-up candidates".into()
    } else if reports.is_empty() {
        let modules: Vec<String> = skipped.iter().map(|m| m.module.to_string()).collect();
        format!(
            "no clean-up candidates in the modules that could be checked; not checked: {}",
            modules.join(", ")
        )
    } else if deleting {
        let deleted = reports.iter().filter(|r| r.deleted).count();
        format!("deleted {deleted} of {candidates}")
    } else {
        format!("{candidates}; nothing was deleted (dry run). Run again with --yes to delete them")
    }
}
