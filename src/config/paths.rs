//! Where koobackup keeps what it writes: the data directory (demo database, lock journal) and the
//! state directory (crash reports, history), the cache directory (sizes of backups), after the
//! XDG variables, and `~/` in paths.

use std::path::{Path, PathBuf};

use super::ConfigError;

/// Expands a leading `~/` to the home directory; other paths are returned unchanged.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

/// `$XDG_DATA_HOME/koobackup`, else `~/.local/share/koobackup`: the demo database and the lock
/// journal live here.
pub fn data_dir() -> Result<PathBuf, ConfigError> {
    let base = match non_empty_env("XDG_DATA_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => home_dir("data directory", "XDG_DATA_HOME")?
            .join(".local")
            .join("share"),
    };
    Ok(base.join("koobackup"))
}

/// `$XDG_STATE_HOME/koobackup`, else `~/.local/state/koobackup`: crash reports (and, later, the
/// history) live here.
pub fn state_dir() -> Result<PathBuf, ConfigError> {
    let base = match non_empty_env("XDG_STATE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => home_dir("state directory", "XDG_STATE_HOME")?
            .join(".local")
            .join("state"),
    };
    Ok(base.join("koobackup"))
}

/// `$XDG_CACHE_HOME/koobackup`, else `~/.cache/koobackup`: what can be fetched again (the
/// sizes of backups) lives here.
pub fn cache_dir() -> Result<PathBuf, ConfigError> {
    let base = match non_empty_env("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => home_dir("cache directory", "XDG_CACHE_HOME")?.join(".cache"),
    };
    Ok(base.join("koobackup"))
}

pub(super) fn home_dir(what: &'static str, hint: &'static str) -> Result<PathBuf, ConfigError> {
    std::env::home_dir().ok_or(ConfigError::NoHome { what, hint })
}

pub(crate) fn non_empty_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}
