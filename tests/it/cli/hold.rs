//! `koobackup lock hold`: the lock outlives its lifetime while the command runs, is exported to
//! the command, is released when it ends (also on a signal), and the exit code is the command's.
//! The server uses 3-second locks, so the binary renews every second.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::cli::{Cli, Run};
use crate::support::{ALICE, PREFIX, TestServer, spawn_server, spawn_server_with, wait_for};

const TTL: Duration = Duration::from_secs(3);

async fn short_lock_server() -> TestServer {
    spawn_server_with(|config| config.lock_ttl = TTL).await
}

fn cli_for(server: &TestServer) -> Cli {
    Cli::for_server(&server.base_url()).env("KOOBACKUP_LOCK_TTL_SECS", &TTL.as_secs().to_string())
}

/// Waits until the child has written its lock id to `path`.
pub async fn read_lock_id(path: &Path) -> String {
    wait_for(
        "the command to write its lock id",
        Duration::from_secs(20),
        || {
            let text = std::fs::read_to_string(path).ok()?;
            text.ends_with('\n').then(|| text.trim().to_owned())
        },
    )
    .await
}

/// Whether `lock_id` is live on the server: a record can be created under it.
async fn lock_is_live(server: &TestServer, lock_id: &str) -> bool {
    let response = server
        .req("POST", &format!("{PREFIX}/record"))
        .lock(lock_id)
        .json(serde_json::json!({"moduleCode": "102", "deviceId": "hold-test"}))
        .send()
        .await;
    response.status == 200
}

/// Whether module 102 is free: a new lock can be created (and is released again at once).
async fn module_is_free(server: &TestServer) -> bool {
    let response = server
        .req("POST", &format!("{PREFIX}/lock"))
        .json(serde_json::json!({"moduleCode": "102"}))
        .send()
        .await;
    if response.status != 200 {
        return false;
    }
    let id = response.body["data"]["lockId"].as_str().unwrap().to_owned();
    server
        .req("DELETE", &format!("{PREFIX}/lock"))
        .lock(&id)
        .send()
        .await
        .expect_ok();
    true
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lock_is_renewed_while_a_long_command_runs_and_released_after() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let id_file = cli.dir.path().join("lock-id");
    let script = format!(
        "echo \"$KOOBACKUP_LOCK_ID\" > '{}'; sleep 5; exit 42",
        id_file.display()
    );
    let started = Instant::now();
    let child = cli
        .command(&["lock", "hold", "--module", "102", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();

    let lock_id = read_lock_id(&id_file).await;
    assert!(lock_id.ends_with("@102"), "{lock_id}");
    assert_eq!(
        cli.journal_ids(),
        std::slice::from_ref(&lock_id),
        "held locks are journalled"
    );

    // Past the 3-second lifetime: only renewals can keep the lock alive now.
    tokio::time::sleep_until((started + TTL + Duration::from_millis(900)).into()).await;
    assert!(
        lock_is_live(&server, &lock_id).await,
        "lock expired while the command ran"
    );
    assert!(!module_is_free(&server).await);

    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(42);
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert!(module_is_free(&server).await, "the lock was not released");
    assert!(!lock_is_live(&server, &lock_id).await);
    assert!(cli.journal_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_is_passed_to_the_command_and_the_lock_released() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let id_file = cli.dir.path().join("lock-id");
    let marker = cli.dir.path().join("got-term");
    // The command notes the signal and exits 0 on its own terms.
    let script = format!(
        "trap 'echo term > \"{}\"; exit 0' TERM; echo \"$KOOBACKUP_LOCK_ID\" > '{}'; \
         while true; do sleep 0.1; done",
        marker.display(),
        id_file.display()
    );
    let child = cli
        .command(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    read_lock_id(&id_file).await;
    let pid = i32::try_from(child.id().unwrap()).unwrap();
    // SAFETY: sending SIGTERM to our own child process.
    unsafe { libc::kill(pid, libc::SIGTERM) };

    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(0);
    assert!(marker.exists(), "the command did not receive SIGTERM");
    assert!(module_is_free(&server).await);
    assert!(cli.journal_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_killed_by_a_signal_exits_128_plus_the_signal() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let run = cli
        .run(&["lock", "hold", "-m", "102", "--", "sh", "-c", "kill -KILL $$"])
        .await;
    run.code(128 + 9);
    assert!(module_is_free(&server).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_that_cannot_start_exits_127_and_leaves_no_lock() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let run = cli
        .run(&["lock", "hold", "-m", "102", "--", "/nonexistent/backup-tool"])
        .await;
    run.code(127);
    assert!(run.stderr.contains("/nonexistent/backup-tool"), "{}", run.stderr);
    assert!(module_is_free(&server).await);
    assert!(cli.journal_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_module_locked_elsewhere_is_a_conflict_and_the_command_never_runs() {
    let server = short_lock_server().await;
    server.lock(ALICE, "102").await;
    let cli = cli_for(&server);
    let marker = cli.dir.path().join("ran");
    let script = format!("touch '{}'", marker.display());
    cli.run(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
        .await
        .code(4);
    assert!(!marker.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_lock_stops_the_command_and_exits_with_conflict() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let id_file = cli.dir.path().join("lock-id");
    let script = format!(
        "echo \"$KOOBACKUP_LOCK_ID\" > '{}'; exec sleep 120",
        id_file.display()
    );
    let started = Instant::now();
    let child = cli
        .command(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    let lock_id = read_lock_id(&id_file).await;

    // Someone releases the lock behind our back; the next renewal finds it gone.
    server
        .req("DELETE", &format!("{PREFIX}/lock"))
        .lock(&lock_id)
        .send()
        .await
        .expect_ok();

    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(4);
    assert!(run.stderr.contains("was lost"), "{}", run.stderr);
    assert!(
        // Half the command's own two minutes: stopped, not run to its end (a loaded machine
        // cannot stretch a second's renewal that far).
        started.elapsed() < Duration::from_secs(60),
        "the command was not stopped"
    );
    assert!(cli.journal_ids().is_empty());
}

/// Whether process `pid` runs (a zombie does not: orphans here may never be reaped).
fn process_running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            !matches!(state, Some("Z" | "X") | None)
        }
        Err(_) => false,
    }
}

/// Waits until `path` exists (a command's marker file), at most `within`.
async fn wait_for_file(path: &Path, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    path.exists()
}

/// The pid a command wrote to `path`.
async fn read_pid(path: &Path) -> i32 {
    read_lock_id(path).await.parse().expect("a pid")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_network_stops_the_command_when_the_lock_runs_out_and_before_another_holder_gets_it() {
    let server = short_lock_server().await;
    let proxy = crate::support::proxy::Proxy::start(server.server.addr()).await;
    let cli = Cli::for_server(&proxy.base_url).env("KOOBACKUP_LOCK_TTL_SECS", &TTL.as_secs().to_string());
    let dir = cli.dir.path();
    let (id_file, marker) = (dir.join("lock-id"), dir.join("got-term"));
    // The command notes SIGTERM and then finishes what it was doing (exit 0 on its own terms).
    let script = format!(
        "trap 'echo term > \"{}\"; exit 0' TERM; echo \"$KOOBACKUP_LOCK_ID\" > '{}'; \
         while true; do sleep 0.1; done",
        marker.display(),
        id_file.display()
    );
    let child = cli
        .command(&[
            "--timeout",
            "1",
            "lock",
            "hold",
            "-m",
            "102",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .spawn()
        .unwrap();
    read_lock_id(&id_file).await;
    proxy.cut();
    // Another holder (straight to the server) gets the module once the server lets the lock go;
    // by then the first command has been told to stop.
    let deadline = Instant::now() + TTL * 4;
    while !module_is_free(&server).await {
        assert!(Instant::now() < deadline, "the lock never expired on the server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        wait_for_file(&marker, Duration::from_secs(20)).await,
        "another holder has the lock and the command was never stopped"
    );
    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(4);
    assert!(
        run.stderr.contains("without a successful renewal"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("was not protected by the lock from"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_that_ignores_sigterm_is_killed_after_the_grace_period_with_its_children() {
    let server = short_lock_server().await;
    let proxy = crate::support::proxy::Proxy::start(server.server.addr()).await;
    let cli = Cli::for_server(&proxy.base_url).env("KOOBACKUP_LOCK_TTL_SECS", &TTL.as_secs().to_string());
    let dir = cli.dir.path();
    let (id_file, pid_file) = (dir.join("lock-id"), dir.join("pid"));
    let script = format!(
        "trap '' TERM; sleep 300 & echo $! > '{}'; echo \"$KOOBACKUP_LOCK_ID\" > '{}'; \
         while true; do sleep 0.1; done",
        pid_file.display(),
        id_file.display()
    );
    let child = cli
        .command(&[
            "--timeout",
            "1",
            "lock",
            "hold",
            "-m",
            "102",
            "--grace",
            "0.5",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .spawn()
        .unwrap();
    read_lock_id(&id_file).await;
    let background = read_pid(&pid_file).await;
    assert!(process_running(background));
    proxy.cut();
    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(4);
    assert!(run.stderr.contains("sending SIGKILL"), "{}", run.stderr);
    assert!(
        !process_running(background),
        "a process of the command outlived the lock"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_goes_away_stops_the_command_instead_of_letting_it_run() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let id_file = cli.dir.path().join("lock-id");
    let script = format!(
        "echo \"$KOOBACKUP_LOCK_ID\" > '{}'; exec sleep 75",
        id_file.display()
    );
    let child = cli
        .command(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    read_lock_id(&id_file).await;
    let started = Instant::now();
    server.server.shutdown().await;
    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(4);
    assert!(started.elapsed() < Duration::from_secs(60), "the command ran on");
    assert!(run.stderr.contains("expired at"), "{}", run.stderr);
    // The release failed too (no server): the lock stays journalled, and the message says so.
    assert!(run.stderr.contains("stays in the lock journal"), "{}", run.stderr);
    assert_eq!(cli.journal_ids().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_released_elsewhere_before_the_command_ends_is_reported_as_lost() {
    // Long locks: no renewal happens while the command runs, so only the final release can
    // find out that the lock was released behind its back.
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let dir = cli.dir.path();
    let (id_file, go) = (dir.join("lock-id"), dir.join("go"));
    let script = format!(
        "echo \"$KOOBACKUP_LOCK_ID\" > '{}'; while [ ! -f '{}' ]; do sleep 0.05; done",
        id_file.display(),
        go.display()
    );
    let child = cli
        .command(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    let lock_id = read_lock_id(&id_file).await;
    server
        .req("DELETE", &format!("{PREFIX}/lock"))
        .lock(&lock_id)
        .send()
        .await
        .expect_ok();
    std::fs::write(&go, "").unwrap();
    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(4);
    assert!(
        run.stderr.contains("was gone when the command ended"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("last confirmed the lock at"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("stays in the lock journal"),
        "no false advice: {}",
        run.stderr
    );
    assert!(cli.journal_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_reaches_every_process_of_the_command() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let dir = cli.dir.path();
    let (id_file, pid_file) = (dir.join("lock-id"), dir.join("pid"));
    let script = format!(
        "sleep 47 & echo $! > '{}'; echo \"$KOOBACKUP_LOCK_ID\" > '{}'; wait",
        pid_file.display(),
        id_file.display()
    );
    let child = cli
        .command(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    read_lock_id(&id_file).await;
    let sleeper = read_pid(&pid_file).await;
    let pid = i32::try_from(child.id().unwrap()).unwrap();
    // SAFETY: sending SIGTERM to our own child process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    assert_eq!(run.code, 128 + libc::SIGTERM, "{run:?}");
    assert!(!process_running(sleeper), "sleep was orphaned and kept running");
    assert!(module_is_free(&server).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn processes_left_behind_are_stopped_before_the_lock_is_released() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let pid_file = cli.dir.path().join("pid");
    let script = format!("sleep 47 & echo $! > '{}'; exit 0", pid_file.display());
    let run = cli
        .run(&[
            "lock", "hold", "-m", "102", "--grace", "2", "--", "sh", "-c", &script,
        ])
        .await;
    run.code(0);
    assert!(run.stderr.contains("left processes running"), "{}", run.stderr);
    let sleeper = read_pid(&pid_file).await;
    assert!(
        !process_running(sleeper),
        "the background sleep outlived the lock"
    );
    assert!(module_is_free(&server).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_outage_is_ridden_out_by_the_renewal_retries() {
    let server = short_lock_server().await;
    let proxy = crate::support::proxy::Proxy::start(server.server.addr()).await;
    let cli = Cli::for_server(&proxy.base_url).env("KOOBACKUP_LOCK_TTL_SECS", &TTL.as_secs().to_string());
    let dir = cli.dir.path();
    let (id_file, go) = (dir.join("lock-id"), dir.join("go"));
    let script = format!(
        "echo \"$KOOBACKUP_LOCK_ID\" > '{}'; while [ ! -f '{}' ]; do sleep 0.05; done; exit 7",
        id_file.display(),
        go.display()
    );
    let child = cli
        .command(&[
            "--timeout",
            "1",
            "lock",
            "hold",
            "-m",
            "102",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .spawn()
        .unwrap();
    let lock_id = read_lock_id(&id_file).await;
    // Down over the first renewal (due after a third of the 3-second lifetime), back well before
    // the lock runs out: the retries get through.
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    proxy.restore();
    // Past the first lifetime: only a renewal can have kept it.
    tokio::time::sleep(TTL).await;
    assert!(
        lock_is_live(&server, &lock_id).await,
        "the lock was lost in the outage"
    );
    std::fs::write(&go, "").unwrap();
    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(7);
    assert!(!run.stderr.contains("not protected"), "{}", run.stderr);
    assert!(module_is_free(&server).await, "released at the end");
}

/// Sends `signal` to process `pid`.
fn send(pid: u32, signal: i32) {
    // SAFETY: a signal to our own child process.
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

/// Waits until process `pid` no longer runs, at most `within`.
async fn gone_within(pid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while process_running(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    !process_running(pid)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stderr_does_not_stop_koobackup_from_stopping_the_command() {
    // An SSH session that drops takes the terminal with it: every message koobackup writes
    // then fails. It must still pass the signal on and release the lock.
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let pid_file = cli.dir.path().join("pid");
    let script = format!("echo $$ > '{}'; exec sleep 35", pid_file.display());
    let mut command = cli.command(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script]);
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    drop(child.stderr.take());
    let sleeper = read_pid(&pid_file).await;
    send(child.id().unwrap(), libc::SIGTERM);
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .unwrap()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.code(),
        Some(128 + libc::SIGTERM),
        "not a panic: {status:?} {:?}",
        status.signal()
    );
    assert!(
        gone_within(sleeper, Duration::from_secs(20)).await,
        "COMMAND was orphaned"
    );
    assert!(module_is_free(&server).await, "the lock was released");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigquit_and_sigusr1_are_passed_on_like_sigterm() {
    let server = short_lock_server().await;
    for signal in [libc::SIGQUIT, libc::SIGUSR1] {
        let cli = cli_for(&server);
        let pid_file = cli.dir.path().join("pid");
        let script = format!("echo $$ > '{}'; exec sleep 35", pid_file.display());
        let child = cli
            .command(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
            .spawn()
            .unwrap();
        let sleeper = read_pid(&pid_file).await;
        send(child.id().unwrap(), signal);
        let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
        assert_eq!(run.code, 128 + signal, "{run:?}");
        assert!(!process_running(sleeper));
        assert!(module_is_free(&server).await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_koobackup_takes_its_command_with_it() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let pid_file = cli.dir.path().join("pid");
    let script = format!("echo $$ > '{}'; exec sleep 35", pid_file.display());
    let mut child = cli
        .command(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    let sleeper = read_pid(&pid_file).await;
    send(child.id().unwrap(), libc::SIGKILL);
    let _ = child.wait().await;
    assert!(
        gone_within(sleeper, Duration::from_secs(20)).await,
        "COMMAND ran on without its lock being renewed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lock_stays_renewed_while_leftovers_are_being_stopped() {
    // A 6-second lock (renewed every 2 s), so that a loaded machine's slow renewal is not
    // mistaken for a lost lock.
    let ttl = Duration::from_secs(6);
    let server = spawn_server_with(|config| config.lock_ttl = ttl).await;
    let cli = Cli::for_server(&server.base_url()).env("KOOBACKUP_LOCK_TTL_SECS", "6");
    let id_file = cli.dir.path().join("lock-id");
    let pid_file = cli.dir.path().join("pid");
    // A leftover that ignores SIGTERM runs on for the whole 15-second grace period, more than
    // twice the lock's lifetime.
    let script = format!(
        // The leftover writes its pid only once it ignores SIGTERM, and COMMAND ends only after
        // that: a SIGTERM can never arrive before the trap is set.
        "echo \"$KOOBACKUP_LOCK_ID\" > '{id}'; sh -c 'trap \"\" TERM; echo $$ > {pid}; exec sleep 30' & \
         while [ ! -s '{pid}' ]; do sleep 0.05; done; exit 0",
        id = id_file.display(),
        pid = pid_file.display()
    );
    let started = Instant::now();
    let child = cli
        .command(&[
            "lock", "hold", "-m", "102", "--grace", "15", "--", "sh", "-c", &script,
        ])
        .spawn()
        .unwrap();
    let lock_id = read_lock_id(&id_file).await;
    let leftover = read_pid(&pid_file).await;
    tokio::time::sleep(ttl + Duration::from_secs(1)).await;
    if !process_running(leftover) {
        let out = child.wait_with_output().await.unwrap();
        panic!(
            "the leftover is gone early: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        lock_is_live(&server, &lock_id).await,
        "the lock ran out while a leftover ran"
    );
    assert!(!module_is_free(&server).await);
    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(0);
    assert!(started.elapsed() >= Duration::from_secs(15));
    assert!(!process_running(leftover));
    assert!(module_is_free(&server).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_granted_after_its_lifetime_never_starts_the_command() {
    // Answers take 4 s, the lock lives 3 s from the request: it is dead on arrival.
    let server = spawn_server_with(|config| {
        config.lock_ttl = TTL;
        config.faults.latency = Duration::from_secs(4);
    })
    .await;
    let cli = cli_for(&server);
    let marker = cli.dir.path().join("ran");
    let script = format!("touch '{}'", marker.display());
    let run = cli
        .run(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
        .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("was not started"), "{}", run.stderr);
    assert!(!marker.exists(), "COMMAND ran without a lock");
}

/// In a terminal COMMAND is in the foreground: it reads what is typed, and Ctrl-Z stops it and
/// koobackup with it, until both are continued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_terminal_the_command_reads_it_and_ctrl_z_stops_both() {
    use crate::support::pty::Tui;
    let server = spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (base_url, dir_path) = (server.base_url(), dir.path().to_path_buf());
    tokio::task::spawn_blocking(move || {
        let script = "echo ready; read first; echo \"got $first\"; read second; echo \"then $second\"";
        let args = [
            "--user-id",
            ALICE.0,
            "lock",
            "hold",
            "-m",
            "101",
            "--",
            "sh",
            "-c",
            script,
        ];
        let mut tui = Tui::start_as(&base_url, &dir_path, &args, &[]);
        tui.wait_text("ready");
        tui.send("hello\r");
        tui.wait_text("got hello");
        // Ctrl-Z reaches COMMAND's group; koobackup sees it stopped and stops too.
        tui.send("\u{1a}");
        let pid = tui.pid() as i32;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(stat_state(pid).as_deref(), Some("T")) {
            assert!(
                Instant::now() < deadline,
                "koobackup did not stop with its command"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // What `fg` does: continue koobackup, which gives the terminal back to COMMAND.
        // SAFETY: a signal to the process under test.
        unsafe {
            libc::kill(pid, libc::SIGCONT);
        }
        tui.send("again\r");
        tui.wait_text("then again");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
    })
    .await
    .unwrap();
}

fn stat_state(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().next().map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suspend_longer_than_the_lock_ends_the_command_with_4_even_if_the_server_renews() {
    // 6-second locks. The machine sleeps 8 s: koobackup's wall clock jumps (faketime, with the
    // monotonic clock left alone, as a suspend leaves it) and so does the server's. The lapsed
    // lock can still be renewed (its old expiry plus 6 s is ahead), but it was not held in
    // between: COMMAND is stopped and the exit is 4.
    let server = spawn_server_with(|config| config.lock_ttl = Duration::from_secs(6)).await;
    let clock = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(clock.path(), "+0").unwrap();
    let cli = Cli::for_server(&server.base_url())
        .env("KOOBACKUP_LOCK_TTL_SECS", "6")
        .env("LD_PRELOAD", crate::support::faketime())
        .env("FAKETIME_TIMESTAMP_FILE", clock.path().to_str().unwrap())
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let id_file = cli.dir.path().join("lock-id");
    // COMMAND sleeps on the real clock: only koobackup's clock jumps (under faketime, a sleep
    // of COMMAND's own could end early when the fake time moves, and COMMAND exit 0 first).
    let script = format!(
        "echo \"$KOOBACKUP_LOCK_ID\" > '{}'; env -u LD_PRELOAD sleep 60",
        id_file.display()
    );
    let child = cli
        .command(&[
            "lock", "hold", "--grace", "1", "--json", "-m", "102", "--", "sh", "-c", &script,
        ])
        .spawn()
        .unwrap();
    let lock_id = read_lock_id(&id_file).await;
    std::fs::write(clock.path(), "+8s").unwrap();
    server.server.set_faults(koobackup::server::Faults {
        clock_offset: chrono::Duration::seconds(8),
        ..koobackup::server::Faults::default()
    });
    let started = Instant::now();
    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(4);
    assert!(started.elapsed() < Duration::from_secs(20), "the command ran on");
    assert!(run.stderr.contains("suspended"), "{}", run.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(run.stdout.lines().last().unwrap_or_default()).expect("one JSON summary");
    assert_eq!(summary["lockId"], lock_id.as_str());
    assert_eq!(summary["lockHeld"], false, "{summary}");
    assert_eq!(summary["exitCode"], 4);
    assert!(summary["unprotectedFrom"].is_string(), "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_koobackup_cannot_let_the_command_run_past_the_lock() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let dir = cli.dir.path();
    let (id_file, ticks) = (dir.join("lock-id"), dir.join("ticks"));
    // The command writes the time (ns) ten times a second for as long as it runs.
    let script = format!(
        "echo \"$KOOBACKUP_LOCK_ID\" > '{}'; while :; do date +%s%N > '{}'; sleep 0.1; done",
        id_file.display(),
        ticks.display()
    );
    let child = cli
        .command(&[
            "lock", "hold", "--grace", "1", "-m", "102", "--", "sh", "-c", &script,
        ])
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id().unwrap()).unwrap();
    read_lock_id(&id_file).await;
    // Everything about COMMAND is in place once the journal names its group.
    cli.wait_for_command_group().await;
    // A debugger, a freezer, `kill -STOP`: koobackup stops, and with it every renewal.
    // SAFETY: a signal to the process under test.
    unsafe {
        libc::kill(pid, libc::SIGSTOP);
    }
    let stopped_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    // The command stops ticking once the watchdog outside koobackup ends it.
    let last_tick = || -> Duration {
        let text = std::fs::read_to_string(&ticks).unwrap_or_default();
        Duration::from_nanos(text.trim().parse().unwrap_or(0))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = last_tick();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(1) {
        assert!(Instant::now() < deadline, "the command kept running");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = last_tick();
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    // The lock lives 3 s from its last renewal (at most 3 s before the stop), then 1 s of
    // grace: the command never runs more than that after the stop (plus a tick's slack).
    let ran_on = last.saturating_sub(stopped_at);
    assert!(
        ran_on <= TTL + Duration::from_millis(1_500),
        "the command ran {ran_on:?} after koobackup stopped"
    );
    // SAFETY: as above.
    unsafe {
        libc::kill(pid, libc::SIGCONT);
    }
    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(4);
    assert!(run.stderr.contains("expired at"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_takes_the_module_once_the_other_operation_is_done() {
    let server = short_lock_server().await;
    let cli = cli_for(&server);
    let marker = cli.dir.path().join("first-done");
    let script = format!("sleep 2; touch '{}'", marker.display());
    let first = cli
        .command(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    cli.wait_for_owner("hold").await;

    // Without --wait: refused at once, naming the holder and the way to wait.
    let refused = cli.run(&["lock", "hold", "-m", "102", "--", "true"]).await;
    refused.code(4);
    assert!(
        refused.stderr.contains("`lock hold` of `sh -c") && refused.stderr.contains("--wait"),
        "{}",
        refused.stderr
    );
    // With it: waits, saying for whom, and runs once the first is done.
    let check = format!("test -e '{}'", marker.display());
    let waited = cli
        .run(&[
            "lock", "hold", "--wait", "30s", "-m", "102", "--", "sh", "-c", &check,
        ])
        .await;
    waited.ok();
    assert!(waited.stderr.contains("waiting up to"), "{}", waited.stderr);
    Run::new(&["first hold"], first.wait_with_output().await.unwrap()).ok();
    // `lock create --wait` gives up after its time.
    let blocker = cli.run(&["lock", "create", "-m", "101", "-q"]).await;
    blocker.ok();
    let gave_up = cli.run(&["lock", "create", "-m", "101", "--wait", "1s"]).await;
    gave_up.code(4);
    assert!(gave_up.stderr.contains("gave up waiting"), "{}", gave_up.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_tells_the_commands_own_4_from_a_lost_lock() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let run = cli
        .run(&["lock", "hold", "--json", "-m", "100", "--", "sh", "-c", "exit 4"])
        .await;
    run.code(4);
    let summary: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one summary line");
    assert_eq!(summary["lockHeld"], true, "{summary}");
    assert_eq!(summary["commandExit"], 4);
    assert_eq!(summary["exitCode"], 4);
    assert!(summary["unprotectedFrom"].is_null());
    let help = cli.run(&["lock", "hold", "--help"]).await;
    assert!(help.ok().stdout.contains("lockHeld"), "{}", help.stdout);
}
