//! `koobackup cleanup`: the TUI's clean-up candidates (see `crate::cleanup`), listed by default and
//! deleted with `--yes`.
//!
//! Deleting takes a fresh lock per module (owned by this clean-up, kept renewed by the keeper,
//! released at the end), never a lock from the journal: a journalled lock may belong to a backup
//! that is running right now (`lock hold`), whose `new` record must not be deleted under it. An
//! orphaned lock (its process gone, e.g. a clean-up killed half-way) is released first; a module
//! locked by a live operation is skipped, naming it. Records are listed again *under* the lock,
//! and each is re-read right before it is deleted and kept if its status or version changed.

use chrono::Utc;
use clap::Args;
use futures::StreamExt;
use serde::Serialize;

use super::exit::{CliError, Exit};
use super::named_device::NamedDevice;
use super::output;
use super::record::{MAX_HELD_BYTES, WalkBounds, held_size, incomplete, too_big, walk_error};
use super::{Context, open_plan, pending};
use crate::api::client::RecordQuery;
use crate::api::{BackupRecord, MAX_PAGE_SIZE, ModuleCode, RecordStatus};
use crate::bulk::{self, Chosen, Outcome, Target};
use crate::cleanup::{Candidate, CleanupRules, Kept, Plan, ages_measured_at, plan};
use crate::format::parse_age;
use crate::history::Planned;
use crate::hooks::{self, HookEvent};
use crate::lease::Purpose;
use crate::lease::keeper::Keeper;
use crate::retention::Retention;

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Module to clean; repeat for several (default: all three)
    #[arg(long, short, value_parser = ModuleCode::from_user_text, add = super::discover::module_completer())]
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
    /// With --yes, queue the candidates instead of deleting them: `koobackup pending apply`
    /// sends each once this long has passed (24h, 7d), if its rule still chooses it and it did
    /// not change. Default: the profile's delete_grace; 0 deletes at once
    #[arg(long, value_name = "DURATION", value_parser = crate::format::parse_grace)]
    pub grace: Option<chrono::Duration>,
    /// Requests in flight at most while deleting; the pace adapts below it
    #[arg(long, value_name = "N", default_value_t = super::record::DEFAULT_CONCURRENCY,
          value_parser = super::parse_concurrency)]
    pub concurrency: usize,
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
    /// Held for the table or the `--json` document; printed at once and dropped instead when
    /// the output streams (`-q`, `-o jsonl`: [`streams`]).
    candidates: Vec<CandidateReport>,
    kept: Vec<KeptReport>,
    /// What became of every candidate, held or not: for the exit code and the hook.
    tally: Tally,
    listed: Listed,
}

/// What became of the candidates, counted.
#[derive(Debug, Default)]
struct Tally {
    candidates: usize,
    outcomes: std::collections::BTreeMap<&'static str, usize>,
    /// The first failure: its exit class and what it said.
    first_failure: Option<(Exit, String)>,
}

impl Reports {
    /// Takes in a part of a run's candidates and kept backups: counted, then held for the
    /// printing at the end, or (`streaming`) printed now and dropped.
    fn add(
        &mut self,
        out: super::output::Output,
        deleting: bool,
        streaming: bool,
        candidates: Vec<CandidateReport>,
        kept: Vec<KeptReport>,
    ) -> Result<(), CliError> {
        for candidate in &candidates {
            self.tally.candidates += 1;
            *self
                .tally
                .outcomes
                .entry(candidate.outcome.unwrap_or("not-attempted"))
                .or_default() += 1;
            if let Some(exit) = candidate.failure {
                self.tally
                    .first_failure
                    .get_or_insert((exit, candidate.outcome_text.clone().unwrap_or_default()));
            }
        }
        if !streaming {
            self.candidates.extend(candidates);
            self.kept.extend(kept);
            return Ok(());
        }
        for candidate in candidates {
            if let Some(error) = &candidate.error {
                out.error(&error.clone().about("record", &candidate.record.record_id));
            }
            if out.is_jsonl() {
                out.json(&tagged("candidate", deleting, to_value(&candidate)?))?;
            } else if !deleting || candidate.is_done() {
                out.value(&candidate.record.record_id)?;
            }
        }
        if out.is_jsonl() {
            for kept in kept {
                out.json(&tagged("kept", deleting, to_value(&kept)?))?;
            }
        }
        Ok(())
    }
}

/// What the listings under clean-up held.
#[derive(Debug, Default)]
struct Listed {
    /// Records read.
    records: usize,
    /// Records that could not be read (never candidates): the clean-up is incomplete.
    unreadable: Vec<String>,
}

/// What happened to one candidate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CandidateReport {
    #[serde(serialize_with = "output::record_json")]
    record: BackupRecord,
    reason: String,
    reason_code: &'static str,
    deleted: bool,
    /// Why deleting it failed; in JSON its message exactly as the server said it (`error`), its
    /// `exitCode` and `apiCode`, as a failed item of `record delete` says them.
    #[serde(
        flatten,
        serialize_with = "failure_fields",
        skip_serializing_if = "Option::is_none"
    )]
    error: Option<CliError>,
    /// With `--yes`: what happened to it, as a code and in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
    /// With a grace window: when `pending apply` deletes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    due_at: Option<chrono::DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome_text: Option<String>,
    /// The exit class of the failure, for the exit code.
    #[serde(skip)]
    failure: Option<Exit>,
}

/// `{"error", "exitCode", "apiCode"}` of a failed delete, flattened into its candidate.
fn failure_fields<S: serde::Serializer>(error: &Option<CliError>, serializer: S) -> Result<S::Ok, S::Error> {
    error
        .as_ref()
        .map(|error| {
            serde_json::json!({
                "error": error.message,
                "exitCode": error.exit.code(),
                "apiCode": error.api_code_json(),
            })
        })
        .serialize(serializer)
}

impl CandidateReport {
    fn new(candidate: Candidate) -> CandidateReport {
        CandidateReport {
            reason: candidate.reason.to_string(),
            reason_code: candidate.reason.code(),
            record: candidate.record,
            deleted: false,
            error: None,
            outcome: None,
            due_at: None,
            outcome_text: None,
            failure: None,
        }
    }

    /// Queued to be deleted after a grace window (`first`: by this run, not an earlier one).
    fn queued(&mut self, queued: &crate::pending::Queued, first: bool, now: chrono::DateTime<Utc>) {
        self.outcome = Some(if first { "queued" } else { "already-queued" });
        self.due_at = Some(queued.due_at);
        self.outcome_text = Some(pending::due_text(queued, now));
    }

    /// Whether it went, or (with a grace window) is on its way.
    fn is_done(&self) -> bool {
        self.deleted || self.outcome == Some("queued")
    }

    /// Takes in what the bulk engine did with it.
    fn settle(&mut self, outcome: &Outcome) {
        let code = match outcome {
            Outcome::Deleted { .. } => "deleted",
            Outcome::GoneUnproven { .. } => "gone-unproven",
            Outcome::AlreadyGone => "already-gone",
            Outcome::Changed { .. } => "kept-changed",
            Outcome::Failed(error) => {
                let error = CliError::from(error.clone());
                self.failure = Some(error.exit);
                self.error = Some(error);
                "failed"
            }
        };
        self.deleted = matches!(outcome, Outcome::Deleted { .. });
        self.outcome = Some(code);
        self.outcome_text = Some(outcome.describe());
    }

    /// Never sent, because the lock was lost (or the run stopped).
    fn not_attempted(&mut self, why: &str) {
        self.outcome = Some("not-attempted");
        self.outcome_text = Some(format!("not sent: {why}"));
        self.failure = Some(Exit::Conflict);
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
        ctx.interrupt.wind_down();
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
    let grace = pending::grace_of(ctx, args.grace).filter(|_| args.yes);
    let chosen = if args.yes && super::can_ask() {
        match confirm_many(ctx, &modules, &args, &rules, grace).await? {
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
        let outcome = if let Some(signal) = ctx.interrupt.received() {
            Err(CliError::failure(format!(
                "interrupted ({}) before it was cleaned up",
                super::interrupt::signal_name(signal)
            )))
        } else if args.yes {
            let targets = Targets {
                rules: &rules,
                chosen: chosen.as_ref(),
            };
            match grace {
                Some(grace) => queue_in_module(ctx, module, &args, targets, grace, &mut reports).await,
                None => delete_in_module(ctx, module, &args, targets, &mut reports).await,
            }
        } else if streams(ctx) {
            stream_dry_run(ctx, module, &args, &rules, &mut reports.listed).await
        } else {
            match find(ctx, module, &args, &rules, &mut reports.listed).await {
                Ok(found) => reports.add(
                    ctx.out,
                    false,
                    false,
                    found.delete.into_iter().map(CandidateReport::new).collect(),
                    found.keep.into_iter().map(KeptReport::from).collect(),
                ),
                Err(error) => Err(error),
            }
        };
        if let Err(error) = outcome {
            skipped.push(SkippedModule {
                module,
                cause: error.clone(),
            });
            first_error.get_or_insert(error);
        }
    }
    // A failure, a record kept because it changed, or one never sent (the lock was lost) sets
    // the exit code: not everything chosen went.
    if let Some((exit, text)) = &reports.tally.first_failure {
        first_error.get_or_insert(CliError::new(*exit, text.clone()));
    }
    if reports.tally.outcomes.contains_key("kept-changed") {
        first_error.get_or_insert(CliError::new(
            Exit::Conflict,
            "records changed meanwhile were kept",
        ));
    }
    if let Some(device) = device.filter(|d| !d.bound)
        && reports.listed.records == 0
        && reports.listed.unreadable.is_empty()
        && skipped.is_empty()
    {
        return Err(device.names_nothing());
    }
    if !streams(ctx) {
        print(ctx, &args, &rules, &reports, &skipped, grace)?;
    } else {
        // Printed as they were found; only the modules that could not be cleaned are left.
        for module in &skipped {
            ctx.out.error(&module.cause);
        }
    }
    // Said after the rest; the exit code is the first failure's, else this one's (8).
    let incomplete = incomplete(&reports.listed.unreadable).err();
    if let Some(error) = &incomplete {
        ctx.out.error(error);
    }
    let exit = first_error
        .or(incomplete)
        .map_or(Exit::Ok.code(), |e| e.exit.code());
    if args.yes {
        tell_done(ctx, &reports, &skipped, exit).await;
    }
    Ok(exit)
}

/// Whether a dry run prints each part as it is weighed instead of holding them all: ids alone
/// (`-q`) or a document a line (`-o jsonl`), the forms a million candidates are read in.
fn streams(ctx: &Context) -> bool {
    ctx.out.is_jsonl() || (ctx.out.quiet && !ctx.out.is_json())
}

/// A dry run of `module` printed part by part (see [`streams`]): memory stays bounded by the
/// largest device, not the module. The first failure to print ends the printing.
async fn stream_dry_run(
    ctx: &Context,
    module: ModuleCode,
    args: &CleanupArgs,
    rules: &CleanupRules,
    listed: &mut Listed,
) -> Result<(), CliError> {
    let out = ctx.out;
    let print_part = |part: Plan| -> Result<(), CliError> {
        for candidate in part.delete {
            if out.is_jsonl() {
                out.json(&tagged(
                    "candidate",
                    false,
                    to_value(&CandidateReport::new(candidate))?,
                ))?;
            } else {
                out.value(&candidate.record.record_id)?;
            }
        }
        if out.is_jsonl() {
            for kept in part.keep {
                out.json(&tagged("kept", false, to_value(&KeptReport::from(kept))?))?;
            }
        }
        Ok(())
    };
    let mut failed: Option<CliError> = None;
    find_each(ctx, module, args, rules, listed, |part| {
        if failed.is_none() {
            failed = print_part(part).err();
        }
    })
    .await?;
    failed.map_or(Ok(()), Err)
}

/// A `-o jsonl` document of clean-up: `item` with its `kind` and whether it was a dry run.
fn tagged(kind: &str, deleting: bool, mut item: serde_json::Value) -> serde_json::Value {
    if let Some(object) = item.as_object_mut() {
        object.insert("kind".into(), kind.into());
        object.insert("dryRun".into(), (!deleting).into());
    }
    item
}

/// The profile's `cleanup-done` hook, told what went: the outcomes counted, the modules skipped.
async fn tell_done(ctx: &Context, reports: &Reports, skipped: &[SkippedModule], exit: u8) {
    let outcomes = &reports.tally.outcomes;
    let details = serde_json::json!({
        "exitCode": exit,
        "candidates": reports.tally.candidates,
        "deleted": outcomes.get("deleted").copied().unwrap_or(0),
        "outcomes": outcomes,
        "skippedModules": skipped.iter().map(|s| s.module).collect::<Vec<_>>(),
    });
    let hooks = &ctx.connection.hooks;
    if let Some(ending) = hooks::fire(
        hooks,
        HookEvent::CleanupDone,
        &ctx.connection.hook_origin(),
        details,
    )
    .await
        && let Some(warning) = hooks::warning(HookEvent::CleanupDone, &ending)
    {
        ctx.out.warn(&warning);
    }
}

/// The module's candidates at this moment, and what the retention policy keeps. Ages are
/// measured on the server's clock (the records' times are the server's), through the offset the
/// listing itself measured. Records that could not be read (counted in `listed`), or that the
/// server lists under another module, are never candidates.
///
/// Memory stays bounded whatever the module holds: the listing is streamed and only the records
/// a rule can choose are held — those not completed (abandoned or marked ones are among them).
/// A retention policy weighs each device's completed backups together, so over a whole module
/// they are weighed device by device: the first listing notes which devices have completed
/// backups, then each device's are listed and weighed on their own (retention is per device and
/// module: the outcome is the same), holding one device's at a time.
async fn find(
    ctx: &Context,
    module: ModuleCode,
    args: &CleanupArgs,
    rules: &CleanupRules,
    listed: &mut Listed,
) -> Result<Plan, CliError> {
    let mut whole = Plan::default();
    find_each(ctx, module, args, rules, listed, |part| {
        whole.delete.extend(part.delete);
        whole.keep.extend(part.keep);
    })
    .await?;
    Ok(whole)
}

/// [`find`], handing its plan over in parts as they are weighed (what is not completed, then
/// each device's completed backups), so a caller that prints them at once holds none.
async fn find_each(
    ctx: &Context,
    module: ModuleCode,
    args: &CleanupArgs,
    rules: &CleanupRules,
    listed: &mut Listed,
    mut take: impl FnMut(Plan),
) -> Result<(), CliError> {
    let mut weighing = Weighing::start(ctx, module, args, rules, listed).await?;
    while let Some(part) = weighing.next(ctx).await {
        take(part?);
    }
    Ok(())
}

/// One module's weighing, part by part: the records that are not completed (with the completed
/// ones too when they are weighed together), then, under a retention policy over the whole
/// module, each device's completed backups on their own.
struct Weighing<'a> {
    walk: Walk<'a>,
    rules: &'a CleanupRules,
    /// The first part, until it is taken.
    first: Option<Plan>,
    /// Devices whose completed backups are still to be weighed.
    devices: std::collections::btree_set::IntoIter<String>,
    /// Records the first part held (one completed meanwhile is not weighed twice).
    seen: std::collections::HashSet<String>,
    /// Whether the server's clock was checked (said once, at the end).
    done: bool,
}

impl<'a> Weighing<'a> {
    async fn start(
        ctx: &Context,
        module: ModuleCode,
        args: &'a CleanupArgs,
        rules: &'a CleanupRules,
        listed: &mut Listed,
    ) -> Result<Weighing<'a>, CliError> {
        let per_device = rules.retention.is_some() && args.device.is_none();
        let mut walk = Walk::new(module, args);
        // Completed backups are held in this first listing only when they are weighed here:
        // with a policy and one device named, or (per device) those with no device id to list
        // them by.
        let first = walk
            .list(ctx, args.device.clone(), listed, |record| {
                record.status != RecordStatus::Completed
                    || (rules.retention.is_some() && (!per_device || record.device_info.device_id.is_empty()))
            })
            .await?;
        walk.warn_odd(ctx);
        let devices = if per_device {
            first.devices
        } else {
            Default::default()
        };
        Ok(Weighing {
            seen: first.held.iter().map(|r| r.record_id.clone()).collect(),
            first: Some(plan(&first.held, rules, measured_now(ctx))),
            walk,
            rules,
            devices: devices.into_iter(),
            done: false,
        })
    }

    /// The next part, or `None` after the last.
    async fn next(&mut self, ctx: &Context) -> Option<Result<Plan, CliError>> {
        if let Some(first) = self.first.take() {
            return Some(Ok(first));
        }
        let Some(device) = self.devices.next() else {
            if !std::mem::replace(&mut self.done, true) {
                check_clock(ctx);
            }
            return None;
        };
        let seen = &self.seen;
        let completed = self
            .walk
            .list(ctx, Some(device), &mut Listed::default(), |record| {
                record.status == RecordStatus::Completed && !seen.contains(&record.record_id)
            })
            .await;
        Some(completed.map(|held| plan(&held.held, self.rules, measured_now(ctx))))
    }
}

/// The moment ages are measured at: the server's clock, through the offset the listings measured.
fn measured_now(ctx: &Context) -> chrono::DateTime<Utc> {
    ages_measured_at(Utc::now(), ctx.client().server_now())
}

fn check_clock(ctx: &Context) {
    if !ctx.client().clock_measured() {
        ctx.out.warn(
            "the server sent no Date header, so its clock is unknown: ages are measured on this \
             machine's clock",
        );
    }
}

/// One module's listings for clean-up, with what they found odd.
struct Walk<'a> {
    module: ModuleCode,
    args: &'a CleanupArgs,
    odd: Option<BackupRecord>,
    odd_count: usize,
}

/// What one listing held.
struct Held {
    /// The records a rule weighs.
    held: Vec<BackupRecord>,
    /// The devices with completed backups that were not held (listed again device by device).
    devices: std::collections::BTreeSet<String>,
}

impl<'a> Walk<'a> {
    fn new(module: ModuleCode, args: &'a CleanupArgs) -> Walk<'a> {
        Walk {
            module,
            args,
            odd: None,
            odd_count: 0,
        }
    }

    /// Streams the module's records (of `device`, when given), holding those `weighed` picks:
    /// at most `--max-records` of them and [`MAX_HELD_BYTES`].
    async fn list(
        &mut self,
        ctx: &Context,
        device: Option<String>,
        listed: &mut Listed,
        weighed: impl Fn(&BackupRecord) -> bool,
    ) -> Result<Held, CliError> {
        let module = self.module;
        let bounds = &self.args.bounds;
        let query = RecordQuery {
            module,
            page_size: MAX_PAGE_SIZE,
            device_id: device.clone(),
        };
        let mut pages = std::pin::pin!(ctx.client().record_pages(query, bounds.max_pages));
        let mut found = Held {
            held: Vec::new(),
            devices: std::collections::BTreeSet::new(),
        };
        let mut bytes = 0usize;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| walk_error(e, bounds))?;
            listed.unreadable.extend(page.unreadable);
            listed.records += page.items.len();
            for record in page.items {
                if record.module_code != module {
                    self.odd_count += 1;
                    self.odd.get_or_insert(record);
                    continue;
                }
                if !weighed(&record) {
                    if record.status == RecordStatus::Completed {
                        found.devices.insert(record.device_info.device_id.clone());
                    }
                    continue;
                }
                if found.held.len() == bounds.max_records {
                    return Err(CliError::new(
                        Exit::Limit,
                        format!(
                            "{} has more than {} records a rule must weigh (--max-records); \
                             nothing was deleted. Narrow it with --device, or raise --max-records",
                            whose(module, device.as_deref()),
                            bounds.max_records
                        ),
                    ));
                }
                bytes += held_size(&record);
                if bytes > MAX_HELD_BYTES {
                    return Err(too_big(
                        &format!("{}'s records a rule must weigh", whose(module, device.as_deref())),
                        "Narrow it with --device or --module",
                    ));
                }
                found.held.push(record);
            }
        }
        Ok(found)
    }

    /// Says once how many records listed under this module report another one.
    fn warn_odd(&self, ctx: &Context) {
        if let Some(record) = &self.odd {
            ctx.out.warn(&format!(
                "{} record(s) listed under module {} report another module (e.g. {} in {}); they \
                 are left alone",
                self.odd_count,
                self.module,
                record.record_id,
                record.module_code.code()
            ));
        }
    }
}

/// "module 102", or "device pixel-8 in module 102".
fn whose(module: ModuleCode, device: Option<&str>) -> String {
    match device {
        Some(device) => format!("device {device} in module {module}"),
        None => format!("module {module}"),
    }
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
    grace: Option<chrono::Duration>,
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
    let table = output::fitted_table(&CANDIDATE_HEADERS, &rows, output::stderr_width(), true);
    let question = match grace {
        None => format!(
            "These {} records and their backup files will be deleted:\n{table}\nDelete them?",
            candidates.len(),
        ),
        Some(grace) => format!(
            "These {} records and their backup files will be queued for deletion, deleted after \
             {} unless cancelled (`koobackup pending cancel`):\n{table}\nQueue them?",
            candidates.len(),
            crate::format::age(grace)
        ),
    };
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

/// Takes a lock for `module` (kept renewed meanwhile), lists its candidates again under it,
/// deletes them through the bulk engine, releases it.
async fn delete_in_module(
    ctx: &mut Context,
    module: ModuleCode,
    args: &CleanupArgs,
    targets: Targets<'_>,
    reports: &mut Reports,
) -> Result<(), CliError> {
    let keeper = match ctx.hold_lock(module, Purpose::Cleanup, None).await {
        Ok(keeper) => keeper,
        Err(error) if error.exit == Exit::Conflict => {
            return Err(CliError {
                message: format!("{}; skipped the module", error.message),
                ..error
            });
        }
        Err(error) => return Err(error.context(format!("cannot lock module {module}"))),
    };
    let result = delete_candidates(ctx, &keeper, module, args, targets, reports).await;
    let lock = keeper.stop();
    super::record::release_own(ctx, &lock.lock_id).await;
    result
}

async fn delete_candidates(
    ctx: &mut Context,
    keeper: &Keeper,
    module: ModuleCode,
    args: &CleanupArgs,
    targets: Targets<'_>,
    reports: &mut Reports,
) -> Result<(), CliError> {
    // Part by part (what is not completed, then each device's completed backups under a
    // retention policy): only one part's candidates are held while they are deleted.
    let mut weighing = Weighing::start(ctx, module, args, targets.rules, &mut reports.listed).await?;
    while let Some(part) = weighing.next(ctx).await {
        let part = part?;
        let kept = part.keep.into_iter().map(KeptReport::from).collect();
        let chosen: Vec<Candidate> = part
            .delete
            .into_iter()
            .filter(|candidate| {
                targets
                    .chosen
                    .is_none_or(|chosen| chosen.contains(&candidate.record.record_id))
            })
            .collect();
        let done = delete_part(ctx, keeper, module, args, chosen).await?;
        reports.add(ctx.out, true, streams(ctx), done, kept)?;
    }
    Ok(())
}

/// Deletes one part's `chosen` candidates through the bulk engine as a plan of the history, and
/// reports what became of each.
async fn delete_part(
    ctx: &mut Context,
    keeper: &Keeper,
    module: ModuleCode,
    args: &CleanupArgs,
    chosen: Vec<Candidate>,
) -> Result<Vec<CandidateReport>, CliError> {
    let mut candidates: Vec<CandidateReport> = chosen.into_iter().map(CandidateReport::new).collect();
    let work: Vec<Target> = candidates
        .iter()
        .map(|c| Target {
            record_id: c.record.record_id.clone(),
            chosen: Some(Chosen::of(&c.record)),
        })
        .collect();
    let index: std::collections::HashMap<String, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.record.record_id.clone(), i))
        .collect();
    let options = bulk::Options {
        reread: true,
        ceiling: args.concurrency,
    };
    let planned = candidates
        .iter()
        .map(|c| Planned {
            record_id: c.record.record_id.clone(),
            record: Some(c.record.clone()),
        })
        .collect();
    let plan = open_plan(ctx, "clean-up", module.code(), planned)?;
    let lock_id = keeper.lock().lock_id;
    let client = plan.client(ctx.client());
    let interrupt = ctx.interrupt.clone();
    let guard = || interrupt.stop_under(keeper);
    let mut deleted = 0;
    let summary = bulk::delete_all(&client, &lock_id, work, options, guard, |done| {
        deleted += usize::from(matches!(done.outcome, Outcome::Deleted { .. }));
        if let Some(&i) = index.get(&done.record_id) {
            candidates[i].settle(&done.outcome);
        }
    })
    .await;
    plan.finish(deleted);
    if let Some(stop) = &summary.stop {
        let reason = stop.describe();
        for id in &summary.not_attempted {
            if let Some(&i) = index.get(id) {
                candidates[i].not_attempted(&reason);
            }
        }
    }
    Ok(candidates)
}

/// Lists `module`'s candidates (no lock: nothing changes on the server now) and queues them to
/// be deleted after `grace`, each with the rule that chose it: `pending apply` asks it again.
async fn queue_in_module(
    ctx: &mut Context,
    module: ModuleCode,
    args: &CleanupArgs,
    targets: Targets<'_>,
    grace: chrono::Duration,
    reports: &mut Reports,
) -> Result<(), CliError> {
    let found = find(ctx, module, args, targets.rules, &mut reports.listed).await?;
    let kept = found.keep.into_iter().map(KeptReport::from).collect();
    let candidates: Vec<Candidate> = found
        .delete
        .into_iter()
        .filter(|c| {
            targets
                .chosen
                .is_none_or(|chosen| chosen.contains(&c.record.record_id))
        })
        .collect();
    let rules = crate::pending::SavedRules::from(targets.rules);
    let chosen = candidates
        .iter()
        .map(|c| {
            let why = crate::pending::Why::Rule {
                reason: c.reason.to_string(),
                reason_code: c.reason.code().to_string(),
                rules,
            };
            (c.record.clone(), module, why)
        })
        .collect();
    let queueing = pending::queue(ctx, chosen, grace)?;
    let now = Utc::now();
    let mut queued_reports = Vec::new();
    for candidate in candidates {
        let mut report = CandidateReport::new(candidate);
        let id = &report.record.record_id;
        if let Some(queued) = queueing.added.iter().find(|q| &q.record_id == id) {
            report.queued(queued, true, now);
        } else if let Some(queued) = queueing.already.iter().find(|q| &q.record_id == id) {
            report.queued(queued, false, now);
        }
        queued_reports.push(report);
    }
    reports.add(ctx.out, true, streams(ctx), queued_reports, kept)
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
    grace: Option<chrono::Duration>,
) -> Result<(), CliError> {
    let out = ctx.out;
    let reports = &all.candidates;
    if out.is_jsonl() {
        // One document per record: each candidate (`"kind": "candidate"`), then each record the
        // retention policy keeps (`"kind": "kept"`); skipped modules are errors on stderr.
        for module in skipped {
            out.error(&module.cause);
        }
        for report in reports {
            out.json(&tagged("candidate", args.yes, to_value(report)?))?;
        }
        for kept in &all.kept {
            out.json(&tagged("kept", args.yes, to_value(kept)?))?;
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
        if let Some(error) = &report.error {
            out.error(&error.clone().about("record", &report.record.record_id));
        }
    }
    let done: Vec<&CandidateReport> = reports.iter().filter(|r| !args.yes || r.is_done()).collect();
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
    // What happened to the rest (kept because it changed, gone before this run, never sent),
    // in words on stderr.
    for report in reports
        .iter()
        .filter(|r| args.yes && !r.is_done() && r.error.is_none())
    {
        out.note(&format!(
            "record {}: {}",
            report.record.record_id,
            report.outcome_text.as_deref().unwrap_or("not sent")
        ));
    }
    if !done.is_empty() {
        let rows: Vec<Vec<String>> = done.iter().map(|r| candidate_row(&r.record, &r.reason)).collect();
        out.print_table(&out.table(&CANDIDATE_HEADERS, &rows))?;
    }
    out.note(&summary(args.yes, reports, skipped, grace));
    Ok(())
}

/// What clean-up did, in a sentence for stderr.
fn summary(
    deleting: bool,
    reports: &[CandidateReport],
    skipped: &[SkippedModule],
    grace: Option<chrono::Duration>,
) -> String {
    let candidates = crate::format::count(reports.len(), "candidate");
    if reports.is_empty() && skipped.is_empty() {
        "no clean-up candidates".into()
    } else if reports.is_empty() {
        let modules: Vec<String> = skipped.iter().map(|m| m.module.to_string()).collect();
        format!(
            "no clean-up candidates in the modules that could be checked; not checked: {}",
            modules.join(", ")
        )
    } else if let Some(grace) = grace {
        let queued = reports.iter().filter(|r| r.outcome == Some("queued")).count();
        format!(
            "queued {queued} of {candidates} for deletion after {}; nothing was deleted now. \
             `koobackup pending apply` deletes them once due, if their rule still chooses them; \
             `koobackup pending cancel` takes them back",
            crate::format::age(grace)
        )
    } else if deleting {
        let deleted = reports.iter().filter(|r| r.deleted).count();
        format!("deleted {deleted} of {candidates}")
    } else {
        format!("{candidates}; nothing was deleted (dry run). Run again with --yes to delete them")
    }
}
