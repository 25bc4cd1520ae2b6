//! `koobackup record delete RECORD_ID...`: names every record that would go, asks on a terminal
//! (`--yes` skips the question, `--dry-run` only shows), deletes under one lock per module, and
//! reports `{ok: [...], failed: [...]}`.
//!
//! Without a terminal to ask on and without `--yes` nothing is sent at all: a cron job that
//! forgot `--yes` must not delete, and must not hang waiting for an answer.

use clap::Args;
use serde::Serialize;

use super::{LockChoice, check_lock_module, lock_available, lock_module_of, with_lock};
use crate::api::{BackupRecord, ModuleCode};
use crate::cli::Context;
use crate::cli::exit::{CliError, Exit};
use crate::cli::output::{self, Failed};
use crate::cli::{ask, can_ask, parse_record_id, refuse_if_read_only, unique};

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
    #[command(flatten)]
    pub lock: LockChoice,
}

#[derive(Debug, Default, Serialize)]
struct Outcome {
    ok: Vec<String>,
    failed: Vec<Failed>,
}

pub(crate) async fn run(ctx: &mut Context, args: DeleteArgs) -> Result<u8, CliError> {
    if !args.dry_run {
        refuse_if_read_only(ctx, "record delete")?;
    }
    let asking = !args.yes && !args.dry_run;
    if asking && !can_ask() {
        return Err(CliError::usage(
            "record delete asks before deleting, and there is no terminal to ask on: add --yes to \
             delete without asking, or --dry-run to see what would be deleted; nothing was deleted",
        ));
    }
    let ids = unique(args.ids.clone());

    // Look every record up first: the question names what goes, and a record that cannot be
    // read (gone, another user's) is reported instead of deleted blind.
    let mut outcome = Outcome::default();
    let mut found: Vec<(BackupRecord, ModuleCode)> = Vec::new();
    for id in &ids {
        match look_up(ctx, id, &args.lock).await {
            // The same record named twice (`7` and `07` may both find it) is deleted once.
            Ok(entry) if found.iter().any(|(r, _)| r.record_id == entry.0.record_id) => {}
            Ok(entry) => found.push(entry),
            Err(error) => outcome.failed.push(Failed::new(id, &error)),
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
                 --auto-lock, or run `koobackup lock create --module {}` first",
                module.code()
            ));
        }
        return print_dry_run(ctx, &found, &outcome);
    }
    // Records of a module with no lock to use cannot go: said now, not after the question.
    let mut deletable = Vec::new();
    for (record, module) in found {
        match lock_available(ctx, module, &args.lock) {
            Ok(()) => deletable.push((record, module)),
            Err(error) => outcome.failed.push(Failed::new(&record.record_id, &error)),
        }
    }
    let found = deletable;
    let mut reported = 0;
    if asking && !found.is_empty() {
        // What cannot be deleted is shown before the question about the rest.
        report_failures(ctx, &outcome.failed);
        reported = outcome.failed.len();
        if !confirmed(&found)? {
            return Err(CliError::failure("not confirmed; nothing was deleted"));
        }
    }

    for module in ModuleCode::ALL {
        let chosen: Vec<String> = found
            .iter()
            .filter(|(_, m)| *m == module)
            .map(|(record, _)| record.record_id.clone())
            .collect();
        if chosen.is_empty() {
            continue;
        }
        let deleted = with_lock(ctx, module, &args.lock, async |client, lock_id| {
            let mut results = Vec::new();
            for id in &chosen {
                results.push((id.clone(), client.delete_record(lock_id, id).await));
            }
            Ok(results)
        })
        .await;
        match deleted {
            Ok(results) => {
                for (id, result) in results {
                    match result {
                        Ok(()) => outcome.ok.push(id),
                        Err(error) => outcome.failed.push(Failed::new(&id, &CliError::from(error))),
                    }
                }
            }
            // No lock for the module: none of its records was touched.
            Err(error) => outcome
                .failed
                .extend(chosen.iter().map(|id| Failed::new(id, &error))),
        }
    }
    report(ctx, &outcome, reported)
}

/// The record and the module whose lock its deletion needs.
async fn look_up(
    ctx: &Context,
    id: &str,
    choice: &LockChoice,
) -> Result<(BackupRecord, ModuleCode), CliError> {
    let record = ctx.client().get_record(id).await?;
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

/// Shows the records on stderr and reads the answer from standard input: `y` or `yes`.
fn confirmed(found: &[(BackupRecord, ModuleCode)]) -> Result<bool, CliError> {
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
    ask(&format!(
        "{these} and {their} backup files will be deleted:\n{table}\nDelete {them}?"
    ))
}

fn print_dry_run(
    ctx: &Context,
    found: &[(BackupRecord, ModuleCode)],
    outcome: &Outcome,
) -> Result<u8, CliError> {
    let out = ctx.out;
    report_failures(ctx, &outcome.failed);
    if out.is_json() {
        let records: Vec<output::RecordJson> = found
            .iter()
            .map(|(record, _)| output::RecordJson::new(record))
            .collect();
        out.json(&serde_json::json!({
            "dryRun": true,
            "wouldDelete": records,
            "failed": outcome.failed,
        }))?;
    } else if out.quiet {
        for (record, _) in found {
            out.value(&record.record_id)?;
        }
    } else {
        if found.is_empty() {
            out.line("dry run: nothing would be deleted")?;
        } else {
            out.line(&format!(
                "dry run: {} would be deleted with their backup files:",
                crate::format::count(found.len(), "record")
            ))?;
            let wide = out.wide();
            out.line(&out.table(&output::record_headers(wide), &rows(found, wide)))?;
        }
    }
    Ok(exit_of(outcome))
}

/// Every failure on stderr (a JSON error document each with `--json`), besides the report.
fn report_failures(ctx: &Context, failed: &[Failed]) {
    for failed in failed {
        ctx.out.error(&failed.cause.clone().about("record", &failed.id));
    }
}

/// The outcome; failures from `already_reported` on are shown (those before were shown ahead of
/// the question).
fn report(ctx: &Context, outcome: &Outcome, already_reported: usize) -> Result<u8, CliError> {
    let out = ctx.out;
    report_failures(ctx, &outcome.failed[already_reported..]);
    if out.is_json() {
        out.json(outcome)?;
    } else {
        for id in &outcome.ok {
            if out.quiet {
                out.value(id)?;
            } else {
                out.sentence(&format!("deleted record {id} and its backup files"))?;
            }
        }
    }
    Ok(exit_of(outcome))
}

/// The first failure's exit code; 0 when every record went.
fn exit_of(outcome: &Outcome) -> u8 {
    outcome
        .failed
        .first()
        .map_or(Exit::Ok.code(), |failed| failed.cause.exit.code())
}
