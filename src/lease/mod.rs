//! Locks as leases that belong to one operation. KooDrive allows one live lock per user and
//! module: a mutex between a running backup, a clean-up and the app, not a credential.
//!
//! The rules, shared by the command line and the app:
//! - An operation uses only a lock it owns, or one the user named (`--lock`,
//!   `$KOOBACKUP_LOCK_ID` given to COMMAND by `lock hold`, adopting or choosing it in the app).
//!   A lock owned by another running process is never used without being named.
//! - A lock created for one operation is released when it ends; locks the user creates on
//!   purpose (`lock create`) stay until released.
//! - A lock whose owner process is gone is orphaned ([`Standing::Orphaned`]): whoever needs the
//!   module releases it (and says so).
//! - Long operations keep their lock renewed through one [`keeper`], whose policy
//!   ([`schedule`]) the app's auto-renew follows too.
//!
//! This module never imports `cli/`, `tui/` or the journal: the journal records owners, and the
//! keeper writes its lock's entry through [`keeper::EntryWriter`], which the journal provides.

pub mod clock;
pub mod keeper;
pub mod owner;
pub mod schedule;

pub use owner::{Owner, Purpose, Standing, describe_holder};
