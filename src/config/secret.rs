//! Reading a profile's secret from where it says it is: an environment variable, a file, standard
//! input (asked for with echo off on a terminal), or a command run with a time limit. A secret
//! never appears in a message; only where it came from does.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::paths::{expand_home, non_empty_env};
use super::{ConfigError, SecretSource};
use crate::api::Token;

impl SecretSource {
    /// Where the secret comes from, for messages (never the secret).
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Env(var) => format!("environment variable {var}"),
            SecretSource::File(path) if path.as_os_str() == "-" => "standard input".into(),
            SecretSource::File(path) => format!("file {}", expand_home(path).display()),
            SecretSource::Command(command) => format!("command `{command}`"),
        }
    }

    /// Reads the secret (`what` names it in messages: "access token", "app secret"): trailing
    /// line breaks are removed; an empty or multi-line value is an error.
    pub fn resolve(&self, what: &'static str) -> Result<Token, ConfigError> {
        let raw = match self {
            SecretSource::Env(var) => std::env::var(var).map_err(|_| ConfigError::TokenEnvMissing {
                var: var.clone(),
                what,
            })?,
            SecretSource::File(path) if path.as_os_str() == "-" => read_stdin_secret(what)?,
            SecretSource::File(path) => {
                let path = expand_home(path);
                let file = std::fs::File::open(&path).map_err(|source| ConfigError::TokenFile {
                    path: path.clone(),
                    what,
                    source,
                })?;
                read_secret(file, what, || path.display().to_string())?
            }
            SecretSource::Command(command) => run_secret_command(command, what)?,
        };
        clean_secret(raw, &self.describe(), what)
    }

    /// A warning when the secret file can be read by other users (unix permissions).
    pub fn permission_warning(&self) -> Option<String> {
        match self {
            SecretSource::File(path) if path.as_os_str() != "-" => {
                token_file_permission_warning(&expand_home(path))
            }
            _ => None,
        }
    }
}

fn clean_secret(raw: String, source_label: &str, what: &'static str) -> Result<Token, ConfigError> {
    let value = raw.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        return Err(ConfigError::TokenEmpty {
            source_label: source_label.to_string(),
            what,
        });
    }
    if value.contains(['\n', '\r']) || value.len() as u64 >= MAX_SECRET_BYTES {
        return Err(ConfigError::TokenMultiline {
            source_label: source_label.to_string(),
            what,
        });
    }
    Ok(Token::new(value))
}

/// Secrets are short; a larger file or output is certainly the wrong one and is not read whole.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// How long a secret command may run by default. Long enough to type a passphrase at a prompt;
/// a command that hangs (a dead agent, a prompt nobody sees) must not hang every koobackup
/// command.
const SECRET_COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Overrides [`SECRET_COMMAND_TIMEOUT`], in seconds.
pub const SECRET_TIMEOUT_ENV: &str = "KOOBACKUP_SECRET_TIMEOUT_SECS";

fn secret_command_timeout() -> std::time::Duration {
    non_empty_env(SECRET_TIMEOUT_ENV)
        .and_then(|v| v.to_str()?.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map_or(SECRET_COMMAND_TIMEOUT, |secs| {
            std::time::Duration::from_secs_f64(secs.min(86_400.0))
        })
}

/// The first line of standard input. On a terminal it asks for it on stderr and does not echo
/// what is typed (a token on screen is a token seen); Enter ends it, as a pipe's first line does.
fn read_stdin_secret(what: &'static str) -> Result<String, ConfigError> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let on_terminal = stdin.is_terminal();
    let echo_off = on_terminal.then(EchoOff::new).flatten();
    if on_terminal {
        let _ = write!(std::io::stderr(), "{what} (not shown): ");
    }
    let mut line = Vec::new();
    let read = stdin.lock().take(MAX_SECRET_BYTES).read_until(b'\n', &mut line);
    drop(echo_off);
    if on_terminal {
        let _ = writeln!(std::io::stderr());
    }
    read.map_err(|source| ConfigError::TokenFile {
        path: PathBuf::from("standard input"),
        what,
        source,
    })?;
    String::from_utf8(line).map_err(|_| ConfigError::TokenFile {
        path: PathBuf::from("standard input"),
        what,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "the input is not UTF-8 text"),
    })
}

/// The terminal on standard input with echo off, until dropped.
struct EchoOff(libc::termios);

impl EchoOff {
    fn new() -> Option<EchoOff> {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios the call itself fills in.
        unsafe {
            let mut settings: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut settings) != 0 {
                return None;
            }
            let saved = settings;
            settings.c_lflag &= !libc::ECHO;
            (libc::tcsetattr(0, libc::TCSANOW, &settings) == 0).then_some(EchoOff(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.0);
        }
    }
}

/// Reads at most [`MAX_SECRET_BYTES`] of UTF-8 text from `source` (named by `name` in errors).
fn read_secret(
    source: impl Read,
    what: &'static str,
    name: impl Fn() -> String,
) -> Result<String, ConfigError> {
    let error = |source| ConfigError::TokenFile {
        path: PathBuf::from(name()),
        what,
        source,
    };
    let mut bytes = Vec::new();
    source
        .take(MAX_SECRET_BYTES)
        .read_to_end(&mut bytes)
        .map_err(error)?;
    String::from_utf8(bytes).map_err(|_| {
        error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ))
    })
}

/// Runs `sh -c command`, keeping at most [`MAX_SECRET_BYTES`] of its stdout (the secret), and
/// stops it after [`SECRET_COMMAND_TIMEOUT`] or as soon as it prints more than that. Its stderr
/// stays on the terminal so prompts from gpg or pass are visible; nothing it prints is repeated
/// in our messages. Without a terminal the command gets a process group of its own, so that
/// stopping it stops what it started too (with a terminal it must stay in the foreground group
/// to read a passphrase).
fn run_secret_command(command: &str, what: &'static str) -> Result<String, ConfigError> {
    use std::io::IsTerminal;
    let mut builder = Command::new("sh");
    builder
        .arg("-c")
        .arg(command)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped());
    let own_group = !std::io::stdin().is_terminal();
    #[cfg(unix)]
    if own_group {
        use std::os::unix::process::CommandExt;
        builder.process_group(0);
    }
    let mut child = builder.spawn().map_err(|source| ConfigError::TokenCommandSpawn {
        command: command.to_string(),
        what,
        source,
    })?;
    let failed = |status: String| ConfigError::TokenCommandFailed {
        command: command.to_string(),
        what,
        status,
    };
    let mut output = read_command_output(child.stdout.take().expect("stdout is piped"));
    let timeout = secret_command_timeout();
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Ok(Err(SecretOutput::TooLong)) = output.try_peek() {
            stop_command(&mut child, own_group);
            return Err(failed(format!(
                "it printed more than {} KiB, far more than a secret",
                MAX_SECRET_BYTES / 1024
            )));
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() >= deadline => {
                stop_command(&mut child, own_group);
                return Err(ConfigError::TokenCommandTimeout {
                    command: command.to_string(),
                    what,
                    after: timeout,
                });
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(source) => {
                return Err(ConfigError::TokenCommandSpawn {
                    command: command.to_string(),
                    what,
                    source,
                });
            }
        }
    };
    if !status.success() {
        return Err(failed(describe_status(status)));
    }
    // The output ends when every process holding the pipe has closed it; one the command left
    // running in the background gets a moment, then is stopped with the rest of its group.
    let bytes = match output.wait(std::time::Duration::from_secs(2)) {
        Some(Ok(bytes)) => bytes,
        Some(Err(SecretOutput::TooLong)) => {
            return Err(failed(format!(
                "it printed more than {} KiB, far more than a secret",
                MAX_SECRET_BYTES / 1024
            )));
        }
        Some(Err(SecretOutput::Unreadable(e))) => {
            return Err(failed(format!("its output could not be read: {e}")));
        }
        None => {
            stop_group(&child, own_group);
            return Err(failed(
                "it left a process behind that keeps its output open".into(),
            ));
        }
    };
    String::from_utf8(bytes).map_err(|_| failed("its output is not UTF-8 text".into()))
}

/// Why a secret command's output was not taken.
enum SecretOutput {
    TooLong,
    Unreadable(std::io::Error),
}

/// A secret command's stdout, read on a thread of its own so that waiting for the command can
/// give up on one that hangs. Reading stops one byte past the limit: a command that goes on
/// printing is stopped rather than drained.
struct CommandOutput {
    received: std::sync::mpsc::Receiver<Result<Vec<u8>, SecretOutput>>,
    early: Option<Result<Vec<u8>, SecretOutput>>,
}

fn read_command_output(stdout: std::process::ChildStdout) -> CommandOutput {
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let result = match stdout.take(MAX_SECRET_BYTES + 1).read_to_end(&mut bytes) {
            Err(e) => Err(SecretOutput::Unreadable(e)),
            Ok(_) if bytes.len() as u64 > MAX_SECRET_BYTES => Err(SecretOutput::TooLong),
            Ok(_) => Ok(bytes),
        };
        let _ = sender.send(result);
    });
    CommandOutput {
        received,
        early: None,
    }
}

impl CommandOutput {
    /// What the reader has finished with, if it has, without waiting.
    fn try_peek(&mut self) -> Result<&Result<Vec<u8>, SecretOutput>, ()> {
        if self.early.is_none() {
            self.early = self.received.try_recv().ok();
        }
        self.early.as_ref().ok_or(())
    }

    /// The whole output, or `None` when the pipe is still open after `patience`.
    fn wait(mut self, patience: std::time::Duration) -> Option<Result<Vec<u8>, SecretOutput>> {
        self.early
            .take()
            .or_else(|| self.received.recv_timeout(patience).ok())
    }
}

/// Kills a secret command that ran too long: its whole process group when it has one.
fn stop_command(child: &mut std::process::Child, own_group: bool) {
    stop_group(child, own_group);
    let _ = child.kill();
    let _ = child.wait();
}

/// Kills what is left of the process group a secret command led (nothing with a terminal,
/// where the command shares our group).
fn stop_group(child: &std::process::Child, own_group: bool) {
    #[cfg(unix)]
    if own_group && let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on the process group our own child led. Linux does not hand out a
        // process group's id again while any member lives; with none left the call fails.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = (child, own_group);
}

fn describe_status(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "no exit status".into(),
    }
}

/// A warning when `path` is readable or writable by group or others.
pub fn token_file_permission_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Some(format!(
                "the token file {} can be read by other users (mode {:o}); run: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_is_trimmed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret-token\r\n").unwrap();
        let token = SecretSource::File(path.clone()).resolve("access token").unwrap();
        assert_eq!(token.expose(), "s3cret-token");

        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            SecretSource::File(path.clone()).resolve("access token"),
            Err(ConfigError::TokenEmpty { .. })
        ));

        std::fs::write(&path, "line-one-secret\nline-two\n").unwrap();
        let err = SecretSource::File(path.clone())
            .resolve("access token")
            .unwrap_err();
        assert!(matches!(err, ConfigError::TokenMultiline { .. }));
        assert!(!err.to_string().contains("line-one-secret"));

        let missing = SecretSource::File(dir.path().join("absent"))
            .resolve("access token")
            .unwrap_err();
        assert!(missing.to_string().contains("absent"), "{missing}");
    }

    #[cfg(unix)]
    #[test]
    fn readable_token_file_is_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "t").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let warning = SecretSource::File(path.clone()).permission_warning().unwrap();
        assert!(warning.contains("chmod 600"), "{warning}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(SecretSource::File(path).permission_warning(), None);
    }

    #[test]
    fn token_command_output_is_the_token_and_failures_hide_it() {
        let token = SecretSource::Command("printf 'cmd-token\\n'".into())
            .resolve("access token")
            .unwrap();
        assert_eq!(token.expose(), "cmd-token");

        // The output ("42-secret") differs from the command text, so a leak would show.
        let err = SecretSource::Command("echo $((6*7))-secret; exit 3".into())
            .resolve("access token")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("exit status 3"), "{text}");
        assert!(!text.contains("42-secret"), "{text}");
    }

    #[test]
    fn a_token_command_that_prints_without_end_is_stopped_at_the_limit() {
        let started = std::time::Instant::now();
        let err = SecretSource::Command("yes endless-secret-line".into())
            .resolve("access token")
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 64 KiB"), "{err}");
        assert!(!err.contains("endless-secret-line\n"), "{err}");
        // Not drained until the 60 s timeout: stopped as soon as the limit is passed.
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{err}");
    }

    #[test]
    fn a_token_command_that_leaves_a_process_holding_its_output_is_refused() {
        use std::io::IsTerminal;
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let command = format!(
            "sleep 60 & echo $! > '{}'; echo $((6*7))-token",
            pid_file.display()
        );
        let err = SecretSource::Command(command)
            .resolve("access token")
            .unwrap_err()
            .to_string();
        assert!(err.contains("left a process behind"), "{err}");
        assert!(!err.contains("42-token"), "{err}");
        if std::io::stdin().is_terminal() {
            // With a terminal the command shares our process group, which is not ours to kill.
            return;
        }
        let pid: libc::pid_t = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let alive = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!alive(), "the process the command left behind still runs");
    }

    #[test]
    fn missing_env_variable_is_named() {
        let err = SecretSource::Env("KOOBACKUP_TEST_SURELY_UNSET_VAR".into())
            .resolve("access token")
            .unwrap_err();
        assert!(err.to_string().contains("KOOBACKUP_TEST_SURELY_UNSET_VAR"));
    }
}
