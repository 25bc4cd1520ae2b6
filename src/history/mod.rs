//! The history: an always-on, local, append-only record of every call that changes something on
//! the server — from the command line and the app alike — with who sent it, what came of it,
//! and for a delete the record as it was (KooDrive deletes a backup's files with its record and
//! has no restore: the record as it was is the only evidence left). Never a secret.
//!
//! Bulk deletes and clean-ups write their plan first (the records chosen, as chosen), then each
//! outcome, then the plan's end. A plan left open by a process that is gone (`kill -9`) is found
//! by the next koobackup, which asks the server which of its records are gone, writes that down,
//! and says so once ([`recover`]).
//!
//! `store` keeps the files, `entry` is one line, `plan` runs a bulk delete as a plan, `query`
//! filters for `koobackup history` and the app's history pane, `describe` puts an entry in words
//! for both.

pub mod describe;
pub mod entry;
pub mod plan;
pub mod query;
pub mod store;

pub use entry::{Entry, Op, Outcome, Planned, Who};
pub use plan::{Keeping, Plan};
pub use query::Query;
pub use store::{History, HistoryError};

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::api::changes::{Change, ChangeKind, ChangeObserver, Changes};
use crate::api::error::ErrorKind;
use futures::StreamExt;

use crate::api::{ApiError, BackupFile, BackupRecord, Client, LockInfo};
use crate::lease::{Owner, Purpose, Standing};

/// Options whose values are written into the history's "by" (the command line); any other
/// option's value is left out, since it could be a secret (a ping URL) or a private path.
const SHOWN_VALUES: [&str; 14] = [
    "-m",
    "--module",
    "--device",
    "--older-than",
    "--lock",
    "--concurrency",
    "--grace",
    "--keep-last",
    "--keep-daily",
    "--keep-weekly",
    "--keep-monthly",
    "--keep-within",
    "--profile",
    "--wait",
];

/// The command line as the history shows it: the words and ids as typed, option values only for
/// the options in [`SHOWN_VALUES`] (others as `…`), and nothing of a `lock hold` COMMAND (after
/// `--`, or from its first word when `--` was left out): its arguments may hold anything.
pub fn command_line(args: impl IntoIterator<Item = String>) -> String {
    /// What the next argument is: an option's value (shown or not), or a word of its own.
    enum Next {
        Word,
        ShownValue,
        HiddenValue,
    }
    let mut words = vec!["koobackup".to_string()];
    let mut next = Next::Word;
    let mut holding = false;
    for arg in args {
        match std::mem::replace(&mut next, Next::Word) {
            Next::ShownValue => {
                words.push(arg);
                continue;
            }
            Next::HiddenValue => {
                words.push("…".into());
                continue;
            }
            Next::Word => {}
        }
        let command_starts = holding && (!arg.starts_with('-') || !(is_flag(&arg) || holds_value(&arg)));
        if arg == "--" || command_starts {
            words.push("-- …".into());
            break;
        }
        if let Some((name, _)) = arg.split_once('=')
            && name.starts_with("--")
        {
            if SHOWN_VALUES.contains(&name) {
                words.push(arg);
            } else {
                words.push(format!("{name}=…"));
            }
            continue;
        }
        if arg.starts_with('-') && !is_flag(&arg) {
            next = if SHOWN_VALUES.contains(&arg.as_str()) {
                Next::ShownValue
            } else {
                Next::HiddenValue
            };
        }
        holding = holding || (arg == "hold" && words.last().is_some_and(|w| w == "lock"));
        words.push(arg);
    }
    words.join(" ")
}

/// [`command_line`] of this process (arguments that are not UTF-8 shown with `�`).
pub fn this_command_line() -> String {
    command_line(
        std::env::args_os()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned()),
    )
}

/// The options `lock hold` takes a value for (its own and the global ones): in `lock hold`, any
/// other word, or option, starts its COMMAND.
fn holds_value(arg: &str) -> bool {
    let name = arg.split_once('=').map_or(arg, |(name, _)| name);
    matches!(
        name,
        "-m" | "--module"
            | "--grace"
            | "--wait"
            | "--ping"
            | "--ping-timeout"
            | "--profile"
            | "--base-url"
            | "--user-id"
            | "--token-file"
            | "--app-id"
            | "--app-secret-file"
            | "--ca-file"
            | "--config"
            | "--log-file"
            | "--timeout"
            | "-o"
            | "--output"
            | "--color"
    )
}

/// Options that take no value.
fn is_flag(arg: &str) -> bool {
    matches!(
        arg,
        "--yes"
            | "-y"
            | "--dry-run"
            | "--json"
            | "--jsonl"
            | "--quiet"
            | "-q"
            | "--auto-lock"
            | "--all"
            | "--read-only"
            | "--fresh"
            | "--no-headers"
            | "--keep-marked"
            | "--verbose"
            | "--no-history"
            | "-h"
            | "--help"
    )
}

/// Writes entries for one connection: `who` filled in, the server's time added when known. As
/// a client's [`ChangeObserver`] it writes every change call, and keeps the records and files the
/// client read lately so a delete is written with the record as it was.
#[derive(Clone)]
pub struct Recorder {
    history: History,
    who: Who,
    /// The plan the changes told to this recorder belong to.
    plan: Option<String>,
    seen: Arc<Mutex<Seen>>,
    /// The first write that failed since it was last asked, in words.
    failed: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("history", &self.history)
            .field("who", &self.who)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

/// Records read whole, and their files, kept until they are deleted or pushed out.
#[derive(Default)]
struct Seen {
    records: HashMap<String, BackupRecord>,
    files: HashMap<String, Vec<BackupFile>>,
    /// Record ids in the order they were first kept, oldest first.
    order: VecDeque<String>,
}

/// Records (with their files) kept at most: a bulk delete reads each record right before its
/// delete, so only the ones in flight matter; this bounds memory on a million-record run.
const SEEN_RECORDS: usize = 4096;
/// Files kept at most per record (a listing beyond that is noted as cut).
const SEEN_FILES: usize = 10_000;

impl Seen {
    fn keep_record(&mut self, record: &BackupRecord) {
        if self
            .records
            .insert(record.record_id.clone(), record.clone())
            .is_none()
        {
            self.order.push_back(record.record_id.clone());
            self.push_out();
        }
    }

    fn keep_files(&mut self, record_id: &str, files: &[BackupFile]) {
        if !self.records.contains_key(record_id) && !self.files.contains_key(record_id) {
            self.order.push_back(record_id.to_string());
        }
        let kept = self.files.entry(record_id.to_string()).or_default();
        let room = SEEN_FILES.saturating_sub(kept.len());
        kept.extend(files.iter().take(room).cloned());
        self.push_out();
    }

    fn push_out(&mut self) {
        while self.order.len() > SEEN_RECORDS {
            if let Some(old) = self.order.pop_front() {
                self.records.remove(&old);
                self.files.remove(&old);
            }
        }
    }

    fn take(&mut self, record_id: &str) -> (Option<BackupRecord>, Option<Vec<BackupFile>>) {
        let taken = (self.records.remove(record_id), self.files.remove(record_id));
        self.order.retain(|id| id != record_id);
        taken
    }
}

impl Recorder {
    pub fn new(history: History, who: Who) -> Recorder {
        Recorder {
            history,
            who,
            plan: None,
            seen: Arc::default(),
            failed: Arc::default(),
        }
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// This recorder, its change entries marked as part of `plan`.
    pub fn in_plan(&self, plan: &str) -> Recorder {
        Recorder {
            plan: Some(plan.to_string()),
            ..self.clone()
        }
    }

    /// The listener to give a client.
    pub fn changes(&self) -> Changes {
        Changes(Arc::new(self.clone()))
    }

    /// The first write that failed since the last call, in words (then forgotten).
    pub fn take_failure(&self) -> Option<String> {
        self.failed.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// `planned` with the records this client read whole filled in where they are missing.
    pub fn fill_in(&self, planned: Vec<Planned>) -> Vec<Planned> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        planned
            .into_iter()
            .map(|mut one| {
                if one.record.is_none() {
                    one.record = seen.records.get(&one.record_id).cloned();
                }
                one
            })
            .collect()
    }

    /// A new entry of `op` by this connection, with `outcome`.
    pub fn entry(&self, op: Op, outcome: Outcome) -> Entry {
        let mut entry = Entry::new(self.who.clone(), op, outcome);
        entry.plan = self.plan.clone();
        entry
    }

    /// Writes `entry` (flushed to disk, unless it belongs to a plan: see
    /// [`History::append_unflushed`]); a failure is also kept for [`Recorder::take_failure`].
    pub fn record(&self, entry: &Entry) -> Result<(), HistoryError> {
        let written = match &self.plan {
            Some(_) => self.history.append_unflushed(entry),
            None => self.history.append(entry),
        };
        written.inspect_err(|error| {
            let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
            failed.get_or_insert_with(|| error.to_string());
        })
    }

    /// Whether the history can be written now (a write of nothing, under its lock).
    pub fn check_writable(&self) -> Result<(), HistoryError> {
        self.history.check_writable()
    }

    /// Opens a plan: `what` ("clean-up of 102") will delete `planned` in `module`. Written (and
    /// flushed) before anything is sent; an error means nothing may be sent without saying so.
    pub fn open_plan(&self, what: &str, module: &str, planned: Vec<Planned>) -> Result<String, HistoryError> {
        let mut start = self.entry(Op::PlanStart, Outcome::ok());
        start.plan = Some(start.id.clone());
        start.module = Some(module.to_string());
        start.what = Some(what.to_string());
        start.owner = Some(Owner::this_process(Purpose::Operation {
            what: what.to_string(),
        }));
        start.planned = within_budget(planned);
        self.history.open_plan(&start)?;
        Ok(start.id)
    }

    /// Ends plan `plan` with `deleted` of its records gone by its hand.
    pub fn close_plan(
        &self,
        plan: &str,
        module: &str,
        deleted: usize,
        stopped: Option<String>,
    ) -> Result<(), HistoryError> {
        let outcome = match stopped {
            None => Outcome::ok(),
            Some(why) => Outcome {
                ok: false,
                message: Some(why),
                ..Outcome::ok()
            },
        };
        let mut end = self.entry(Op::PlanEnd, outcome);
        end.plan = Some(plan.to_string());
        end.module = Some(module.to_string());
        end.deleted = Some(deleted);
        self.history.close_plan(&end)
    }
}

/// What a plan's records may take in its `plan.start` (and its file), about: the history holds
/// 40 MiB in all, and one plan of a thousand records with large properties must not push out a
/// week of it. Records beyond keep their ids alone; each delete's own entry still carries the
/// record as it was.
const PLAN_RECORDS_BUDGET: usize = 2 << 20;

/// `planned` with the records themselves kept only while they fit [`PLAN_RECORDS_BUDGET`].
fn within_budget(mut planned: Vec<Planned>) -> Vec<Planned> {
    let mut left = PLAN_RECORDS_BUDGET;
    for one in &mut planned {
        let size = one
            .record
            .as_ref()
            .map_or(0, |r| r.properties.len() + r.record_id.len() + 300);
        if size > left {
            one.record = None;
        } else {
            left -= size;
        }
    }
    planned
}

impl ChangeObserver for Recorder {
    fn changed(&self, change: &Change<'_>) {
        let outcome = match change.failure {
            Some(error) => Outcome {
                ok: false,
                status: error.status(),
                code: error.code_text().map(str::to_string),
                message: Some(error.message()),
            },
            None => Outcome {
                message: change.note.map(str::to_string),
                ..Outcome::ok()
            },
        };
        let mut entry = self.entry(Op::from(change.kind), outcome);
        if let Some(offset) = change.server_offset {
            entry.server_at = Some(entry.at + offset);
        }
        entry.record_id = change.record_id.clone();
        entry.lock_id = change.lock_id.clone();
        entry.device_id = change.device_id.clone();
        entry.ids = change.ids.clone();
        // A lock id names its module (`<uuid>@102`): a release says which module it freed.
        entry.module = change
            .module
            .or_else(|| change.lock_id.as_deref().and_then(LockInfo::module_of_id))
            .map(|m| m.code().to_string());
        if let Some(record_id) = &change.record_id {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let (record, files) = if change.kind == ChangeKind::RecordDelete {
                seen.take(record_id)
            } else {
                (seen.records.get(record_id).cloned(), None)
            };
            if entry.module.is_none() {
                entry.module = record.as_ref().map(|r| r.module_code.code().to_string());
            }
            if change.kind == ChangeKind::RecordDelete {
                entry.record = record;
                entry.files = files;
            }
        }
        let _ = self.record(&entry);
    }

    fn read_record(&self, record: &BackupRecord) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keep_record(record);
    }

    fn read_files(&self, record_id: &str, files: &[BackupFile]) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keep_files(record_id, files);
    }
}

/// Finds plans left open by processes that are gone, asks the server (through `client`, as the
/// plan's user) which of their records are gone, writes a `record.delete` for each with the
/// record as the plan chose it, closes the plan, and returns one sentence per plan for the user.
/// Plans of another user or server, or whose process may still run, are left alone; while
/// another process recovers this history's plans, this one leaves them to it.
pub async fn recover(recorder: &Recorder, client: &Client) -> Vec<String> {
    let history = &recorder.history;
    // Held to the end, so two commands never both close a plan.
    let Some(_recovering) = history.recovery_lock() else {
        return Vec::new();
    };
    let mut said = Vec::new();
    for plan in history.open_plans() {
        let same_connection = plan.who.server == recorder.who.server && plan.who.user == recorder.who.user;
        if !same_connection || Standing::of(plan.owner.as_ref()) != Standing::Orphaned {
            continue;
        }
        if let Some(sentence) = recover_plan(recorder, client, &plan).await {
            said.push(sentence);
        }
    }
    said
}

/// Records asked about at once while a plan is recovered.
const RECOVERY_CONCURRENCY: usize = 16;

/// Recovers one orphaned plan (see [`recover`]); `None` when it must stay open: the history
/// could not be read or written, or the server could not tell for some record.
async fn recover_plan(recorder: &Recorder, client: &Client, plan: &Entry) -> Option<String> {
    let history = &recorder.history;
    let id = plan.plan.clone()?;
    let module = plan.module.clone().unwrap_or_default();
    let read = history.read().ok()?;
    let mine = |e: &&Entry| e.plan.as_deref() == Some(id.as_str()) && e.op == Op::RecordDelete;
    // Records the plan's process wrote an outcome for are settled: deleted when it says so.
    let settled: std::collections::HashSet<&str> = read
        .entries
        .iter()
        .filter(mine)
        .filter_map(|e| e.record_id.as_deref())
        .collect();
    let deleted_before = read.entries.iter().filter(mine).filter(|e| e.outcome.ok).count();
    let unsettled: Vec<Planned> = plan
        .planned
        .iter()
        .filter(|p| !settled.contains(p.record_id.as_str()))
        .cloned()
        .collect();
    // Owned all the way (a spawned task runs this): each lookup gets its own client handle.
    let answers: Vec<(Planned, Result<(), ApiError>)> = futures::stream::iter(unsettled)
        .map(|planned| {
            let client = client.clone();
            async move {
                let answer = client.get_record(&planned.record_id).await.map(drop);
                (planned, answer)
            }
        })
        .buffer_unordered(RECOVERY_CONCURRENCY)
        .collect()
        .await;
    let mut entries = Vec::new();
    for (planned, answer) in answers {
        match answer {
            Ok(()) => {}
            Err(error) if is_gone(&error) => {
                // The plan's process did it, as far as anyone can tell: its entry says so.
                let mut entry = Entry::new(
                    plan.who.clone(),
                    Op::RecordDelete,
                    Outcome {
                        message: Some(
                            "found gone after the plan's process ended without a word: most \
                             likely deleted by it"
                                .into(),
                        ),
                        ..Outcome::ok()
                    },
                );
                entry.plan = Some(id.clone());
                entry.module = Some(module.clone());
                entry.record_id = Some(planned.record_id.clone());
                entry.record = planned.record.clone();
                entry.recovered = true;
                entries.push(entry);
            }
            // The server could not tell for this one: the plan stays open for the next look.
            Err(_) => return None,
        }
    }
    let gone = deleted_before + entries.len();
    let mut end = recorder.entry(Op::PlanEnd, Outcome::ok());
    end.plan = Some(id.clone());
    end.module = Some(module.clone());
    end.deleted = Some(gone);
    end.recovered = true;
    history.append_all(&entries).ok()?;
    history.close_plan(&end).ok()?;
    Some(format!(
        "an interrupted {} at {} deleted {gone} of {} record(s) of {module}; see `koobackup \
         history`",
        plan.what.as_deref().unwrap_or("bulk delete"),
        crate::format::local_time(plan.at),
        plan.planned.len()
    ))
}

fn is_gone(error: &ApiError) -> bool {
    error.kind() == ErrorKind::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> String {
        command_line(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn the_command_line_keeps_words_and_ids_and_leaves_out_other_values() {
        assert_eq!(
            line(&["cleanup", "-m", "102", "--older-than", "24h", "--yes"]),
            "koobackup cleanup -m 102 --older-than 24h --yes"
        );
        assert_eq!(
            line(&[
                "record",
                "delete",
                "1842",
                "--lock",
                "L@102",
                "--token-file",
                "/root/t"
            ]),
            "koobackup record delete 1842 --lock L@102 --token-file …"
        );
        assert_eq!(
            line(&[
                "lock",
                "hold",
                "--ping=https://hc.example/uuid",
                "-m",
                "100",
                "--",
                "restic",
                "--password",
                "x"
            ]),
            "koobackup lock hold --ping=… -m 100 -- …"
        );
        // Without `--`, the COMMAND starts at its first word all the same.
        assert_eq!(
            line(&["lock", "hold", "-m", "100", "env", "PGPASSWORD=s3cret", "pg_dump"]),
            "koobackup lock hold -m 100 -- …"
        );
        assert_eq!(
            line(&["lock", "hold", "--wait", "5m", "-m", "100", "true", "-pDASH"]),
            "koobackup lock hold --wait 5m -m 100 -- …"
        );
        assert_eq!(
            line(&["lock", "hold", "-m", "100", "--password=x", "-pDASH"]),
            "koobackup lock hold -m 100 -- …",
            "an option lock hold does not know starts the COMMAND"
        );
    }
}
