//! How the locks pane takes the answer to each call it asked for.

use super::update::{Out, journal_write};
use super::{Busy, Holder, LockEntry, Pending, State};
use crate::api::error::LOCK_NOT_FOUND;
use crate::api::{ApiError, LockInfo};
use crate::lease::{Purpose, schedule};
use crate::tui::action::{ApiOutcome, Effect, JournalChange};
use crate::tui::feature::{Ctx, LogKind};

/// How a release ended, for the quit prompt's "release them, then quit".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    Yes,
    Failed,
}

impl State {
    /// The answer to a call of this feature. A release also says how it ended.
    pub fn on_reply(
        &mut self,
        pending: Pending,
        outcome: ApiOutcome,
        ctx: &Ctx,
    ) -> (Vec<Out>, Option<Released>) {
        match (pending, outcome) {
            (Pending::Create { module, purpose }, ApiOutcome::LockCreated(result)) => {
                self.creating.retain(|m| *m != module);
                match result {
                    Ok(lock) => (self.created(lock, purpose, ctx), None),
                    Err(_) => (Vec::new(), None),
                }
            }
            (
                Pending::Renew {
                    lock_id,
                    auto,
                    after_expiry,
                },
                ApiOutcome::LockRenewed(result),
            ) => {
                let mut outs = self.renewed(&lock_id, auto, result.clone(), ctx);
                if let (Some(expired_at), Ok(_)) = (after_expiry, &result) {
                    outs.extend(lapsed(&lock_id, expired_at));
                }
                (outs, None)
            }
            (Pending::Adopt { lock_id }, ApiOutcome::LockRenewed(result)) => {
                (self.adopted(&lock_id, result), None)
            }
            (Pending::Release { lock_id }, ApiOutcome::LockReleased(result)) => {
                let (outs, released) = self.released(&lock_id, result.as_ref().err(), ctx);
                (outs, Some(released))
            }
            (pending, outcome) => {
                // Only reachable if the runtime answered a request with the wrong kind of
                // outcome: log it rather than guess.
                let text = format!("unexpected answer {outcome:?} to {pending:?}");
                (vec![Out::log(LogKind::Warning, "internal", text)], None)
            }
        }
    }

    fn created(&mut self, lock: LockInfo, purpose: Purpose, ctx: &Ctx) -> Vec<Out> {
        let entry = LockEntry::new(lock, false, Holder::App(purpose));
        let journal = journal_write(&entry);
        self.push(entry, ctx.visible_rows);
        vec![journal]
    }

    fn renewed(
        &mut self,
        lock_id: &str,
        auto: bool,
        result: Result<LockInfo, ApiError>,
        ctx: &Ctx,
    ) -> Vec<Out> {
        let now = ctx.now;
        let Some(entry) = self.find_mut(lock_id) else {
            return Vec::new();
        };
        // A release started meanwhile (quit prompt) owns the busy marker now.
        if entry.busy == Some(Busy::Renewing) {
            entry.busy = None;
        }
        match result {
            Ok(lock) => {
                entry.renewed(lock);
                vec![journal_write(entry)]
            }
            Err(error) => {
                if error.code() == Some(LOCK_NOT_FOUND) {
                    entry.gone = true;
                }
                // Whatever runs under a lost lock must stop (a bulk delete launches no more).
                let lost = schedule::is_lost(&error).then(|| Out::LockLost(lock_id.to_string()));
                if !auto || !entry.auto_renew {
                    return lost.into_iter().collect();
                }
                let failures = entry.auto_renew_failures + 1;
                if !entry.auto_renew_failed(&error, now, ctx.session.lock_ttl) {
                    return Vec::new();
                }
                let text = format!("gave up auto-renewing {lock_id} after {failures} failure(s): {error}");
                let mut outs = vec![
                    journal_write(entry),
                    Out::log(LogKind::Warning, "auto-renew", text.clone()),
                    Out::Error(text),
                ];
                outs.extend(lost);
                outs
            }
        }
    }

    fn adopted(&mut self, lock_id: &str, result: Result<LockInfo, ApiError>) -> Vec<Out> {
        let Some(entry) = self.find_mut(lock_id) else {
            return Vec::new();
        };
        entry.busy = None;
        match result {
            Ok(lock) => {
                entry.renewed(lock);
                entry.holder = Holder::App(Purpose::App { adopted: true });
                vec![journal_write(entry)]
            }
            // An entry of another holder stays as it was; a typed id was never shown to be ours
            // and was never journalled, so it simply goes away.
            Err(_) if entry.seen_in_journal => Vec::new(),
            Err(_) => {
                self.remove(lock_id);
                Vec::new()
            }
        }
    }

    fn released(&mut self, lock_id: &str, error: Option<&ApiError>, ctx: &Ctx) -> (Vec<Out>, Released) {
        let mut outs = Vec::new();
        match error {
            None => {}
            Some(e) if e.code() == Some(LOCK_NOT_FOUND) => {
                let text = format!("the server no longer knows {lock_id}; removed it from the journal");
                outs.push(Out::log(LogKind::Info, "release", text));
            }
            Some(error) => {
                if let Some(entry) = self.find_mut(lock_id) {
                    entry.busy = None;
                    if entry.holder.is_for_operation() && entry.is_live(ctx.now) {
                        outs.push(release_again_later(entry, error, ctx));
                    }
                }
                // The orphan stays: the operation waiting behind it gets no lock.
                if self.after_release.as_ref().is_some_and(|(id, ..)| id == lock_id) {
                    self.after_release = None;
                }
                return (outs, Released::Failed);
            }
        }
        self.remove(lock_id);
        self.pinned.remove(lock_id);
        outs.push(Out::Effect(Effect::Journal(JournalChange::Remove {
            lock_id: lock_id.to_string(),
        })));
        if let Some((_, module, purpose)) = self.after_release.take_if(|(id, ..)| id == lock_id) {
            outs.extend(self.create(module, purpose));
        }
        (outs, Released::Yes)
    }
}

/// Schedules another release of an operation's lock whose release failed (the pace of renewal
/// retries, [`schedule::retry_delay`]), and says so: until it lands, the module waits for it.
fn release_again_later(entry: &mut LockEntry, error: &ApiError, ctx: &Ctx) -> Out {
    entry.release_failures += 1;
    let left = entry.lock.time_left(ctx.now);
    let delay = schedule::retry_delay(ctx.session.lock_ttl, entry.release_failures, left);
    entry.release_again_at = Some(ctx.now + delay);
    Out::log(
        LogKind::Warning,
        "release",
        format!(
            "could not release the lock of {} ({}): {error}; trying again in {} s — until then \
             {} waits for it",
            entry.holder.label(),
            crate::tui::widgets::short_lock_id(entry.id()),
            delay.num_seconds().max(1),
            entry.lock.module
        ),
    )
}

/// A renewal the server accepted after the lock had expired by our clock (the machine was
/// suspended, or the clock jumped): the lock is held again, but what ran under it was not
/// protected in between, so it stops, as the command line's keeper stops its COMMAND.
fn lapsed(lock_id: &str, expired_at: chrono::DateTime<chrono::Utc>) -> Vec<Out> {
    let text = format!(
        "lock {} ran out at {} before it was renewed (the machine slept or its clock jumped): it \
         is held again, but nothing ran under its protection in between; an operation under it \
         stops",
        crate::tui::widgets::short_lock_id(lock_id),
        crate::format::local_time(expired_at)
    );
    vec![
        Out::log(LogKind::Warning, "renew", text),
        Out::LockLost(lock_id.to_string()),
    ]
}
