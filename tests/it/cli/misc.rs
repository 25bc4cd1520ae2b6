//! Exit codes, `config check`, `cleanup`, `serve` and the embedded demo server,
//! through the real binary.

use std::time::Duration;

use crate::support::cli::{ALICE_TOKEN, BIN, Cli};
use crate::support::{ALICE, spawn_server, spawn_server_with};
use koobackup::server::Faults;
use tokio::io::AsyncBufReadExt;

#[tokio::test(flavor = "multi_thread")]
async fn every_exit_code_is_distinct_and_reported_as_json() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());

    // 2: usage (clap), also as JSON with --json.
    let usage = cli.run(&["lock", "create", "--module", "999", "--json"]).await;
    usage.code(2);
    let error = usage.json_error();
    assert_eq!(error["error"]["kind"], "usage");
    assert!(
        error["error"]["message"].as_str().unwrap().contains("999"),
        "{error}"
    );

    // 3: authentication.
    let wrong = Cli::for_server(&server.base_url()).env("KOOBACKUP_TOKEN", "not-the-token");
    let auth = wrong.run(&["record", "list", "--json"]).await;
    auth.code(3);
    assert_eq!(auth.json_error()["error"]["apiCode"], 401001);

    // 4: conflict.
    server.lock(ALICE, "100").await;
    cli.run(&["lock", "create", "-m", "100"]).await.code(4);

    // 5: not found.
    cli.run(&["record", "get", "123456789"]).await.code(5);

    // 6: network (nothing listens on port 1).
    let nowhere = Cli::for_server("http://127.0.0.1:1");
    let network = nowhere.run(&["record", "list", "--timeout", "2"]).await;
    network.code(6);
    assert!(network.stderr.contains("127.0.0.1:1"), "{}", network.stderr);

    // 7: server error.
    server.server.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    cli.run(&["record", "list", "-m", "100"]).await.code(7);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_never_taken_from_the_command_line() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url()).without("KOOBACKUP_TOKEN");
    let missing = cli.run(&["record", "list"]).await;
    missing.code(2);
    assert!(missing.stderr.contains("KOOBACKUP_TOKEN"), "{}", missing.stderr);
    assert!(missing.stderr.contains("--token-file"), "{}", missing.stderr);
    cli.run(&["--token", ALICE_TOKEN, "record", "list"]).await.code(2);

    let token_file = cli.dir.path().join("token");
    std::fs::write(&token_file, format!("{ALICE_TOKEN}\n")).unwrap();
    set_mode(&token_file, 0o600);
    cli.run(&["record", "list", "--token-file", token_file.to_str().unwrap()])
        .await
        .ok();
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn config_check_reads_the_profile_and_reports_in_plain_words() {
    // The server clock runs two minutes ahead: config check must say so.
    let server = spawn_server_with(|config| config.faults.clock_offset = chrono::Duration::minutes(2)).await;
    let cli = Cli::isolated();
    let token_file = cli.dir.path().join("token");
    std::fs::write(&token_file, format!("{ALICE_TOKEN}\n")).unwrap();
    set_mode(&token_file, 0o644);
    cli.write_config(&format!(
        "default_profile = \"local\"\n[profiles.local]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
         token = {{ file = \"{}\" }}\n",
        server.base_url(),
        token_file.display()
    ));

    let check = cli.run(&["config", "check"]).await;
    check.ok();
    assert!(check.stdout.contains("using profile local"), "{}", check.stdout);
    assert!(
        check.stdout.contains("chmod 600"),
        "token file permissions: {}",
        check.stdout
    );
    assert!(
        check.stdout.contains("behind the server"),
        "clock offset: {}",
        check.stdout
    );

    let json = cli.run(&["config", "check", "--json"]).await.ok().json();
    assert_eq!(json["ok"], true);
    let checks = json["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["check"] == "clock" && c["status"] == "warning"),
        "{json}"
    );

    // The profile works for ordinary commands too.
    set_mode(&token_file, 0o600);
    cli.run(&["record", "list"]).await.ok();

    // A token command that fails is named, its output is not repeated.
    cli.write_config(&format!(
        "default_profile = \"local\"\n[profiles.local]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
         token = {{ command = \"echo $((40+2))-partial-secret; exit 1\" }}\n",
        server.base_url()
    ));
    let failing = cli.run(&["config", "check"]).await;
    failing.code(2);
    assert!(failing.stdout.contains("token command"), "{}", failing.stdout);
    assert!(
        !failing.stdout.contains("42-partial-secret"),
        "{}",
        failing.stdout
    );

    // A wrong token is an authentication problem, in words.
    std::fs::write(&token_file, "wrong-token\n").unwrap();
    cli.write_config(&format!(
        "default_profile = \"local\"\n[profiles.local]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
         token = {{ file = \"{}\" }}\n",
        server.base_url(),
        token_file.display()
    ));
    let rejected = cli.run(&["config", "check"]).await;
    rejected.code(3);
    assert!(rejected.stdout.contains("access token"), "{}", rejected.stdout);

    // A broken file names the line.
    cli.write_config("default_profile = \"local\"\n[profiles.local]\nbase_url = 42\n");
    let broken = cli.run(&["config", "check"]).await;
    broken.code(2);
    assert!(broken.stdout.contains("line 3"), "{}", broken.stdout);

    cli.write_config(&format!(
        "[profiles.local]\nbase_url = \"{}\"\nuser_id = \"alice\"\ntoken = {{ env = \"KOOBACKUP_TOKEN\" }}\n",
        server.base_url()
    ));
    let unknown = cli.run(&["--profile", "nope", "record", "list"]).await;
    unknown.code(2);
    assert!(unknown.stderr.contains("\"nope\""), "{}", unknown.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_is_a_dry_run_unless_told_yes() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    // The records are made an hour ago on the server's clock, which stamps them; then its clock
    // is put right. (Ages are measured on the earlier of its clock and ours, so they are 1 h old
    // by both.)
    server.server.set_faults(Faults {
        clock_offset: chrono::Duration::hours(-1),
        ..Faults::default()
    });
    let lock = cli.run(&["lock", "create", "-m", "101", "-q"]).await;
    let lock = lock.ok().stdout_trimmed().to_owned();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let run = cli
            .run(&[
                "record", "create", "-m", "101", "--device", "d", "--lock", &lock, "-q",
            ])
            .await;
        ids.push(run.ok().stdout_trimmed().to_owned());
    }
    cli.run(&["record", "complete", &ids[2], "--lock", &lock])
        .await
        .ok();
    cli.run(&["lock", "release", "--all"]).await.ok();
    server.server.set_faults(Faults::default());

    // Records an hour old are not abandoned under the default rule (24 h), nor under 2 h.
    let none = cli.run(&["cleanup", "--json"]).await.ok().json();
    assert_eq!(none["candidates"].as_array().unwrap().len(), 0);
    cli.run(&["lock", "create", "-m", "101", "-q"]).await.ok();
    let young = cli
        .run(&["cleanup", "--older-than", "2h", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(young["candidates"].as_array().unwrap().len(), 0, "{young}");

    // With the module locked (by us, for a running backup), --yes skips it: conflict.
    let locked = cli
        .run(&["cleanup", "--older-than", "0s", "--yes", "-m", "101"])
        .await;
    locked.code(4);
    assert!(locked.stderr.contains("locked"), "{}", locked.stderr);
    cli.run(&["lock", "release", "--all"]).await.ok();

    let dry = cli
        .run(&["cleanup", "--older-than", "30m", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(dry["dryRun"], true);
    let candidates = dry["candidates"].as_array().unwrap();
    assert_eq!(
        candidates.len(),
        2,
        "the completed record is never a candidate: {dry}"
    );
    assert!(
        candidates
            .iter()
            .all(|c| c["reasonCode"] == "abandoned" && c["deleted"] == false)
    );
    cli.run(&["record", "get", &ids[0]]).await.ok();

    let table = cli.run(&["cleanup", "--older-than", "30m"]).await;
    assert!(table.ok().stderr.contains("dry run"), "{}", table.stderr);

    let done = cli
        .run(&["cleanup", "--older-than", "30m", "--yes", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(done["dryRun"], false);
    let gone = done["candidates"].as_array().unwrap();
    assert_eq!(gone.len(), 2, "{done}");
    assert!(gone.iter().all(|c| c["deleted"] == true), "{done}");
    cli.run(&["record", "get", &ids[0]]).await.code(5);
    cli.run(&["record", "get", &ids[1]]).await.code(5);
    cli.run(&["record", "get", &ids[2]]).await.ok();
    assert!(cli.journal_ids().is_empty(), "clean-up locks are released");

    cli.run(&["cleanup", "--yes", "--dry-run"]).await.code(2);
    cli.run(&["cleanup", "--older-than", "soon"]).await.code(2);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_profile_the_embedded_demo_server_is_used() {
    let cli = Cli::isolated();
    let records = cli.run(&["record", "list", "--json"]).await;
    let list = records.ok().json();
    assert!(list.as_array().unwrap().len() >= 10, "demo data: {list}");
    assert!(
        records.stderr.is_empty(),
        "no notes with --json: {}",
        records.stderr
    );

    let noted = cli.run(&["record", "list", "-m", "100"]).await;
    assert!(
        noted.ok().stderr.contains("embedded demo server"),
        "{}",
        noted.stderr
    );

    // The demo database persists between runs, and so do journalled locks.
    let lock = cli
        .run(&["lock", "create", "-m", "102", "-q"])
        .await
        .ok()
        .stdout_trimmed()
        .to_owned();
    let listed = cli.run(&["lock", "list", "-q"]).await;
    assert_eq!(listed.ok().stdout_trimmed(), lock);
    cli.run(&["lock", "create", "-m", "102"]).await.code(4);
    cli.run(&["lock", "release", &lock]).await.ok();

    // --fresh resets the demo database and forgets the locks held on it.
    cli.run(&["lock", "create", "-m", "101", "-q"]).await.ok();
    cli.run(&["--fresh", "lock", "create", "-m", "101", "-q"])
        .await
        .ok();
    assert_eq!(
        cli.journal_ids().len(),
        1,
        "only the lock created after the reset"
    );

    // The demo plan: per module two records still new after a day and one marked to be deleted.
    let demo = cli.run(&["cleanup", "--json"]).await.ok().json();
    let mut reasons: Vec<&str> = demo["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reasonCode"].as_str().unwrap())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [["abandoned"; 6].as_slice(), &["marked-for-deletion"; 3]].concat(),
        "{demo}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_its_address_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, format!("# test users\nalice:{ALICE_TOKEN}\n")).unwrap();
    set_mode(&users, 0o600);
    let mut server = tokio::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--lock-ttl-secs", "5", "--db"])
        .arg(dir.path().join("serve.sqlite"))
        .arg("--log-file")
        .arg(dir.path().join("serve.log"))
        .arg("--users-file")
        .arg(&users)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("serve printed nothing")
        .unwrap()
        .unwrap();
    let base_url = first.strip_prefix("listening on ").expect(&first).to_owned();

    let cli = Cli::for_server(&base_url).env("KOOBACKUP_LOCK_TTL_SECS", "5");
    let lock = cli
        .run(&["lock", "create", "-m", "100", "--json"])
        .await
        .ok()
        .json();
    assert!(lock["secondsLeft"].as_i64().unwrap() <= 5, "{lock}");

    // SAFETY: SIGTERM to our own child process.
    unsafe { libc::kill(i32::try_from(server.id().unwrap()).unwrap(), libc::SIGTERM) };
    let status = tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let served = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(
        served.contains("served") && served.contains("status=200"),
        "{served}"
    );
    assert!(!served.contains(ALICE_TOKEN), "{served}");
    cli.run(&["record", "list", "--timeout", "2"]).await.code(6);

    let nobody = cli.run(&["serve", "--listen", "127.0.0.1:0"]).await;
    nobody.code(2);
    assert!(nobody.stderr.contains("--seed-demo"), "{}", nobody.stderr);
    let db = dir.path().join("remote.sqlite");
    let remote = cli
        .run(&[
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--seed-demo",
            "--db",
            db.to_str().unwrap(),
        ])
        .await;
    remote.code(2);
    assert!(remote.stderr.contains("--allow-remote"), "{}", remote.stderr);

    // Contradicting users are refused, not silently resolved one way.
    let db = db.to_str().unwrap();
    let demo_twice = cli
        .run(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db,
            "--seed-demo",
            "--user",
            "demo-user:mine",
        ])
        .await;
    demo_twice.code(2);
    assert!(
        demo_twice.stderr.contains("\"demo-user\""),
        "{}",
        demo_twice.stderr
    );
    assert!(
        !demo_twice.stderr.contains("mine"),
        "no token in the message: {}",
        demo_twice.stderr
    );
    let twice = cli
        .run(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db,
            "--user",
            "a:one",
            "--user",
            "a:two",
        ])
        .await;
    twice.code(2);
    assert!(twice.stderr.contains("given twice"), "{}", twice.stderr);
    assert!(
        !twice.stderr.contains(":one") && !twice.stderr.contains(":two"),
        "{}",
        twice.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stdout_ends_every_output_form_quietly_with_exit_0() {
    // The embedded demo data: records, devices and (after the first command) a held lock.
    let cli = Cli::isolated();
    cli.run(&["lock", "create", "-m", "100", "-q"]).await.ok();
    let forms: &[&[&str]] = &[
        &["record", "list"],
        &["record", "list", "--json"],
        &["record", "list", "--jsonl"],
        &["record", "list", "-q"],
        &["lock", "list"],
        &["lock", "list", "--json"],
        &["device", "list"],
        &["device", "list", "--json"],
        &["cleanup"],
        &["cleanup", "--json"],
        &["cleanup", "-q"],
    ];
    for args in forms {
        // The reading end is closed before koobackup writes anything: its first write fails.
        let mut child = cli.command(args).spawn().unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.lines().all(|line| line.starts_with("note:")),
            "{args:?}: nothing but notes on stderr: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_sends_nothing_that_changes_the_server() {
    let server = crate::support::spawn_server().await;
    let lock = server.lock(crate::support::ALICE, "100").await;
    let record = server.record(crate::support::ALICE, &lock, "100", "pixel").await["recordId"]
        .as_str()
        .unwrap()
        .to_string();
    let cli = Cli::for_server(&server.base_url());

    // --read-only: reads work; a change fails with exit 2 before anything is sent.
    cli.run(&["--read-only", "record", "get", &record]).await.ok();
    let before = server.server.stats().requests;
    let create = cli.run(&["--read-only", "lock", "create", "-m", "101"]).await;
    create.code(2);
    assert!(create.stderr.contains("read-only mode"), "{}", create.stderr);
    assert_eq!(server.server.stats().requests, before, "nothing was sent");

    // The same from the profile.
    let config = cli.write_config(&format!(
        "default_profile = \"look\"\n[profiles.look]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
         token = {{ env = \"KOOBACKUP_TOKEN\" }}\nread_only = true\n",
        server.base_url()
    ));
    assert!(config.exists());
    let profiled = cli.without("KOOBACKUP_BASE_URL").without("KOOBACKUP_USER_ID");
    let delete = profiled
        .run(&["record", "delete", &record, "--lock", &lock, "--yes"])
        .await;
    delete.code(2);
    assert!(delete.stderr.contains("read-only mode"), "{}", delete.stderr);
    // Clean-up with --yes is refused before it lists anything it could not delete.
    let cleanup = profiled.run(&["cleanup", "--yes", "--older-than", "0s"]).await;
    cleanup.code(2);
    assert!(cleanup.stderr.contains("read-only mode"), "{}", cleanup.stderr);
    assert!(
        crate::support::record_ids(&server.db_path, "100").contains(&record),
        "the record is still there"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_check_warns_of_an_ignored_koobackup_token_only_when_it_is_ignored() {
    let server = crate::support::spawn_server().await;
    let cli = Cli::isolated().env("KOOBACKUP_TOKEN", ALICE_TOKEN);
    let profile = |token: &str| {
        format!(
            "default_profile = \"p\"\n[profiles.p]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
             token = {token}\n",
            server.base_url()
        )
    };
    // The profile reads that very variable: nothing is ignored.
    cli.write_config(&profile("{ env = \"KOOBACKUP_TOKEN\" }"));
    let check = cli.run(&["config", "check"]).await;
    assert!(!check.ok().stdout.contains("not used"), "{}", check.stdout);
    // The profile reads another one: $KOOBACKUP_TOKEN is set for nothing, and said so.
    let other = cli.env("OTHER_TOKEN", ALICE_TOKEN);
    other.write_config(&profile("{ env = \"OTHER_TOKEN\" }"));
    let check = other.run(&["config", "check"]).await;
    assert!(check.ok().stdout.contains("not used"), "{}", check.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn config_check_checks_the_apps_keys_and_colours_with_their_line() {
    let server = spawn_server().await;
    let cli = Cli::isolated().env("KOOBACKUP_TOKEN", ALICE_TOKEN);
    let profile = format!(
        "default_profile = \"local\"\n[profiles.local]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
         token = {{ env = \"KOOBACKUP_TOKEN\" }}\n",
        server.base_url()
    );
    cli.write_config(&format!("{profile}[keys.locks]\nrenew = \"e\"\n"));
    let fine = cli.run(&["config", "check"]).await;
    assert!(
        fine.ok()
            .stdout
            .contains("[keys] and [theme] of the config file work"),
        "{}",
        fine.stdout
    );
    cli.write_config(&format!("{profile}[theme]\nkey = \"no-such-colour\"\n"));
    let broken = cli.run(&["config", "check"]).await;
    broken.code(2);
    assert!(
        broken
            .stdout
            .contains("line 7, column 7: [theme] key: \"no-such-colour\" is not a colour"),
        "{}",
        broken.stdout
    );
}
