//! The output switch (`-o table|wide|json|jsonl`), tables fitted to the terminal, the JSON shape
//! of records, and what the help, the manual page and completion offer: the real binary against
//! the real local server.

use std::time::Duration;

use crate::support::cli::Cli;
use crate::support::fake::{Fake, Reply};
use crate::support::pty::{Tui, answer_the_question};
use crate::support::{ALICE, spawn_server};

/// A server with one record of module 100 made from a device with a long id and a long name.
/// It was made a day ago on the server's clock (so clean-up finds it abandoned) under a lock
/// that has been released since.
async fn server_with_a_long_device() -> (crate::support::TestServer, String) {
    let server = spawn_server().await;
    server.at_minute(-25 * 60);
    let lock = server.lock(ALICE, "100").await;
    let device = "device-with-a-very-long-identifier-0123456789abcdef0123456789";
    let record = server.record(ALICE, &lock, "100", device).await;
    release(&server, &lock).await;
    server.at_minute(0);
    (server, record["recordId"].as_str().unwrap().to_string())
}

async fn release(server: &crate::support::TestServer, lock: &str) {
    server
        .req_on_server_clock("DELETE", &format!("{}/lock", crate::support::PREFIX))
        .lock(lock)
        .send()
        .await
        .expect_ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_output_switch_with_json_and_jsonl_as_aliases() {
    let (server, id) = server_with_a_long_device().await;
    let cli = Cli::for_server(&server.base_url());
    let by_switch = cli.run(&["record", "list", "-m", "100", "-o", "json"]).await;
    let by_alias = cli.run(&["record", "list", "-m", "100", "--json"]).await;
    assert_eq!(by_switch.ok().json(), by_alias.ok().json());
    assert_eq!(by_switch.json()[0]["recordId"], id.as_str());

    let lines = cli.run(&["record", "list", "-m", "100", "-o", "jsonl"]).await;
    assert_eq!(lines.ok().json_lines(), vec![by_switch.json()[0].clone()]);
    assert_eq!(
        cli.run(&["record", "list", "-m", "100", "--jsonl"])
            .await
            .json_lines(),
        lines.json_lines()
    );

    // Every list streams as JSON lines: locks, devices, clean-up.
    cli.run(&["lock", "create", "-m", "101", "-q"]).await.ok();
    let locks = cli.run(&["lock", "list", "-o", "jsonl"]).await;
    let locks = locks.ok().json_lines();
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0]["moduleCode"], "101", "{:?}", locks[0]);
    let devices = cli.run(&["device", "list", "-o", "jsonl"]).await;
    assert!(
        devices
            .ok()
            .json_lines()
            .iter()
            .all(|d| d["deviceId"].is_string())
    );
    let cleanup = cli.run(&["cleanup", "-m", "100", "-o", "jsonl"]).await;
    let candidates = cleanup.ok().json_lines();
    assert_eq!(candidates.len(), 1, "{candidates:?}");
    assert_eq!(candidates[0]["kind"], "candidate");
    assert_eq!(candidates[0]["dryRun"], true);
    assert_eq!(candidates[0]["record"]["recordId"], id.as_str());

    // Two forms at once is a usage error, reported as JSON since JSON was asked for.
    let both = cli.run(&["record", "list", "--json", "-o", "table"]).await;
    both.code(2);
    assert_eq!(both.json_error()["error"]["kind"], "usage");
    cli.run(&["record", "list", "-o", "yaml"]).await.code(2);
}

#[tokio::test(flavor = "multi_thread")]
async fn records_carry_the_status_name_a_null_end_time_and_complete_returns_the_record() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let created = cli
        .run(&[
            "record",
            "create",
            "-m",
            "102",
            "--device",
            "pixel-8",
            "--auto-lock",
            "--json",
        ])
        .await;
    let created = created.ok().json();
    assert_eq!(created["status"], 0);
    assert_eq!(created["statusName"], "new");
    assert_eq!(created["moduleCode"], "102");
    assert!(
        created.as_object().unwrap()["endTime"].is_null(),
        "endTime is there, as null: {created}"
    );
    let id = created["recordId"].as_str().unwrap();

    let completed = cli
        .run(&[
            "record",
            "complete",
            id,
            "--properties",
            r#"{"files": 3}"#,
            "--auto-lock",
            "-o",
            "json",
        ])
        .await;
    let completed = completed.ok().json();
    assert_eq!(completed["recordId"], id, "the record itself, read back");
    assert_eq!(completed["status"], 1);
    assert_eq!(completed["statusName"], "completed");
    assert!(completed["endTime"].is_string(), "{completed}");
    assert_eq!(
        completed["properties"], r#"{"files":3}"#,
        "as the server stored it"
    );
    let got = cli.run(&["record", "get", id, "--json"]).await;
    assert_eq!(got.ok().json(), completed);

    let lock = cli.run(&["lock", "create", "-m", "100", "--json"]).await;
    let lock = lock.ok().json();
    assert_eq!(lock["moduleCode"], "100", "the API's field name: {lock}");
    assert!(lock.get("module").is_none(), "{lock}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipe_gets_every_cell_in_full_with_the_zone_and_no_headers_on_request() {
    let (server, id) = server_with_a_long_device().await;
    let cli = Cli::for_server(&server.base_url())
        .env("TZ", "UTC")
        .env("COLUMNS", "40");
    let table = cli.run(&["record", "list", "-m", "100"]).await;
    let table = table.ok().stdout.clone();
    assert!(
        !table.contains('…'),
        "a pipe is never cut, whatever $COLUMNS says:\n{table}"
    );
    assert!(table.contains("device-with-a-very-long-identifier-0123456789abcdef0123456789"));
    assert!(table.contains(" UTC"), "times name their zone:\n{table}");
    assert!(table.starts_with("RECORD ID"));

    let bare = cli.run(&["record", "list", "-m", "100", "--no-headers"]).await;
    let bare = bare.ok().stdout.clone();
    assert!(bare.starts_with(&id), "{bare}");
    assert_eq!(bare.lines().count(), 1);

    let wide = cli.run(&["record", "list", "-m", "100", "-o", "wide"]).await;
    let wide = wide.ok().stdout.clone();
    assert!(wide.lines().next().unwrap().ends_with("PROPERTIES"), "{wide}");
    assert!(wide.contains(r#"{"n":1}"#), "{wide}");
}

/// Runs `args` in a pseudo-terminal `columns` wide (by `$COLUMNS`) and returns its screen.
fn screen_of(base_url: &str, args: &[&str], columns: &str) -> String {
    screen_in(
        tempfile::tempdir().unwrap().path(),
        base_url,
        args,
        columns,
        "UTC",
    )
}

/// [`screen_of`] with the home (and so the lock journal) in `dir`, in time zone `tz`.
fn screen_in(dir: &std::path::Path, base_url: &str, args: &[&str], columns: &str, tz: &str) -> String {
    let all: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--base-url", base_url, "--user-id", ALICE.0])
        .collect();
    let mut tty = Tui::run_in_pty(&all, dir, &[("COLUMNS", columns), ("TZ", tz)]);
    let status = tty.wait_exit(Duration::from_secs(30));
    assert_eq!(status.exit_code(), 0, "{}", tty.contents());
    tty.contents()
}

#[tokio::test(flavor = "multi_thread")]
async fn at_80_columns_every_table_fits_with_whole_words_and_says_what_it_left_out() {
    let server = spawn_server().await;
    let home = tempfile::tempdir().unwrap();
    let journal = crate::support::pty::journal_path(home.path());
    let cli = Cli::for_server(&server.base_url()).env("KOOBACKUP_JOURNAL", journal.to_str().unwrap());
    let device = cli
        .run(&[
            "device",
            "bind",
            "--machine-code",
            "LAPTOP_7F3A_WORKSTATION",
            "--name",
            "Mia ThinkPad X1 Carbon",
            "--os",
            "Fedora 41 Workstation",
            "-q",
        ])
        .await
        .ok()
        .stdout_trimmed()
        .to_string();
    for _ in 0..2 {
        let id = new_record(&cli, &device).await;
        cli.run(&["record", "complete", &id, "--auto-lock", "-q"])
            .await
            .ok();
    }
    new_record(&cli, &device).await;
    cli.run(&["lock", "create", "-m", "102", "--auto-renew"])
        .await
        .ok();
    let url = server.base_url();
    let dir = home.path().to_path_buf();
    let screens = tokio::task::spawn_blocking(move || {
        [
            vec!["record", "list"],
            vec!["device", "list"],
            vec!["cleanup", "--keep-last", "1"],
            vec!["lock", "list"],
        ]
        .map(|args| screen_in(&dir, &url, &args, "80", "CET-1"))
    })
    .await
    .unwrap();
    for screen in &screens {
        for line in screen.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns:\n{screen}",
                line.chars().count()
            );
        }
        assert!(
            !screen.contains("complet…"),
            "no word of a status is cut:\n{screen}"
        );
    }
    assert!(
        screens[0].contains("CREATED +01:00"),
        "the zone once:\n{}",
        screens[0]
    );
    assert!(
        screens[0].contains("left out to fit 80 columns: ENDED"),
        "{}",
        screens[0]
    );
    assert!(screens[3].contains("LOCK ID"), "{}", screens[3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn at_a_terminal_tables_fit_its_width_and_wide_shows_everything() {
    let (server, id) = server_with_a_long_device().await;
    let url = server.base_url();
    let (narrow, wide) = tokio::task::spawn_blocking(move || {
        (
            screen_of(&url, &["record", "list", "-m", "100"], "100"),
            screen_of(&url, &["record", "list", "-m", "100", "-o", "wide"], "100"),
        )
    })
    .await
    .unwrap();
    // The note saying which columns were left out to fit goes to stderr, on the same screen.
    let lines: Vec<&str> = narrow
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note:"))
        .collect();
    assert_eq!(lines.len(), 2, "a header and one row:\n{narrow}");
    for line in &lines {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line:?}",
            line.chars().count()
        );
    }
    assert!(
        lines[1].contains('…'),
        "the long device id is cut with …:\n{narrow}"
    );
    assert!(
        lines[1].starts_with(&format!("{id} ")),
        "the record id is whole:\n{narrow}"
    );
    assert!(lines[0].starts_with("RECORD ID"));

    assert!(!wide.contains('…'), "-o wide cuts nothing:\n{wide}");
    assert!(wide.contains("device-with-a-very-long-identifier"), "{wide}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_read_says_it_is_retried_and_the_timeout_is_per_attempt() {
    // The first answer is a 503, the second the page: the note says a retry happened.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let fake = Fake::start(move |seen| {
        if seen.is("GET", "/record") && counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Reply::error(503, serde_json::json!(500001), "busy")
        } else {
            Reply::page(Vec::new(), None)
        }
    })
    .await;
    let cli = Cli::for_server(&fake.base_url);
    let run = cli
        .run(&["record", "list", "-m", "100", "--timeout", "1.5s"])
        .await;
    run.ok();
    let retries: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("trying again"))
        .collect();
    assert_eq!(retries.len(), 1, "{}", run.stderr);
    assert!(
        retries[0].starts_with("note: listing records failed (HTTP 503, code 500001); trying again in"),
        "in words, said briefly: {}",
        retries[0]
    );

    cli.run(&["record", "list", "--timeout", "0"]).await.code(2);
    let help = cli.run(&["record", "list", "--help"]).await;
    assert!(help.ok().stdout.contains("one attempt"), "{}", help.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conflict_is_said_once_in_command_line_words() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    cli.run(&["lock", "create", "-m", "100", "-q"]).await.ok();
    let again = cli.run(&["lock", "create", "-m", "100"]).await;
    again.code(4);
    let message = again.stderr.trim();
    assert_eq!(message.matches("release it or wait").count(), 1, "{message}");
    assert_eq!(message.matches("already").count(), 1, "said once: {message}");
    assert!(message.contains("`koobackup lock list`"), "{message}");
    for tui_words in ["refresh", "press", "the list"] {
        assert!(!message.to_lowercase().contains(tui_words), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_can_come_from_standard_input() {
    use tokio::io::AsyncWriteExt;
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url()).without("KOOBACKUP_TOKEN");
    let mut child = cli
        .command(&["record", "list", "-m", "100", "--token-file", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n", crate::support::cli::ALICE_TOKEN).as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let run = crate::support::cli::Run::new(&["record", "list"], output);
    assert_eq!(run.ok().json(), serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn help_has_a_global_options_heading_and_describes_every_argument() {
    let cli = Cli::isolated();
    for command in [
        &["record", "delete", "--help"][..],
        &["record", "get", "--help"],
        &["lock", "renew", "--help"],
        &["device", "scopes", "--help"],
    ] {
        let help = cli.run(command).await;
        let text = &help.ok().stdout;
        assert!(text.contains("\nGlobal options:\n"), "{command:?}:\n{text}");
        // Every positional argument line has a description after its name.
        let arguments = text
            .split("Arguments:\n")
            .nth(1)
            .map(|rest| rest.split("\n\n").next().unwrap_or_default())
            .unwrap_or_default();
        for line in arguments.lines() {
            let described = line
                .trim_start()
                .split_once("  ")
                .is_some_and(|(_, d)| !d.trim().is_empty());
            assert!(described, "{command:?}: undescribed argument {line:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_completions_and_man_refuse_client_options() {
    let cli = Cli::isolated();
    for args in [
        &["serve", "--base-url", "http://127.0.0.1:9"][..],
        &["completions", "bash", "--profile", "work"],
        &["man", "--timeout", "3"],
        &["serve", "--read-only"],
        &["man", "--log-file", "x.log"],
        &["completions", "fish", "-o", "json"],
    ] {
        let run = cli.run(args).await;
        run.code(2);
        assert!(
            run.stderr.contains("talks to no server and does not take"),
            "{args:?}: {}",
            run.stderr
        );
    }
    // From the environment it is no typed option: ignored as before.
    let run = cli
        .env("KOOBACKUP_BASE_URL", "http://127.0.0.1:9")
        .run(&["completions", "bash"])
        .await;
    run.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn man_prints_a_page_for_koobackup_and_for_each_command() {
    let cli = Cli::isolated();
    let page = cli.run(&["man"]).await;
    assert!(
        page.ok().stdout.starts_with(".ie"),
        "{}",
        &page.stdout[..80.min(page.stdout.len())]
    );
    assert!(page.stdout.contains(".TH koobackup"), "a roff page");
    assert!(page.stdout.contains("cleanup"), "it lists the commands");
    let delete = cli.run(&["man", "record", "delete"]).await;
    assert!(
        delete.ok().stdout.contains(".TH koobackup-record-delete 1"),
        "{}",
        delete.stdout
    );
    assert!(delete.stdout.contains("RECORD_ID"), "{}", delete.stdout);
    assert!(
        delete.stdout.contains(env!("CARGO_PKG_VERSION")),
        "command pages carry the version"
    );
    cli.run(&["man", "help"]).await.code(2);
    let unknown = cli.run(&["man", "record", "shred"]).await;
    unknown.code(2);
    assert!(unknown.stderr.contains("create, list, get"), "{}", unknown.stderr);
}

/// What fish would be offered for the last word of `words`.
async fn completions_for(cli: &Cli, words: &[&str]) -> Vec<String> {
    let mut args = vec!["--", "koobackup"];
    args.extend_from_slice(words);
    let run = cli.command(&args).env("COMPLETE", "fish").output().await.unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn completion_offers_journal_lock_ids_profiles_and_modules() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let created = cli.run(&["lock", "create", "-m", "101", "-q"]).await;
    let lock_id = created.ok().stdout_trimmed().to_string();
    cli.write_config(
        "default_profile = \"work\"\n[profiles.work]\nbase_url = \"http://127.0.0.1:9\"\nuser_id = \"a\"\n\
         token = { env = \"T\" }\n[profiles.home]\nbase_url = \"http://127.0.0.1:9\"\nuser_id = \"b\"\n\
         token = { env = \"T\" }\n",
    );

    let values =
        |all: Vec<String>| -> Vec<String> { all.into_iter().filter(|c| !c.starts_with('-')).collect() };
    let ids = values(completions_for(&cli, &["lock", "release", ""]).await);
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(ids[0].starts_with(&format!("{lock_id}\t101 album")), "{ids:?}");
    let ids = values(completions_for(&cli, &["record", "delete", "1", "--lock", ""]).await);
    assert!(ids[0].starts_with(&lock_id), "{ids:?}");

    let profiles = values(completions_for(&cli, &["--profile", ""]).await);
    assert_eq!(profiles, ["home", "work"]);

    let modules = values(completions_for(&cli, &["record", "list", "-m", ""]).await);
    assert_eq!(modules, ["100\tfolder", "101\talbum", "102\taddress book"]);

    let commands = completions_for(&cli, &["lock", ""]).await;
    assert!(commands.iter().any(|c| c.starts_with("hold")), "{commands:?}");

    for shell in ["bash", "zsh", "fish"] {
        let script = cli.run(&["completions", shell]).await;
        assert!(
            script.ok().stdout.contains("COMPLETE"),
            "{shell}: the script asks koobackup"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_yes_at_a_terminal_confirms_more_than_ten_records_naming_them() {
    let server = spawn_server().await;
    // Made a day ago on the server's clock: all eleven are abandoned now.
    server.at_minute(-25 * 60);
    let lock = server.lock(ALICE, "101").await;
    let mut ids = Vec::new();
    for n in 0..11 {
        let record = server.record(ALICE, &lock, "101", &format!("phone-{n}")).await;
        ids.push(record["recordId"].as_str().unwrap().to_string());
    }
    release(&server, &lock).await;
    server.at_minute(0);
    let url = server.base_url();
    let ask = |answer: &'static str| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            answer_the_question(&url, &["cleanup", "--yes", "-m", "101"], answer)
        })
    };
    let (code, question) = ask("n").await.unwrap();
    assert_eq!(code, 1, "declining is not success");
    assert!(question.contains("These 11 records"), "{question}");
    assert!(
        question.contains(&ids[0]) && question.contains("phone-0"),
        "{question}"
    );
    assert_eq!(
        crate::support::record_ids(&server.db_path, "101").len(),
        11,
        "nothing went"
    );

    let (code, _) = ask("y").await.unwrap();
    assert_eq!(code, 0);
    assert!(crate::support::record_ids(&server.db_path, "101").is_empty());
}

/// Creates a record in module 100 for `device`, under a lock taken for this one command;
/// returns its id.
async fn new_record(cli: &Cli, device: &str) -> String {
    let created = cli
        .run(&[
            "record",
            "create",
            "-m",
            "100",
            "--device",
            device,
            "--auto-lock",
            "-q",
        ])
        .await;
    created.ok().stdout_trimmed().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_lists_kept_backups_on_stderr_so_stdout_is_only_what_goes() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = new_record(&cli, "nas").await;
        cli.run(&["record", "complete", &id, "--auto-lock", "-q"])
            .await
            .ok();
        ids.push(id);
    }
    let run = cli
        .run(&["cleanup", "-m", "100", "--keep-last", "1", "--no-headers"])
        .await;
    run.ok();
    let rows: Vec<&str> = run.stdout.lines().filter(|l| l.contains("100 folder")).collect();
    assert_eq!(rows.len(), 1, "only the candidate on stdout:\n{}", run.stdout);
    assert!(rows[0].starts_with(&ids[0]), "the older one goes: {}", run.stdout);
    assert!(
        !run.stdout.contains("kept by the retention policy"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("kept by the retention policy") && run.stderr.contains(&ids[1]),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_of_another_module_or_without_a_module_is_refused_before_anything_is_sent() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let id = new_record(&cli, "nas").await;
    let album = cli.run(&["lock", "create", "-m", "101", "-q"]).await;
    let album = album.ok().stdout_trimmed().to_string();
    for command in [&["complete"][..], &["add-file", "--name", "x.vcf"]] {
        let mut args = vec!["record", command[0], id.as_str()];
        args.extend_from_slice(&command[1..]);
        args.extend(["--lock", album.as_str()]);
        let before = server.server.stats().requests;
        let refused = cli.run(&args).await;
        refused.code(4);
        assert_eq!(
            server.server.stats().requests,
            before + 1,
            "{args:?}: only the record was read: {}",
            refused.stderr
        );
        args.pop();
        args.push("no-module-here");
        cli.run(&args).await.code(2);
    }
    let record = cli.run(&["record", "get", &id, "--json"]).await;
    assert_eq!(record.ok().json()["status"], 0, "still new");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_needs_no_lock_and_device_lists_print_ids_with_quiet() {
    let (server, id) = server_with_a_long_device().await;
    let cli = Cli::for_server(&server.base_url());
    let dry = cli.run(&["record", "delete", &id, "--dry-run"]).await;
    dry.ok();
    assert!(dry.stdout.contains(&id), "{}", dry.stdout);
    assert!(dry.stderr.contains("needs a lock for it"), "{}", dry.stderr);
    let device = cli.run(&["device", "bind", "--machine-code", "MC1", "-q"]).await;
    let device = device.ok().stdout_trimmed().to_string();
    let added = cli
        .run(&[
            "device",
            "scope-add",
            &device,
            "-m",
            "101",
            "--local",
            "/DCIM",
            "-q",
        ])
        .await;
    let scope = added.ok().stdout_trimmed().to_string();
    assert!(
        !scope.contains(' ') && !scope.is_empty(),
        "an id alone: {scope:?}"
    );
    let scopes = cli.run(&["device", "scopes", &device, "-m", "101", "-q"]).await;
    assert_eq!(scopes.ok().stdout_trimmed(), scope);
    let configs = cli.run(&["device", "configs", &device, "-m", "101", "-q"]).await;
    assert!(
        configs.ok().stdout.lines().all(|l| !l.contains(' ')),
        "{}",
        configs.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_typed_at_a_terminal_is_not_shown_and_enter_ends_it() {
    let server = spawn_server().await;
    let url = server.base_url();
    let screen = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let mut tty = Tui::run_in_pty(
            &[
                "record",
                "list",
                "-m",
                "100",
                "--token-file",
                "-",
                "--base-url",
                &url,
                "--user-id",
                ALICE.0,
            ],
            dir.path(),
            &[],
        );
        tty.wait_text("access token (not shown):");
        tty.send(&format!("{}\r", crate::support::cli::ALICE_TOKEN));
        let status = tty.wait_exit(Duration::from_secs(30));
        let screen = tty.contents();
        assert_eq!(status.exit_code(), 0, "{screen}");
        tty.assert_token_never_shown();
        screen
    })
    .await
    .unwrap();
    assert!(!screen.contains(crate::support::cli::ALICE_TOKEN), "{screen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_listing_stops_when_its_reader_leaves_without_waiting_for_the_next_page() {
    use tokio::io::AsyncBufReadExt;
    // Page 1 comes at once; page 2 never does (its answer's body never ends). A listing that
    // noticed the reader only at its next write would wait for page 2 until --timeout (60 s)
    // and fail as a network error.
    let fake = Fake::start(|request| {
        if request.param("cursor").is_some() {
            let never = futures::stream::pending::<Result<axum::body::Bytes, std::convert::Infallible>>();
            return Reply::Raw {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: axum::body::Body::from_stream(never),
            };
        }
        let items = (0..3)
            .map(|n| crate::support::fake::record_with(&format!("{n}"), "x"))
            .collect();
        Reply::page(items, Some("page-2"))
    })
    .await;
    let cli = Cli::for_server(&fake.base_url);
    let mut child = cli
        .command(&["record", "list", "-m", "102", "--jsonl", "--timeout", "60"])
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    assert!(first.contains("\"recordId\""), "{first}");
    // Page 2 has been asked for: the listing waits on it when the reader leaves.
    crate::support::wait_until("page 2 to be asked for", Duration::from_secs(20), || {
        fake.seen().iter().any(|r| r.param("cursor").is_some())
    })
    .await;
    drop(lines);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the listing ends once its reader is gone")
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "the reader asked for no more: not a failure"
    );
}
