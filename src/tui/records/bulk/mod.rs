//! A bulk delete as the app sees it: how many records are done, which were kept because they
//! changed, which were gone already, which failed and why, and whether it was stopped. The
//! deleting itself happens in the runtime (`effects`, through the bulk engine).

mod update;
pub mod view;

use std::collections::BTreeSet;

use crate::api::{ApiError, ModuleCode};
use crate::bulk::Outcome;
use crate::tui::action::{CancelFlag, JobId};

/// One record that could not be deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub record_id: String,
    /// KooDrive's code, when the server sent one.
    pub code: Option<i64>,
    /// The server's message (or what went wrong on the way), as the user should read it.
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct BulkRun {
    pub job: JobId,
    pub module: ModuleCode,
    pub lock_id: String,
    pub total: usize,
    /// Deleted by this run (the server confirmed each).
    pub deleted: BTreeSet<String>,
    /// Gone, but not provably by this run (already gone, or not found on a repeat).
    pub gone: BTreeSet<String>,
    /// Kept because they changed since they were chosen, with why.
    pub kept: Vec<(String, String)>,
    pub failures: Vec<Failure>,
    pub cancel: CancelFlag,
    /// The user asked to stop; deletes in flight still report.
    pub stopping: bool,
    pub finished: bool,
    /// Some records were never attempted because the run was stopped.
    pub cancelled: bool,
    /// It was stopped because its lock was lost.
    pub lock_lost: bool,
    /// The lock was taken for this run alone: released when it ends.
    pub release_lock: bool,
    /// First line of the summary shown (it scrolls).
    pub scroll: usize,
}

impl BulkRun {
    pub fn new(job: JobId, module: ModuleCode, lock_id: String, total: usize) -> BulkRun {
        BulkRun {
            job,
            module,
            lock_id,
            total,
            deleted: BTreeSet::new(),
            gone: BTreeSet::new(),
            kept: Vec::new(),
            failures: Vec::new(),
            cancel: CancelFlag::default(),
            stopping: false,
            finished: false,
            cancelled: false,
            lock_lost: false,
            release_lock: false,
            scroll: 0,
        }
    }

    pub fn record_result(&mut self, record_id: String, outcome: Outcome) {
        match outcome {
            Outcome::Deleted { .. } => {
                self.deleted.insert(record_id);
            }
            Outcome::GoneUnproven { .. } | Outcome::AlreadyGone => {
                self.gone.insert(record_id);
            }
            Outcome::Changed { .. } => {
                let why = outcome.describe();
                self.kept.push((record_id, why));
            }
            Outcome::Failed(error) => self.failures.push(Failure {
                record_id,
                code: error.code(),
                message: failure_message(&error),
            }),
        }
    }

    pub fn done(&self) -> usize {
        self.deleted.len() + self.gone.len() + self.kept.len() + self.failures.len()
    }

    /// Records neither deleted nor failed: still to come, or never attempted after a stop.
    pub fn untouched(&self) -> usize {
        self.total.saturating_sub(self.done())
    }

    /// Share of the records handled so far, 0.0 to 1.0.
    pub fn ratio(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.done() as f64 / self.total as f64
        }
    }

    /// One line saying how the run ended (or stands).
    pub fn headline(&self) -> String {
        let failed = self.failures.len();
        let mut text = format!("deleted {} of {}", self.deleted.len(), self.total);
        if !self.kept.is_empty() {
            text.push_str(&format!(", {} kept (changed meanwhile)", self.kept.len()));
        }
        if !self.gone.is_empty() {
            text.push_str(&format!(", {} gone already", self.gone.len()));
        }
        if failed > 0 {
            text.push_str(&format!(", {failed} failed"));
        }
        if self.cancelled {
            let why = if self.lock_lost {
                "the lock was lost"
            } else {
                "stopped"
            };
            text.push_str(&format!(", {why}: {} left untouched", self.untouched()));
        }
        text
    }

    pub fn scroll(&mut self, delta: isize) {
        let max = (self.failures.len() + self.kept.len()).saturating_sub(1);
        self.scroll = self.scroll.saturating_add_signed(delta).min(max);
    }
}

/// The server's own message when it sent one (the summary shows the code beside it), else the
/// full explanation.
fn failure_message(error: &ApiError) -> String {
    match error {
        ApiError::Api { msg, .. } if !msg.trim().is_empty() => msg.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error() -> ApiError {
        ApiError::Api {
            status: 500,
            code: 500001.to_string(),
            msg: "internal error".into(),
        }
    }

    #[test]
    fn progress_counts_successes_and_failures() {
        let mut run = BulkRun::new(JobId(1), ModuleCode::Folder, "l@100".into(), 4);
        run.record_result("1".into(), Outcome::Deleted { was: None });
        run.record_result("2".into(), Outcome::Failed(server_error()));
        assert_eq!((run.done(), run.untouched()), (2, 2));
        assert_eq!(run.ratio(), 0.5);
        assert_eq!(
            run.failures,
            vec![Failure {
                record_id: "2".into(),
                code: Some(500001),
                message: "internal error".into()
            }]
        );
        assert_eq!(run.headline(), "deleted 1 of 4, 1 failed");
        run.cancelled = true;
        assert_eq!(
            run.headline(),
            "deleted 1 of 4, 1 failed, stopped: 2 left untouched"
        );
    }

    #[test]
    fn failures_without_a_code_keep_the_whole_explanation() {
        let mut run = BulkRun::new(JobId(1), ModuleCode::Folder, "l@100".into(), 1);
        let timeout = ApiError::Timeout {
            after: std::time::Duration::from_secs(10),
        };
        run.record_result("9".into(), Outcome::Failed(timeout));
        assert_eq!(run.failures[0].code, None);
        assert!(run.failures[0].message.contains("did not answer"));
    }

    #[test]
    fn kept_and_gone_records_are_counted_apart_from_deletes() {
        let mut run = BulkRun::new(JobId(1), ModuleCode::Folder, "l@100".into(), 4);
        run.record_result("1".into(), Outcome::Deleted { was: None });
        run.record_result("2".into(), Outcome::AlreadyGone);
        let mut now = crate::tui::test_support::record(3, crate::api::RecordStatus::Completed);
        now.version = 2;
        let chosen = crate::bulk::Chosen {
            status: crate::api::RecordStatus::New,
            version: 1,
        };
        run.record_result(
            "3".into(),
            Outcome::Changed {
                chosen,
                now: Box::new(now),
            },
        );
        assert_eq!(run.done(), 3);
        assert_eq!(
            run.headline(),
            "deleted 1 of 4, 1 kept (changed meanwhile), 1 gone already"
        );
        assert!(run.kept[0].1.contains("completed meanwhile"), "{:?}", run.kept);
    }

    #[test]
    fn an_empty_run_is_complete() {
        let run = BulkRun::new(JobId(1), ModuleCode::Folder, "l@100".into(), 0);
        assert_eq!(run.ratio(), 1.0);
    }
}
