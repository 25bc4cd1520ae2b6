//! What keys do: the vocabulary of commands and scopes, chords and their names, and the
//! [`Keymap`] built from the features' default tables (`*/keys.rs`, one binding per line) with
//! the user's `[keys]` from `config.toml` on top. One keymap decides what a key does and is what
//! the footer hints and the help overlay display, so the three can never disagree.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. Handled in `App::update` and the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    ToggleHelp,
    FocusNext,
    FocusPrevious,
    /// Show and focus the locks pane (its tab in the strip above the upper pane).
    ShowLocks,
    /// Show and focus the records pane.
    ShowRecords,
    /// Show and focus the devices pane.
    ShowDevices,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    NewLock,
    RenewLock,
    ReleaseLock,
    ToggleAutoRenew,
    AdoptLock,
    CopyLockId,
    ToggleFullIds,
    /// Forget every expired or gone lock (after a confirmation).
    ForgetExpired,
    /// Open the `:` command line.
    OpenCommandLine,
    /// Take the error off the status bar (the activity log keeps it).
    DismissError,
    /// Open the activity log's selected line whole.
    OpenLogEntry,
    /// Complete the word being typed (the command line's Tab).
    Complete,
    /// Confirm the open dialog (yes / submit / choose).
    Confirm,
    /// Close the open dialog without doing anything.
    Cancel,
    /// Choose the n-th option of the module picker (0-based).
    PickOption(usize),
    /// Clear the text field of the open dialog.
    ClearInput,
    /// Quit prompt: release every live lock, then quit.
    ReleaseAllAndQuit,
    /// Quit prompt: keep the locks (they stay in the journal) and quit.
    KeepAndQuit,
    /// The records pane and its dialogs.
    Records(RecordCommand),
    /// The devices pane and its dialogs.
    Devices(DeviceCommand),
    /// The history pane.
    History(HistoryCommand),
    Pending(PendingCommand),
}

/// What a key asks of the history pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryCommand {
    /// Type filter words.
    Filter,
    /// Show the entry under the cursor whole.
    Open,
    /// Read the history again.
    Refresh,
}

/// What a key asks of the pending-deletions pane (`:pending`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingCommand {
    /// Take back the queued deletion under the cursor.
    Cancel,
    /// Read the queue again.
    Refresh,
}

/// What a key asks of the devices pane or one of its dialogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCommand {
    Refresh,
    /// Open the device under the cursor.
    Open,
    Unbind,
    /// Show the device's records in the records pane.
    BrowseRecords,
    /// Step the detail view's module by this many places.
    ChangeModule(isize),
    AddScope,
    DeleteScope,
    /// Change the selected setting of the device detail view.
    EditSetting,
    /// Type the `/` filter.
    Filter,
    /// Drop the filter.
    ClearFilter,
}

/// What a key asks of the records pane or one of its dialogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCommand {
    /// Browse the n-th module (0-based: folder, album, address book).
    ShowModule(usize),
    Refresh,
    NewRecord,
    /// Open the detail view of the record under the cursor.
    Open,
    Complete,
    Delete,
    /// Mark or unmark the record under the cursor for a bulk delete.
    ToggleMark,
    /// Mark every record that matches the filter, or clear the marks when all are marked.
    MarkAll,
    LocalFilter,
    DeviceFilter,
    /// Esc in the pane: clear the local filter, else the device filter, else the marks.
    ClearFilter,
    Cleanup,
    NextField,
    PreviousField,
    /// Step the form's module selector by this many places.
    ChangeModule(isize),
    /// Put the next (1) or previous (-1) bound device into the form's device field.
    ChooseDevice(isize),
    /// Copy the selected record's id (or, in the details, its device id) to the clipboard.
    CopyId,
    CopyDeviceId,
    /// Edit the properties of the form, or of the record being completed, in the user's own
    /// editor (`$VISUAL`, `$EDITOR`, else `vi`).
    EditProperties,
    NextPage,
    PreviousPage,
    /// Step the clean-up age threshold by this many presets.
    ChangeAge(isize),
    /// Clean-up: propose records marked `to be deleted`, or not.
    ToggleMarkedForDeletion,
    /// Clean-up: edit the retention policy for completed backups.
    EditRetention,
    /// Take back the queued deletions of the marked records, else of the selected one.
    CancelQueued,
}

impl Command {
    /// The name a user writes in `[keys]` to rebind this command.
    pub fn name(self) -> String {
        use RecordCommand as R;
        match self {
            Command::Quit => "quit".into(),
            Command::ToggleHelp => "help".into(),
            Command::FocusNext => "next-pane".into(),
            Command::FocusPrevious => "previous-pane".into(),
            Command::ShowLocks => "show-locks".into(),
            Command::ShowRecords => "show-records".into(),
            Command::ShowDevices => "show-devices".into(),
            Command::Up => "up".into(),
            Command::Down => "down".into(),
            Command::Top => "top".into(),
            Command::Bottom => "bottom".into(),
            Command::PageUp => "page-up".into(),
            Command::PageDown => "page-down".into(),
            Command::HalfPageUp => "half-page-up".into(),
            Command::HalfPageDown => "half-page-down".into(),
            Command::NewLock => "new".into(),
            Command::RenewLock => "renew".into(),
            Command::ReleaseLock => "release".into(),
            Command::ToggleAutoRenew => "auto-renew".into(),
            Command::AdoptLock => "adopt".into(),
            Command::CopyLockId => "copy".into(),
            Command::ToggleFullIds => "full-ids".into(),
            Command::ForgetExpired => "forget-expired".into(),
            Command::OpenCommandLine => "command-line".into(),
            Command::DismissError => "dismiss-error".into(),
            Command::OpenLogEntry => "open".into(),
            Command::Complete => "complete-word".into(),
            Command::Confirm => "confirm".into(),
            Command::Cancel => "cancel".into(),
            Command::PickOption(n) => format!("option-{}", n + 1),
            Command::ClearInput => "clear".into(),
            Command::ReleaseAllAndQuit => "release-all".into(),
            Command::KeepAndQuit => "keep".into(),
            Command::Records(command) => match command {
                R::ShowModule(n) => format!("module-{}", n + 1),
                R::Refresh => "refresh".into(),
                R::NewRecord => "new".into(),
                R::Open => "open".into(),
                R::Complete => "complete".into(),
                R::Delete => "delete".into(),
                R::ToggleMark => "mark".into(),
                R::MarkAll => "mark-all".into(),
                R::LocalFilter => "filter".into(),
                R::DeviceFilter => "device-filter".into(),
                R::ClearFilter => "clear-filter".into(),
                R::Cleanup => "cleanup".into(),
                R::NextField => "next-field".into(),
                R::PreviousField => "previous-field".into(),
                R::ChangeModule(step) if step < 0 => "previous-module".into(),
                R::ChangeModule(_) => "next-module".into(),
                R::ChooseDevice(step) if step < 0 => "previous-device".into(),
                R::ChooseDevice(_) => "next-device".into(),
                R::CopyId => "copy-id".into(),
                R::CopyDeviceId => "copy-device-id".into(),
                R::EditProperties => "editor".into(),
                R::NextPage => "next-page".into(),
                R::PreviousPage => "previous-page".into(),
                R::ChangeAge(step) if step < 0 => "younger".into(),
                R::ChangeAge(_) => "older".into(),
                R::ToggleMarkedForDeletion => "toggle-marked".into(),
                R::EditRetention => "retention".into(),
                R::CancelQueued => "cancel-queued".into(),
            },
            Command::Devices(command) => match command {
                DeviceCommand::Refresh => "refresh".into(),
                DeviceCommand::Open => "open".into(),
                DeviceCommand::Unbind => "unbind".into(),
                DeviceCommand::BrowseRecords => "records".into(),
                DeviceCommand::ChangeModule(step) if step < 0 => "previous-module".into(),
                DeviceCommand::ChangeModule(_) => "next-module".into(),
                DeviceCommand::AddScope => "add-scope".into(),
                DeviceCommand::DeleteScope => "delete-scope".into(),
                DeviceCommand::EditSetting => "edit-setting".into(),
                DeviceCommand::Filter => "filter".into(),
                DeviceCommand::ClearFilter => "clear-filter".into(),
            },
            Command::History(command) => match command {
                HistoryCommand::Filter => "filter".into(),
                HistoryCommand::Open => "open".into(),
                HistoryCommand::Refresh => "refresh".into(),
            },
            Command::Pending(command) => match command {
                PendingCommand::Cancel => "cancel-queued".into(),
                PendingCommand::Refresh => "refresh".into(),
            },
        }
    }

    /// Whether running this command changes something on the server (refused in read-only
    /// mode).
    pub fn changes_the_server(self) -> bool {
        use RecordCommand as R;
        matches!(
            self,
            Command::NewLock
                | Command::RenewLock
                | Command::ReleaseLock
                | Command::ToggleAutoRenew
                | Command::AdoptLock
                | Command::ReleaseAllAndQuit
                // The clean-up view opens as a preview; its delete refuses in read-only mode.
                | Command::Records(R::NewRecord | R::Complete | R::Delete)
                | Command::Devices(
                    DeviceCommand::Unbind
                        | DeviceCommand::AddScope
                        | DeviceCommand::DeleteScope
                        | DeviceCommand::EditSetting
                )
        )
    }
}

/// Where a binding applies. Global bindings apply whenever no dialog is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Global,
    LocksPane,
    ActivityPane,
    Help,
    Confirm,
    ModulePicker,
    TextInput,
    QuitPrompt,
    RecordsPane,
    /// The record form with a text field focused.
    RecordForm,
    /// The record form with the module selector focused.
    RecordFormModule,
    RecordDetail,
    /// A one-line filter field of the record side.
    RecordText,
    /// The properties field of the dialog that completes a record.
    CompleteRecord,
    /// Typing the number of records to delete.
    TypeToConfirm,
    Cleanup,
    /// Editing the clean-up view's retention policy.
    CleanupRules,
    BulkRunning,
    BulkSummary,
    DevicesPane,
    /// A device's settings and scopes.
    DeviceDetail,
    /// A setting's new value or a new scope being typed.
    DeviceText,
    /// The `:` command line.
    CommandLine,
    /// One line of the activity log, whole.
    LogEntry,
    HistoryPane,
    /// The history pane's filter words being typed.
    HistoryFilter,
    /// One entry of the history, whole.
    HistoryEntry,
    PendingPane,
}

impl Scope {
    /// Every scope, in the order the help overlay lists them.
    pub const ALL: [Scope; 28] = [
        Scope::Global,
        Scope::LocksPane,
        Scope::ActivityPane,
        Scope::ModulePicker,
        Scope::TextInput,
        Scope::Confirm,
        Scope::QuitPrompt,
        Scope::Help,
        Scope::RecordsPane,
        Scope::RecordForm,
        Scope::RecordFormModule,
        Scope::RecordDetail,
        Scope::RecordText,
        Scope::CompleteRecord,
        Scope::TypeToConfirm,
        Scope::Cleanup,
        Scope::CleanupRules,
        Scope::BulkRunning,
        Scope::BulkSummary,
        Scope::DevicesPane,
        Scope::DeviceDetail,
        Scope::DeviceText,
        Scope::HistoryPane,
        Scope::HistoryFilter,
        Scope::HistoryEntry,
        Scope::PendingPane,
        Scope::CommandLine,
        Scope::LogEntry,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::LocksPane => "Locks pane",
            Scope::ActivityPane => "Activity log",
            Scope::Help => "Help",
            Scope::Confirm => "Confirmation",
            Scope::ModulePicker => "New lock: choose a module",
            Scope::TextInput => "Adopt a lock id",
            Scope::QuitPrompt => "Quit while holding locks",
            Scope::RecordsPane => "Records pane",
            Scope::RecordForm => "New record form",
            Scope::RecordFormModule => "New record form: module",
            Scope::RecordDetail => "Record details",
            Scope::RecordText => "Filter field",
            Scope::CompleteRecord => "Complete a record",
            Scope::TypeToConfirm => "Confirm a bulk delete",
            Scope::Cleanup => "Clean-up candidates",
            Scope::CleanupRules => "Clean-up: retention rules",
            Scope::BulkRunning => "Bulk delete running",
            Scope::BulkSummary => "Bulk delete summary",
            Scope::DevicesPane => "Devices pane",
            Scope::DeviceDetail => "A device",
            Scope::DeviceText => "Device: change a setting or add a scope",
            Scope::CommandLine => "Command line (:)",
            Scope::LogEntry => "A line of the activity log",
            Scope::HistoryPane => "History pane (:history)",
            Scope::HistoryFilter => "History: filter words",
            Scope::HistoryEntry => "History: one entry",
            Scope::PendingPane => "Pending deletions (:pending)",
        }
    }

    /// The name of this scope in `[keys]` (`[keys.locks]`).
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::LocksPane => "locks",
            Scope::ActivityPane => "activity",
            Scope::Help => "help",
            Scope::Confirm => "confirm",
            Scope::ModulePicker => "module-picker",
            Scope::TextInput => "adopt",
            Scope::QuitPrompt => "quit-prompt",
            Scope::RecordsPane => "records",
            Scope::RecordForm => "record-form",
            Scope::RecordFormModule => "record-form-module",
            Scope::RecordDetail => "record-detail",
            Scope::RecordText => "filter",
            Scope::CompleteRecord => "complete",
            Scope::TypeToConfirm => "type-to-confirm",
            Scope::Cleanup => "cleanup",
            Scope::CleanupRules => "cleanup-rules",
            Scope::BulkRunning => "bulk-running",
            Scope::BulkSummary => "bulk-summary",
            Scope::DevicesPane => "devices",
            Scope::DeviceDetail => "device",
            Scope::DeviceText => "device-text",
            Scope::CommandLine => "command-line",
            Scope::LogEntry => "log-entry",
            Scope::HistoryPane => "history",
            Scope::HistoryFilter => "history-filter",
            Scope::HistoryEntry => "history-entry",
            Scope::PendingPane => "pending",
        }
    }
}

/// A key with its modifiers. Shift is ignored for characters (crossterm reports `G` as
/// Shift+`G` on some terminals and plain `G` on others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Chord {
    pub fn from_event(event: &KeyEvent) -> Chord {
        let code = match event.code {
            // Some terminals send Shift+Tab as BackTab with Shift, others as Tab with Shift.
            KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            code => code,
        };
        Chord {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
        }
    }

    /// Parses one chord as written in key tables and `[keys]`: a character (`q`, `G`, `?`),
    /// `Space`, a named key (`Enter`, `Esc`, `Tab`, `Shift+Tab`, `Up`, `Down`, `Left`, `Right`,
    /// `Home`, `End`, `PgUp`, `PgDn`, `Del`, `Backspace`, `Insert`, `F1`…`F12`), or `Ctrl+x`.
    pub fn parse(text: &str) -> Result<Chord, String> {
        let (ctrl, rest) = match text.strip_prefix("Ctrl+").or_else(|| text.strip_prefix("ctrl+")) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() && c != ' ' => {
                KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "space" => KeyCode::Char(' '),
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "shift+tab" | "backtab" => KeyCode::BackTab,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "del" | "delete" => KeyCode::Delete,
                "backspace" => KeyCode::Backspace,
                "insert" => KeyCode::Insert,
                name => match name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    Some(n @ 1..=12) => KeyCode::F(n),
                    _ => {
                        return Err(format!(
                            "{text:?} is not a key (try e.g. \"r\", \"Ctrl+r\", \"Del\", \"PgDn\")"
                        ));
                    }
                },
            },
        };
        Ok(Chord { code, ctrl })
    }

    /// Several chords, separated by blanks: `"d Del"`.
    pub fn parse_list(text: &str) -> Result<Vec<Chord>, String> {
        let chords: Vec<Chord> = text
            .split_whitespace()
            .map(Chord::parse)
            .collect::<Result<_, _>>()?;
        if chords.is_empty() {
            return Err("no key given".into());
        }
        Ok(chords)
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl+")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift+Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Insert => f.write_str("Insert"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One row of a feature's default key table.
#[derive(Debug)]
pub struct KeyDef {
    pub scope: Scope,
    /// The chords, as [`Chord::parse_list`] reads them.
    pub chords: &'static str,
    /// How the keys are written in hints and help, e.g. `j/↓` (some chords may be left out as
    /// aliases).
    pub keys: &'static str,
    /// Short label for the footer; `None` keeps the binding out of the footer.
    pub hint: Option<&'static str>,
    /// Sentence for the help overlay.
    pub help: &'static str,
    pub command: Command,
}

/// A default binding, for the tables' one-line rows.
pub const fn bind(
    scope: Scope,
    chords: &'static str,
    keys: &'static str,
    hint: Option<&'static str>,
    help: &'static str,
    command: Command,
) -> KeyDef {
    KeyDef {
        scope,
        chords,
        keys,
        hint,
        help,
        command,
    }
}

/// A binding in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub scope: Scope,
    pub chords: Vec<Chord>,
    /// As shown in hints and help: the default's text, or the user's keys.
    pub keys: String,
    pub hint: Option<&'static str>,
    pub help: &'static str,
    pub command: Command,
}

/// The user's `[keys]`: per scope name, a command name and the keys for it (`renew = "R"`).
pub type KeyOverrides = BTreeMap<String, BTreeMap<String, String>>;

/// Every binding in effect, in help order.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

impl Keymap {
    /// The defaults of `tables` (each a feature's), in order.
    pub fn new(tables: &[&[KeyDef]]) -> Keymap {
        let bindings = tables
            .iter()
            .flat_map(|table| table.iter())
            .map(|d| Binding {
                scope: d.scope,
                chords: Chord::parse_list(d.chords)
                    .unwrap_or_else(|e| panic!("default key table: {:?}: {e}", d.chords)),
                keys: d.keys.to_string(),
                hint: d.hint,
                help: d.help,
                command: d.command,
            })
            .collect();
        Keymap { bindings }
    }

    /// The defaults with the user's overrides applied. Refuses (with the reason, naming the
    /// scope and command as written) an unknown scope or command, a key that does not parse,
    /// and a result that binds one key twice in a scope.
    pub fn with_overrides(tables: &[&[KeyDef]], overrides: &KeyOverrides) -> Result<Keymap, String> {
        let mut keymap = Keymap::new(tables);
        for (scope_name, commands) in overrides {
            let scope = Scope::ALL
                .into_iter()
                .find(|s| s.name() == scope_name)
                .ok_or_else(|| {
                    let known: Vec<&str> = Scope::ALL.iter().map(|s| s.name()).collect();
                    format!("[keys.{scope_name}]: no such scope; known: {}", known.join(", "))
                })?;
            for (command_name, keys) in commands {
                let chords = Chord::parse_list(keys)
                    .map_err(|e| format!("[keys.{scope_name}] {command_name}: {e}"))?;
                let mut found = false;
                for binding in keymap.bindings.iter_mut().filter(|b| b.scope == scope) {
                    if binding.command.name() == *command_name {
                        binding.keys = chords
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("/");
                        binding.chords = chords.clone();
                        found = true;
                    }
                }
                if !found {
                    let known: Vec<String> = keymap
                        .bindings
                        .iter()
                        .filter(|b| b.scope == scope)
                        .map(|b| b.command.name())
                        .collect();
                    return Err(format!(
                        "[keys.{scope_name}] {command_name}: no such command here; known: {}",
                        known.join(", ")
                    ));
                }
            }
        }
        if let Some(clash) = keymap.clash() {
            return Err(clash);
        }
        Ok(keymap)
    }

    /// A key bound twice in one scope, or a pane key that hides a global one, if any.
    pub fn clash(&self) -> Option<String> {
        for (i, a) in self.bindings.iter().enumerate() {
            for b in &self.bindings[i + 1..] {
                let shadows_global = matches!(
                    (a.scope, b.scope),
                    (
                        Scope::Global,
                        Scope::LocksPane | Scope::ActivityPane | Scope::RecordsPane
                    )
                );
                if a.scope != b.scope && !shadows_global {
                    continue;
                }
                if let Some(chord) = a.chords.iter().find(|c| b.chords.contains(c)) {
                    return Some(format!(
                        "key {chord} is bound to both {} ({}) and {} ({})",
                        a.command.name(),
                        a.scope.name(),
                        b.command.name(),
                        b.scope.name()
                    ));
                }
            }
        }
        None
    }

    /// The command bound to `event` in the first of `scopes` that binds it.
    pub fn lookup(&self, scopes: &[Scope], event: &KeyEvent) -> Option<Command> {
        let chord = Chord::from_event(event);
        scopes.iter().find_map(|scope| {
            self.bindings
                .iter()
                .find(|b| b.scope == *scope && b.chords.contains(&chord))
                .map(|b| b.command)
        })
    }

    /// The bindings of one scope, in table order.
    pub fn bindings_of(&self, scope: Scope) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| b.scope == scope)
    }

    /// What a command does, in its help's words (its first binding's).
    pub fn help_of(&self, command: Command) -> Option<&'static str> {
        self.bindings
            .iter()
            .find(|b| b.command == command)
            .map(|b| b.help)
    }

    /// Footer hints for `scopes`, in table order.
    pub fn hints(&self, scopes: &[Scope]) -> Vec<&Binding> {
        scopes
            .iter()
            .flat_map(|scope| self.bindings_of(*scope))
            .filter(|b| b.hint.is_some())
            .collect()
    }

    /// The help overlay's lines: each scope with bindings under its title, a blank line
    /// between. Both the overlay and its scrolling (which stops at the last line) count these.
    pub fn help_lines(&self) -> Vec<HelpLine<'_>> {
        let mut lines = Vec::new();
        for scope in Scope::ALL {
            let mut bindings = self.bindings_of(scope).peekable();
            if bindings.peek().is_none() {
                continue;
            }
            if !lines.is_empty() {
                lines.push(HelpLine::Blank);
            }
            lines.push(HelpLine::Title(scope));
            lines.extend(bindings.map(HelpLine::Key));
        }
        lines
    }

    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }
}

/// One line of the help overlay.
#[derive(Debug, Clone, Copy)]
pub enum HelpLine<'a> {
    Blank,
    /// The heading of a scope's keys.
    Title(Scope),
    Key(&'a Binding),
}

#[cfg(test)]
mod tests;
