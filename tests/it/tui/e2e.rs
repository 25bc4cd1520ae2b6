//! End to end: the real binary in a pseudo-terminal against a local server on 127.0.0.1. It
//! creates a lock, sees the countdown tick, renews it, releases it and quits; the journal and
//! the server agree at every step.
//!
//! `idle_figures` (ignored by default; run by `benches/tui_idle.sh`) measures time to first
//! frame, idle CPU, bytes written per second with 3 locks counting down, and memory.

use crate::support;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::pty::{Tui, countdown_of, journal_ids, wait_journal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_tick_renew_release_quit() {
    let server = support::spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();

    let ids_after_create = tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        let screen = tui.wait_text("No locks held");
        assert!(screen.contains("user alice"), "{screen}");
        assert!(
            !screen.contains(support::ALICE.1),
            "the token must never be shown"
        );

        tui.send("n");
        tui.wait_text("Create a lock for which module?");
        tui.send("3");
        let screen = tui.wait_for("the new lock", Duration::from_secs(15), |s| {
            countdown_of(s, "102 address book").is_some() && s.contains("create lock 102")
        });
        let first = countdown_of(&screen, "102 address book").unwrap();
        assert!(first.starts_with("09:") || first == "10:00", "{first}");
        // The created lock is journalled.
        let ids = wait_journal(&dir_path, 1);
        assert!(ids[0].ends_with("@102"));

        // The countdown ticks on its own.
        tui.wait_for("the countdown to tick", Duration::from_secs(15), |s| {
            countdown_of(s, "102 address book").is_some_and(|now| now != first)
        });

        tui.send("r");
        tui.wait_text("renew ");
        tui.wait_for("a successful renewal", Duration::from_secs(15), |s| {
            s.lines().any(|l| l.contains("renew ") && l.contains("success"))
        });

        tui.send("d");
        tui.wait_text("Release this lock?");
        tui.send("y");
        tui.wait_for("the release", Duration::from_secs(15), |s| {
            s.contains("No locks held") && s.lines().any(|l| l.contains("release ") && l.contains("success"))
        });
        // A released lock leaves the journal.
        wait_journal(&dir_path, 0);

        tui.send("q");
        let status = tui.wait_exit(Duration::from_secs(10));
        assert!(status.success(), "{status:?}");
        ids
    })
    .await
    .unwrap();

    // The server agrees the lock is gone: the module can be locked again.
    assert!(!ids_after_create.is_empty());
    let again = server.lock(support::ALICE, "102").await;
    assert_ne!(again, ids_after_create[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journalled_locks_come_back_and_sigterm_restores_the_terminal() {
    let server = support::spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        tui.send("n");
        tui.wait_text("Create a lock for which module?");
        tui.send("1");
        tui.wait_for("the new lock", Duration::from_secs(15), |s| {
            countdown_of(s, "100 folder").is_some()
        });
        tui.send("q");
        tui.wait_text("This app holds 1 live lock(s):");
        tui.send("k");
        assert!(tui.wait_exit(Duration::from_secs(10)).success());
        assert_eq!(journal_ids(&dir_path).len(), 1, "kept locks stay in the journal");

        // Next start: the lock is shown again.
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_for("the journalled lock", Duration::from_secs(15), |s| {
            countdown_of(s, "100 folder").is_some()
        });
        tui.signal("TERM");
        tui.wait_exit(Duration::from_secs(10));
        // Leaving the alternate screen brings back the (empty) main screen.
        tui.wait_for("the main screen", Duration::from_secs(15), |s| {
            !s.contains("100 folder")
        });
        assert_eq!(journal_ids(&dir_path).len(), 1, "a signal never loses a lock");
    })
    .await
    .unwrap();
}

/// Runs the command line beside the app, on the same server, user and journal.
fn cli_beside(base_url: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_koobackup"))
        .args(args)
        .args(["--base-url", base_url, "--user-id", support::ALICE.0, "-q"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(crate::support::pty::env_for(dir))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_another_koobackup_takes_and_releases_show_up_live() {
    let server = support::spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        let lock_id = cli_beside(&base_url, &dir_path, &["lock", "create", "-m", "101"]);
        let short = lock_id[..8].to_string();
        let screen = tui.wait_for("the other process's lock", Duration::from_secs(10), |s| {
            countdown_of(s, "101 album").is_some() && s.contains(&short)
        });
        assert!(screen.contains("held by you, with"), "{screen}");

        cli_beside(&base_url, &dir_path, &["lock", "release", &lock_id]);
        let screen = tui.wait_for("its release", Duration::from_secs(10), |s| {
            countdown_of(s, "101 album").is_none()
        });
        assert!(screen.contains("released or forgotten by another"), "{screen}");
        tui.send("q");
        assert!(
            tui.wait_exit(Duration::from_secs(10)).success(),
            "no live lock: quits at once"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_or_damaged_journal_never_drops_a_lock_from_the_screen() {
    let server = support::spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        let lock_id = cli_beside(&base_url, &dir_path, &["lock", "create", "-m", "100"]);
        tui.wait_for("the lock", Duration::from_secs(10), |s| {
            countdown_of(s, "100 folder").is_some()
        });
        std::fs::write(crate::support::pty::journal_path(&dir_path), "not json at all").unwrap();
        tui.wait_text("cannot be read");
        std::fs::remove_file(crate::support::pty::journal_path(&dir_path)).unwrap();
        let screen = tui.wait_text("was deleted");
        assert!(
            countdown_of(&screen, "100 folder").is_some(),
            "still listed:\n{screen}"
        );
        assert!(screen.contains(&lock_id[..8]), "{screen}");
        // A lock kept with `lock create` is not the app's to release: it quits without asking.
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(10)).success());
    })
    .await
    .unwrap();
}

/// A `lock hold` backup runs beside the app; its record, still `new` and 25 hours old, is a
/// clean-up candidate. The app's clean-up must not delete it under the backup's lock: it says
/// whose lock holds the module and sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_clean_up_never_deletes_under_a_running_backups_lock() {
    let server = Arc::new(support::spawn_server().await);
    server.at_minute(-25 * 60);
    let seed = server.lock(support::ALICE, "102").await;
    let record = server.record(support::ALICE, &seed, "102", "nas").await;
    let record_id = record["recordId"].as_str().unwrap().to_string();
    server
        .req_on_server_clock("DELETE", &format!("{}/lock", support::PREFIX))
        .lock(&seed)
        .send()
        .await
        .expect_ok();
    server.server.set_faults(koobackup::server::Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut backup = std::process::Command::new(env!("CARGO_BIN_EXE_koobackup"))
            .args(["--base-url", &base_url, "--user-id", support::ALICE.0])
            .args(["lock", "hold", "-m", "102", "--", "sleep", "60"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(crate::support::pty::env_for(&dir_path))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_journal(&dir_path, 1);
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("`lock hold` of `sleep 60`");
        tui.send("R");
        tui.send("3");
        tui.wait_text(&record_id);
        tui.send("x");
        tui.wait_text("abandoned");
        tui.send("\r");
        tui.wait_text("Delete record");
        tui.send("y");
        let screen = tui.wait_text("not sent");
        assert!(screen.contains("lock hold"), "the holder is named:\n{screen}");
        let left = handle.block_on(server_record_ids(&server, "102"));
        assert_eq!(
            left,
            vec![record_id.clone()],
            "the backup's record is still there"
        );
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
        backup.kill().unwrap();
        backup.wait().unwrap();
    })
    .await
    .unwrap();
}

/// A config file section for profile `name` on `url` as alice, her token from the environment
/// the pty tests set.
fn profile(name: &str, url: &str) -> String {
    format!(
        "[profiles.{name}]\nbase_url = \"{url}\"\nuser_id = \"{}\"\ntoken = {{ env = \"KOOBACKUP_TOKEN\" }}\n",
        support::ALICE.0
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_switches_profiles_without_restarting() {
    let one = support::spawn_server().await;
    let two = support::spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config/koobackup/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    // A third profile whose token takes 3 s to come: a switch to it that another overtakes
    // must not land afterwards.
    let slow = format!(
        "[profiles.slow]\nbase_url = \"{}\"\nuser_id = \"{}\"\ntoken = {{ command = \"sleep 3; echo {}\" }}\n",
        two.base_url(),
        support::ALICE.0,
        support::ALICE.1
    );
    std::fs::write(
        &config,
        format!(
            "{}{}{slow}",
            profile("one", &one.base_url()),
            profile("two", &two.base_url())
        ),
    )
    .unwrap();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::run_in_pty(&["--profile", "one"], &dir_path, &[]);
        tui.wait_text("No locks held");
        tui.send("n");
        tui.wait_text("Create a lock for which module?");
        tui.send("1");
        tui.wait_for("the new lock", Duration::from_secs(15), |s| {
            countdown_of(s, "100 folder").is_some()
        });
        wait_journal(&dir_path, 1);

        // Tab completes the profile name.
        tui.send(":profile t\t\r");
        let screen = tui.wait_for("profile two", Duration::from_secs(15), |s| {
            s.contains("│ profile two (127.0.0.1:") && s.contains("No locks held")
        });
        assert!(screen.contains("stay in the journal"), "{screen}");
        assert_eq!(journal_ids(&dir_path).len(), 1, "the lock of profile one is kept");

        tui.send(":profile slow\r");
        tui.send(":profile one\r");
        tui.wait_for(
            "back on profile one, with its lock",
            Duration::from_secs(15),
            |s| s.contains("│ profile one (127.0.0.1:") && countdown_of(s, "100 folder").is_some(),
        );
        // The slow token comes (after 3 s): the switch it belonged to was overtaken, and is
        // said to be unused rather than carried out.
        let screen = tui.wait_for("the slow profile to answer", Duration::from_secs(15), |s| {
            s.contains("profile slow answered after another was asked for")
        });
        assert!(
            screen.contains("│ profile one (127.0.0.1:"),
            "still on profile one:\n{screen}"
        );
        tui.send("q");
        tui.wait_text("This app holds 1 live lock(s):");
        tui.send("k");
        assert!(tui.wait_exit(Duration::from_secs(10)).success());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_colours_from_the_config_file_and_their_errors_before_the_screen() {
    let server = support::spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config/koobackup/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    let write = move |extra: &str| {
        std::fs::write(&config, format!("{}{extra}", profile("one", &base_url))).unwrap();
    };
    tokio::task::spawn_blocking(move || {
        write("\n[theme]\nwarning = \"mauve\"\n");
        let mut tui = Tui::run_in_pty(&["--profile", "one"], &dir_path, &[]);
        let status = tui.wait_exit(Duration::from_secs(15));
        let screen = tui.contents();
        assert_eq!(status.exit_code(), 2, "{screen}");
        assert!(screen.contains("line 7, column 11: [theme] warning"), "{screen}");

        write("\n[keys.locks]\nnew = \"N\"\n");
        let mut tui = Tui::run_in_pty(&["--profile", "one"], &dir_path, &[]);
        let screen = tui.wait_text("No locks held");
        assert!(
            screen.contains(" N new "),
            "the footer shows the user's key:\n{screen}"
        );
        tui.send("N");
        tui.wait_text("Create a lock for which module?");
        tui.send("\x1b");
        tui.wait_for("the picker to close", Duration::from_secs(5), |s| {
            !s.contains("Create a lock for which")
        });
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(10)).success());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_records_pane_opens_on_the_module_used_last_time() {
    let server = support::spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        tui.send("R");
        tui.wait_text("Choose a module");
        tui.send("2");
        tui.wait_text("Records: 101 album");
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(10)).success());

        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        tui.send("R");
        tui.wait_for("album again", Duration::from_secs(10), |s| {
            s.contains("Records: 101 album") && !s.contains("Choose a module")
        });
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(10)).success());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_filters_and_a_whole_log_line_in_a_real_terminal() {
    let server = support::spawn_server().await;
    let lock = server.lock(support::ALICE, "102").await;
    for n in 0..40 {
        server
            .record(support::ALICE, &lock, "102", &format!("phone-{}", n % 4))
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        tui.send("R3");
        tui.wait_text("row 1 of 40");
        // A page down moves by the rows on screen; Ctrl+U half a page back; End to the last.
        tui.send("\x1b[6~");
        let screen = tui.wait_for("a page down", Duration::from_secs(5), |s| {
            !s.contains("row 1 of 40")
        });
        assert!(screen.contains(" of 40"), "{screen}");
        tui.send("\x15");
        tui.send("G");
        tui.wait_text("row 40 of 40");
        // A filter that matches nothing says so; Esc clears it.
        tui.send("/nothing-like-this\r");
        tui.wait_text("No loaded record matches the filter");
        tui.send("\x1b");
        tui.wait_for("the filter cleared", Duration::from_secs(5), |s| {
            s.contains(" of 40") && !s.contains("No loaded record")
        });
        // f takes a device name.
        tui.send("fphone-2\r");
        tui.wait_text("device phone-2");
        // The activity log (Tab twice from the records: locks, then the log): Enter opens the
        // highlighted (newest) line whole.
        tui.send("\t\t");
        tui.wait_text("Enter open");
        tui.send("\r");
        let screen = tui.wait_text("Activity — Esc closes");
        assert!(screen.contains("list records 102"), "{screen}");
        tui.send("\x1b");
        tui.wait_for("the line closed", Duration::from_secs(5), |s| {
            !s.contains("Activity — Esc closes")
        });
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(10)).success());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_restores_the_terminal_and_keeps_the_journal() {
    // What a closed terminal window or a dropped SSH session sends.
    signal_restores_the_terminal_and_keeps_the_journal("HUP").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_from_outside_restores_the_terminal_and_keeps_the_journal() {
    // In raw mode Ctrl+C is a key (it asks first); SIGINT comes from `kill -INT`.
    signal_restores_the_terminal_and_keeps_the_journal("INT").await;
}

/// Creates a lock, sends `signal`, and checks that the app left every terminal mode it had
/// entered and kept the lock in the journal.
async fn signal_restores_the_terminal_and_keeps_the_journal(signal: &'static str) {
    let server = support::spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        tui.send("n");
        tui.wait_text("Create a lock for which module?");
        tui.send("2");
        tui.wait_for("the new lock", Duration::from_secs(15), |s| {
            countdown_of(s, "101 album").is_some()
        });
        wait_journal(&dir_path, 1);
        tui.signal(signal);
        tui.wait_exit(Duration::from_secs(10));
        // Leaving the alternate screen brings back the (empty) main screen.
        tui.wait_for("the main screen", Duration::from_secs(15), |s| {
            !s.contains("101 album")
        });
        let parser = tui.screen.lock().unwrap();
        let screen = parser.screen();
        assert!(!screen.alternate_screen(), "the alternate screen was left");
        assert!(!screen.hide_cursor(), "the cursor is visible again");
        assert_eq!(
            screen.mouse_protocol_mode(),
            vt100::MouseProtocolMode::None,
            "mouse capture is off"
        );
        assert!(!screen.bracketed_paste(), "bracketed paste is off");
        drop(parser);
        assert_eq!(journal_ids(&dir_path).len(), 1, "a signal never loses a lock");
    })
    .await
    .unwrap();
}

/// CPU seconds (user + system) used so far by process `pid`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // Linux reports these in USER_HZ clock ticks, 100 per second on every mainstream platform.
    ticks / 100.0
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, run by benches/tui_idle.sh"]
async fn idle_figures() {
    let server = support::spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    let measure_secs: u64 = std::env::var("IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        let first_frame = tui.first_frame.lock().unwrap().expect("a frame was drawn") - tui.started;
        for (key, module) in [("1", "100 folder"), ("2", "101 album"), ("3", "102 address book")] {
            tui.send("n");
            tui.wait_text("Create a lock for which module?");
            tui.send(key);
            tui.wait_for(module, Duration::from_secs(15), |s| {
                countdown_of(s, module).is_some()
            });
        }
        // Let the spinner stop, then measure a quiet stretch.
        std::thread::sleep(Duration::from_secs(2));
        let pid = tui.pid();
        let (cpu_before, bytes_before, t_before) = (
            cpu_seconds(pid),
            tui.bytes.load(Ordering::Relaxed),
            Instant::now(),
        );
        std::thread::sleep(Duration::from_secs(measure_secs));
        let elapsed = t_before.elapsed().as_secs_f64();
        let cpu = (cpu_seconds(pid) - cpu_before) / elapsed * 100.0;
        let bytes = (tui.bytes.load(Ordering::Relaxed) - bytes_before) as f64 / elapsed;
        let rss = rss_kib(pid);
        println!("time to first frame: {} ms", first_frame.as_millis());
        println!("idle with 3 locks counting down, over {elapsed:.1} s:");
        println!("  CPU: {cpu:.2} % of one core");
        println!("  written to the terminal: {bytes:.0} bytes/s");
        println!("  resident memory: {} KiB", rss);
        tui.send("q");
        tui.send("r");
        tui.wait_exit(Duration::from_secs(15));
    })
    .await
    .unwrap();
}

/// Ids of alice's records of `module` on the server.
pub(super) async fn server_record_ids(server: &support::TestServer, module: &str) -> Vec<String> {
    let resp = server
        .req("GET", &format!("{}/record", support::PREFIX))
        .query(&[("moduleCode", module), ("pageSize", "100")])
        .send()
        .await;
    resp.expect_ok();
    resp.body["data"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["recordId"].as_str().expect("recordId").to_string())
        .collect()
}

/// The record side end to end: browse a module, create a record through the form (which
/// first creates the missing lock), refuse bad JSON, cancel a delete, confirm a delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_create_browse_and_delete_with_confirmation() {
    let server = Arc::new(support::spawn_server().await);
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    let handle = tokio::runtime::Handle::current();
    let on_server = {
        let server = server.clone();
        move || handle.block_on(server_record_ids(&server, "102"))
    };
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        let screen = tui.wait_text("No locks held");
        assert!(
            screen.contains("[R] Records"),
            "the tab strip shows the way: {screen}"
        );
        tui.send("R");
        tui.wait_text("Choose a module");
        tui.send("3");
        tui.wait_text("No records in 102");

        tui.send("n");
        tui.wait_text("New backup record in 102");
        tui.send("pixel-7\t{\"files\": 3,}\r");
        tui.wait_text("not valid JSON at line 1, column 13");
        assert!(on_server().is_empty(), "invalid input sends nothing");

        tui.send("\x7f\x7f}\r"); // fix the JSON: drop ",}" and close the object
        let screen = tui.wait_text("created record");
        assert!(
            !screen.contains(support::ALICE.1),
            "the token must never be shown"
        );
        let ids = on_server();
        assert_eq!(ids.len(), 1, "the record exists on the server");
        tui.wait_text(&ids[0]);
        // The lock taken for it alone is released once the record is created.
        wait_journal(&dir_path, 0);

        tui.send("d");
        tui.wait_text("Its backup files are deleted too");
        tui.send("n");
        tui.wait_text("nothing deleted");
        assert_eq!(on_server(), ids, "cancel keeps the record");

        tui.send("d");
        tui.wait_text("Its backup files are deleted too");
        tui.send("y");
        tui.wait_text("No records in 102");
        assert!(on_server().is_empty(), "the record is gone from the server");
        wait_journal(&dir_path, 0);

        tui.send("q");
        assert!(
            tui.wait_exit(Duration::from_secs(15)).success(),
            "no lock left behind: quits at once"
        );
    })
    .await
    .unwrap();
}

/// 250 records paged in, a filter, a completion, then a bulk delete of 100 with 10% of the
/// server's answers failing: the summary names exactly the records that survived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_paging_filter_complete_and_bulk_delete_with_failures() {
    let server = Arc::new(support::spawn_server().await);
    let seed_lock = server.lock(support::ALICE, "102").await;
    let mut created = Vec::new();
    for i in 0..250 {
        let record = server
            .record(support::ALICE, &seed_lock, "102", &format!("device-{}", i % 5))
            .await;
        created.push(record["recordId"].as_str().unwrap().to_string());
    }
    server
        .req("DELETE", &format!("{}/lock", support::PREFIX))
        .lock(&seed_lock)
        .send()
        .await
        .expect_ok();
    // Newest first, as listed.
    created.reverse();
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    let handle = tokio::runtime::Handle::current();
    let server_in_thread = server.clone();
    tokio::task::spawn_blocking(move || {
        let server = server_in_thread;
        // (record id, status) of every record of 102 on the server, following the cursor.
        let on_server = || {
            let mut ids = Vec::new();
            let client = koobackup::api::Client::new(koobackup::api::ClientOptions::new(
                server.base_url(),
                koobackup::api::Credentials::new(
                    support::ALICE.0,
                    koobackup::api::Token::new(support::ALICE.1),
                ),
            ))
            .unwrap();
            let query = koobackup::api::client::RecordQuery {
                module: koobackup::api::ModuleCode::AddressBook,
                page_size: 100,
                device_id: None,
            };
            handle.block_on(async {
                use futures::StreamExt;
                let mut pages = std::pin::pin!(client.record_pages(query, koobackup::api::DEFAULT_MAX_PAGES));
                while let Some(page) = pages.next().await {
                    ids.extend(
                        page.unwrap()
                            .items
                            .into_iter()
                            .map(|r| (r.record_id, r.status.number())),
                    );
                }
            });
            ids
        };
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        tui.send("\x1b[Z");
        tui.send("3");
        tui.wait_text("row 1 of 250 ");
        tui.send("G");
        tui.wait_text(&created[249]);

        // Filter down to one record and complete it (a lock is created on the way).
        tui.send("/");
        tui.send(&created[7]);
        tui.wait_text("row 1 of 1 (250 loaded)");
        tui.send("\r");
        tui.send("c");
        tui.wait_text(&format!("Complete record {}", created[7]));
        tui.send("{\"done\": true}\r");
        tui.wait_text(&format!("completed record {}", created[7]));
        let statuses = on_server();
        assert_eq!(statuses.iter().filter(|(_, s)| *s == 1).count(), 1);
        assert!(statuses.contains(&(created[7].clone(), 1)));
        tui.send("/");
        tui.send("\x1b");
        tui.wait_for("the filter to be cleared", Duration::from_secs(15), |s| {
            s.contains(" of 250 ") && !s.contains("filter \"")
        });
        // The lock taken for the completion is released once it is done.
        wait_journal(&dir_path, 0);

        // A lock held on purpose in the app, which the bulk delete then runs under.
        tui.send("L");
        tui.send("n");
        tui.send("3");
        tui.wait_for("the app's lock", Duration::from_secs(15), |s| {
            s.lines()
                .any(|l| l.contains("102 address book") && l.contains("this app"))
        });
        tui.send("R");
        tui.wait_text(" of 250 ");

        // Mark the 100 newest, then delete them with 10% of the answers failing.
        tui.send("g");
        tui.send(&" ".repeat(100));
        tui.wait_text(" 100 marked");
        tui.send("d");
        tui.wait_text("Type 100 and press Enter");
        server.server.set_faults(koobackup::server::Faults {
            error_rate: 0.1,
            ..koobackup::server::Faults::default()
        });
        tui.send("100\r");
        let screen = tui.wait_text("Bulk delete finished");
        server.server.set_faults(koobackup::server::Faults::default());

        let left: Vec<String> = on_server().into_iter().map(|(id, _)| id).collect();
        let survivors: Vec<&String> = created[..100].iter().filter(|id| left.contains(id)).collect();
        assert_eq!(left.len(), 150 + survivors.len(), "the other 150 are untouched");
        // Failed deletes are retried, so all usually go through; the headline names failures
        // only when there are some.
        let headline = match survivors.len() {
            0 => "deleted 100 of 100".to_string(),
            n => format!("deleted {} of 100, {n} failed", 100 - n),
        };
        assert!(screen.contains(&headline), "{headline}\n{screen}");
        if survivors.len() <= 15 {
            for id in &survivors {
                let line = screen
                    .lines()
                    .find(|l| l.contains(id.as_str()))
                    .unwrap_or_default();
                assert!(line.contains("500001"), "{id} is listed with its code:\n{screen}");
            }
        }
        tui.send("\r");
        tui.send("q");
        tui.wait_text("This app holds 1 live lock(s):");
        tui.send("r");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
    })
    .await
    .unwrap();
}

/// A bulk delete against a rate-limited server retries until every record is gone; against a
/// server failing every answer, the failures stay marked and `d` deletes exactly them once the
/// server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_delete_retries_a_rate_limit_and_d_retries_what_failed() {
    const RECORDS: usize = 24;
    let server = Arc::new(support::spawn_server().await);
    let seed_lock = server.lock(support::ALICE, "102").await;
    for i in 0..RECORDS {
        server
            .record(support::ALICE, &seed_lock, "102", &format!("device-{}", i % 3))
            .await;
    }
    server
        .req("DELETE", &format!("{}/lock", support::PREFIX))
        .lock(&seed_lock)
        .send()
        .await
        .expect_ok();
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    let handle = tokio::runtime::Handle::current();
    let on_server = {
        let server = server.clone();
        move || handle.block_on(server_record_ids(&server, "102"))
    };
    tokio::task::spawn_blocking(move || {
        let faults = |configure: fn(&mut koobackup::server::Faults)| {
            let mut faults = koobackup::server::Faults::default();
            configure(&mut faults);
            server.server.set_faults(faults);
        };
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        // A lock held on purpose in the app: every bulk delete below runs under it.
        tui.send("n");
        tui.send("3");
        tui.wait_for("the app's lock", Duration::from_secs(15), |s| {
            countdown_of(s, "102 address book").is_some()
        });
        tui.send("R");
        tui.send("3");
        tui.wait_text(&format!(" of {RECORDS} "));

        // The newest 12 under 5 requests a second.
        tui.send(&" ".repeat(12));
        tui.wait_text(" 12 marked");
        tui.send("d");
        tui.wait_text("Type 12 and press Enter");
        faults(|f| f.rate_limit_per_sec = Some(5));
        tui.send("12\r");
        tui.wait_for("the bulk delete to finish", Duration::from_secs(60), |s| {
            s.contains("Bulk delete finished")
        });
        let screen = tui.wait_text("deleted 12 of 12");
        assert!(
            !screen.contains("failed"),
            "a rate limit is waited out:\n{screen}"
        );
        let rate_limited = server.server.stats().rate_limited;
        faults(|_| {});
        assert_eq!(on_server().len(), RECORDS - 12);
        assert!(rate_limited > 0, "the test met no rate limit");
        tui.send("\r");

        // The other 12 while every answer fails: each is tried six times (its re-read first),
        // then reported.
        tui.send("a");
        tui.wait_text(" 12 marked");
        tui.send("d");
        tui.wait_text("Type 12 and press Enter");
        faults(|f| f.error_rate = 1.0);
        tui.send("12\r");
        tui.wait_for("the bulk delete to give up", Duration::from_secs(90), |s| {
            s.contains("Bulk delete finished")
        });
        let screen = tui.wait_text("deleted 0 of 12, 12 failed");
        assert!(
            screen.contains("stay marked") && screen.contains("press d"),
            "{screen}"
        );
        faults(|_| {});
        assert_eq!(on_server().len(), RECORDS - 12, "failed deletes deleted nothing");

        tui.send("\r");
        tui.wait_text(" 12 marked");
        tui.send("d");
        tui.wait_text("Type 12 and press Enter");
        tui.send("12\r");
        tui.wait_text("deleted 12 of 12");
        assert!(
            on_server().is_empty(),
            "the retry deleted exactly the marked records"
        );
        tui.send("\r");
        tui.send("q");
        tui.wait_text("This app holds 1 live lock(s):");
        tui.send("r");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
    })
    .await
    .unwrap();
}

/// `(properties, device id)` of alice's records of `module` on the server.
async fn server_records(server: &support::TestServer, module: &str) -> Vec<(String, String)> {
    let resp = server
        .req("GET", &format!("{}/record", support::PREFIX))
        .query(&[("moduleCode", module), ("pageSize", "100")])
        .send()
        .await;
    resp.expect_ok();
    resp.body["data"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            let device = r["deviceInfo"]["deviceId"].as_str().unwrap_or_default();
            (r["properties"].to_string(), device.to_string())
        })
        .collect()
}

/// Ctrl+E in the record form hands the terminal to `$EDITOR` on a private temporary file; what
/// the editor writes comes back into the form, the app takes the terminal back and goes on; a
/// failing editor changes nothing and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_are_edited_in_the_users_editor() {
    let server = Arc::new(support::spawn_server().await);
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let handle = tokio::runtime::Handle::current();
    let on_server = {
        let server = server.clone();
        move || handle.block_on(server_records(&server, "102"))
    };
    tokio::task::spawn_blocking(move || {
        let tmp_dir = tmp.to_str().unwrap();
        let open_form = |tui: &mut Tui| {
            tui.wait_text("No locks held");
            tui.send("R");
            // The second run opens on 102 already: the module used last.
            // 102 listed: its records, or none.
            let listed = |s: &str| {
                s.contains("Records: 102 address book")
                    && (s.contains(" row 1 of ") || s.contains("No records in 102"))
            };
            tui.wait_for("the records pane", Duration::from_secs(10), |s| {
                s.contains("Choose a module") || listed(s)
            });
            tui.send("3");
            tui.wait_for("102 listed", Duration::from_secs(10), listed);
            tui.send("n");
            tui.wait_text("New backup record in 102");
            tui.send("pixel-7\t{\"old\": true}");
            tui.wait_text(r#"> {"old": true}"#);
        };

        let editor = r#"sh -c 'printf "{\n  \"a\": 1\n}\n" > "$1"' --"#;
        let mut tui = Tui::start_with(&base_url, &dir_path, &[("EDITOR", editor), ("TMPDIR", tmp_dir)]);
        open_form(&mut tui);
        tui.send("\x05"); // Ctrl+E
        tui.wait_text(r#"> {"a":1}"#);
        assert_eq!(
            std::fs::read_dir(&tmp).unwrap().count(),
            0,
            "the temporary file is removed"
        );
        assert!(tui.screen.lock().unwrap().screen().alternate_screen());
        tui.send("\r");
        tui.wait_text("created record");
        assert_eq!(
            on_server(),
            vec![(r#""{\"a\":1}""#.to_string(), "pixel-7".to_string())],
            "the edited properties were sent"
        );
        // The lock taken for the create is released after it: nothing to ask about.
        wait_journal(&dir_path, 0);
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());

        let mut tui = Tui::start_with(&base_url, &dir_path, &[("EDITOR", "false"), ("TMPDIR", tmp_dir)]);
        open_form(&mut tui);
        tui.send("\x05");
        tui.wait_text("exited with status 1");
        tui.wait_text("the properties are unchanged");
        tui.wait_text(r#"> {"old": true}"#);
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
        tui.send("\x1b");
        tui.wait_for("the form to close", Duration::from_secs(15), |s| {
            !s.contains("New backup record")
        });
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
    })
    .await
    .unwrap();
}

/// A server whose every text carries escape sequences: the app shows them as visible text and
/// never writes one of them to the terminal (a title, a clipboard write, a cursor report
/// request, a C1 CSI, a bidi override).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_from_the_server_never_reach_the_terminal() {
    use crate::support::fake::{Fake, INJECTION, Reply, record_with};
    use serde_json::json;
    let fake = Fake::start(|request| match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/lock") => Reply::ok(json!({ "lockId": format!("78e41c7e{INJECTION}@101") })),
        ("GET", "/record") => Reply::page(vec![record_with("1842862763295184641", INJECTION)], None),
        ("GET", path) if path.ends_with("/files") => Reply::page(
            vec![json!({"fileId": "f", "fileName": format!("f{INJECTION}"), "size": 1, "createTime": ""})],
            None,
        ),
        ("GET", _) => Reply::ok(record_with("1842862763295184641", INJECTION)),
        _ => Reply::error(500, json!("500001"), &format!("broken {INJECTION}")),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let base_url = fake.base_url.clone();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        tui.send("n");
        tui.send("2");
        // A granted lock id no HTTP header can carry is refused as it arrives (it could never
        // be renewed or released), and said so; no lock is held.
        let screen = tui.wait_for("the refused lock", Duration::from_secs(15), |s| {
            s.lines()
                .any(|l| l.contains("create lock 101") && l.contains("error"))
        });
        assert!(screen.contains("answer cannot be used"), "{screen}");
        assert!(screen.contains("Locks (0)"), "{screen}");
        tui.send("R");
        tui.send("3");
        let screen = tui.wait_for("102 listed", Duration::from_secs(15), |s| {
            s.contains("Records: 102 address book") && s.contains(" row 1 of 1 ")
        });
        assert!(screen.contains("\\x1b]0;pwned"), "shown visibly:\n{screen}");
        tui.send("\r");
        tui.wait_text("Record 1842862763295184641");
        tui.send("\x1b");
        tui.wait_text("Enter details");
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
        let written = tui.written.lock().unwrap().clone();
        for (what, bytes) in [
            ("a title", b"\x1b]0;pwned".as_slice()),
            ("a clipboard write", b"\x1b]52;c;cm0g".as_slice()),
            ("a cursor report request", b"\x1b[6n".as_slice()),
            ("a C1 CSI", "\u{9b}".as_bytes()),
            ("a bidi override", "\u{202e}".as_bytes()),
        ] {
            assert!(
                !written.windows(bytes.len()).any(|w| w == bytes),
                "the server made the app write {what} to the terminal"
            );
        }
    })
    .await
    .unwrap();
}

/// The Devices view in a real terminal: a bound device with its figures, opened, a scope added
/// through the dialog (on the server afterwards), the form offering the device by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_view_shows_figures_opens_a_device_and_adds_a_scope() {
    use koobackup::api::ModuleCode;
    use koobackup::api::model::BindDeviceRequest;

    let server = Arc::new(support::spawn_server().await);
    let alice = server.client(support::ALICE);
    let nas = alice
        .bind_device(&BindDeviceRequest {
            machine_code: "DS920_7F3A".into(),
            device_name: Some("Home NAS".into()),
            device_os: Some("DSM 7".into()),
        })
        .await
        .unwrap();
    // One completed folder backup of the NAS.
    let lock = server.lock(support::ALICE, "100").await;
    let record = server.record(support::ALICE, &lock, "100", &nas.device_id).await;
    let record_id = record["recordId"].as_str().unwrap().to_string();
    server
        .req("PATCH", &format!("{}/record/{record_id}", support::PREFIX))
        .lock(&lock)
        .send()
        .await
        .expect_ok();
    server
        .req("DELETE", &format!("{}/lock", support::PREFIX))
        .lock(&lock)
        .send()
        .await
        .expect_ok();

    let dir = tempfile::tempdir().unwrap();
    let (base_url, dir_path) = (server.base_url(), dir.path().to_path_buf());
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        tui.send("D");
        tui.wait_for("the NAS and its figures", Duration::from_secs(15), |s| {
            s.contains("Home NAS") && s.contains("DSM 7") && s.contains("1 done")
        });

        tui.send("\r");
        tui.wait_text("What it backs up");
        tui.send("a");
        tui.wait_text("New scope:");
        tui.send("/volume1/photos => /Photos\r");
        tui.wait_text("/volume1/photos → /Photos");
        // Esc alone (a key right after it would read as Alt+key): wait until it is taken.
        tui.send("\x1b");
        tui.wait_for("the device to close", Duration::from_secs(15), |s| {
            !s.contains("What it backs up")
        });

        // The record form offers the NAS by name.
        tui.send("R");
        tui.wait_text("Choose a module");
        tui.send("1");
        tui.send("n");
        tui.wait_text("bound devices");
        tui.send("\x1b[B");
        tui.wait_text("Home NAS · DSM 7 (bound device 1 of 1");
        tui.send("\x1b");
        tui.wait_for("the form to close", Duration::from_secs(15), |s| {
            !s.contains("New backup record")
        });

        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
    })
    .await
    .unwrap();

    let scopes = alice
        .list_scopes(&nas.device_id, ModuleCode::Folder)
        .await
        .unwrap();
    let added: Vec<(&str, &str)> = scopes
        .items
        .iter()
        .map(|s| (s.local_path.as_str(), s.target_folder_path.as_str()))
        .collect();
    assert_eq!(added, [("/volume1/photos", "/Photos")]);
}

/// `--read-only` in a real terminal: the status bar says so, a key that would change the
/// server is refused with a message, and the server sees no change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_changes_in_a_real_terminal() {
    let server = support::spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (base_url, dir_path) = (server.base_url(), dir.path().to_path_buf());
    tokio::task::spawn_blocking(move || {
        let args = ["--user-id", support::ALICE.0, "--read-only"];
        let mut tui = Tui::start_as(&base_url, &dir_path, &args, &[]);
        tui.wait_text("READ-ONLY");
        tui.send("n");
        tui.wait_text("read-only, not sent: create a lock");
        assert!(journal_ids(&dir_path).is_empty(), "no lock was created");
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
    })
    .await
    .unwrap();
    // The module is free: nothing was locked on the server.
    server.lock(support::ALICE, "100").await;
}

/// SIGTERM (systemd, `timeout`) while the app deletes records in bulk under a lock it took for
/// the delete: the run stops sending, and the lock is released before the app ends, so the next
/// backup is not kept waiting until it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_bulk_delete_releases_the_lock_taken_for_it() {
    const RECORDS: usize = 40;
    let server = Arc::new(support::spawn_server().await);
    let seed_lock = server.lock(support::ALICE, "102").await;
    for i in 0..RECORDS {
        server
            .record(support::ALICE, &seed_lock, "102", &format!("device-{i}"))
            .await;
    }
    server
        .req("DELETE", &format!("{}/lock", support::PREFIX))
        .lock(&seed_lock)
        .send()
        .await
        .expect_ok();
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    let db = server.db_path.clone();
    let in_thread = server.clone();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("No locks held");
        tui.send("\x1b[Z");
        tui.send("3");
        tui.wait_text(&format!("row 1 of {RECORDS} "));
        tui.send(&" ".repeat(RECORDS));
        tui.wait_text(&format!(" {RECORDS} marked"));
        in_thread.server.set_faults(koobackup::server::Faults {
            latency: Duration::from_millis(150),
            ..koobackup::server::Faults::default()
        });
        tui.send("d");
        tui.wait_text(&format!("Type {RECORDS} and press Enter"));
        tui.send(&format!("{RECORDS}\r"));
        // Under way: its lock journalled, some records gone.
        let deadline = Instant::now() + Duration::from_secs(20);
        while support::record_ids(&db, "102").len() > RECORDS - 3 {
            assert!(Instant::now() < deadline, "the bulk delete never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        wait_journal(&dir_path, 1);
        tui.signal("TERM");
        tui.wait_exit(Duration::from_secs(15));
        let left = support::record_ids(&db, "102").len();
        assert!(left > 0, "the run stopped sending");
        assert!(journal_ids(&dir_path).is_empty(), "its lock was released");
    })
    .await
    .unwrap();
    // The module is free at once.
    server.server.set_faults(koobackup::server::Faults::default());
    server.lock(support::ALICE, "102").await;
}

/// A record deleted in the app is in the history with the record as it was: `:history` lists
/// the delete, `/` narrows to it, `Enter` shows it whole with its properties pretty-printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_in_the_app_is_in_its_history_pane_with_the_record_as_it_was() {
    let server = Arc::new(support::spawn_server().await);
    let seed = server.lock(support::ALICE, "102").await;
    let record = server.record(support::ALICE, &seed, "102", "nas").await;
    let record_id = record["recordId"].as_str().unwrap().to_string();
    server
        .req_on_server_clock("DELETE", &format!("{}/lock", support::PREFIX))
        .lock(&seed)
        .send()
        .await
        .expect_ok();
    let dir = tempfile::tempdir().unwrap();
    let base_url = server.base_url();
    let dir_path = dir.path().to_path_buf();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(&base_url, &dir_path);
        tui.wait_text("every change is kept in");
        tui.send("R");
        tui.send("3");
        tui.wait_text(&record_id);
        tui.send("d");
        tui.wait_text("Delete record");
        tui.send("y");
        tui.wait_for("the delete", Duration::from_secs(15), |s| {
            s.lines().any(|l| l.contains("delete") && l.contains("success"))
        });
        assert!(handle.block_on(server_record_ids(&server, "102")).is_empty());
        tui.send(":history\r");
        tui.wait_text("record.delete");
        tui.send("/op:record.delete\r");
        tui.wait_text("History (1 of");
        tui.send("\r");
        let screen = tui.wait_text("\"n\": 1");
        assert!(
            screen.contains(&format!("\"recordId\": \"{record_id}\"")),
            "{screen}"
        );
        tui.send("\x1b");
        tui.wait_for("the list again", Duration::from_secs(5), |s| {
            !s.contains("Esc back")
        });
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
    })
    .await
    .unwrap();
}

/// Under a profile's `delete_grace`, a delete in the app is queued, not sent: the record stays
/// on the server, is marked in the list, `:pending` lists it and `u` there takes it back, and
/// the command line's `koobackup pending` sees the same queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_under_a_grace_window_is_queued_and_taken_back_in_a_real_terminal() {
    let server = Arc::new(support::spawn_server().await);
    let seed = server.lock(support::ALICE, "102").await;
    let record = server.record(support::ALICE, &seed, "102", "nas").await;
    let record_id = record["recordId"].as_str().unwrap().to_string();
    server
        .req_on_server_clock("DELETE", &format!("{}/lock", support::PREFIX))
        .lock(&seed)
        .send()
        .await
        .expect_ok();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config/koobackup/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!("{}delete_grace = \"24h\"\n", profile("g", &server.base_url())),
    )
    .unwrap();
    let queue = dir.path().join(".local/state/koobackup/history/pending.jsonl");
    let dir_path = dir.path().to_path_buf();
    let handle = tokio::runtime::Handle::current();
    let on_server = server.clone();
    tokio::task::spawn_blocking(move || {
        let mut tui = Tui::run_in_pty(&["--profile", "g"], &dir_path, &[]);
        tui.wait_text("No locks held");
        tui.send("R");
        tui.send("3");
        tui.wait_text(&record_id);
        tui.send("d");
        tui.wait_text("unless taken back");
        tui.send("y");
        tui.wait_text("queued 23h");
        assert_eq!(
            handle.block_on(server_record_ids(&server, "102")),
            vec![record_id.clone()],
            "nothing is sent under a grace window"
        );
        let kept = std::fs::read_to_string(&queue).unwrap();
        assert!(kept.contains(&record_id), "{kept}");

        tui.send(":pending\r");
        tui.wait_text("by hand");
        tui.send("u");
        tui.wait_for("the queue emptied", Duration::from_secs(15), |_| {
            std::fs::read_to_string(&queue).is_ok_and(|text| !text.contains(&record_id))
        });
        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
    })
    .await
    .unwrap();
    assert_eq!(server_record_ids(&on_server, "102").await.len(), 1);
}
