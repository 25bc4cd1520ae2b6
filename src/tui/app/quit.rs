//! Quitting: at once without live locks of the app's own (on this connection or left on one
//! switched away from); otherwise the quit prompt, and with "release them" the app quits once
//! every release has answered (or stays, saying which failed).

use super::{App, Pending, QuitPlan};
use crate::tui::action::{Effect, RequestId};
use crate::tui::feature::Out;
use crate::tui::shell;

impl App {
    pub(super) fn quit(&mut self) -> Vec<Effect> {
        let live_locks = self.locks.live_ids(self.now).len();
        if live_locks == 0 && self.left_behind_labels(self.now).is_empty() {
            return vec![Effect::Quit];
        }
        self.shell = Some(shell::Dialog::QuitPrompt { live_locks });
        Vec::new()
    }

    pub(super) fn release_all_and_quit(&mut self) -> Vec<Effect> {
        let mut plan = QuitPlan::default();
        let mut effects = Vec::new();
        for lock_id in self.locks.live_ids(self.now) {
            if let Out::Call(pending, call) = self.locks.release(lock_id) {
                let (request, effect) = self.call(Pending::Locks(pending), call);
                plan.waiting.insert(request);
                effects.push(effect);
            }
        }
        if effects.is_empty() {
            return vec![Effect::Quit];
        }
        self.quit_plan = Some(plan);
        self.status.notice = Some("releasing locks, then quitting…".into());
        effects
    }

    /// Quits once every release asked for by the quit prompt has answered, unless one failed.
    pub(super) fn advance_quit_plan(&mut self, request: RequestId) -> Vec<Effect> {
        let Some(plan) = &mut self.quit_plan else {
            return Vec::new();
        };
        plan.waiting.remove(&request);
        if !plan.waiting.is_empty() {
            return Vec::new();
        }
        let failed = plan.failed;
        self.quit_plan = None;
        if failed {
            self.status.notice =
                Some("not quitting: some locks could not be released (see the log); q to try again".into());
            Vec::new()
        } else {
            vec![Effect::Quit]
        }
    }
}
