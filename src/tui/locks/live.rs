//! The locks pane kept in step with the journal file, which other koobackup processes change
//! too (a `lock hold` cron job, a second app): locks they take appear, renewals they make move
//! the countdown, locks they release go. Expiries are said in the activity log, and `X` forgets
//! the locks that are dead (expired or gone) after one confirmation.

use chrono::{DateTime, Utc};

use super::dialogs::Dialog;
use super::entry::Urgency;
use super::update::Out;
use super::{Busy, Holder, LockEntry, State};
use crate::format;
use crate::tui::action::{Effect, JournalChange, Journalled};
use crate::tui::feature::LogKind;
use crate::tui::widgets::short_lock_id;

/// More locks than this appearing at once are logged as one line.
const MANY: usize = 3;

impl State {
    /// Takes in the journal's locks for this connection (`held`), read after every change this
    /// app made. Locks another process took are added (the cursor stays), later expiries it
    /// wrote are taken over, owners it changed are shown, and locks it removed go, unless a call
    /// on them is in flight here or this app has never seen them in the file.
    pub fn reconcile(&mut self, held: Vec<Journalled>, now: DateTime<Utc>) -> Vec<Out> {
        let mut outs = Vec::new();
        let mut taken = Vec::new();
        let ids: Vec<String> = held.iter().map(|entry| entry.lock.lock_id.clone()).collect();
        for journalled in held {
            let lock = journalled.lock.clone();
            match self.find_mut(&lock.lock_id) {
                Some(entry) => {
                    entry.seen_in_journal = true;
                    if entry.busy.is_none() && lock.expires_at > entry.lock.expires_at {
                        entry.lock = lock;
                        entry.gone = false;
                    }
                    if entry.busy.is_none() {
                        entry.auto_renew = journalled.auto_renew;
                        // This app knows what it holds; anyone else's holder is the journal's.
                        if !entry.holder.is_app() {
                            entry.holder = Holder::of(&journalled);
                        }
                    }
                }
                None => {
                    let holder = Holder::of(&journalled);
                    taken.push(format!(
                        "lock {} ({}) {}, {} left",
                        short_lock_id(&lock.lock_id),
                        format::module_label(lock.module),
                        holder.describe(),
                        format::time_left(&lock, now)
                    ));
                    self.entries.push(LockEntry::from_journal(journalled));
                }
            }
        }
        // One line each for a few; one line for many (a journal of hundreds is not a log).
        if taken.len() > MANY {
            outs.push(Out::log(
                LogKind::Info,
                "journal",
                format!("{} locks taken by other koobackup processes", taken.len()),
            ));
        } else {
            outs.extend(
                taken
                    .into_iter()
                    .map(|text| Out::log(LogKind::Info, "journal", text)),
            );
        }
        let released: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.seen_in_journal && e.busy.is_none() && !ids.iter().any(|id| id == e.id()))
            .map(|e| e.id().to_string())
            .collect();
        for lock_id in released {
            self.remove(&lock_id);
            outs.push(Out::log(
                LogKind::Info,
                "journal",
                format!(
                    "lock {} was released or forgotten by another koobackup",
                    short_lock_id(&lock_id)
                ),
            ));
        }
        outs
    }

    /// Says once in the activity log that a lock expired (again after a renewal brought it
    /// back).
    pub(super) fn note_expiries(&mut self, now: DateTime<Utc>) -> Vec<Out> {
        let mut outs = Vec::new();
        for entry in &mut self.entries {
            let expired = Urgency::of(&entry.lock, now) == Urgency::Expired && !entry.gone;
            if expired && !entry.expiry_noted && entry.busy != Some(Busy::Adopting) {
                outs.push(Out::log(
                    LogKind::Warning,
                    "expired",
                    format!(
                        "lock {} ({}) expired at {} without a renewal; X forgets expired locks",
                        short_lock_id(entry.id()),
                        format::module_label(entry.lock.module),
                        format::local_time(entry.lock.expires_at)
                    ),
                ));
            }
            entry.expiry_noted = expired;
        }
        outs
    }

    /// `X`: asks to forget every lock that is dead (expired, or gone from the server).
    pub(super) fn confirm_forget_dead(&mut self, now: DateTime<Utc>) -> Vec<Out> {
        let lock_ids: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.busy.is_none() && (e.gone || e.lock.is_expired(now)))
            .map(|e| e.id().to_string())
            .collect();
        if lock_ids.is_empty() {
            return vec![Out::notice("no expired or gone locks to forget")];
        }
        self.dialog = Some(Dialog::ConfirmForget { lock_ids });
        Vec::new()
    }

    /// Forgets `lock_ids`: off the pane and out of the journal. Nothing is sent to the server
    /// (an expired lock cannot be released; a gone one is unknown there).
    pub(super) fn forget(&mut self, lock_ids: Vec<String>) -> Vec<Out> {
        let mut outs = Vec::new();
        for lock_id in &lock_ids {
            if self.remove(lock_id).is_some() {
                outs.push(Out::Effect(Effect::Journal(JournalChange::Remove {
                    lock_id: lock_id.clone(),
                })));
            }
        }
        outs.push(Out::log(
            LogKind::Info,
            "forget",
            format!("forgot {} expired or gone lock(s)", lock_ids.len()),
        ));
        outs
    }
}

#[cfg(test)]
mod tests;
