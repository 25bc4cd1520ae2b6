//! `--log-file PATH` (or `KOOBACKUP_LOG`): what koobackup did, for the operator reading it
//! afterwards — requests and answers, retries and their waits, journal changes, and for `serve`
//! every request it answered. Nothing is logged without the option.
//!
//! Never a secret: what is logged are methods, paths, statuses, lock ids and error messages;
//! headers (where the token and the signature travel) and bodies never are. The file is created
//! private (0600) and appended to.
//!
//! What is written is filtered by `KOOBACKUP_LOG_LEVEL`, else `RUST_LOG` (tracing's
//! `EnvFilter` syntax: `info`, `koobackup=trace,hyper=warn`); by default koobackup's own events
//! in detail and the libraries' only when something is wrong.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

/// The level filter for the log file, before `RUST_LOG`.
pub const LEVEL_ENV: &str = "KOOBACKUP_LOG_LEVEL";

/// What is logged when neither variable says otherwise.
const DEFAULT_FILTER: &str = "koobackup=debug,warn";

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
    let filter = filter_from(|name| std::env::var(name).ok())?;
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))
}

/// The filter `KOOBACKUP_LOG_LEVEL` or `RUST_LOG` (read through `var`) asks for, or the default;
/// a directive that does not parse is refused with the variable's name.
fn filter_from(var: impl Fn(&str) -> Option<String>) -> Result<EnvFilter, String> {
    for name in [LEVEL_ENV, "RUST_LOG"] {
        if let Some(directives) = var(name).filter(|v| !v.trim().is_empty()) {
            return EnvFilter::builder().parse(&directives).map_err(|e| {
                format!("${name} is not a log filter ({e}); write it like info or koobackup=debug")
            });
        }
    }
    Ok(EnvFilter::new(DEFAULT_FILTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_comes_from_our_variable_then_rust_log() {
        let vars = |ours: Option<&str>, rust: Option<&str>| {
            let (ours, rust) = (ours.map(str::to_string), rust.map(str::to_string));
            move |name: &str| match name {
                LEVEL_ENV => ours.clone(),
                "RUST_LOG" => rust.clone(),
                _ => None,
            }
        };
        assert_eq!(filter_from(vars(None, None)).unwrap().to_string(), DEFAULT_FILTER);
        assert_eq!(filter_from(vars(None, Some("info"))).unwrap().to_string(), "info");
        assert_eq!(
            filter_from(vars(Some("koobackup=trace"), Some("info")))
                .unwrap()
                .to_string(),
            "koobackup=trace"
        );
        let error = filter_from(vars(Some("koobackup=loud"), None)).unwrap_err();
        assert!(error.contains("KOOBACKUP_LOG_LEVEL"), "{error}");
    }
}
