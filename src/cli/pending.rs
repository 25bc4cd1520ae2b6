//! `koobackup pending`: the deletions queued with a grace window (`--grace`, the profile's
//! `delete_grace`; see [`crate::pending`]). `pending` lists them, `pending cancel` takes them
//! back (both read only local files), `pending apply` sends the due ones (for cron or a systemd
//! timer). Also where `record delete` and `cleanup` queue instead of deleting.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::exit::{CliError, Exit};
use super::output::{self, Output};
use super::{Context, open_plan, refuse_if_read_only};
use crate::api::{BackupRecord, ModuleCode};
use crate::format;
use crate::history::query::{End, parse_when};
use crate::history::{Entry, Op, Outcome, Who};
use crate::lease::Purpose;
use crate::pending::apply::{Applied, Fate, apply_module};
use crate::pending::store::Settle;
use crate::pending::{Queue, QueueError, Queued, Queueing, Why, about, queue_and_record};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PendingArgs {
    #[command(flatten)]
    pub filter: Filter,
    #[command(subcommand)]
    pub command: Option<PendingCommand>,
}

/// Which queued deletions a command is about (each left out lets all through).
#[derive(Debug, Args, Default)]
pub struct Filter {
    /// Only this module (code or name)
    #[arg(long, short, value_name = "MODULE", value_parser = ModuleCode::from_user_text, add = super::discover::module_completer())]
    pub module: Option<ModuleCode>,
    /// Only this device: its id, name or machine code
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
    /// Only those queued at or after WHEN: an age (7d, 36h), a date or a time (as `history`)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only those queued at or before WHEN (as --since)
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only those queued as this KooDrive user id
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,
    /// Only those that are due now
    #[arg(long)]
    pub due: bool,
}

#[derive(Debug, Subcommand)]
pub enum PendingCommand {
    /// Take queued deletions back: the records named, or --all, or those of a module or device
    Cancel(CancelArgs),
    /// Send the deletions that are due (run it from cron or a systemd timer): each record is
    /// read again first and kept when it changed, is gone, or its rule no longer chooses it
    Apply(ApplyArgs),
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// Records whose queued deletion to take back
    #[arg(value_name = "RECORD_ID", value_parser = super::parse_record_id)]
    pub ids: Vec<String>,
    /// Every queued deletion (narrowed by --module and --device when given)
    #[arg(long)]
    pub all: bool,
    /// Those of this module
    #[arg(long, short, value_name = "MODULE", value_parser = ModuleCode::from_user_text, add = super::discover::module_completer())]
    pub module: Option<ModuleCode>,
    /// Those of this device: its id, name or machine code
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Only this module's
    #[arg(long, short, value_name = "MODULE", value_parser = ModuleCode::from_user_text, add = super::discover::module_completer())]
    pub module: Option<ModuleCode>,
    /// Only show what is due; send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Requests in flight at most; the pace adapts below it
    #[arg(long, value_name = "N", default_value_t = super::record::DEFAULT_CONCURRENCY,
          value_parser = super::parse_concurrency)]
    pub concurrency: usize,
}

/// A queued deletion as `--json` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedJson<'a> {
    pub record_id: &'a str,
    pub module_code: ModuleCode,
    pub device_id: &'a str,
    pub queued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub due: bool,
    /// Until it is due, on this machine's clock (0 once due).
    pub seconds_left: i64,
    pub why: &'a Why,
    pub who: &'a Who,
    /// A `pending apply` working on it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// The record as it was when queued: it is deleted only while its status and version are
    /// still these.
    #[serde(serialize_with = "output::record_json")]
    pub record: BackupRecord,
}

impl<'a> QueuedJson<'a> {
    /// `queued` at `now` on this machine's clock (what is due is told on the server's clock,
    /// estimated with the offset measured when it was queued).
    pub fn new(queued: &'a Queued, now: DateTime<Utc>) -> QueuedJson<'a> {
        let server_now = queued.server_time(now);
        QueuedJson {
            record_id: &queued.record_id,
            module_code: queued.module,
            device_id: queued.device_id(),
            queued_at: queued.queued_at,
            due_at: queued.due_at,
            due: queued.is_due(server_now),
            seconds_left: (queued.due_at - server_now).num_seconds().max(0),
            why: &queued.why,
            who: &queued.who,
            claimed_by: queued
                .claim
                .as_ref()
                .filter(|_| queued.being_applied())
                .map(|owner| owner.describe()),
            record: queued.record.clone(),
        }
    }
}

/// Each of `list` as `--json` shows it.
pub(crate) fn queued_json(list: &[Queued], now: DateTime<Utc>) -> Vec<QueuedJson<'_>> {
    list.iter().map(|q| QueuedJson::new(q, now)).collect()
}

/// Runs `pending` (local files only); `profile` is the typed `--profile`.
pub fn run_list(filter: &Filter, profile: Option<String>, out: Output) -> Result<u8, CliError> {
    list(
        &Queue::default_place().map_err(queue_error)?,
        filter,
        profile,
        out,
    )
}

/// Runs `pending cancel` (local files only); `profile` is the typed `--profile`.
pub fn run_cancel(args: &CancelArgs, profile: Option<String>, out: Output) -> Result<u8, CliError> {
    cancel(&Queue::default_place().map_err(queue_error)?, args, profile, out)
}

fn queue_error(error: QueueError) -> CliError {
    CliError::failure(error.to_string())
}

fn list(queue: &Queue, filter: &Filter, profile: Option<String>, out: Output) -> Result<u8, CliError> {
    let loaded = queue.read().map_err(queue_error)?;
    warn_unreadable(out, queue, loaded.unreadable.len());
    let now = Utc::now();
    let matches = matcher(filter, profile, now)?;
    let shown: Vec<&Queued> = loaded.entries.iter().filter(|q| matches(q)).collect();
    let items: Vec<QueuedJson> = shown.iter().map(|q| QueuedJson::new(q, now)).collect();
    let empty = if loaded.entries.is_empty() {
        "no deletion is queued"
    } else {
        "no queued deletion matches"
    };
    out.list(&items, empty, || {
        let rows: Vec<Vec<String>> = shown.iter().map(|q| row(q, now)).collect();
        out.table(&HEADERS, &rows)
    })?;
    if out.human()
        && let Some(next) = shown
            .iter()
            .filter(|q| !q.is_due(q.server_time(now)))
            .map(|q| q.due_locally())
            .min()
    {
        out.note(&format!(
            "{}; the next is due at {} (in {}). `koobackup pending apply` sends the due ones, \
             `koobackup pending cancel ID` takes one back",
            format::count(shown.len(), "queued deletion"),
            output::local_minutes(next),
            format::age(next - now)
        ));
    }
    Ok(Exit::Ok.code())
}

fn warn_unreadable(out: Output, queue: &Queue, unreadable: usize) {
    if unreadable > 0 {
        out.warn(&format!(
            "{unreadable} line(s) of the queue of pending deletions ({}) could not be read \
             (damaged, or written by a newer koobackup): they are kept, and never sent; remove \
             them from the file by hand if they are no use",
            queue.path().display()
        ));
    }
}

/// The filter as a test of one entry.
fn matcher(
    filter: &Filter,
    profile: Option<String>,
    now: DateTime<Utc>,
) -> Result<impl Fn(&Queued) -> bool, CliError> {
    let when = |text: &Option<String>, option: &str, end: End| {
        text.as_deref()
            .map(|t| parse_when(t, now, end).map_err(|e| CliError::usage(format!("{option}: {e}"))))
            .transpose()
    };
    let since = when(&filter.since, "--since", End::Since)?;
    let until = when(&filter.until, "--until", End::Until)?;
    let module = filter.module;
    let device = filter.device.clone();
    let user = filter.user.clone();
    let due = filter.due;
    Ok(move |q: &Queued| {
        since.is_none_or(|since| q.queued_locally() >= since)
            && until.is_none_or(|until| q.queued_locally() <= until)
            && module.is_none_or(|m| q.module == m)
            && device.as_deref().is_none_or(|d| q.on_device(d))
            && user.as_deref().is_none_or(|u| q.who.user == u)
            && profile
                .as_deref()
                .is_none_or(|p| q.who.profile.as_deref() == Some(p))
            && (!due || q.is_due(q.server_time(now)))
    })
}

const HEADERS: [&str; 8] = [
    "RECORD ID",
    "MODULE",
    "DEVICE",
    "STATUS",
    "DUE",
    "LEFT",
    "WHY",
    "BY",
];

fn row(queued: &Queued, now: DateTime<Utc>) -> Vec<String> {
    vec![
        queued.record_id.clone(),
        queued.module.to_string(),
        queued.device_id().to_string(),
        output::status_name(queued.record.status).to_string(),
        output::local_minutes(queued.due_locally()),
        queued.left(queued.server_time(now)),
        queued.why.describe(),
        format!("{}@{}", queued.who.user, queued.who.host),
    ]
}

fn cancel(queue: &Queue, args: &CancelArgs, profile: Option<String>, out: Output) -> Result<u8, CliError> {
    if args.ids.is_empty() && !args.all && args.module.is_none() && args.device.is_none() {
        return Err(CliError::usage(
            "name the records whose deletion to take back, or give --all, --module or --device; \
             nothing was cancelled",
        ));
    }
    let ids = super::unique(args.ids.clone());
    let chosen = |q: &Queued| {
        (ids.is_empty() || ids.contains(&q.record_id))
            && args.module.is_none_or(|m| q.module == m)
            && args.device.as_deref().is_none_or(|d| q.on_device(d))
            && profile
                .as_deref()
                .is_none_or(|p| q.who.profile.as_deref() == Some(p))
    };
    let (result, unrecorded) =
        crate::pending::cancel_and_record(queue, chosen, &crate::history::this_command_line())
            .map_err(queue_error)?;
    if let Some(error) = unrecorded {
        out.warn(&format!(
            "{error}: the cancellations are missing from the history"
        ));
    }
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| {
            !result
                .cancelled
                .iter()
                .chain(&result.busy)
                .any(|q| &q.record_id == *id)
        })
        .collect();
    if out.is_json() || out.is_jsonl() {
        let now = Utc::now();
        out.json(&serde_json::json!({
            "cancelled": queued_json(&result.cancelled, now),
            "busy": queued_json(&result.busy, now),
            "notQueued": missing,
        }))?;
    } else {
        for queued in &result.busy {
            out.warn(&format!(
                "record {}: not cancelled: {} is sending its deletion now; stop that process to \
                 stop it",
                queued.record_id,
                queued
                    .claim
                    .as_ref()
                    .map_or_else(|| "a pending apply".into(), |o| o.describe())
            ));
        }
        for id in &missing {
            out.warn(&format!("record {id}: no deletion of it is queued"));
        }
        for queued in &result.cancelled {
            if out.quiet {
                out.value(&queued.record_id)?;
            } else {
                out.sentence(&format!(
                    "cancelled the deletion of record {} (module {}): it is kept",
                    queued.record_id, queued.module
                ))?;
            }
        }
        if result.cancelled.is_empty() && missing.is_empty() && result.busy.is_empty() {
            out.note("no queued deletion matches; nothing was cancelled");
        }
    }
    Ok(if !result.busy.is_empty() {
        Exit::Conflict.code()
    } else if !missing.is_empty() {
        Exit::NotFound.code()
    } else {
        Exit::Ok.code()
    })
}

/// The grace window a delete waits in the queue: `--grace`, else the profile's
/// `delete_grace`; `None` when deletes are sent at once.
pub(crate) fn grace_of(ctx: &Context, given: Option<chrono::Duration>) -> Option<chrono::Duration> {
    given
        .or(ctx.connection.delete_grace)
        .filter(|grace| *grace > chrono::Duration::zero())
}

/// Queues `chosen` (each record with its module and why) to be deleted after `grace`, from now
/// on the server's clock, and writes a `pending.queue` entry for each.
pub(crate) fn queue(
    ctx: &Context,
    chosen: Vec<(BackupRecord, ModuleCode, Why)>,
    grace: chrono::Duration,
) -> Result<Queueing, CliError> {
    if chosen.is_empty() {
        return Ok(Queueing::default());
    }
    let queue = Queue::default_place().map_err(queue_error)?;
    let now = ctx.client().server_now();
    let who = ctx.connection.who();
    let entries = chosen
        .into_iter()
        .map(|(record, module, why)| {
            let offset = ctx.client().clock_offset();
            Queued::new(record, module, who.clone(), why, now, offset, grace)
        })
        .collect();
    let queueing = queue_and_record(&queue, ctx.connection.history.recorder(), entries)
        .map_err(|e| CliError::failure(format!("{e}; nothing was queued or deleted")))?;
    if let Some(error) = &queueing.unrecorded {
        ctx.out.warn(&format!(
            "{error}: the queued deletions are missing from the history"
        ));
    }
    Ok(queueing)
}

/// "queued, deleted after 2026-12-07 02:14 +01:00 (in 24h 0m) unless cancelled", at `now` on
/// this machine's clock.
pub(crate) fn due_text(queued: &Queued, now: DateTime<Utc>) -> String {
    format!(
        "queued, deleted after {} (in {}) unless cancelled",
        output::local_minutes(queued.due_locally()),
        format::age(queued.due_locally() - now)
    )
}

/// Says what queueing did: each record queued (or queued before), and how to take it back.
pub(crate) fn print_queued(ctx: &Context, queueing: &Queueing) -> Result<(), CliError> {
    let out = ctx.out;
    let now = Utc::now();
    for queued in &queueing.already {
        out.note(&format!(
            "note: record {} was queued already, due at {}; left as it was",
            queued.record_id,
            output::local_minutes(queued.due_locally())
        ));
    }
    for queued in &queueing.added {
        if out.quiet {
            out.value(&queued.record_id)?;
        } else {
            out.sentence(&format!("record {}: {}", queued.record_id, due_text(queued, now)))?;
        }
    }
    if !queueing.added.is_empty() {
        out.note(&format!(
            "nothing was deleted now: `koobackup pending apply` deletes {} once due (from cron \
             or a timer); `koobackup pending cancel ID` takes one back",
            if queueing.added.len() == 1 { "it" } else { "them" }
        ));
    }
    Ok(())
}

/// Runs `pending apply`.
pub(crate) async fn run_apply(ctx: &mut Context, args: ApplyArgs) -> Result<u8, CliError> {
    if !args.dry_run {
        refuse_if_read_only(ctx, "pending apply")?;
        ctx.interrupt.wind_down();
    }
    let queue = Queue::default_place().map_err(queue_error)?;
    let loaded = queue.read().map_err(queue_error)?;
    warn_unreadable(ctx.out, &queue, loaded.unreadable.len());
    let here = |q: &Queued| ctx.connection.is_here(&q.who) && args.module.is_none_or(|m| q.module == m);
    let mine: Vec<&Queued> = loaded.entries.iter().filter(|q| here(q)).collect();
    let Some(first) = mine.iter().min_by_key(|q| q.due_at) else {
        ctx.out
            .note("no deletion is queued for this server and user; nothing to do");
        return print_applied(ctx, &Applying::default());
    };
    // Due is judged on the server's clock (the queue's times are the server's): one read
    // measures it (and finds a server that cannot be reached before anything is claimed).
    if let Err(error) = ctx.client().get_record(&first.record_id).await
        && error.kind() != crate::api::error::ErrorKind::NotFound
    {
        return Err(CliError::from(error).context("cannot ask the server"));
    }
    if !ctx.client().clock_measured() {
        ctx.out.warn(
            "the server sent no Date header, so its clock is unknown: due times are compared with \
             this machine's clock",
        );
    }
    let now = ctx.client().server_now();
    let mut applying = Applying {
        dry_run: args.dry_run,
        not_due: mine.iter().filter(|q| !q.is_due(now)).count(),
        next_due: mine
            .iter()
            .filter(|q| !q.is_due(now))
            .min_by_key(|q| q.due_at)
            .map(|q| (q.due_at, q.due_locally())),
        ..Applying::default()
    };
    if args.dry_run {
        applying.would_send = mine
            .iter()
            .filter(|q| q.is_due(now))
            .map(|q| (*q).clone())
            .collect();
        return print_applied(ctx, &applying);
    }
    let claimed = queue.claim(|q| here(q) && q.is_due(now)).map_err(queue_error)?;
    applying.busy = claimed.busy;
    for module in crate::pending::modules(&claimed.mine) {
        let due: Vec<Queued> = claimed
            .mine
            .iter()
            .filter(|q| q.module == module)
            .cloned()
            .collect();
        let result = if let Some(signal) = ctx.interrupt.received() {
            Err(CliError::failure(format!(
                "interrupted ({}) before it was applied",
                super::interrupt::signal_name(signal)
            )))
        } else {
            apply_in_module(ctx, module, due.clone(), args.concurrency).await
        };
        let applied = match result {
            Ok(applied) => applied,
            Err(error) => {
                let why = error.message.clone();
                applying.skipped_modules.push((module, error));
                due.into_iter()
                    .map(|entry| Applied {
                        entry,
                        fate: Fate::NotSent(why.clone()),
                    })
                    .collect()
            }
        };
        record_fates(ctx, &applied);
        let settled: Vec<(String, Settle)> = applied
            .iter()
            .map(|a| (a.entry.record_id.clone(), a.fate.settle()))
            .collect();
        if let Err(error) = queue.settle(&settled) {
            // The deletes happened; the queue still names them. The next apply finds them gone
            // and its history check tells they were ours.
            ctx.out
                .warn(&format!("{error}: the queue still lists what this apply did"));
        }
        applying.applied.extend(applied);
    }
    print_applied(ctx, &applying)
}

/// Takes a lock for `module` (kept renewed, released at the end) and sends its due deletions
/// as a plan of the history.
async fn apply_in_module(
    ctx: &mut Context,
    module: ModuleCode,
    due: Vec<Queued>,
    ceiling: usize,
) -> Result<Vec<Applied>, CliError> {
    let planned = due
        .iter()
        .map(|q| crate::history::Planned {
            record_id: q.record_id.clone(),
            record: Some(q.record.clone()),
        })
        .collect();
    let purpose = Purpose::Operation {
        what: "pending apply".into(),
    };
    let keeper = match ctx.hold_lock(module, purpose, None).await {
        Ok(keeper) => keeper,
        Err(error) if error.exit == Exit::Conflict => {
            return Err(CliError {
                message: format!("{}; its deletions stay queued", error.message),
                ..error
            });
        }
        Err(error) => return Err(error.context(format!("cannot lock module {module}"))),
    };
    let plan = match open_plan(ctx, "pending apply", module.code(), planned) {
        Ok(plan) => plan,
        Err(error) => {
            let lock = keeper.stop();
            super::record::release_own(ctx, &lock.lock_id).await;
            return Err(error);
        }
    };
    let client = plan.client(ctx.client());
    let lock_id = keeper.lock().lock_id;
    let interrupt = ctx.interrupt.clone();
    let guard = || interrupt.stop_under(&keeper);
    let history = ctx.connection.history.recorder().map(|r| r.history().clone());
    let (applied, stop) = apply_module(&client, &lock_id, due, ceiling, guard, history.as_ref()).await;
    let unsent = applied
        .iter()
        .filter(|a| matches!(a.fate, Fate::NotSent(_)))
        .count();
    let stopped = stop.map(|stop| stop.with_unsent(unsent));
    plan.finish(
        applied.iter().filter(|a| matches!(a.fate, Fate::Deleted)).count(),
        stopped,
    );
    let lock = keeper.stop();
    super::record::release_own(ctx, &lock.lock_id).await;
    Ok(applied)
}

/// A `pending.skip` entry for each outcome no delete call of this run wrote down: kept (and
/// why), found gone, or still queued after a failure.
fn record_fates(ctx: &Context, applied: &[Applied]) {
    let Some(recorder) = ctx.connection.history.recorder() else {
        return;
    };
    let entries: Vec<Entry> = applied
        .iter()
        .filter(|a| !matches!(a.fate, Fate::Deleted | Fate::GoneUnproven))
        .map(|a| {
            let outcome = Outcome {
                ok: a.fate.settle() == Settle::Remove,
                message: Some(a.fate.describe()),
                ..Outcome::ok()
            };
            about(recorder.entry(Op::PendingSkip, outcome), &a.entry)
        })
        .collect();
    if let Err(error) = recorder.history().append_all(&entries) {
        ctx.out.warn(&format!(
            "{error}: some outcomes of this apply are missing from the history"
        ));
    }
}

/// Everything `pending apply` found and did.
#[derive(Debug, Default)]
struct Applying {
    dry_run: bool,
    applied: Vec<Applied>,
    /// With `--dry-run`: what would be sent.
    would_send: Vec<Queued>,
    /// Due, but another apply works on them.
    busy: Vec<Queued>,
    not_due: usize,
    /// The next due, on the server's clock and on this machine's.
    next_due: Option<(DateTime<Utc>, DateTime<Utc>)>,
    skipped_modules: Vec<(ModuleCode, CliError)>,
}

/// One outcome as `--json` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AppliedJson<'a> {
    #[serde(flatten)]
    entry: QueuedJson<'a>,
    outcome: &'static str,
    outcome_text: String,
    still_queued: bool,
}

fn print_applied(ctx: &Context, applying: &Applying) -> Result<u8, CliError> {
    let out = ctx.out;
    let now = Utc::now();
    let exit = exit_of(applying);
    if out.is_json() || out.is_jsonl() {
        let applied: Vec<AppliedJson> = applying
            .applied
            .iter()
            .map(|a| AppliedJson {
                entry: QueuedJson::new(&a.entry, now),
                outcome: a.fate.code(),
                outcome_text: a.fate.describe(),
                still_queued: a.fate.settle() == Settle::Release,
            })
            .collect();
        let skipped: Vec<serde_json::Value> = applying
            .skipped_modules
            .iter()
            .map(|(module, error)| {
                serde_json::json!({
                    "moduleCode": module,
                    "error": error.message,
                    "exitCode": error.exit.code(),
                    "apiCode": error.api_code_json(),
                })
            })
            .collect();
        out.json(&serde_json::json!({
            "dryRun": applying.dry_run,
            "applied": applied,
            "wouldSend": queued_json(&applying.would_send, now),
            "busy": queued_json(&applying.busy, now),
            "notDue": applying.not_due,
            "nextDueAt": applying.next_due.map(|(server, _)| server),
            "skippedModules": skipped,
            "exitCode": exit,
        }))?;
        return Ok(exit);
    }
    for (_, error) in &applying.skipped_modules {
        out.error(error);
    }
    for queued in &applying.busy {
        out.warn(&format!(
            "record {}: due, but {} is applying it",
            queued.record_id,
            queued
                .claim
                .as_ref()
                .map_or_else(|| "another process".into(), |o| o.describe())
        ));
    }
    if applying.dry_run && !applying.would_send.is_empty() {
        out.line(&format!(
            "dry run: {} due would be sent (each read again first):",
            format::count(applying.would_send.len(), "deletion")
        ))?;
        let rows: Vec<Vec<String>> = applying.would_send.iter().map(|q| row(q, now)).collect();
        out.print_table(&out.table(&HEADERS, &rows))?;
    }
    for applied in &applying.applied {
        let text = applied.fate.describe();
        match applied.fate {
            Fate::Deleted if out.quiet => out.value(&applied.entry.record_id)?,
            Fate::Deleted => out.sentence(&format!(
                "deleted record {} and its backup files (queued {}: {})",
                applied.entry.record_id,
                output::local_minutes(applied.entry.queued_locally()),
                applied.entry.why.describe()
            ))?,
            Fate::Failed(_) | Fate::NotSent(_) => {
                out.warn(&format!("record {}: {text}", applied.entry.record_id));
            }
            _ => out.note(&format!("record {}: {text}", applied.entry.record_id)),
        }
    }
    let deleted = applying
        .applied
        .iter()
        .filter(|a| matches!(a.fate, Fate::Deleted))
        .count();
    let kept = applying.applied.iter().filter(|a| a.fate.is_kept()).count();
    let queued_still = applying
        .applied
        .iter()
        .filter(|a| a.fate.settle() == Settle::Release)
        .count();
    let mut summary = if applying.dry_run {
        "dry run: nothing was sent".to_string()
    } else if applying.applied.is_empty() {
        "nothing is due".to_string()
    } else {
        format!(
            "deleted {deleted} of {} due; {kept} kept; {queued_still} still queued",
            applying.applied.len()
        )
    };
    if let Some((_, next)) = applying.next_due {
        summary.push_str(&format!(
            "; {} not due yet, the next at {}",
            applying.not_due,
            output::local_minutes(next)
        ));
    }
    out.note(&summary);
    Ok(exit)
}

/// 0 when every due deletion was settled (deleted, or kept and said); a failure's class when
/// one stays queued for a failure; 4 when one stays queued because its module was locked, the
/// lock was lost, another apply holds it, or a signal stopped the run.
fn exit_of(applying: &Applying) -> u8 {
    if let Some((_, error)) = applying.skipped_modules.first() {
        return error.exit.code();
    }
    if applying.applied.iter().any(|a| matches!(a.fate, Fate::Failed(_))) {
        return Exit::Failure.code();
    }
    if !applying.busy.is_empty()
        || applying
            .applied
            .iter()
            .any(|a| matches!(a.fate, Fate::NotSent(_)))
    {
        return Exit::Conflict.code();
    }
    Exit::Ok.code()
}
