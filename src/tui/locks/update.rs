//! What the locks pane's keys do, what its dialogs do, and what the clock makes due: renewals
//! (by hand, by auto-renew, or for a pinned lock), releases, creates and adoptions.

use crossterm::event::{Event, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::dialogs::{self, Dialog, PICKER_MODULES};
use super::{Busy, Holder, LockEntry, Pending, State};
use crate::api::{LockInfo, ModuleCode};
use crate::lease::Purpose;
use crate::lease::schedule::renew_ahead;
use crate::tui::action::{ApiCall, Effect, JournalChange};
use crate::tui::feature::{Ctx, LogKind};
use crate::tui::keymap::Command;

/// What the locks feature asks of the app.
pub type Out = crate::tui::feature::Out<Pending>;

/// The journal change for an entry that changed (created, adopted, renewed, auto-renew set):
/// this app's own locks are (re-)asserted with it as their owner, so an entry lost from the file
/// comes back; anyone else's are updated only if still there, keeping their owner.
pub(super) fn journal_write(entry: &LockEntry) -> Out {
    let change = match &entry.holder {
        Holder::App(purpose) => JournalChange::Upsert {
            lock: entry.lock.clone(),
            auto_renew: entry.auto_renew,
            purpose: purpose.clone(),
        },
        Holder::Other { .. } => JournalChange::Update {
            lock: entry.lock.clone(),
            auto_renew: entry.auto_renew,
        },
    };
    Out::Effect(Effect::Journal(change))
}

impl State {
    /// A key command while the locks pane has the focus and no dialog is open.
    pub fn command(&mut self, command: Command, ctx: &Ctx) -> Vec<Out> {
        match command {
            Command::NewLock => self.dialog = Some(Dialog::ModulePicker { selected: 0 }),
            Command::AdoptLock => {
                // On another holder's lock that may be taken over, the field starts with its id.
                let id = self
                    .selected_entry()
                    .filter(|e| e.holder.adoptable().is_ok())
                    .map(|e| e.id().to_string());
                self.dialog = Some(Dialog::adopt(id.as_deref().unwrap_or("")));
            }
            Command::ToggleFullIds => self.full_ids = !self.full_ids,
            Command::ForgetExpired => return self.confirm_forget_dead(ctx.now),
            Command::RenewLock => return self.renew_selected(ctx.now),
            Command::ReleaseLock => return self.confirm_release_selected(),
            Command::ToggleAutoRenew => return self.toggle_auto_renew(ctx),
            Command::CopyLockId => return self.copy_selected_id(),
            _ => {}
        }
        Vec::new()
    }

    /// A key command while one of the pane's dialogs is open.
    pub fn dialog_command(&mut self, command: Command, ctx: &Ctx) -> Vec<Out> {
        let Some(dialog) = self.dialog.take() else {
            return Vec::new();
        };
        match (dialog, command) {
            (_, Command::Cancel) => {}
            (Dialog::ConfirmForget { lock_ids }, Command::Confirm) => return self.forget(lock_ids),
            (Dialog::ConfirmRelease { lock_id, .. }, Command::Confirm) => {
                if self.contains(&lock_id) {
                    return vec![self.release(lock_id)];
                }
            }
            (Dialog::ModulePicker { selected }, Command::Up | Command::Down) => {
                let step = if command == Command::Up { -1 } else { 1 };
                let selected = (selected as isize + step).clamp(0, PICKER_MODULES.len() as isize - 1);
                self.dialog = Some(Dialog::ModulePicker {
                    selected: selected as usize,
                });
            }
            (Dialog::ModulePicker { selected }, Command::Confirm) => return self.create_nth(selected),
            (Dialog::ModulePicker { .. }, Command::PickOption(index)) => return self.create_nth(index),
            (Dialog::Adopt { mut input, .. }, Command::ClearInput) => {
                input.reset();
                self.dialog = Some(Dialog::Adopt { input, error: None });
            }
            (Dialog::Adopt { input, .. }, Command::Confirm) => return self.adopt(input, ctx),
            (dialog, _) => self.dialog = Some(dialog),
        }
        Vec::new()
    }

    /// A key no binding claimed: text for the adopt field, if it is open.
    pub fn typed(&mut self, key: KeyEvent) {
        if let Some(Dialog::Adopt { input, error }) = &mut self.dialog {
            input.handle_event(&Event::Key(key));
            *error = None;
        }
    }

    /// Pasted text for the adopt field, if it is open.
    pub fn pasted(&mut self, text: &str) {
        if let Some(Dialog::Adopt { input, error }) = &mut self.dialog {
            *error = dialogs::paste_lock_id(input, text).err();
        }
    }

    /// The clock moved: the renewals that fall due (auto-renew, and pinned locks).
    pub fn tick(&mut self, ctx: &Ctx) -> Vec<Out> {
        let mut outs = self.note_expiries(ctx.now);
        // Read-only: nothing is renewed (another koobackup holding the lock renews it; the
        // journal keeps its auto-renew setting as it is).
        if ctx.session.read_only {
            return outs;
        }
        let (now, ttl) = (ctx.now, ctx.session.lock_ttl);
        let ahead = renew_ahead(ttl);
        let due: Vec<LockInfo> = self
            .entries
            .iter()
            .filter(|e| {
                e.wants_auto_renew(now, ttl)
                    || (self.pinned.contains(e.id())
                        && e.busy.is_none()
                        && !e.gone
                        && e.lock.time_left(now) <= ahead)
            })
            .map(|e| e.lock.clone())
            .collect();
        outs.extend(due.into_iter().map(|lock| self.renew(lock, true, now)));
        outs.extend(self.release_again(|at| at <= now));
        outs
    }

    /// Releases now the locks of ended operations whose release failed (the app is ending).
    pub fn release_leftovers(&mut self) -> Vec<Out> {
        self.release_again(|_| true)
    }

    /// Releases again the locks of ended operations whose release failed, those whose next
    /// attempt is `due`.
    fn release_again(&mut self, due: impl Fn(chrono::DateTime<chrono::Utc>) -> bool) -> Vec<Out> {
        let again: Vec<String> = self
            .entries
            .iter_mut()
            .filter(|e| e.busy.is_none() && e.release_again_at.is_some_and(&due))
            .map(|e| {
                e.release_again_at = None;
                e.id().to_string()
            })
            .collect();
        again.into_iter().map(|id| self.release(id)).collect()
    }

    /// Keeps `lock_id` renewed until [`State::unpin`], whatever its auto-renew setting.
    pub fn pin(&mut self, lock_id: String, ctx: &Ctx) -> Vec<Out> {
        self.pinned.insert(lock_id);
        self.tick(ctx)
    }

    pub fn unpin(&mut self, lock_id: &str) {
        self.pinned.remove(lock_id);
    }

    fn request(pending: Pending, call: ApiCall) -> Out {
        Out::Call(pending, call)
    }

    /// Renews `lock`, sent at `now`: if it has expired by then (the machine slept, or its clock
    /// jumped), the renewal is noted as coming after a gap.
    pub(super) fn renew(&mut self, lock: LockInfo, auto: bool, now: chrono::DateTime<chrono::Utc>) -> Out {
        if let Some(entry) = self.find_mut(&lock.lock_id) {
            entry.busy = Some(Busy::Renewing);
        }
        let lock_id = lock.lock_id.clone();
        let after_expiry = lock.is_expired(now).then_some(lock.expires_at);
        State::request(
            Pending::Renew {
                lock_id,
                auto,
                after_expiry,
            },
            ApiCall::RenewLock(lock),
        )
    }

    /// Releases `lock_id` (marked busy meanwhile).
    pub fn release(&mut self, lock_id: String) -> Out {
        if let Some(entry) = self.find_mut(&lock_id) {
            entry.busy = Some(Busy::Releasing);
        }
        State::request(
            Pending::Release {
                lock_id: lock_id.clone(),
            },
            ApiCall::ReleaseLock(lock_id),
        )
    }

    /// Creates a lock for `module` held for `purpose`, unless one is being created already.
    pub fn create(&mut self, module: ModuleCode, purpose: Purpose) -> Vec<Out> {
        if self.creating.contains(&module) {
            return vec![Out::notice(format!(
                "a lock for {module} is already being created"
            ))];
        }
        self.creating.push(module);
        vec![State::request(
            Pending::Create { module, purpose },
            ApiCall::CreateLock(module),
        )]
    }

    /// Releases the orphaned lock `orphan` (its process is gone), then creates a lock for
    /// `module` held for `purpose`.
    pub fn release_orphan_then_create(
        &mut self,
        orphan: String,
        module: ModuleCode,
        purpose: Purpose,
    ) -> Vec<Out> {
        if !self.contains(&orphan) {
            return self.create(module, purpose);
        }
        self.after_release = Some((orphan.clone(), module, purpose));
        let text = format!("releasing the orphaned lock {orphan} to make way");
        vec![Out::log(LogKind::Info, "release", text), self.release(orphan)]
    }

    /// Quitting, keeping the locks: this app's own live locks are handed to the user (kept until
    /// released, bound to no process), so that nobody takes them for orphans.
    pub fn keep_for_user(&mut self, now: chrono::DateTime<chrono::Utc>) -> Vec<Out> {
        let kept = Purpose::Kept {
            via: "the app, kept when it quit".into(),
        };
        self.entries
            .iter_mut()
            // A lock taken for one operation is released when the operation ends, also now.
            .filter(|e| e.holder.is_app() && !e.holder.is_for_operation() && e.is_live(now))
            .map(|e| {
                e.holder = Holder::App(kept.clone());
                journal_write(e)
            })
            .collect()
    }

    fn create_nth(&mut self, index: usize) -> Vec<Out> {
        match PICKER_MODULES.get(index) {
            Some(&module) => self.create(module, Purpose::App { adopted: false }),
            None => Vec::new(),
        }
    }

    /// The selected lock, unless a call on it is in flight (then says so).
    fn selected_idle_lock(&self) -> Result<Option<LockEntry>, Out> {
        let Some(entry) = self.selected_entry() else {
            return Ok(None);
        };
        match entry.busy {
            Some(busy) => Err(Out::notice(format!("wait: that lock is {}", busy.label()))),
            None => Ok(Some(entry.clone())),
        }
    }

    fn renew_selected(&mut self, now: chrono::DateTime<chrono::Utc>) -> Vec<Out> {
        match self.selected_idle_lock() {
            Ok(Some(entry)) => vec![self.renew(entry.lock, false, now)],
            Ok(None) => Vec::new(),
            Err(notice) => vec![notice],
        }
    }

    fn confirm_release_selected(&mut self) -> Vec<Out> {
        match self.selected_idle_lock() {
            Ok(Some(entry)) => {
                self.dialog = Some(Dialog::ConfirmRelease {
                    holder: (!entry.holder.is_app()).then(|| entry.holder.describe()),
                    lock_id: entry.lock.lock_id,
                });
                Vec::new()
            }
            Ok(None) => Vec::new(),
            Err(notice) => vec![notice],
        }
    }

    fn toggle_auto_renew(&mut self, ctx: &Ctx) -> Vec<Out> {
        let Some(entry) = self.entries.get_mut(self.selected) else {
            return Vec::new();
        };
        entry.auto_renew = !entry.auto_renew;
        entry.auto_renew_failures = 0;
        entry.retry_after = None;
        let state = if entry.auto_renew { "on" } else { "off" };
        let text = format!("auto-renew {state} for {}", entry.id());
        let mut outs = vec![journal_write(entry), Out::log(LogKind::Info, "auto-renew", text)];
        outs.extend(self.tick(ctx));
        outs
    }

    fn copy_selected_id(&self) -> Vec<Out> {
        let Some(entry) = self.selected_entry() else {
            return Vec::new();
        };
        Out::copy(None, entry.id().to_string())
    }

    fn adopt(&mut self, input: tui_input::Input, ctx: &Ctx) -> Vec<Out> {
        let lock_id = dialogs::parse_lock_id(input.value()).and_then(|id| match self.find(&id) {
            Some(entry) => entry
                .holder
                .adoptable()
                .map(|()| id.clone())
                .map_err(|why| format!("{id}: {why}")),
            None => Ok(id),
        });
        let lock_id = match lock_id {
            Ok(id) => id,
            Err(message) => {
                self.dialog = Some(Dialog::Adopt {
                    input,
                    error: Some(message),
                });
                return Vec::new();
            }
        };
        // The API cannot tell a lock's expiry, so adopting renews the lock: that proves it is
        // ours and alive, and starts a lifetime we know.
        let module = LockInfo::module_of_id(&lock_id).unwrap_or(ModuleCode::Folder);
        let lock = LockInfo {
            lock_id: lock_id.clone(),
            module,
            expires_at: ctx
                .now
                .checked_add_signed(ctx.session.lock_ttl)
                .unwrap_or(ctx.now),
        };
        if let Some(entry) = self.find_mut(&lock_id) {
            // Another holder's entry, taken over in place once the renewal proves it alive.
            entry.busy = Some(Busy::Adopting);
        } else {
            let mut entry = LockEntry::new(lock.clone(), false, Holder::App(Purpose::App { adopted: true }));
            entry.busy = Some(Busy::Adopting);
            self.push(entry, ctx.visible_rows);
        }
        vec![State::request(
            Pending::Adopt { lock_id },
            ApiCall::RenewLock(lock),
        )]
    }
}
