//! How `App` takes the answer to each API call it asked for.
//!
//! Journal rule: an API error never removes a lock from the journal. Only a successful release
//! removes one, or a release answered 404002 ("lock not found"): the server no longer knows
//! the lock, so there is nothing left to release and keeping it would only nag the user. A
//! *renewal* answered 404002 keeps the lock, marked "gone", so the user sees what happened.

use super::activity::Outcome;
use super::locks::{Busy, short_id};
use super::{App, Effect, Pending};
use crate::api::{ApiError, LockInfo};
use crate::tui::action::{ApiOutcome, ApiReply, JournalChange};

/// KooDrive's "lock not found" code.
const LOCK_NOT_FOUND: i64 = 404002;

impl App {
    pub(super) fn on_api_reply(&mut self, reply: ApiReply) -> Vec<Effect> {
        self.now = self.now.max(reply.finished_at);
        self.status.clock_offset = Some(reply.clock_offset);
        let Some(pending) = self.pending.remove(&reply.request) else {
            return Vec::new();
        };
        let operation = describe(&pending);
        let result = reply.outcome.error().map_or(Ok(()), Err);
        self.activity
            .api_call(reply.finished_at, operation.clone(), result, reply.latency);
        if let Some(error) = reply.outcome.error() {
            self.status.last_error = Some((reply.finished_at, format!("{operation}: {error}")));
        }
        let mut effects = match (pending, reply.outcome) {
            (Pending::Create(module), ApiOutcome::LockCreated(result)) => {
                self.locks.creating.retain(|m| *m != module);
                match result {
                    Ok(lock) => self.lock_created(lock),
                    Err(_) => Vec::new(),
                }
            }
            (Pending::Renew { lock_id, auto }, ApiOutcome::LockRenewed(result)) => {
                self.lock_renewed(&lock_id, auto, result)
            }
            (Pending::Adopt { lock_id }, ApiOutcome::LockRenewed(result)) => {
                self.lock_adopted(&lock_id, result)
            }
            (Pending::Release { lock_id }, ApiOutcome::LockReleased(result)) => {
                self.lock_released(&lock_id, result.as_ref().err())
            }
            (Pending::Records(pending), ApiOutcome::Records(outcome)) => {
                self.on_record_reply(pending, outcome)
            }
            (pending, outcome) => {
                // Only reachable if the runtime answered a request with the wrong kind of
                // outcome: log it rather than guess.
                let text = format!("unexpected answer {outcome:?} to {pending:?}");
                self.activity.note(self.now, Outcome::Warning, "internal", text);
                Vec::new()
            }
        };
        // A record operation may have been waiting for the lock this reply created.
        effects.extend(self.resume_waiting_for_lock());
        effects.extend(self.advance_quit_plan(reply.request));
        effects
    }

    fn lock_created(&mut self, lock: LockInfo) -> Vec<Effect> {
        let entry = super::LockEntry::new(lock, false);
        let effect = App::journal_upsert(&entry);
        self.locks.entries.push(entry);
        self.locks.selected = self.locks.entries.len() - 1;
        self.locks.scroll_to_selection(self.visible_lock_rows());
        vec![effect]
    }

    fn lock_renewed(&mut self, lock_id: &str, auto: bool, result: Result<LockInfo, ApiError>) -> Vec<Effect> {
        let now = self.now;
        let Some(entry) = self.locks.find_mut(lock_id) else {
            return Vec::new();
        };
        // A release started meanwhile (quit prompt) owns the busy marker now.
        if entry.busy == Some(Busy::Renewing) {
            entry.busy = None;
        }
        match result {
            Ok(lock) => {
                entry.renewed(lock);
                vec![App::journal_update(entry)]
            }
            Err(error) => {
                if error.code() == Some(LOCK_NOT_FOUND) {
                    entry.gone = true;
                }
                if !auto || !entry.auto_renew {
                    return Vec::new();
                }
                let failures = entry.auto_renew_failures + 1;
                if !entry.auto_renew_failed(&error, now, self.session.lock_ttl) {
                    return Vec::new();
                }
                let text = format!("gave up auto-renewing {lock_id} after {failures} failure(s): {error}");
                let effect = App::journal_update(entry);
                self.activity
                    .note(now, Outcome::Warning, "auto-renew", text.clone());
                self.status.last_error = Some((now, text));
                vec![effect]
            }
        }
    }

    fn lock_adopted(&mut self, lock_id: &str, result: Result<LockInfo, ApiError>) -> Vec<Effect> {
        match result {
            Ok(lock) => {
                let Some(entry) = self.locks.find_mut(lock_id) else {
                    return Vec::new();
                };
                entry.busy = None;
                entry.renewed(lock);
                vec![App::journal_upsert(entry)]
            }
            Err(_) => {
                // Never journalled: the id was not shown to be ours, so it simply goes away.
                self.locks.remove(lock_id);
                Vec::new()
            }
        }
    }

    fn lock_released(&mut self, lock_id: &str, error: Option<&ApiError>) -> Vec<Effect> {
        match error {
            None => {}
            Some(e) if e.code() == Some(LOCK_NOT_FOUND) => {
                let text = format!("the server no longer knows {lock_id}; removed it from the journal");
                self.activity.note(self.now, Outcome::Info, "release", text);
            }
            Some(_) => {
                if let Some(entry) = self.locks.find_mut(lock_id) {
                    entry.busy = None;
                }
                if let Some(plan) = &mut self.quit_plan {
                    plan.failed = true;
                }
                return Vec::new();
            }
        }
        self.locks.remove(lock_id);
        vec![Effect::Journal(JournalChange::Remove {
            lock_id: lock_id.to_string(),
        })]
    }

    /// Quits once every release asked for by the quit prompt has answered, unless one failed.
    fn advance_quit_plan(&mut self, request: super::RequestId) -> Vec<Effect> {
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

/// The operation column of the activity log.
fn describe(pending: &Pending) -> String {
    match pending {
        Pending::Create(module) => format!("create lock {}", module.code()),
        Pending::Renew { lock_id, auto: false } => format!("renew {}", short_id(lock_id)),
        Pending::Renew { lock_id, auto: true } => format!("auto-renew {}", short_id(lock_id)),
        Pending::Adopt { lock_id } => format!("adopt {}", short_id(lock_id)),
        Pending::Release { lock_id } => format!("release {}", short_id(lock_id)),
        Pending::Records(pending) => pending.describe(),
    }
}
