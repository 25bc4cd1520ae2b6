//! The habits of Rust command-line tools (issue 24): `--version`, `--color` with the colour
//! variables, a log filtered by `KOOBACKUP_LOG_LEVEL`/`RUST_LOG`, `config path|show|edit`,
//! `profile list`, and man pages that document every variable koobackup reads.

use std::os::unix::fs::PermissionsExt;

use crate::support::cli::{ALICE_TOKEN, Cli};
use crate::support::server::spawn_server;

const RED_ERROR: &str = "\u{1b}[1;31merror:";

#[tokio::test(flavor = "multi_thread")]
async fn version_names_commit_date_and_target_and_verbose_the_features() {
    let cli = Cli::isolated();
    let short = cli.run(&["--version"]).await;
    let line = short.ok().stdout_trimmed();
    let (name, facts) = line
        .split_once(" (")
        .expect("koobackup X.Y.Z (commit date target)");
    assert_eq!(name, format!("koobackup {}", env!("CARGO_PKG_VERSION")));
    let facts: Vec<&str> = facts.trim_end_matches(')').split(' ').collect();
    assert_eq!(facts.len(), 3, "{line}");
    let (commit, date, target) = (facts[0], facts[1], facts[2]);
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{line}"
    );
    assert!(
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
        "{line}"
    );
    assert!(target.contains("-linux-"), "{line}");
    assert_eq!(cli.run(&["-V"]).await.ok().stdout, short.stdout);

    let verbose = cli.run(&["--version", "--verbose"]).await;
    assert!(verbose.ok().stdout.starts_with(line), "{}", verbose.stdout);
    for fact in ["target", "profile", "compiler", "tls", "sqlite", "features"] {
        assert!(verbose.stdout.contains(fact), "{fact}: {}", verbose.stdout);
    }
    assert_eq!(cli.run(&["version"]).await.ok().stdout, verbose.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn color_follows_the_flag_then_no_color_then_clicolor() {
    // A profile without a config file is a usage error: its `error:` prefix is what is coloured (stderr is a
    // pipe here, so `auto` alone gives none).
    let failing = ["--profile", "nope", "record", "list"];
    let with = |cli: Cli, extra: &'static [&'static str]| async move {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(failing);
        let run = cli.run(&args).await;
        run.code(2);
        assert!(run.stderr.contains("no config file"), "{}", run.stderr);
        run.stderr.contains(RED_ERROR)
    };
    assert!(!with(Cli::isolated(), &[]).await, "a pipe gets no colour");
    assert!(with(Cli::isolated(), &["--color", "always"]).await);
    assert!(with(Cli::isolated(), &["--color=always"]).await);
    assert!(
        with(Cli::isolated().env("CLICOLOR_FORCE", "1"), &[]).await,
        "CLICOLOR_FORCE colours even a pipe"
    );
    assert!(!with(Cli::isolated().env("CLICOLOR_FORCE", "0"), &[]).await);
    assert!(
        !with(
            Cli::isolated().env("CLICOLOR_FORCE", "1").env("NO_COLOR", "1"),
            &[]
        )
        .await,
        "NO_COLOR wins over CLICOLOR_FORCE"
    );
    assert!(
        with(Cli::isolated().env("NO_COLOR", "1"), &["--color", "always"]).await,
        "the flag wins over the environment"
    );
    assert!(!with(Cli::isolated().env("CLICOLOR_FORCE", "1"), &["--color", "never"]).await);

    // Tables get a bold header when coloured, and JSON never any colour.
    let cli = Cli::isolated();
    let table = cli.run(&["--color", "always", "config", "path"]).await;
    assert!(table.ok().stdout.starts_with("\u{1b}[1m"), "{:?}", table.stdout);
    let json = cli
        .run(&["--color", "always", "config", "path", "-o", "json"])
        .await;
    assert!(!json.ok().stdout.contains('\u{1b}'), "{}", json.stdout);

    let wrong = Cli::isolated()
        .run(&["--color", "sometimes", "config", "path"])
        .await;
    wrong.code(2);
    assert!(wrong.stderr.contains("auto, always, never"), "{}", wrong.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_level_variables_filter_what_the_log_file_keeps() {
    let server = spawn_server().await;
    let log_lines = |cli: Cli| async move {
        let log = cli.dir.path().join("koobackup.log");
        let log_arg = log.display().to_string();
        cli.run(&["--log-file", &log_arg, "record", "list"]).await.ok();
        std::fs::read_to_string(&log).unwrap_or_default()
    };
    let default = log_lines(Cli::for_server(&server.base_url())).await;
    assert!(
        default.contains("DEBUG"),
        "koobackup's own detail by default: {default}"
    );
    let info = log_lines(Cli::for_server(&server.base_url()).env("RUST_LOG", "info")).await;
    assert!(!info.contains("DEBUG"), "{info}");
    let ours_first = log_lines(
        Cli::for_server(&server.base_url())
            .env("RUST_LOG", "trace")
            .env("KOOBACKUP_LOG_LEVEL", "error"),
    )
    .await;
    assert_eq!(ours_first, "", "KOOBACKUP_LOG_LEVEL wins over RUST_LOG");
    assert!(!default.contains(ALICE_TOKEN));

    let cli = Cli::for_server(&server.base_url()).env("KOOBACKUP_LOG_LEVEL", "koobackup=loud");
    let log = cli.dir.path().join("bad.log").display().to_string();
    let refused = cli.run(&["--log-file", &log, "record", "list"]).await;
    refused.code(2);
    assert!(
        refused.stderr.contains("KOOBACKUP_LOG_LEVEL"),
        "{}",
        refused.stderr
    );
}

fn write_token(cli: &Cli) -> std::path::PathBuf {
    let token = cli.dir.path().join("token");
    std::fs::write(&token, format!("{ALICE_TOKEN}\n")).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    token
}

#[tokio::test(flavor = "multi_thread")]
async fn config_path_show_and_profile_list_show_secrets_only_as_their_source() {
    let cli = Cli::isolated();
    let places = cli.run(&["config", "path", "-o", "json"]).await.ok().json();
    let config = cli.dir.path().join("config/koobackup/config.toml");
    assert_eq!(places["config"], config.display().to_string());
    assert_eq!(places["journal"], cli.journal_path().display().to_string());
    assert_eq!(places["configExists"], false);
    let quiet = cli.run(&["config", "path", "-q"]).await;
    assert_eq!(quiet.ok().stdout_trimmed(), config.display().to_string());
    let none = cli.run(&["config", "show"]).await;
    assert!(
        none.ok().stderr.contains("embedded demo server"),
        "{}",
        none.stderr
    );

    let token = write_token(&cli);
    cli.write_config(&format!(
        "default_profile = \"work\"\n\
         [profiles.work]\nbase_url = \"https://koodrive.example\"\nuser_id = \"alice\"\n\
         token = {{ file = \"{}\" }}\n\
         [profiles.lab]\nbase_url = \"http://127.0.0.1:9\"\nuser_id = \"bob\"\nread_only = true\n\
         token = {{ command = \"cat {}\" }}\n",
        token.display(),
        token.display()
    ));
    let show = cli.run(&["config", "show"]).await;
    show.ok();
    assert!(
        show.stdout.contains("[profiles.work]  (default)"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains(&format!("file {}", token.display())),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("read-only   yes"), "{}", show.stdout);
    assert!(
        show.stdout
            .contains(&format!("command `cat {}`", token.display())),
        "the command is shown, never run: {}",
        show.stdout
    );
    let json = cli.run(&["config", "show", "-o", "json"]).await.ok().json();
    assert_eq!(json["defaultProfile"], "work");
    assert_eq!(json["profiles"].as_array().unwrap().len(), 2);

    let list = cli.run(&["profile", "list", "-o", "json"]).await.ok().json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lab", "work"]);
    assert_eq!(list[1]["default"], true);
    let table = cli.run(&["profile", "list"]).await;
    assert!(table.ok().stdout.contains("work (default)"), "{}", table.stdout);
    let quiet = cli.run(&["profile", "list", "-q"]).await;
    assert_eq!(quiet.ok().stdout, "lab\nwork\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn config_edit_installs_a_valid_copy_and_keeps_the_old_file_otherwise() {
    let cli = Cli::isolated();
    let token = write_token(&cli);
    let good = format!(
        "[profiles.work]\nbase_url = \"https://koodrive.example\"\nuser_id = \"alice\"\n\
         token = {{ file = \"{}\" }}\n",
        token.display()
    );
    let path = cli.write_config(&good);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();

    // An "editor" that writes a broken file: refused, the old file kept (stdin is no terminal,
    // so there is no second try).
    let broken = cli.dir.path().join("broken.sh");
    std::fs::write(
        &broken,
        "#!/bin/sh\nprintf '[profiles.work]\\nbase_url = 42\\n' > \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o700)).unwrap();
    let refused = cli
        .command(&["config", "edit"])
        .env("EDITOR", &broken)
        .output()
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("kept as it was"), "{said}");
    assert!(said.contains("line 2"), "names the line: {said}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good);

    // A profile without credentials is refused too, as `config check` would.
    let no_token = cli.dir.path().join("no-token.sh");
    std::fs::write(
        &no_token,
        "#!/bin/sh\nprintf '[profiles.x]\\nbase_url = \"https://k.example\"\\nuser_id = \"u\"\\n' > \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&no_token, std::fs::Permissions::from_mode(0o700)).unwrap();
    let refused = cli
        .command(&["config", "edit"])
        .env("VISUAL", &no_token)
        .output()
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good);

    // A good edit is installed, private, and nothing is left beside it.
    let rename = cli.dir.path().join("rename.sh");
    std::fs::write(
        &rename,
        "#!/bin/sh\nsed -i 's/profiles.work/profiles.home/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&rename, std::fs::Permissions::from_mode(0o700)).unwrap();
    let saved = cli
        .command(&["config", "edit"])
        .env("EDITOR", &rename)
        .output()
        .await
        .unwrap();
    assert_eq!(
        saved.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        good.replace("profiles.work", "profiles.home")
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let beside: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(beside.len(), 1, "{beside:?}");

    // An editor that fails changes nothing.
    let failed = cli
        .command(&["config", "edit"])
        .env("EDITOR", "false")
        .output()
        .await
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("unchanged"));
}

#[tokio::test(flavor = "multi_thread")]
async fn config_edit_starts_a_missing_file_from_the_example() {
    let cli = Cli::isolated();
    let keep = cli.dir.path().join("keep.sh");
    // Saves the example as it is offered: a valid first config.
    std::fs::write(&keep, "#!/bin/sh\ngrep -q 'profiles' \"$1\"\n").unwrap();
    std::fs::set_permissions(&keep, std::fs::Permissions::from_mode(0o700)).unwrap();
    let run = cli
        .command(&["config", "edit"])
        .env("EDITOR", &keep)
        .output()
        .await
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let written = std::fs::read_to_string(cli.dir.path().join("config/koobackup/config.toml")).unwrap();
    assert_eq!(written, include_str!("../../../assets/config.example.toml"));
}

#[tokio::test(flavor = "multi_thread")]
async fn man_pages_list_exit_codes_and_every_variable_koobackup_reads() {
    let page = Cli::isolated().run(&["man", "record", "delete"]).await;
    page.ok();
    assert!(page.stdout.contains(".SH \"EXIT STATUS\""), "{}", page.stdout);
    assert!(page.stdout.contains(".SH \"ENVIRONMENT\""), "{}", page.stdout);
    for code in 0..=6 {
        assert!(
            page.stdout.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "exit code {code}"
        );
    }
    // Every `KOOBACKUP_…` name in the source is documented.
    let mut names = std::collections::BTreeSet::new();
    let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (at, _) in text.match_indices("\"KOOBACKUP_") {
                    // `env!("KOOBACKUP_COMMIT")` and its kind are build facts, not variables.
                    if text[..at].ends_with("env!(") {
                        continue;
                    }
                    let name: String = text[at + 1..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    // Unit tests' own names are no variable of the product.
                    if !name.starts_with("KOOBACKUP_TEST_") {
                        names.insert(name);
                    }
                }
            }
        }
    }
    assert!(names.len() > 10, "{names:?}");
    for name in names {
        // A hook's event fields (`KOOBACKUP_EVENT_` + a field) are documented together.
        let documented = if name.starts_with("KOOBACKUP_EVENT_") {
            page.stdout.contains("KOOBACKUP_EVENT_*")
        } else {
            page.stdout.contains(&format!("\\fB{name}\\fR"))
        };
        assert!(documented, "{name} is not in ENVIRONMENT");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_completion_script_calls_koobackup_by_name() {
    let cli = Cli::isolated();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = cli.run(&["completions", shell]).await;
        script.ok();
        assert!(
            !script.stdout.contains(crate::support::cli::BIN),
            "{shell}: the script names the binary's path"
        );
        assert!(script.stdout.contains("koobackup"), "{shell}");
    }
}
