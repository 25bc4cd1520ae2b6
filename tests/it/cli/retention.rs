//! `cleanup --keep-*`: retention rules for completed backups, through the real binary against
//! the real local server. Backups "in the past" are made by setting the server's clock back
//! (its clock-offset fault) while creating and completing them, as a real server would have
//! stamped them then.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::cli::Cli;
use crate::support::{ALICE, PREFIX, TestServer, record_ids, spawn_server, x_date};
use koobackup::server::Faults;

/// Sets the server's clock `days` back and returns the X-Date a client would send then.
fn server_days_ago(server: &TestServer, days: i64) -> String {
    server.at_minute(-days * 24 * 60);
    x_date(server.server.clock())
}

/// A backup of `device` in module 102 made `days` ago (the server's clock), completed unless
/// `complete` is false. Returns its id.
pub(crate) async fn backup(server: &TestServer, device: &str, days: i64, complete: bool) -> String {
    let date = server_days_ago(server, days);
    let lock = server
        .req("POST", &format!("{PREFIX}/lock"))
        .header("X-Date", &date)
        .json(json!({"moduleCode": "102"}))
        .send()
        .await;
    lock.expect_ok();
    let lock = lock.body["data"]["lockId"].as_str().unwrap().to_string();
    let record = server
        .req("POST", &format!("{PREFIX}/record"))
        .header("X-Date", &date)
        .lock(&lock)
        .json(json!({"moduleCode": "102", "deviceId": device}))
        .send()
        .await;
    record.expect_ok();
    let id = record.body["data"]["recordId"].as_str().unwrap().to_string();
    if complete {
        server
            .req("PATCH", &format!("{PREFIX}/record/{id}"))
            .header("X-Date", &date)
            .lock(&lock)
            .send()
            .await
            .expect_ok();
    }
    server
        .req("DELETE", &format!("{PREFIX}/lock"))
        .header("X-Date", &date)
        .lock(&lock)
        .send()
        .await
        .expect_ok();
    server.server.set_faults(Faults::default());
    id
}

/// `record id -> reason code` of one list of a `cleanup --json` report.
fn reasons(report: &Value, list: &str) -> BTreeMap<String, String> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {report}"))
        .iter()
        .map(|entry| {
            (
                entry["record"]["recordId"].as_str().unwrap().to_string(),
                entry["reasonCode"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn keep_rules_preview_then_delete_exactly_what_they_do_not_keep() {
    let server = spawn_server().await;
    // pixel: one completed backup a day, today back to 7 days ago; an abandoned one 2 days ago.
    let mut pixel = Vec::new();
    for days in 0..8 {
        pixel.push(backup(&server, "pixel", days, true).await);
    }
    let abandoned = backup(&server, "pixel", 2, false).await;
    // ipad: a single backup, a month old.
    let ipad = backup(&server, "ipad", 30, true).await;
    let cli = Cli::for_server(&server.base_url());

    let preview = cli
        .run(&[
            "cleanup",
            "-m",
            "102",
            "--keep-last",
            "2",
            "--keep-daily",
            "4",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(preview["dryRun"], json!(true));
    assert_eq!(preview["retention"], json!("keep_last 2, keep_daily 4"));
    let kept = reasons(&preview, "kept");
    let expected_kept: BTreeMap<String, String> = [
        (&pixel[0], "keep-last"),
        (&pixel[1], "keep-last"),
        (&pixel[2], "keep-daily"),
        (&pixel[3], "keep-daily"),
        (&ipad, "keep-last"),
    ]
    .into_iter()
    .map(|(id, reason)| (id.clone(), reason.to_string()))
    .collect();
    assert_eq!(kept, expected_kept);
    let delete = reasons(&preview, "candidates");
    let mut expected_delete: BTreeMap<String, String> = pixel[4..]
        .iter()
        .map(|id| (id.clone(), "not-retained".to_string()))
        .collect();
    expected_delete.insert(abandoned.clone(), "abandoned".into());
    assert_eq!(delete, expected_delete);
    assert_eq!(
        record_ids(&server.db_path, "102").len(),
        10,
        "a preview deletes nothing"
    );

    let human = cli
        .run(&["cleanup", "-m", "102", "--keep-last", "2", "--keep-daily", "4"])
        .await;
    let human = human.ok();
    assert!(
        human.stderr.contains("kept by keep_daily 4") && !human.stdout.contains(" kept by keep_daily 4"),
        "what is kept goes to stderr: {}",
        human.stderr
    );
    assert!(
        human.stdout.contains("not kept by keep_last 2, keep_daily 4"),
        "{}",
        human.stdout
    );

    let done = cli
        .run(&[
            "cleanup",
            "-m",
            "102",
            "--keep-last",
            "2",
            "--keep-daily",
            "4",
            "--yes",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert!(
        done["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["deleted"] == json!(true))
    );
    let left = record_ids(&server.db_path, "102");
    let expected_left: std::collections::BTreeSet<String> = expected_kept.keys().cloned().collect();
    assert_eq!(left, expected_left, "exactly the kept backups remain");

    let again = cli
        .run(&[
            "cleanup",
            "-m",
            "102",
            "--keep-last",
            "2",
            "--keep-daily",
            "4",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(again["candidates"], json!([]), "a second pass proposes nothing");
}

#[tokio::test]
async fn the_newest_backup_of_a_device_is_kept_unless_allowed_and_empty_policies_are_refused() {
    let server = spawn_server().await;
    let old = backup(&server, "nas", 40, true).await;
    let older = backup(&server, "nas", 43, true).await;
    let cli = Cli::for_server(&server.base_url());
    // keep_within 1d keeps what was made within a day before the newest: just the newest.
    let report = cli
        .run(&["cleanup", "-m", "102", "--keep-within", "1d", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(reasons(&report, "kept").keys().collect::<Vec<_>>(), [&old]);
    assert_eq!(
        reasons(&report, "candidates").keys().collect::<Vec<_>>(),
        [&older]
    );

    let refused = cli
        .run(&["cleanup", "-m", "102", "--keep-last", "0", "--yes"])
        .await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("keeps nothing"), "{}", refused.stderr);
    let alone = cli.run(&["cleanup", "-m", "102", "--allow-empty", "--yes"]).await;
    assert_eq!(alone.code, 2, "{alone:?}");
    assert_eq!(record_ids(&server.db_path, "102").len(), 2, "nothing was deleted");

    let emptied = cli
        .run(&[
            "cleanup",
            "-m",
            "102",
            "--keep-last",
            "0",
            "--keep-daily",
            "1",
            "--allow-empty",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(
        reasons(&emptied, "kept").len(),
        1,
        "keep_daily 1 still keeps the newest day"
    );
}

#[tokio::test]
async fn a_profile_can_hold_the_rules() {
    let server = spawn_server().await;
    let newest = backup(&server, "pixel", 1, true).await;
    let middle = backup(&server, "pixel", 2, true).await;
    let oldest = backup(&server, "pixel", 3, true).await;
    let cli = Cli::isolated().env("PROFILE_TOKEN", ALICE.1);
    cli.write_config(&format!(
        "default_profile = \"p\"\n[profiles.p]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
         token = {{ env = \"PROFILE_TOKEN\" }}\n[profiles.p.retention]\nkeep_last = 2\n",
        server.base_url()
    ));
    let report = cli.run(&["cleanup", "-m", "102", "--json"]).await.ok().json();
    assert_eq!(report["retention"], json!("keep_last 2"));
    assert_eq!(
        reasons(&report, "candidates").keys().collect::<Vec<_>>(),
        [&oldest]
    );
    // Options replace the profile's rules.
    let report = cli
        .run(&["cleanup", "-m", "102", "--keep-last", "1", "--json"])
        .await
        .ok()
        .json();
    let mut expected = vec![&middle, &oldest];
    expected.sort();
    assert_eq!(
        reasons(&report, "candidates").keys().collect::<Vec<_>>(),
        expected
    );
    assert!(reasons(&report, "kept").contains_key(&newest));
    // --allow-empty joins the profile's rules.
    let report = cli
        .run(&["cleanup", "-m", "102", "--allow-empty", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(report["retention"], json!("keep_last 2, allow_empty"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_dated_in_the_future_is_kept_flagged_and_never_the_newest() {
    // One backup made while the server's clock ran a year ahead, beside real ones of 2, 10 and
    // 40 days ago. keep_within 30d counts from the newest real backup (2 days ago): the one of
    // 40 days goes; the future one is kept, flagged, and does not make the others look old.
    let server = spawn_server().await;
    let ahead = backup(&server, "pixel", -365, true).await;
    let recent = backup(&server, "pixel", 2, true).await;
    let middle = backup(&server, "pixel", 10, true).await;
    let old = backup(&server, "pixel", 40, true).await;
    let cli = Cli::for_server(&server.base_url());
    let report = cli
        .run(&["cleanup", "-m", "102", "--keep-within", "30d", "--json"])
        .await;
    let report = report.ok().json();
    let kept = reasons(&report, "kept");
    assert_eq!(
        kept.get(&ahead).map(String::as_str),
        Some("future-dated"),
        "{report}"
    );
    assert!(
        kept.contains_key(&recent) && kept.contains_key(&middle),
        "{report}"
    );
    let candidates = reasons(&report, "candidates");
    assert_eq!(candidates.keys().collect::<Vec<_>>(), [&old], "{report}");
    assert!(
        record_ids(&server.db_path, "102").contains(&old),
        "a dry run deletes nothing"
    );
}

#[tokio::test]
async fn device_names_a_bound_device_by_id_machine_code_or_name_and_a_typo_is_an_error() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let bind = |code: &str, name: &str| {
        let args = ["device", "bind", "--machine-code", code, "--name", name, "-q"].map(String::from);
        let cli = &cli;
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            cli.run(&refs).await.ok().stdout_trimmed().to_string()
        }
    };
    let pixel = bind("PIXEL7_A", "pixel-7").await;
    let tablet_a = bind("TAB_1", "tablet").await;
    let tablet_b = bind("TAB_2", "Tablet").await;
    let old = backup(&server, &pixel, 3, true).await;
    let newest = backup(&server, &pixel, 1, true).await;
    let other = backup(&server, &tablet_a, 3, true).await;

    for given in [pixel.as_str(), "PIXEL7_A", "pixel-7", "Pixel-7"] {
        let listed = cli.run(&["record", "list", "--device", given, "-q"]).await;
        let ids: Vec<&str> = listed.ok().stdout.lines().collect();
        assert_eq!(ids.len(), 2, "{given}: {ids:?}");
        assert!(
            ids.contains(&old.as_str()) && ids.contains(&newest.as_str()),
            "{given}"
        );
    }
    let typo = cli.run(&["record", "list", "--device", "pixle-7"]).await;
    typo.code(5);
    assert!(typo.stderr.contains("no device pixle-7"), "{}", typo.stderr);
    let ambiguous = cli.run(&["cleanup", "--device", "TABLET"]).await;
    ambiguous.code(2);
    assert!(
        ambiguous.stderr.contains(&tablet_a) && ambiguous.stderr.contains(&tablet_b),
        "{}",
        ambiguous.stderr
    );
    let nightly = cli
        .run(&[
            "cleanup",
            "--keep-last",
            "1",
            "--device",
            "pixel-7",
            "--yes",
            "-q",
        ])
        .await;
    assert_eq!(
        nightly.ok().stdout_trimmed(),
        old,
        "the pixel's older backup went"
    );
    let left = record_ids(&server.db_path, "102");
    assert!(
        left.contains(&newest) && left.contains(&other) && !left.contains(&old),
        "{left:?}"
    );
    cli.run(&["cleanup", "--keep-last", "1", "--device", "nonesuch", "--yes"])
        .await
        .code(5);
}

/// Over a whole module a retention policy is weighed device by device; a dry run printed as it
/// goes (`-q`, `-o jsonl`) chooses exactly what the whole document (`--json`) does.
#[tokio::test(flavor = "multi_thread")]
async fn retention_weighed_device_by_device_streams_the_same_choice() {
    let server = spawn_server().await;
    let mut oldest = std::collections::BTreeSet::new();
    for device in ["laptop", "phone", "nas"] {
        oldest.insert(backup(&server, device, 3, true).await);
        oldest.insert(backup(&server, device, 2, true).await);
        backup(&server, device, 1, true).await;
    }
    let abandoned = backup(&server, "phone", 4, false).await;
    let cli = Cli::for_server(&server.base_url());
    let args = ["cleanup", "-m", "102", "--keep-last", "1"];
    let whole = cli.run(&[&args[..], &["--json"]].concat()).await.ok().json();
    let chosen: std::collections::BTreeSet<String> = whole["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["record"]["recordId"].as_str().unwrap().to_string())
        .collect();
    let mut expected = oldest.clone();
    expected.insert(abandoned);
    assert_eq!(chosen, expected, "{whole:#}");
    let quiet = cli.run(&[&args[..], &["-q"]].concat()).await;
    let ids: std::collections::BTreeSet<String> = quiet.ok().stdout.lines().map(str::to_string).collect();
    assert_eq!(ids, expected);
    let lines = cli
        .run(&[&args[..], &["-o", "jsonl"]].concat())
        .await
        .ok()
        .json_lines();
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "candidate").count(),
        7,
        "{lines:?}"
    );
    assert_eq!(kinds.iter().filter(|k| **k == "kept").count(), 3, "{lines:?}");
}

/// `--yes` over a whole module deletes device by device; printed as it goes (`-q`), it names
/// exactly the backups it deleted, and the newest of each device stays.
#[tokio::test(flavor = "multi_thread")]
async fn retention_deletes_device_by_device_and_names_what_went() {
    let server = spawn_server().await;
    let mut newest = std::collections::BTreeSet::new();
    let mut older = std::collections::BTreeSet::new();
    for device in ["laptop", "phone", "nas"] {
        older.insert(backup(&server, device, 3, true).await);
        older.insert(backup(&server, device, 2, true).await);
        newest.insert(backup(&server, device, 1, true).await);
    }
    let cli = Cli::for_server(&server.base_url());
    let run = cli
        .run(&["cleanup", "-m", "102", "--keep-last", "1", "--yes", "-q"])
        .await;
    let said: std::collections::BTreeSet<String> = run.ok().stdout.lines().map(str::to_string).collect();
    assert_eq!(said, older);
    assert_eq!(record_ids(&server.db_path, "102"), newest);
    let again = cli
        .run(&["cleanup", "-m", "102", "--keep-last", "1", "--yes", "-o", "jsonl"])
        .await
        .ok()
        .json_lines();
    assert!(
        again.iter().all(|l| l["kind"] == "kept"),
        "nothing left to delete: {again:?}"
    );
    assert_eq!(again.len(), 3);
}
