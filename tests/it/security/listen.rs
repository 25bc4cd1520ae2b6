//! The local server has no TLS, so tokens travel in clear text: it listens on loopback unless
//! told otherwise, refuses any other address without `--allow-remote`, and starts with it.
//! (Refusing 0.0.0.0 through the binary is in tests/cli_misc.rs.)

use std::time::Duration;

use crate::support::cli::{ALICE_TOKEN, BIN};
use clap::Parser;
use koobackup::cli::{Cli, Command};
use tokio::io::AsyncBufReadExt;

#[test]
fn serve_listens_on_loopback_by_default() {
    let cli = Cli::try_parse_from(["koobackup", "serve", "--seed-demo"]).expect("parse");
    match cli.command {
        Some(Command::Serve(args)) => {
            assert!(args.listen.ip().is_loopback(), "default listen {}", args.listen);
            assert!(!args.allow_remote);
        }
        other => panic!("parsed as {other:?}"),
    }
    let config = koobackup::server::ServerConfig::new("x.sqlite");
    assert!(config.listen.ip().is_loopback() && !config.allow_non_loopback);
}

async fn serve(dir: &std::path::Path, listen: &str, extra: &[&str]) -> tokio::process::Child {
    let users = dir.join("users");
    std::fs::write(&users, format!("alice:{ALICE_TOKEN}\n")).unwrap();
    let mut command = tokio::process::Command::new(BIN);
    command
        .args(["serve", "--listen", listen, "--db"])
        .arg(dir.join(format!("{}.sqlite", listen.replace([':', '.', '[', ']'], "_"))))
        .arg("--users-file")
        .arg(&users)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command.spawn().expect("spawn serve")
}

#[tokio::test(flavor = "multi_thread")]
async fn non_loopback_addresses_need_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    for listen in ["[::]:0", "0.0.0.0:0", "192.0.2.10:0"] {
        let refused = serve(dir.path(), listen, &[])
            .await
            .wait_with_output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{listen}: {stderr}");
        assert!(
            stderr.contains("--allow-remote") && stderr.contains("TLS"),
            "{listen}: {stderr}"
        );
        assert!(refused.stdout.is_empty(), "{listen} printed an address");
    }

    // With the flag it starts, and answers on the machine's loopback address.
    let mut server = serve(dir.path(), "0.0.0.0:0", &["--allow-remote"]).await;
    let mut lines = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("serve printed nothing")
        .unwrap()
        .expect("a line");
    let port = first
        .strip_prefix("listening on http://0.0.0.0:")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    let answer = reqwest::get(format!("http://127.0.0.1:{port}/koodrive/ose/v1/backup/lock"))
        .await
        .expect("the server answers");
    assert_eq!(answer.status().as_u16(), 405);
    server.kill().await.unwrap();
}
