//! How a command gets, keeps and gives back the locks it works under, by the rules of
//! [`crate::lease`]: it takes a lock of its own (journalled with its owner), or uses the one the
//! user named; it never borrows another operation's lock from the journal. When the module is
//! locked, an orphaned lock (its process gone) is released and the create tried again; a live
//! one is named, and waited for with `--wait`.

use std::time::Duration;

use chrono::Utc;

use super::Context;
use super::exit::{CliError, Exit};
use crate::api::error::ErrorKind;
use crate::api::{LockInfo, ModuleCode};
use crate::format;
use crate::journal::HeldLock;
use crate::journal::{Holders, Reassert};
use crate::lease::clock::BootInstant;
use crate::lease::keeper::Keeper;
use crate::lease::{Owner, Purpose, Standing, describe_holder};

/// The variable `lock hold` gives COMMAND the lock id in: a lock named by the user.
pub const LOCK_ID_ENV: &str = "KOOBACKUP_LOCK_ID";

/// Longest wait between two tries of `--wait`.
const MAX_WAIT_STEP: Duration = Duration::from_secs(30);

/// A lock this command created, and when the create was sent (its lifetime counts from there).
pub(crate) struct Taken {
    pub lock: LockInfo,
    pub asked: BootInstant,
}

impl Context {
    /// The journal's locks for this server and user.
    pub fn held_locks(&mut self) -> Result<Vec<HeldLock>, CliError> {
        let (key, user) = self.identity();
        let held = self.journal()?.locks_for(&key, &user);
        Ok(held.into_iter().cloned().collect())
    }

    /// The journal key of the server and the user id: whose locks are ours.
    pub(super) fn identity(&self) -> (String, String) {
        (
            self.connection.journal_key().to_string(),
            self.client().user_id().to_string(),
        )
    }

    /// The journal entry for `lock` as this connection writes it, with its expiry on the
    /// server's clock when the client has measured it.
    pub(crate) fn entry(&self, lock: &LockInfo, auto_renew: bool, owner: Option<Owner>) -> HeldLock {
        let (base_url, user_id) = self.identity();
        let client = self.client();
        HeldLock {
            auto_renew,
            owner,
            server_expires_at: client
                .clock_measured()
                .then(|| lock.expires_at + client.clock_offset()),
            ..HeldLock::new(lock.clone(), base_url, user_id)
        }
    }

    /// Writes `lock` to the journal with its owner: a lock just created or adopted.
    pub fn remember(&mut self, lock: &LockInfo, auto_renew: bool, owner: Owner) -> Result<(), CliError> {
        let held = self.entry(lock, auto_renew, Some(owner));
        Ok(self.journal()?.upsert(held)?)
    }

    /// Gives the journal's entry of `lock` its new expiry, if the entry is still there (its
    /// owner kept). Returns whether it was: `false` when another koobackup released the lock
    /// meanwhile (the entry stays gone).
    pub fn remember_renewal(&mut self, lock: &LockInfo, auto_renew: bool) -> Result<bool, CliError> {
        let held = self.entry(lock, auto_renew, None);
        Ok(self.journal()?.update(held)?)
    }

    /// Removes `lock_id` from the journal.
    pub fn forget(&mut self, lock_id: &str) -> Result<(), CliError> {
        self.journal()?.remove(lock_id)?;
        Ok(())
    }

    /// What the journal knows of who holds `module`.
    /// The server's clock minus ours, once an answer has measured it.
    pub(crate) fn measured_offset(&self) -> Option<chrono::Duration> {
        let client = self.client();
        client.clock_measured().then(|| client.clock_offset())
    }

    fn holders(&mut self, module: ModuleCode) -> Result<Holders, CliError> {
        let (key, user) = self.identity();
        let offset = self.measured_offset();
        Ok(Holders::of(
            self.journal()?,
            &key,
            &user,
            module,
            Utc::now(),
            offset,
        ))
    }

    /// Creates a lock for `purpose` and journals it with this process as its owner. When the
    /// module is locked: orphaned locks (their process gone) are released and the create tried
    /// again; otherwise, with `wait`, tries again with backoff until it has waited that long,
    /// saying once whose lock it waits for; else fails naming the holder. If the journal cannot
    /// be written, the lock is released again: a lock nobody remembers cannot be renewed or
    /// released until it expires.
    pub(crate) async fn create_lock(
        &mut self,
        module: ModuleCode,
        purpose: Purpose,
        wait: Option<Duration>,
    ) -> Result<Taken, CliError> {
        // A lock of its own is released, not dropped, when a signal comes.
        self.interrupt.wind_down();
        // Only `lock hold` and `lock create` take --wait.
        let waitable = matches!(purpose, Purpose::Hold { .. } | Purpose::Kept { .. });
        let give_up_at = wait.map(|wait| BootInstant::now().after(wait));
        let mut released: Vec<String> = Vec::new();
        let mut step = Duration::from_secs(1);
        let mut waiting_said = false;
        loop {
            let asked = BootInstant::now();
            let error = match self.client().create_lock(module).await {
                Ok(lock) => {
                    self.journal_created(&lock, Owner::this_process(purpose)).await?;
                    self.prune_dead();
                    return Ok(Taken { lock, asked });
                }
                Err(error) => error,
            };
            // Classified by status, as every failure: a create refused as a conflict means the
            // module is locked (409001 on our server; a real one may say it with another code).
            if error.kind() != ErrorKind::Conflict {
                return Err(self.create_failed(error));
            }
            let holders = self.holders(module)?;
            let orphans: Vec<HeldLock> = holders
                .orphaned
                .iter()
                .filter(|held| !released.contains(&held.lock.lock_id))
                .cloned()
                .collect();
            if !orphans.is_empty() {
                for orphan in orphans {
                    self.release_orphan(&orphan).await;
                    released.push(orphan.lock.lock_id.clone());
                }
                continue;
            }
            let explanation = holders.explain(module);
            if let Some(signal) = self.interrupt.received() {
                return Err(CliError::from(error).context(format!(
                    "interrupted ({}) while waiting for module {module}",
                    super::interrupt::signal_name(signal)
                )));
            }
            match give_up_at.map(|at| BootInstant::now().until(at)) {
                Some(left) if !left.is_zero() => {
                    if !waiting_said {
                        self.out.note(&format!(
                            "note: {explanation}; waiting up to {} for it (--wait)",
                            format::age(
                                chrono::Duration::from_std(wait.unwrap_or_default())
                                    .unwrap_or(chrono::Duration::zero())
                            )
                        ));
                        waiting_said = true;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(step.min(left)) => {}
                        () = self.interrupt.arrived() => {}
                    }
                    step = (step * 2).min(MAX_WAIT_STEP);
                }
                Some(_) => {
                    let error = CliError::from(error);
                    return Err(CliError {
                        message: format!("{}: {explanation}; gave up waiting (--wait)", error.message),
                        ..error
                    });
                }
                None => {
                    let error = CliError::from(error);
                    let advice = if waitable {
                        "add --wait DURATION to wait for it"
                    } else {
                        "try again once it is released"
                    };
                    return Err(CliError {
                        message: format!(
                            "{}: {explanation}; {advice} (`koobackup lock list` shows the journal's \
                             locks)",
                            error.message
                        ),
                        ..error
                    });
                }
            }
        }
    }

    /// Journals a lock just created; when that fails, releases it again and says so.
    async fn journal_created(&mut self, lock: &LockInfo, owner: Owner) -> Result<(), CliError> {
        let Err(error) = self.remember(lock, false, owner) else {
            return Ok(());
        };
        let released = self.client().release_lock(&lock.lock_id).await;
        let outcome = match released {
            Ok(()) => "it was released again".to_string(),
            Err(e) => format!("releasing it failed too ({e}); it expires on its own"),
        };
        Err(error.context(format!(
            "lock {} was created but not journalled; {outcome}",
            format::escape(&lock.lock_id)
        )))
    }

    /// The error for a create that failed other than by a conflict.
    fn create_failed(&self, error: crate::api::ApiError) -> CliError {
        let lost_answer = error.kind() == ErrorKind::Network;
        let mut error = CliError::from(error);
        if lost_answer {
            // A create is never repeated: it may have landed without its answer.
            error.message.push_str(&format!(
                "; the lock may have been created anyway: if `koobackup lock create` now says \
                     one exists, it expires on its own within {}",
                format::age(
                    chrono::Duration::from_std(self.client().lock_ttl()).unwrap_or(chrono::Duration::zero())
                )
            ));
        }
        error
    }

    /// Releases a lock whose owner process is gone, saying so; it may be gone already.
    async fn release_orphan(&mut self, orphan: &HeldLock) {
        let whose = describe_holder(orphan.owner.as_ref(), Standing::Orphaned);
        let id = format::escape(&orphan.lock.lock_id).into_owned();
        match self.release_lock(&orphan.lock.lock_id).await {
            // A warning, so that it is said with --json too: a lock was released.
            Ok(released) => self.out.warn(&format!(
                "released the orphaned lock {id} ({whose}){}",
                released.journal_note()
            )),
            Err(error) if error.exit == Exit::NotFound => self.out.note(&format!(
                "note: the orphaned lock {id} ({whose}) was gone already; forgot it"
            )),
            Err(error) => self.out.warn(&format!(
                "cannot release the orphaned lock {id} ({whose}): {}",
                error.message
            )),
        }
    }

    /// Forgets this connection's journal entries that are past renewal by the server's clock,
    /// once it has been measured (never by this machine's clock alone). A journal that cannot
    /// be written keeps them; nothing depends on it.
    fn prune_dead(&mut self) {
        if !self.client().clock_measured() {
            return;
        }
        let (key, user) = self.identity();
        let (ttl, server_now) = (self.client().lock_ttl(), self.client().server_now());
        if let Ok(journal) = self.journal() {
            let _ = journal.prune_dead(&key, &user, ttl, server_now);
        }
    }

    /// Creates a lock for `purpose` (as [`Context::create_lock`]) and keeps it renewed until the
    /// keeper is dropped; each renewal re-asserts its journal entry.
    pub(crate) async fn hold_lock(
        &mut self,
        module: ModuleCode,
        purpose: Purpose,
        wait: Option<Duration>,
    ) -> Result<Keeper, CliError> {
        let taken = self.create_lock(module, purpose, wait).await?;
        let entry = self
            .journal()?
            .get(&taken.lock.lock_id)
            .cloned()
            .unwrap_or_else(|| self.entry(&taken.lock, false, None));
        let reassert = Reassert {
            journal_path: self.journal()?.path().to_path_buf(),
            entry,
        };
        Ok(Keeper::start(
            self.client().clone(),
            taken.lock,
            taken.asked,
            Some(Box::new(reassert)),
        ))
    }

    /// Releases a lock and forgets it. A lock the server no longer knows is forgotten too. What
    /// the server did is never misreported because of the journal: a release that went through
    /// but could not be removed from the journal succeeds, and says so.
    pub async fn release_lock(&mut self, lock_id: &str) -> Result<Released, CliError> {
        match self.client().release_lock(lock_id).await {
            Ok(()) => Ok(Released {
                journal: self.forget(lock_id).err(),
            }),
            Err(error) => {
                let error = CliError::from(error);
                if error.exit == Exit::NotFound {
                    self.forget(lock_id)?;
                }
                Err(error)
            }
        }
    }

    /// `lock_id`, named by the user, about to be used: a warning when the journal says another
    /// running process holds it (the user named it, so it is used).
    pub(crate) fn check_named_lock(&mut self, lock_id: &str, doing: &str) {
        let Some(held) = self.journal().ok().and_then(|j| j.get(lock_id).cloned()) else {
            return;
        };
        if matches!(held.standing(), Standing::Running | Standing::Elsewhere) {
            self.out.warn(&format!(
                "lock {} is {}; {doing}",
                format::escape(lock_id),
                describe_holder(held.owner.as_ref(), held.standing())
            ));
        }
    }
}

/// A release the server accepted.
#[derive(Debug)]
pub struct Released {
    /// Why the journal still lists the lock, when it could not be updated.
    pub journal: Option<CliError>,
}

impl Released {
    /// "" when the journal was updated; else what the user should know.
    pub fn journal_note(&self) -> String {
        match &self.journal {
            None => String::new(),
            Some(error) => format!(
                "; but it could not be removed from the lock journal ({}), so `lock list` may \
                 still show it until the journal can be written",
                error.message
            ),
        }
    }
}

/// The lock the user named for a record change: `--lock`, else `$KOOBACKUP_LOCK_ID` (which
/// `lock hold` gives COMMAND) unless the command takes a lock of its own (`--auto-lock`).
pub(crate) fn named_lock(given: Option<&str>, auto_lock: bool) -> Result<Option<String>, CliError> {
    if let Some(lock) = given {
        return Ok(Some(lock.to_string()));
    }
    if auto_lock {
        return Ok(None);
    }
    match std::env::var(LOCK_ID_ENV) {
        Ok(value) if !value.trim().is_empty() => super::parse_lock_id(value.trim())
            .map(Some)
            .map_err(|e| CliError::usage(format!("${LOCK_ID_ENV}: {e}"))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_note_says_what_is_left_behind() {
        assert_eq!(Released { journal: None }.journal_note(), "");
        let full = Released {
            journal: Some(CliError::failure("No space left on device")),
        };
        assert!(full.journal_note().contains("`lock list` may still show it"));
    }
}
