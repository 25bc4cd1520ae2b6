//! Pings and hooks through the real binary: `lock hold --ping` and `status --ping` against a
//! loopback receiver (one that answers, one that fails, one that never answers), and the
//! profile's hooks (`lock-lost`, `hold-failed`, `status-critical`, `cleanup-done`) given their
//! event on stdin and in variables, never a secret.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::cli::{Cli, Run};
use crate::support::fake::{Fake, Reply, Seen};
use crate::support::{ALICE, PREFIX, TestServer, spawn_server, spawn_server_with};

/// A receiver that answers every ping 200.
async fn receiver() -> Fake {
    Fake::start(|_| Reply::ok(Value::Null)).await
}

/// The pings `fake` received: (path, body).
fn pings(fake: &Fake) -> Vec<(String, String)> {
    fake.seen()
        .into_iter()
        .map(
            |Seen {
                 method, path, body, ..
             }| {
                assert_eq!(method, "POST", "pings are POSTs");
                (path, body)
            },
        )
        .collect()
}

/// A receiver that accepts connections and never answers.
async fn silent_receiver() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// A profile for `server` as alice whose hooks write their event (stdin) to `DIR/EVENT.json` and
/// their environment to `DIR/EVENT.env`.
fn with_hooks(server: &TestServer, extra: &str) -> Cli {
    let cli = Cli::isolated().env("PROFILE_TOKEN", ALICE.1);
    let dir = cli.dir.path().join("hooks");
    std::fs::create_dir_all(&dir).unwrap();
    let hook = |event: &str| {
        format!(
            "{event} = \"cat > '{0}/{event}.json'; env > '{0}/{event}.env'\"\n",
            dir.display()
        )
    };
    cli.write_config(&format!(
        "default_profile = \"p\"\n[profiles.p]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
         token = {{ env = \"PROFILE_TOKEN\" }}\n{extra}\n[profiles.p.hooks]\n{}{}{}{}",
        server.base_url(),
        hook("lock-lost"),
        hook("hold-failed"),
        hook("status-critical"),
        hook("cleanup-done"),
    ));
    cli
}

/// The event the hook of `event` was given, and its environment; `None` if it did not run.
fn hook_ran(cli: &Cli, event: &str) -> Option<(Value, String)> {
    let dir = cli.dir.path().join("hooks");
    let doc = std::fs::read_to_string(dir.join(format!("{event}.json"))).ok()?;
    let env = std::fs::read_to_string(dir.join(format!("{event}.env"))).unwrap_or_default();
    assert!(
        !doc.contains(ALICE.1) && !env.contains(ALICE.1),
        "a hook saw the token"
    );
    Some((serde_json::from_str(&doc).expect("the event is JSON"), env))
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_hold_pings_start_then_the_commands_exit_with_its_last_lines() {
    let server = spawn_server().await;
    let fake = receiver().await;
    let url = format!("{}/ping/check-7", fake.base_url);
    let cli = Cli::for_server(&server.base_url());
    // COMMAND prints the token it inherited: its business, but the ping carries no secret. (Run
    // itself refuses output with the token, so this run is read by hand.)
    let script = "echo one >&2; echo \"token? $KOOBACKUP_TOKEN\" >&2; echo oops >&2; exit 3";
    let output = cli
        .command(&[
            "lock", "hold", "-m", "102", "--ping", &url, "--", "sh", "-c", script,
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    // Teed: the user still sees all of COMMAND's stderr.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("one\ntoken? alice-token\noops\n"), "{stderr}");
    let seen = pings(&fake);
    let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/ping/check-7/start", "/ping/check-7/3"]);
    let body = &seen[1].1;
    assert!(body.starts_with("one\ntoken? <redacted>\noops\n"), "{body}");
    assert!(
        body.contains("koobackup lock hold: exit 3; COMMAND exited 3"),
        "{body}"
    );

    let run = cli
        .run(&["lock", "hold", "-m", "102", "--ping", &url, "--", "true"])
        .await;
    run.ok();
    let paths: Vec<String> = pings(&fake).into_iter().skip(2).map(|(p, _)| p).collect();
    assert_eq!(paths, ["/ping/check-7/start", "/ping/check-7"]);

    // A module held elsewhere: COMMAND never runs, the ping says fail (and no start).
    cli.run(&["lock", "create", "-m", "101"]).await.ok();
    let run = cli
        .run(&["lock", "hold", "-m", "101", "--ping", &url, "--", "true"])
        .await;
    run.code(4);
    let last = pings(&fake).pop().unwrap();
    assert_eq!(last.0, "/ping/check-7/fail");
    assert!(last.1.contains("koobackup lock hold: exit 4"), "{}", last.1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ping_that_fails_or_hangs_changes_nothing_and_a_bad_url_starts_nothing() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let failing = Fake::start(|_| Reply::error(500, json!(1), "down")).await;
    let run = cli
        .run(&[
            "lock",
            "hold",
            "-m",
            "102",
            "--ping",
            &format!("{}/p/secret-uuid", failing.base_url),
            "--",
            "sh",
            "-c",
            "exit 0",
        ])
        .await;
    run.ok();
    assert!(
        run.stderr.contains("the ping to 127.0.0.1 failed (HTTP 500"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("secret-uuid"),
        "the ping URL's key is never printed"
    );
    assert!(cli.journal_ids().is_empty(), "the lock was released all the same");

    let (silent, _task) = silent_receiver().await;
    let started = Instant::now();
    let run = cli
        .run(&[
            "lock",
            "hold",
            "-m",
            "102",
            "--ping",
            &format!("{silent}/p"),
            "--ping-timeout",
            "1",
            "--",
            "sh",
            "-c",
            "exit 5",
        ])
        .await;
    run.code(5);
    // Two pings (start, end), each within its one-second budget: nowhere near a hang.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(run.stderr.contains("no answer within 1 s"), "{}", run.stderr);

    let run = cli
        .run(&[
            "lock",
            "hold",
            "-m",
            "102",
            "--ping",
            "hc-ping.com/secret-uuid",
            "--",
            "touch",
            "never",
        ])
        .await;
    run.code(2);
    assert!(!run.stderr.contains("secret-uuid"), "{}", run.stderr);
    assert!(!cli.dir.path().join("never").exists());
    assert!(cli.journal_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_lock_pings_fail_and_runs_the_lock_lost_and_hold_failed_hooks() {
    let server = spawn_server_with(|config| config.lock_ttl = Duration::from_secs(3)).await;
    let fake = receiver().await;
    let cli = with_hooks(&server, "lock_ttl_secs = 3");
    let id_file = cli.dir.path().join("lock-id");
    let script = format!(
        "echo \"$KOOBACKUP_LOCK_ID\" > '{}'; exec sleep 120",
        id_file.display()
    );
    let child = cli
        .command(&[
            "lock",
            "hold",
            "-m",
            "102",
            "--ping",
            &format!("{}/hc", fake.base_url),
            "--",
            "sh",
            "-c",
            &script,
        ])
        .spawn()
        .unwrap();
    let lock_id = super::hold::read_lock_id(&id_file).await;
    server
        .req("DELETE", &format!("{PREFIX}/lock"))
        .lock(&lock_id)
        .send()
        .await
        .expect_ok();
    let run = Run::new(&["lock hold"], child.wait_with_output().await.unwrap());
    run.code(4);
    let paths: Vec<String> = pings(&fake).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["/hc/start", "/hc/fail"]);
    let (lost, env) = hook_ran(&cli, "lock-lost").expect("the lock-lost hook ran");
    assert_eq!(lost["event"], "lock-lost");
    assert_eq!(lost["lockId"], lock_id.as_str());
    assert_eq!(lost["userId"], "alice");
    assert_eq!(lost["moduleCode"], "102");
    assert!(env.contains("KOOBACKUP_EVENT=lock-lost\n"), "{env}");
    assert!(
        env.contains(&format!("KOOBACKUP_EVENT_LOCK_ID={lock_id}\n")),
        "{env}"
    );
    assert!(
        !env.contains("PROFILE_TOKEN="),
        "the credential's variable is kept from hooks"
    );
    let (failed, _) = hook_ran(&cli, "hold-failed").expect("the hold-failed hook ran");
    assert_eq!(
        (failed["exitCode"].as_i64(), failed["lockHeld"].as_bool()),
        (Some(4), Some(false))
    );
    assert!(failed["command"].as_str().unwrap().starts_with("sh -c"));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_pings_success_or_fail_and_a_stale_backup_runs_the_status_critical_hook() {
    let server = spawn_server().await;
    super::status::fleet(&server).await;
    let fake = receiver().await;
    let url = format!("{}/hc/status", fake.base_url);
    let cli = with_hooks(&server, "");
    cli.run(&["status", "--device", "PIXEL_NOW", "--ping", &url])
        .await
        .code(0);
    assert!(
        hook_ran(&cli, "status-critical").is_none(),
        "no hook when nothing is stale"
    );
    cli.run(&["status", "--device", "IPAD_LATE", "--ping", &url])
        .await
        .code(1);
    cli.run(&["status", "--ping", &url]).await.code(2);
    let seen = pings(&fake);
    let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/hc/status", "/hc/status/fail", "/hc/status/fail"]);
    assert!(seen[0].1.starts_with("KOOBACKUP OK - "), "{}", seen[0].1);
    assert!(seen[2].1.starts_with("KOOBACKUP CRITICAL - ") && seen[2].1.contains("\nCRITICAL: Home NAS"));
    let (event, env) = hook_ran(&cli, "status-critical").expect("the status-critical hook ran");
    assert_eq!(event["state"], "CRITICAL");
    assert_eq!(event["critical"][0]["machineCode"], "NAS_STALE");
    assert!(env.contains("KOOBACKUP_EVENT_STATE=CRITICAL\n"), "{env}");
    assert!(env.contains("KOOBACKUP_EVENT_EXIT_CODE=2\n"), "{env}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_runs_the_cleanup_done_hook_after_deleting() {
    let server = spawn_server().await;
    let cli = with_hooks(&server, "");
    // An abandoned backup: still new two days after it began.
    crate::support::old_records(&server, "102", 1).await;
    cli.run(&["cleanup"]).await.ok();
    assert!(
        hook_ran(&cli, "cleanup-done").is_none(),
        "a dry run deletes nothing: no hook"
    );
    cli.run(&["cleanup", "--yes"]).await.ok();
    let (event, _) = hook_ran(&cli, "cleanup-done").expect("the cleanup-done hook ran");
    assert_eq!(
        (event["deleted"].as_i64(), event["exitCode"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(event["outcomes"]["deleted"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_that_fails_or_runs_too_long_is_a_warning_only() {
    let server = spawn_server().await;
    let cli = Cli::isolated().env("PROFILE_TOKEN", ALICE.1);
    cli.write_config(&format!(
        "default_profile = \"p\"\n[profiles.p]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
         token = {{ env = \"PROFILE_TOKEN\" }}\n[profiles.p.hooks]\nhold-failed = \"sleep 30\"\n\
         timeout_secs = 1\n",
        server.base_url()
    ));
    let started = Instant::now();
    let run = cli
        .run(&["lock", "hold", "-m", "102", "--", "sh", "-c", "exit 9"])
        .await;
    run.code(9);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(
        run.stderr
            .contains("the hold-failed hook did not succeed (stopped after its time limit of 1 s)"),
        "{}",
        run.stderr
    );
    let check = cli.run(&["config", "check"]).await;
    assert!(
        check.stdout.contains("hold-failed (time limit 1 s)"),
        "{}",
        check.stdout
    );
}
