//! What the clean-up view's keys do: open it on the loaded records, tick and untick
//! candidates, and delete the ticked ones through the bulk delete (under this app's own lock or
//! one taken for it).

use super::CleanupView;
use crate::bulk::{Chosen, Target};
use crate::cleanup::{Candidate, CleanupRules};
use crate::pending::{SavedRules, Why};
use crate::tui::feature::Ctx;
use crate::tui::keymap::{Command, RecordCommand};
use crate::tui::records::dialogs::{BulkConfirm, Dialog};
use crate::tui::records::update::Out;
use crate::tui::records::{LoadState, State};

impl State {
    pub(in crate::tui::records) fn open_cleanup(&mut self, ctx: &Ctx) -> Vec<Out> {
        let Some(module) = self.module else {
            return vec![State::ask_for_module()];
        };
        let partial = !matches!(self.load, LoadState::Loaded { .. }) || self.stale.is_some();
        // Ages are measured on the server's clock, which stamped the records (or on ours, when
        // that is earlier: see `Ctx::cleanup_now`).
        let view = CleanupView::new(
            module,
            &self.records(),
            partial,
            ctx.cleanup_now(),
            ctx.session.retention,
        );
        self.dialog = Some(Dialog::Cleanup(view));
        Vec::new()
    }

    pub(in crate::tui::records) fn cleanup_command(
        &mut self,
        mut view: CleanupView,
        command: Command,
        ctx: &Ctx,
    ) -> Vec<Out> {
        let records = self.records();
        let now = ctx.cleanup_now();
        if view.editing.is_some() {
            match command {
                Command::Confirm => view.finish_editing(),
                Command::Cancel => view.cancel_editing(&records, now),
                Command::ClearInput => {
                    if let Some(editor) = &mut view.editing {
                        editor.input.reset();
                    }
                    view.rules_edited(&records, now);
                }
                _ => {}
            }
            self.dialog = Some(Dialog::Cleanup(view));
            return Vec::new();
        }
        match command {
            Command::Cancel => return Vec::new(),
            Command::Records(RecordCommand::EditRetention) => view.edit_rules(),
            Command::Up => view.move_cursor(-1),
            Command::Down => view.move_cursor(1),
            // A page is about the records pane's rows, which the view's list is near in height.
            Command::PageUp => view.move_cursor(-(ctx.visible_rows.max(1) as isize)),
            Command::PageDown => view.move_cursor(ctx.visible_rows.max(1) as isize),
            Command::HalfPageUp => view.move_cursor(-((ctx.visible_rows / 2).max(1) as isize)),
            Command::HalfPageDown => view.move_cursor((ctx.visible_rows / 2).max(1) as isize),
            Command::Top => view.move_cursor(isize::MIN / 2),
            Command::Bottom => view.move_cursor(isize::MAX / 2),
            Command::Records(RecordCommand::ToggleMark) => {
                view.toggle();
                view.move_cursor(1);
            }
            Command::Records(RecordCommand::MarkAll) => view.toggle_all(),
            Command::Records(RecordCommand::ChangeAge(step)) => view.change_age(step, &records, now),
            Command::Records(RecordCommand::ToggleMarkedForDeletion) => {
                view.toggle_marked_for_deletion(&records, now)
            }
            Command::Confirm if ctx.session.read_only => {
                self.dialog = Some(Dialog::Cleanup(view));
                return vec![Out::notice(
                    "read-only: the clean-up is a preview, nothing is deleted",
                )];
            }
            Command::Confirm => {
                let ticked = view.ticked();
                match ticked.len() {
                    0 => {
                        self.dialog = Some(Dialog::Cleanup(view));
                        return vec![Out::notice("nothing ticked: nothing to delete")];
                    }
                    1 => {
                        let record = view.candidates.iter().find(|c| c.record.record_id == ticked[0]);
                        if let Some(candidate) = record {
                            let why = rule_why(candidate, &view.rules);
                            self.dialog = Some(Dialog::ConfirmDelete(candidate.record.clone(), why));
                            return Vec::new();
                        }
                    }
                    _ => {
                        // As the clean-up view showed them: each is deleted only while still so.
                        let targets = ticked
                            .iter()
                            .map(|id| Target {
                                record_id: id.clone(),
                                chosen: view
                                    .candidates
                                    .iter()
                                    .find(|c| &c.record.record_id == id)
                                    .map(|c| Chosen::of(&c.record)),
                            })
                            .collect();
                        let mut confirm = BulkConfirm::new(view.module, targets);
                        confirm.reasons = view
                            .candidates
                            .iter()
                            .map(|c| (c.record.record_id.clone(), rule_why(c, &view.rules)))
                            .collect();
                        self.dialog = Some(Dialog::ConfirmBulk(confirm));
                        return Vec::new();
                    }
                }
            }
            _ => {}
        }
        self.dialog = Some(Dialog::Cleanup(view));
        Vec::new()
    }
}

/// Why the clean-up chose `candidate`, as a queued deletion keeps it: the rule is asked again
/// before the delete is sent.
fn rule_why(candidate: &Candidate, rules: &CleanupRules) -> Why {
    Why::Rule {
        reason: candidate.reason.to_string(),
        reason_code: candidate.reason.code().to_string(),
        rules: SavedRules::from(rules),
    }
}
