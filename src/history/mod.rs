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
use crate::api::{ApiError, BackupFile, BackupRecord, Client};
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
/// the options in [`SHOWN_VALUES`] (others as `…`), nothing after `--` (a `lock hold` COMMAND's
/// own arguments).
pub fn command_line(args: impl IntoIterator<Item = String>) -> String {
    let mut words = vec!["koobackup".to_string()];
    let mut hide_next = false;
    for arg in args {
        if hide_next {
            words.push("…".into());
            hide_next = false;
            continue;
        }
        if arg == "--" {
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
        let takes_value = arg.starts_with('-') && !is_flag(&arg);
        if takes_value && !SHOWN_VALUES.contains(&arg.as_str()) {
            hide_next = true;
        }
        words.push(arg);
    }
    words.join(" ")
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
        self.history.append_all(&[])
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
        start.planned = planned;
        self.history.open_plan(&start)?;
        Ok(start.id)
    }

    /// Ends plan `plan` with `deleted` of its records gone by its hand.
    pub fn close_plan(&self, plan: &str, module: &str, deleted: usize) -> Result<(), HistoryError> {
        let mut end = self.entry(Op::PlanEnd, Outcome::ok());
        end.plan = Some(plan.to_string());
        end.module = Some(module.to_string());
        end.deleted = Some(deleted);
        self.history.close_plan(&end)
    }
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
        entry.module = change.module.map(|m| m.code().to_string());
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
/// Plans of another user or server, or whose process may still run, are left alone.
pub async fn recover(recorder: &Recorder, client: &Client) -> Vec<String> {
    let mut said = Vec::new();
    for plan in recorder.history.open_plans() {
        let same_connection = plan.who.server == recorder.who.server && plan.who.user == recorder.who.user;
        let orphaned = Standing::of(plan.owner.as_ref()) == Standing::Orphaned;
        if !same_connection || !orphaned {
            continue;
        }
        let Some(id) = plan.plan.clone() else { continue };
        let module = plan.module.clone().unwrap_or_default();
        let already: std::collections::HashSet<String> = recorder
            .history
            .read()
            .map(|read| {
                read.entries
                    .into_iter()
                    .filter(|e| e.plan.as_deref() == Some(id.as_str()) && e.op == Op::RecordDelete)
                    .filter_map(|e| e.record_id)
                    .collect()
            })
            .unwrap_or_default();
        let mut gone = already.len();
        let mut entries = Vec::new();
        let mut unknown = false;
        for planned in plan.planned.iter().filter(|p| !already.contains(&p.record_id)) {
            match client.get_record(&planned.record_id).await {
                Ok(_) => {}
                Err(error) if is_gone(&error) => {
                    gone += 1;
                    let mut entry = recorder.entry(
                        Op::RecordDelete,
                        Outcome {
                            ok: true,
                            status: None,
                            code: None,
                            message: Some(
                                "found gone after the plan's process ended without a word: most \
                                 likely deleted by it"
                                    .into(),
                            ),
                        },
                    );
                    entry.plan = Some(id.clone());
                    entry.module = Some(module.clone());
                    entry.record_id = Some(planned.record_id.clone());
                    entry.record = planned.record.clone();
                    entry.recovered = true;
                    entries.push(entry);
                }
                Err(_) => unknown = true,
            }
        }
        if unknown {
            // The server could not tell for some: the plan stays open for the next look.
            continue;
        }
        let mut end = recorder.entry(Op::PlanEnd, Outcome::ok());
        end.plan = Some(id.clone());
        end.module = Some(module.clone());
        end.deleted = Some(gone);
        end.recovered = true;
        if recorder.history.append_all(&entries).is_err() || recorder.history.close_plan(&end).is_err() {
            continue;
        }
        said.push(format!(
            "an interrupted {} at {} deleted {gone} of {} record(s) of {module}; see `koobackup \
             history`",
            plan.what.as_deref().unwrap_or("bulk delete"),
            crate::format::local_time(plan.at),
            plan.planned.len()
        ));
    }
    said
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
    }
}
