//! Deletes with a grace window, through the real binary against the real local server: a queued
//! delete sends nothing; `pending apply` sends it only once due (on the server's clock, moved
//! forward with its clock-offset fault), never a cancelled one, never one whose record changed
//! or whose rule no longer chooses it; an apply killed half-way and run again deletes each
//! record once, and every outcome is in the history.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::support::cli::Cli;
use crate::support::{
    ALICE, TestServer, old_records, record_ids, spawn_server, spawn_server_with, until_fewer,
};
use koobackup::server::Faults;

/// The server's clock `minutes` ahead (and, optionally, slow).
fn server_ahead(server: &TestServer, minutes: i64, latency: Duration) {
    server.server.set_faults(Faults {
        clock_offset: chrono::Duration::minutes(minutes),
        latency,
        ..Faults::default()
    });
}

/// `koobackup pending -o jsonl`.
async fn queued(cli: &Cli) -> Vec<Value> {
    cli.run(&["pending", "-o", "jsonl"]).await.ok().json_lines()
}

/// Every history entry of `op`, oldest first.
async fn history(cli: &Cli, op: &str) -> Vec<Value> {
    let mut entries = cli
        .run(&["history", "-o", "jsonl", "--limit", "0", "--op", op])
        .await
        .ok()
        .json_lines();
    entries.reverse();
    entries
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queued_delete_waits_for_its_time_can_be_cancelled_and_then_goes() {
    let server = spawn_server().await;
    let ids = old_records(&server, "102", 4).await;
    let cli = Cli::for_server(&server.base_url());

    // Queued: nothing is deleted, and no lock is needed for it.
    let queueing = cli
        .run(&[
            "record", "delete", &ids[0], &ids[1], &ids[2], "--yes", "--grace", "1h",
        ])
        .await;
    queueing.ok();
    assert!(
        queueing
            .stdout
            .contains(&format!("record {}: queued, deleted after ", ids[0])),
        "{}",
        queueing.stdout
    );
    assert!(
        queueing.stderr.contains("nothing was deleted now"),
        "{}",
        queueing.stderr
    );
    assert_eq!(record_ids(&server.db_path, "102").len(), 4);
    let listed = queued(&cli).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    for entry in &listed {
        assert_eq!(entry["due"], false);
        assert_eq!(entry["why"]["kind"], "byHand");
        assert_eq!(entry["record"]["status"], 0, "as it was when queued: {entry}");
        let left = entry["secondsLeft"].as_i64().unwrap();
        assert!((3500..=3600).contains(&left), "{entry}");
    }
    // Queueing it again keeps the first due time.
    let again = cli
        .run(&["record", "delete", &ids[0], "--yes", "--grace", "5h"])
        .await;
    assert!(
        again.ok().stderr.contains("was queued already"),
        "{}",
        again.stderr
    );
    assert_eq!(queued(&cli).await[0]["dueAt"], listed[0]["dueAt"]);

    // Before it is due nothing is sent.
    let early = cli.run(&["pending", "apply"]).await;
    assert!(early.ok().stderr.contains("nothing is due"), "{}", early.stderr);
    assert_eq!(record_ids(&server.db_path, "102").len(), 4);

    // Cancelled: out of the queue, and said in the history.
    let cancel = cli.run(&["pending", "cancel", &ids[2]]).await;
    assert!(cancel.ok().stdout.contains("it is kept"), "{}", cancel.stdout);
    assert_eq!(queued(&cli).await.len(), 2);
    let unknown = cli.run(&["pending", "cancel", &ids[3]]).await;
    unknown.code(5);
    assert!(
        unknown.stderr.contains("no deletion of it is queued"),
        "{}",
        unknown.stderr
    );

    // Due on the server's clock (this machine's clock has not moved): sent now.
    server_ahead(&server, 90, Duration::ZERO);
    let apply = cli.run(&["pending", "apply"]).await;
    apply.ok();
    assert!(
        apply
            .stdout
            .contains(&format!("deleted record {} and its backup files", ids[0])),
        "{}",
        apply.stdout
    );
    let left = record_ids(&server.db_path, "102");
    assert_eq!(
        left,
        BTreeSet::from([ids[2].clone(), ids[3].clone()]),
        "the cancelled one and the one never queued are kept"
    );
    assert!(queued(&cli).await.is_empty());

    // The history says who queued, who cancelled, and the deletes, each with the record.
    let queues = history(&cli, "pending.queue").await;
    assert_eq!(queues.len(), 3, "{queues:?}");
    let cancels = history(&cli, "pending.cancel").await;
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0]["recordId"], ids[2].as_str());
    let deletes = history(&cli, "record.delete").await;
    let deleted: BTreeSet<&str> = deletes.iter().map(|e| e["recordId"].as_str().unwrap()).collect();
    assert_eq!(deleted, BTreeSet::from([ids[0].as_str(), ids[1].as_str()]));
    for delete in &deletes {
        assert_eq!(delete["outcome"]["ok"], true);
        assert_eq!(delete["record"]["recordId"], delete["recordId"]);
    }
    let plans = history(&cli, "plan.start").await;
    assert_eq!(plans[0]["what"], "pending apply");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_completed_after_it_was_queued_is_kept_and_reported() {
    let server = spawn_server().await;
    let ids = old_records(&server, "102", 3).await;
    let cli = Cli::for_server(&server.base_url());
    // Queued by a rule: abandoned (still new after an hour).
    let cleanup = cli
        .run(&[
            "cleanup",
            "-m",
            "102",
            "--older-than",
            "1h",
            "--yes",
            "--grace",
            "1h",
        ])
        .await;
    cleanup.ok();
    assert!(
        cleanup.stderr.contains("queued 3 of 3 candidates"),
        "{}",
        cleanup.stderr
    );
    assert_eq!(record_ids(&server.db_path, "102").len(), 3);
    let listed = queued(&cli).await;
    assert_eq!(listed[0]["why"]["kind"], "rule");
    assert_eq!(listed[0]["why"]["reasonCode"], "abandoned");

    // The backup was not abandoned after all: it finished.
    server.complete(&ids[1]).await;
    server_ahead(&server, 90, Duration::ZERO);
    let apply = cli.run(&["pending", "apply", "-o", "json"]).await;
    let report = apply.ok().json();
    let outcome = |id: &str| {
        report["applied"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["recordId"] == id)
            .map(|a| a["outcome"].as_str().unwrap().to_string())
    };
    assert_eq!(outcome(&ids[0]).as_deref(), Some("deleted"), "{report}");
    assert_eq!(outcome(&ids[1]).as_deref(), Some("kept-changed"), "{report}");
    assert_eq!(outcome(&ids[2]).as_deref(), Some("deleted"), "{report}");
    assert_eq!(
        record_ids(&server.db_path, "102"),
        BTreeSet::from([ids[1].clone()])
    );
    assert!(queued(&cli).await.is_empty(), "a kept record leaves the queue");
    let skips = history(&cli, "pending.skip").await;
    assert_eq!(skips.len(), 1, "{skips:?}");
    assert_eq!(skips[0]["recordId"], ids[1].as_str());
    assert!(
        skips[0]["outcome"]["message"]
            .as_str()
            .unwrap()
            .contains("completed meanwhile"),
        "{}",
        skips[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_its_retention_rule_keeps_by_the_time_it_is_due_is_kept() {
    let server = spawn_server().await;
    let oldest = super::retention::backup(&server, "laptop", 3, true).await;
    let middle = super::retention::backup(&server, "laptop", 2, true).await;
    let newest = super::retention::backup(&server, "laptop", 1, true).await;
    let cli = Cli::for_server(&server.base_url());
    cli.run(&[
        "cleanup",
        "-m",
        "102",
        "--keep-last",
        "1",
        "--yes",
        "--grace",
        "1h",
    ])
    .await
    .ok();
    let listed: BTreeSet<String> = queued(&cli)
        .await
        .iter()
        .map(|q| q["recordId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, BTreeSet::from([oldest.clone(), middle.clone()]));

    // The newest backup goes by hand meanwhile: keep-last 1 now keeps the middle one.
    cli.run(&[
        "record",
        "delete",
        &newest,
        "--auto-lock",
        "--yes",
        "--grace",
        "0",
    ])
    .await
    .ok();
    server_ahead(&server, 90, Duration::ZERO);
    let apply = cli.run(&["pending", "apply"]).await;
    apply.ok();
    assert!(
        apply
            .stderr
            .contains(&format!("record {middle}: kept: its rule keeps it now")),
        "{}",
        apply.stderr
    );
    assert_eq!(record_ids(&server.db_path, "102"), BTreeSet::from([middle]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_killed_half_way_and_run_again_deletes_each_record_once_all_in_the_history() {
    const RECORDS: usize = 12;
    let server = spawn_server().await;
    let ids = old_records(&server, "102", RECORDS).await;
    let cli = Cli::for_server(&server.base_url());
    let mut args = vec!["record", "delete", "--yes", "--grace", "1h"];
    args.extend(ids.iter().map(String::as_str));
    cli.run(&args).await.ok();

    // Due, and slow: one delete in flight at a time, each answer 200 ms.
    server_ahead(&server, 90, Duration::from_millis(200));
    let mut apply = cli
        .command(&["pending", "apply", "--concurrency", "1"])
        .spawn()
        .unwrap();
    until_fewer(&server, "102", RECORDS - 2).await;
    // SAFETY: kill(2) on the pid of our own child, which has not been waited for.
    let sent = unsafe { libc::kill(apply.id().unwrap() as libc::pid_t, libc::SIGKILL) };
    assert_eq!(sent, 0);
    apply.wait().await.unwrap();
    let gone_first = RECORDS - record_ids(&server.db_path, "102").len();
    assert!((3..RECORDS).contains(&gone_first), "{gone_first}");
    assert_eq!(
        queued(&cli).await.len(),
        RECORDS,
        "a killed apply settles nothing"
    );

    server_ahead(&server, 90, Duration::ZERO);
    let again = cli.run(&["pending", "apply", "-o", "json"]).await;
    let report = again.ok().json();
    assert!(record_ids(&server.db_path, "102").is_empty(), "{report}");
    assert!(queued(&cli).await.is_empty(), "{report}");
    for applied in report["applied"].as_array().unwrap() {
        let outcome = applied["outcome"].as_str().unwrap();
        assert!(
            outcome == "deleted" || outcome == "deleted-earlier",
            "never someone else's, never failed: {applied}"
        );
    }

    // Each record's delete is in the history exactly once (the killed run's own, or found
    // gone after it by the next command), with the record as it was.
    let deletes: Vec<Value> = history(&cli, "record.delete")
        .await
        .into_iter()
        .filter(|e| e["outcome"]["ok"] == true)
        .collect();
    let mut written: Vec<&str> = deletes.iter().map(|e| e["recordId"].as_str().unwrap()).collect();
    written.sort_unstable();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(written, expected, "{deletes:#?}");
    for entry in &deletes {
        assert_eq!(entry["record"]["recordId"], entry["recordId"], "{entry}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_profile_grace_queues_and_grace_zero_sends_at_once() {
    let server = spawn_server().await;
    let ids = old_records(&server, "102", 2).await;
    let cli = Cli::isolated();
    cli.write_config(&format!(
        "default_profile = \"p\"\n[profiles.p]\nbase_url = \"{}\"\nuser_id = \"{}\"\ntoken = {{ env = \"KB_TEST_TOKEN\" }}\ndelete_grace = \"24h\"\n",
        server.base_url(),
        ALICE.0
    ));
    let cli = cli.env("KB_TEST_TOKEN", ALICE.1);
    cli.run(&["record", "delete", &ids[0], "--yes"]).await.ok();
    assert_eq!(
        record_ids(&server.db_path, "102").len(),
        2,
        "queued by the profile's grace"
    );
    let listed = queued(&cli).await;
    let left = listed[0]["secondsLeft"].as_i64().unwrap();
    assert!(left > 23 * 3600, "{listed:?}");

    cli.run(&[
        "record",
        "delete",
        &ids[1],
        "--yes",
        "--auto-lock",
        "--grace",
        "0",
    ])
    .await
    .ok();
    assert_eq!(
        record_ids(&server.db_path, "102"),
        BTreeSet::from([ids[0].clone()]),
        "--grace 0 deletes at once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn what_is_due_is_told_on_the_servers_clock_even_offline() {
    let server = spawn_server().await;
    let ids = old_records(&server, "102", 1).await;
    let cli = Cli::for_server(&server.base_url());
    // The server's clock is two hours behind this machine's (or this one runs ahead).
    server_ahead(&server, -120, Duration::ZERO);
    let queueing = cli
        .run(&["record", "delete", &ids[0], "--yes", "--grace", "1h"])
        .await;
    assert!(
        queueing.ok().stdout.contains("(in 59m)") || queueing.stdout.contains("(in 1h 0m)"),
        "{}",
        queueing.stdout
    );

    let due = cli.run(&["pending", "--due", "-o", "json"]).await.ok().json();
    assert_eq!(
        due,
        serde_json::json!([]),
        "not due for an hour on the server's clock"
    );
    let listed = queued(&cli).await;
    assert_eq!(listed[0]["due"], false);
    assert!(listed[0]["secondsLeft"].as_i64().unwrap() > 3500, "{listed:?}");
    let recent = cli
        .run(&["pending", "--since", "10m", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(
        recent.as_array().unwrap().len(),
        1,
        "queued just now on this machine's clock"
    );
    let apply = cli.run(&["pending", "apply"]).await;
    assert!(apply.ok().stderr.contains("nothing is due"), "{}", apply.stderr);
    assert_eq!(record_ids(&server.db_path, "102").len(), 1);

    for grace in ["999999999d", "367d", "-1h", "1.5h"] {
        let refused = cli
            .run(&["record", "delete", &ids[0], "--yes", "--grace", grace])
            .await;
        refused.code(2);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_whose_lock_the_server_lets_lapse_stops_and_keeps_the_rest_queued() {
    // The server's locks live 2 s, koobackup believes the reference's 10 minutes: the first
    // delete the server refuses for the lock ends the run, exit 4, the rest stays queued.
    let server = spawn_server_with(|config| config.lock_ttl = Duration::from_secs(2)).await;
    let ids = old_records(&server, "102", 30).await;
    let cli = Cli::for_server(&server.base_url());
    let mut args = vec!["record", "delete", "--yes", "--grace", "1m"];
    args.extend(ids.iter().map(String::as_str));
    cli.run(&args).await.ok();
    server_ahead(&server, 2, Duration::from_millis(100));
    let apply = cli
        .run(&["pending", "apply", "--concurrency", "1", "-o", "json"])
        .await;
    apply.code(4);
    let report = apply.json();
    let applied = report["applied"].as_array().unwrap();
    let with = |outcome: &str| applied.iter().filter(|a| a["outcome"] == outcome).count();
    let (deleted, unsent) = (with("deleted"), with("not-sent"));
    assert!(deleted > 0 && unsent > 0, "{report}");
    assert_eq!(deleted + unsent, ids.len(), "nothing failed: {report}");
    let left = ids.len() - deleted;
    assert_eq!(record_ids(&server.db_path, "102").len(), left);
    assert_eq!(
        queued(&cli).await.len(),
        left,
        "what was not deleted stays queued"
    );
}
