//! The question asked when the history cannot be written: a change that would leave no other
//! trace (a delete, an unbind) came back from the runtime unsent ([`Action::Unrecorded`]). The
//! app asks, one change at a time: `y` sends it without history; `n` or Esc answers it as not
//! sent, so the feature that asked hears "nothing was sent" as it would any failure.

use std::time::Duration;

use super::App;
use crate::api::ApiError;
use crate::tui::action::{Action, ApiReply, BulkProgress, Effect, Unrecorded};
use crate::tui::keymap::Command;
use crate::tui::shell::activity::Outcome;

impl App {
    /// The change waiting for the user's word, if any: the question on top of everything.
    pub fn asking(&self) -> Option<&Unrecorded> {
        self.asks.front()
    }

    pub(super) fn on_unrecorded(&mut self, unrecorded: Unrecorded) {
        let text = format!(
            "not sent yet: the history cannot be written ({}); {}?",
            unrecorded.why,
            unrecorded.what().to_lowercase()
        );
        self.activity.note(self.now, Outcome::Warning, "history", text);
        self.asks.push_back(unrecorded);
    }

    /// The user's answer to the question on top.
    pub(super) fn answer_unrecorded(&mut self, command: Command) -> Vec<Effect> {
        if !matches!(command, Command::Confirm | Command::Cancel) {
            return Vec::new();
        }
        let Some(unrecorded) = self.asks.pop_front() else {
            return Vec::new();
        };
        if command == Command::Cancel {
            return self.not_sent(unrecorded);
        }
        let text = format!("{} without history: sent", unrecorded.what());
        self.activity.note(self.now, Outcome::Warning, "history", text);
        vec![Effect::WithoutHistory(Box::new(unrecorded.effect))]
    }

    /// Every change still waiting is answered as not sent (the app ends, or another connection
    /// is in use).
    pub(super) fn drop_unrecorded(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        while let Some(unrecorded) = self.asks.pop_front() {
            effects.extend(self.not_sent(unrecorded));
        }
        effects
    }

    /// Answers `unrecorded` as not sent, to whoever asked for it.
    fn not_sent(&mut self, unrecorded: Unrecorded) -> Vec<Effect> {
        let what = unrecorded.what();
        let text = format!("{what}: not sent, since the history cannot be written");
        self.activity
            .note(self.now, Outcome::Info, "history", text.clone());
        self.status.notice = Some(text);
        let cause = format!(
            "the history cannot be written ({}) and you said not without it",
            unrecorded.why
        );
        match unrecorded.effect {
            Effect::Api { request, call } => match call.not_sent(ApiError::NotSent { cause }) {
                Some(outcome) => self.on_api_reply(ApiReply {
                    request,
                    outcome,
                    latency: Duration::ZERO,
                    finished_at: self.now,
                    clock_offset: None,
                }),
                None => Vec::new(),
            },
            Effect::StartBulkDelete(job) => self.dispatch(Action::Bulk(BulkProgress::Finished {
                job: job.job,
                cancelled: true,
                lock_lost: false,
            })),
            _ => Vec::new(),
        }
    }
}
