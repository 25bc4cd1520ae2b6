//! Fault soak: the real binary against a local server that adds 300 ms to every answer and fails
//! 30% of requests with 500 / 500001, with short-lived locks.
//!
//! - `lock hold` keeps its lock live through four lifetimes while records are created under it;
//!   after the app is killed with SIGKILL the journal still names the lock and a fresh
//!   `lock list` shows it.
//! - `cleanup --yes` reports exactly which deletes failed: every record it calls deleted is gone,
//!   every record it reports failed (or never reached) is still there, and repeated runs finish
//!   the job without touching anything else.
//!
//! Each test prints its figures: requests, injected faults, records created and deleted, lost.
//! The same soak for the TUI's auto-renew is in `tui_fault_soak.rs`.

use crate::support;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::cli::{Cli, Run};
use crate::support::{ALICE, PREFIX, TestServer, record_ids, server_time_left_ms, spawn_server_with};
use koobackup::server::Faults;
use serde_json::{Value, json};

/// Lock lifetime for the `lock hold` and clean-up soaks. A lock is renewed every third of its
/// lifetime and a failed renewal retried after a quarter of that; a renewal call that meets
/// three injected failures in a row (2.7%) spends about 1.5 s in 300 ms answers and backoff.
/// With 3-second locks that alone can let the lock lapse for a moment before the late renewal
/// revives it; with 6-second locks the lock only lapses after three such calls in a row (2e-5 per
/// renewal), which is what a lock with hundreds of seconds of margin faces on a real server.
const HOLD_TTL: Duration = Duration::from_secs(6);

fn faults() -> Faults {
    Faults {
        latency: Duration::from_millis(300),
        error_rate: 0.3,
        ..Faults::default()
    }
}

fn cli_for(server: &TestServer, ttl: Duration) -> Cli {
    Cli::for_server(&server.base_url()).env("KOOBACKUP_LOCK_TTL_SECS", &ttl.as_secs().to_string())
}

/// Sends `req` until it gets an answer that is not an injected 500 (at most 30 tries). The
/// error-rate fault answers before the request is served, so repeating is safe even for a create.
async fn through_faults(req: support::Req) -> support::Resp {
    for _ in 0..30 {
        let resp = req.clone().send().await;
        if resp.status != 500 {
            return resp;
        }
    }
    panic!("30 injected failures in a row")
}

/// Starts `lock hold` until the lock is taken: creating a lock is not retried by the client
/// (a lost answer could hide a lock), so an injected failure ends the attempt with exit 7 and
/// the operator runs it again. Returns the process, the lock id and the number of attempts.
async fn hold_until_taken(
    cli: &Cli,
    module: &str,
    script: &str,
    id_file: &Path,
) -> (tokio::process::Child, String, u32) {
    for attempt in 1..=20 {
        let mut child = cli
            .command(&["lock", "hold", "--module", module, "--", "sh", "-c", script])
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(id_file)
                && text.ends_with('\n')
            {
                return (child, text.trim().to_owned(), attempt);
            }
            if let Some(status) = child.try_wait().unwrap() {
                let output = child.wait_with_output().await.unwrap();
                let run = Run::new(&["lock hold"], output);
                assert_eq!(status.code(), Some(7), "lock hold failed otherwise: {run:?}");
                assert!(run.stderr.contains("500001"), "{run:?}");
                break;
            }
            assert!(Instant::now() < deadline, "lock hold neither started nor failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("20 attempts of lock hold all met an injected failure")
}

fn sigkill(pid: u32) {
    // SAFETY: kill(2) on a process this test started.
    let sent = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    assert_eq!(sent, 0, "SIGKILL {pid}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_lock_stays_live_under_faults_and_survives_a_sigkill_in_the_journal() {
    let server = spawn_server_with(|c| {
        c.lock_ttl = HOLD_TTL;
        c.faults = faults();
    })
    .await;
    let cli = cli_for(&server, HOLD_TTL);
    let id_file = cli.dir.path().join("lock-id");
    let pid_file = cli.dir.path().join("command-pid");
    let script = format!(
        "echo $$ > '{}'; echo \"$KOOBACKUP_LOCK_ID\" > '{}'; exec sleep 120",
        pid_file.display(),
        id_file.display()
    );
    let (hold, lock_id, attempts) = hold_until_taken(&cli, "102", &script, &id_file).await;
    let taken = Instant::now();

    // Four lifetimes: without renewals the lock would have expired three times over.
    let soak = HOLD_TTL * 4;
    let mut checks = 0;
    let mut least_left = i64::MAX;
    let mut created = Vec::new();
    let mut last_create = Instant::now();
    while taken.elapsed() < soak {
        let left = server_time_left_ms(&server.db_path, &lock_id).expect("the lock vanished");
        assert!(
            left > 0,
            "the lock expired {} ms ago at {:?}",
            -left,
            taken.elapsed()
        );
        least_left = least_left.min(left);
        checks += 1;
        // About once a second the lock does its job: a record is created under it.
        if last_create.elapsed() >= Duration::from_secs(1) {
            last_create = Instant::now();
            let record = through_faults(
                server
                    .req("POST", &format!("{PREFIX}/record"))
                    .lock(&lock_id)
                    .json(json!({"moduleCode": "102", "deviceId": "soak"})),
            )
            .await;
            record.expect_ok();
            created.push(record.body["data"]["recordId"].as_str().unwrap().to_owned());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stored = record_ids(&server.db_path, "102");
    assert!(
        created.iter().all(|id| stored.contains(id)),
        "a record created under the lock is missing"
    );

    // Kill the app without warning (and its command, which would otherwise sleep on).
    sigkill(hold.id().expect("hold pid"));
    let command_pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    sigkill(command_pid);
    let killed = hold.wait_with_output().await.unwrap();
    assert!(!killed.status.success());

    assert_eq!(
        cli.journal_ids(),
        vec![lock_id.clone()],
        "the journal lost the lock"
    );
    let listed = cli.run(&["lock", "list", "--json"]).await.ok().json();
    let ids: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|l| l["lockId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![lock_id.as_str()],
        "a restarted lock list must show the lock"
    );
    assert!(
        server_time_left_ms(&server.db_path, &lock_id).is_some(),
        "nobody released it"
    );

    // The operator releases it from the journal; release is retried by the client, and rerun if
    // even the retries met faults.
    let mut releases = 0;
    loop {
        releases += 1;
        let run = cli.run(&["lock", "release", &lock_id]).await;
        if run.code == 0 {
            break;
        }
        assert_eq!(run.code, 7, "{run:?}");
        assert!(releases < 10, "release kept failing");
    }
    assert!(cli.journal_ids().is_empty());
    assert!(server_time_left_ms(&server.db_path, &lock_id).is_none());

    let stats = server.server.stats();
    println!(
        "fault soak, lock hold: {} requests, {} delayed 300 ms, {} injected 500s; lock held {:.1} s \
         (TTL {} s) after {attempts} start attempt(s), {checks} server checks, least time left {} ms; \
         {} records created under it, all stored; SIGKILL kept the lock in the journal; lost: nothing",
        stats.requests,
        stats.delayed,
        stats.injected_errors,
        taken.elapsed().as_secs_f32(),
        HOLD_TTL.as_secs(),
        least_left,
        created.len(),
    );
    assert!(stats.injected_errors > 0, "the soak met no fault");
}

/// One `cleanup --yes --json` run, checked against the database: returns the ids reported
/// deleted and failed.
async fn cleanup_round(cli: &Cli, server: &TestServer, round: u32) -> (BTreeSet<String>, BTreeSet<String>) {
    let before = record_ids(&server.db_path, "100");
    let run = cli
        .run(&["cleanup", "--yes", "--older-than", "30m", "-m", "100", "--json"])
        .await;
    let report = run.json();
    let after = record_ids(&server.db_path, "100");
    let mut deleted = BTreeSet::new();
    let mut failed = BTreeSet::new();
    for candidate in report["candidates"].as_array().expect("candidates") {
        let id = candidate["record"]["recordId"].as_str().unwrap().to_owned();
        if candidate["deleted"] == Value::Bool(true) {
            assert!(candidate.get("error").is_none(), "{candidate}");
            assert!(
                !after.contains(&id),
                "round {round}: {id} reported deleted but still exists"
            );
            deleted.insert(id);
        } else {
            match candidate["outcome"].as_str() {
                Some("failed") => {
                    let error = candidate["error"]
                        .as_str()
                        .unwrap_or_else(|| panic!("no error for {candidate}"));
                    assert_eq!(candidate["apiCode"], 500001, "round {round}: {id}: {error}");
                    assert!(!error.contains("500001"), "the code is apiCode's alone: {error}");
                }
                // The lock could not be kept renewed through the faults: the rest were not sent.
                Some("not-attempted") => {}
                other => panic!("round {round}: {id}: unexpected outcome {other:?} in {candidate}"),
            }
            assert!(
                after.contains(&id),
                "round {round}: {id} reported not deleted but is gone"
            );
            failed.insert(id);
        }
    }
    // Nothing disappeared without being reported; what was not reached is still there, and the
    // run says why it stopped.
    let gone: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(
        gone, deleted,
        "round {round}: reported deletions differ from the real ones"
    );
    let unreached: Vec<&String> = after.iter().filter(|id| !failed.contains(*id)).collect();
    let skipped = report["skippedModules"].as_array().expect("skippedModules");
    if !unreached.is_empty() {
        assert!(
            !skipped.is_empty(),
            "round {round}: {} records neither deleted nor reported",
            unreached.len()
        );
    }
    let clean = failed.is_empty() && skipped.is_empty();
    assert_eq!(
        run.code == 0,
        clean,
        "round {round}: exit code {} for {report}",
        run.code
    );
    (deleted, failed)
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_delete_under_faults_reports_exactly_what_failed() {
    const RECORDS: usize = 40;
    let server = spawn_server_with(|c| c.lock_ttl = HOLD_TTL).await;
    // Seeded without faults, an hour ago on the server's clock (which stamps them): 40 abandoned
    // records in module 100, and completed records in 101 that no clean-up may touch.
    server.server.set_faults(Faults {
        clock_offset: chrono::Duration::hours(-1),
        ..Faults::default()
    });
    let lock = server.lock(ALICE, "100").await;
    for n in 0..RECORDS {
        server
            .record(ALICE, &lock, "100", &format!("device-{}", n % 4))
            .await;
    }
    let other = server.lock(ALICE, "101").await;
    for n in 0..5 {
        let record = server.record(ALICE, &other, "101", &format!("album-{n}")).await;
        let id = record["recordId"].as_str().unwrap();
        server
            .req_on_server_clock("PATCH", &format!("{PREFIX}/record/{id}"))
            .lock(&other)
            .send()
            .await
            .expect_ok();
    }
    for lock in [&lock, &other] {
        server
            .req_on_server_clock("DELETE", &format!("{PREFIX}/lock"))
            .lock(lock)
            .send()
            .await
            .expect_ok();
    }
    let untouched = record_ids(&server.db_path, "101");
    let created = record_ids(&server.db_path, "100");
    assert_eq!(created.len(), RECORDS);

    // The server's clock put right: the records are an hour old, abandoned. Now the faults.
    server.server.set_faults(faults());
    let cli = cli_for(&server, HOLD_TTL);
    let started = Instant::now();
    let (mut deleted, mut failures, mut rounds) = (BTreeSet::new(), 0, 0);
    while !record_ids(&server.db_path, "100").is_empty() {
        rounds += 1;
        assert!(rounds <= 20, "clean-up did not finish in 20 runs");
        let (round_deleted, round_failed) = cleanup_round(&cli, &server, rounds).await;
        assert!(deleted.is_disjoint(&round_deleted), "a record was deleted twice");
        failures += round_failed.len();
        deleted.extend(round_deleted);
    }
    assert_eq!(
        deleted, created,
        "every record was deleted exactly once, by a reported delete"
    );
    assert_eq!(
        record_ids(&server.db_path, "101"),
        untouched,
        "records outside the clean-up changed"
    );
    server.server.set_faults(Faults::default());
    let left = cli.run(&["cleanup", "-m", "100", "--json"]).await.ok().json();
    assert_eq!(left["candidates"], json!([]));

    let stats = server.server.stats();
    println!(
        "fault soak, bulk delete: {} requests, {} delayed 300 ms, {} injected 500s; {RECORDS} records \
         created, {} deleted over {rounds} cleanup runs in {:.1} s, {failures} failed deletes reported \
         and retried, {} untouched records unchanged; lost or wrongly deleted: 0",
        stats.requests,
        stats.delayed,
        stats.injected_errors,
        deleted.len(),
        started.elapsed().as_secs_f32(),
        untouched.len(),
    );
}
