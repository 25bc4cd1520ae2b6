//! A lock belongs to one operation (issue 22), through the real binary against the real server:
//! no command borrows another operation's lock from the journal, a clean-up re-reads what it
//! deletes, long deletes keep their lock renewed, a clock running ahead forgets nothing, an
//! interrupted clean-up never blocks the next backup, and what is said is true (a full disk, a
//! journal restored from an older copy, two deletes of the same records).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use crate::support::cli::{Cli, Run};
use crate::support::disk::SmallDisk;
use crate::support::{
    TestServer, old_records, record_ids, spawn_server, spawn_server_with, until_fewer, wait_until,
};
use koobackup::server::Faults;

fn latency(server: &TestServer, ms: u64) {
    server.server.set_faults(Faults {
        latency: Duration::from_millis(ms),
        ..Faults::default()
    });
}

async fn finish(child: tokio::process::Child, what: &str) -> Run {
    Run::new(&[what], child.wait_with_output().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_complete_never_borrows_a_running_clean_ups_lock_and_the_clean_up_keeps_what_changed() {
    let server = spawn_server().await;
    let ids = old_records(&server, "102", 60).await;
    // The oldest record is listed (and so deleted) last: time for what follows.
    let target = ids[0].clone();
    latency(&server, 250);
    let cli = Cli::for_server(&server.base_url());
    let cleanup = cli
        .command(&["cleanup", "-m", "102", "--older-than", "1s", "--yes", "--json"])
        .spawn()
        .unwrap();
    let cleanup_lock = cli.wait_for_owner("cleanup").await;

    // Unnamed, the clean-up's lock is not used: the command says whose it is.
    let plain = cli.run(&["record", "complete", &target]).await;
    plain.code(2);
    assert!(
        plain.stderr.contains(&cleanup_lock) && plain.stderr.contains("a clean-up"),
        "{}",
        plain.stderr
    );
    // --auto-lock wants a lock of its own: the module is held, by the clean-up.
    let auto = cli.run(&["record", "complete", &target, "--auto-lock"]).await;
    auto.code(4);
    assert!(auto.stderr.contains("a clean-up"), "{}", auto.stderr);

    // Named on purpose, it is used (with a warning); the clean-up then finds the record
    // completed and keeps it.
    let named = cli
        .run(&["record", "complete", &target, "--lock", &cleanup_lock])
        .await;
    named.ok();
    assert!(
        named.stderr.contains("using it because it was named"),
        "{}",
        named.stderr
    );
    let report = finish(cleanup, "cleanup").await;
    report.code(4);
    let candidates = report.json()["candidates"].as_array().unwrap().clone();
    let kept = candidates
        .iter()
        .find(|c| c["record"]["recordId"] == target.as_str())
        .expect("the completed record was a candidate");
    assert_eq!(kept["outcome"], "kept-changed", "{kept}");
    assert!(
        kept["outcomeText"]
            .as_str()
            .unwrap()
            .contains("completed meanwhile"),
        "{kept}"
    );
    let left = record_ids(&server.db_path, "102");
    assert_eq!(left, BTreeSet::from([target]), "only the completed one stays");
    assert!(cli.journal_ids().is_empty(), "the clean-up released its lock");
}

#[tokio::test(flavor = "multi_thread")]
async fn record_delete_of_many_keeps_its_lock_renewed() {
    // 3-second locks and 300 ms answers: 60 reads and 60 deletes take longer than a lock lives.
    let server = spawn_server_with(|config| config.lock_ttl = Duration::from_secs(3)).await;
    let ids = old_records(&server, "100", 60).await;
    latency(&server, 300);
    let log = tempfile::NamedTempFile::new().unwrap();
    let cli = Cli::for_server(&server.base_url())
        .env("KOOBACKUP_LOCK_TTL_SECS", "3")
        .env("KOOBACKUP_LOG", log.path().to_str().unwrap());
    let mut args = vec!["record", "delete", "--yes", "--auto-lock", "--json"];
    args.extend(ids.iter().map(String::as_str));
    let run = cli.run(&args).await;
    run.ok();
    assert_eq!(run.json()["ok"].as_array().unwrap().len(), 60, "{}", run.stdout);
    assert!(record_ids(&server.db_path, "100").is_empty());
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        text.contains(r#"method=PATCH path="/lock""#),
        "the lock was never renewed:\n{text}"
    );
    assert!(
        !text.contains("status=409"),
        "a delete met a lapsed lock:\n{text}"
    );
    assert!(cli.journal_ids().is_empty(), "its own lock is released");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clock_running_ahead_forgets_no_live_lock() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let kept = cli.run(&["lock", "create", "-m", "100", "-q"]).await;
    let kept = kept.ok().stdout_trimmed().to_owned();
    let hold = cli
        .command(&["lock", "hold", "-m", "102", "--", "sleep", "30"])
        .spawn()
        .unwrap();
    let held = cli.wait_for_owner("hold").await;

    // Another koobackup whose clock is 25 minutes ahead (another host on a shared home, a
    // clock step) takes a lock of its own.
    let ahead = cli
        .command(&["lock", "create", "-m", "101", "-q"])
        .env("LD_PRELOAD", crate::support::faketime())
        .env("FAKETIME", "+25m")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .output()
        .await
        .unwrap();
    Run::new(&["lock create (clock ahead)"], ahead).ok();
    let ids: BTreeSet<String> = cli.journal_ids().into_iter().collect();
    assert!(
        ids.contains(&kept) && ids.contains(&held),
        "a live lock was forgotten by a clock running ahead: {ids:?}"
    );
    assert_eq!(ids.len(), 3);
    let mut hold = hold;
    hold.start_kill().unwrap();
    let _ = hold.wait().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_up_killed_half_way_does_not_block_the_next_backup() {
    let server = spawn_server().await;
    old_records(&server, "102", 20).await;
    latency(&server, 150);
    let cli = Cli::for_server(&server.base_url());
    let mut cleanup = cli.command(&["cleanup", "-m", "102", "--yes"]).spawn().unwrap();
    cli.wait_for_owner("cleanup").await;
    // Killed once it has deleted some.
    until_fewer(&server, "102", 20).await;
    cleanup.start_kill().unwrap();
    let _ = cleanup.wait().await;
    server.server.set_faults(Faults::default());
    assert_eq!(
        cli.journal_ids().len(),
        1,
        "the dead clean-up's lock is left behind"
    );

    // The next backup finds the module locked by a lock whose process is gone: released, and
    // the backup runs.
    let backup = cli.run(&["lock", "hold", "-m", "102", "--", "true"]).await;
    backup.ok();
    assert!(
        backup.stderr.contains("released the orphaned lock") && backup.stderr.contains("a clean-up"),
        "{}",
        backup.stderr
    );
    assert!(cli.journal_ids().is_empty());
    // `lock list` before that would have shown it as orphaned.
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_list_names_each_owner_and_an_orphan() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    cli.run(&["lock", "create", "-m", "100"]).await.ok();
    cli.run(&["lock", "create", "-m", "101"]).await.ok();
    // A clean-up whose process is gone: its entry names a pid that runs nothing.
    let mut journal: Value =
        serde_json::from_str(&std::fs::read_to_string(cli.journal_path()).unwrap()).unwrap();
    let entry = &mut journal["locks"][1]["owner"];
    entry["purpose"] = serde_json::json!({"kind": "cleanup"});
    entry["pid"] = u32::MAX.into();
    std::fs::write(cli.journal_path(), journal.to_string()).unwrap();

    let list = cli.run(&["lock", "list", "--json"]).await;
    let locks = list.ok().json();
    let states: Vec<&str> = locks
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ownerState"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["kept", "orphaned"], "{locks}");
    let table = cli.run(&["lock", "list", "-o", "wide"]).await;
    assert!(
        table.ok().stdout.contains("orphaned: a clean-up"),
        "{}",
        table.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_on_a_full_disk_is_said_as_done_and_not_listed_again() {
    let server = spawn_server().await;
    let scratch = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&scratch.path().join("small"));
    let journal = disk.dir.join("locks.json");
    let cli = Cli::for_server(&server.base_url()).env("KOOBACKUP_JOURNAL", journal.to_str().unwrap());
    let first = cli.run(&["lock", "create", "-m", "100", "-q"]).await;
    let first = first.ok().stdout_trimmed().to_owned();
    let second = cli.run(&["lock", "create", "-m", "101", "-q"]).await;
    let second = second.ok().stdout_trimmed().to_owned();
    disk.fill();

    let release = cli.run(&["lock", "release", &first]).await;
    release.ok();
    assert!(release.stdout.contains("released"), "{}", release.stdout);
    let listed = cli.run(&["lock", "list", "-q"]).await;
    assert_eq!(
        listed.ok().stdout_trimmed(),
        second,
        "the released lock is not shown as held"
    );

    // A change that must grow the file cannot be written: said, and the lock is not left
    // behind unjournalled.
    let grow = cli.run(&["lock", "create", "-m", "102"]).await;
    grow.code(1);
    assert!(
        grow.stderr.contains("not journalled") && grow.stderr.contains("released again"),
        "{}",
        grow.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_journal_restored_from_an_older_copy_heals_at_the_next_renewal() {
    let server = spawn_server_with(|config| config.lock_ttl = Duration::from_secs(3)).await;
    let cli = Cli::for_server(&server.base_url()).env("KOOBACKUP_LOCK_TTL_SECS", "3");
    let old = cli.run(&["lock", "create", "-m", "102", "-q"]).await;
    let old = old.ok().stdout_trimmed().to_owned();
    let copy = std::fs::read(cli.journal_path()).unwrap();
    cli.run(&["lock", "release", &old]).await.ok();

    let hold = cli
        .command(&["lock", "hold", "-m", "102", "--", "sleep", "20"])
        .spawn()
        .unwrap();
    let held = cli.wait_for_owner("hold").await;
    // The hold's last write at its start names COMMAND's group; an older copy restored before
    // it would be overwritten by it, not healed.
    cli.wait_for_command_group().await;
    // The older copy comes back: it lists the released lock, not the held one.
    std::fs::write(cli.journal_path(), &copy).unwrap();
    assert_eq!(cli.journal_ids(), std::slice::from_ref(&old));
    // The hold re-asserts its entry at its next renewal (every 1.5 s here).
    let healed = cli.wait_for_owner("hold").await;
    assert_eq!(healed, held);

    // A conflict now points at the lock that holds the module.
    let conflict = cli.run(&["lock", "create", "-m", "102"]).await;
    conflict.code(4);
    assert!(
        conflict.stderr.contains(&held) && conflict.stderr.contains("`lock hold` of `sleep 20`"),
        "{}",
        conflict.stderr
    );
    let mut hold = hold;
    hold.start_kill().unwrap();
    let _ = hold.wait().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_deletes_of_the_same_records_never_both_claim_one() {
    let server = spawn_server().await;
    let ids = old_records(&server, "101", 30).await;
    let cli = Cli::for_server(&server.base_url());
    let lock = cli.run(&["lock", "create", "-m", "101", "-q"]).await;
    let lock = lock.ok().stdout_trimmed().to_owned();
    server.server.set_faults(Faults {
        error_rate: 0.2,
        ..Faults::default()
    });
    let mut args = vec!["record", "delete", "--yes", "--json", "--lock", &lock];
    args.extend(ids.iter().map(String::as_str));
    let first = cli.command(&args).spawn().unwrap();
    let second = cli.command(&args).spawn().unwrap();
    let (first, second) = (finish(first, "delete 1").await, finish(second, "delete 2").await);
    server.server.set_faults(Faults::default());
    let ok = |run: &Run| -> BTreeSet<String> {
        run.json()["ok"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_owned())
            .collect()
    };
    let (a, b) = (ok(&first), ok(&second));
    assert!(
        a.is_disjoint(&b),
        "both claim {:?}",
        a.intersection(&b).collect::<Vec<_>>()
    );
    let left = record_ids(&server.db_path, "101");
    for id in &ids {
        assert!(
            a.contains(id) || b.contains(id) || left.contains(id) || {
                // Gone, reported as gone without a claim.
                let gone = |run: &Run| {
                    run.json()["gone"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|g| g["recordId"] == id.as_str())
                };
                gone(&first) || gone(&second)
            },
            "{id} is neither claimed, nor said gone, nor left"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn release_all_leaves_a_running_backups_lock_alone() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let kept = cli.run(&["lock", "create", "-m", "100", "-q"]).await;
    let kept = kept.ok().stdout_trimmed().to_owned();
    let mut hold = cli
        .command(&["lock", "hold", "-m", "102", "--", "sleep", "30"])
        .spawn()
        .unwrap();
    let held = cli.wait_for_owner("hold").await;
    let all = cli.run(&["lock", "release", "--all"]).await;
    all.ok();
    assert!(
        all.stderr.contains(&format!("skipped lock {held}")) && all.stderr.contains("`lock hold`"),
        "{}",
        all.stderr
    );
    assert_eq!(
        cli.journal_ids(),
        std::slice::from_ref(&held),
        "only the kept one ({kept}) went"
    );
    hold.start_kill().unwrap();
    let _ = hold.wait().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_hold_whose_command_still_runs_is_not_an_orphan() {
    let server = spawn_server_with(|config| config.lock_ttl = Duration::from_secs(4)).await;
    let cli = Cli::for_server(&server.base_url()).env("KOOBACKUP_LOCK_TTL_SECS", "4");
    let marker = cli.dir.path().join("command-ran");
    // COMMAND itself dies with the hold (PR_SET_PDEATHSIG); what it started in its group and
    // that ignores SIGTERM does not: the watchdog, finding the hold gone, sends the group
    // SIGTERM at once and SIGKILL only after the grace.
    let script = format!(
        "(trap '' TERM; exec sleep 60) & echo $$ > {}; wait",
        marker.display()
    );
    let mut hold = cli
        .command(&[
            "lock", "hold", "-m", "100", "--grace", "5s", "--", "sh", "-c", &script,
        ])
        .spawn()
        .unwrap();
    wait_until("COMMAND to start", Duration::from_secs(20), || {
        std::fs::read_to_string(&marker).is_ok_and(|pid| pid.ends_with('\n'))
    })
    .await;
    // The hold journals COMMAND's group once COMMAND runs: COMMAND may write its pid first.
    let group: u32 = std::fs::read_to_string(&marker).unwrap().trim().parse().unwrap();
    assert_eq!(cli.wait_for_command_group().await, group);
    // Its watchdog is journalled too (before COMMAND started), as a process group of its own.
    let watchdog = cli.journal_entries()[0]["owner"]["watchdog"].as_u64();
    let watchdog = u32::try_from(watchdog.expect("the watchdog is journalled")).unwrap();
    assert!(koobackup::process::group_alive(watchdog));
    hold.start_kill().unwrap();
    let _ = hold.wait().await;

    // The hold is gone, its command is not: the lock is in use, not orphaned.
    let list = cli.run(&["lock", "list", "--json"]).await.ok().json();
    assert_eq!(list[0]["ownerState"], "running", "{list}");
    let taken = cli.run(&["lock", "create", "-m", "100"]).await;
    taken.code(4);
    assert!(
        !taken.stderr.contains("released the orphaned"),
        "{}",
        taken.stderr
    );

    // The watchdog kills what is left after the grace; then the lock is an orphan and the next
    // operation releases it.
    wait_until("the watchdog to end COMMAND", Duration::from_secs(20), || {
        !koobackup::process::group_alive(group)
    })
    .await;
    cli.run(&["lock", "create", "-m", "100"]).await.ok();
}

/// `record delete --yes LOCK... --json --concurrency N IDS...`.
fn delete_json<'a>(lock: &[&'a str], concurrency: &'a str, ids: &'a [String]) -> Vec<&'a str> {
    let mut args = vec!["record", "delete", "--yes"];
    args.extend_from_slice(lock);
    args.extend(["--json", "--concurrency", concurrency]);
    args.extend(ids.iter().map(String::as_str));
    args
}

fn send(child: &tokio::process::Child, signal: i32) {
    let pid = libc::pid_t::try_from(child.id().expect("running")).unwrap();
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_record_delete_reports_what_went_and_releases_the_lock() {
    let server = spawn_server().await;
    let ids = old_records(&server, "100", 80).await;
    latency(&server, 100);
    let cli = Cli::for_server(&server.base_url());
    let args = delete_json(&["--auto-lock"], "2", &ids);
    let delete = cli.command(&args).spawn().unwrap();
    until_fewer(&server, "100", 75).await;
    send(&delete, libc::SIGTERM);
    let run = finish(delete, "record delete").await;
    run.code(143);
    assert!(run.stderr.contains("received SIGTERM"), "{}", run.stderr);
    let report = run.json();
    let deleted: BTreeSet<String> = report["ok"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    let left = record_ids(&server.db_path, "100");
    assert!(!deleted.is_empty() && !left.is_empty(), "stopped half-way");
    assert_eq!(deleted.len() + left.len(), 80, "{report}");
    assert!(deleted.is_disjoint(&left), "what is said deleted is gone");
    let not_sent = report["notAttempted"].as_array().unwrap();
    assert_eq!(not_sent.len(), left.len(), "{report}");
    assert!(
        not_sent[0]["reason"]
            .as_str()
            .unwrap()
            .contains("interrupted (SIGTERM)"),
        "{report}"
    );
    // The lock is released, not left to expire: the module is free at once, with no orphan.
    assert!(cli.journal_ids().is_empty());
    let next = cli.run(&["lock", "create", "-m", "100"]).await;
    next.ok();
    assert!(!next.stderr.contains("orphaned"), "{}", next.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_a_clean_up_stops_it_cleanly_and_twice_stops_it_at_once() {
    let server = spawn_server().await;
    old_records(&server, "102", 40).await;
    latency(&server, 100);
    let cli = Cli::for_server(&server.base_url());
    let cleanup = cli
        .command(&["cleanup", "-m", "102", "--yes", "--concurrency", "1"])
        .spawn()
        .unwrap();
    until_fewer(&server, "102", 38).await;
    send(&cleanup, libc::SIGINT);
    let run = finish(cleanup, "cleanup").await;
    run.code(130);
    // stdout lists only the records that went; how far it got, and why the rest were not sent,
    // is said on stderr.
    assert!(
        run.stderr.contains("deleted") && !run.stdout.is_empty(),
        "the partial report: {}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stderr.contains("interrupted (SIGINT)"), "{}", run.stderr);
    assert!(!run.stdout.contains("interrupted"), "{}", run.stdout);
    assert!(cli.journal_ids().is_empty(), "the clean-up's lock is released");

    // A second signal does not wait for anything (sent once the first was taken: signals that
    // arrive together count once).
    latency(&server, 6_000);
    let mut cleanup = cli
        .command(&["cleanup", "-m", "102", "--yes", "--concurrency", "1"])
        .spawn()
        .unwrap();
    cli.wait_for_owner("cleanup").await;
    send(&cleanup, libc::SIGINT);
    let mut stderr = tokio::io::BufReader::new(cleanup.stderr.take().unwrap()).lines();
    while let Some(line) = stderr.next_line().await.unwrap() {
        if line.contains("received SIGINT") {
            break;
        }
    }
    let started = std::time::Instant::now();
    send(&cleanup, libc::SIGINT);
    let status = cleanup.wait().await.unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "it waited for a 6 s answer"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn renew_all_leaves_an_orphan_and_releasing_a_running_backups_lock_warns() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    cli.run(&["lock", "create", "-m", "100"]).await.ok();
    let orphan = cli.run(&["lock", "create", "-m", "101", "-q"]).await;
    let orphan = orphan.ok().stdout_trimmed().to_owned();
    let mut journal: Value =
        serde_json::from_str(&std::fs::read_to_string(cli.journal_path()).unwrap()).unwrap();
    let entry = &mut journal["locks"][1]["owner"];
    entry["purpose"] = serde_json::json!({"kind": "cleanup"});
    entry["pid"] = u32::MAX.into();
    std::fs::write(cli.journal_path(), journal.to_string()).unwrap();

    let renew = cli.run(&["lock", "renew", "--all", "--json"]).await;
    renew.ok();
    assert_eq!(
        renew.json()["ok"].as_array().unwrap().len(),
        1,
        "{}",
        renew.stdout
    );
    assert!(
        renew.stderr.contains(&format!("skipped lock {orphan}"))
            && renew.stderr.contains("renewing it would keep module 101"),
        "{}",
        renew.stderr
    );

    // Naming a running backup's lock releases it, and says what that means.
    let mut hold = cli
        .command(&["lock", "hold", "-m", "102", "--", "sleep", "30"])
        .spawn()
        .unwrap();
    let held = cli.wait_for_owner("hold").await;
    let release = cli.run(&["lock", "release", &held]).await;
    release.ok();
    assert!(
        release.stderr.contains("`lock hold` of `sleep 30`")
            && release.stderr.contains("that operation is no longer protected"),
        "{}",
        release.stderr
    );
    hold.start_kill().unwrap();
    let _ = hold.wait().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_failure_says_is_true() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    // A COMMAND that does not exist: the shell's 127, and the --json summary says so.
    let missing = cli
        .run(&["lock", "hold", "-m", "100", "--json", "--", "/nonexistent/backup"])
        .await;
    missing.code(127);
    let summary: Value = serde_json::from_str(missing.stdout_trimmed()).unwrap();
    assert_eq!(summary["exitCode"], 127, "{summary}");
    assert_eq!(summary["commandExit"], Value::Null);
    assert!(
        summary["reason"].as_str().unwrap().contains("cannot start"),
        "{summary}"
    );
    assert!(cli.journal_ids().is_empty(), "its lock was released");

    // A module held by someone else: --auto-lock commands take no --wait, so none is offered.
    cli.run(&["lock", "create", "-m", "102"]).await.ok();
    let refused = cli
        .run(&["record", "create", "-m", "102", "--device", "d1", "--auto-lock"])
        .await;
    refused.code(4);
    assert!(
        refused.stderr.contains("cannot take a lock for module 102")
            && refused.stderr.contains("try again once it is released")
            && !refused.stderr.contains("--wait"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_the_server_lets_lapse_mid_run_stops_the_run_as_a_lost_lock() {
    // The server's locks live 2 s; koobackup believes the reference's 10 minutes, so its keeper
    // does not renew before the lock lapses. The server's word decides: the first delete it
    // refuses for the lock ends the run, and nothing more is sent.
    let server = spawn_server_with(|config| config.lock_ttl = Duration::from_secs(2)).await;
    let ids = old_records(&server, "100", 40).await;
    latency(&server, 100);
    let cli = Cli::for_server(&server.base_url());
    let args = delete_json(&["--auto-lock"], "1", &ids);
    let run = cli.run(&args).await;
    run.code(4);
    let report = run.json();
    let count = |field: &str| report[field].as_array().unwrap().len();
    let (deleted, failed, unsent) = (count("ok"), count("failed"), count("notAttempted"));
    assert_eq!(failed, 1, "only the refused delete failed: {report}");
    assert!(report["failed"].to_string().contains("409002"), "{report}");
    assert!(deleted > 0 && unsent > 0, "{report}");
    assert_eq!(deleted + failed + unsent, ids.len(), "{report}");
    let reason = report["notAttempted"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("the server refused lock"), "{reason}");
    // The history says the run stopped, and why.
    let ends = cli
        .run(&["history", "-o", "jsonl", "--op", "plan.end"])
        .await
        .ok()
        .json_lines();
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!(ends[0]["outcome"]["ok"], false, "{}", ends[0]);
    assert_eq!(ends[0]["deleted"], deleted, "{}", ends[0]);
    let said = ends[0]["outcome"]["message"].as_str().unwrap();
    assert!(
        said.contains("the server refused lock") && said.contains(&format!("{unsent} not sent")),
        "{said}"
    );
    assert_eq!(
        record_ids(&server.db_path, "100").len(),
        ids.len() - deleted,
        "exactly the confirmed ones went"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_released_under_a_run_stops_it_with_exit_4_not_5() {
    // The lock is released from another shell mid-run: the server then calls it unknown
    // (404002). That is a lost lock, not a record not found.
    let server = spawn_server().await;
    let ids = old_records(&server, "100", 40).await;
    latency(&server, 100);
    let cli = Cli::for_server(&server.base_url());
    let lock = cli.run(&["lock", "create", "-m", "100", "-q"]).await;
    let lock = lock.ok().stdout_trimmed().to_owned();
    let args = delete_json(&["--lock", &lock], "1", &ids);
    let delete = cli.command(&args).spawn().unwrap();
    until_fewer(&server, "100", 38).await;
    cli.run(&["lock", "release", &lock]).await.ok();
    let run = finish(delete, "record delete").await;
    run.code(4);
    let report = run.json();
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["apiCode"], 404002, "{report}");
    assert_eq!(failed[0]["exitCode"], 4, "{report}");
    let unsent = report["notAttempted"].as_array().unwrap().len();
    let deleted = report["ok"].as_array().unwrap().len();
    assert_eq!(deleted + 1 + unsent, ids.len(), "{report}");
    assert_eq!(record_ids(&server.db_path, "100").len(), ids.len() - deleted);
}
