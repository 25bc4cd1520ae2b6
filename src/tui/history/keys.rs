//! The history pane's keys, and those of its filter field and of one entry shown whole. One
//! binding per line, in help order.

use crate::tui::keymap::{Command as C, HistoryCommand as H, KeyDef, Scope::*, bind};

#[rustfmt::skip]
pub static KEYS: &[KeyDef] = &[
    bind(HistoryPane, "Enter", "Enter", Some("open"), "Show the entry whole, with the record as it was", C::History(H::Open)),
    bind(HistoryPane, "/", "/", Some("filter"), "Filter: op:delete m:102 device:NAME record:ID user:U since:7d", C::History(H::Filter)),
    bind(HistoryPane, "r", "r", Some("refresh"), "Read the history again", C::History(H::Refresh)),
    bind(HistoryFilter, "Enter", "Enter", Some("apply"), "Apply the filter words (none: everything)", C::Confirm),
    bind(HistoryFilter, "Ctrl+u", "Ctrl+U", Some("clear"), "Clear the field", C::ClearInput),
    bind(HistoryFilter, "Esc", "Esc", Some("cancel"), "Keep the filter as it was", C::Cancel),
    bind(HistoryEntry, "k Up", "k/↑", Some("scroll"), "Scroll up", C::Up),
    bind(HistoryEntry, "j Down", "j/↓", None, "Scroll down", C::Down),
    bind(HistoryEntry, "PgDn Ctrl+f Space", "PgDn", None, "A page down", C::PageDown),
    bind(HistoryEntry, "PgUp Ctrl+b", "PgUp", None, "A page up", C::PageUp),
    bind(HistoryEntry, "g Home", "g/Home", None, "The first line", C::Top),
    bind(HistoryEntry, "G End", "G/End", None, "The last line", C::Bottom),
    bind(HistoryEntry, "Esc q", "Esc", Some("back"), "Back to the list", C::Cancel),
];
