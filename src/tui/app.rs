//! The application state and its one way to change: [`App::update`]. It performs no I/O and
//! never reads the clock: time arrives in [`Action::Tick`] and with API replies, and any work for
//! the outside world leaves as an [`Effect`].
//!
//! The app owns the features (`locks`, `records`, `devices`) and the shell's parts, routes keys
//! and answers to them, gives each call an id, and carries out what the features ask ([`Out`]):
//! calls, notices, log lines, focus changes, and the few things one feature needs of another (a
//! lock for a record operation, a lock kept renewed during a bulk delete). What the command line
//! runs is in `line.rs`, switching connections in `session.rs`, quitting in `quit.rs`, and the
//! question asked when the history cannot record a delete in `unrecorded.rs`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use tui_input::backend::crossterm::EventHandler;

use super::action::{Action, ApiCall, ApiReply, Effect, JournalSnapshot, RequestId, Unrecorded};
use super::clock;
use super::devices;
use super::feature::{Ctx, Foreign, Out, OwnLock, Pane, Session};
use super::history;
use super::keymap::{Command, KeyOverrides, Keymap, Scope};
use super::layout::ScreenLayout;
use super::locks;
use super::pending;
use super::records;
use super::shell::activity::{ActivityLog, Outcome};
use super::shell::command_line::CommandLine;
use super::shell::{self, Status};
use super::widgets::{Tab, tab_texts};
use crate::api::ModuleCode;
use crate::history::Keeping;
use crate::lease::Purpose;

/// The keys of every feature, defaults only.
pub fn default_keymap() -> Keymap {
    Keymap::new(&key_tables())
}

/// The keys with the user's `[keys]` applied; the message names what is wrong.
pub fn keymap_with(overrides: &KeyOverrides) -> Result<Keymap, String> {
    Keymap::with_overrides(&key_tables(), overrides)
}

fn key_tables() -> [&'static [super::keymap::KeyDef]; 6] {
    [
        shell::keys::KEYS,
        locks::keys::KEYS,
        records::keys::KEYS,
        devices::keys::KEYS,
        history::keys::KEYS,
        pending::keys::KEYS,
    ]
}

/// What an API call in flight was for, and so which feature takes its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Locks(locks::Pending),
    Records(records::Pending),
    Devices(devices::Pending),
}

impl Pending {
    fn describe(&self) -> String {
        match self {
            Pending::Locks(pending) => pending.describe(),
            Pending::Records(pending) => pending.describe(),
            Pending::Devices(pending) => pending.describe(),
        }
    }
}

/// Releases to wait for before quitting ("release them" in the quit prompt).
#[derive(Debug, Clone, Default)]
struct QuitPlan {
    waiting: BTreeSet<RequestId>,
    failed: bool,
}

/// What the features may read of the app, gathered before one of them is borrowed mutably.
struct Snapshot {
    now: DateTime<Utc>,
    session: Session,
    clock_offset: Option<chrono::Duration>,
    own_locks: Vec<OwnLock>,
    foreign: Vec<Foreign>,
    creating: Vec<ModuleCode>,
    last_error: Option<String>,
    visible_rows: usize,
    screen: Rect,
}

impl Snapshot {
    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            now: self.now,
            session: &self.session,
            clock_offset: self.clock_offset,
            visible_rows: self.visible_rows,
            screen: self.screen,
            own_locks: &self.own_locks,
            foreign: &self.foreign,
            creating: &self.creating,
            last_error: self.last_error.as_deref(),
        }
    }
}

#[derive(Debug)]
pub struct App {
    pub session: Session,
    pub now: DateTime<Utc>,
    pub screen: Rect,
    pub focus: Pane,
    /// The pane shown above the activity log (locks, records or devices): the one focused last.
    upper: Pane,
    pub locks: locks::State,
    pub records: records::State,
    pub devices: devices::State,
    pub history_pane: history::State,
    pub pending_pane: pending::State,
    /// The help overlay or the quit prompt, when open.
    pub shell: Option<shell::Dialog>,
    pub activity: ActivityLog,
    pub status: Status,
    /// Frame of the busy spinner.
    pub spinner_frame: usize,
    keymap: Keymap,
    pending: BTreeMap<RequestId, Pending>,
    next_request: u64,
    quit_plan: Option<QuitPlan>,
    needs_redraw: bool,
    /// Journal changes handed to the runtime so far, to tell a journal snapshot read before
    /// the latest of them (which would undo it) from a current one.
    journal_changes_sent: u64,
    /// The command lines run this session, oldest first (↑ in the command line).
    history: Vec<String>,
    /// The config file's profiles, for `:profile` and its completion.
    profiles: Vec<String>,
    /// The module the records pane showed last (this session or, from the state file, the
    /// last one): where it opens.
    last_module: Option<ModuleCode>,
    /// Read-only was asked for at start (`--read-only`, the profile): `:readonly off` cannot
    /// lift it, since the client refuses changes anyway.
    read_only_forced: bool,
    /// The user turned read-only on (`:readonly`): it stays on across `:profile` and `:user`.
    read_only_chosen: bool,
    /// A `:profile` or `:user` switch asked for and not yet done: what it goes to. Meanwhile
    /// nothing that changes the server is sent (it would be left behind on the old one).
    switching: Option<String>,
    /// Live locks of connections switched away from: in the journal, renewed by nothing.
    left_behind: Vec<session::LeftBehind>,
    /// Changes that would leave no trace, held back while the history cannot be written: the
    /// first is asked about (see `unrecorded.rs`).
    asks: VecDeque<Unrecorded>,
}

impl App {
    /// A new app showing `held` (locks from the journal, with their auto-renew setting) and
    /// `warnings` (e.g. from reading the configuration) in the activity log.
    pub fn new(
        session: Session,
        held: Vec<super::action::Journalled>,
        warnings: Vec<String>,
        now: DateTime<Utc>,
        screen: Rect,
    ) -> App {
        let mut app = App {
            session,
            now,
            screen,
            focus: Pane::Locks,
            upper: Pane::Locks,
            locks: locks::State::new(held),
            records: records::State::default(),
            devices: devices::State::default(),
            history_pane: history::State::default(),
            pending_pane: pending::State::default(),
            shell: None,
            activity: ActivityLog::default(),
            status: Status::default(),
            spinner_frame: 0,
            keymap: default_keymap(),
            pending: BTreeMap::new(),
            next_request: 1,
            quit_plan: None,
            needs_redraw: true,
            journal_changes_sent: 0,
            history: Vec::new(),
            profiles: Vec::new(),
            read_only_forced: false,
            read_only_chosen: false,
            switching: None,
            left_behind: Vec::new(),
            last_module: None,
            asks: VecDeque::new(),
        };
        app.read_only_forced = app.session.read_only;
        let connected = if app.session.embedded {
            format!("started {} at {}", app.session.label, app.session.base_url)
        } else {
            format!("{} at {}", app.session.label, app.session.base_url)
        };
        app.activity.note(now, Outcome::Info, "connect", connected);
        let held = app.locks.entries().len();
        if held > 0 {
            let message = format!("{held} lock(s) from the journal");
            app.activity.note(now, Outcome::Info, "journal", message);
        }
        for warning in warnings {
            app.activity
                .note(now, Outcome::Warning, "warning", warning.clone());
            app.status.notice = Some(warning);
        }
        app
    }

    /// The same app opening the records pane on `module` (the one used last time).
    pub fn with_last_module(mut self, module: Option<ModuleCode>) -> App {
        self.last_module = module;
        self
    }

    /// The same app offering these profiles to `:profile`.
    pub fn with_profiles(mut self, profiles: Vec<String>) -> App {
        self.profiles = profiles;
        self
    }

    /// The same app saying in the activity log where the history of changes is kept, or why
    /// it is not.
    pub fn with_history(mut self, keeping: &Keeping) -> App {
        let (kind, text) = match keeping {
            Keeping::Recording(recorder) => (
                Outcome::Info,
                format!(
                    "every change is kept in {} (:history shows it)",
                    recorder.history().dir().display()
                ),
            ),
            Keeping::Off => (
                Outcome::Warning,
                "off (--no-history): changes sent from here leave no trace".to_string(),
            ),
            Keeping::Broken(why) => (
                Outcome::Warning,
                format!("cannot be kept: {why}; a delete asks before it is sent"),
            ),
        };
        self.activity.note(self.now, kind, "history", text);
        self
    }

    /// The same app with `keymap` instead of the default keys.
    pub fn with_keymap(mut self, keymap: Keymap) -> App {
        self.keymap = keymap;
        self
    }

    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    /// Applies one action and returns the work it asks for.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let shown_module = self.records.module();
        let mut effects = self.dispatch(action);
        if let Some(module) = self.records.module()
            && shown_module != Some(module)
        {
            self.last_module = Some(module);
            effects.push(Effect::RememberModule(module));
        }
        let journal_changes = effects.iter().filter(|e| matches!(e, Effect::Journal(_))).count();
        self.journal_changes_sent += journal_changes as u64;
        effects
    }

    fn dispatch(&mut self, action: Action) -> Vec<Effect> {
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
                        self.on_resize(width, height);
                        Vec::new()
                    }
                    Action::ApiDone(reply) => self.on_api_reply(*reply),
                    Action::Bulk(progress) => {
                        let snapshot = self.snapshot();
                        let outs = self.records.on_bulk_progress(progress, &snapshot.ctx());
                        self.apply(outs, Pending::Records)
                    }
                    Action::EditorDone(result) => {
                        let outs = self.records.on_editor_done(result);
                        self.apply(outs, Pending::Records)
                    }
                    Action::JournalWritten(Ok(())) => Vec::new(),
                    Action::JournalChanged(snapshot) => self.on_journal_changed(snapshot),
                    Action::Connected(switched) => {
                        self.on_connected(*switched);
                        Vec::new()
                    }
                    Action::ConnectFailed(message) => {
                        self.switching = None;
                        self.warn("connect", format!("not switched: {message}"));
                        self.status.notice = Some("not switched; see the log".into());
                        Vec::new()
                    }
                    Action::JournalWritten(Err(message)) => {
                        self.warn("journal", format!("could not write the lock journal: {message}"));
                        Vec::new()
                    }
                    Action::Background(message) => {
                        self.warn("background", message);
                        Vec::new()
                    }
                    Action::Unrecorded(unrecorded) => {
                        self.on_unrecorded(*unrecorded);
                        Vec::new()
                    }
                    Action::Sizes(read) => {
                        let outs = self.devices.sizes_read(read);
                        self.apply(outs, Pending::Devices)
                    }
                    Action::HistoryRead(read) => {
                        let rows = self.visible_rows();
                        self.history_pane.on_read(read, rows);
                        Vec::new()
                    }
                    Action::PendingRead(read) => {
                        self.on_pending_read(read);
                        Vec::new()
                    }
                    Action::QueueChanged(change) => {
                        self.on_queue_changed(change);
                        Vec::new()
                    }
                    Action::Recovered(text) => {
                        self.activity
                            .note(self.now, Outcome::Warning, "history", text.clone());
                        self.status.notice = Some(text);
                        Vec::new()
                    }
                    Action::Superseded(what) => {
                        let text = format!("{what} answered after another was asked for: not used");
                        self.activity.note(self.now, Outcome::Info, "connect", text);
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

    /// The app is ending (quit, a signal, the end of input): a bulk delete stops sending, and a
    /// lock of an ended operation whose release failed is released again. What is under way
    /// then answers while the runtime waits (see [`App::has_work_in_flight`]), and the locks
    /// taken for those operations are released as they end: none is left to block the module.
    pub fn shut_down(&mut self) -> Vec<Effect> {
        let mut effects = self.drop_unrecorded();
        let outs = self.records.stop_for_exit();
        effects.extend(self.apply(outs, Pending::Records));
        let outs = self.locks.release_leftovers();
        effects.extend(self.apply(outs, Pending::Locks));
        effects
    }

    /// Whether something still has to answer: a call, or a bulk delete's sent deletes.
    pub fn has_work_in_flight(&self) -> bool {
        self.is_busy() || self.records.bulk_under_way()
    }

    pub fn layout(&self) -> Option<ScreenLayout> {
        ScreenLayout::new(self.screen)
    }

    fn visible_rows(&self) -> usize {
        self.layout().map_or(1, |l| l.visible_lock_rows())
    }

    /// Whether any dialog is open.
    pub fn dialog_open(&self) -> bool {
        !self.asks.is_empty()
            || self.shell.is_some()
            || self.locks.dialog.is_some()
            || self.records.dialog.is_some()
            || self.devices.dialog.is_some()
            || self.history_pane.dialog.is_some()
    }

    /// Key scopes active now, most specific first: what the footer shows and keys look up.
    pub fn active_scopes(&self) -> Vec<Scope> {
        if !self.asks.is_empty() {
            return vec![Scope::Confirm];
        }
        if let Some(dialog) = &self.shell {
            return vec![dialog.scope()];
        }
        if let Some(dialog) = &self.locks.dialog {
            return vec![dialog.scope()];
        }
        if let Some(dialog) = &self.records.dialog {
            return vec![dialog.scope()];
        }
        if let Some(dialog) = &self.devices.dialog {
            return vec![dialog.scope()];
        }
        if let Some(dialog) = &self.history_pane.dialog {
            return vec![dialog.scope()];
        }
        let pane = match self.focus {
            Pane::Locks => Scope::LocksPane,
            Pane::Activity => Scope::ActivityPane,
            Pane::Records => Scope::RecordsPane,
            Pane::Devices => Scope::DevicesPane,
            Pane::History => Scope::HistoryPane,
            Pane::Pending => Scope::PendingPane,
        };
        vec![pane, Scope::Global]
    }

    /// The pane shown above the activity log: the records pane once it was focused last.
    pub fn top_pane(&self) -> Pane {
        match self.focus {
            Pane::Activity => self.upper,
            pane => pane,
        }
    }

    /// Focuses `pane`; an upper pane is shown too (the devices pane asks for its data the
    /// first time).
    pub fn focus_pane(&mut self, pane: Pane) -> Vec<Effect> {
        self.focus = pane;
        if pane != Pane::Activity {
            self.upper = pane;
        }
        if pane == Pane::Devices {
            let outs = self.devices.shown();
            return self.apply(outs, Pending::Devices);
        }
        if pane == Pane::History {
            self.history_pane.start_reading();
            return vec![Effect::ReadHistory];
        }
        if pane == Pane::Pending {
            return self.pending_pane.start_reading();
        }
        if pane == Pane::Records
            && self.records.module().is_none()
            && let Some(module) = self.last_module
        {
            let outs = self.records.list(module);
            return self.apply(outs, Pending::Records);
        }
        Vec::new()
    }

    /// Our estimate of the server's clock (records' times are the server's).
    pub fn server_now(&self) -> DateTime<Utc> {
        match self.status.clock_offset {
            Some(offset) => self.now.checked_add_signed(offset).unwrap_or(self.now),
            None => self.now,
        }
    }

    /// The instant backups' ages are measured at, as `status` measures them (see
    /// [`crate::cleanup::ages_measured_at`]).
    pub fn health_now(&self) -> DateTime<Utc> {
        crate::cleanup::ages_measured_at(self.now, self.server_now())
    }

    /// The tabs, left to right.
    pub fn tabs(&self) -> [Tab; 3] {
        let records = match self.records.module() {
            Some(module) => format!("Records: {} {}", module.code(), module.name()),
            None => "Records".to_string(),
        };
        [
            Tab {
                pane: Pane::Locks,
                key: 'L',
                name: "Locks",
                label: format!("Locks ({})", self.locks.entries().len()),
            },
            Tab {
                pane: Pane::Records,
                key: 'R',
                name: "Records",
                label: records,
            },
            Tab {
                pane: Pane::Devices,
                key: 'D',
                name: "Devices",
                label: match self.devices.load() {
                    devices::Load::Loaded => devices_label(
                        self.devices.devices().len(),
                        self.devices
                            .late_and_stale(&self.session.health, self.health_now()),
                    ),
                    _ => "Devices".into(),
                },
            },
        ]
    }

    /// The pane whose tab is at `position`, if a tab is there.
    fn tab_at(&self, position: Position) -> Option<Pane> {
        let layout = self.layout()?;
        let tabs = self.tabs();
        let texts = tab_texts(
            &tabs,
            self.top_pane(),
            usize::from(layout.locks.width.saturating_sub(2)),
        );
        let widths = texts.iter().map(|text| crate::format::width(text));
        layout.tab_at(position, widths).map(|index| tabs[index].pane)
    }

    /// The next instant after now to tick at (see [`clock`]); `None` while nothing depends on
    /// the clock.
    pub fn next_clock_change(&self) -> Option<DateTime<Utc>> {
        let mut changes = self.locks.clock_changes(self.now, self.session.lock_ttl);
        if let Some(rows) = self.shown_record_rows() {
            changes.extend(self.records.clock_changes(rows, self.now, self.server_now()));
        }
        changes.at.extend(self.status.error_changes(self.now));
        clock::next_tick(changes, self.now)
    }

    /// How many record rows are on screen: `None` unless the records pane is drawn.
    fn shown_record_rows(&self) -> Option<usize> {
        (self.top_pane() == Pane::Records && self.layout().is_some()).then(|| self.visible_rows())
    }

    fn shown_ages(&self) -> Vec<String> {
        self.shown_record_rows()
            .map(|rows| self.records.shown_ages(rows, self.server_now()))
            .unwrap_or_default()
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            now: self.now,
            session: self.session.clone(),
            clock_offset: self.status.clock_offset,
            own_locks: self.locks.own_locks(self.now),
            foreign: self.locks.foreign(self.now),
            creating: self.locks.coming(),
            last_error: self.status.last_error.as_ref().map(|(_, e)| e.clone()),
            visible_rows: self.visible_rows(),
            screen: self.screen,
        }
    }

    /// Gives a call an id and remembers what it was for.
    fn call(&mut self, pending: Pending, call: ApiCall) -> (RequestId, Effect) {
        let request = RequestId(self.next_request);
        self.next_request += 1;
        self.pending.insert(request, pending);
        (request, Effect::Api { request, call })
    }

    fn warn(&mut self, operation: &str, text: String) {
        self.activity
            .note(self.now, Outcome::Warning, operation, text.clone());
        self.status.last_error = Some((self.now, text));
    }

    /// Carries out what a feature asked for; `wrap` files its calls under the feature.
    fn apply<P>(&mut self, outs: Vec<Out<P>>, wrap: fn(P) -> Pending) -> Vec<Effect> {
        let mut effects = Vec::new();
        for out in outs {
            match out {
                Out::Call(pending, call) => effects.push(self.call(wrap(pending), call).1),
                Out::Effect(effect) => effects.push(effect),
                Out::Notice(text) => self.status.notice = Some(text),
                Out::Log {
                    kind,
                    operation,
                    text,
                } => self.activity.note(self.now, kind.into(), operation, text),
                Out::Error(text) => self.status.last_error = Some((self.now, text)),
                Out::Focus(pane) => effects.extend(self.focus_pane(pane)),
                Out::NeedLock { module, what } => {
                    let outs = self.locks.create(module, Purpose::Operation { what });
                    effects.extend(self.apply(outs, Pending::Locks));
                }
                Out::ReleaseOrphanThenLock { orphan, module, what } => {
                    let purpose = Purpose::Operation { what };
                    let outs = self.locks.release_orphan_then_create(orphan, module, purpose);
                    effects.extend(self.apply(outs, Pending::Locks));
                }
                Out::ReleaseLock(lock_id) => {
                    if self.locks.contains(&lock_id) {
                        let out = self.locks.release(lock_id);
                        effects.extend(self.apply(vec![out], Pending::Locks));
                    }
                }
                Out::LockLost(lock_id) => {
                    let outs = self.records.on_lock_lost(&lock_id);
                    effects.extend(self.apply(outs, Pending::Records));
                }
                Out::PinLock(lock_id) => {
                    let snapshot = self.snapshot();
                    let outs = self.locks.pin(lock_id, &snapshot.ctx());
                    effects.extend(self.apply(outs, Pending::Locks));
                }
                Out::UnpinLock(lock_id) => self.locks.unpin(&lock_id),
                Out::BrowseRecords { module, device_id } => {
                    let outs = self.records.browse(module, device_id);
                    effects.extend(self.apply(outs, Pending::Records));
                    effects.extend(self.focus_pane(Pane::Records));
                }
            }
        }
        effects
    }

    fn on_tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let (countdowns, ages) = (self.locks.countdown_texts(self.now), self.shown_ages());
        let error = self.status.shown_error(self.now).map(|e| e.minutes);
        self.now = now;
        let snapshot = self.snapshot();
        let outs = self.locks.tick(&snapshot.ctx());
        let effects = self.apply(outs, Pending::Locks);
        let error_aged = self.status.shown_error(now).map(|e| e.minutes) != error;
        if !effects.is_empty()
            || self.locks.countdown_texts(now) != countdowns
            || self.shown_ages() != ages
            || error_aged
        {
            self.needs_redraw = true;
        }
        effects
    }

    /// The journal file changed. A snapshot read before our own latest change is ignored (the
    /// next one, a second later, includes it); otherwise the locks pane takes it in, and the
    /// screen is redrawn only if that changed something.
    fn on_journal_changed(&mut self, snapshot: JournalSnapshot) -> Vec<Effect> {
        if snapshot.applied < self.journal_changes_sent {
            self.needs_redraw = false;
            return Vec::new();
        }
        let before = self.locks.entries().to_vec();
        let outs = self.locks.reconcile(snapshot.held, self.now);
        let rows = self.visible_rows();
        self.locks.scroll_to_selection(rows);
        self.needs_redraw = self.locks.entries() != before.as_slice();
        self.apply(outs, Pending::Locks)
    }

    fn on_resize(&mut self, width: u16, height: u16) {
        self.screen = Rect::new(0, 0, width, height);
        let max_help_scroll = self.max_help_scroll();
        if let Some(shell::Dialog::Help { scroll }) = &mut self.shell {
            *scroll = (*scroll).min(max_help_scroll);
        }
        let rows = self.visible_rows();
        self.locks.scroll_to_selection(rows);
        self.records.scroll_to_cursor(rows);
    }

    /// Help scrolled this far shows its last line at the bottom of the overlay.
    fn max_help_scroll(&self) -> usize {
        let width = super::layout::help_area(self.screen).width;
        let theme = super::theme::Theme::new(super::theme::ColorSupport::None);
        shell::view::help_text(&self.keymap, self.session.read_only, width, &theme)
            .len()
            .saturating_sub(super::layout::help_rows(self.screen))
    }

    fn on_api_reply(&mut self, reply: ApiReply) -> Vec<Effect> {
        self.now = self.now.max(reply.finished_at);
        if let Some(offset) = reply.clock_offset {
            self.status.measured_offset(offset);
        }
        let Some(pending) = self.pending.remove(&reply.request) else {
            return Vec::new();
        };
        let operation = pending.describe();
        let result = reply.outcome.error().map_or(Ok(()), Err);
        self.activity
            .api_call(reply.finished_at, operation.clone(), result, reply.latency);
        if let Some(error) = reply.outcome.error() {
            self.status.last_error = Some((reply.finished_at, format!("{operation}: {error}")));
        }
        let snapshot = self.snapshot();
        let mut effects = match pending {
            Pending::Locks(pending) => {
                let (outs, released) = self.locks.on_reply(pending, reply.outcome, &snapshot.ctx());
                if released == Some(locks::replies::Released::Failed)
                    && let Some(plan) = &mut self.quit_plan
                {
                    plan.failed = true;
                }
                self.apply(outs, Pending::Locks)
            }
            Pending::Records(pending) => {
                let outs = self.records.on_reply(pending, reply.outcome, &snapshot.ctx());
                self.apply(outs, Pending::Records)
            }
            Pending::Devices(pending) => {
                let outs = self.devices.on_reply(pending, reply.outcome);
                self.apply(outs, Pending::Devices)
            }
        };
        // A record operation may have been waiting for the lock this reply created.
        let snapshot = self.snapshot();
        let outs = self.records.resume_waiting_for_lock(&snapshot.ctx());
        effects.extend(self.apply(outs, Pending::Records));
        effects.extend(self.advance_quit_plan(reply.request));
        effects
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        self.status.notice = None;
        let command = self.keymap.lookup(&self.active_scopes(), &key);
        // Too small to show anything (a confirmation included): only quitting works, and a quit
        // that must ask first asks once the screen can show the question.
        if self.layout().is_none() {
            return match command {
                Some(Command::Quit) if !self.dialog_open() => self.quit(),
                _ => Vec::new(),
            };
        }
        if !self.asks.is_empty() {
            return command.map_or_else(Vec::new, |command| self.answer_unrecorded(command));
        }
        let snapshot = self.snapshot();
        let Some(command) = command else {
            let ctx = snapshot.ctx();
            if let Some(shell::Dialog::CommandLine(line)) = &mut self.shell {
                line.input.handle_event(&crossterm::event::Event::Key(key));
                line.message = None;
            } else if self.locks.dialog.is_some() {
                self.locks.typed(key);
            } else if self.devices.dialog.is_some() {
                self.devices.typed(key);
            } else if self.history_pane.dialog.is_some() {
                self.history_pane.typed(key);
            } else {
                self.records.typed(key, &ctx);
            }
            return Vec::new();
        };
        if let Some(target) = &self.switching
            && command.changes_the_server()
        {
            self.status.notice = Some(format!(
                "switching to {target}: nothing is changed until it is done"
            ));
            return Vec::new();
        }
        if self.session.read_only && command.changes_the_server() {
            let what = self
                .keymap
                .help_of(command)
                .map_or_else(|| command.name(), str::to_lowercase);
            self.status.notice = Some(format!("read-only, not sent: {what}"));
            return Vec::new();
        }
        if let Some(dialog) = self.shell.take() {
            return self.shell_dialog_command(dialog, command);
        }
        if self.locks.dialog.is_some() {
            let outs = self.locks.dialog_command(command, &snapshot.ctx());
            return self.apply(outs, Pending::Locks);
        }
        if self.records.dialog.is_some() {
            let outs = self.records.dialog_command(command, &snapshot.ctx());
            return self.apply(outs, Pending::Records);
        }
        if self.devices.dialog.is_some() {
            let outs = self.devices.dialog_command(command);
            return self.apply(outs, Pending::Devices);
        }
        let rows = snapshot.visible_rows;
        if self.history_pane.dialog.is_some() {
            let area = super::layout::help_area(self.screen);
            let entry_page = (
                usize::from(area.width.saturating_sub(2)),
                super::layout::help_rows(self.screen),
            );
            self.history_pane
                .dialog_command(command, self.now, rows, entry_page);
            return Vec::new();
        }
        match command {
            Command::Quit => return self.quit(),
            Command::ToggleHelp => self.shell = Some(shell::Dialog::Help { scroll: 0 }),
            Command::OpenCommandLine => {
                self.shell = Some(shell::Dialog::CommandLine(CommandLine::default()));
            }
            Command::DismissError => self.status.last_error = None,
            Command::OpenLogEntry if self.focus == Pane::Activity => {
                if let Some(entry) = self.activity.selected() {
                    self.shell = Some(shell::Dialog::LogEntry(Box::new(entry.clone())));
                }
            }
            Command::FocusNext => return self.focus_pane(self.focus.cycle(1)),
            Command::FocusPrevious => return self.focus_pane(self.focus.cycle(-1)),
            Command::ShowLocks => return self.focus_pane(Pane::Locks),
            Command::ShowRecords => return self.focus_pane(Pane::Records),
            Command::ShowDevices => return self.focus_pane(Pane::Devices),
            Command::Up => self.move_in_focus(-1, rows),
            Command::Down => self.move_in_focus(1, rows),
            Command::Top => self.move_in_focus(isize::MIN / 2, rows),
            Command::Bottom => self.move_in_focus(isize::MAX / 2, rows),
            Command::PageUp => self.move_in_focus(-(rows as isize), rows),
            Command::PageDown => self.move_in_focus(rows as isize, rows),
            Command::HalfPageUp => self.move_in_focus(-(rows.div_ceil(2) as isize), rows),
            Command::HalfPageDown => self.move_in_focus(rows.div_ceil(2) as isize, rows),
            Command::Records(command) if self.focus == Pane::Records => {
                let outs = self.records.command(command, &snapshot.ctx());
                return self.apply(outs, Pending::Records);
            }
            Command::Devices(command) if self.focus == Pane::Devices => {
                let outs = self.devices.command(command);
                return self.apply(outs, Pending::Devices);
            }
            Command::History(command) if self.focus == Pane::History => {
                return self.history_pane.command(command);
            }
            Command::Pending(command) if self.focus == Pane::Pending => {
                return self.pending_pane.command(command);
            }
            command if self.focus == Pane::Locks => {
                let outs = self.locks.command(command, &snapshot.ctx());
                return self.apply(outs, Pending::Locks);
            }
            _ => {}
        }
        Vec::new()
    }

    fn shell_dialog_command(&mut self, dialog: shell::Dialog, command: Command) -> Vec<Effect> {
        match (dialog, command) {
            (_, Command::Cancel) => {}
            (shell::Dialog::CommandLine(line), Command::Confirm) => return self.run_line(line),
            (shell::Dialog::CommandLine(mut line), command) => {
                match command {
                    Command::Up | Command::Down => line.walk(&self.history, command == Command::Up),
                    Command::Complete => line.complete(&self.profiles),
                    Command::ClearInput => line = CommandLine::default(),
                    _ => {}
                }
                self.shell = Some(shell::Dialog::CommandLine(line));
            }
            (
                shell::Dialog::Help { scroll },
                Command::Up
                | Command::Down
                | Command::PageUp
                | Command::PageDown
                | Command::Top
                | Command::Bottom,
            ) => {
                let page = super::layout::help_rows(self.screen).max(1);
                let max = self.max_help_scroll();
                let scroll = match command {
                    Command::Up => scroll.saturating_sub(1),
                    Command::Down => scroll + 1,
                    Command::PageUp => scroll.saturating_sub(page),
                    Command::PageDown => scroll + page,
                    Command::Top => 0,
                    _ => max,
                };
                self.shell = Some(shell::Dialog::Help {
                    scroll: scroll.min(max),
                });
            }
            (shell::Dialog::QuitPrompt { .. }, Command::KeepAndQuit) => {
                let outs = self.locks.keep_for_user(self.now);
                let text = format!(
                    "kept {} live lock(s) in the journal, as yours until released",
                    outs.len()
                );
                self.activity.note(self.now, Outcome::Info, "quit", text);
                let mut effects = self.apply(outs, Pending::Locks);
                effects.push(Effect::Quit);
                return effects;
            }
            (shell::Dialog::QuitPrompt { .. }, Command::ReleaseAllAndQuit) => {
                return self.release_all_and_quit();
            }
            (shell::Dialog::ConfirmSwitch { to, .. }, Command::Confirm) => return self.switch_to(to),
            (dialog, _) => self.shell = Some(dialog),
        }
        Vec::new()
    }

    fn move_in_focus(&mut self, delta: isize, rows: usize) {
        match self.focus {
            Pane::Locks => self.locks.move_selection(delta, rows),
            // The log grows downwards: moving up means scrolling back in time.
            Pane::Activity => self.activity.scroll(-delta),
            Pane::Records => self.records.move_cursor(delta, rows),
            Pane::Devices => self
                .devices
                .move_cursor(delta, devices::update::visible_devices(rows)),
            Pane::History => self.history_pane.move_cursor(delta, rows),
            Pane::Pending => self.pending_pane.move_cursor(delta, rows),
        }
    }

    fn on_paste(&mut self, text: &str) -> Vec<Effect> {
        if self.layout().is_none() || !self.asks.is_empty() {
            return Vec::new();
        }
        if let Some(shell::Dialog::CommandLine(line)) = &mut self.shell {
            let one_line: String = text.chars().filter(|c| !c.is_control()).collect();
            crate::tui::text_input::insert_at_cursor(&mut line.input, &one_line);
        } else if self.locks.dialog.is_some() {
            self.locks.pasted(text);
        } else if self.devices.dialog.is_some() {
            self.devices.pasted(text);
        } else if self.history_pane.dialog.is_some() {
            self.history_pane.pasted(text);
        } else {
            let snapshot = self.snapshot();
            self.records.pasted(text, &snapshot.ctx());
        }
        Vec::new()
    }

    fn on_mouse(&mut self, mouse: MouseEvent) -> Vec<Effect> {
        let Some(layout) = self.layout() else {
            return Vec::new();
        };
        if self.dialog_open() {
            return Vec::new();
        }
        let position = Position::new(mouse.column, mouse.row);
        if mouse.kind == MouseEventKind::Down(MouseButton::Left)
            && let Some(pane) = self.tab_at(position)
        {
            self.needs_redraw = true;
            return self.focus_pane(pane);
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
                if pane == Pane::Devices {
                    // The devices pane has no column header: its rows start below the border.
                    if let Some(row) = position.y.checked_sub(layout.locks.y + 1) {
                        self.devices.click(usize::from(row));
                    }
                } else if let Some(row) = layout.lock_row_at(position) {
                    match pane {
                        Pane::Records => self.records.click(row),
                        Pane::Locks => self.locks.click(row),
                        Pane::History => self.history_pane.click(row),
                        Pane::Pending => self.pending_pane.click(row),
                        Pane::Activity | Pane::Devices => {}
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
                self.move_in_focus(delta, self.visible_rows());
            }
            _ => {}
        }
        Vec::new()
    }
}

mod line;
mod queue;
mod quit;
mod session;
mod unrecorded;

#[cfg(test)]
mod command_line_tests;
#[cfg(test)]
mod read_only_tests;
/// The Devices tab: how many devices, and how many are late or stale (in `status`'s terms,
/// once every record is listed).
fn devices_label(devices: usize, late_and_stale: Option<(usize, usize)>) -> String {
    match late_and_stale {
        Some((late, stale)) if late + stale > 0 => {
            let mut parts = vec![devices.to_string()];
            if late > 0 {
                parts.push(format!("{late} late"));
            }
            if stale > 0 {
                parts.push(format!("{stale} stale"));
            }
            format!("Devices ({})", parts.join(" · "))
        }
        _ => format!("Devices ({devices})"),
    }
}

#[cfg(test)]
mod tests;
