//! `koobackup status` through the real binary against the real local server: devices backed up
//! now, 36 h and 3 days ago (made by setting the server's clock back while backing up, as a real
//! server would have stamped them), every exit code of the plugin contract and every form; the
//! Prometheus file read back by the official Python parser; many users with an app credential.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::cli::{Cli, Run};
use crate::support::prometheus;
use crate::support::{ALICE, APP, BOB, PREFIX, TestServer, spawn_server};
use koobackup::server::Faults;

/// Minutes added to every age, so that a second's rounding of the server's `Date` never makes
/// "3d 0h" read "2d 23h".
pub const MARGIN_MINUTES: i64 = 10;

/// Binds `machine` as `name` for `user` and completes a backup of it in module 102 `hours` (and
/// [`MARGIN_MINUTES`]) ago on the server's clock. Returns the device id.
pub async fn backed_up(
    server: &TestServer,
    user: (&str, &str),
    machine: &str,
    name: &str,
    hours: i64,
) -> String {
    server.at_minute(-(hours + 1) * 60 - MARGIN_MINUTES);
    let bound = server
        .req_on_server_clock("POST", &format!("{PREFIX}/device"))
        .user(user)
        .json(json!({"machineCode": machine, "deviceName": name, "deviceOS": "Linux"}))
        .send()
        .await;
    bound.expect_ok();
    let device = bound.body["data"]["deviceId"].as_str().unwrap().to_string();
    server.at_minute(-hours * 60 - MARGIN_MINUTES);
    let lock = server.lock(user, "102").await;
    let record = server.record(user, &lock, "102", &device).await;
    let id = record["recordId"].as_str().unwrap();
    for (method, path) in [
        ("PATCH", format!("{PREFIX}/record/{id}")),
        ("DELETE", format!("{PREFIX}/lock")),
    ] {
        server
            .req_on_server_clock(method, &path)
            .user(user)
            .lock(&lock)
            .send()
            .await
            .expect_ok();
    }
    server.server.set_faults(Faults::default());
    device
}

/// Alice's three devices: `PIXEL_NOW` backed up now, `IPAD_LATE` 36 h ago, `NAS_STALE` three
/// days ago.
pub async fn fleet(server: &TestServer) {
    backed_up(server, ALICE, "NAS_STALE", "Home NAS", 72).await;
    backed_up(server, ALICE, "IPAD_LATE", "iPad Air", 36).await;
    backed_up(server, ALICE, "PIXEL_NOW", "Pixel 9", 0).await;
}

/// The plugin's first line, split at the `|`: (status and summary, perfdata).
fn first_line(run: &Run) -> (String, String) {
    let line = run.stdout.lines().next().unwrap_or_default();
    let (text, perfdata) = line.split_once(" | ").unwrap_or((line, ""));
    (text.to_string(), perfdata.to_string())
}

/// The perfdata value of `label` (`'label'=value;…`).
fn perf(perfdata: &str, label: &str) -> Option<String> {
    perfdata.split(' ').find_map(|item| {
        let (name, rest) = item.split_once('=')?;
        (name.trim_matches('\'') == label).then(|| rest.split(';').next().unwrap_or_default().to_string())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_late_and_stale_devices_are_ok_warning_and_critical() {
    let server = spawn_server().await;
    fleet(&server).await;
    let cli = Cli::for_server(&server.base_url());

    let all = cli.run(&["status"]).await;
    all.code(2);
    let (text, perfdata) = first_line(&all);
    assert!(
        text.starts_with("KOOBACKUP CRITICAL - Home NAS address book stale"),
        "{text}"
    );
    assert!(
        text.contains("iPad Air address book late"),
        "the worst named first: {text}"
    );
    let lines: Vec<&str> = all.stdout.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "one line per module that is not OK: {lines:?}");
    assert!(
        lines[0].starts_with("CRITICAL: Home NAS (NAS_STALE, id "),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("is stale: last backup 3d 0h ago"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("WARNING: iPad Air (IPAD_LATE"),
        "{}",
        lines[1]
    );
    assert!(all.stderr.is_empty(), "nothing on stderr: {}", all.stderr);
    for (label, expected) in [("devices", "3"), ("ok", "7"), ("warning", "1"), ("critical", "1")] {
        assert_eq!(
            perf(&perfdata, label).as_deref(),
            Some(expected),
            "{label}: {perfdata}"
        );
    }
    let stale_age: i64 = perf(&perfdata, "NAS_STALE/address-book")
        .unwrap()
        .trim_end_matches('s')
        .parse()
        .unwrap();
    let expected = 72 * 3600 + MARGIN_MINUTES * 60;
    assert!(
        (expected - 120..=expected + 120).contains(&stale_age),
        "{perfdata}"
    );
    assert!(perfdata.contains("'NAS_STALE/address-book'=") && perfdata.contains(";93600;180000;0"));
    assert_eq!(
        perf(&perfdata, "PIXEL_NOW/folder"),
        None,
        "unused modules have no age"
    );

    // Each device alone: by name, machine code or id.
    cli.run(&["status", "--device", "pixel 9"]).await.code(0);
    let late = cli.run(&["status", "--device", "IPAD_LATE"]).await;
    late.code(1);
    assert!(
        first_line(&late)
            .0
            .starts_with("KOOBACKUP WARNING - iPad Air address book late")
    );
    let ok = cli.run(&["status", "--device", "PIXEL_NOW"]).await;
    assert!(
        first_line(&ok)
            .0
            .starts_with("KOOBACKUP OK - 1 device, every backup fresh"),
        "{ok:?}"
    );
    assert_eq!(ok.stdout.lines().count(), 1);

    // Thresholds from the command line: three days is only late under a 4-day limit.
    cli.run(&["status", "--crit-age", "4d"]).await.code(1);
    cli.run(&["status", "--warn-age", "80h", "--crit-age", "90h"])
        .await
        .code(0);
    // Modules with no records are unused: fine.
    cli.run(&["status", "-m", "folder"]).await.code(0);

    // -o wide lists every module, and the journal's locks.
    let lock_id = cli
        .run(&["lock", "create", "-m", "101", "-q"])
        .await
        .ok()
        .stdout_trimmed()
        .to_string();
    let wide = cli.run(&["status", "-o", "wide"]).await;
    wide.code(2);
    assert_eq!(wide.stdout.lines().filter(|l| l.starts_with("OK: ")).count(), 7);
    assert!(
        wide.stdout
            .lines()
            .any(|l| l.starts_with("LOCK: lock ") && l.contains(&lock_id)),
        "{}",
        wide.stdout
    );
    // --quiet: the first line alone.
    assert_eq!(cli.run(&["status", "-q"]).await.code(2).stdout.lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_has_every_device_and_module_with_its_state_and_the_journals_locks() {
    let server = spawn_server().await;
    fleet(&server).await;
    let cli = Cli::for_server(&server.base_url());
    let lock_id = cli
        .run(&["lock", "create", "-m", "102", "-q"])
        .await
        .ok()
        .stdout_trimmed()
        .to_string();
    let run = cli.run(&["status", "--json"]).await;
    run.code(2);
    let doc = run.json();
    assert_eq!(
        (doc["state"].as_str(), doc["exitCode"].as_i64()),
        (Some("CRITICAL"), Some(2))
    );
    let user = &doc["users"][0];
    assert_eq!(user["userId"], "alice");
    assert_eq!(user["locks"][0]["lockId"], lock_id.as_str());
    assert_eq!(user["locks"][0]["userId"], "alice");
    assert_eq!(user["locks"][0]["ownerState"], "kept");
    let devices = user["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 3);
    let by_machine = |code: &str| devices.iter().find(|d| d["machineCode"] == code).unwrap();
    for (machine, state, freshness) in [
        ("PIXEL_NOW", "OK", "fresh"),
        ("IPAD_LATE", "WARNING", "late"),
        ("NAS_STALE", "CRITICAL", "stale"),
    ] {
        let device = by_machine(machine);
        assert_eq!(
            (device["state"].as_str(), device["freshness"].as_str()),
            (Some(state), Some(freshness))
        );
        assert_eq!(device["modules"].as_array().unwrap().len(), 3);
        let book = &device["modules"][2];
        assert_eq!(book["moduleCode"], "102");
        assert_eq!(book["userId"], "alice");
        assert_eq!(
            book["records"],
            json!({"total": 1, "new": 0, "completed": 1, "toBeDeleted": 0, "other": 0})
        );
        assert_eq!(device["modules"][0]["freshness"], "unused");
    }
    let stale = &by_machine("NAS_STALE")["modules"][2];
    let age = stale["ageSeconds"].as_i64().unwrap();
    let expected = 72 * 3600 + MARGIN_MINUTES * 60;
    assert!((expected - 120..=expected + 120).contains(&age), "{stale}");
    assert_eq!(stale["since"], "last-completed");
    assert_eq!(
        cli.run(&["status", "-o", "jsonl"]).await.json_lines().len(),
        1,
        "one document"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn anything_that_is_not_a_verdict_is_unknown() {
    let server = spawn_server().await;
    fleet(&server).await;
    let unknown = |run: &Run, says: &str| {
        run.code(3);
        let (text, _) = first_line(run);
        assert!(text.starts_with("KOOBACKUP UNKNOWN - "), "{run:?}");
        assert!(text.contains(says), "{says:?} in {text}");
    };
    // Nothing bound.
    let bob = Cli::for_server(&server.base_url())
        .env("KOOBACKUP_USER_ID", BOB.0)
        .env("KOOBACKUP_TOKEN", BOB.1);
    unknown(&bob.run(&["status"]).await, "no bound device");
    // Credentials refused.
    let wrong = Cli::for_server(&server.base_url()).env("KOOBACKUP_TOKEN", "not-the-token");
    unknown(&wrong.run(&["status"]).await, "401001");
    // The server unreachable.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let nowhere = Cli::for_server(&url);
    let run = nowhere.run(&["status", "--timeout", "2"]).await;
    unknown(&run, "cannot talk to the KooDrive server");
    // Bad options: the plugin contract, not clap's exit 2.
    let cli = Cli::for_server(&server.base_url());
    unknown(&cli.run(&["status", "--warn-age", "3x"]).await, "is not an age");
    unknown(
        &cli.run(&["status", "--warn-age", "3d", "--crit-age", "1d"]).await,
        "past the critical age",
    );
    unknown(
        &cli.run(&["status", "--no-such-option"]).await,
        "--no-such-option",
    );
    unknown(&cli.run(&["status", "--device", "toaster"]).await, "toaster");
    unknown(
        &cli.run(&["status", "--users", "/nonexistent/users"]).await,
        "cannot read the users file",
    );
    // In JSON too: the document says UNKNOWN, with the reason.
    let json = wrong.run(&["status", "--json"]).await;
    json.code(3);
    let doc = json.json();
    assert_eq!(doc["state"], "UNKNOWN");
    assert_eq!(doc["users"][0]["error"]["kind"], "authentication");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_sets_thresholds_per_module_and_required_modules() {
    let server = spawn_server().await;
    fleet(&server).await;
    let cli = Cli::isolated().env("PROFILE_TOKEN", ALICE.1);
    let config = |health: &str| {
        cli.write_config(&format!(
            "default_profile = \"p\"\n[profiles.p]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
             token = {{ env = \"PROFILE_TOKEN\" }}\n{health}",
            server.base_url()
        ))
    };
    config("[profiles.p.health]\nwarn_age = \"2d\"\ncrit_age = \"4d\"\n");
    cli.run(&["status"]).await.code(1);
    config("[profiles.p.health.modules.address-book]\nwarn_age = \"1h\"\ncrit_age = \"30h\"\n");
    let run = cli.run(&["status", "--json"]).await;
    run.code(2);
    assert_eq!(run.json()["rules"]["modules"]["102"]["critAgeSeconds"], 30 * 3600);
    // The command line wins over the profile.
    cli.run(&["status", "--warn-age", "4d", "--crit-age", "5d"])
        .await
        .code(0);
    // A required module no device backs up: stale from each device's binding.
    config("[profiles.p.health.modules.album]\nrequired = true\n");
    let run = cli.run(&["status", "--device", "PIXEL_NOW"]).await;
    run.code(0);
    let run = cli.run(&["status", "--device", "NAS_STALE", "-m", "album"]).await;
    run.code(2);
    assert!(
        run.stdout.contains("no backup since it was bound 3d 1h ago"),
        "{}",
        run.stdout
    );
    // config check names the rules; a broken section is refused by name.
    let check = cli.run(&["config", "check"]).await;
    check.ok();
    assert!(
        check
            .stdout
            .contains("module 101: late after 1d2h, stale after 2d2h, required"),
        "{}",
        check.stdout
    );
    config("[profiles.p.health]\nwarn_age = \"3d\"\ncrit_age = \"1d\"\n");
    let check = cli.run(&["config", "check"]).await;
    check.code(2);
    assert!(check.stdout.contains("past the critical age"), "{}", check.stdout);
}

/// The families and samples of a file the parser read, by name.
fn gauge<'a>(families: &'a Value, name: &str, machine: &str) -> Vec<&'a Value> {
    prometheus::samples(families, name)
        .into_iter()
        .filter(|s| s["labels"]["machine_code"] == machine)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prometheus_file_reads_back_with_the_official_parser() {
    let server = spawn_server().await;
    fleet(&server).await;
    let cli = Cli::for_server(&server.base_url());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("koobackup.prom");
    let file_arg = file.to_str().unwrap();
    let before = chrono::Utc::now().timestamp();
    cli.run(&["status", "--prometheus", file_arg]).await.code(2);
    let families = prometheus::parse(&file);
    for family in families.as_array().unwrap() {
        assert_eq!(family["type"], "gauge", "{family}");
        assert!(!family["help"].as_str().unwrap().is_empty(), "{family}");
        assert!(family["name"].as_str().unwrap().starts_with("koobackup_"));
    }
    let up = prometheus::samples(&families, "koobackup_status_up");
    assert_eq!(up.len(), 1);
    assert_eq!(
        (up[0]["labels"]["user"].as_str(), up[0]["value"].as_f64()),
        (Some("alice"), Some(1.0))
    );
    assert_eq!(
        prometheus::samples(&families, "koobackup_status_state")[0]["value"],
        2.0
    );
    for (machine, hours, state) in [
        ("PIXEL_NOW", 0, 0.0),
        ("IPAD_LATE", 36, 1.0),
        ("NAS_STALE", 72, 2.0),
    ] {
        let last = gauge(&families, "koobackup_last_completed_timestamp_seconds", machine);
        assert_eq!(last.len(), 1, "only the module with a backup: {last:?}");
        let labels = &last[0]["labels"];
        assert_eq!(
            (labels["module"].as_str(), labels["user"].as_str()),
            (Some("102"), Some("alice"))
        );
        assert!(labels["device"].as_str().is_some_and(|d| !d.is_empty()));
        let at = last[0]["value"].as_f64().unwrap() as i64;
        let expected = before - hours * 3600 - MARGIN_MINUTES * 60;
        assert!(
            (expected - 120..=expected + 120).contains(&at),
            "{machine}: {at} vs {expected}"
        );
        let states = gauge(&families, "koobackup_module_state", machine);
        let book = states.iter().find(|s| s["labels"]["module"] == "102").unwrap();
        assert_eq!(book["value"], state, "{machine}");
        let records = gauge(&families, "koobackup_records", machine);
        assert!(records.iter().any(|s| s["labels"]["status"] == "completed"
            && s["labels"]["module"] == "102"
            && s["value"] == 1.0));
    }
    assert_eq!(
        gauge(&families, "koobackup_crit_age_seconds", "NAS_STALE")[0]["value"],
        180_000.0
    );
    // Written atomically: nothing else left in the directory; readable by a collector.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o044,
        0o044
    );

    // Sizes, when asked for, and an unreachable server: up 0 (the file is replaced, not left).
    crate::support::insert_files(&server.db_path, &first_record(&server).await, 2);
    cli.run(&["status", "--sizes", "--prometheus", file_arg])
        .await
        .code(2);
    let sizes = prometheus::samples(&prometheus::parse(&file), "koobackup_backup_size_bytes").len();
    assert_eq!(sizes, 3, "one size per module with backups");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = Cli::for_server(&format!("http://{}", closed.local_addr().unwrap()));
    drop(closed);
    nowhere
        .run(&["status", "--timeout", "2", "--prometheus", file_arg])
        .await
        .code(3);
    let families = prometheus::parse(&file);
    assert_eq!(
        prometheus::samples(&families, "koobackup_status_up")[0]["value"],
        0.0
    );
    assert!(prometheus::samples(&families, "koobackup_last_completed_timestamp_seconds").is_empty());
    // A file that cannot be written is UNKNOWN at least (CRITICAL stays CRITICAL).
    let run = cli
        .run(&[
            "status",
            "--device",
            "PIXEL_NOW",
            "--prometheus",
            "/nonexistent/dir/k.prom",
        ])
        .await;
    run.code(3);
    assert!(
        run.stdout.contains("cannot write the Prometheus file"),
        "{}",
        run.stdout
    );
}

/// The id of one of alice's records in module 102.
async fn first_record(server: &TestServer) -> String {
    let listed = server
        .req("GET", &format!("{PREFIX}/record"))
        .query(&[("moduleCode", "102"), ("pageSize", "1")])
        .send()
        .await;
    listed.body["data"][0]["recordId"].as_str().unwrap().to_string()
}

/// A file listing `users`, one a line, with a comment.
fn users_file(dir: &Path, users: &[&str]) -> String {
    let path = dir.join("users.txt");
    std::fs::write(&path, format!("# carrier users\n\n{}\n", users.join("\n"))).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_checks_many_users_and_names_each_everywhere() {
    let server = spawn_server().await;
    fleet(&server).await;
    backed_up(&server, BOB, "BOB_PHONE", "Bob phone", 1).await;
    let cli = Cli::isolated()
        .env("KOOBACKUP_BASE_URL", &server.base_url())
        .env("KOOBACKUP_USER_ID", "alice")
        .env("KOOBACKUP_APP_SECRET", APP.1);
    let users = users_file(cli.dir.path(), &["alice", "bob", "carol"]);
    let prom = cli.dir.path().join("users.prom");
    let run = cli
        .run(&[
            "status",
            "--app-id",
            APP.0,
            "--users",
            &users,
            "--prometheus",
            prom.to_str().unwrap(),
        ])
        .await;
    run.code(2);
    assert!(
        !run.stdout.contains(APP.1) && !run.stderr.contains(APP.1),
        "the app secret leaked"
    );
    let (text, perfdata) = first_line(&run);
    assert!(
        text.starts_with("KOOBACKUP CRITICAL - alice: Home NAS address book stale"),
        "{text}"
    );
    assert!(
        perfdata.contains("'alice/NAS_STALE/address-book'=")
            && perfdata.contains("'bob/BOB_PHONE/address-book'=")
    );
    let lines: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("UNKNOWN: carol: user carol has no bound device")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains("alice: ") || l.contains("carol: ")),
        "{lines:?}"
    );
    let families = prometheus::parse(&prom);
    let up: Vec<(String, f64)> = prometheus::samples(&families, "koobackup_status_up")
        .iter()
        .map(|s| {
            (
                s["labels"]["user"].as_str().unwrap().to_string(),
                s["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        up,
        [("alice".into(), 1.0), ("bob".into(), 1.0), ("carol".into(), 0.0)]
    );
    assert!(
        prometheus::samples(&families, "koobackup_module_state")
            .iter()
            .all(|s| s["labels"]["user"].is_string())
    );
    let doc = cli
        .run(&["status", "--app-id", APP.0, "--users", &users, "--json"])
        .await
        .json();
    let users: Vec<&str> = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userId"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["alice", "bob", "carol"]);
    let bob = &doc["users"][1];
    assert_eq!(bob["state"], "OK");
    assert_eq!(bob["devices"][0]["userId"], "bob");
    assert_eq!(bob["devices"][0]["modules"][2]["userId"], "bob");
    // A bearer token belongs to one user: the others are UNKNOWN.
    let bearer = Cli::for_server(&server.base_url());
    let users = users_file(bearer.dir.path(), &["alice", "bob"]);
    let run = bearer.run(&["status", "--users", &users]).await;
    run.code(2);
    assert!(
        run.stdout.contains("UNKNOWN: bob: ") && run.stdout.contains("app credentials"),
        "{}",
        run.stdout
    );
}

/// `--log-file` lines of `run` that list a record's files.
fn file_listings(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains("/files\""))
        .count()
}

/// Every module's `sizeBytes` in a `status --json` report, by device and module.
fn sizes_of(report: &Value) -> Vec<(String, String, Value)> {
    let mut sizes = Vec::new();
    for user in report["users"].as_array().into_iter().flatten() {
        for device in user["devices"].as_array().into_iter().flatten() {
            for module in device["modules"].as_array().into_iter().flatten() {
                sizes.push((
                    device["machineCode"].to_string(),
                    module["moduleCode"].to_string(),
                    module["sizeBytes"].clone(),
                ));
            }
        }
    }
    sizes
}

#[tokio::test(flavor = "multi_thread")]
async fn sizes_are_read_once_and_again_only_for_records_that_changed() {
    let server = spawn_server().await;
    fleet(&server).await;
    crate::support::insert_files(&server.db_path, &first_record(&server).await, 3);
    let cli = Cli::for_server(&server.base_url());
    let dir = tempfile::tempdir().unwrap();
    let status = async |n: usize| {
        let log = dir.path().join(format!("run-{n}.log"));
        let args = ["status", "--sizes", "--json"];
        let output = cli
            .command(&args)
            .env("KOOBACKUP_LOG", &log)
            .output()
            .await
            .unwrap();
        let run = Run::new(&args, output);
        run.code(2);
        (sizes_of(&run.json()), file_listings(&log))
    };

    let (first, listed) = status(1).await;
    assert!(listed > 0, "the first run reads the file lists");
    assert!(
        first
            .iter()
            .any(|(_, _, size)| size.as_u64().is_some_and(|s| s > 0)),
        "{first:?}"
    );
    let (second, listed) = status(2).await;
    assert_eq!(listed, 0, "the second run reads none");
    assert_eq!(second, first, "and shows the same sizes");

    // A damaged cache is read past, not trusted: the sizes are read again, and come out right.
    let cache = cli.home().join(".cache/koobackup/sizes");
    for entry in std::fs::read_dir(&cache).unwrap() {
        std::fs::write(
            entry.unwrap().path(),
            b"{\"format\":\"koobackup-sizes-1\",\"server\"",
        )
        .unwrap();
    }
    let (third, listed) = status(3).await;
    assert!(listed > 0, "a damaged cache is not used");
    assert_eq!(third, first);
}
