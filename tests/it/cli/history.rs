//! The history, through the real binary against the real local server: deletes are written with
//! the record as it was, a clean-up killed with SIGKILL half-way is accounted for by the next
//! command, a history that cannot be written stops deletes unless `--no-history` is given, and
//! the files are private and hold no secret.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::support::cli::ALICE_TOKEN;
use crate::support::cli::Cli;
use crate::support::disk::SmallDisk;
use crate::support::{ALICE, old_records, record_ids, spawn_server, until_fewer};
use koobackup::server::Faults;

/// `$HOME/.local/state/koobackup/history` of the isolated CLI.
fn history_dir(cli: &Cli) -> PathBuf {
    cli.home().join(".local/state/koobackup/history")
}

/// Every entry of `koobackup history -o jsonl --limit 0`, newest first.
async fn entries(cli: &Cli, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["history", "-o", "jsonl", "--limit", "0"];
    args.extend_from_slice(filters);
    cli.run(&args).await.ok().json_lines()
}

/// The record as the history keeps it (as the server sent it) is the one `record get --json`
/// showed: every field the server sent has the value shown.
fn assert_same_record(kept: &Value, shown: &Value) {
    let kept_fields = kept.as_object().unwrap();
    for field in [
        "recordId",
        "moduleCode",
        "properties",
        "status",
        "version",
        "createTime",
        "deviceInfo",
    ] {
        assert_eq!(
            kept_fields.get(field),
            shown.get(field),
            "{field}: {kept} vs {shown}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_record_is_in_the_history_as_it_was_with_its_lock_and_outcome() {
    let server = spawn_server().await;
    let ids = old_records(&server, "102", 2).await;
    let cli = Cli::for_server(&server.base_url());
    let before = cli.run(&["record", "get", &ids[0], "--json"]).await.ok().json();
    cli.run(&["record", "delete", &ids[0], "--auto-lock", "--yes"])
        .await
        .ok();

    let deletes = entries(&cli, &["--op", "record.delete"]).await;
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    let delete = &deletes[0];
    assert_eq!(delete["recordId"], ids[0].as_str());
    assert_same_record(&delete["record"], &before);
    assert_eq!(delete["outcome"]["ok"], true);
    assert_eq!(delete["module"], "102");
    assert_eq!(delete["who"]["user"], ALICE.0);
    assert!(
        delete["who"]["by"]
            .as_str()
            .unwrap()
            .starts_with("koobackup record delete"),
        "{delete}"
    );
    let lock_id = delete["lockId"].as_str().unwrap();
    // The plan opens before anything is sent; the command's own lock is created for the delete
    // and released after the plan's end.
    let all = entries(&cli, &[]).await;
    let ops: Vec<&str> = all.iter().rev().map(|e| e["op"].as_str().unwrap()).collect();
    assert_eq!(
        ops,
        [
            "plan.start",
            "lock.create",
            "record.delete",
            "plan.end",
            "lock.release"
        ],
        "{all:#?}"
    );
    assert!(
        all.iter()
            .any(|e| e["op"] == "lock.create" && e["lockId"] == lock_id)
    );
    let plan = all.iter().find(|e| e["op"] == "plan.start").unwrap();
    assert_same_record(&plan["planned"][0]["record"], &before);
    assert_eq!(all.iter().find(|e| e["op"] == "plan.end").unwrap()["deleted"], 1);

    // Filters: by record, device, and module; the other record has no entry.
    assert_eq!(entries(&cli, &["--record", &ids[1]]).await.len(), 0);
    let device = before["deviceInfo"]["deviceId"].as_str().unwrap();
    assert!(
        entries(&cli, &["--device", device])
            .await
            .iter()
            .any(|e| e["op"] == "record.delete")
    );
    assert!(entries(&cli, &["-m", "100"]).await.is_empty());

    // `history show` prints the entry whole: JSON exactly, and for people with the properties
    // unfolded.
    let id = delete["id"].as_str().unwrap();
    let shown = cli.run(&["history", "show", id, "--json"]).await.ok().json();
    assert_eq!(&shown, delete);
    let people = cli.run(&["history", "show", &id[..id.len() - 1]]).await;
    assert!(people.ok().stdout.contains(&ids[0]), "{}", people.stdout);
    let table = cli.run(&["history"]).await;
    assert!(table.ok().stdout.contains("record.delete"), "{}", table.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_up_killed_half_way_is_accounted_for_by_the_next_command() {
    const RECORDS: usize = 12;
    let server = spawn_server().await;
    let ids = old_records(&server, "102", RECORDS).await;
    let cli = Cli::for_server(&server.base_url());
    // Every answer takes 200 ms and one delete is in flight at a time: the kill comes between
    // deletes the server has answered and ones it never saw.
    server.server.set_faults(Faults {
        latency: Duration::from_millis(200),
        ..Faults::default()
    });
    let mut cleanup = cli
        .command(&[
            "cleanup",
            "-m",
            "102",
            "--older-than",
            "1h",
            "--yes",
            "--concurrency",
            "1",
        ])
        .spawn()
        .unwrap();
    until_fewer(&server, "102", RECORDS - 2).await;
    // SAFETY: kill(2) on the pid of our own child, which has not been waited for.
    let sent = unsafe { libc::kill(cleanup.id().unwrap() as libc::pid_t, libc::SIGKILL) };
    assert_eq!(sent, 0);
    cleanup.wait().await.unwrap();
    server.server.set_faults(Faults::default());

    let left = record_ids(&server.db_path, "102");
    let gone: BTreeSet<String> = ids.iter().filter(|id| !left.contains(*id)).cloned().collect();
    assert!(gone.len() >= 3 && gone.len() < RECORDS, "{gone:?}");

    // Any command afterwards finds the plan, asks the server, and says so once.
    let next = cli.run(&["record", "list", "-m", "100"]).await;
    let said = format!(
        "deleted {} of {RECORDS} record(s) of 102; see `koobackup history`",
        gone.len()
    );
    assert!(
        next.ok().stderr.contains("an interrupted clean-up at "),
        "{}",
        next.stderr
    );
    assert!(next.stderr.contains(&said), "{}", next.stderr);
    let again = cli.run(&["record", "list", "-m", "100"]).await;
    assert!(
        !again.ok().stderr.contains("interrupted"),
        "said once: {}",
        again.stderr
    );

    // Every record that went is in the history once, with the record as it was.
    let deletes = entries(&cli, &["--op", "record.delete"]).await;
    let written: Vec<String> = deletes
        .iter()
        .map(|e| e["recordId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        written.iter().cloned().collect::<BTreeSet<_>>(),
        gone,
        "{deletes:#?}"
    );
    assert_eq!(written.len(), gone.len(), "none twice: {written:?}");
    for entry in &deletes {
        assert_eq!(entry["record"]["recordId"], entry["recordId"], "{entry}");
        assert_eq!(entry["module"], "102");
    }
    let end = entries(&cli, &["--op", "plan.end"]).await;
    assert_eq!(end.len(), 1);
    assert_eq!(end[0]["deleted"], gone.len());
    assert_eq!(end[0]["recovered"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_history_that_cannot_be_written_stops_deletes_unless_no_history_is_given() {
    let server = spawn_server().await;
    let ids = old_records(&server, "102", 1).await;
    let cli = Cli::for_server(&server.base_url());
    // A file where the history's directory should be: nothing can be written there.
    let dir = history_dir(&cli);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    std::fs::write(&dir, "not a directory").unwrap();

    let refused = cli
        .run(&["record", "delete", &ids[0], "--auto-lock", "--yes"])
        .await;
    refused.code(1);
    assert!(
        refused.stderr.contains("cannot write the history"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--no-history"), "{}", refused.stderr);
    assert!(
        record_ids(&server.db_path, "102").contains(&ids[0]),
        "nothing deleted"
    );
    assert!(cli.journal_ids().is_empty(), "no lock left behind");

    cli.run(&[
        "record",
        "delete",
        &ids[0],
        "--auto-lock",
        "--yes",
        "--no-history",
    ])
    .await
    .ok();
    assert!(!record_ids(&server.db_path, "102").contains(&ids[0]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_history_is_private_and_holds_no_secret() {
    use std::os::unix::fs::PermissionsExt;
    let server = spawn_server().await;
    let ids = old_records(&server, "102", 1).await;
    let cli = Cli::for_server(&server.base_url());
    cli.run(&["record", "delete", &ids[0], "--auto-lock", "--yes"])
        .await
        .ok();
    let dir = history_dir(&cli);
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files += 1;
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains(ALICE_TOKEN), "{} holds the token", path.display());
        }
    }
    assert!(files >= 2, "history.jsonl and history.lock");
}

#[tokio::test(flavor = "multi_thread")]
async fn processes_writing_at_once_lose_no_entry() {
    // Eight commands race for module 100's lock: one gets it, seven are refused (409001). Every
    // one of them writes its entry into the same history at about the same moment.
    const PROCESSES: usize = 8;
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let runs = futures::future::join_all(
        (0..PROCESSES).map(|_| cli.run(&["lock", "create", "-m", "100", "--json"])),
    )
    .await;
    let won = runs.iter().filter(|run| run.code == 0).count();
    assert_eq!(won, 1);

    let creates = entries(&cli, &["--op", "lock.create"]).await;
    assert_eq!(creates.len(), PROCESSES, "{creates:#?}");
    let pids: BTreeSet<u64> = creates
        .iter()
        .map(|e| e["who"]["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), PROCESSES, "one entry per process");
    let refused: Vec<&Value> = creates.iter().filter(|e| e["outcome"]["ok"] == false).collect();
    assert_eq!(refused.len(), PROCESSES - 1);
    for entry in refused {
        assert_eq!(entry["outcome"]["code"], "409001", "{entry}");
        assert_eq!(entry["outcome"]["status"], 409, "{entry}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_full_disk_an_unbind_is_refused_and_nothing_is_sent() {
    let server = spawn_server().await;
    let scratch = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&scratch.path().join("state"));
    let cli = Cli::for_server(&server.base_url()).env("XDG_STATE_HOME", disk.dir.to_str().unwrap());
    let bound = cli
        .run(&[
            "device",
            "bind",
            "--machine-code",
            "NAS_2C91",
            "--name",
            "Home NAS",
            "-q",
        ])
        .await;
    let device = bound.ok().stdout_trimmed().to_owned();
    disk.fill();

    let refused = cli.run(&["device", "unbind", &device, "--yes"]).await;
    refused.code(1);
    assert!(refused.stderr.contains("--no-history"), "{}", refused.stderr);
    let listed = cli.run(&["device", "list", "-q"]).await;
    assert!(
        listed.ok().stdout.contains(&device),
        "still bound: {}",
        listed.stdout
    );
    cli.run(&["device", "unbind", &device, "--yes", "--no-history"])
        .await
        .ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_quiet_command_recovers_is_said_by_the_next_one_that_can() {
    let server = spawn_server().await;
    let ids = old_records(&server, "102", 4).await;
    let cli = Cli::for_server(&server.base_url());
    // A plan of a process that is gone: written by a `record delete` stopped before it began
    // (SIGKILL once its plan is on disk and the first record is gone).
    server.server.set_faults(Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    });
    let mut args = vec!["record", "delete", "--auto-lock", "--yes", "--concurrency", "1"];
    args.extend(ids.iter().map(String::as_str));
    let mut delete = cli.command(&args).spawn().unwrap();
    until_fewer(&server, "102", ids.len()).await;
    // SAFETY: kill(2) on the pid of our own child, which has not been waited for.
    assert_eq!(
        unsafe { libc::kill(delete.id().unwrap() as libc::pid_t, libc::SIGKILL) },
        0
    );
    delete.wait().await.unwrap();
    server.server.set_faults(Faults::default());

    let quiet = cli.run(&["record", "list", "-m", "100", "-q"]).await;
    assert!(!quiet.ok().stderr.contains("interrupted"), "{}", quiet.stderr);
    let next = cli.run(&["record", "list", "-m", "100"]).await;
    assert!(
        next.ok().stderr.contains("an interrupted record delete at "),
        "the quiet command's finding is said now: {}",
        next.stderr
    );
    let again = cli.run(&["record", "list", "-m", "100"]).await;
    assert!(
        !again.ok().stderr.contains("interrupted"),
        "once: {}",
        again.stderr
    );
}
