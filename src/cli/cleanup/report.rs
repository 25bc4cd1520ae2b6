//! What `cleanup` found and did, as it is counted, held and printed: each candidate's report,
//! the backups retention keeps, the modules skipped, and the table, JSON or lines they become.

use chrono::Utc;
use serde::Serialize;

use super::CleanupArgs;
use crate::api::{BackupRecord, ModuleCode};
use crate::bulk::Outcome;
use crate::cleanup::{Candidate, CleanupRules, Kept};
use crate::cli::exit::{CliError, Exit};
use crate::cli::{Context, output, pending};

/// A completed backup the retention policy keeps.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KeptReport {
    #[serde(serialize_with = "output::record_json")]
    pub(super) record: BackupRecord,
    pub(super) reason: String,
    pub(super) reason_code: &'static str,
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

/// Where the reports of a run go as its parts are weighed (and deleted): memory stays bounded
/// by the largest part, not the module, in every form but the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sink {
    /// Held for a table fitted to all of them at the end.
    Table,
    /// Printed at once, a line each (`-q`: ids; `-o jsonl`: a document each), and dropped.
    Lines,
    /// Written into the `--json` document as they come (its `candidates` first); the backups
    /// retention keeps are held for its end.
    Document,
}

impl Sink {
    pub(super) fn of(out: output::Output) -> Sink {
        if out.is_jsonl() || (out.quiet && !out.is_json()) {
            Sink::Lines
        } else if out.is_json() {
            Sink::Document
        } else {
            Sink::Table
        }
    }
}

/// Everything `cleanup` found and did.
#[derive(Debug)]
pub(super) struct Reports {
    pub(super) sink: Sink,
    /// The candidates held for the table ([`Sink::Table`] only).
    pub(super) candidates: Vec<CandidateReport>,
    /// The backups retention keeps, held for the table or the document's end.
    pub(super) kept: Vec<KeptReport>,
    /// Whether the `--json` document's start has been written.
    opened: bool,
    /// What became of every candidate, held or not: for the exit code, the summary and the
    /// hook.
    pub(super) tally: Tally,
    pub(super) listed: Listed,
}

/// What became of the candidates, counted.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) candidates: usize,
    pub(super) outcomes: std::collections::BTreeMap<&'static str, usize>,
    /// The first failure: its exit class and what it said.
    pub(super) first_failure: Option<(Exit, String)>,
}

impl Tally {
    /// How many candidates had `outcome` (`deleted`, `queued`…).
    pub(super) fn count(&self, outcome: &str) -> usize {
        self.outcomes.get(outcome).copied().unwrap_or(0)
    }
}

impl Reports {
    pub(super) fn new(sink: Sink) -> Reports {
        Reports {
            sink,
            candidates: Vec::new(),
            kept: Vec::new(),
            opened: false,
            tally: Tally::default(),
            listed: Listed::default(),
        }
    }

    /// Takes in a part of a run's candidates and kept backups: counted, then held, written or
    /// printed as the [`Sink`] says.
    pub(super) fn add(
        &mut self,
        out: output::Output,
        deleting: bool,
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
        match self.sink {
            Sink::Table => {
                self.candidates.extend(candidates);
                self.kept.extend(kept);
                return Ok(());
            }
            Sink::Document => {
                for candidate in candidates {
                    let start = if std::mem::replace(&mut self.opened, true) {
                        ","
                    } else {
                        DOCUMENT_START
                    };
                    // Through a `Value`: keys in the same order as the rest of the document's.
                    out.json_piece(start, &to_value(&candidate)?)?;
                }
                self.kept.extend(kept);
                return Ok(());
            }
            Sink::Lines => {}
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
pub(super) struct Listed {
    /// Records read.
    pub(super) records: usize,
    /// Records that could not be read (never candidates): the clean-up is incomplete.
    pub(super) unreadable: Vec<String>,
}

/// What happened to one candidate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CandidateReport {
    #[serde(serialize_with = "output::record_json")]
    pub(super) record: BackupRecord,
    pub(super) reason: String,
    pub(super) reason_code: &'static str,
    pub(super) deleted: bool,
    /// Why deleting it failed; in JSON its message exactly as the server said it (`error`), its
    /// `exitCode` and `apiCode`, as a failed item of `record delete` says them.
    #[serde(
        flatten,
        serialize_with = "failure_fields",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) error: Option<CliError>,
    /// With `--yes`: what happened to it, as a code and in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) outcome: Option<&'static str>,
    /// With a grace window: when `pending apply` deletes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) due_at: Option<chrono::DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) outcome_text: Option<String>,
    /// The exit class of the failure, for the exit code.
    #[serde(skip)]
    pub(super) failure: Option<Exit>,
}

/// `{"error", "exitCode", "apiCode"}` of a failed delete, flattened into its candidate.
pub(super) fn failure_fields<S: serde::Serializer>(
    error: &Option<CliError>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
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
    pub(super) fn new(candidate: Candidate) -> CandidateReport {
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
    pub(super) fn queued(
        &mut self,
        queued: &crate::pending::Queued,
        first: bool,
        now: chrono::DateTime<Utc>,
    ) {
        self.outcome = Some(if first { "queued" } else { "already-queued" });
        self.due_at = Some(queued.due_at);
        self.outcome_text = Some(pending::due_text(queued, now));
    }

    /// Whether it went, or (with a grace window) is on its way.
    pub(super) fn is_done(&self) -> bool {
        self.deleted || self.outcome == Some("queued")
    }

    /// Takes in what the bulk engine did with it.
    pub(super) fn settle(&mut self, outcome: &Outcome) {
        let code = match outcome {
            Outcome::Deleted { .. } => "deleted",
            Outcome::GoneUnproven { .. } => "gone-unproven",
            Outcome::AlreadyGone => "already-gone",
            Outcome::Changed { .. } => "kept-changed",
            Outcome::Failed(error) => {
                let error = CliError::under_lock(error.clone());
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
    pub(super) fn not_attempted(&mut self, why: &str) {
        self.outcome = Some("not-attempted");
        self.outcome_text = Some(format!("not sent: {why}"));
        self.failure = Some(Exit::Conflict);
    }
}

/// A module that could not be cleaned at all. In JSON: `{"moduleCode", "error", "exitCode",
/// "apiCode"}`, read from the failure.
#[derive(Debug)]
pub(super) struct SkippedModule {
    pub(super) module: ModuleCode,
    pub(super) cause: CliError,
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

/// A `-o jsonl` document of clean-up: `item` with its `kind` and whether it was a dry run.
pub(super) fn tagged(kind: &str, deleting: bool, mut item: serde_json::Value) -> serde_json::Value {
    if let Some(object) = item.as_object_mut() {
        object.insert("kind".into(), kind.into());
        object.insert("dryRun".into(), (!deleting).into());
    }
    item
}

pub(super) const CANDIDATE_HEADERS: [&str; 5] = ["RECORD ID", "MODULE", "DEVICE", "CREATED", "REASON"];

/// A record clean-up deletes or keeps, with why.
pub(super) fn candidate_row(record: &BackupRecord, reason: &str) -> Vec<String> {
    vec![
        record.record_id.clone(),
        record.module_code.label(),
        record.device_info.device_id.clone(),
        output::local_minutes(record.create_time),
        reason.to_string(),
    ]
}

pub(super) fn to_value(item: &impl Serialize) -> Result<serde_json::Value, CliError> {
    serde_json::to_value(item)
        .map_err(|e| CliError::failure(format!("cannot encode the output as JSON: {e}")))
}

pub(super) fn print(
    ctx: &Context,
    args: &CleanupArgs,
    rules: &CleanupRules,
    all: &Reports,
    skipped: &[SkippedModule],
    grace: Option<chrono::Duration>,
) -> Result<(), CliError> {
    let out = ctx.out;
    let reports = &all.candidates;
    if all.sink == Sink::Document {
        // The rest of the document its candidates began (keys in the order serde_json writes
        // an object's: `candidates`, `dryRun`, `kept`, `retention`, `skippedModules`).
        let start = if all.opened { "]" } else { "{\"candidates\":[]" };
        out.json_piece(&format!("{start},\"dryRun\":"), &!args.yes)?;
        out.json_piece(",\"kept\":", &to_value(&all.kept)?)?;
        out.json_piece(",\"retention\":", &rules.retention.map(|policy| policy.to_text()))?;
        out.json_piece(",\"skippedModules\":", skipped)?;
        return out.raw("}");
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
    // What happened to the rest, in words on stderr, as `record delete` says it: a warning for
    // what was meant to go and did not (kept because it changed, never sent), a note for what
    // was gone already.
    for report in reports
        .iter()
        .filter(|r| args.yes && !r.is_done() && r.error.is_none())
    {
        let text = format!(
            "record {}: {}",
            report.record.record_id,
            report.outcome_text.as_deref().unwrap_or("not sent")
        );
        if report.failure.is_some() || report.outcome == Some("kept-changed") {
            out.warn(&text);
        } else {
            out.note(&format!("note: {text}"));
        }
    }
    if !done.is_empty() {
        let rows: Vec<Vec<String>> = done.iter().map(|r| candidate_row(&r.record, &r.reason)).collect();
        out.print_table(&out.table(&CANDIDATE_HEADERS, &rows))?;
    }
    out.note(&summary(args.yes, &all.tally, skipped, grace));
    Ok(())
}

/// How the `--json` document begins, before its first candidate.
const DOCUMENT_START: &str = "{\"candidates\":[";

/// What clean-up did, in a sentence for stderr.
pub(super) fn summary(
    deleting: bool,
    tally: &Tally,
    skipped: &[SkippedModule],
    grace: Option<chrono::Duration>,
) -> String {
    let candidates = crate::format::count(tally.candidates, "candidate");
    if tally.candidates == 0 && skipped.is_empty() {
        "no clean-up candidates".into()
    } else if tally.candidates == 0 {
        let modules: Vec<String> = skipped.iter().map(|m| m.module.to_string()).collect();
        format!(
            "no clean-up candidates in the modules that could be checked; not checked: {}",
            modules.join(", ")
        )
    } else if let Some(grace) = grace {
        let queued = tally.count("queued");
        format!(
            "queued {queued} of {candidates} for deletion after {}; nothing was deleted now. \
             `koobackup pending apply` deletes them once due, if their rule still chooses them; \
             `koobackup pending cancel` takes them back",
            crate::format::age(grace)
        )
    } else if deleting {
        output::deleted_of(
            tally.count("deleted"),
            &candidates,
            &[
                (tally.count("failed"), "failed"),
                (tally.count("not-attempted"), "not sent"),
                (tally.count("kept-changed"), "kept (changed meanwhile)"),
                (tally.count("already-gone"), "gone already"),
                (tally.count("gone-unproven"), "gone (not provably by this run)"),
            ],
        )
    } else {
        format!("{candidates}; nothing was deleted (dry run). Run again with --yes to delete them")
    }
}
