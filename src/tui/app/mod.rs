//! The application state and its one way to change: [`App::update`]. It performs no I/O and
//! never reads the clock: time arrives in [`Action::Tick`] and with API replies, and any work
//! for the outside world leaves as an [`Effect`].

pub mod activity;
pub mod bulk;
pub mod cleanup;
mod clock;
pub mod dialogs;
pub mod locks;
mod record_ages;
pub mod record_dialogs;
mod record_flow;
pub mod record_form;
mod record_replies;
pub mod records;
mod replies;
pub mod tabs;
mod text_input;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, Utc};
use crossterm::event::{Event, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use tui_input::backend::crossterm::EventHandler;

use super::action::{Action, ApiCall, Effect, JournalChange, RequestId};
use super::keymap::{self, Command, Scope};
use super::layout::ScreenLayout;
use crate::api::{LockInfo, ModuleCode};
use activity::{ActivityLog, Outcome};
use dialogs::{Dialog, PICKER_MODULES};
use locks::{Busy, LockEntry, LocksPane, Urgency};

/// Who we are connected to, fixed for the life of the app.
#[derive(Debug, Clone)]
pub struct Session {
    /// Profile name, or a description of the embedded demo server.
    pub label: String,
    pub embedded: bool,
    pub base_url: String,
    pub user_id: String,
    /// Lock lifetime of this server.
    pub lock_ttl: chrono::Duration,
    /// Offset used to show times (the local time zone; UTC in tests).
    pub display_offset: FixedOffset,
}

/// The panes that take focus, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Locks,
    Activity,
    /// Shown in the locks pane's place while it (or the log below it) has the focus.
    Records,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Locks, Pane::Activity, Pane::Records];

    pub fn scope(self) -> Scope {
        match self {
            Pane::Locks => Scope::LocksPane,
            Pane::Activity => Scope::ActivityPane,
            Pane::Records => Scope::RecordsPane,
        }
    }

    fn cycle(self, step: isize) -> Pane {
        let index = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0) as isize;
        let next = (index + step).rem_euclid(Pane::ALL.len() as isize) as usize;
        Pane::ALL[next]
    }
}

/// The status bar's changing part.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// The most recent failure, with when it happened. Stays until the next one.
    pub last_error: Option<(DateTime<Utc>, String)>,
    /// Server clock minus local clock, once a call has measured it.
    pub clock_offset: Option<chrono::Duration>,
    /// A one-off confirmation ("copied …"); cleared by the next key.
    pub notice: Option<String>,
}

/// What an API call in flight was for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Create(ModuleCode),
    Renew {
        lock_id: String,
        auto: bool,
    },
    Adopt {
        lock_id: String,
    },
    Release {
        lock_id: String,
    },
    /// A call of the record side (`record_replies`).
    Records(record_replies::RecordPending),
}

/// Releases to wait for before quitting ("release them" in the quit prompt).
#[derive(Debug, Clone, Default)]
struct QuitPlan {
    waiting: BTreeSet<RequestId>,
    failed: bool,
}

#[derive(Debug)]
pub struct App {
    pub session: Session,
    pub now: DateTime<Utc>,
    pub screen: Rect,
    pub focus: Pane,
    pub dialog: Option<Dialog>,
    pub locks: LocksPane,
    pub records: records::RecordsPane,
    pub activity: ActivityLog,
    pub status: Status,
    /// Frame of the busy spinner.
    pub spinner_frame: usize,
    pending: BTreeMap<RequestId, Pending>,
    next_request: u64,
    quit_plan: Option<QuitPlan>,
    needs_redraw: bool,
}

impl App {
    /// A new app showing `held` (locks from the journal, with their auto-renew setting) and
    /// `warnings` (e.g. from reading the configuration) in the activity log.
    pub fn new(
        session: Session,
        held: Vec<(LockInfo, bool)>,
        warnings: Vec<String>,
        now: DateTime<Utc>,
        screen: Rect,
    ) -> App {
        let mut app = App {
            session,
            now,
            screen,
            focus: Pane::Locks,
            dialog: None,
            locks: LocksPane::default(),
            records: records::RecordsPane::default(),
            activity: ActivityLog::default(),
            status: Status::default(),
            spinner_frame: 0,
            pending: BTreeMap::new(),
            next_request: 1,
            quit_plan: None,
            needs_redraw: true,
        };
        let connected = if app.session.embedded {
            format!("started {} at {}", app.session.label, app.session.base_url)
        } else {
            format!("{} at {}", app.session.label, app.session.base_url)
        };
        app.activity.note(now, Outcome::Info, "connect", connected);
        if !held.is_empty() {
            let message = format!("{} lock(s) from the journal", held.len());
            app.activity.note(now, Outcome::Info, "journal", message);
        }
        for warning in warnings {
            app.activity
                .note(now, Outcome::Warning, "warning", warning.clone());
            app.status.notice = Some(warning);
        }
        app.locks.entries = held
            .into_iter()
            .map(|(lock, auto_renew)| LockEntry::new(lock, auto_renew))
            .collect();
        app
    }

    /// Applies one action and returns the work it asks for.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Tick(now) => self.on_tick(now),
            Action::Animate => {
                if self.is_busy() {
                    self.spinner_frame = self.spinner_frame.wrapping_add(1);
                    self.needs_redraw = true;
                }
                Vec::new()
            }
            Action::Key(key) if key.kind == KeyEventKind::Release => Vec::new(),
            // Mouse motion arrives constantly; only clicks and wheel turns change the screen.
            Action::Mouse(mouse) => self.on_mouse(mouse),
            action => {
                self.needs_redraw = true;
                match action {
                    Action::Key(key) => self.on_key(key),
                    Action::Paste(text) => self.on_paste(&text),
                    Action::Resize { width, height } => {
                        self.screen = Rect::new(0, 0, width, height);
                        let max_help_scroll = self.max_help_scroll();
                        if let Some(Dialog::Help { scroll }) = &mut self.dialog {
                            *scroll = (*scroll).min(max_help_scroll);
                        }
                        self.locks.scroll_to_selection(self.visible_lock_rows());
                        self.records.scroll_to_cursor(self.visible_lock_rows());
                        Vec::new()
                    }
                    Action::ApiDone(reply) => self.on_api_reply(*reply),
                    Action::Bulk(progress) => self.on_bulk_progress(progress),
                    Action::EditorDone(result) => self.on_editor_done(result),
                    Action::JournalWritten(Ok(())) => Vec::new(),
                    Action::JournalWritten(Err(message)) => {
                        let text = format!("could not write the lock journal: {message}");
                        self.activity
                            .note(self.now, Outcome::Warning, "journal", text.clone());
                        self.status.last_error = Some((self.now, text));
                        Vec::new()
                    }
                    Action::Tick(_) | Action::Animate | Action::Mouse(_) => unreachable!("handled above"),
                }
            }
        }
    }

    /// Whether the screen changed since the last call (and resets the flag).
    pub fn take_redraw(&mut self) -> bool {
        std::mem::take(&mut self.needs_redraw)
    }

    /// Whether any API call is in flight (the spinner then needs animating).
    pub fn is_busy(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn layout(&self) -> Option<ScreenLayout> {
        ScreenLayout::new(self.screen)
    }

    /// Key scopes active now, most specific first: what the footer shows and keys look up.
    pub fn active_scopes(&self) -> Vec<Scope> {
        match &self.dialog {
            Some(dialog) => vec![dialog.scope()],
            None => vec![self.focus.scope(), Scope::Global],
        }
    }

    /// Help scrolled this far shows its last line at the bottom of the overlay.
    fn max_help_scroll(&self) -> usize {
        keymap::help_lines()
            .len()
            .saturating_sub(super::layout::help_rows(self.screen))
    }

    fn visible_lock_rows(&self) -> usize {
        self.layout().map_or(1, |l| l.visible_lock_rows())
    }

    fn on_tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let (countdowns, ages) = (self.countdown_texts(), self.shown_ages());
        self.now = now;
        let mut effects = self.start_due_auto_renewals();
        effects.extend(self.keep_bulk_lock_alive());
        if !effects.is_empty() || self.countdown_texts() != countdowns || self.shown_ages() != ages {
            self.needs_redraw = true;
        }
        effects
    }

    /// The locks' countdowns and urgencies (the records pane's title shows one of them too).
    fn countdown_texts(&self) -> Vec<(String, Urgency)> {
        self.locks
            .entries
            .iter()
            .map(|e| (e.countdown(self.now), Urgency::of(&e.lock, self.now)))
            .collect()
    }

    fn start_due_auto_renewals(&mut self) -> Vec<Effect> {
        let (now, ttl) = (self.now, self.session.lock_ttl);
        let due: Vec<LockInfo> = self
            .locks
            .entries
            .iter()
            .filter(|e| e.wants_auto_renew(now, ttl))
            .map(|e| e.lock.clone())
            .collect();
        due.into_iter().map(|lock| self.renew(lock, true)).collect()
    }

    fn request(&mut self, pending: Pending, call: ApiCall) -> Effect {
        let request = RequestId(self.next_request);
        self.next_request += 1;
        self.pending.insert(request, pending);
        Effect::Api { request, call }
    }

    fn renew(&mut self, lock: LockInfo, auto: bool) -> Effect {
        if let Some(entry) = self.locks.find_mut(&lock.lock_id) {
            entry.busy = Some(Busy::Renewing);
        }
        let lock_id = lock.lock_id.clone();
        self.request(Pending::Renew { lock_id, auto }, ApiCall::RenewLock(lock))
    }

    fn release(&mut self, lock_id: String) -> (RequestId, Effect) {
        if let Some(entry) = self.locks.find_mut(&lock_id) {
            entry.busy = Some(Busy::Releasing);
        }
        let effect = self.request(
            Pending::Release {
                lock_id: lock_id.clone(),
            },
            ApiCall::ReleaseLock(lock_id),
        );
        let Effect::Api { request, .. } = &effect else {
            unreachable!("request() builds an Api effect")
        };
        (*request, effect)
    }

    /// Records a lock just created or adopted.
    fn journal_upsert(entry: &LockEntry) -> Effect {
        Effect::Journal(JournalChange::Upsert {
            lock: entry.lock.clone(),
            auto_renew: entry.auto_renew,
        })
    }

    /// Updates a held lock's entry, unless another koobackup removed it meanwhile.
    fn journal_update(entry: &LockEntry) -> Effect {
        Effect::Journal(JournalChange::Update {
            lock: entry.lock.clone(),
            auto_renew: entry.auto_renew,
        })
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        self.status.notice = None;
        let scopes = self.active_scopes();
        match keymap::lookup(&scopes, &key) {
            Some(command) => self.run_command(command),
            None => {
                if let Some(Dialog::Adopt { input, error }) = &mut self.dialog {
                    input.handle_event(&Event::Key(key));
                    *error = None;
                }
                self.records_typed(key)
            }
        }
    }

    fn run_command(&mut self, command: Command) -> Vec<Effect> {
        if self.dialog.is_some() {
            return self.run_dialog_command(command);
        }
        match command {
            Command::Quit => return self.quit(),
            Command::ToggleHelp => self.dialog = Some(Dialog::Help { scroll: 0 }),
            Command::FocusNext => self.focus_pane(self.focus.cycle(1)),
            Command::FocusPrevious => self.focus_pane(self.focus.cycle(-1)),
            Command::ShowLocks => self.focus_pane(Pane::Locks),
            Command::ShowRecords => self.focus_pane(Pane::Records),
            Command::Up => self.move_in_focus(-1),
            Command::Down => self.move_in_focus(1),
            Command::Top => self.move_in_focus(isize::MIN / 2),
            Command::Bottom => self.move_in_focus(isize::MAX / 2),
            Command::NewLock => self.dialog = Some(Dialog::ModulePicker { selected: 0 }),
            Command::AdoptLock => self.dialog = Some(Dialog::adopt()),
            Command::ToggleFullIds => self.locks.full_ids = !self.locks.full_ids,
            Command::RenewLock => return self.renew_selected(),
            Command::ReleaseLock => self.confirm_release_selected(),
            Command::ToggleAutoRenew => return self.toggle_auto_renew(),
            Command::CopyLockId => return self.copy_selected_id(),
            Command::Records(command) => return self.run_records_command(command),
            Command::Confirm
            | Command::Cancel
            | Command::PickOption(_)
            | Command::ClearInput
            | Command::ReleaseAllAndQuit
            | Command::KeepAndQuit => {}
        }
        Vec::new()
    }

    fn run_dialog_command(&mut self, command: Command) -> Vec<Effect> {
        let Some(dialog) = self.dialog.take() else {
            return Vec::new();
        };
        match (dialog, command) {
            (Dialog::Records(dialog), command) => return self.run_record_dialog_command(*dialog, command),
            (_, Command::Cancel) => {}
            (Dialog::Help { scroll }, Command::Up | Command::Down) => {
                let scroll = if command == Command::Up {
                    scroll.saturating_sub(1)
                } else {
                    (scroll + 1).min(self.max_help_scroll())
                };
                self.dialog = Some(Dialog::Help { scroll });
            }
            (Dialog::ConfirmRelease { lock_id }, Command::Confirm) => {
                if self.locks.contains(&lock_id) {
                    return vec![self.release(lock_id).1];
                }
            }
            (Dialog::ModulePicker { selected }, Command::Up | Command::Down) => {
                let step = if command == Command::Up { -1 } else { 1 };
                let selected = (selected as isize + step).clamp(0, PICKER_MODULES.len() as isize - 1);
                self.dialog = Some(Dialog::ModulePicker {
                    selected: selected as usize,
                });
            }
            (Dialog::ModulePicker { selected }, Command::Confirm) => return self.create(selected),
            (Dialog::ModulePicker { .. }, Command::PickOption(index)) => return self.create(index),
            (Dialog::Adopt { mut input, .. }, Command::ClearInput) => {
                input.reset();
                self.dialog = Some(Dialog::Adopt { input, error: None });
            }
            (Dialog::Adopt { input, .. }, Command::Confirm) => return self.adopt(input),
            (Dialog::QuitPrompt { .. }, Command::KeepAndQuit) => {
                let kept = self.live_lock_ids().len();
                let text = format!("kept {kept} live lock(s) in the journal");
                self.activity.note(self.now, Outcome::Info, "quit", text);
                return vec![Effect::Quit];
            }
            (Dialog::QuitPrompt { .. }, Command::ReleaseAllAndQuit) => return self.release_all_and_quit(),
            (dialog, _) => self.dialog = Some(dialog),
        }
        Vec::new()
    }

    fn live_lock_ids(&self) -> Vec<String> {
        self.locks
            .entries
            .iter()
            .filter(|e| e.is_live(self.now))
            .map(|e| e.id().to_string())
            .collect()
    }

    fn quit(&mut self) -> Vec<Effect> {
        let live_locks = self.live_lock_ids().len();
        if live_locks == 0 {
            return vec![Effect::Quit];
        }
        self.dialog = Some(Dialog::QuitPrompt { live_locks });
        Vec::new()
    }

    fn release_all_and_quit(&mut self) -> Vec<Effect> {
        let mut plan = QuitPlan::default();
        let mut effects = Vec::new();
        for lock_id in self.live_lock_ids() {
            let (request, effect) = self.release(lock_id);
            plan.waiting.insert(request);
            effects.push(effect);
        }
        if effects.is_empty() {
            return vec![Effect::Quit];
        }
        self.quit_plan = Some(plan);
        self.status.notice = Some("releasing locks, then quitting…".into());
        effects
    }

    fn move_in_focus(&mut self, delta: isize) {
        match self.focus {
            Pane::Locks => self.locks.move_selection(delta, self.visible_lock_rows()),
            // The log grows downwards: moving up means scrolling back in time.
            Pane::Activity => self.activity.scroll(-delta),
            Pane::Records => self.records.move_cursor(delta, self.visible_lock_rows()),
        }
    }

    /// The selected lock, unless a call on it is in flight (then says so).
    fn selected_idle_lock(&mut self) -> Option<LockEntry> {
        let entry = self.locks.selected_entry()?.clone();
        match entry.busy {
            Some(busy) => {
                self.status.notice = Some(format!("wait: that lock is {}", busy.label()));
                None
            }
            None => Some(entry),
        }
    }

    fn renew_selected(&mut self) -> Vec<Effect> {
        match self.selected_idle_lock() {
            Some(entry) => vec![self.renew(entry.lock, false)],
            None => Vec::new(),
        }
    }

    fn confirm_release_selected(&mut self) {
        if let Some(entry) = self.selected_idle_lock() {
            self.dialog = Some(Dialog::ConfirmRelease {
                lock_id: entry.lock.lock_id,
            });
        }
    }

    fn toggle_auto_renew(&mut self) -> Vec<Effect> {
        let now = self.now;
        let Some(entry) = self.locks.entries.get_mut(self.locks.selected) else {
            return Vec::new();
        };
        entry.auto_renew = !entry.auto_renew;
        entry.auto_renew_failures = 0;
        entry.retry_after = None;
        let state = if entry.auto_renew { "on" } else { "off" };
        let text = format!("auto-renew {state} for {}", entry.id());
        let mut effects = vec![App::journal_update(entry)];
        self.activity.note(now, Outcome::Info, "auto-renew", text);
        effects.extend(self.start_due_auto_renewals());
        effects
    }

    fn copy_selected_id(&mut self) -> Vec<Effect> {
        let Some(entry) = self.locks.selected_entry() else {
            return Vec::new();
        };
        let lock_id = entry.id().to_string();
        self.status.notice = Some(format!("copied {lock_id} to the clipboard (OSC 52)"));
        vec![Effect::CopyToClipboard(lock_id)]
    }

    fn create(&mut self, index: usize) -> Vec<Effect> {
        let Some(&module) = PICKER_MODULES.get(index) else {
            return Vec::new();
        };
        if self.locks.creating.contains(&module) {
            self.status.notice = Some(format!("a lock for {module} is already being created"));
            return Vec::new();
        }
        self.locks.creating.push(module);
        vec![self.request(Pending::Create(module), ApiCall::CreateLock(module))]
    }

    fn adopt(&mut self, input: tui_input::Input) -> Vec<Effect> {
        let lock_id = match dialogs::parse_lock_id(input.value()) {
            Ok(id) if self.locks.contains(&id) => Err(format!("you already hold {id}")),
            other => other,
        };
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
            expires_at: self.now + self.session.lock_ttl,
        };
        let mut entry = LockEntry::new(lock.clone(), false);
        entry.busy = Some(Busy::Adopting);
        self.locks.entries.push(entry);
        self.locks.selected = self.locks.entries.len() - 1;
        self.locks.scroll_to_selection(self.visible_lock_rows());
        vec![self.request(Pending::Adopt { lock_id }, ApiCall::RenewLock(lock))]
    }

    fn on_paste(&mut self, text: &str) -> Vec<Effect> {
        if let Some(Dialog::Adopt { input, error }) = &mut self.dialog {
            *error = dialogs::paste_lock_id(input, text).err();
        }
        self.records_pasted(text);
        Vec::new()
    }

    fn on_mouse(&mut self, mouse: MouseEvent) -> Vec<Effect> {
        let Some(layout) = self.layout() else {
            return Vec::new();
        };
        if self.dialog.is_some() {
            return Vec::new();
        }
        let position = Position::new(mouse.column, mouse.row);
        if mouse.kind == MouseEventKind::Down(MouseButton::Left)
            && let Some(pane) = self.tab_at(position)
        {
            self.needs_redraw = true;
            self.focus_pane(pane);
            return Vec::new();
        }
        let pane = if layout.locks.contains(position) {
            self.top_pane()
        } else if layout.activity.contains(position) {
            Pane::Activity
        } else {
            return Vec::new();
        };
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.needs_redraw = true;
                self.focus = pane;
                if pane == Pane::Records {
                    if let Some(row) = layout.lock_row_at(position) {
                        self.records.click(row);
                    }
                } else if let Some(row) = layout.lock_row_at(position) {
                    let index = self.locks.offset + row;
                    if index < self.locks.entries.len() {
                        self.locks.selected = index;
                    }
                }
            }
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let delta = if mouse.kind == MouseEventKind::ScrollDown {
                    1
                } else {
                    -1
                };
                self.needs_redraw = true;
                self.focus = pane;
                self.move_in_focus(delta);
            }
            _ => {}
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests;
