//! The pending-deletions pane's keys. One binding per line, in help order.

use crate::tui::keymap::{Command as C, KeyDef, PendingCommand as P, Scope::*, bind};

#[rustfmt::skip]
pub static KEYS: &[KeyDef] = &[
    bind(PendingPane, "u", "u", Some("cancel"), "Take back the queued deletion: the record is kept", C::Pending(P::Cancel)),
    bind(PendingPane, "r", "r", Some("refresh"), "Read the queue again", C::Pending(P::Refresh)),
];
