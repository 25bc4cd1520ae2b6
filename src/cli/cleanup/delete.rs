//! `cleanup --yes`: the question over many candidates, then each module's candidates deleted
//! under a lock of the clean-up's own (or queued under a grace window).

use chrono::Utc;

use super::CleanupArgs;
use super::report::{CANDIDATE_HEADERS, CandidateReport, KeptReport, Listed, Reports, Sink, candidate_row};
use super::weigh::{Weighing, find};
use crate::api::ModuleCode;
use crate::bulk::{self, Chosen, Outcome, Target};
use crate::cleanup::{Candidate, CleanupRules};
use crate::cli::exit::{CliError, Exit};
use crate::cli::{Context, open_plan, output, pending};
use crate::history::Planned;
use crate::lease::Purpose;
use crate::lease::keeper::Keeper;

/// More candidates than this are named and confirmed before `--yes` deletes them on a terminal.
pub(super) const CONFIRM_ABOVE: usize = 10;

/// Whether the user agreed to a large clean-up.
pub(super) enum Confirmation {
    /// Few enough candidates: `--yes` is enough.
    NotNeeded,
    /// The user said yes to exactly these records.
    Chosen(std::collections::HashSet<String>),
    Declined,
}

/// On a terminal, a `--yes` over more than [`CONFIRM_ABOVE`] records first lists them all (as a
/// dry run would) and asks. The answer covers exactly the records shown: one that becomes a
/// candidate only by the time its module is locked is left alone.
pub(super) async fn confirm_many(
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
    if !crate::cli::ask(&question)? {
        return Ok(Confirmation::Declined);
    }
    Ok(Confirmation::Chosen(
        candidates.into_iter().map(|c| c.record.record_id).collect(),
    ))
}

/// What a `--yes` run deletes: the rules' candidates, and of those only the ones the user
/// confirmed, when asked.
#[derive(Clone, Copy)]
pub(super) struct Targets<'a> {
    pub(super) rules: &'a CleanupRules,
    pub(super) chosen: Option<&'a std::collections::HashSet<String>>,
}

/// Takes a lock for `module` (kept renewed meanwhile), lists its candidates again under it,
/// deletes them through the bulk engine, releases it.
pub(super) async fn delete_in_module(
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
    crate::cli::record::release_own(ctx, &lock.lock_id).await;
    result
}

pub(super) async fn delete_candidates(
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
        delete_part(ctx, keeper, module, args, chosen, reports).await?;
        reports.add(ctx.out, true, Vec::new(), kept)?;
    }
    Ok(())
}

/// Deletes one part's `chosen` candidates through the bulk engine as a plan of the history, and
/// reports what became of each to `reports`: as each ends when the output is written as it goes
/// (so `-q` names a record the moment it is gone), else all at the end of the part.
pub(super) async fn delete_part(
    ctx: &mut Context,
    keeper: &Keeper,
    module: ModuleCode,
    args: &CleanupArgs,
    chosen: Vec<Candidate>,
    reports: &mut Reports,
) -> Result<(), CliError> {
    let candidates: Vec<CandidateReport> = chosen.into_iter().map(CandidateReport::new).collect();
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
    let out = ctx.out;
    let at_once = reports.sink != Sink::Table;
    // Each slot is emptied when its candidate is reported.
    let mut slots: Vec<Option<CandidateReport>> = candidates.into_iter().map(Some).collect();
    let mut deleted = 0;
    let mut unprinted: Option<CliError> = None;
    let summary = bulk::delete_all(&client, &lock_id, work, options, guard, |done| {
        deleted += usize::from(matches!(done.outcome, Outcome::Deleted { .. }));
        let Some(slot) = index.get(&done.record_id).and_then(|&i| slots.get_mut(i)) else {
            return;
        };
        if let Some(candidate) = slot.as_mut() {
            candidate.settle(&done.outcome);
        }
        if at_once && unprinted.is_none() {
            let candidate = slot.take().into_iter().collect();
            unprinted = reports.add(out, true, candidate, Vec::new()).err();
        }
    })
    .await;
    plan.finish(deleted, summary.stopped());
    if let Some(stop) = &summary.stop {
        let reason = stop.describe();
        for id in &summary.not_attempted {
            if let Some(Some(candidate)) = index.get(id).and_then(|&i| slots.get_mut(i)) {
                candidate.not_attempted(&reason);
            }
        }
    }
    if let Some(error) = unprinted {
        return Err(error);
    }
    // What was not reported yet, in the order chosen: everything for the table, the records
    // never sent otherwise.
    reports.add(out, true, slots.into_iter().flatten().collect(), Vec::new())
}

/// Lists `module`'s candidates (no lock: nothing changes on the server now) and queues them to
/// be deleted after `grace`, each with the rule that chose it: `pending apply` asks it again.
pub(super) async fn queue_in_module(
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
    reports.add(ctx.out, true, queued_reports, kept)
}
