//! Writes that a reader never sees half-done (temporary file, fsync, rename, fsync of the
//! directory), and private directories.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` so that readers see the old or the new content, never a mix: a
/// temporary file in the same directory (mode 0600), fsync, rename, then fsync of the directory.
/// Missing parent directories are created with mode 0700.
pub fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_private_dir_all(parent_dir(path))?;
    write_atomically(path, bytes, 0o600)
}

/// [`write_private_atomically`] for a file others read too (a Prometheus textfile the collector
/// reads as another user): created with `mode` (less the umask) in a directory that must exist.
/// The temporary file's name ends in `.tmp`, so a collector reading `*.prom` never sees it.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let file_name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let temp_path = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = (|| {
        let mut file = new_file_options(mode).open(&temp_path)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp_path, path)?;
        // Make the rename itself durable.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp_path);
    } else {
        sweep_leftovers(dir, &file_name);
    }
    result
}

/// Removes the temporary files of `file_name` that processes killed half-way through a write
/// left in `dir` (their pid no longer runs). Another live process's are left alone; a file
/// that cannot be removed stays until the next write.
fn sweep_leftovers(dir: &Path, file_name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{file_name}.");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !crate::process::is_running(pid, None) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn new_file_options(mode: u32) -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options
}

/// `create_dir_all` whose new directories are private to the user (0700 on unix).
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn atomic_writes_are_private_and_replace_the_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("file.json");
        write_private_atomically(&path, b"one").unwrap();
        write_private_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_write_removes_what_a_killed_writer_left_and_only_that() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks.json");
        // A writer killed half-way (its pid runs no more), a live one's (pid 1, init), and
        // another file's.
        let dead = dir.path().join(".locks.json.4194303.77.tmp");
        let live = dir.path().join(".locks.json.1.78.tmp");
        let other = dir.path().join(".history.jsonl.4194303.79.tmp");
        for leftover in [&dead, &live, &other] {
            std::fs::write(leftover, b"half").unwrap();
        }
        write_private_atomically(&path, b"whole").unwrap();
        assert!(!dead.exists(), "a dead writer's leftover goes");
        assert!(live.exists(), "a live writer's stays");
        assert!(other.exists(), "another file's stays");
    }
}
