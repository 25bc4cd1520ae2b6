//! A crash report: when koobackup panics, the report (version, platform, the command's name,
//! the panic and a backtrace) is written to the state directory
//! (`$XDG_STATE_HOME/koobackup/crash-*.txt`, mode 0600) and the user is told where, so it can be
//! attached to a bug report. The terminal is restored first (the app's guard runs its hook before
//! this one), and the usual panic message is still printed.
//!
//! Never a secret: the command line's arguments are left out (they may name files and hosts),
//! only the command's name is kept; tokens are never arguments anyway.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Installs the hook (once, at the start of `main`).
pub fn install() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        let message = match info.payload().downcast_ref::<&str>() {
            Some(text) => (*text).to_string(),
            None => info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "(no message)".into()),
        };
        let location = info
            .location()
            .map_or_else(String::new, |l| format!("{}:{}", l.file(), l.line()));
        let report = compose(&Crash {
            message: &message,
            location: &location,
            thread: std::thread::current().name().unwrap_or("unnamed"),
            command: &command_name(std::env::args().skip(1)),
            backtrace: &std::backtrace::Backtrace::force_capture().to_string(),
        });
        let _ = match crate::config::state_dir() {
            Ok(dir) => match write_report(&dir, &report) {
                Ok(path) => writeln!(
                    std::io::stderr(),
                    "koobackup crashed; a report is in {} (attach it to a bug report)",
                    path.display()
                ),
                Err(e) => writeln!(
                    std::io::stderr(),
                    "koobackup crashed; the report could not be written: {e}"
                ),
            },
            Err(e) => writeln!(std::io::stderr(), "koobackup crashed; no place for a report: {e}"),
        };
    }));
}

/// What is known of a panic.
pub struct Crash<'a> {
    pub message: &'a str,
    pub location: &'a str,
    pub thread: &'a str,
    pub command: &'a str,
    pub backtrace: &'a str,
}

/// The report's text.
pub fn compose(crash: &Crash) -> String {
    format!(
        "koobackup crash report\n\
         version:  koobackup {}\n\
         platform: {} {} ({})\n\
         time:     {}\n\
         command:  {} (its arguments are left out)\n\
         thread:   {}\n\
         panic:    {}\n\
         at:       {}\n\
         \n\
         backtrace:\n{}\n",
        crate::cli::VERSION,
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::env::consts::FAMILY,
        chrono::Utc::now().to_rfc3339(),
        crash.command,
        crash.thread,
        crash.message,
        crash.location,
        crash.backtrace
    )
}

/// `koobackup` and the subcommand words of `args` (those before the first option or value that
/// is not a command word), e.g. `koobackup record delete`.
pub fn command_name(args: impl Iterator<Item = String>) -> String {
    let mut words = vec!["koobackup".to_string()];
    for arg in args {
        if arg.starts_with('-') || !arg.chars().all(|c| c.is_ascii_lowercase() || c == '-') || words.len() > 3
        {
            break;
        }
        words.push(arg);
    }
    words.join(" ")
}

/// Writes `report` as a new private file in `dir` (created 0700 if missing); returns its path.
pub fn write_report(dir: &Path, report: &str) -> std::io::Result<PathBuf> {
    crate::config::create_private_dir_all(dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let path = dir.join(format!("crash-{stamp}-{}.txt", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(&path)?.write_all(report.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_version_command_and_panic_but_no_argument() {
        let args = ["record", "delete", "1842862763295184641", "--yes"].map(String::from);
        let command = command_name(args.into_iter());
        assert_eq!(command, "koobackup record delete");
        let report = compose(&Crash {
            message: "index out of bounds",
            location: "src/x.rs:1",
            thread: "main",
            command: &command,
            backtrace: "0: main",
        });
        assert!(report.contains(crate::cli::VERSION), "{report}");
        assert!(report.contains("koobackup record delete (its arguments are left out)"));
        assert!(!report.contains("1842862763295184641"));
        assert!(report.contains("panic:    index out of bounds"));
    }

    /// The hook itself, in a child process (a hook is process-wide): this test runs itself again
    /// with `KOOBACKUP_TEST_CRASH_CHILD` set, where it installs the hook and panics.
    #[test]
    fn a_panic_writes_a_report_and_says_where() {
        const NAME: &str = "crash::tests::a_panic_writes_a_report_and_says_where";
        if std::env::var_os("KOOBACKUP_TEST_CRASH_CHILD").is_some() {
            install();
            panic!("on purpose, token-free");
        }
        let state = tempfile::tempdir().unwrap();
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--test-threads=1"])
            .env("KOOBACKUP_TEST_CRASH_CHILD", "1")
            .env("XDG_STATE_HOME", state.path())
            .output()
            .unwrap();
        assert!(!child.status.success());
        let said = String::from_utf8_lossy(&child.stderr);
        let dir = state.path().join("koobackup");
        let reports: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(reports.len(), 1, "{said}");
        assert!(
            said.contains(&format!("a report is in {}", reports[0].display())),
            "{said}"
        );
        let report = std::fs::read_to_string(&reports[0]).unwrap();
        assert!(report.contains("panic:    on purpose, token-free"), "{report}");
        assert!(report.contains(std::env::consts::OS), "{report}");
        assert!(report.contains("backtrace:"), "{report}");
    }

    #[cfg(unix)]
    #[test]
    fn the_report_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = write_report(&dir.path().join("state"), "report").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "report");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }
}
