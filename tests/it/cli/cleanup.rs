//! `cleanup` against a loopback KooDrive shaped like the reference, which records every request:
//! exactly the records the rules choose are deleted (and nothing else is asked to be), `-q`
//! names exactly the ones that went, and a long clean-up renews its lock before it lapses.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::cli::Cli;
use crate::support::fake::{Fake, Reply};
use crate::support::{old_records, spawn_server_with};
use koobackup::server::Faults;

const LOCK_ID: &str = "9f2c4e1a-6b7d-4c3e-8a15-0d2f9e8b7c61@100";

/// A module-100 record of `status`, created three days before the test runs.
fn record(id: &str, status: u8) -> Value {
    let created = chrono::Utc::now() - chrono::Duration::days(3);
    json!({
        "recordId": id,
        "moduleCode": "100",
        "status": status,
        "properties": "{}",
        "version": 1,
        "createTime": created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "endTime": "",
        "deviceInfo": {
            "deviceId": "1775406005920779395",
            "machineCode": "PIXEL8_2C91",
            "deviceName": "Pixel 8",
            "deviceOS": "Android 15",
            "createTime": "2025-09-15T06:14:48.630Z"
        }
    })
}

/// A KooDrive holding, in module 100, two abandoned records (`new-1`, `new-2`), one completed
/// (`done`) and one marked to be deleted (`marked`). Deleting `new-2` is refused (403, as for a
/// record that is not the user's), everything else succeeds.
async fn koodrive() -> Fake {
    let records = || {
        vec![
            record("new-1", 0),
            record("new-2", 0),
            record("done", 1),
            record("marked", 2),
        ]
    };
    Fake::start(
        move |request| match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/lock") => Reply::ok(json!({"lockId": LOCK_ID})),
            ("PATCH" | "DELETE", "/lock") => Reply::ok(json!({})),
            ("GET", "/record") => Reply::page(records(), None),
            ("GET", path) if path.starts_with("/record/") => {
                match records()
                    .into_iter()
                    .find(|r| r["recordId"] == path["/record/".len()..])
                {
                    Some(record) => Reply::ok(record),
                    None => Reply::error(404, json!(404001), "record not found"),
                }
            }
            ("DELETE", "/record/new-2") => Reply::error(403, json!(403001), "not your record"),
            ("DELETE", _) => Reply::ok(json!({})),
            _ => Reply::error(404, json!(404000), "no such call"),
        },
    )
    .await
}

/// The records the fake was asked to delete.
fn deletes_sent(fake: &Fake) -> BTreeSet<String> {
    fake.seen()
        .iter()
        .filter(|seen| seen.method == "DELETE" && seen.path.starts_with("/record/"))
        .map(|seen| seen.path["/record/".len()..].to_string())
        .collect()
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_string).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_marked_spares_the_marked_record_and_q_names_only_what_went() {
    let fake = koodrive().await;
    let cli = Cli::for_server(&fake.base_url);

    // A dry run proposes the abandoned and the marked records, and sends no delete.
    let dry = cli.run(&["cleanup", "-m", "100", "-q"]).await;
    assert_eq!(
        lines(dry.ok().stdout.as_str()),
        set(&["new-1", "new-2", "marked"])
    );
    let kept = cli.run(&["cleanup", "-m", "100", "--keep-marked", "-q"]).await;
    assert_eq!(lines(kept.ok().stdout.as_str()), set(&["new-1", "new-2"]));
    assert!(deletes_sent(&fake).is_empty());

    // Deleting with --keep-marked asks for exactly the abandoned two; the refused one is not
    // printed as gone, and the exit code says something failed.
    let run = cli
        .run(&["cleanup", "-m", "100", "--keep-marked", "--yes", "-q"])
        .await;
    run.code(3);
    assert_eq!(deletes_sent(&fake), set(&["new-1", "new-2"]));
    assert_eq!(lines(&run.stdout), set(&["new-1"]), "{}", run.stderr);
    assert!(cli.journal_ids().is_empty(), "the clean-up lock is released");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_keep_marked_the_marked_record_is_deleted_too() {
    let fake = koodrive().await;
    let cli = Cli::for_server(&fake.base_url);
    let run = cli.run(&["cleanup", "-m", "100", "--yes", "--json"]).await;
    run.code(3);
    assert_eq!(deletes_sent(&fake), set(&["new-1", "new-2", "marked"]));
    let report = run.json();
    let deleted: BTreeSet<String> = report["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["deleted"] == true)
        .map(|c| c["record"]["recordId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(deleted, set(&["new-1", "marked"]), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_clean_up_renews_its_lock_before_it_lapses() {
    // Locks live 3 s; every answer takes 250 ms, so deleting 16 records takes about 4 s: without
    // renewing on time the lock would lapse and a delete be refused (409002) on the way.
    let server = spawn_server_with(|config| config.lock_ttl = Duration::from_secs(3)).await;
    old_records(&server, "100", 16).await;
    server.server.set_faults(Faults {
        latency: Duration::from_millis(250),
        ..Faults::default()
    });
    let log = tempfile::NamedTempFile::new().unwrap();
    let cli = Cli::for_server(&server.base_url())
        .env("KOOBACKUP_LOCK_TTL_SECS", "3")
        .env("KOOBACKUP_LOG", log.path().to_str().unwrap());
    let run = cli.run(&["cleanup", "-m", "100", "--yes", "-q"]).await;
    run.ok();
    assert_eq!(run.stdout.lines().count(), 16, "{}", run.stdout);

    // The first renewal comes before any refusal: it was made while the lock was still alive,
    // not as a repair after it lapsed.
    let text = std::fs::read_to_string(log.path()).unwrap();
    let renewal = text
        .find(r#"method=PATCH path="/lock""#)
        .unwrap_or_else(|| panic!("the lock was never renewed:\n{text}"));
    let refusal = text.find("status=409").unwrap_or(usize::MAX);
    assert!(renewal < refusal, "renewed only after a refusal:\n{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn max_records_is_a_bound_exactly_at_its_value() {
    // The module holds four records; three of them (two new, one marked) are what the rules
    // weigh without a retention policy: a limit of three holds them, two refuses (exit 9, a
    // limit) and deletes nothing. The completed one is never held.
    let fake = koodrive().await;
    let cli = Cli::for_server(&fake.base_url);
    cli.run(&["cleanup", "-m", "100", "--max-records", "3", "-q"])
        .await
        .ok();
    let over = cli
        .run(&["cleanup", "-m", "100", "--max-records", "2", "--yes"])
        .await;
    over.code(9);
    assert!(over.stderr.contains("more than 2 records"), "{}", over.stderr);
    assert!(deletes_sent(&fake).is_empty());
    // With a retention policy the completed backups are weighed too, device by device: each
    // listing is bounded on its own (the module's three, then the device's one).
    let weighed = cli
        .run(&["cleanup", "-m", "100", "--keep-last", "1", "--max-records", "3"])
        .await;
    assert!(
        weighed.ok().stderr.contains("kept by the retention policy"),
        "{}",
        weighed.stderr
    );
    cli.run(&["cleanup", "-m", "100", "--keep-last", "1", "--max-records", "2"])
        .await
        .code(9);
}

/// The first word of each line: what `awk '{print $1}'` would pass on.
fn first_words(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn stdout_holds_only_the_records_that_go_so_a_pipe_passes_ids_alone() {
    let fake = koodrive().await;
    let cli = Cli::for_server(&fake.base_url);
    let dry = cli.run(&["cleanup", "-m", "100", "--no-headers"]).await;
    assert_eq!(first_words(&dry.ok().stdout), set(&["new-1", "new-2", "marked"]));
    assert!(
        dry.stderr.contains("3 candidates; nothing was deleted"),
        "{}",
        dry.stderr
    );

    let deleting = cli.run(&["cleanup", "-m", "100", "--yes", "--no-headers"]).await;
    deleting.code(3);
    assert_eq!(
        first_words(&deleting.stdout),
        set(&["new-1", "marked"]),
        "only what went"
    );
    assert!(
        deleting.stderr.contains("deleted 2 of 3 candidates"),
        "{}",
        deleting.stderr
    );
    assert!(
        deleting.stderr.contains("new-2") && deleting.stderr.contains("not your record"),
        "the refusal is an error on stderr: {}",
        deleting.stderr
    );

    let none = Fake::start(|_| Reply::page(Vec::new(), None)).await;
    let empty = Cli::for_server(&none.base_url).run(&["cleanup"]).await;
    assert_eq!(empty.ok().stdout, "", "nothing to delete, nothing on stdout");
    assert!(
        empty.stderr.contains("no clean-up candidates"),
        "{}",
        empty.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn q_names_each_record_the_moment_it_is_gone() {
    // A cron log (or a pipe) sees the ids as they go, not all of them at the end of the run.
    let server = spawn_server_with(|_| {}).await;
    let ids: BTreeSet<String> = old_records(&server, "100", 30).await.into_iter().collect();
    server.server.set_faults(Faults {
        latency: Duration::from_millis(100),
        ..Faults::default()
    });
    let cli = Cli::for_server(&server.base_url());
    let mut cleanup = cli
        .command(&["cleanup", "-m", "100", "--yes", "-q", "--concurrency", "1"])
        .spawn()
        .unwrap();
    let stdout = cleanup.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let first = lines.next_line().await.unwrap().expect("a first id");
    assert!(ids.contains(&first), "{first}");
    let left = crate::support::record_ids(&server.db_path, "100").len();
    assert!(left > 0, "the first id came only once every record was gone");
    let mut named = BTreeSet::from([first]);
    while let Some(line) = lines.next_line().await.unwrap() {
        named.insert(line);
    }
    assert!(cleanup.wait().await.unwrap().success());
    assert_eq!(named, ids, "each deleted record named once");
    assert!(crate::support::record_ids(&server.db_path, "100").is_empty());
}
