//! `koobackup cleanup`: the TUI's clean-up candidates (see `crate::cleanup`), listed by default and
//! deleted with `--yes`.
//!
//! Deleting takes a fresh lock per module (owned by this clean-up, kept renewed by the keeper,
//! released at the end), never a lock from the journal: a journalled lock may belong to a backup
//! that is running right now (`lock hold`), whose `new` record must not be deleted under it. An
//! orphaned lock (its process gone, e.g. a clean-up killed half-way) is released first; a module
//! locked by a live operation is skipped, naming it. Records are listed again *under* the lock,
//! and each is re-read right before it is deleted and kept if its status or version changed.
//!
//! Its parts: [`args`] (the options), [`weigh`] (finding the candidates in bounded memory),
//! [`delete`] (deleting or queueing them), [`report`] (counting and printing what happened).

mod args;
mod delete;
mod report;
mod weigh;

use super::exit::{CliError, Exit};
use super::named_device::NamedDevice;
use super::record::incomplete;
use super::{Context, pending};
use crate::api::ModuleCode;
use crate::cleanup::{CleanupRules, Plan};
use crate::hooks::{self, HookEvent};
pub use args::CleanupArgs;
use delete::{Confirmation, Targets, confirm_many, delete_in_module, queue_in_module};
use report::{CandidateReport, KeptReport, Listed, Reports, Sink, SkippedModule, print};
use weigh::find_each;

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
    let mut reports = Reports::new(Sink::of(ctx.out));
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
        } else {
            dry_run(ctx, module, &args, &rules, &mut reports).await
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
    if reports.sink == Sink::Lines {
        // Printed as they were found; only the modules that could not be cleaned are left.
        for module in &skipped {
            ctx.out.error(&module.cause);
        }
    } else {
        print(ctx, &args, &rules, &reports, &skipped, grace)?;
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

/// A dry run of `module`: its candidates and kept backups taken in part by part as they are
/// weighed (see [`Sink`]: only the table holds them all). The first failure to print ends the
/// printing.
async fn dry_run(
    ctx: &Context,
    module: ModuleCode,
    args: &CleanupArgs,
    rules: &CleanupRules,
    reports: &mut Reports,
) -> Result<(), CliError> {
    let mut listed = Listed::default();
    let mut failed: Option<CliError> = None;
    let found = find_each(ctx, module, args, rules, &mut listed, |part: Plan| {
        if failed.is_none() {
            let candidates = part.delete.into_iter().map(CandidateReport::new).collect();
            let kept = part.keep.into_iter().map(KeptReport::from).collect();
            failed = reports.add(ctx.out, false, candidates, kept).err();
        }
    })
    .await;
    reports.listed.records += listed.records;
    reports.listed.unreadable.extend(listed.unreadable);
    found?;
    failed.map_or(Ok(()), Err)
}

/// The profile's `cleanup-done` hook, told what went: the outcomes counted, the modules skipped.
async fn tell_done(ctx: &Context, reports: &Reports, skipped: &[SkippedModule], exit: u8) {
    let outcomes = &reports.tally.outcomes;
    let details = serde_json::json!({
        "exitCode": exit,
        "candidates": reports.tally.candidates,
        "deleted": reports.tally.count("deleted"),
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
