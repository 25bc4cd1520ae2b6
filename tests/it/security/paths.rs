//! Nothing reaches an endpoint nobody named: ids that would leave their path segment (`.`,
//! `..`, empty), ids and base URLs too long to be real, and device fields that break their
//! documented pattern are refused before anything is sent, whether they come from the command
//! line or from a server's listing. The real binary against a loopback KooDrive that records
//! every request.

use serde_json::json;

use crate::support::cli::Cli;
use crate::support::fake::{Fake, Reply};

/// A KooDrive that answers every request with an empty success, and records it.
async fn recording() -> Fake {
    Fake::start(|_| Reply::ok(json!({}))).await
}

#[tokio::test]
async fn dot_segment_ids_on_the_command_line_are_refused_and_nothing_is_sent() {
    let fake = recording().await;
    let cli = Cli::for_server(&fake.base_url);
    for args in [
        vec!["device", "scope-delete", ".", "S1"],
        vec!["device", "scope-delete", "..", "S1"],
        vec!["device", "unbind", "..", "--yes"],
        vec!["device", "scopes", ".", "-m", "100"],
        vec!["record", "files", "."],
        vec!["record", "get", ".."],
        vec!["record", "delete", "..", "--yes", "--lock", "a@100"],
    ] {
        let run = cli.run(&args).await;
        run.code(2);
        assert!(run.stderr.contains("dot segment"), "{}: {}", run.args, run.stderr);
    }
    assert!(fake.seen().is_empty(), "nothing was sent: {:?}", fake.seen());
}

/// A module-100 record shaped like the reference's, abandoned three days ago.
fn abandoned(id: &str) -> serde_json::Value {
    let created = chrono::Utc::now() - chrono::Duration::days(3);
    json!({
        "recordId": id, "moduleCode": "100", "status": 0, "properties": "{}", "version": 1,
        "createTime": created.to_rfc3339(), "endTime": "",
        "deviceInfo": {"deviceId": "1775406005920779393"}
    })
}

#[tokio::test]
async fn a_dot_segment_id_from_the_server_is_never_sent_back() {
    let fake = Fake::start(|request| match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/lock") => Reply::ok(json!({"lockId": "9f2c4e1a-6b7d-4c3e-8a15-0d2f9e8b7c61@100"})),
        ("GET", "/record") => Reply::page(vec![abandoned(".."), abandoned("."), abandoned("42")], None),
        // Clean-up reads each record again right before deleting it.
        ("GET", "/record/42") => Reply::ok(abandoned("42")),
        _ => Reply::ok(json!({})),
    })
    .await;
    let cli = Cli::for_server(&fake.base_url);
    let run = cli.run(&["cleanup", "-m", "100", "--yes"]).await;
    run.code(2);
    assert!(run.stderr.contains("dot segment"), "{}", run.stderr);
    let deletes: Vec<String> = fake
        .seen()
        .iter()
        .filter(|seen| seen.method == "DELETE" && seen.path != "/lock")
        .map(|seen| seen.path.clone())
        .collect();
    assert_eq!(deletes, ["/record/42"], "only the real id was deleted");
}

#[tokio::test]
async fn a_huge_record_id_is_refused_at_once_in_a_short_message() {
    let fake = recording().await;
    let cli = Cli::for_server(&fake.base_url);
    let huge = "7".repeat(120_000);
    for args in [
        vec!["record", "get", huge.as_str()],
        vec!["record", "files", huge.as_str()],
    ] {
        let run = cli.run(&args).await;
        run.code(2);
        assert!(
            run.stderr.len() < 400,
            "a short message: {} bytes",
            run.stderr.len()
        );
        assert!(run.stderr.contains("120000 characters"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    assert!(fake.seen().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_huge_base_url_is_refused_without_trying_or_repeating_it() {
    let huge = format!("http://127.0.0.1:9/{}", "a".repeat(100_000));
    let run = Cli::for_server(&huge).run(&["record", "list"]).await;
    run.code(2);
    assert!(
        run.stderr.len() < 400,
        "a short message: {} bytes",
        run.stderr.len()
    );
    assert!(run.stderr.contains("base URL"), "{}", run.stderr);
    assert!(!run.stderr.contains("trying again"), "{}", run.stderr);
}

#[tokio::test]
async fn device_fields_are_checked_against_their_documented_pattern_before_sending() {
    let fake = recording().await;
    let cli = Cli::for_server(&fake.base_url);
    let long_code = "A".repeat(65);
    for (args, field) in [
        (vec!["device", "bind", "--machine-code", "pixel-7"], "machineCode"),
        (
            vec!["device", "bind", "--machine-code", &long_code],
            "machineCode",
        ),
        (
            vec!["device", "bind", "--machine-code", "P7", "--name", "Mia's phone"],
            "deviceName",
        ),
        (
            vec!["device", "bind", "--machine-code", "P7", "--os", "Android-15"],
            "deviceOS",
        ),
        (
            vec!["device", "config-set", "42", "-m", "100", "wifi-only", "on"],
            "configName",
        ),
    ] {
        let run = cli.run(&args).await;
        run.code(2);
        assert!(run.stderr.contains(field), "{}: {}", run.args, run.stderr);
        assert!(run.stderr.contains("nothing was sent"), "{}", run.stderr);
    }
    assert!(fake.seen().is_empty(), "nothing was sent: {:?}", fake.seen());
}
