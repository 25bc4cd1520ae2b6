//! `koobackup lock create|renew|release|list` against the local server, through the real binary.

use crate::support;
use crate::support::cli::Cli;
use crate::support::{ALICE, PREFIX, server_time_left_ms, spawn_server};

#[tokio::test(flavor = "multi_thread")]
async fn create_list_renew_release_keep_the_journal_in_step() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());

    let created = cli.run(&["lock", "create", "--module", "102", "--json"]).await;
    let lock = created.ok().json();
    let id = lock["lockId"].as_str().unwrap().to_owned();
    assert!(id.ends_with("@102"), "{lock}");
    assert_eq!(lock["moduleCode"], "102");
    assert!(lock["secondsLeft"].as_i64().unwrap() > 590, "{lock}");
    assert_eq!(cli.journal_ids(), std::slice::from_ref(&id));

    let listed = cli.run(&["lock", "list"]).await;
    listed.ok();
    assert!(listed.stdout.contains(&id), "{}", listed.stdout);
    assert!(listed.stdout.contains("LEFT"), "{}", listed.stdout);
    assert!(
        listed.stdout.contains("09:5"),
        "mm:ss time left: {}",
        listed.stdout
    );

    let listed = cli.run(&["lock", "list", "--json"]).await.ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["lockId"], id.as_str());
    assert_eq!(listed[0]["expired"], false);

    let renewed = cli.run(&["lock", "renew", &id, "--json"]).await.ok().json();
    assert_eq!(renewed["ok"][0]["lockId"], id.as_str());
    assert_eq!(renewed["failed"], serde_json::json!([]));

    // One id the server does not know: the others are still renewed, the unknown one listed
    // as failed with its code, and the exit code is not found.
    let unknown = "3c1f0e2a-9d4b-4e8f-a6c7-5b2d1e0f9a83@101";
    let mixed = cli.run(&["lock", "renew", &id, unknown, "--json"]).await;
    mixed.code(5);
    let report = mixed.json();
    assert_eq!(report["ok"][0]["lockId"], id.as_str(), "{report}");
    assert_eq!(report["failed"][0]["id"], unknown, "{report}");
    assert_eq!(report["failed"][0]["apiCode"], 404002, "{report}");
    assert_eq!(report["failed"][0]["exitCode"], 5, "{report}");

    let released = cli.run(&["lock", "release", &id, "--json"]).await.ok().json();
    assert_eq!(released, serde_json::json!({"ok": [id], "failed": []}));
    assert!(cli.journal_ids().is_empty());

    // Released on the server too: the module can be locked again at once.
    server.lock(ALICE, "102").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_held_elsewhere_is_a_conflict() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let first = cli.run(&["lock", "create", "-m", "album", "--quiet"]).await;
    let id = first.ok().stdout_trimmed().to_owned();
    assert!(
        id.ends_with("@101"),
        "--quiet prints only the id: {:?}",
        first.stdout
    );

    let second = cli.run(&["lock", "create", "-m", "101"]).await;
    second.code(4);
    assert!(
        second.stderr.contains(&id),
        "names the journalled lock: {}",
        second.stderr
    );

    let json = cli.run(&["lock", "create", "-m", "101", "--json"]).await;
    json.code(4);
    assert!(json.stdout.is_empty());
    let error = json.json_error();
    assert_eq!(error["error"]["kind"], "conflict");
    assert_eq!(error["error"]["apiCode"], 409001);
}

#[tokio::test(flavor = "multi_thread")]
async fn releasing_an_unknown_lock_is_not_found_and_forgets_it() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let id = cli
        .run(&["lock", "create", "-m", "100", "-q"])
        .await
        .ok()
        .stdout_trimmed()
        .to_owned();

    // Released behind the CLI's back, e.g. by another tool.
    server
        .req("DELETE", &format!("{PREFIX}/lock"))
        .lock(&id)
        .send()
        .await
        .expect_ok();

    cli.run(&["lock", "release", &id]).await.code(5);
    assert!(
        cli.journal_ids().is_empty(),
        "a lock the server no longer knows is forgotten"
    );

    cli.run(&["lock", "release", "no-such-lock@100"]).await.code(5);
    let garbage = cli.run(&["lock", "release", "not-a-lock-id"]).await;
    garbage.code(2);
    assert!(garbage.stderr.contains("lock list"), "{}", garbage.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn renew_all_and_release_all_cover_every_journalled_lock() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    for module in ["100", "101", "102"] {
        cli.run(&["lock", "create", "-m", module, "-q"]).await.ok();
    }
    let ids = cli.journal_ids();
    assert_eq!(ids.len(), 3);
    // Renewed five minutes later on the server's clock: each lock then lives until minute 15,
    // five minutes past where it stood, on the server and in what the command reports.
    server.at_minute(5);
    let renewed = cli.run(&["lock", "renew", "--all", "--json"]).await.ok().json();
    server.server.set_faults(Default::default());
    let mut reported: Vec<&str> = renewed["ok"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lock| lock["lockId"].as_str().unwrap())
        .collect();
    reported.sort();
    let mut journalled: Vec<&str> = ids.iter().map(String::as_str).collect();
    journalled.sort();
    assert_eq!(reported, journalled, "{renewed}");
    for id in &ids {
        let left = server_time_left_ms(&server.db_path, id).unwrap();
        assert!(
            (14 * 60_000..=15 * 60_000).contains(&left),
            "{id}: {left} ms left on the server"
        );
    }

    // Another user's locks are not touched: bob's journal view is empty.
    let bob = Cli::for_server(&server.base_url())
        .env("KOOBACKUP_USER_ID", "bob")
        .env("KOOBACKUP_TOKEN", "bob-token")
        .env("KOOBACKUP_JOURNAL", cli.journal_path().to_str().unwrap());
    let bobs = bob.command(&["lock", "list", "--json"]).output().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&bobs.stdout).trim(), "[]");

    let released = cli.run(&["lock", "release", "--all", "--json"]).await.ok().json();
    assert_eq!(released["ok"].as_array().unwrap().len(), 3);
    assert!(cli.journal_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_lock_is_an_authentication_failure() {
    let server = spawn_server().await;
    let bobs_lock = server.lock(support::BOB, "100").await;
    let cli = Cli::for_server(&server.base_url());
    let run = cli.run(&["lock", "renew", &bobs_lock, "--json"]).await;
    run.code(3);
    assert_eq!(run.json_error()["error"]["apiCode"], 403001);
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_list_shows_expired_locks_as_expired() {
    let server =
        support::spawn_server_with(|config| config.lock_ttl = std::time::Duration::from_secs(1)).await;
    let cli = Cli::for_server(&server.base_url()).env("KOOBACKUP_LOCK_TTL_SECS", "1");
    cli.run(&["lock", "create", "-m", "102"]).await.ok();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let listed = cli.run(&["lock", "list"]).await;
    listed.ok();
    assert!(listed.stdout.contains("expired"), "{}", listed.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_lifetime_beyond_koodrives_is_refused() {
    let server = spawn_server().await;
    for ttl in ["601", "0"] {
        let cli = Cli::for_server(&server.base_url()).env("KOOBACKUP_LOCK_TTL_SECS", ttl);
        let run = cli.run(&["lock", "create", "-m", "102"]).await;
        run.code(2);
        // Named by its value and the range allowed (clap's words; the option is the hidden
        // --assume-lock-ttl-secs the variable feeds).
        assert!(
            run.stderr.contains(&format!(
                "invalid value '{ttl}' for '--assume-lock-ttl-secs <SECONDS>': {ttl} is not in 1..=600"
            )),
            "{}",
            run.stderr
        );
        assert!(cli.journal_ids().is_empty());
    }
    // Nothing was locked: Alice can still take the module.
    server.lock(ALICE, "102").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_journal_is_reported_and_left_alone() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let journal = cli.journal_path();
    std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
    std::fs::write(&journal, "{ damaged").unwrap();

    let create = cli.run(&["lock", "create", "-m", "100"]).await;
    create.code(1);
    assert!(create.stderr.contains("damaged"), "{}", create.stderr);
    cli.run(&["lock", "list"]).await.code(1);
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), "{ damaged");
    // The module was not locked: nothing was created that the journal could not remember.
    server.lock(ALICE, "100").await;

    // Commands that do not need the journal still work.
    cli.run(&["record", "list", "-m", "100"]).await.ok();
}

/// A renewal racing a release in another process: `lock renew` has its answer from the server,
/// and while it waits for the journal's file lock, another koobackup removes the lock from the
/// journal (it released it). The renewal must not bring it back. The test holds the file lock
/// itself, so the interleaving is exactly this one every time.
#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_never_brings_back_a_lock_released_meanwhile() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let id = cli
        .run(&["lock", "create", "-m", "101", "-q"])
        .await
        .ok()
        .stdout_trimmed()
        .to_string();
    let journal = cli.journal_path();
    let lock_file = journal.with_file_name("locks.json.lock");
    let guard = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_file)
        .unwrap();
    guard.lock().unwrap();
    let before = server.server.stats().requests;
    let renewal = cli.command(&["lock", "renew", &id]).spawn().unwrap();
    // The renewal has read the journal and reached the server; its journal write can only come
    // after the file lock is free.
    while server.server.stats().requests == before {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // "Another process" releases it: the journal, rewritten without the entry.
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&journal).unwrap()).unwrap();
    file["locks"] = serde_json::json!([]);
    std::fs::write(&journal, serde_json::to_vec(&file).unwrap()).unwrap();
    guard.unlock().unwrap();
    let run = support::cli::Run::new(&["lock renew"], renewal.wait_with_output().await.unwrap());
    run.ok();
    assert!(
        run.stderr.contains("removed it from the journal"),
        "{}",
        run.stderr
    );
    assert!(
        cli.journal_ids().is_empty(),
        "the released lock came back: {:?}",
        cli.journal_ids()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_koobackup_journal_the_journal_lives_in_the_data_directory() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url()).without("KOOBACKUP_JOURNAL");
    let data = cli.dir.path().join("data");
    let lock = cli.run(&["lock", "create", "-m", "100", "-q"]).await;
    let id = lock.ok().stdout_trimmed().to_owned();
    let journal = std::fs::read_to_string(data.join("koobackup/locks.json")).unwrap();
    assert!(journal.contains(&id), "{journal}");
    cli.run(&["lock", "release", &id]).await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_named_twice_is_renewed_and_released_once() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let id = cli
        .run(&["lock", "create", "-m", "100", "-q"])
        .await
        .ok()
        .stdout_trimmed()
        .to_owned();
    let renewed = cli.run(&["lock", "renew", &id, &id, "--json"]).await.ok().json();
    assert_eq!(renewed["ok"].as_array().unwrap().len(), 1, "{renewed}");
    let released = cli
        .run(&["lock", "release", &id, &id, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(released, serde_json::json!({"ok": [id], "failed": []}));
}
