//! The keys that work everywhere, in the activity log, the help overlay, the quit prompt, and
//! every yes/no confirmation. One binding per line, in help order.

use crate::tui::keymap::{Command as C, KeyDef, Scope::*, bind};

#[rustfmt::skip]
pub static KEYS: &[KeyDef] = &[
    bind(Global, "q Ctrl+c", "q", Some("quit"), "Quit (asks first if you hold live locks)", C::Quit),
    bind(Global, "?", "?", Some("help"), "Show or hide this help", C::ToggleHelp),
    bind(Global, "Tab", "Tab", Some("next pane"), "Focus the next pane", C::FocusNext),
    bind(Global, "Shift+Tab", "Shift+Tab", None, "Focus the previous pane", C::FocusPrevious),
    bind(Global, "L", "L", None, "Show the locks pane (or click its tab above the pane)", C::ShowLocks),
    bind(Global, "R", "R", None, "Show the backup records pane (or click its tab)", C::ShowRecords),
    bind(Global, "D", "D", None, "Show the devices pane (or click its tab)", C::ShowDevices),
    bind(Global, "k Up", "k/↑", None, "Move up", C::Up),
    bind(Global, "j Down", "j/↓", None, "Move down", C::Down),
    bind(Global, "g Home", "g/Home", None, "Go to the first line", C::Top),
    bind(Global, "G End", "G/End", None, "Go to the last line", C::Bottom),
    bind(Global, "PgDn Ctrl+f", "PgDn/Ctrl+F", None, "One page down", C::PageDown),
    bind(Global, "PgUp Ctrl+b", "PgUp/Ctrl+B", None, "One page up", C::PageUp),
    bind(Global, "Ctrl+d", "Ctrl+D", None, "Half a page down", C::HalfPageDown),
    bind(Global, "Ctrl+u", "Ctrl+U", None, "Half a page up", C::HalfPageUp),
    bind(Global, ":", ":", None, "Command line: :records 101, :profile NAME, :q…", C::OpenCommandLine),
    bind(ActivityPane, "Enter", "Enter", Some("open"), "Show the highlighted line whole (j/k choose it)", C::OpenLogEntry),
    bind(LogEntry, "Esc Enter q", "Esc", Some("close"), "Close the line", C::Cancel),
    bind(Help, "k Up", "k/↑", Some("scroll"), "Scroll the help up", C::Up),
    bind(Help, "j Down", "j/↓", None, "Scroll the help down", C::Down),
    bind(Help, "PgDn Ctrl+f Space", "PgDn", None, "A page down", C::PageDown),
    bind(Help, "PgUp Ctrl+b", "PgUp", None, "A page up", C::PageUp),
    bind(Help, "g Home", "g/Home", None, "The first line", C::Top),
    bind(Help, "G End", "G/End", None, "The last line", C::Bottom),
    bind(Help, "? Esc q", "?/Esc", Some("close"), "Close the help", C::Cancel),
    bind(Confirm, "y", "y", Some("yes"), "Do it (only y: a stray Enter does nothing)", C::Confirm),
    bind(Confirm, "n Esc", "n/Esc", Some("no"), "Cancel", C::Cancel),
    bind(CommandLine, "Enter", "Enter", Some("run"), "Run the command", C::Confirm),
    bind(CommandLine, "Tab", "Tab", Some("complete"), "Complete the command, a profile or a module", C::Complete),
    bind(CommandLine, "Up", "↑", Some("history"), "The previous command of this session", C::Up),
    bind(CommandLine, "Down", "↓", None, "The next command of this session", C::Down),
    bind(CommandLine, "Ctrl+u", "Ctrl+U", None, "Clear the line", C::ClearInput),
    bind(CommandLine, "Esc", "Esc", Some("cancel"), "Close the command line", C::Cancel),
    bind(QuitPrompt, "r", "r", Some("release all"), "Release every live lock, then quit", C::ReleaseAllAndQuit),
    bind(QuitPrompt, "k", "k", Some("keep"), "Keep the locks (they stay in the journal) and quit", C::KeepAndQuit),
    bind(QuitPrompt, "c Esc", "c/Esc", Some("cancel"), "Stay in the app", C::Cancel),
];
