//! koobackup: a terminal application, a scriptable command line and a local server for
//! KooDrive backup locks and records.

pub mod api;
pub mod server;
