//! What the bulk delete's dialogs do: the confirmation (the number typed), the run (scrolling,
//! cancelling), its progress as results come in, and stopping it (the lock lost, the app ending).

use std::collections::BTreeSet;

use super::BulkRun;
use crate::bulk::Outcome;
use crate::tui::action::{BulkProgress, Effect};
use crate::tui::feature::{Ctx, LogKind};
use crate::tui::keymap::Command;
use crate::tui::records::dialogs::{BulkConfirm, Dialog};
use crate::tui::records::update::Out;
use crate::tui::records::{LockedOp, State};

/// Records a page key scrolls the bulk-delete list by (what it shows at most).
const BULK_LIST_PAGE: usize = 8;

impl State {
    pub(in crate::tui::records) fn bulk_confirm_command(
        &mut self,
        mut confirm: BulkConfirm,
        command: Command,
        ctx: &Ctx,
    ) -> Vec<Out> {
        match command {
            Command::Up | Command::PageUp => {
                let step = if command == Command::Up { 1 } else { BULK_LIST_PAGE };
                confirm.scroll = confirm.scroll.saturating_sub(step);
            }
            Command::Down | Command::PageDown => {
                let step = if command == Command::Down {
                    1
                } else {
                    BULK_LIST_PAGE
                };
                confirm.scroll = (confirm.scroll + step).min(confirm.record_ids.len().saturating_sub(1));
            }
            Command::Cancel => {
                return vec![Out::notice(format!(
                    "nothing deleted: {} records kept",
                    confirm.record_ids.len()
                ))];
            }
            Command::ClearInput => {
                confirm.typed.reset();
                confirm.error = None;
            }
            Command::Confirm if confirm.is_confirmed() && ctx.session.delete_grace.is_some() => {
                // As loaded now (what the dialog listed); a record gone from the list meanwhile
                // is left out.
                let chosen = confirm
                    .record_ids
                    .iter()
                    .filter_map(|id| self.find(id))
                    .map(|row| (row.record.clone(), confirm.module, confirm.why(row.id())))
                    .collect();
                return self.queue_deletes(chosen, ctx);
            }
            Command::Confirm if confirm.is_confirmed() => {
                let op = LockedOp::BulkDelete {
                    targets: confirm.targets,
                };
                return self.with_lock(confirm.module, op, ctx);
            }
            Command::Confirm => {
                let n = confirm.record_ids.len();
                confirm.error = Some(format!("type {n} (the number of records) to delete them"));
            }
            _ => {}
        }
        self.dialog = Some(Dialog::ConfirmBulk(confirm));
        Vec::new()
    }

    pub(in crate::tui::records) fn bulk_command(&mut self, mut run: BulkRun, command: Command) -> Vec<Out> {
        let mut outs = Vec::new();
        match command {
            Command::Cancel if run.finished => return outs,
            Command::Cancel if !run.stopping => {
                run.stopping = true;
                outs.push(Out::Effect(Effect::CancelBulkDelete(run.cancel.clone())));
            }
            Command::Up => run.scroll(-1),
            Command::Down => run.scroll(1),
            _ => {}
        }
        self.dialog = Some(Dialog::Bulk(run));
        outs
    }

    /// The app is ending: a bulk delete under way sends nothing more (the answers to what it
    /// sent still come, for a short while, and its lock is then released).
    pub fn stop_for_exit(&mut self) -> Vec<Out> {
        match &mut self.dialog {
            Some(Dialog::Bulk(run)) if !run.finished && !run.stopping => {
                run.stopping = true;
                vec![Out::Effect(Effect::CancelBulkDelete(run.cancel.clone()))]
            }
            _ => Vec::new(),
        }
    }

    /// Whether a bulk delete has not ended yet.
    pub fn bulk_under_way(&self) -> bool {
        matches!(&self.dialog, Some(Dialog::Bulk(run)) if !run.finished)
    }

    /// A lock this app holds is lost: a bulk delete under it launches nothing more.
    pub fn on_lock_lost(&mut self, lock_id: &str) -> Vec<Out> {
        match &mut self.dialog {
            Some(Dialog::Bulk(run)) if run.lock_id == lock_id && !run.finished && !run.stopping => {
                run.stopping = true;
                run.lock_lost = true;
                let text = format!("the lock {lock_id} was lost: no further record is deleted");
                vec![
                    Out::Effect(Effect::CancelBulkDelete(run.cancel.clone())),
                    Out::log(LogKind::Warning, "bulk delete", text.clone()),
                    Out::notice(text),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// One result of a running bulk delete, or its end. Records that could not be deleted stay
    /// marked, so that `d` tries them again.
    pub fn on_bulk_progress(&mut self, progress: BulkProgress, ctx: &Ctx) -> Vec<Out> {
        let rows = ctx.visible_rows;
        match progress {
            BulkProgress::Deleted {
                job,
                record_id,
                outcome,
            } => {
                let mut outs = Vec::new();
                match &outcome {
                    Outcome::Failed(error) => {
                        let text = format!("bulk delete of {record_id}: {error}");
                        outs.push(Out::log(LogKind::Failure(error.code()), "delete", text));
                    }
                    Outcome::Deleted { .. } => {}
                    other => {
                        let text = format!("bulk delete of {record_id}: {}", other.describe());
                        outs.push(Out::log(LogKind::Info, "delete", text));
                    }
                }
                if let Outcome::Changed { now, .. } = &outcome {
                    self.replace((**now).clone());
                }
                let gone = outcome.is_gone();
                match self.dialog.as_mut() {
                    Some(Dialog::Bulk(run)) if run.job == job => run.record_result(record_id, outcome),
                    // Not shown any more: still keep the list true.
                    _ if gone => self.remove(&BTreeSet::from([record_id]), rows),
                    _ => self.mark([record_id]),
                }
                outs
            }
            BulkProgress::Finished {
                job,
                cancelled,
                lock_lost,
            } => {
                let Some(Dialog::Bulk(run)) = &mut self.dialog else {
                    return Vec::new();
                };
                if run.job != job {
                    return Vec::new();
                }
                run.finished = true;
                run.cancelled = cancelled;
                run.lock_lost |= lock_lost;
                let gone: BTreeSet<String> = run.deleted.union(&run.gone).cloned().collect();
                let failed: Vec<String> = run.failures.iter().map(|f| f.record_id.clone()).collect();
                let headline = format!("bulk delete in {}: {}", run.module.code(), run.headline());
                let kind = if failed.is_empty() && run.kept.is_empty() {
                    LogKind::Info
                } else {
                    LogKind::Warning
                };
                let lock_id = run.lock_id.clone();
                let release = run.release_lock;
                self.remove(&gone, rows);
                self.mark(failed);
                let mut outs = vec![
                    Out::log(kind, "bulk delete", headline.clone()),
                    Out::notice(headline),
                    Out::UnpinLock(lock_id.clone()),
                ];
                if release {
                    outs.push(Out::ReleaseLock(lock_id));
                }
                outs
            }
        }
    }
}
