//! Sending a module's due deletions, under a lock the caller holds (and keeps renewed): each
//! rule asked again ([`super::rules`]), then the bulk engine with every record re-read right
//! before its delete and kept when its status or version is not what was queued. Every queued
//! record ends in exactly one [`Applied`]; [`Applied::settle`] says whether it leaves the queue.

use std::collections::{HashMap, HashSet};

use super::Queued;
use super::rules::{Recheck, recheck};
use super::store::Settle;
use crate::api::Client;
use crate::bulk::{self, Outcome, Stop, Target};
use crate::history::{History, Op};
use crate::lease::schedule::is_lost;

/// What became of one queued deletion.
#[derive(Debug, Clone)]
pub enum Fate {
    /// Deleted now: the server confirmed it.
    Deleted,
    /// Gone; whether by this run's repeated attempt or someone else's cannot be told.
    GoneUnproven,
    /// Gone already, and this machine's history holds its delete (an apply killed half-way,
    /// or a delete by hand).
    DeletedEarlier,
    /// Gone already, deleted by someone else.
    AlreadyGone,
    /// Kept: its status or version changed since it was queued ("kept: completed meanwhile…").
    Changed(String),
    /// Kept: its rule no longer chooses it.
    NotChosen(String),
    /// Not done, left queued: a failure (in words).
    Failed(String),
    /// Not deleted, left queued: the run stopped first (the lock was lost, a signal), or the
    /// server refused the delete for the lock itself (unknown or expired).
    NotSent(String),
}

impl Fate {
    /// A stable name for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Fate::Deleted => "deleted",
            Fate::GoneUnproven => "gone-unproven",
            Fate::DeletedEarlier => "deleted-earlier",
            Fate::AlreadyGone => "already-gone",
            Fate::Changed(_) => "kept-changed",
            Fate::NotChosen(_) => "kept-not-chosen",
            Fate::Failed(_) => "failed",
            Fate::NotSent(_) => "not-sent",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Fate::Deleted => "deleted".into(),
            Fate::GoneUnproven => Outcome::GoneUnproven { was: None }.describe(),
            Fate::DeletedEarlier => "already deleted by koobackup on this machine (an earlier \
                                       apply, or a delete by hand): see `koobackup history`"
                .into(),
            Fate::AlreadyGone => Outcome::AlreadyGone.describe(),
            Fate::Changed(why) | Fate::NotChosen(why) => why.clone(),
            Fate::Failed(why) => format!("failed, still queued: {why}"),
            Fate::NotSent(why) => format!("not deleted, still queued: {why}"),
        }
    }

    /// Whether the entry leaves the queue: everything but a failure or a delete never sent.
    pub fn settle(&self) -> Settle {
        match self {
            Fate::Failed(_) | Fate::NotSent(_) => Settle::Release,
            _ => Settle::Remove,
        }
    }

    /// Kept on purpose: it changed, or its rule no longer chooses it.
    pub fn is_kept(&self) -> bool {
        matches!(self, Fate::Changed(_) | Fate::NotChosen(_))
    }
}

/// One queued deletion and what became of it.
#[derive(Debug, Clone)]
pub struct Applied {
    pub entry: Queued,
    pub fate: Fate,
}

/// Sends `due` (all of one module) under `lock_id`, `ceiling` requests in flight at most.
/// `guard` is asked before each delete is sent (the lock lost, a signal); `history`, when there
/// is one, tells a record this machine deleted before (a killed apply) from someone else's.
pub async fn apply_module(
    client: &Client,
    lock_id: &str,
    due: Vec<Queued>,
    ceiling: usize,
    guard: impl Fn() -> Option<Stop>,
    history: Option<&History>,
) -> (Vec<Applied>, Option<Stop>) {
    let rechecked = recheck(client, &due).await;
    let mut applied = Vec::new();
    let mut sending = HashMap::new();
    for entry in due {
        match rechecked.get(&entry.record_id) {
            Some(Recheck::NoLongerChosen(why)) => applied.push(Applied {
                fate: Fate::NotChosen(why.clone()),
                entry,
            }),
            Some(Recheck::Unknown(why)) => applied.push(Applied {
                fate: Fate::Failed(why.clone()),
                entry,
            }),
            Some(Recheck::StillChosen) | None => {
                sending.insert(entry.record_id.clone(), entry);
            }
        }
    }
    let targets: Vec<Target> = sending
        .values()
        .map(|entry| Target {
            record_id: entry.record_id.clone(),
            chosen: Some(entry.chosen()),
        })
        .collect();
    let options = bulk::Options {
        reread: true,
        ceiling,
    };
    let mut outcomes = Vec::new();
    let summary = bulk::delete_all(client, lock_id, targets, options, guard, |done| {
        outcomes.push(done)
    })
    .await;
    let gone_before: Vec<&str> = outcomes
        .iter()
        .filter(|done| matches!(done.outcome, Outcome::AlreadyGone))
        .map(|done| done.record_id.as_str())
        .collect();
    let ours = deleted_here(history, &gone_before);
    for done in outcomes {
        let Some(entry) = sending.remove(&done.record_id) else {
            continue;
        };
        let fate = match done.outcome {
            Outcome::Deleted { .. } => Fate::Deleted,
            Outcome::GoneUnproven { .. } => Fate::GoneUnproven,
            Outcome::AlreadyGone if ours.contains(&done.record_id) => Fate::DeletedEarlier,
            Outcome::AlreadyGone => Fate::AlreadyGone,
            changed @ Outcome::Changed { .. } => Fate::Changed(changed.describe()),
            // Not this record's failure: the lock ran out under the whole run.
            Outcome::Failed(error) if is_lost(&error) => {
                Fate::NotSent(format!("the server refused the lock ({error})"))
            }
            Outcome::Failed(error) => Fate::Failed(error.to_string()),
        };
        applied.push(Applied { entry, fate });
    }
    // What the engine never sent (it stopped), and anything it did not report, stays queued.
    let why = summary
        .stop
        .as_ref()
        .map_or_else(|| "not reported".to_string(), Stop::describe);
    applied.extend(sending.into_values().map(|entry| Applied {
        entry,
        fate: Fate::NotSent(why.clone()),
    }));
    (applied, summary.stop)
}

/// Which of `ids` this machine's history says were deleted (by a delete the server confirmed,
/// or found gone after a killed plan).
fn deleted_here(history: Option<&History>, ids: &[&str]) -> HashSet<String> {
    let Some(read) = history.filter(|_| !ids.is_empty()).and_then(|h| h.read().ok()) else {
        return HashSet::new();
    };
    let wanted: HashSet<&str> = ids.iter().copied().collect();
    read.entries
        .into_iter()
        .filter(|e| e.op == Op::RecordDelete && e.outcome.ok)
        .filter_map(|e| e.record_id)
        .filter(|id| wanted.contains(id.as_str()))
        .collect()
}
