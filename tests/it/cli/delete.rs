//! `koobackup record delete RECORD_ID...` against the local server, through the real binary: it
//! names what goes, deletes only with `--yes` or a `y` typed at a terminal, and reports
//! `{ok, failed}`.

use std::collections::BTreeSet;

use serde_json::json;

use crate::support::cli::Cli;
use crate::support::pty::answer_the_question;
use crate::support::{ALICE, PREFIX, TestServer, record_ids, spawn_server};

/// Creates one record per module in `modules` (in order) on `server`; returns their ids.
async fn records_in(server: &TestServer, modules: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for module in modules {
        let lock = server.lock(ALICE, module).await;
        let record = server.record(ALICE, &lock, module, "pixel-8").await;
        ids.push(record["recordId"].as_str().unwrap().to_string());
        server
            .req("DELETE", &format!("{PREFIX}/lock"))
            .lock(&lock)
            .send()
            .await
            .expect_ok();
    }
    ids
}

fn on_server(server: &TestServer) -> BTreeSet<String> {
    ["100", "101", "102"]
        .iter()
        .flat_map(|module| record_ids(&server.db_path, module))
        .collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn several_records_go_only_with_yes_and_exactly_those() {
    let server = spawn_server().await;
    let ids = records_in(&server, &["100", "100", "101"]).await;
    let (first, kept, other_module) = (&ids[0], &ids[1], &ids[2]);
    let cli = Cli::for_server(&server.base_url());

    // No terminal to ask on and no --yes: refused before anything is sent.
    let before = server.server.stats().requests;
    let refused = cli
        .run(&["record", "delete", first, other_module, "--auto-lock"])
        .await;
    refused.code(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(server.server.stats().requests, before, "nothing was sent");

    // A dry run names what would go, reports the id that is not there, and deletes nothing.
    let dry = cli
        .run(&[
            "record",
            "delete",
            first,
            other_module,
            "404",
            "--dry-run",
            "--auto-lock",
            "--json",
        ])
        .await;
    dry.code(5);
    let report = dry.json();
    let would: Vec<&str> = report["wouldDelete"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["recordId"].as_str().unwrap())
        .collect();
    assert_eq!(would, [first.as_str(), other_module.as_str()], "{report}");
    assert_eq!(report["failed"][0]["id"], "404", "{report}");
    assert_eq!(report["failed"][0]["apiCode"], 404001, "{report}");
    assert_eq!(on_server(&server), set(&[first, kept, other_module]));

    // --yes: exactly the two named go, each under a lock for its own module, released after.
    let done = cli
        .run(&[
            "record",
            "delete",
            first,
            other_module,
            first,
            "--yes",
            "--auto-lock",
            "--json",
        ])
        .await;
    let report = done.ok().json();
    assert_eq!(
        report,
        json!({"ok": [first, other_module], "gone": [], "kept": [], "failed": [], "notAttempted": []})
    );
    assert_eq!(on_server(&server), set(&[kept]));
    assert!(cli.journal_ids().is_empty(), "the automatic locks are released");

    // Deleting it again: not found, and said so per record.
    let again = cli
        .run(&["record", "delete", first, "--yes", "--auto-lock"])
        .await;
    again.code(5);
    assert!(again.stderr.contains(first.as_str()), "{}", again.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_ids_and_a_lock_for_another_module_change_nothing() {
    let server = spawn_server().await;
    let ids = records_in(&server, &["100"]).await;
    let cli = Cli::for_server(&server.base_url());
    for bad in ["", "12 34", "12\n34"] {
        let run = cli.run(&["record", "delete", bad, "--yes"]).await;
        run.code(2);
        let get = cli.run(&["record", "get", bad]).await;
        get.code(2);
    }
    let album_lock = cli
        .run(&["lock", "create", "-m", "101", "-q"])
        .await
        .ok()
        .stdout_trimmed()
        .to_owned();
    let delete = cli
        .run(&["record", "delete", &ids[0], "--lock", &album_lock, "--yes"])
        .await;
    delete.code(4);
    assert!(delete.stderr.contains("module 101"), "{}", delete.stderr);
    let complete = cli
        .run(&["record", "complete", &ids[0], "--lock", &album_lock])
        .await;
    complete.code(4);
    assert_eq!(on_server(&server), set(&[&ids[0]]));
}

/// Runs `record delete ID --auto-lock` in a pseudo-terminal, answers `answer` to its question,
/// and returns the exit code with the question as it was shown.
async fn delete_at_a_terminal(server: &TestServer, id: &str, answer: &str) -> (u32, String) {
    let (url, id, answer) = (server.base_url(), id.to_string(), answer.to_string());
    tokio::task::spawn_blocking(move || {
        answer_the_question(&url, &["record", "delete", &id, "--auto-lock"], &answer)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn at_a_terminal_it_asks_naming_the_record_and_only_y_deletes() {
    let server = spawn_server().await;
    let ids = records_in(&server, &["102"]).await;
    let id = &ids[0];

    let (code, question) = delete_at_a_terminal(&server, id, "n").await;
    assert_eq!(code, 1, "declining is not success");
    assert!(
        question.contains(id.as_str()),
        "the question names the record:\n{question}"
    );
    assert!(question.contains("pixel-8"), "and its device:\n{question}");
    assert_eq!(on_server(&server), set(&[id]));

    let (code, _) = delete_at_a_terminal(&server, id, "").await;
    assert_eq!(code, 1, "Enter alone is no");
    assert_eq!(on_server(&server), set(&[id]));

    let (code, _) = delete_at_a_terminal(&server, id, "y").await;
    assert_eq!(code, 0);
    assert!(on_server(&server).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn one_record_named_twice_goes_once_and_a_missing_lock_is_said_before_anything() {
    let server = spawn_server().await;
    let ids = records_in(&server, &["100"]).await;
    let id = &ids[0];
    let cli = Cli::for_server(&server.base_url());

    // No lock in the journal and no --auto-lock: refused (exit 2), the record stays.
    let no_lock = cli.run(&["record", "delete", id, "--yes"]).await;
    no_lock.code(2);
    assert!(no_lock.stderr.contains("needs a lock"), "{}", no_lock.stderr);
    assert_eq!(on_server(&server), set(&[id]));

    // `0<id>` is the same record to the server: deleted once, reported once, success.
    let padded = format!("0{id}");
    let run = cli
        .run(&["record", "delete", id, &padded, "--yes", "--auto-lock", "--json"])
        .await;
    assert_eq!(
        run.ok().json(),
        json!({"ok": [id], "gone": [], "kept": [], "failed": [], "notAttempted": []})
    );
    assert!(on_server(&server).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_that_are_no_ids_are_usage_errors_shown_escaped() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let before = server.server.stats().requests;
    for args in [
        vec!["record", "delete", "1", "--yes", "--lock", "\u{1b}[31m@100"],
        vec!["device", "unbind", ""],
        vec!["device", "scopes", "", "-m", "100"],
        vec!["lock", "release", "a\u{202e}b@100"],
        vec!["record", "get", "1\r2"],
    ] {
        let run = cli.run(&args).await;
        run.code(2);
        assert!(
            !crate::support::fake::has_raw_controls(&run.stderr),
            "{args:?}: {:?}",
            run.stderr
        );
    }
    assert_eq!(server.server.stats().requests, before, "nothing was sent");

    // With --json the whole message is kept, naming what is missing.
    let missing = cli.run(&["record", "delete", "--json"]).await;
    missing.code(2);
    let error = missing.json_error();
    assert!(
        error["error"]["message"].as_str().unwrap().contains("RECORD_ID"),
        "{error}"
    );
}
