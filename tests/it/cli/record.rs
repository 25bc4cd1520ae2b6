//! `koobackup record create|list|get|complete|delete|files` against the local server, through the
//! real binary.

use crate::support;
use crate::support::cli::Cli;
use crate::support::{ALICE, BOB, spawn_server};
use serde_json::Value;

/// Creates `n` records in module 100 under one lock taken with `lock create`; returns their ids.
async fn create_records(cli: &Cli, n: usize) -> Vec<String> {
    let lock = cli.run(&["lock", "create", "-m", "100", "-q"]).await;
    let lock = lock.ok().stdout_trimmed().to_owned();
    let mut ids = Vec::new();
    for i in 0..n {
        let device = format!("device-{}", i % 2);
        let run = cli
            .run(&[
                "record", "create", "-m", "100", "--device", &device, "--lock", &lock, "-q",
            ])
            .await;
        ids.push(run.ok().stdout_trimmed().to_owned());
    }
    cli.run(&["lock", "release", "--all", "-q"]).await.ok();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn create_uses_the_named_lock_only_and_validates_properties_first() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());

    let no_lock = cli
        .run(&["record", "create", "-m", "102", "--device", "d1"])
        .await;
    no_lock.code(2);
    assert!(no_lock.stderr.contains("--auto-lock"), "{}", no_lock.stderr);

    // A lock in the journal is not borrowed: it is named in the message, and used once named.
    let lock = cli.run(&["lock", "create", "-m", "102", "-q"]).await;
    let lock = lock.ok().stdout_trimmed().to_owned();
    let unnamed = cli
        .run(&["record", "create", "-m", "102", "--device", "d1"])
        .await;
    unnamed.code(2);
    assert!(
        unnamed.stderr.contains(&lock) && unnamed.stderr.contains("only when named"),
        "{}",
        unnamed.stderr
    );
    let bad = cli
        .run(&[
            "record",
            "create",
            "-m",
            "102",
            "--device",
            "d1",
            "--lock",
            &lock,
            "--properties",
            "{\n\"a\": 1,\n}",
        ])
        .await;
    bad.code(2);
    assert!(bad.stderr.contains("line 3, column 1"), "{}", bad.stderr);

    // $KOOBACKUP_LOCK_ID names it as well (as `lock hold` does for COMMAND).
    let created = cli
        .command(&[
            "record",
            "create",
            "-m",
            "102",
            "--device",
            "d1",
            "--properties",
            "{\"files\": 3}",
            "--json",
        ])
        .env("KOOBACKUP_LOCK_ID", &lock)
        .output()
        .await
        .unwrap();
    let created = support::cli::Run::new(&["record create"], created);
    let record = created.ok().json();
    assert_eq!(record["moduleCode"], "102");
    assert_eq!(record["status"], 0);
    assert_eq!(record["properties"], "{\"files\":3}");
    assert_eq!(record["deviceInfo"]["deviceId"], "d1");

    // A lock for another module is refused before anything is sent.
    let folder_lock = server.lock(ALICE, "100").await;
    let wrong = cli
        .run(&[
            "record",
            "create",
            "-m",
            "102",
            "--device",
            "d1",
            "--lock",
            &folder_lock,
        ])
        .await;
    wrong.code(4);
    assert!(wrong.stderr.contains("module 100"), "{}", wrong.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn properties_can_come_from_a_file_or_stdin() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let path = cli.dir.path().join("props.json");
    std::fs::write(&path, "{\"from\": \"file\"}").unwrap();
    let run = cli
        .run(&[
            "record",
            "create",
            "-m",
            "101",
            "--device",
            "d",
            "--auto-lock",
            "--properties-file",
            path.to_str().unwrap(),
            "--json",
        ])
        .await;
    assert_eq!(run.ok().json()["properties"], "{\"from\":\"file\"}");

    let mut child = cli
        .command(&[
            "record",
            "create",
            "-m",
            "101",
            "--device",
            "d",
            "--auto-lock",
            "--properties-file",
            "-",
            "--json",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"{\"from\": \"stdin\"}").await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let run = support::cli::Run::new(&["record create --properties-file -"], output);
    assert_eq!(run.ok().json()["properties"], "{\"from\":\"stdin\"}");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_follows_cursors_to_the_end_with_limits_and_formats() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let ids = create_records(&cli, 7).await;

    // Page size 2 means four requests; all seven records come back.
    let all = cli
        .run(&["record", "list", "-m", "100", "--page-size", "2", "--json"])
        .await
        .ok()
        .json();
    let listed: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["recordId"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 7);
    for id in &ids {
        assert!(listed.contains(&id.as_str()), "{id} missing from {listed:?}");
    }

    let limited = cli
        .run(&[
            "record",
            "list",
            "-m",
            "100",
            "--page-size",
            "2",
            "--limit",
            "3",
            "--jsonl",
        ])
        .await;
    assert_eq!(limited.ok().json_lines().len(), 3);

    let device = cli
        .run(&["record", "list", "-m", "100", "--device", "device-1", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(device.as_array().unwrap().len(), 3);

    let table = cli.run(&["record", "list"]).await;
    table.ok();
    assert!(table.stdout.starts_with("RECORD ID"), "{}", table.stdout);
    assert_eq!(
        table.stdout.lines().count(),
        8,
        "header + 7 rows: {}",
        table.stdout
    );

    let quiet = cli.run(&["record", "list", "-q", "-m", "folder"]).await;
    assert_eq!(quiet.ok().stdout.lines().count(), 7);

    let empty = cli
        .run(&["record", "list", "-m", "102", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(empty, Value::Array(Vec::new()));

    cli.run(&["record", "list", "--page-size", "101"]).await.code(2);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_complete_files_and_delete_one_record() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let id = create_records(&cli, 1).await.remove(0);
    support::insert_files(&server.db_path, &id, 5);

    let shown = cli.run(&["record", "get", &id]).await;
    shown.ok();
    assert!(shown.stdout.contains("status      new"), "{}", shown.stdout);

    let files = cli
        .run(&["record", "files", &id, "--page-size", "2", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(files.as_array().unwrap().len(), 5);
    assert_eq!(files[0]["fileName"], "file-0000.bin");
    let table = cli.run(&["record", "files", &id]).await;
    assert!(table.ok().stdout.contains("file-0004.bin"), "{}", table.stdout);

    // Complete and delete need a lock: --auto-lock takes one just for the command.
    let completed = cli
        .run(&[
            "record",
            "complete",
            &id,
            "--properties",
            "{\"ok\":true}",
            "--auto-lock",
            "--json",
        ])
        .await;
    let completed = completed.ok().json();
    assert_eq!(
        (completed["recordId"].as_str(), completed["status"].as_i64()),
        (Some(id.as_str()), Some(1))
    );
    assert!(cli.journal_ids().is_empty(), "the automatic lock is released");
    let record = cli.run(&["record", "get", &id, "--json"]).await.ok().json();
    assert_eq!(record["status"], 1);
    assert_eq!(record["properties"], "{\"ok\":true}");

    let lock = cli
        .run(&["lock", "create", "-m", "100", "-q"])
        .await
        .ok()
        .stdout_trimmed()
        .to_owned();
    let deleted = cli
        .run(&["record", "delete", &id, "--lock", &lock, "--yes", "--json"])
        .await;
    assert_eq!(deleted.ok().json()["ok"], serde_json::json!([id]));
    assert_eq!(support::count_files(&server.db_path, &id), 0);

    let gone = cli.run(&["record", "get", &id, "--json"]).await;
    gone.code(5);
    assert_eq!(gone.json_error()["error"]["apiCode"], 404001);
    cli.run(&["record", "delete", &id, "--yes"]).await.code(5);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_record_is_an_authentication_failure() {
    let server = spawn_server().await;
    let bob_lock = server.lock(BOB, "100").await;
    let bobs = server.record(BOB, &bob_lock, "100", "bob-device").await;
    let cli = Cli::for_server(&server.base_url());
    let run = cli
        .run(&["record", "get", bobs["recordId"].as_str().unwrap()])
        .await;
    run.code(3);
    assert!(run.stderr.contains("another user"), "{}", run.stderr);
}
