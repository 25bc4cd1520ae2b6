//! The real `koobackup` binary in a pseudo-terminal, its output fed to a vt100 screen that the
//! tests read. The app's files (journal, data, config) live in a directory the test gives it, and
//! it talks to a test server as alice. Whatever the app writes to the terminal is checked for
//! alice's token as it arrives: a test that reads the screen after the token was shown fails.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

use super::server;

pub const ROWS: u16 = 30;
pub const COLS: u16 = 110;

/// The token the app is given; it must never reach the terminal.
const TOKEN: &str = server::ALICE.1;

fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("non-zero size")
}

/// The app running in a pseudo-terminal, with a vt100 screen fed by a reader thread.
pub struct Tui {
    pub child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    pub screen: Arc<Mutex<vt100::Parser>>,
    pub bytes: Arc<AtomicUsize>,
    /// Everything the app wrote to the terminal, escape sequences and all.
    pub written: Arc<Mutex<Vec<u8>>>,
    pub started: Instant,
    /// When the first complete frame (its footer line) was on the screen.
    pub first_frame: Arc<Mutex<Option<Instant>>>,
    /// What the terminal showed when the token first reached it, if it ever did.
    token_shown: Arc<Mutex<Option<String>>>,
    /// Closed (its sender dropped) once the reader has read everything: the terminal's last
    /// writer closed it.
    read_all: std::sync::mpsc::Receiver<()>,
    // Keeps the pty open for the life of the test.
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Tui {
    pub fn start(base_url: &str, dir: &Path) -> Tui {
        Tui::start_with(base_url, dir, &[])
    }

    /// Starts the app with `extra` set in its environment on top of [`env_for`].
    pub fn start_with(base_url: &str, dir: &Path, extra: &[(&str, &str)]) -> Tui {
        Tui::start_as(base_url, dir, &["--user-id", server::ALICE.0], extra)
    }

    /// Starts the app on `base_url` with these credential arguments (`--user-id`, `--app-id`…)
    /// and `extra` in its environment on top of [`env_for`].
    pub fn start_as(base_url: &str, dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Tui {
        let all: Vec<&str> = ["--base-url", base_url]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        Tui::run_in_pty(&all, dir, extra)
    }

    /// Runs koobackup with exactly `args` in a pseudo-terminal (a CLI command that asks, too),
    /// with `extra` in its environment on top of [`env_for`].
    pub fn run_in_pty(args: &[&str], dir: &Path, extra: &[(&str, &str)]) -> Tui {
        Tui::run_in_pty_sized(args, dir, extra, (COLS, ROWS))
    }

    /// [`Tui::run_in_pty`] in a terminal of `cols` x `rows`.
    pub fn run_in_pty_sized(
        args: &[&str],
        dir: &Path,
        extra: &[(&str, &str)],
        (cols, rows): (u16, u16),
    ) -> Tui {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_koobackup"));
        command.args(args);
        for (name, value) in env_for(dir) {
            command.env(name, value);
        }
        for name in [
            "NO_COLOR",
            "VISUAL",
            "EDITOR",
            "KOOBACKUP_PROFILE",
            "KOOBACKUP_CONFIG",
            "KOOBACKUP_BASE_URL",
            "KOOBACKUP_USER_ID",
            "KOOBACKUP_LOCK_TTL_SECS",
        ] {
            command.env_remove(name);
        }
        for (name, value) in extra {
            command.env(name, value);
        }
        let started = Instant::now();
        let child = pty.slave.spawn_command(command).expect("spawn koobackup");
        drop(pty.slave);
        let reader = pty.master.try_clone_reader().expect("pty reader");
        let writer = pty.master.take_writer().expect("pty writer");
        let (reader_done, read_all) = std::sync::mpsc::channel();
        let tui = Tui {
            child,
            writer,
            screen: Arc::new(Mutex::new(vt100::Parser::new(nonzero(rows), nonzero(cols), 0))),
            bytes: Arc::new(AtomicUsize::new(0)),
            written: Arc::new(Mutex::new(Vec::new())),
            started,
            first_frame: Arc::new(Mutex::new(None)),
            token_shown: Arc::new(Mutex::new(None)),
            read_all,
            _master: pty.master,
        };
        tui.spawn_reader(reader, reader_done);
        tui
    }

    /// Feeds the app's output to the screen, noting the first frame and any sight of the token:
    /// in the bytes written (a title or clipboard sequence never shows on the screen) or on the
    /// screen they produce (styles may split the token's bytes).
    /// `done` is dropped when the reader ends.
    fn spawn_reader(&self, mut reader: Box<dyn Read + Send>, done: std::sync::mpsc::Sender<()>) {
        let (screen, bytes, written, first_frame, token_shown) = (
            self.screen.clone(),
            self.bytes.clone(),
            self.written.clone(),
            self.first_frame.clone(),
            self.token_shown.clone(),
        );
        std::thread::spawn(move || {
            // Held for as long as the reading lasts.
            let _done = done;
            let mut buffer = [0u8; 8192];
            // The end of the previous read, so a token split across two reads is still found.
            let mut window: Vec<u8> = Vec::new();
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                bytes.fetch_add(n, Ordering::Relaxed);
                written.lock().unwrap().extend_from_slice(&buffer[..n]);
                let mut screen = screen.lock().unwrap();
                screen.process(&buffer[..n]);
                let contents = screen.screen().contents();
                let mut first_frame = first_frame.lock().unwrap();
                if first_frame.is_none() && contents.contains("? help") {
                    *first_frame = Some(Instant::now());
                }
                window.extend_from_slice(&buffer[..n]);
                let written = window.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes());
                let mut token_shown = token_shown.lock().unwrap();
                if token_shown.is_none() && (written || contents.contains(TOKEN)) {
                    *token_shown = Some(contents);
                }
                let keep = window.len().saturating_sub(TOKEN.len() - 1);
                window.drain(..keep);
            }
        });
    }

    /// Fails the test if the token ever reached the terminal.
    pub fn assert_token_never_shown(&self) {
        // Taken out first: panicking with the lock held would poison it for the reader thread.
        let shown = self.token_shown.lock().unwrap().clone();
        if let Some(screen) = shown {
            panic!("the access token reached the terminal; screen:\n{screen}");
        }
    }

    /// The screen as text. Every look at the screen also checks that the token never reached it.
    pub fn contents(&self) -> String {
        self.assert_token_never_shown();
        self.screen.lock().unwrap().screen().contents()
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("type");
        self.writer.flush().expect("flush");
    }

    /// Waits until `check` accepts the screen; panics with the screen after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let contents = self.contents();
            if check(&contents) {
                return contents;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{contents}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, Duration::from_secs(15), |screen| screen.contains(text))
    }

    pub fn wait_exit(&mut self, limit: Duration) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // What the app wrote last may still be on its way to the screen: the reader
                // ends once it has read it all. (A process the app left behind may keep the
                // terminal open; then the screen is taken as it is after 5 s.)
                let _ = self.read_all.recv_timeout(Duration::from_secs(5));
                self.assert_token_never_shown();
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the app did not exit; screen:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("pid")
    }

    /// Sends `signal` (a `kill` name, e.g. "HUP") to the app.
    pub fn signal(&self, signal: &str) {
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

/// Environment that keeps the app's files inside `dir` and gives it a token.
pub fn env_for(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("KOOBACKUP_TOKEN", PathBuf::from(TOKEN)),
        ("KOOBACKUP_JOURNAL", journal_path(dir)),
        ("KOOBACKUP_DATA_DIR", dir.join("data")),
        ("XDG_CONFIG_HOME", dir.join("config")),
        ("XDG_DATA_HOME", dir.join("data")),
        // The size cache (the Devices view writes it).
        ("XDG_CACHE_HOME", dir.join("cache")),
        ("HOME", dir.to_path_buf()),
        ("TERM", PathBuf::from("xterm-256color")),
    ]
}

pub fn journal_path(dir: &Path) -> PathBuf {
    dir.join("locks.json")
}

/// The journal's entries as JSON (none when there is no journal file).
pub fn journal_entries(dir: &Path) -> Vec<serde_json::Value> {
    let Ok(text) = std::fs::read_to_string(journal_path(dir)) else {
        return Vec::new();
    };
    let json: serde_json::Value = serde_json::from_str(&text).expect("journal is JSON");
    json["locks"].as_array().expect("locks array").clone()
}

/// Lock ids in the journal file.
pub fn journal_ids(dir: &Path) -> Vec<String> {
    journal_entries(dir)
        .iter()
        .map(|held| held["lock"]["lockId"].as_str().expect("lockId").to_string())
        .collect()
}

/// The `mm:ss` countdown on the screen line that shows `module`.
pub fn countdown_of(screen: &str, module: &str) -> Option<String> {
    let line = screen.lines().find(|l| l.contains(module))?;
    line.split_whitespace()
        .find(|word| {
            word.len() == 5
                && word.as_bytes()[2] == b':'
                && word.chars().filter(char::is_ascii_digit).count() == 4
        })
        .map(str::to_string)
}

/// The journal's lock ids once there are `count` of them: the app writes its journal in the
/// background, a moment after the screen shows the change. Fails after 15 s.
pub fn wait_journal(dir: &Path, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ids = journal_ids(dir);
        if ids.len() == count {
            return ids;
        }
        assert!(
            Instant::now() < deadline,
            "the journal holds {ids:?}, not {count} lock(s)"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs koobackup with `args` (as alice on `base_url`) in a pseudo-terminal, waits for its
/// `[y/N]` question, answers `answer` and Enter, and returns the exit code with the screen as
/// the question showed it. Blocking: call it from `spawn_blocking`.
pub fn answer_the_question(base_url: &str, args: &[&str], answer: &str) -> (u32, String) {
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--base-url", base_url, "--user-id", server::ALICE.0])
        .collect();
    let mut tty = Tui::run_in_pty(&all, dir.path(), &[]);
    let question = tty.wait_text("[y/N]");
    tty.send(&format!("{answer}\r"));
    (tty.wait_exit(Duration::from_secs(30)).exit_code(), question)
}
