//! The real binary against a hostile loopback KooDrive and against broken configurations:
//! escape sequences in every field it prints, a 100 MB answer, an endless cursor chain, dates at
//! the end of time, redirects, credentials in the URL, a hanging token command, a mistyped
//! `--config`. Each run must end with a clear message, change nothing it should not, and never
//! print a control character a terminal would obey.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::cli::{Cli, Run};
use crate::support::fake::{Fake, INJECTION, Reply, Seen, has_raw_controls, record_with};

const RECORD: &str = "1842862763295184641";
const LOCK: &str = "78e41c7e-db02-4d55-85b3-8153e4fefd2e@102";

/// Neither output stream carries a control character a terminal would act on.
fn assert_nothing_raw(run: &Run) {
    assert!(
        !has_raw_controls(&run.stdout),
        "raw controls on stdout of {}:\n{:?}",
        run.args,
        run.stdout
    );
    assert!(
        !has_raw_controls(&run.stderr),
        "raw controls on stderr of {}:\n{:?}",
        run.args,
        run.stderr
    );
}

/// Answers like the reference, with [`INJECTION`] in every text a user sees.
fn injecting(request: &Seen) -> Reply {
    let file = json!({
        "fileId": "f1",
        "fileName": format!("contacts{INJECTION}.vcf"),
        "sha256": "ab12",
        "size": 1024,
        "description": INJECTION,
        "createTime": "2025-12-17T07:59:20.752Z",
    });
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/lock") => Reply::ok(json!({ "lockId": format!("78e41c7e{INJECTION}@102") })),
        ("GET", "/record") => Reply::page(vec![record_with(RECORD, INJECTION)], None),
        ("GET", path) if path == format!("/record/{RECORD}") => Reply::ok(record_with(RECORD, INJECTION)),
        ("GET", path) if path.ends_with("/files") => Reply::page(vec![file], None),
        ("DELETE", path) if path.starts_with("/record/") => {
            Reply::error(409, json!("409001"), &format!("held by {INJECTION}"))
        }
        ("DELETE", "/lock") => Reply::ok(Value::Null),
        _ => Reply::error(404, json!(404000), &format!("no such path {INJECTION}")),
    }
}

#[tokio::test]
async fn server_text_with_escape_sequences_is_shown_visibly_in_every_command() {
    let fake = Fake::start(injecting).await;
    let cli = Cli::for_server(&fake.base_url);
    let runs = [
        vec!["record", "list", "-m", "102"],
        vec!["record", "list", "-m", "102", "-q"],
        vec!["record", "get", RECORD],
        vec!["record", "files", RECORD],
        // The granted lock id holds control characters: refused, never journalled (so `lock
        // list` has nothing to show), and named visibly.
        vec!["lock", "create", "-m", "102"],
        vec!["lock", "create", "-m", "102", "-q"],
        vec!["record", "delete", RECORD, "--lock", LOCK, "--yes"],
        vec!["record", "get", "404"],
    ];
    for args in runs {
        let run = cli.run(&args).await;
        assert_nothing_raw(&run);
        if args == ["record", "list", "-m", "102", "-q"] {
            assert_eq!(run.stdout_trimmed(), RECORD, "-q prints the ids alone");
            continue;
        }
        let shown = format!("{}{}", run.stdout, run.stderr);
        assert!(
            shown.contains("\\x1b]52;c;") || shown.contains("\\x1b]0;pwned"),
            "{}: the injected text is shown, visibly:\n{shown}",
            run.args
        );
    }
    let deleted = cli
        .run(&["record", "delete", RECORD, "--lock", LOCK, "--yes"])
        .await;
    assert_eq!(deleted.code, 4, "the server's 409 is a conflict: {deleted:?}");
    assert!(
        deleted.stderr.contains("held by \\x1b]0;pwned\\x07"),
        "{}",
        deleted.stderr
    );
}

#[tokio::test]
async fn json_output_keeps_server_text_exact_but_escaped_as_json() {
    let fake = Fake::start(injecting).await;
    let cli = Cli::for_server(&fake.base_url);
    for args in [
        vec!["record", "list", "-m", "102", "--json"],
        vec!["record", "list", "-m", "102", "--jsonl"],
        vec!["record", "get", RECORD, "--json"],
        vec!["record", "delete", RECORD, "--lock", LOCK, "--yes", "--json"],
    ] {
        let run = cli.run(&args).await;
        assert_nothing_raw(&run);
    }
    let listed = cli
        .run(&["record", "list", "-m", "102", "--json"])
        .await
        .ok()
        .json();
    let record = &listed[0];
    assert_eq!(
        record["deviceInfo"]["deviceName"],
        json!(format!("name{INJECTION}"))
    );
    assert_eq!(record["properties"], record_with(RECORD, INJECTION)["properties"]);
    let failed = cli
        .run(&["record", "delete", RECORD, "--lock", LOCK, "--yes", "--json"])
        .await;
    // The error message carries the server's text exactly (JSON escapes it, nothing else
    // does); the code stays exact, in its own field.
    let error = failed.json_error();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("held by {INJECTION}")),
        "{error}"
    );
    assert_eq!(error["error"]["apiCode"], json!(409001));
}

/// Runs the binary and returns its outcome with its peak resident memory in KiB: `VmHWM` of its
/// own address space, read every few milliseconds while it runs (the high-water mark only
/// grows, so the last reading is the peak up to then). Not `wait4`'s `ru_maxrss`: Linux folds
/// the spawning process's high-water mark into it at `exec`, so it would report this test
/// process, which holds other tests' fakes, rather than koobackup.
async fn run_measured(cli: &Cli, args: &[&str]) -> (Run, u64) {
    let mut command = cli.command(args).into_std();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let child = command.spawn().expect("spawn koobackup");
        let status_file = format!("/proc/{}/status", child.id());
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watching = done.clone();
        let watcher = std::thread::spawn(move || {
            let mut peak_kib = 0;
            while !watching.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kib) = std::fs::read_to_string(&status_file)
                    .ok()
                    .as_deref()
                    .and_then(high_water_kib)
                {
                    peak_kib = kib;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            peak_kib
        });
        let output = child.wait_with_output().expect("wait for koobackup");
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let peak_kib = watcher.join().unwrap();
        assert!(peak_kib > 0, "no reading of the child's memory");
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        (Run::new(&refs, output), peak_kib)
    })
    .await
    .unwrap()
}

/// `VmHWM` from a `/proc/PID/status` text (absent once the process has exited).
fn high_water_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_100_mb_answer_is_refused_with_bounded_memory() {
    let fake = Fake::start(|_| Reply::huge(100 << 20)).await;
    let cli = Cli::for_server(&fake.base_url);
    let (run, peak_kib) = run_measured(&cli, &["record", "list", "-m", "102", "--limit", "5"]).await;
    assert_eq!(run.code, 7, "{run:?}");
    assert!(
        run.stderr.contains("16 MiB") || run.stderr.contains("larger than"),
        "{}",
        run.stderr
    );
    println!(
        "peak RSS of `record list` against a 100 MB answer: {} MiB",
        peak_kib / 1024
    );
    assert!(peak_kib < 200 * 1024, "peak memory {peak_kib} KiB");
}

/// A record list that never ends: each page hands out a new cursor.
fn endless(request: &Seen) -> Reply {
    let n: u64 = request
        .param("cursor")
        .and_then(|c| c.strip_prefix('c').and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    match request.method.as_str() {
        "GET" => {
            let items = (0..100)
                .map(|i| record_with(&(1_842_862_763_295_184_641 - n * 100 - i).to_string(), ""))
                .collect();
            Reply::page(items, Some(&format!("c{}", n + 1)))
        }
        "POST" => Reply::ok(json!({ "lockId": LOCK })),
        _ => Reply::ok(Value::Null),
    }
}

#[tokio::test]
async fn an_endless_cursor_chain_ends_at_a_named_bound() {
    let fake = Fake::start(endless).await;
    let cli = Cli::for_server(&fake.base_url);

    let (run, peak_kib) = run_measured(&cli, &["record", "list", "-m", "102"]).await;
    assert_eq!(run.code, 9, "a bound of the command, not a server fault: {run:?}");
    assert!(
        run.stderr.contains("--max-pages 1000") || run.stderr.contains("--max-records 100000"),
        "the bound is named: {}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "no partial table passed off as the list");
    println!(
        "peak RSS of `record list` against an endless chain: {} MiB",
        peak_kib / 1024
    );
    assert!(peak_kib < 200 * 1024, "peak memory {peak_kib} KiB");

    let run = cli
        .run(&["record", "list", "-m", "102", "--max-pages", "3", "--jsonl"])
        .await;
    assert_eq!(run.code, 9, "a bound of the command, not a server fault: {run:?}");
    assert!(run.stderr.contains("--max-pages"), "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().count(),
        300,
        "the pages within the bound were streamed"
    );

    let started = Instant::now();
    let run = cli.run(&["cleanup", "-m", "102", "--max-pages", "5"]).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("--max-pages"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(60));
    let deletes = fake
        .seen()
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.starts_with("/record"))
        .count();
    assert_eq!(
        deletes, 0,
        "a clean-up that could not see the whole module deletes nothing"
    );
}

#[tokio::test]
async fn dates_and_numbers_at_the_edge_are_shown_not_fatal() {
    let fake = Fake::start(|request| {
        let mut record = record_with(RECORD, "");
        record["createTime"] = json!("+262142-12-31T23:59:59Z");
        record["endTime"] = json!("-262143-01-01T00:00:00Z");
        record["version"] = json!(i64::MAX);
        record["status"] = json!(99);
        record["moduleCode"] = json!("999");
        let mut fractional = record_with("7", "");
        fractional["version"] = json!(1e300);
        match request.path.as_str() {
            "/record" => Reply::page(
                vec![record, fractional, json!({"recordId": 5}), json!("nonsense")],
                None,
            ),
            _ => Reply::ok(record),
        }
    })
    .await;
    let cli = Cli::for_server(&fake.base_url);
    let listed = cli.run(&["record", "list", "-m", "102"]).await;
    assert!(!listed.stderr.contains("panicked"), "{listed:?}");
    assert!(listed.stdout.contains(RECORD), "{listed:?}");
    assert_eq!(listed.code, 8, "an incomplete listing: {listed:?}");
    assert!(
        listed.stderr.contains("3 items could not be read"),
        "the unreadable items are counted: {}",
        listed.stderr
    );
    let shown = cli.run(&["record", "get", RECORD]).await;
    assert!(!shown.stderr.contains("panicked"), "{shown:?}");
    let cleanup = cli.run(&["cleanup", "-m", "102"]).await;
    assert!(!cleanup.stderr.contains("panicked"), "{cleanup:?}");
}

#[tokio::test]
async fn a_redirect_is_reported_never_followed() {
    let elsewhere = Fake::start(|_| Reply::ok(json!({ "lockId": "0000@102" }))).await;
    let location = format!("{}/koodrive/ose/v1/backup/lock", elsewhere.base_url);
    let fake = Fake::start(move |_| Reply::redirect(302, &location)).await;
    let cli = Cli::for_server(&fake.base_url);
    let run = cli.run(&["lock", "create", "-m", "102"]).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&elsewhere.base_url),
        "the Location is named: {}",
        run.stderr
    );
    assert!(
        elsewhere.seen().is_empty(),
        "nothing, and no credential, went to the other host"
    );
    assert!(cli.journal_ids().is_empty(), "no lock journalled");
}

#[tokio::test]
async fn credentials_in_the_base_url_are_refused_without_echoing_them() {
    let fake = Fake::start(|_| Reply::ok(Value::Null)).await;
    let with_password = fake.base_url.replace("http://", "http://ops:hunter2@");
    let cli = Cli::for_server(&with_password);
    let run = cli.run(&["record", "list", "-m", "102"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    assert!(fake.seen().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_mistyped_config_path_is_an_error_not_the_demo_server() {
    let cli = Cli::isolated();
    let missing = cli.dir.path().join("confg.toml");
    let missing = missing.to_str().unwrap();
    let run = cli.run(&["--config", missing, "cleanup", "--yes"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("confg.toml"), "{}", run.stderr);
    let run = Cli::isolated()
        .env("KOOBACKUP_CONFIG", missing)
        .run(&["record", "list"])
        .await;
    assert_eq!(run.code, 2, "{run:?}");
}

#[tokio::test]
async fn a_hanging_token_command_times_out_with_a_clear_message() {
    let fake = Fake::start(|_| Reply::page(Vec::new(), None)).await;
    let cli = Cli::isolated().env("KOOBACKUP_SECRET_TIMEOUT_SECS", "1");
    cli.write_config(&format!(
        "default_profile = \"p\"\n[profiles.p]\nbase_url = \"{}\"\nuser_id = \"alice\"\ntoken = {{ command = \"sleep 100\" }}\n",
        fake.base_url
    ));
    let started = Instant::now();
    let run = cli.run(&["record", "list", "-m", "102"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("sleep 100") && run.stderr.contains("1 s"),
        "{}",
        run.stderr
    );
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn the_token_environment_variable_never_overrides_a_chosen_profile() {
    let fake = Fake::start(|_| Reply::page(Vec::new(), None)).await;
    let cli = Cli::isolated()
        .env("KOOBACKUP_TOKEN", "token-for-another-server")
        .env("PROFILE_TOKEN", "the-profiles-token");
    cli.write_config(&format!(
        "[profiles.p]\nbase_url = \"{}\"\nuser_id = \"alice\"\ntoken = {{ env = \"PROFILE_TOKEN\" }}\n",
        fake.base_url
    ));
    let run = cli.run(&["--profile", "p", "record", "list", "-m", "102"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let sent: Vec<String> = fake
        .seen()
        .iter()
        .filter_map(|r| r.header("authorization").map(str::to_string))
        .collect();
    assert_eq!(sent, ["Bearer the-profiles-token"]);
    let check = cli.run(&["--profile", "p", "config", "check"]).await;
    assert!(
        check.stdout.contains("KOOBACKUP_TOKEN"),
        "config check says it is ignored: {check:?}"
    );
}

#[tokio::test]
async fn a_lock_granted_for_another_module_is_given_back_and_never_used() {
    const FOREIGN: &str = "78e41c7e-db02-4d55-85b3-8153e4fefd2e@101";
    let fake = Fake::start(|request| match request.method.as_str() {
        "POST" => Reply::ok(json!({ "lockId": FOREIGN })),
        _ => Reply::ok(Value::Null),
    })
    .await;
    let cli = Cli::for_server(&fake.base_url);
    let run = cli.run(&["lock", "create", "-m", "102"]).await;
    assert_eq!(run.code, 7, "{run:?}");
    assert!(
        run.stderr.contains("module 102") && run.stderr.contains("module 101"),
        "{}",
        run.stderr
    );
    let marker = cli.dir.path().join("ran");
    let script = format!("touch '{}'", marker.display());
    let held = cli
        .run(&["lock", "hold", "-m", "102", "--", "sh", "-c", &script])
        .await;
    assert_eq!(held.code, 7, "{held:?}");
    assert!(!marker.exists(), "COMMAND never runs under another module's lock");
    let released = fake
        .seen()
        .iter()
        .filter(|r| r.is("DELETE", "/lock") && r.header("x-backup-lock-id") == Some(FOREIGN))
        .count();
    assert_eq!(released, 2, "each wrong lock was given back: {:?}", fake.seen());
    assert!(cli.journal_ids().is_empty(), "no lock journalled");
}

#[tokio::test]
async fn clean_up_never_ages_records_by_a_server_clock_far_ahead() {
    let now = chrono::Utc::now();
    let young = (now - chrono::Duration::hours(2)).to_rfc3339();
    let old = (now - chrono::Duration::days(3)).to_rfc3339();
    let fake = Fake::start(move |request| {
        let reply = match request.method.as_str() {
            "GET" if request.param("moduleCode").as_deref() == Some("102") => {
                let mut fresh = record_with("1842862763295184641", "");
                fresh["createTime"] = json!(young);
                let mut stale = record_with("1842862763295184640", "");
                stale["createTime"] = json!(old);
                Reply::page(vec![fresh, stale], None)
            }
            "GET" => Reply::page(Vec::new(), None),
            _ => Reply::ok(Value::Null),
        };
        // A broken server (or proxy) stamping a date years ahead.
        reply.with_header("date", "Sat, 01 Dec 2035 00:00:00 GMT")
    })
    .await;
    let cli = Cli::for_server(&fake.base_url);
    let run = cli.run(&["cleanup", "-m", "102", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON report");
    let proposed: Vec<&str> = report["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .filter_map(|c| c["record"]["recordId"].as_str())
        .collect();
    assert_eq!(
        proposed,
        ["1842862763295184640"],
        "only the record abandoned for 3 days by this machine's clock: {}",
        run.stdout
    );
}

#[tokio::test]
async fn a_config_file_named_on_purpose_without_a_profile_is_an_error() {
    let cli = Cli::isolated();
    let empty = cli.dir.path().join("empty.toml");
    std::fs::write(&empty, "# profiles come later\n").unwrap();
    let run = cli
        .run(&["--config", empty.to_str().unwrap(), "record", "list", "-m", "102"])
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("defines no profile") && run.stderr.contains("empty.toml"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "no demo data passed off as the user's");
}

/// Pages of ten-megabyte answers (100 records with 100 KB of properties each), eight of them.
fn heavy_pages() -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    let page = |n: u64| {
        let items: Vec<Value> = (0..100)
            .map(|i| {
                let mut item = record_with(&(1_842_862_763_295_184_641 - n * 100 - i).to_string(), "");
                item["properties"] = json!(format!("{{\"blob\":\"{}\"}}", "x".repeat(100_000)));
                item
            })
            .collect();
        let next = (n < 7).then(|| format!("c{}", n + 1));
        json!({"code": 0, "msg": "success", "data": items, "nextCursor": next}).to_string()
    };
    let pages: Vec<axum::body::Bytes> = (0..8).map(|n| page(n).into()).collect();
    move |request| {
        let n: usize = request
            .param("cursor")
            .and_then(|c| c.strip_prefix('c').and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        match (request.method.as_str(), pages.get(n)) {
            ("GET", Some(body)) => Reply::Raw {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: axum::body::Body::from(body.clone()),
            },
            ("POST", _) => Reply::ok(json!({ "lockId": LOCK })),
            _ => Reply::ok(Value::Null),
        }
    }
}

#[tokio::test]
async fn a_listing_too_big_to_hold_is_refused_and_jsonl_streams_it() {
    let fake = Fake::start(heavy_pages()).await;
    let cli = Cli::for_server(&fake.base_url);
    let (run, peak_kib) = run_measured(&cli, &["record", "list", "-m", "102"]).await;
    assert_eq!(run.code, 9, "a bound of the command, not a server fault: {run:?}");
    assert!(
        run.stderr.contains("more than 64 MiB") && run.stderr.contains("--jsonl"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "no partial table passed off as the list");
    println!(
        "peak RSS of `record list` over 80 MB of pages: {} MiB",
        peak_kib / 1024
    );
    assert!(peak_kib < 400 * 1024, "peak memory {peak_kib} KiB");

    let streamed = cli.run(&["record", "list", "-m", "102", "--jsonl"]).await;
    assert_eq!(streamed.code, 0, "{:?}", streamed.stderr);
    assert_eq!(streamed.stdout.lines().count(), 800, "every record streamed");

    let cleanup = cli.run(&["cleanup", "-m", "102", "--yes"]).await;
    assert_eq!(cleanup.code, 9, "a limit: {cleanup:?}");
    assert!(
        cleanup.stderr.contains("more than 64 MiB") && cleanup.stderr.contains("--device"),
        "{}",
        cleanup.stderr
    );
    assert!(
        !cleanup.stderr.contains("--jsonl"),
        "no way out that does not help: {}",
        cleanup.stderr
    );
    assert!(
        !fake
            .seen()
            .iter()
            .any(|r| r.method == "DELETE" && r.path.starts_with("/record")),
        "nothing deleted from a listing that could not be held"
    );
    assert!(
        fake.seen().iter().any(|r| r.is("DELETE", "/lock")),
        "the clean-up's lock was given back"
    );
}
