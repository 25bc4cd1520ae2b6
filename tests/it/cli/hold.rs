//! `koobackup lock hold`: the lock outlives its lifetime while the command runs, is exported to
//! the command, is released when it ends (also on a signal), and the exit code is the command's.
//! The server uses 3-second locks, so the binary renews every second.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::cli::{Cli, Run};
use crate::support::{ALICE, PREFIX, TestServer, spawn_server_with};

const TTL: Duration = Duration::from_secs(3);

async fn short_lock_server() -> TestServer {
    spawn_server_with(|config| config.lock_ttl = TTL).await
}

fn cli_for(server: &TestServer) -> Cli {
    Cli::for_server(&server.base_url()).env("KOOBACKUP_LOCK_TTL_SECS", &TTL.as_secs().to_string())
}

/// Waits until the child has written its lock id to `path`.
async fn read_lock_id(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text.trim().to_owned();
        }
        assert!(Instant::now() < deadline, "the command never wrote its lock id");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
        "echo \"$KOOBACKUP_LOCK_ID\" > '{}'; exec sleep 30",
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
        started.elapsed() < Duration::from_secs(10),
        "the command was not stopped"
    );
    assert!(cli.journal_ids().is_empty());
}
