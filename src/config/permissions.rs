//! Whether other users could change a file koobackup trusts, judged as ssh judges its config
//! (our rule; the reference says nothing of local files): the file, and the directory it is
//! in, must belong to you or root, and be writable by nobody else, neither the group nor
//! others. A directory with the sticky bit (like `/tmp`) is fine: others cannot replace a file
//! in it. A config file that fails this and can run a command or names a secret is not used.

use std::path::Path;

/// Why others could change the file at `path`, whose metadata (read through the opened file,
/// so a symbolic link is judged by what it points to) is `file`; `None` when nobody else can.
/// `what` names it in the sentence (`the config file`).
pub fn writable_by_others(what: &str, path: &Path, file: &std::fs::Metadata) -> Option<String> {
    #[cfg(unix)]
    {
        if let Some(problem) = unsafe_owner_or_mode(file, false) {
            return Some(format!("{what} {} {problem}", path.display()));
        }
        // The directory of the name as given, and of the file it leads to: whoever can write
        // either can put another file in its place.
        let real = std::fs::canonicalize(path).ok();
        let directories = [Some(path), real.as_deref()]
            .into_iter()
            .flatten()
            .map(|p| match p.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => Path::new(".").to_path_buf(),
            });
        for dir in directories {
            let Ok(meta) = std::fs::metadata(&dir) else {
                continue;
            };
            if let Some(problem) = unsafe_owner_or_mode(&meta, true) {
                return Some(format!("the directory {} of {what} {problem}", dir.display()));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (what, path, file);
    None
}

/// What is wrong with an owner or mode: another user's (not root's), or writable by the group
/// or others (for a directory, unless its sticky bit is set).
#[cfg(unix)]
fn unsafe_owner_or_mode(meta: &std::fs::Metadata, directory: bool) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let mode = meta.mode();
    if meta.uid() != me && meta.uid() != 0 {
        return Some(format!("belongs to another user (uid {})", meta.uid()));
    }
    let sticky = directory && mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !sticky {
        return Some(format!("is writable by other users (mode {:o})", mode & 0o7777));
    }
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn group_or_world_writable_files_and_directories_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "").unwrap();
        let judge = || writable_by_others("the config file", &path, &std::fs::metadata(&path).unwrap());
        chmod(&path, 0o600);
        assert_eq!(judge(), None);
        chmod(&path, 0o644);
        assert_eq!(judge(), None, "readable is not writable");
        chmod(&path, 0o620);
        assert!(judge().unwrap().contains("writable by other users (mode 620)"));
        chmod(&path, 0o600);
        chmod(dir.path(), 0o777);
        let problem = judge().unwrap();
        assert!(problem.starts_with("the directory"), "{problem}");
        chmod(dir.path(), 0o1777);
        assert_eq!(judge(), None, "a sticky directory, like /tmp");
        chmod(dir.path(), 0o700);
    }
}
