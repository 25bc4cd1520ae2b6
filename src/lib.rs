//! koobackup: a terminal application, a scriptable command line and a local server for
//! KooDrive backup locks and records.

pub mod api;
pub mod bulk;
pub mod cleanup;
pub mod cli;
pub mod color;
pub mod config;
pub mod connect;
pub mod crash;
pub mod editor;
pub mod format;
pub mod health;
pub mod history;
pub mod hooks;
pub mod journal;
pub mod lease;
pub mod logging;
pub mod pending;
pub mod process;
pub mod properties;
pub mod retention;
pub mod server;
pub mod size_cache;
pub mod tui;
pub mod units;
