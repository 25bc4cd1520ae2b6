//! The locks pane's keys, and those of its dialogs (module picker, adopt field). One binding per
//! line, in help order.

use crate::tui::keymap::{Command as C, KeyDef, Scope::*, bind};

#[rustfmt::skip]
pub static KEYS: &[KeyDef] = &[
    bind(LocksPane, "n", "n", Some("new"), "Create a lock for a module you choose", C::NewLock),
    bind(LocksPane, "r", "r", Some("renew"), "Renew the selected lock for another TTL", C::RenewLock),
    bind(LocksPane, "d Del", "d/Del", Some("release"), "Release the selected lock (asks first)", C::ReleaseLock),
    bind(LocksPane, "a", "a", Some("auto-renew"), "Turn auto-renew on or off for the selected lock", C::ToggleAutoRenew),
    bind(LocksPane, "i", "i", Some("adopt"), "Adopt a lock id created by another tool (type or paste it)", C::AdoptLock),
    bind(LocksPane, "y c", "y/c", Some("copy id"), "Copy the selected lock id to the clipboard (OSC 52)", C::CopyLockId),
    bind(LocksPane, "v", "v", Some("full ids"), "Show full lock ids or shortened ones", C::ToggleFullIds),
    bind(LocksPane, "X", "X", None, "Forget every expired or gone lock (asks first; nothing is sent)", C::ForgetExpired),
    bind(ModulePicker, "1", "1", None, "Folder backup (100)", C::PickOption(0)),
    bind(ModulePicker, "2", "2", None, "Album backup (101)", C::PickOption(1)),
    bind(ModulePicker, "3", "3", None, "Address-book backup (102)", C::PickOption(2)),
    bind(ModulePicker, "k Up", "k/↑", None, "Previous module", C::Up),
    bind(ModulePicker, "j Down", "j/↓", None, "Next module", C::Down),
    bind(ModulePicker, "Enter", "1-3/Enter", Some("create"), "Create the lock", C::Confirm),
    bind(ModulePicker, "Esc q", "Esc", Some("cancel"), "Cancel", C::Cancel),
    bind(TextInput, "Enter", "Enter", Some("adopt"), "Adopt the lock id (renews it to learn its expiry)", C::Confirm),
    bind(TextInput, "Ctrl+u", "Ctrl+U", Some("clear"), "Clear the field", C::ClearInput),
    bind(TextInput, "Esc", "Esc", Some("cancel"), "Cancel", C::Cancel),
];
