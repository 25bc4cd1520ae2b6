//! The access token stays secret: it never appears in what the binary prints (plain or `--json`,
//! success or failure, including when a server or proxy echoes it back or when it was pasted
//! into the config file by mistake), the files koobackup writes are private to the user, and
//! only the code that builds the Authorization header can read a token at all.
//!
//! Every run through `support::cli::Cli` also asserts that alice's token is absent from stdout
//! and stderr.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::support::cli::{ALICE_TOKEN, Cli, Run};
use crate::support::{ALICE, BOB, spawn_server, spawn_server_with};
use koobackup::server::{Faults, ServerConfig, UserCredential};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A secret that must never be printed, in any variant of the tests below.
const PASTED: &str = "pasted-S3CRET-4d1f9a";

fn assert_secret_absent(run: &Run, secret: &str) {
    assert!(
        !run.stdout.contains(secret) && !run.stderr.contains(secret),
        "`koobackup {}` printed the secret:\nstdout: {}\nstderr: {}",
        run.args,
        run.stdout,
        run.stderr
    );
}

/// People paste the token into the config instead of saying where to read it from. toml's
/// messages quote the offending line and value; koobackup must still name the place, not the
/// value.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_pasted_into_the_config_file_is_never_printed() {
    let variants = [
        format!("token = \"{PASTED}\""),
        format!("token = '{PASTED}'"),
        format!("token = {{ literal = \"{PASTED}\" }}"),
        format!("token = {{ env = \"KOOBACKUP_TOKEN\", value = \"{PASTED}\" }}"),
        format!("token = [\"{PASTED}\"]"),
        format!("token = \"\"\"\n{PASTED}\n\"\"\""),
    ];
    for variant in variants {
        let cli = Cli::isolated();
        cli.write_config(&format!(
            "default_profile = \"p\"\n\n[profiles.p]\nbase_url = \"http://127.0.0.1:9\"\nuser_id = \"alice\"\n{variant}\n"
        ));
        for args in [
            vec!["config", "check"],
            vec!["config", "check", "--json"],
            vec!["record", "list", "-m", "100", "--json"],
            vec!["lock", "list"],
        ] {
            let run = cli.run(&args).await;
            assert_secret_absent(&run, PASTED);
            assert_ne!(run.code, 0, "{variant}: {run:?}");
            assert!(
                (run.stdout.clone() + &run.stderr).contains("line 6"),
                "{variant}: the message should point at the line: {run:?}"
            );
        }
    }
}

/// A raw HTTP server that answers every request with a KooDrive error whose message is the
/// whole request, headers included, like a debugging proxy would.
async fn echo_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(n) if n > 0 => request.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                let echoed = String::from_utf8_lossy(&request).into_owned();
                let body = serde_json::json!({"code": 401001, "msg": echoed}).to_string();
                let answer = format!(
                    "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

/// Every way a command can fail, with `--json` and without: the token is not in the output.
#[tokio::test(flavor = "multi_thread")]
async fn failing_commands_never_print_the_token() {
    let server = spawn_server().await;
    let base_url = server.base_url();
    let cli = Cli::for_server(&base_url);
    let held = server.lock(ALICE, "100").await;
    let bobs = server.lock(BOB, "101").await;
    let echo = echo_server().await;
    let slow = spawn_server_with(|c| c.faults.latency = Duration::from_secs(3)).await;

    let wrong_token = Cli::for_server(&base_url).env("KOOBACKUP_TOKEN", PASTED);
    let cases: Vec<(&str, &Cli, Vec<&str>, i32)> = vec![
        (
            "wrong token",
            &wrong_token,
            vec!["record", "list", "-m", "100"],
            3,
        ),
        (
            "wrong token",
            &wrong_token,
            vec!["lock", "create", "-m", "101"],
            3,
        ),
        ("conflict", &cli, vec!["lock", "create", "-m", "100"], 4),
        ("not found", &cli, vec!["record", "get", "42"], 5),
        ("another user's lock", &cli, vec!["lock", "release", &bobs], 3),
        (
            "no server",
            &cli,
            vec![
                "record",
                "list",
                "--base-url",
                "http://127.0.0.1:1",
                "--timeout",
                "2",
            ],
            6,
        ),
        (
            "echoing proxy",
            &cli,
            vec!["record", "list", "-m", "100", "--base-url", &echo],
            3,
        ),
        (
            "echoing proxy",
            &cli,
            vec!["lock", "create", "-m", "102", "--base-url", &echo],
            3,
        ),
    ];
    for (what, cli, args, code) in &cases {
        for json in [false, true] {
            let mut args = args.clone();
            if json {
                args.push("--json");
            }
            let run = cli.run(&args).await;
            assert_secret_absent(&run, PASTED);
            assert_eq!(run.code, *code, "{what}: {run:?}");
            if json {
                run.json_error();
            }
        }
    }

    // Timeouts and server errors, plain and as JSON.
    let slow_cli = Cli::for_server(&slow.base_url());
    let timeout = slow_cli
        .run(&["record", "list", "-m", "100", "--timeout", "1", "--json"])
        .await;
    timeout.code(6).json_error();
    server.server.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    cli.run(&["record", "list", "-m", "100", "--json"])
        .await
        .code(7)
        .json_error();
    cli.run(&["lock", "renew", &held]).await.code(7);
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The journal (lock ids) and the directories koobackup creates are private, whatever the umask
/// says; so are the data directory and the server database's directory.
#[tokio::test(flavor = "multi_thread")]
async fn files_koobackup_writes_are_private() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    cli.run(&["lock", "create", "-m", "101"]).await.ok();
    let journal = cli.journal_path();
    assert_eq!(mode(&journal), 0o600, "{}", journal.display());
    let mut lock_file = journal.clone().into_os_string();
    lock_file.push(".lock");
    assert_eq!(mode(Path::new(&lock_file)), 0o600);
    assert_eq!(mode(journal.parent().unwrap()), 0o700);
    // Rewritten on release: still private.
    cli.run(&["lock", "release", "--all"]).await.ok();
    assert_eq!(mode(&journal), 0o600);

    // The embedded demo server's data directory.
    let demo = Cli::isolated();
    demo.run(&["record", "list", "-m", "100"]).await.ok();
    let data = demo.dir.path().join("demo");
    assert_eq!(mode(&data), 0o700, "{}", data.display());

    // `serve` creates the database directory privately.
    let db = demo.dir.path().join("served").join("nested").join("db.sqlite");
    let users = demo.dir.path().join("users");
    std::fs::write(&users, format!("alice:{ALICE_TOKEN}\n")).unwrap();
    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut serve = demo
        .command(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
            "--users-file",
        ])
        .arg(&users)
        .spawn()
        .unwrap();
    let mut stdout = serve.stdout.take().unwrap();
    let mut first = [0u8; 16];
    tokio::time::timeout(Duration::from_secs(30), stdout.read_exact(&mut first))
        .await
        .expect("serve started")
        .unwrap();
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    assert_eq!(mode(db.parent().unwrap().parent().unwrap()), 0o700);
    serve.kill().await.unwrap();
}

/// `Token::expose` is the only way to read a token; outside the client's header building (and
/// tests) nothing may call it, so no message, log line or panic can format a token. Redacted
/// Debug/Display do the rest.
#[test]
fn only_the_client_reads_the_token() {
    let allowed = [Path::new("src/api/client.rs")];
    let mut offenders = Vec::new();
    for path in rust_files(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path()) {
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests at the end of a file may compare tokens.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let relative = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        if code.contains(".expose()")
            && !allowed.contains(&relative)
            && relative != Path::new("src/api/auth.rs")
        {
            offenders.push(relative.display().to_string());
        }
    }
    assert!(offenders.is_empty(), "these files read the token: {offenders:?}");
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The server's own configuration hides its users' tokens when printed for debugging.
#[test]
fn server_config_debug_output_hides_tokens() {
    let mut config = ServerConfig::new("/tmp/x.sqlite");
    config.users.push(UserCredential {
        user_id: "alice".into(),
        token: PASTED.into(),
    });
    let printed = format!("{config:?}");
    assert!(
        printed.contains("alice") && !printed.contains(PASTED),
        "{printed}"
    );
}

/// Redaction looks for the token only when it is long enough to be told apart from ordinary
/// text: a local test server's one-letter token must not garble answers or messages.
#[tokio::test(flavor = "multi_thread")]
async fn a_short_test_token_is_not_mistaken_for_text() {
    use koobackup::api::{Client, ClientOptions, Credentials, ModuleCode, Token};
    let server = spawn_server_with(|c| {
        c.users.push(UserCredential {
            user_id: "u".into(),
            token: "t".into(),
        })
    })
    .await;
    let client = Client::new(ClientOptions::new(
        server.base_url(),
        Credentials::new("u", Token::new("t")),
    ))
    .unwrap();
    let lock = client
        .create_lock(ModuleCode::Album)
        .await
        .expect("create with a short token");
    match client.create_lock(ModuleCode::Album).await {
        Err(error) if error.code() == Some(409001) => {
            let text = error.to_string();
            assert!(
                text.contains("already exists") && !text.contains("redacted"),
                "{text}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    client.release_lock(&lock.lock_id).await.unwrap();
}

/// `--log-file`: the client's requests, retries and journal changes, and the server's answered
/// requests, are there; the token and the app secret are not, and the file is private.
#[tokio::test(flavor = "multi_thread")]
async fn the_log_says_what_happened_and_never_a_secret() {
    let server = spawn_server_with(|c| {
        c.faults = Faults {
            error_rate: 0.5,
            ..Faults::default()
        }
    })
    .await;
    let cli = Cli::for_server(&server.base_url());
    let log = cli.dir.path().join("koobackup.log");
    let log_arg = log.to_str().unwrap();
    for _ in 0..3 {
        let run = cli.run(&["--log-file", log_arg, "lock", "renew", "--all"]).await;
        assert_secret_absent(&run, ALICE_TOKEN);
    }
    server.server.set_faults(Faults::default());
    let created = cli
        .run(&["--log-file", log_arg, "lock", "create", "-m", "101", "-q"])
        .await;
    let lock_id = created.ok().stdout_trimmed().to_string();
    // The same through the environment.
    let log_arg = log_arg.to_string();
    let cli = cli.env("KOOBACKUP_LOG", &log_arg);
    cli.run(&["record", "list", "-m", "101"]).await.ok();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("journal: add") && text.contains(&lock_id), "{text}");
    assert!(
        text.contains("path=\"/record\"") || text.contains("path=/record"),
        "{text}"
    );
    assert!(!text.contains(ALICE_TOKEN) && !text.contains("Bearer"), "{text}");
    assert_eq!(mode(&log), 0o600);

    let unwritable = cli
        .run(&["--log-file", "/nonexistent/dir/x.log", "lock", "list"])
        .await;
    assert_eq!(unwritable.code, 2, "{unwritable:?}");
    assert!(
        unwritable.stderr.contains("/nonexistent/dir/x.log"),
        "{}",
        unwritable.stderr
    );
}
