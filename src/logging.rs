//! `--log-file PATH` (or `KOOBACKUP_LOG`): what koobackup did, for the operator reading it
//! afterwards — requests and answers, retries and their waits, journal changes, and for `serve`
//! every request it answered. Nothing is logged without the option.
//!
//! Never a secret: what is logged are methods, paths, statuses, lock ids and error messages;
//! headers (where the token and the signature travel) and bodies never are. The file is created
//! private (0600) and appended to.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Starts logging to `path`. Fails with the reason when the file cannot be opened.
pub fn to_file(path: &Path) -> Result<(), String> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?;
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_target(false);
    // Our own events in detail; the libraries' only when something is wrong.
    let filter = Targets::new()
        .with_default(LevelFilter::WARN)
        .with_target("koobackup", LevelFilter::DEBUG);
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))
}
