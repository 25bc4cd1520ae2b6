//! The queue of pending deletions as the app hears of it: each reading goes to the `:pending`
//! pane, the records pane and the Devices view (this connection's entries mark their records);
//! what queueing or cancelling did is said in the footer and the activity log.

use super::App;
use crate::format;
use crate::pending::Queued;
use crate::tui::action::{PendingRead, QueueChange};
use crate::tui::shell::activity::Outcome;

impl App {
    pub(super) fn on_pending_read(&mut self, read: Result<PendingRead, String>) {
        match &read {
            Ok(read) => {
                let here: Vec<Queued> = read
                    .entries
                    .iter()
                    .filter(|q| read.here.contains(&q.record_id))
                    .cloned()
                    .collect();
                self.devices.set_queued(&here);
                self.records.set_queued(here);
            }
            Err(message) => {
                let text = format!("cannot read the queue of pending deletions: {message}");
                self.activity.note(self.now, Outcome::Warning, "pending", text);
            }
        }
        let rows = self.visible_rows();
        self.pending_pane.on_read(read, rows);
    }

    pub(super) fn on_queue_changed(&mut self, change: QueueChange) {
        match change {
            QueueChange::Queued {
                added,
                already,
                unrecorded,
            } => {
                for queued in &already {
                    let text = format!(
                        "record {} was queued already, due at {}: left as it was",
                        queued.record_id,
                        self.session.minutes(queued.due_locally())
                    );
                    self.activity.note(self.now, Outcome::Info, "pending", text);
                }
                if let Some(first) = added.first() {
                    let text = format!(
                        "queued the deletion of {}: deleted after {} (in {}) by `koobackup pending \
                         apply`; u takes it back until then",
                        format::count(added.len(), "record"),
                        self.session.minutes(first.due_locally()),
                        format::age(first.due_at - self.server_now())
                    );
                    self.activity
                        .note(self.now, Outcome::Info, "pending", text.clone());
                    self.status.notice = Some(text);
                } else if !already.is_empty() {
                    self.status.notice = Some("queued already: nothing changed".into());
                }
                if let Some(why) = unrecorded {
                    self.warn(
                        "history",
                        format!("{why}: the queued deletions are missing from the history"),
                    );
                }
            }
            QueueChange::Cancelled {
                asked,
                cancelled,
                busy,
                unrecorded,
            } => {
                for queued in &busy {
                    let holder = queued
                        .claim
                        .as_ref()
                        .map_or_else(|| "a pending apply".into(), |owner| owner.describe());
                    self.warn(
                        "pending",
                        format!(
                            "record {}: not cancelled: {holder} is sending its deletion now",
                            queued.record_id
                        ),
                    );
                }
                let missing = asked
                    .iter()
                    .filter(|id| !cancelled.iter().chain(&busy).any(|q| &&q.record_id == id))
                    .count();
                if !cancelled.is_empty() {
                    let text = format!(
                        "cancelled the deletion of {}: kept",
                        format::count(cancelled.len(), "record")
                    );
                    self.activity
                        .note(self.now, Outcome::Info, "pending", text.clone());
                    self.status.notice = Some(text);
                } else if busy.is_empty() && missing > 0 {
                    self.status.notice = Some("no deletion of it is queued (any more)".into());
                }
                if let Some(why) = unrecorded {
                    self.warn(
                        "history",
                        format!("{why}: the cancellations are missing from the history"),
                    );
                }
            }
            QueueChange::Failed { queueing, why } => {
                let text = if queueing {
                    format!("{why}; nothing was queued or deleted")
                } else {
                    format!("{why}; nothing was cancelled")
                };
                self.warn("pending", text);
            }
        }
    }
}
