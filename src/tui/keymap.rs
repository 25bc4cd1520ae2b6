//! The one key table. It decides what a key does, and it is what the footer hints and the help
//! overlay display, so the three can never disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub use super::record_keys::RecordCommand;

/// What a key asks for. Handled in `App::update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    ToggleHelp,
    FocusNext,
    FocusPrevious,
    /// Show and focus the locks pane (its tab in the strip above the upper pane).
    ShowLocks,
    /// Show and focus the records pane (its tab in the strip above the upper pane).
    ShowRecords,
    Up,
    Down,
    Top,
    Bottom,
    NewLock,
    RenewLock,
    ReleaseLock,
    ToggleAutoRenew,
    AdoptLock,
    CopyLockId,
    ToggleFullIds,
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
    /// The records pane and its dialogs (handled in `app::records`).
    Records(RecordCommand),
}

/// Where a binding applies. Global bindings apply whenever no dialog is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    BulkRunning,
    BulkSummary,
}

impl Scope {
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
            Scope::BulkRunning => "Bulk delete running",
            Scope::BulkSummary => "Bulk delete summary",
        }
    }
}

/// A key with its modifiers. Shift is ignored for characters (crossterm reports `G` as
/// Shift+`G` on some terminals and plain `G` on others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn key(code: KeyCode) -> Chord {
    Chord { code, ctrl: false }
}

const fn ch(c: char) -> Chord {
    key(KeyCode::Char(c))
}

const fn ctrl(c: char) -> Chord {
    Chord {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

impl Chord {
    pub fn from_event(event: &KeyEvent) -> Chord {
        Chord {
            code: event.code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
        }
    }
}

/// One row of the key table.
#[derive(Debug)]
pub struct Binding {
    pub scope: Scope,
    pub chords: &'static [Chord],
    /// How the keys are written in hints and help, e.g. `j/↓`.
    pub keys: &'static str,
    /// Short label for the footer; `None` keeps the binding out of the footer.
    pub hint: Option<&'static str>,
    /// Sentence for the help overlay.
    pub help: &'static str,
    pub command: Command,
}

macro_rules! binding {
    ($scope:ident, [$($chord:expr),+], $keys:literal, $hint:expr, $help:literal, $command:expr) => {
        Binding {
            scope: Scope::$scope,
            chords: &[$($chord),+],
            keys: $keys,
            hint: $hint,
            help: $help,
            command: $command,
        }
    };
}

use Command as C;
use RecordCommand as R;

/// Every key of the app, in the order the help overlay lists them.
pub static BINDINGS: &[Binding] = &[
    binding!(
        Global,
        [ch('q'), ctrl('c')],
        "q",
        Some("quit"),
        "Quit (asks first if you hold live locks)",
        C::Quit
    ),
    binding!(
        Global,
        [ch('?')],
        "?",
        Some("help"),
        "Show or hide this help",
        C::ToggleHelp
    ),
    binding!(
        Global,
        [key(KeyCode::Tab)],
        "Tab",
        Some("next pane"),
        "Focus the next pane",
        C::FocusNext
    ),
    binding!(
        Global,
        [key(KeyCode::BackTab)],
        "Shift+Tab",
        None,
        "Focus the previous pane",
        C::FocusPrevious
    ),
    binding!(
        Global,
        [ch('L')],
        "L",
        None,
        "Show the locks pane (or click its tab above the pane)",
        C::ShowLocks
    ),
    binding!(
        Global,
        [ch('R')],
        "R",
        None,
        "Show the backup records pane (or click its tab)",
        C::ShowRecords
    ),
    binding!(Global, [ch('k'), key(KeyCode::Up)], "k/↑", None, "Move up", C::Up),
    binding!(
        Global,
        [ch('j'), key(KeyCode::Down)],
        "j/↓",
        None,
        "Move down",
        C::Down
    ),
    binding!(
        Global,
        [ch('g'), key(KeyCode::Home)],
        "g/Home",
        None,
        "Go to the first line",
        C::Top
    ),
    binding!(
        Global,
        [ch('G'), key(KeyCode::End)],
        "G/End",
        None,
        "Go to the last line",
        C::Bottom
    ),
    binding!(
        LocksPane,
        [ch('n')],
        "n",
        Some("new"),
        "Create a lock for a module you choose",
        C::NewLock
    ),
    binding!(
        LocksPane,
        [ch('r')],
        "r",
        Some("renew"),
        "Renew the selected lock for another TTL",
        C::RenewLock
    ),
    binding!(
        LocksPane,
        [ch('d'), key(KeyCode::Delete)],
        "d/Del",
        Some("release"),
        "Release the selected lock (asks first)",
        C::ReleaseLock
    ),
    binding!(
        LocksPane,
        [ch('a')],
        "a",
        Some("auto-renew"),
        "Turn auto-renew on or off for the selected lock",
        C::ToggleAutoRenew
    ),
    binding!(
        LocksPane,
        [ch('i')],
        "i",
        Some("adopt"),
        "Adopt a lock id created by another tool (type or paste it)",
        C::AdoptLock
    ),
    binding!(
        LocksPane,
        [ch('y'), ch('c')],
        "y/c",
        Some("copy id"),
        "Copy the selected lock id to the clipboard (OSC 52)",
        C::CopyLockId
    ),
    binding!(
        LocksPane,
        [ch('v')],
        "v",
        Some("full ids"),
        "Show full lock ids or shortened ones",
        C::ToggleFullIds
    ),
    binding!(
        Help,
        [ch('k'), key(KeyCode::Up)],
        "k/↑",
        Some("scroll"),
        "Scroll the help up",
        C::Up
    ),
    binding!(
        Help,
        [ch('j'), key(KeyCode::Down)],
        "j/↓",
        None,
        "Scroll the help down",
        C::Down
    ),
    binding!(
        Help,
        [ch('?'), key(KeyCode::Esc), ch('q')],
        "?/Esc",
        Some("close"),
        "Close the help",
        C::Cancel
    ),
    binding!(
        Confirm,
        [ch('y'), key(KeyCode::Enter)],
        "y/Enter",
        Some("yes"),
        "Do it",
        C::Confirm
    ),
    binding!(
        Confirm,
        [ch('n'), key(KeyCode::Esc)],
        "n/Esc",
        Some("no"),
        "Cancel",
        C::Cancel
    ),
    binding!(
        ModulePicker,
        [ch('1')],
        "1",
        None,
        "Folder backup (100)",
        C::PickOption(0)
    ),
    binding!(
        ModulePicker,
        [ch('2')],
        "2",
        None,
        "Album backup (101)",
        C::PickOption(1)
    ),
    binding!(
        ModulePicker,
        [ch('3')],
        "3",
        None,
        "Address-book backup (102)",
        C::PickOption(2)
    ),
    binding!(
        ModulePicker,
        [ch('k'), key(KeyCode::Up)],
        "k/↑",
        None,
        "Previous module",
        C::Up
    ),
    binding!(
        ModulePicker,
        [ch('j'), key(KeyCode::Down)],
        "j/↓",
        None,
        "Next module",
        C::Down
    ),
    binding!(
        ModulePicker,
        [key(KeyCode::Enter)],
        "1-3/Enter",
        Some("create"),
        "Create the lock",
        C::Confirm
    ),
    binding!(
        ModulePicker,
        [key(KeyCode::Esc), ch('q')],
        "Esc",
        Some("cancel"),
        "Cancel",
        C::Cancel
    ),
    binding!(
        TextInput,
        [key(KeyCode::Enter)],
        "Enter",
        Some("adopt"),
        "Adopt the lock id (renews it to learn its expiry)",
        C::Confirm
    ),
    binding!(
        TextInput,
        [ctrl('u')],
        "Ctrl+U",
        Some("clear"),
        "Clear the field",
        C::ClearInput
    ),
    binding!(
        TextInput,
        [key(KeyCode::Esc)],
        "Esc",
        Some("cancel"),
        "Cancel",
        C::Cancel
    ),
    binding!(
        QuitPrompt,
        [ch('r')],
        "r",
        Some("release all"),
        "Release every live lock, then quit",
        C::ReleaseAllAndQuit
    ),
    binding!(
        QuitPrompt,
        [ch('k')],
        "k",
        Some("keep"),
        "Keep the locks (they stay in the journal) and quit",
        C::KeepAndQuit
    ),
    binding!(
        QuitPrompt,
        [ch('c'), key(KeyCode::Esc)],
        "c/Esc",
        Some("cancel"),
        "Stay in the app",
        C::Cancel
    ),
    binding!(
        RecordsPane,
        [ch('1')],
        "1",
        None,
        "Browse folder backups (100)",
        C::Records(R::ShowModule(0))
    ),
    binding!(
        RecordsPane,
        [ch('2')],
        "2",
        None,
        "Browse album backups (101)",
        C::Records(R::ShowModule(1))
    ),
    binding!(
        RecordsPane,
        [ch('3')],
        "3",
        None,
        "Browse address-book backups (102)",
        C::Records(R::ShowModule(2))
    ),
    binding!(
        RecordsPane,
        [ch('n')],
        "n",
        Some("new"),
        "Create a backup record (form)",
        C::Records(R::NewRecord)
    ),
    binding!(
        RecordsPane,
        [key(KeyCode::Enter)],
        "Enter",
        Some("details"),
        "Show every field and the files of the record",
        C::Records(R::Open)
    ),
    binding!(
        RecordsPane,
        [ch('r')],
        "r",
        Some("refresh"),
        "Load the list again from the server",
        C::Records(R::Refresh)
    ),
    binding!(
        RecordsPane,
        [ch('c')],
        "c",
        None,
        "Complete the record (status new -> completed)",
        C::Records(R::Complete)
    ),
    binding!(
        RecordsPane,
        [ch('d'), key(KeyCode::Delete)],
        "d/Del",
        Some("delete"),
        "Delete the marked records, else the selected one (asks first)",
        C::Records(R::Delete)
    ),
    binding!(
        RecordsPane,
        [ch(' ')],
        "Space",
        Some("mark"),
        "Mark or unmark the record for a bulk delete",
        C::Records(R::ToggleMark)
    ),
    binding!(
        RecordsPane,
        [ch('a')],
        "a",
        None,
        "Mark all records matching the filter (again: unmark them)",
        C::Records(R::MarkAll)
    ),
    binding!(
        RecordsPane,
        [ch('/')],
        "/",
        Some("filter"),
        "Filter loaded records: id, device, status, properties",
        C::Records(R::LocalFilter)
    ),
    binding!(
        RecordsPane,
        [ch('f')],
        "f",
        None,
        "List only one device's records (asks the server)",
        C::Records(R::DeviceFilter)
    ),
    binding!(
        RecordsPane,
        [ch('x')],
        "x",
        Some("cleanup"),
        "Propose abandoned and to-be-deleted records for deletion",
        C::Records(R::Cleanup)
    ),
    binding!(
        RecordForm,
        [key(KeyCode::Tab)],
        "Tab",
        Some("next field"),
        "Go to the next field",
        C::Records(R::NextField)
    ),
    binding!(
        RecordForm,
        [key(KeyCode::BackTab)],
        "Shift+Tab",
        None,
        "Go to the previous field",
        C::Records(R::PreviousField)
    ),
    binding!(
        RecordForm,
        [key(KeyCode::Enter)],
        "Enter",
        Some("create"),
        "Check the fields and create the record",
        C::Confirm
    ),
    binding!(
        RecordForm,
        [ctrl('u')],
        "Ctrl+U",
        Some("clear"),
        "Clear the field",
        C::ClearInput
    ),
    binding!(
        RecordForm,
        [ctrl('e')],
        "Ctrl+E",
        Some("editor"),
        "Edit the properties in $VISUAL or $EDITOR (else vi), multi-line",
        C::Records(R::EditProperties)
    ),
    binding!(
        RecordForm,
        [key(KeyCode::Esc)],
        "Esc",
        Some("cancel"),
        "Close the form",
        C::Cancel
    ),
    binding!(
        RecordFormModule,
        [key(KeyCode::Tab)],
        "Tab",
        Some("next field"),
        "Go to the next field",
        C::Records(R::NextField)
    ),
    binding!(
        RecordFormModule,
        [key(KeyCode::BackTab)],
        "Shift+Tab",
        None,
        "Go to the previous field",
        C::Records(R::PreviousField)
    ),
    binding!(
        RecordFormModule,
        [key(KeyCode::Left), ch('h')],
        "←/h",
        None,
        "Previous module",
        C::Records(R::ChangeModule(-1))
    ),
    binding!(
        RecordFormModule,
        [key(KeyCode::Right), ch('l')],
        "→/l",
        Some("module"),
        "Next module",
        C::Records(R::ChangeModule(1))
    ),
    binding!(
        RecordFormModule,
        [ch('1')],
        "1",
        None,
        "Folder backup (100)",
        C::PickOption(0)
    ),
    binding!(
        RecordFormModule,
        [ch('2')],
        "2",
        None,
        "Album backup (101)",
        C::PickOption(1)
    ),
    binding!(
        RecordFormModule,
        [ch('3')],
        "3",
        None,
        "Address-book backup (102)",
        C::PickOption(2)
    ),
    binding!(
        RecordFormModule,
        [ctrl('e')],
        "Ctrl+E",
        Some("editor"),
        "Edit the properties in $VISUAL or $EDITOR (else vi), multi-line",
        C::Records(R::EditProperties)
    ),
    binding!(
        RecordFormModule,
        [key(KeyCode::Enter)],
        "Enter",
        Some("create"),
        "Check the fields and create the record",
        C::Confirm
    ),
    binding!(
        RecordFormModule,
        [key(KeyCode::Esc)],
        "Esc",
        Some("cancel"),
        "Close the form",
        C::Cancel
    ),
    binding!(
        RecordDetail,
        [ch('k'), key(KeyCode::Up)],
        "k/↑",
        None,
        "Scroll up",
        C::Up
    ),
    binding!(
        RecordDetail,
        [ch('j'), key(KeyCode::Down)],
        "j/↓",
        Some("scroll"),
        "Scroll down",
        C::Down
    ),
    binding!(
        RecordDetail,
        [ch(']')],
        "]",
        Some("next files"),
        "Next page of files",
        C::Records(R::NextPage)
    ),
    binding!(
        RecordDetail,
        [ch('[')],
        "[",
        Some("previous files"),
        "Previous page of files",
        C::Records(R::PreviousPage)
    ),
    binding!(
        RecordDetail,
        [ch('c')],
        "c",
        Some("complete"),
        "Complete this record",
        C::Records(R::Complete)
    ),
    binding!(
        RecordDetail,
        [ch('d'), key(KeyCode::Delete)],
        "d/Del",
        Some("delete"),
        "Delete this record (asks first)",
        C::Records(R::Delete)
    ),
    binding!(
        RecordDetail,
        [key(KeyCode::Esc), ch('q')],
        "Esc",
        Some("close"),
        "Close the details",
        C::Cancel
    ),
    binding!(
        RecordText,
        [key(KeyCode::Enter)],
        "Enter",
        Some("apply"),
        "Apply what you typed",
        C::Confirm
    ),
    binding!(
        RecordText,
        [ctrl('u')],
        "Ctrl+U",
        Some("clear"),
        "Clear the field",
        C::ClearInput
    ),
    binding!(
        RecordText,
        [key(KeyCode::Esc)],
        "Esc",
        Some("cancel"),
        "Cancel (a filter is cleared)",
        C::Cancel
    ),
    binding!(
        CompleteRecord,
        [key(KeyCode::Enter)],
        "Enter",
        Some("complete"),
        "Check the properties and complete the record",
        C::Confirm
    ),
    binding!(
        CompleteRecord,
        [ctrl('u')],
        "Ctrl+U",
        Some("clear"),
        "Clear the field",
        C::ClearInput
    ),
    binding!(
        CompleteRecord,
        [ctrl('e')],
        "Ctrl+E",
        Some("editor"),
        "Edit the properties in $VISUAL or $EDITOR (else vi), multi-line",
        C::Records(R::EditProperties)
    ),
    binding!(
        CompleteRecord,
        [key(KeyCode::Esc)],
        "Esc",
        Some("cancel"),
        "Cancel: the record stays new",
        C::Cancel
    ),
    binding!(
        TypeToConfirm,
        [key(KeyCode::Enter)],
        "Enter",
        Some("delete"),
        "Delete, once the typed number matches",
        C::Confirm
    ),
    binding!(
        TypeToConfirm,
        [ctrl('u')],
        "Ctrl+U",
        None,
        "Clear the field",
        C::ClearInput
    ),
    binding!(
        TypeToConfirm,
        [key(KeyCode::Esc)],
        "Esc",
        Some("cancel"),
        "Cancel: nothing is deleted",
        C::Cancel
    ),
    binding!(
        Cleanup,
        [ch('k'), key(KeyCode::Up)],
        "k/↑",
        None,
        "Previous candidate",
        C::Up
    ),
    binding!(
        Cleanup,
        [ch('j'), key(KeyCode::Down)],
        "j/↓",
        None,
        "Next candidate",
        C::Down
    ),
    binding!(
        Cleanup,
        [ch(' ')],
        "Space",
        Some("tick"),
        "Tick or untick the candidate",
        C::Records(R::ToggleMark)
    ),
    binding!(
        Cleanup,
        [ch('a')],
        "a",
        None,
        "Tick every candidate (again: untick all)",
        C::Records(R::MarkAll)
    ),
    binding!(
        Cleanup,
        [ch('+'), ch('=')],
        "+",
        Some("older"),
        "Propose only new records older than the next age",
        C::Records(R::ChangeAge(1))
    ),
    binding!(
        Cleanup,
        [ch('-')],
        "-",
        Some("younger"),
        "Propose new records from a younger age on",
        C::Records(R::ChangeAge(-1))
    ),
    binding!(
        Cleanup,
        [ch('t')],
        "t",
        None,
        "Propose records marked to be deleted, or not",
        C::Records(R::ToggleMarkedForDeletion)
    ),
    binding!(
        Cleanup,
        [key(KeyCode::Enter)],
        "Enter",
        Some("delete ticked"),
        "Delete the ticked records (asks for their number)",
        C::Confirm
    ),
    binding!(
        Cleanup,
        [key(KeyCode::Esc), ch('q')],
        "Esc",
        Some("close"),
        "Close without deleting",
        C::Cancel
    ),
    binding!(
        BulkRunning,
        [key(KeyCode::Esc), ch('c')],
        "c/Esc",
        Some("stop"),
        "Start no further deletes (those already done stay done)",
        C::Cancel
    ),
    binding!(
        BulkSummary,
        [ch('k'), key(KeyCode::Up)],
        "k/↑",
        None,
        "Scroll up",
        C::Up
    ),
    binding!(
        BulkSummary,
        [ch('j'), key(KeyCode::Down)],
        "j/↓",
        Some("scroll"),
        "Scroll down",
        C::Down
    ),
    binding!(
        BulkSummary,
        [key(KeyCode::Enter), key(KeyCode::Esc), ch('q')],
        "Enter/Esc",
        Some("close"),
        "Close the summary",
        C::Cancel
    ),
];

/// The command bound to `event` in the first of `scopes` that binds it.
pub fn lookup(scopes: &[Scope], event: &KeyEvent) -> Option<Command> {
    let chord = Chord::from_event(event);
    scopes.iter().find_map(|scope| {
        BINDINGS
            .iter()
            .find(|b| b.scope == *scope && b.chords.contains(&chord))
            .map(|b| b.command)
    })
}

/// Footer hints `(keys, label)` for `scopes`, in table order.
pub fn hints(scopes: &[Scope]) -> Vec<(&'static str, &'static str)> {
    scopes
        .iter()
        .flat_map(|scope| BINDINGS.iter().filter(move |b| b.scope == *scope))
        .filter_map(|b| b.hint.map(|hint| (b.keys, hint)))
        .collect()
}

/// Bindings of one scope, for the help overlay.
pub fn bindings_of(scope: Scope) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.scope == scope)
}

/// The scopes in the order the help overlay lists them.
const HELP_SCOPES: [Scope; 18] = [
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
    Scope::BulkRunning,
    Scope::BulkSummary,
];

/// One line of the help overlay.
#[derive(Debug, Clone, Copy)]
pub enum HelpLine {
    Blank,
    /// The heading of a scope's keys.
    Title(Scope),
    Key(&'static Binding),
}

/// The help overlay's lines: each scope with bindings under its title, a blank line between.
/// Both the overlay and its scrolling (which stops at the last line) count these.
pub fn help_lines() -> Vec<HelpLine> {
    let mut lines = Vec::new();
    for scope in HELP_SCOPES {
        let mut bindings = bindings_of(scope).peekable();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn the_first_scope_that_binds_a_key_wins() {
        let k = press(KeyCode::Char('k'), KeyModifiers::NONE);
        assert_eq!(lookup(&[Scope::QuitPrompt], &k), Some(Command::KeepAndQuit));
        assert_eq!(lookup(&[Scope::LocksPane, Scope::Global], &k), Some(Command::Up));
    }

    #[test]
    fn shift_is_ignored_for_characters_but_ctrl_is_not() {
        let shifted = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(lookup(&[Scope::Global], &shifted), Some(Command::Bottom));
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            lookup(&[Scope::LocksPane, Scope::Global], &ctrl_c),
            Some(Command::Quit)
        );
        let plain_c = press(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(
            lookup(&[Scope::LocksPane, Scope::Global], &plain_c),
            Some(Command::CopyLockId)
        );
    }

    #[test]
    fn no_two_bindings_of_one_scope_share_a_chord() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                if a.scope == b.scope {
                    for chord in a.chords {
                        assert!(
                            !b.chords.contains(chord),
                            "{chord:?} bound twice in {:?}",
                            a.scope
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_help_lists_every_binding_once() {
        let listed = help_lines()
            .iter()
            .filter(|line| matches!(line, HelpLine::Key(_)))
            .count();
        assert_eq!(listed, BINDINGS.len());
    }

    #[test]
    fn pane_keys_do_not_shadow_global_ones() {
        for pane in [Scope::LocksPane, Scope::ActivityPane, Scope::RecordsPane] {
            for b in bindings_of(pane) {
                for chord in b.chords {
                    let global = bindings_of(Scope::Global).find(|g| g.chords.contains(chord));
                    assert!(global.is_none(), "{chord:?} of {pane:?} hides a global key");
                }
            }
        }
    }
}
