//! `koobackup device …` and `record add-file` through the real binary against the real local
//! server: tables, `--json`, `-q`, and exit codes.

use serde_json::json;

use crate::support::cli::Cli;
use crate::support::spawn_server;

#[tokio::test]
async fn devices_their_scopes_and_settings_from_the_command_line() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    cli.run(&["device", "list"]).await.ok();
    let bound = cli
        .run(&[
            "device",
            "bind",
            "--machine-code",
            "20250911",
            "--name",
            "Magic v3",
            "--os",
            "android",
            "--json",
        ])
        .await
        .ok()
        .json();
    let id = bound["deviceId"].as_str().unwrap().to_string();
    let again = cli
        .run(&["device", "bind", "--machine-code", "20250911", "-q"])
        .await;
    assert_eq!(
        again.ok().stdout_trimmed(),
        id,
        "the same machine code: the same device"
    );
    let table = cli.run(&["device", "list"]).await.ok().stdout.clone();
    assert!(
        table.contains("DEVICE ID") && table.contains(&id) && table.contains("Magic v3"),
        "{table}"
    );
    let refused = cli.run(&["device", "bind", "--machine-code", "no spaces"]).await;
    assert_eq!(refused.code, 2, "{refused:?}");

    let added = cli
        .run(&[
            "device",
            "scope-add",
            &id,
            "-m",
            "album",
            "--local",
            "/DCIM",
            "--target",
            "/Photos",
            "--local",
            "/Pictures",
            "--target",
            "",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(added.as_array().unwrap().len(), 2);
    // Unequal lists could pair either way: refused, nothing added.
    let ambiguous = cli
        .run(&[
            "device",
            "scope-add",
            &id,
            "-m",
            "101",
            "--local",
            "/a",
            "--local",
            "/b",
            "--target",
            "/B",
        ])
        .await;
    ambiguous.code(2);
    assert!(
        ambiguous.stderr.contains("pair up in order"),
        "{}",
        ambiguous.stderr
    );
    // More than one call takes: refused whole, not half added.
    let paths: Vec<String> = (0..101).map(|i| format!("/folder-{i}")).collect();
    let mut args = vec!["device", "scope-add", &id, "-m", "101"];
    for path in &paths {
        args.extend(["--local", path.as_str()]);
    }
    let too_many = cli.run(&args).await;
    too_many.code(2);
    assert!(too_many.stderr.contains("at most 100"), "{}", too_many.stderr);
    let listed = cli.run(&["device", "scopes", &id, "-m", "101", "--json"]).await;
    assert!(!listed.ok().stdout.contains("/folder-"), "nothing was added");
    assert_eq!(added[1]["localPath"], json!("/Pictures"));
    assert_eq!(added[1]["targetFolderPath"], json!(""));
    let scopes = cli
        .run(&["device", "scopes", &id, "-m", "101"])
        .await
        .ok()
        .stdout
        .clone();
    assert!(scopes.contains("/DCIM") && scopes.contains("/Photos"), "{scopes}");
    let first = added[0]["scopeId"].as_str().unwrap();
    let deleted = cli.run(&["device", "scope-delete", &id, first, "4242"]).await;
    assert_eq!(deleted.code, 5, "a scope that could not be deleted: {deleted:?}");
    assert!(
        deleted.stdout.contains(&format!("deleted scope {first}")),
        "{deleted:?}"
    );
    assert!(
        deleted.stderr.contains("4242") && deleted.stderr.contains("404004"),
        "{deleted:?}"
    );
    let bad = cli
        .run(&["device", "scope-add", &id, "-m", "101", "--local", "relative"])
        .await;
    assert_eq!(bad.code, 2, "{bad:?}");

    let configs = cli
        .run(&["device", "configs", &id, "-m", "101", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(configs.as_array().unwrap().len(), 3);
    let set = cli
        .run(&["device", "config-set", &id, "-m", "101", "wifi_only", "off"])
        .await;
    assert!(
        set.ok().stdout.contains("wifi_only") && set.stdout.contains("on → off"),
        "{set:?}"
    );
    let read = cli
        .run(&["device", "configs", &id, "-m", "101", "--json"])
        .await
        .ok()
        .json();
    let wifi = read
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["configName"] == json!("wifi_only"))
        .unwrap();
    assert_eq!(wifi["configValue"], json!("off"));
    let unknown = cli
        .run(&["device", "config-set", &id, "-m", "101", "nope", "on"])
        .await;
    assert_eq!(unknown.code, 5, "{unknown:?}");

    // Without a terminal to ask on, unbinding needs --yes.
    let unasked = cli.run(&["device", "unbind", &id]).await;
    unasked.code(2);
    assert!(unasked.stderr.contains("--yes"), "{}", unasked.stderr);
    let gone = cli.run(&["device", "unbind", &id, "--yes"]).await;
    assert!(gone.ok().stdout.contains("records stay"), "{gone:?}");
    assert_eq!(cli.run(&["device", "unbind", &id, "--yes"]).await.code, 5);
    assert_eq!(cli.run(&["device", "scopes", &id, "-m", "101"]).await.code, 5);
}

#[tokio::test]
async fn a_file_is_added_to_a_record_under_its_modules_lock() {
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let record = cli
        .run(&[
            "record",
            "create",
            "-m",
            "100",
            "--device",
            "nas",
            "--auto-lock",
            "-q",
        ])
        .await
        .ok()
        .stdout_trimmed()
        .to_string();
    let added = cli
        .run(&[
            "record",
            "add-file",
            &record,
            "--name",
            "report.pdf",
            "--sha256",
            &"ab".repeat(32),
            "--length",
            "2048",
            "--description",
            "Q3",
            "--auto-lock",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(added["fileName"], json!("report.pdf"));
    assert_eq!(added["size"], json!(2048));
    let files = cli.run(&["record", "files", &record]).await.ok().stdout.clone();
    assert!(
        files.contains("report.pdf") && files.contains("2.0 KiB") && files.contains("Q3"),
        "{files}"
    );
    let without_lock = cli.run(&["record", "add-file", &record, "--name", "x"]).await;
    assert_eq!(without_lock.code, 2, "no lock in the journal: {without_lock:?}");
    let bad_name = cli
        .run(&["record", "add-file", &record, "--name", "a/b", "--auto-lock"])
        .await;
    assert_eq!(bad_name.code, 2, "{bad_name:?}");
}

/// Runs `device unbind ID` in a pseudo-terminal as alice, answers `answer`, returns the exit
/// code and the question as shown.
async fn unbind_at_a_terminal(server: &crate::support::TestServer, id: &str, answer: &str) -> (u32, String) {
    let (url, id, answer) = (server.base_url(), id.to_string(), answer.to_string());
    tokio::task::spawn_blocking(move || {
        crate::support::pty::answer_the_question(&url, &["device", "unbind", &id], &answer)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn at_a_terminal_unbind_names_the_device_and_only_y_unbinds() {
    let server = spawn_server().await;
    let alice = server.client(crate::support::ALICE);
    let request = koobackup::api::model::BindDeviceRequest {
        machine_code: "20250911".into(),
        device_name: Some("Magic v3".into()),
        device_os: Some("android".into()),
    };
    let device = alice.bind_device(&request).await.unwrap();
    let (code, question) = unbind_at_a_terminal(&server, &device.device_id, "n").await;
    assert_eq!(code, 1);
    assert!(
        question.contains("Magic v3"),
        "the question names the device:\n{question}"
    );
    assert_eq!(alice.list_devices().await.unwrap().items.len(), 1, "still bound");
    let (code, _) = unbind_at_a_terminal(&server, &device.device_id, "y").await;
    assert_eq!(code, 0);
    assert!(alice.list_devices().await.unwrap().items.is_empty());
}
