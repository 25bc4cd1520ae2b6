//! `koobackup record delete RECORD_ID...`: reads every record (concurrently), names what would
//! go, asks on a terminal (`--yes` skips the question, `--dry-run` only shows), then deletes
//! through the bulk engine ([`crate::bulk`]) under one lock per module: the lock named, or with
//! `--auto-lock` one of its own kept renewed by the keeper and released at the end. Each record
//! is read again right before it is deleted and kept if it changed since it was shown.
//!
//! Reports `{ok, gone, kept, failed, notAttempted}`: only a delete the server confirmed is
//! `ok`. Without a terminal to ask on and without `--yes` nothing is sent at all: a cron job
//! that forgot `--yes` must not delete, and must not hang waiting for an answer.

use clap::Args;
use futures::StreamExt;
use serde::Serialize;

use super::{LockChoice, check_lock_module, lock_available, lock_module_of, release_own};
use crate::api::{BackupRecord, Client, ModuleCode};
use crate::bulk::{self, Chosen, Outcome, Target};
use crate::cli::Context;
use crate::cli::exit::{CliError, Exit};
use crate::cli::output::{self, Failed};
use crate::cli::pending;
use crate::cli::{ask, can_ask, open_plan, parse_record_id, refuse_if_read_only, unique};
use crate::history::Planned;
use crate::lease::Purpose;
use crate::lease::keeper::Keeper;
use crate::pending::Why;

/// Requests in flight at most unless `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 64;

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Records to delete, with their backup files (one or more ids)
    #[arg(value_name = "RECORD_ID", required = true, value_parser = parse_record_id)]
    pub ids: Vec<String>,
    /// Delete without asking (required when standard input is not a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Only show what would be deleted; change nothing
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Queue the deletes instead of sending them: `koobackup pending apply` sends them once
    /// this long has passed (24h, 90m, 7d); `pending cancel` takes them back. Default: the
    /// profile's delete_grace; 0 sends at once
    #[arg(long, value_name = "DURATION", value_parser = crate::format::parse_grace)]
    pub grace: Option<chrono::Duration>,
    #[command(flatten)]
    pub lock: LockChoice,
    /// Requests in flight at most; the pace adapts below it (starts at 8, grows while the
    /// server keeps up, halves when it pushes back)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = crate::cli::parse_concurrency)]
    pub concurrency: usize,
}

/// A record that went, but not provably by this run; or one kept because it changed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Noted {
    record_id: String,
    reason: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    /// Deleted by this run: the server confirmed each.
    ok: Vec<String>,
    /// Gone, but not provably by this run.
    gone: Vec<Noted>,
    /// Changed since they were shown: kept.
    kept: Vec<Noted>,
    failed: Vec<Failed>,
    /// Never sent: the lock was lost.
    not_attempted: Vec<Noted>,
    /// Some were already gone before this run (someone else deleted them).
    #[serde(skip)]
    already_gone: bool,
}

pub(crate) async fn run(ctx: &mut Context, args: DeleteArgs) -> Result<u8, CliError> {
    if !args.dry_run {
        refuse_if_read_only(ctx, "record delete")?;
        ctx.interrupt.wind_down();
    }
    let asking = !args.yes && !args.dry_run;
    if asking && !can_ask() {
        return Err(CliError::usage(
            "record delete asks before deleting, and there is no terminal to ask on: add --yes to \
             delete without asking, or --dry-run to see what would be deleted; nothing was deleted",
        ));
    }
    let ids = unique(args.ids.clone());

    // Look every record up first, concurrently: the question names what goes, the lock is per
    // module, and a record that cannot be read (gone, another user's) is reported instead of
    // deleted blind.
    let mut report = Report::default();
    let mut found: Vec<(BackupRecord, ModuleCode)> = Vec::new();
    // Reads are repeated as the deletes are (a rate limit or a flaky server must not turn into
    // records left out), and as many are in flight as the deletes may have.
    let reader = ctx.client().with_retries(bulk::RETRIES);
    let looked_up: Vec<(String, Looked)> = futures::stream::iter(ids.iter().cloned())
        .map(|id| {
            let (reader, choice) = (&reader, &args.lock);
            async move {
                let result = look_up(reader, &id, choice).await;
                (id, result)
            }
        })
        .buffered(args.concurrency)
        .collect()
        .await;
    for (id, result) in looked_up {
        match result {
            // The same record named twice (`7` and `07` may both find it) is deleted once.
            Ok(entry) if found.iter().any(|(r, _)| r.record_id == entry.0.record_id) => {}
            Ok(entry) => found.push(entry),
            Err(error) => report.failed.push(Failed::new(&id, &error)),
        }
    }
    if args.dry_run {
        // A preview needs no lock; it says which modules a real run would need one for.
        let mut unlocked: Vec<ModuleCode> = Vec::new();
        for (_, module) in &found {
            if !unlocked.contains(module) && lock_available(ctx, *module, &args.lock).is_err() {
                unlocked.push(*module);
            }
        }
        for module in unlocked {
            ctx.out.warn(&format!(
                "deleting the records of module {module} needs a lock for it: pass --lock ID or \
                 --auto-lock"
            ));
        }
        return print_dry_run(ctx, &found, &report);
    }
    if let Some(grace) = pending::grace_of(ctx, args.grace) {
        return queue_them(ctx, found, &report, asking, grace);
    }
    // Records of a module with no lock to use cannot go: said now, not after the question.
    let mut deletable = Vec::new();
    for (record, module) in found {
        match lock_available(ctx, module, &args.lock) {
            Ok(()) => deletable.push((record, module)),
            Err(error) => report.failed.push(Failed::new(&record.record_id, &error)),
        }
    }
    let found = deletable;
    let mut reported = 0;
    if asking && !found.is_empty() {
        // What cannot be deleted is shown before the question about the rest.
        report_failures(ctx, &report.failed);
        reported = report.failed.len();
        if !confirmed(&found, None)? {
            return Err(CliError::failure("not confirmed; nothing was deleted"));
        }
    }

    for module in ModuleCode::ALL {
        let targets: Vec<Target> = found
            .iter()
            .filter(|(_, m)| *m == module)
            .map(|(record, _)| Target {
                record_id: record.record_id.clone(),
                chosen: Some(Chosen::of(record)),
            })
            .collect();
        if targets.is_empty() {
            continue;
        }
        if let Some(signal) = ctx.interrupt.received() {
            let reason = format!(
                "not sent: interrupted ({})",
                super::super::interrupt::signal_name(signal)
            );
            report.not_attempted.extend(targets.iter().map(|t| Noted {
                record_id: t.record_id.clone(),
                reason: reason.clone(),
            }));
            continue;
        }
        if let Err(error) = delete_in_module(ctx, module, &args, targets.clone(), &mut report).await {
            // No lock for the module: none of its records was touched.
            report
                .failed
                .extend(targets.iter().map(|t| Failed::new(&t.record_id, &error)));
        }
    }
    print_report(ctx, &report, reported)
}

/// Deletes `targets` of `module` under the named lock, or under one of this command's own,
/// kept renewed while the deletes run and released after them.
async fn delete_in_module(
    ctx: &mut Context,
    module: ModuleCode,
    args: &DeleteArgs,
    targets: Vec<Target>,
    report: &mut Report,
) -> Result<(), CliError> {
    let options = bulk::Options {
        reread: true,
        ceiling: args.concurrency,
    };
    let lock_id = args.lock.named()?;
    if lock_id.is_some() {
        check_lock_module(&args.lock, module)?;
    }
    let planned = targets
        .iter()
        .map(|t| Planned {
            record_id: t.record_id.clone(),
            record: None,
        })
        .collect();
    let plan = open_plan(ctx, "record delete", module.code(), planned)?;
    let client = plan.client(ctx.client());
    let mut deleted = 0;
    let mut take_counted = |done: bulk::Done| {
        deleted += usize::from(matches!(done.outcome, Outcome::Deleted { .. }));
        take(report, done)
    };
    if let Some(lock_id) = lock_id {
        ctx.check_named_lock(&lock_id, "using it because it was named");
        let interrupt = ctx.interrupt.clone();
        let summary = bulk::delete_all(
            &client,
            &lock_id,
            targets,
            options,
            || interrupt.stop(),
            &mut take_counted,
        )
        .await;
        note_summary(report, &summary);
        plan.finish(deleted, summary.stopped());
        return Ok(());
    }
    let purpose = Purpose::Operation {
        what: "record delete".into(),
    };
    let keeper: Keeper = match ctx.hold_lock(module, purpose, None).await {
        Ok(keeper) => keeper,
        Err(error) => {
            plan.finish(0, Some("not started: no lock".into()));
            return Err(error);
        }
    };
    let lock = keeper.lock();
    let interrupt = ctx.interrupt.clone();
    let guard = || interrupt.stop_under(&keeper);
    let summary = bulk::delete_all(&client, &lock.lock_id, targets, options, guard, &mut take_counted).await;
    note_summary(report, &summary);
    plan.finish(deleted, summary.stopped());
    let lock = keeper.stop();
    release_own(ctx, &lock.lock_id).await;
    Ok(())
}

/// Files one record's outcome in the report.
fn take(report: &mut Report, done: bulk::Done) {
    let noted = |outcome: &Outcome| Noted {
        record_id: done.record_id.clone(),
        reason: outcome.describe(),
    };
    match &done.outcome {
        Outcome::Deleted { .. } => report.ok.push(done.record_id.clone()),
        Outcome::GoneUnproven { .. } => report.gone.push(noted(&done.outcome)),
        Outcome::AlreadyGone => {
            report.already_gone = true;
            report.gone.push(noted(&done.outcome));
        }
        Outcome::Changed { .. } => report.kept.push(noted(&done.outcome)),
        Outcome::Failed(error) => report
            .failed
            .push(Failed::new(&done.record_id, &CliError::under_lock(error.clone()))),
    }
}

/// Records the run never sent, with why.
fn note_summary(report: &mut Report, summary: &bulk::Summary) {
    let Some(stop) = &summary.stop else {
        return;
    };
    let reason = format!("not sent: {}", stop.describe());
    report
        .not_attempted
        .extend(summary.not_attempted.iter().map(|id| Noted {
            record_id: id.clone(),
            reason: reason.clone(),
        }));
}

/// A record read for the question, with the module whose lock its deletion needs.
type Looked = Result<(BackupRecord, ModuleCode), CliError>;

/// The record and the module whose lock its deletion needs.
async fn look_up(client: &Client, id: &str, choice: &LockChoice) -> Looked {
    let record = client.get_record(id).await?;
    let module = lock_module_of(&record)?;
    check_lock_module(choice, module)?;
    Ok((record, module))
}

fn rows(found: &[(BackupRecord, ModuleCode)], wide: bool) -> Vec<Vec<String>> {
    found
        .iter()
        .map(|(record, _)| output::record_row(record, wide))
        .collect()
}

/// Queues `found` to be deleted after `grace` instead of deleting them (asking first when
/// `asking`); no lock is needed, since nothing changes on the server now.
fn queue_them(
    ctx: &Context,
    found: Vec<(BackupRecord, ModuleCode)>,
    report: &Report,
    asking: bool,
    grace: chrono::Duration,
) -> Result<u8, CliError> {
    report_failures(ctx, &report.failed);
    if asking && !found.is_empty() && !confirmed(&found, Some(grace))? {
        return Err(CliError::failure("not confirmed; nothing was queued or deleted"));
    }
    let chosen = found
        .into_iter()
        .map(|(record, module)| (record, module, Why::ByHand))
        .collect();
    let queueing = pending::queue(ctx, chosen, grace)?;
    if ctx.out.is_json() {
        let now = chrono::Utc::now();
        ctx.out.json(&serde_json::json!({
            "queued": pending::queued_json(&queueing.added, now),
            "alreadyQueued": pending::queued_json(&queueing.already, now),
            "failed": report.failed,
        }))?;
    } else {
        pending::print_queued(ctx, &queueing)?;
    }
    Ok(report
        .failed
        .first()
        .map_or(Exit::Ok.code(), |failed| failed.cause.exit.code()))
}

/// Shows the records on stderr and reads the answer from standard input: `y` or `yes`. With a
/// grace window the question says they are queued, and for how long.
fn confirmed(
    found: &[(BackupRecord, ModuleCode)],
    grace: Option<chrono::Duration>,
) -> Result<bool, CliError> {
    // The table's cells are escaped already; the rest is our own text.
    let (these, their, them) = match found.len() {
        1 => ("This record".to_string(), "its", "it"),
        n => (format!("These {n} records"), "their", "them"),
    };
    let table = output::fitted_table(
        &output::record_headers(false),
        &rows(found, false),
        output::stderr_width(),
        true,
    );
    match grace {
        None => ask(&format!(
            "{these} and {their} backup files will be deleted:\n{table}\nDelete {them}?"
        )),
        Some(grace) => ask(&format!(
            "{these} and {their} backup files will be queued for deletion, deleted after {} \
             unless cancelled (`koobackup pending cancel`):\n{table}\nQueue {them}?",
            crate::format::age(grace)
        )),
    }
}

fn print_dry_run(
    ctx: &Context,
    found: &[(BackupRecord, ModuleCode)],
    report: &Report,
) -> Result<u8, CliError> {
    let out = ctx.out;
    report_failures(ctx, &report.failed);
    if out.is_json() {
        let records: Vec<output::RecordJson> = found
            .iter()
            .map(|(record, _)| output::RecordJson::new(record))
            .collect();
        out.json(&serde_json::json!({
            "dryRun": true,
            "wouldDelete": records,
            "failed": report.failed,
        }))?;
    } else if out.quiet {
        for (record, _) in found {
            out.value(&record.record_id)?;
        }
    } else if found.is_empty() {
        out.line("dry run: nothing would be deleted")?;
    } else {
        out.line(&format!(
            "dry run: {} would be deleted with their backup files:",
            crate::format::count(found.len(), "record")
        ))?;
        let wide = out.wide();
        out.print_table(&out.table(&output::record_headers(wide), &rows(found, wide)))?;
    }
    Ok(exit_of(report))
}

/// Every failure on stderr (a JSON error document each with `--json`), besides the report.
fn report_failures(ctx: &Context, failed: &[Failed]) {
    for failed in failed {
        ctx.out.error(&failed.cause.clone().about("record", &failed.id));
    }
}

/// The report; failures from `already_reported` on are shown (those before were shown ahead of
/// the question). stdout gets the deleted records only; everything else goes to stderr.
fn print_report(ctx: &Context, report: &Report, already_reported: usize) -> Result<u8, CliError> {
    let out = ctx.out;
    report_failures(ctx, &report.failed[already_reported..]);
    if out.is_json() {
        out.json(report)?;
        return Ok(exit_of(report));
    }
    for noted in report.kept.iter().chain(&report.not_attempted) {
        out.warn(&format!("record {}: {}", noted.record_id, noted.reason));
    }
    for noted in &report.gone {
        out.note(&format!("note: record {}: {}", noted.record_id, noted.reason));
    }
    for id in &report.ok {
        if out.quiet {
            out.value(id)?;
        } else {
            out.sentence(&format!("deleted record {id} and its backup files"))?;
        }
    }
    out.note(&tally(report));
    Ok(exit_of(report))
}

/// The run in one line for stderr: "deleted 9 of 40 records; 1 failed, 30 not sent".
fn tally(report: &Report) -> String {
    let [ok, gone, kept, failed, unsent] = [
        report.ok.len(),
        report.gone.len(),
        report.kept.len(),
        report.failed.len(),
        report.not_attempted.len(),
    ];
    let total = crate::format::count(ok + gone + kept + failed + unsent, "record");
    output::deleted_of(
        ok,
        &total,
        &[
            (failed, "failed"),
            (unsent, "not sent"),
            (kept, "kept (changed meanwhile)"),
            (gone, "gone (see the notes above)"),
        ],
    )
}

/// The first failure's exit code; else 4 when records were kept or not sent (the lock was lost);
/// else 5 when some were gone before this run; 0 when every record went by this run's hand (or,
/// unprovably, by its earlier attempt).
fn exit_of(report: &Report) -> u8 {
    if let Some(failed) = report.failed.first() {
        return failed.cause.exit.code();
    }
    if !report.kept.is_empty() || !report.not_attempted.is_empty() {
        return Exit::Conflict.code();
    }
    if report.already_gone {
        return Exit::NotFound.code();
    }
    Exit::Ok.code()
}
