//! The one engine for deleting many records (`record delete ID...`, `cleanup --yes`, the app's
//! bulk delete and clean-up): concurrent, at an adaptive pace ([`limit`]), each record re-read
//! right before it is deleted, and a report of exactly what happened to each.
//!
//! Rules:
//! - A record is deleted at most once: the targets are made unique, and a delete is repeated
//!   only by the client's own retries of the same request.
//! - With re-reading on, a record whose status or version changed since it was chosen is kept
//!   ([`Outcome::Changed`]), and one already gone is someone else's delete
//!   ([`Outcome::AlreadyGone`]), never counted as ours.
//! - Only a success answer proves a delete was ours ([`Outcome::Deleted`]); "not found" on a
//!   repeat after an attempt that may have landed is [`Outcome::GoneUnproven`].
//! - Before each record is sent, `guard` is asked whether to go on: it stops the run when the
//!   user cancels or the lock is lost. Requests already sent finish and are reported.
//! - The server's word on the lock outranks every local clock: a delete refused because the
//!   lock is unknown (404002) or expired (409002) stops the run as a lost lock, even while the
//!   keeper still counts it as held (its lifetime may be shorter on the server than here).

pub mod limit;

use std::collections::HashSet;
use std::sync::Arc;

use crate::api::error::ErrorKind;
use crate::api::{ApiError, BackupRecord, Client, Deleted, RecordStatus};
use crate::lease::schedule::is_lost;
use limit::Limit;

/// KooDrive's "record not found".
const RECORD_NOT_FOUND: i64 = 404001;

/// Attempts of one request beyond the first: a rate limit or a flaky server must not turn into a
/// list of failures to retry by hand.
pub const RETRIES: u32 = 5;

/// The record as it was when it was chosen: it is deleted only while it still is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chosen {
    pub status: RecordStatus,
    pub version: i64,
}

impl Chosen {
    pub fn of(record: &BackupRecord) -> Chosen {
        Chosen {
            status: record.status,
            version: record.version,
        }
    }
}

/// One record to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub record_id: String,
    /// How it was when chosen; `None` when it was named by id without being read.
    pub chosen: Option<Chosen>,
}

/// Why the rest of a run was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The user cancelled it (the app).
    Cancelled,
    /// A signal (its name) asked the command to end.
    Interrupted(String),
    LockLost(String),
}

impl Stop {
    /// The run's end for its history: "stopped: <why>; 30 not sent".
    pub fn with_unsent(&self, unsent: usize) -> String {
        format!("stopped: {}; {unsent} not sent", self.describe())
    }

    /// Why, in words: "interrupted (SIGTERM)", or the lock's loss as the keeper said it.
    pub fn describe(&self) -> String {
        match self {
            Stop::Cancelled => "stopped".into(),
            Stop::Interrupted(signal) => format!("interrupted ({signal})"),
            Stop::LockLost(reason) => reason.clone(),
        }
    }
}

/// What happened to one record.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Deleted by this run: the server answered the delete with success. `was` is the record
    /// as read right before.
    Deleted {
        was: Option<Box<BackupRecord>>,
    },
    /// Gone, but not provably by this run: a repeat after an attempt that may have landed was
    /// answered "not found".
    GoneUnproven {
        was: Option<Box<BackupRecord>>,
    },
    /// Gone before this run deleted it: someone else's delete.
    AlreadyGone,
    /// Changed since it was chosen (completed, or given a new version): kept.
    Changed {
        chosen: Chosen,
        now: Box<BackupRecord>,
    },
    Failed(ApiError),
}

impl Outcome {
    /// Whether the record is gone from the server (by this run or not).
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            Outcome::Deleted { .. } | Outcome::GoneUnproven { .. } | Outcome::AlreadyGone
        )
    }

    /// In a few words, for tables and the log: "deleted", "kept: completed meanwhile"…
    pub fn describe(&self) -> String {
        match self {
            Outcome::Deleted { .. } => "deleted".into(),
            Outcome::GoneUnproven { .. } => "gone: not found when the delete was repeated after a \
                                              failed or unanswered attempt; whether this run or \
                                              another deleted it cannot be told"
                .into(),
            Outcome::AlreadyGone => "already gone: deleted by someone else before this run".into(),
            Outcome::Changed { chosen, now } => changed_text(chosen, now),
            Outcome::Failed(error) => format!("failed: {error}"),
        }
    }
}

/// "kept: completed meanwhile (status new → completed, version 1 → 2)".
fn changed_text(chosen: &Chosen, now: &BackupRecord) -> String {
    let what = if chosen.status != now.status && now.status == RecordStatus::Completed {
        "completed meanwhile"
    } else {
        "changed meanwhile"
    };
    let mut parts = Vec::new();
    if chosen.status != now.status {
        parts.push(format!("status {} → {}", chosen.status, now.status));
    }
    if chosen.version != now.version {
        parts.push(format!("version {} → {}", chosen.version, now.version));
    }
    format!("kept: {what} ({})", parts.join(", "))
}

/// One record's outcome, as the run reports it.
#[derive(Debug, Clone)]
pub struct Done {
    pub record_id: String,
    pub outcome: Outcome,
}

/// How a run is paced and checked.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Read each record right before deleting it.
    pub reread: bool,
    /// Requests in flight at most (`--concurrency`).
    pub ceiling: usize,
}

/// The end of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Records never sent, because the run stopped.
    pub not_attempted: Vec<String>,
    pub stop: Option<Stop>,
    /// The most requests the pace allowed at once, and how many attempts were pushed back.
    pub peak_concurrency: usize,
    pub pushed_back: usize,
}

impl Summary {
    /// Why the run stopped before sending everything, for its history: "stopped: the server
    /// refused lock … (…); 30 not sent". `None` when it sent everything.
    pub fn stopped(&self) -> Option<String> {
        self.stop
            .as_ref()
            .map(|stop| stop.with_unsent(self.not_attempted.len()))
    }
}

/// Deletes `targets` under `lock_id`, reporting each record to `on_done` as it ends. `guard` is
/// asked before each record is sent; when it answers a [`Stop`], nothing more is sent.
pub async fn delete_all(
    client: &Client,
    lock_id: &str,
    targets: Vec<Target>,
    options: Options,
    guard: impl Fn() -> Option<Stop>,
    mut on_done: impl FnMut(Done),
) -> Summary {
    let limit = Arc::new(Limit::new(options.ceiling));
    let client = client.with_retries(RETRIES).with_observer(limit.observer());
    let mut seen = HashSet::new();
    let mut queue = targets
        .into_iter()
        .filter(|target| seen.insert(target.record_id.clone()));
    let mut stop = None;
    // Set when the server refused a delete for the lock: the guard then stops the run.
    let refused = std::sync::Mutex::new(None);
    let client = &client;
    limit::paced(
        &limit,
        &mut futures::stream::iter(&mut queue),
        || {
            stop = slot(&refused).take().or_else(&guard);
            stop.is_some()
        },
        |target: Target| async move {
            let outcome = delete_one(client, lock_id, &target, options.reread).await;
            Done {
                record_id: target.record_id,
                outcome,
            }
        },
        |done: Done| {
            if let Outcome::Failed(error) = &done.outcome
                && is_lost(error)
            {
                slot(&refused).get_or_insert_with(|| {
                    Stop::LockLost(format!(
                        "the server refused lock {} ({error})",
                        crate::format::escape(lock_id)
                    ))
                });
            }
            on_done(done)
        },
    )
    .await;
    let (peak_concurrency, pushed_back) = limit.summary();
    Summary {
        not_attempted: queue.map(|target| target.record_id).collect(),
        stop,
        peak_concurrency,
        pushed_back,
    }
}

fn slot(refused: &std::sync::Mutex<Option<Stop>>) -> std::sync::MutexGuard<'_, Option<Stop>> {
    refused.lock().unwrap_or_else(|e| e.into_inner())
}

fn not_found(error: &ApiError) -> bool {
    error.kind() == ErrorKind::NotFound && error.code() == Some(RECORD_NOT_FOUND)
}

/// Deletes one record (re-read first when `reread`), as a run does each of its targets.
pub async fn delete_one(client: &Client, lock_id: &str, target: &Target, reread: bool) -> Outcome {
    let mut was = None;
    if reread {
        match client.get_record(&target.record_id).await {
            Ok(record) => {
                if let Some(chosen) = target.chosen
                    && (record.status != chosen.status || record.version != chosen.version)
                {
                    return Outcome::Changed {
                        chosen,
                        now: Box::new(record),
                    };
                }
                was = Some(Box::new(record));
            }
            Err(error) if not_found(&error) => return Outcome::AlreadyGone,
            Err(error) => return Outcome::Failed(error),
        }
    }
    match client.delete_record(lock_id, &target.record_id).await {
        Ok(Deleted::Confirmed) => Outcome::Deleted { was },
        Ok(Deleted::GoneOnRetry) => Outcome::GoneUnproven { was },
        Err(error) if not_found(&error) => Outcome::AlreadyGone,
        Err(error) => Outcome::Failed(error),
    }
}
