//! Runs the real `koobackup` binary in an isolated environment: config, data and journal in a
//! temporary directory, nothing inherited from the developer's `KOOBACKUP_*` variables.
//! Every run asserts that the access token appears in neither stdout nor stderr.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

/// The token of the test user `alice` (see tests/common): must never be printed.
pub const ALICE_TOKEN: &str = "alice-token";

pub const BIN: &str = env!("CARGO_BIN_EXE_koobackup");

/// An isolated home for the binary, optionally pointed at a server as `alice`.
pub struct Cli {
    pub dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
}

impl Cli {
    /// No server configured: the binary falls back to its embedded demo server.
    pub fn isolated() -> Cli {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut env = BTreeMap::new();
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        env.insert("HOME".into(), path("home"));
        env.insert("XDG_CONFIG_HOME".into(), path("config"));
        env.insert("XDG_DATA_HOME".into(), path("data"));
        env.insert("KOOBACKUP_JOURNAL".into(), path("journal/locks.json"));
        env.insert("KOOBACKUP_DATA_DIR".into(), path("demo"));
        Cli { dir, env }
    }

    /// Talking to `base_url` as alice, token from `KOOBACKUP_TOKEN`.
    pub fn for_server(base_url: &str) -> Cli {
        Cli::isolated()
            .env("KOOBACKUP_BASE_URL", base_url)
            .env("KOOBACKUP_USER_ID", "alice")
            .env("KOOBACKUP_TOKEN", ALICE_TOKEN)
    }

    pub fn env(mut self, name: &str, value: &str) -> Cli {
        self.env.insert(name.into(), value.into());
        self
    }

    pub fn without(mut self, name: &str) -> Cli {
        self.env.remove(name);
        self
    }

    /// The isolated `$HOME`.
    pub fn home(&self) -> PathBuf {
        PathBuf::from(&self.env["HOME"])
    }

    pub fn journal_path(&self) -> PathBuf {
        PathBuf::from(&self.env["KOOBACKUP_JOURNAL"])
    }

    /// The lock ids in the journal file (empty when it does not exist).
    pub fn journal_ids(&self) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(self.journal_path()) else {
            return Vec::new();
        };
        let journal: Value = serde_json::from_str(&text).expect("journal is JSON");
        journal["locks"]
            .as_array()
            .expect("locks array")
            .iter()
            .map(|l| l["lock"]["lockId"].as_str().expect("lockId").to_owned())
            .collect()
    }

    /// The journal's entries as written (empty when the file does not exist).
    pub fn journal_entries(&self) -> Vec<Value> {
        let Ok(text) = std::fs::read_to_string(self.journal_path()) else {
            return Vec::new();
        };
        let journal: Value = serde_json::from_str(&text).expect("journal is JSON");
        journal["locks"].as_array().expect("locks array").clone()
    }

    /// Waits (up to 20 s) for a journal entry whose owner's purpose is `kind` (`hold`,
    /// `cleanup`, `operation`, `kept`…); returns its lock id.
    pub async fn wait_for_owner(&self, kind: &str) -> String {
        let what = format!("a lock of a {kind} in the journal");
        super::wait_for(&what, std::time::Duration::from_secs(20), || {
            self.journal_entries()
                .into_iter()
                .find(|e| e["owner"]["purpose"]["kind"] == kind)
                .map(|entry| entry["lock"]["lockId"].as_str().expect("lockId").to_owned())
        })
        .await
    }

    /// Waits (up to 20 s) until `lock hold` has journalled COMMAND's process group, which it
    /// does once COMMAND runs (its watchdog knows the group by then); returns the group.
    pub async fn wait_for_command_group(&self) -> u32 {
        super::wait_for(
            "COMMAND's group in the journal",
            std::time::Duration::from_secs(20),
            || {
                self.journal_entries()
                    .iter()
                    .find_map(|e| e["owner"]["commandGroup"].as_u64())
                    .map(|group| u32::try_from(group).expect("a process group id"))
            },
        )
        .await
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(BIN);
        command.args(args).env_clear();
        for name in ["PATH", "LANG", "TZ"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command.envs(&self.env);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs the binary to completion.
    pub async fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().await.expect("run koobackup");
        Run::new(args, output)
    }

    /// Writes `config.toml` into the isolated config directory, private (0600 in a 0700
    /// directory) whatever the umask: koobackup refuses a config file others could change.
    pub fn write_config(&self, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = Path::new(&self.env["XDG_CONFIG_HOME"])
            .join("koobackup")
            .join("config.toml");
        let dir = path.parent().unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }
}

/// The outcome of one run.
#[derive(Debug)]
pub struct Run {
    pub args: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn new(args: &[&str], output: std::process::Output) -> Run {
        let run = Run {
            args: args.join(" "),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(
            !run.stdout.contains(ALICE_TOKEN) && !run.stderr.contains(ALICE_TOKEN),
            "the token leaked in `{}`:\n{run:?}",
            run.args
        );
        run
    }

    /// Asserts the exit code, showing the output when it differs.
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code, expected,
            "`koobackup {}` exited {} (expected {expected})\nstdout: {}\nstderr: {}",
            self.args, self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    /// Stdout as exactly one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`koobackup {}`: stdout is not one JSON document ({e}): {:?}",
                self.args, self.stdout
            )
        })
    }

    /// Stdout as JSON lines.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"))
            })
            .collect()
    }

    /// Stderr as one JSON error document (with `--json`).
    pub fn json_error(&self) -> Value {
        let error: Value = serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not a JSON error ({e}): {:?}", self.stderr));
        assert_eq!(error["error"]["exitCode"], self.code, "{error}");
        error
    }

    pub fn stdout_trimmed(&self) -> &str {
        self.stdout.trim()
    }
}
