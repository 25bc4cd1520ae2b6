//! Deletes with a grace window, on the record side: with the profile's `delete_grace` in force a
//! confirmed delete (one record, many, or the clean-up's) is queued instead of sent (see
//! [`crate::pending`]), and `u` takes queued deletions back. The queue's file is read and
//! written by the runtime ([`Effect::QueueDeletes`], [`Effect::CancelQueued`]); what it holds
//! comes back through [`State::set_queued`] and marks the list.

use super::State;
use super::update::Out;
use crate::api::{BackupRecord, ModuleCode};
use crate::pending::Why;
use crate::tui::action::{Effect, QueueJob};
use crate::tui::feature::Ctx;

impl State {
    /// Queues `chosen` (each record with its module and why) under the session's grace window;
    /// they are unmarked, and marked queued once the queue says so. Nothing is sent.
    pub(super) fn queue_deletes(
        &mut self,
        chosen: Vec<(BackupRecord, ModuleCode, Why)>,
        ctx: &Ctx,
    ) -> Vec<Out> {
        let Some(grace) = ctx.session.delete_grace else {
            return Vec::new();
        };
        for (record, _, _) in &chosen {
            self.marked.remove(&record.record_id);
        }
        let n = chosen.len();
        vec![
            Out::Effect(Effect::QueueDeletes(QueueJob { chosen, grace })),
            Out::notice(format!("queueing the deletion of {n} record(s)…")),
        ]
    }

    /// Under a grace window, `d` on a record whose deletion is already queued (the selected
    /// one, nothing marked) says so instead of asking to queue it again, which would change
    /// nothing: its first due time stands.
    pub(super) fn already_queued(&self, ctx: &Ctx) -> Option<Out> {
        ctx.session.delete_grace?;
        if !self.marked.is_empty() {
            return None;
        }
        let row = self.selected()?;
        let queued = self.queued.get(row.id())?;
        let now = ctx.server_now();
        let when = if queued.claim.is_some() {
            "being applied now".to_string()
        } else if queued.is_due(now) {
            "due now".to_string()
        } else {
            format!("due in {}", queued.left(now))
        };
        // Short, and without the record id (it is the selected row): the footer of an
        // 80-column terminal has room for about this much.
        Some(Out::notice(format!("already queued, {when}; u takes it back")))
    }

    /// `u`: takes back the queued deletions of the marked records (those queued), else of the
    /// selected one.
    pub(super) fn cancel_queued(&mut self) -> Vec<Out> {
        let marked: Vec<String> = self
            .marked
            .iter()
            .filter(|id| self.queued.contains_key(*id))
            .cloned()
            .collect();
        let ids = if marked.is_empty() {
            match self.selected() {
                Some(row) if self.queued.contains_key(row.id()) => vec![row.id().to_string()],
                Some(row) => {
                    return vec![Out::notice(format!(
                        "record {}: no deletion of it is queued",
                        row.id()
                    ))];
                }
                None => return vec![Out::notice("no record selected")],
            }
        } else {
            marked
        };
        vec![Out::Effect(Effect::CancelQueued(ids))]
    }
}
