//! Every command's `--json` document (and each `-o jsonl` line) against its JSON Schema under
//! `assets/schemas/`: the real binary against the real local server (and, for failures the
//! local server never makes, a loopback fake). A renamed or missing field fails here, so the
//! shapes scripts rely on cannot drift unnoticed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::cli::{Cli, Run};
use crate::support::spawn_server;

const BASE: &str = "https://koobackup.invalid/schemas/";

/// The schemas of `assets/schemas/`, each registered under its `$id`.
struct Schemas {
    registry: jsonschema::Registry<'static>,
    by_name: BTreeMap<String, Value>,
}

impl Schemas {
    fn load() -> Schemas {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/schemas");
        let mut by_name = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert_eq!(schema["$id"], format!("{BASE}{name}.json"), "{name}: its $id");
            assert!(jsonschema::meta::is_valid(&schema), "{name} is a valid schema");
            by_name.insert(name, schema);
        }
        let mut registry = jsonschema::Registry::new();
        for (name, schema) in &by_name {
            registry = registry
                .add(
                    format!("{BASE}{name}.json"),
                    jsonschema::Resource::from_contents(schema.clone()),
                )
                .unwrap();
        }
        Schemas {
            registry: registry.prepare().unwrap(),
            by_name,
        }
    }

    fn errors(&self, schema: &Value, document: &Value) -> Vec<String> {
        let validator = jsonschema::options()
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(schema)
            .unwrap_or_else(|e| panic!("schema does not build: {e}"));
        validator
            .iter_errors(document)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }

    /// Asserts that `document` fits the schema `name`.
    fn check(&self, name: &str, document: &Value) {
        let schema = self
            .by_name
            .get(name)
            .unwrap_or_else(|| panic!("no schema {name}"));
        let errors = self.errors(schema, document);
        assert!(errors.is_empty(), "{name}: {errors:?}\n{document:#}");
    }

    /// Asserts that each `-o jsonl` line fits the `item` of the schema `name`.
    fn check_lines(&self, name: &str, run: &Run) {
        let item = serde_json::json!({"$ref": format!("{BASE}{name}.json#/$defs/item")});
        for line in run.ok().json_lines() {
            let errors = self.errors(&item, &line);
            assert!(errors.is_empty(), "{name} line: {errors:?}\n{line:#}");
        }
    }

    /// Asserts that the stderr of a failed `--json` run is an error document.
    fn check_error(&self, run: &Run) {
        self.check("error", &run.json_error());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_prints_the_documented_json_shape() {
    let schemas = Schemas::load();
    assert!(schemas.by_name.len() >= 24, "one schema per command");
    let server = spawn_server().await;
    let cli = Cli::for_server(&server.base_url());
    let json = async |args: &[&str]| -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        cli.run(&all).await.ok().json()
    };

    // Locks.
    let lock = json(&["lock", "create", "-m", "102"]).await;
    schemas.check("lock-create", &lock);
    let lock_id = lock["lockId"].as_str().unwrap().to_string();
    schemas.check("lock-list", &json(&["lock", "list"]).await);
    schemas.check_lines("lock-list", &cli.run(&["lock", "list", "-o", "jsonl"]).await);
    let unknown = "00000000-0000-0000-0000-000000000000@102";
    let renewed = cli.run(&["lock", "renew", &lock_id, unknown, "--json"]).await;
    schemas.check("lock-renew", &renewed.code(5).json());
    assert_eq!(renewed.json()["failed"][0]["id"], unknown);

    // Records.
    let created = json(&[
        "record", "create", "-m", "102", "--device", "pixel-8", "--lock", &lock_id,
    ])
    .await;
    schemas.check("record-create", &created);
    let id = created["recordId"].as_str().unwrap().to_string();
    schemas.check("record-list", &json(&["record", "list", "-m", "102"]).await);
    schemas.check_lines("record-list", &cli.run(&["record", "list", "-o", "jsonl"]).await);
    schemas.check("record-get", &json(&["record", "get", &id]).await);
    let file = json(&[
        "record",
        "add-file",
        &id,
        "--name",
        "contacts.vcf",
        "--length",
        "42",
        "--lock",
        &lock_id,
    ])
    .await;
    schemas.check("record-add-file", &file);
    schemas.check("record-files", &json(&["record", "files", &id]).await);
    schemas.check_lines(
        "record-files",
        &cli.run(&["record", "files", &id, "-o", "jsonl"]).await,
    );
    schemas.check(
        "record-complete",
        &json(&["record", "complete", &id, "--lock", &lock_id]).await,
    );
    let dry = json(&["record", "delete", &id, "--dry-run"]).await;
    schemas.check("record-delete", &dry);
    let deleted = cli
        .run(&[
            "record",
            "delete",
            &id,
            "999999999",
            "--yes",
            "--lock",
            &lock_id,
            "--json",
        ])
        .await;
    schemas.check("record-delete", &deleted.code(5).json());
    schemas.check_error(&deleted);
    assert_eq!(deleted.json()["ok"][0], id.as_str());
    let released = cli.run(&["lock", "release", &lock_id, unknown, "--json"]).await;
    schemas.check("lock-release", &released.code(5).json());

    // Devices.
    let device = json(&[
        "device",
        "bind",
        "--machine-code",
        "20250911",
        "--name",
        "Magic v3",
    ])
    .await;
    schemas.check("device-bind", &device);
    let device_id = device["deviceId"].as_str().unwrap().to_string();
    schemas.check("device-list", &json(&["device", "list"]).await);
    schemas.check_lines("device-list", &cli.run(&["device", "list", "-o", "jsonl"]).await);
    let added = json(&[
        "device",
        "scope-add",
        &device_id,
        "-m",
        "101",
        "--local",
        "/DCIM",
        "--target",
        "/Photos",
    ])
    .await;
    schemas.check("device-scope-add", &added);
    schemas.check(
        "device-scopes",
        &json(&["device", "scopes", &device_id, "-m", "101"]).await,
    );
    schemas.check_lines(
        "device-scopes",
        &cli.run(&["device", "scopes", &device_id, "-m", "101", "-o", "jsonl"])
            .await,
    );
    let scope = added[0]["scopeId"].as_str().unwrap();
    let scope_deleted = cli
        .run(&["device", "scope-delete", &device_id, scope, "4242", "--json"])
        .await;
    schemas.check("device-scope-delete", &scope_deleted.json());
    schemas.check(
        "device-configs",
        &json(&["device", "configs", &device_id, "-m", "101"]).await,
    );
    schemas.check_lines(
        "device-configs",
        &cli.run(&["device", "configs", &device_id, "-m", "101", "-o", "jsonl"])
            .await,
    );
    let set = json(&[
        "device",
        "config-set",
        &device_id,
        "-m",
        "101",
        "wifi_only",
        "off",
    ])
    .await;
    schemas.check("device-config-set", &set);
    schemas.check(
        "device-unbind",
        &json(&["device", "unbind", &device_id, "--yes"]).await,
    );

    // Clean-up, with what a retention policy keeps, and the configuration check.
    schemas.check("cleanup", &json(&["cleanup", "--keep-last", "1"]).await);
    schemas.check_lines("cleanup", &cli.run(&["cleanup", "-o", "jsonl"]).await);
    schemas.check("config-check", &json(&["config", "check"]).await);

    // The history of all of the above: each kind of change it made, in the documented shape.
    let history = json(&["history", "--limit", "0"]).await;
    schemas.check("history", &history);
    schemas.check_lines(
        "history",
        &cli.run(&["history", "-o", "jsonl", "--limit", "0"]).await,
    );
    let ops: std::collections::BTreeSet<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["op"].as_str())
        .collect();
    for op in [
        "lock.create",
        "record.create",
        "record.complete",
        "file.add",
        "device.bind",
        "scope.add",
        "scope.delete",
        "config.set",
        "device.unbind",
    ] {
        assert!(ops.contains(op), "no {op} in the history: {ops:?}");
    }
    let first = history[0]["id"].as_str().unwrap();
    let shown = json(&["history", "show", first]).await;
    let item = serde_json::json!({"$ref": format!("{BASE}history.json#/$defs/item")});
    assert!(schemas.errors(&item, &shown).is_empty(), "{shown:#}");

    // Errors, from clap and from the server.
    let missing = cli.run(&["record", "get", "12345", "--json"]).await;
    missing.code(5);
    schemas.check_error(&missing);
    schemas.check_error(&cli.run(&["lock", "create", "-m", "999", "--json"]).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_prints_the_documented_shape_in_every_state() {
    let schemas = Schemas::load();
    let server = spawn_server().await;
    super::status::fleet(&server).await;
    let cli = Cli::for_server(&server.base_url());
    cli.run(&["lock", "create", "-m", "102"]).await.ok();
    for (args, code) in [
        (vec!["status", "--json"], 2),
        (vec!["status", "--json", "--device", "IPAD_LATE"], 1),
        (vec!["status", "--json", "--device", "PIXEL_NOW", "--sizes"], 0),
        (vec!["status", "--json", "--device", "nothing-like-it"], 3),
        (vec!["status", "--json", "--crit-age", "1x"], 3),
    ] {
        let run = cli.run(&args).await;
        run.code(code);
        schemas.check("status", &run.json());
    }
    let line = cli.run(&["status", "-o", "jsonl"]).await;
    schemas.check("status", &line.code(2).json_lines()[0]);
    let refused = Cli::for_server(&server.base_url()).env("KOOBACKUP_TOKEN", "wrong");
    schemas.check("status", &refused.run(&["status", "--json"]).await.code(3).json());

    // config check names a profile's health rules and hooks.
    let profile = Cli::isolated().env("PROFILE_TOKEN", "alice-token");
    profile.write_config(&format!(
        "default_profile = \"p\"\n[profiles.p]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
         token = {{ env = \"PROFILE_TOKEN\" }}\n[profiles.p.health]\nwarn_age = \"1d\"\n\
         [profiles.p.hooks]\nstatus-critical = \"no-such-program-here\"\n",
        server.base_url()
    ));
    let check = profile.run(&["config", "check", "--json"]).await.ok().json();
    schemas.check("config-check", &check);
    let checks: Vec<&str> = check["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert!(
        checks.contains(&"health") && checks.contains(&"hooks"),
        "{checks:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_its_address_in_the_documented_shape() {
    use tokio::io::AsyncBufReadExt;
    let schemas = Schemas::load();
    let dir = tempfile::tempdir().unwrap();
    let mut serve = tokio::process::Command::new(crate::support::cli::BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--seed-demo",
            "--json",
            "--db",
        ])
        .arg(dir.path().join("serve.sqlite"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(serve.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("serve printed nothing")
        .unwrap()
        .unwrap();
    schemas.check("serve", &serde_json::from_str(&first).unwrap());
}

#[test]
fn the_schemas_reject_a_renamed_or_missing_field() {
    let schemas = Schemas::load();
    let record = serde_json::json!({
        "recordId": "1", "moduleCode": "100", "status": 0, "statusName": "new",
        "properties": "", "version": 1, "createTime": "2025-12-17T07:59:20.752Z",
        "endTime": null,
        "deviceInfo": {"deviceId": "d", "deviceName": "", "deviceOS": "", "machineCode": ""}
    });
    schemas.check("record-get", &record);
    let mut renamed = record.clone();
    let module = renamed.as_object_mut().unwrap().remove("moduleCode").unwrap();
    renamed["module"] = module;
    assert!(
        !schemas
            .errors(&schemas.by_name["record-get"], &renamed)
            .is_empty()
    );
    let mut no_end = record.clone();
    no_end.as_object_mut().unwrap().remove("endTime");
    assert!(!schemas.errors(&schemas.by_name["record-get"], &no_end).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_deletes_and_incomplete_listings_have_the_documented_shape() {
    use crate::support::fake::{Fake, Reply};
    use serde_json::json;
    let schemas = Schemas::load();
    let created = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339();
    let record = move |id: &str, status: Value| json!({"recordId": id, "moduleCode": "100", "status": status, "version": 1, "createTime": created});
    let fake = Fake::start(
        move |request| match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/lock") => Reply::ok(json!({"lockId": "9f2c4e1a-6b7d-4c3e-8a15-0d2f9e8b7c61@100"})),
            ("GET", "/record") => Reply::page(vec![record("41", json!(0)), record("42", json!(0.5))], None),
            // Clean-up reads a record again right before deleting it.
            ("GET", "/record/41") => Reply::ok(record("41", json!(0))),
            ("DELETE", "/record/41") => Reply::error(403, json!(403001), "not your record"),
            _ => Reply::ok(json!({})),
        },
    )
    .await;
    let cli = Cli::for_server(&fake.base_url);

    let listed = cli.run(&["record", "list", "-m", "100", "--json"]).await;
    schemas.check("record-list", &listed.code(8).json());
    schemas.check_error(&listed);
    assert_eq!(listed.json_error()["error"]["kind"], "incomplete");

    // The refused delete is the exit code (the first failure); the incomplete listing is said
    // too, as an error document of its own.
    let cleaned = cli.run(&["cleanup", "-m", "100", "--yes", "--json"]).await;
    let report = cleaned.code(3).json();
    schemas.check("cleanup", &report);
    let failed = &report["candidates"][0];
    assert_eq!(
        (&failed["apiCode"], &failed["exitCode"]),
        (&json!(403001), &json!(3)),
        "{report}"
    );
    let errors: Vec<Value> = cleaned
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for error in &errors {
        schemas.check("error", error);
    }
    assert!(
        errors.iter().any(|e| e["error"]["kind"] == "incomplete"),
        "{errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_grace_window_commands_print_the_documented_shape() {
    let schemas = Schemas::load();
    let server = spawn_server().await;
    let ids = crate::support::old_records(&server, "102", 4).await;
    let cli = Cli::for_server(&server.base_url());

    let queued = cli
        .run(&[
            "record", "delete", &ids[0], &ids[1], "--yes", "--grace", "1h", "--json",
        ])
        .await;
    schemas.check("record-delete", &queued.ok().json());
    let cleanup = cli
        .run(&[
            "cleanup",
            "-m",
            "102",
            "--older-than",
            "1h",
            "--yes",
            "--grace",
            "2h",
            "--json",
        ])
        .await;
    let cleanup = cleanup.ok().json();
    schemas.check("cleanup", &cleanup);
    let outcomes: Vec<&str> = cleanup["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "already-queued").count(),
        2,
        "{cleanup:#}"
    );
    schemas.check("pending", &cli.run(&["pending", "--json"]).await.ok().json());
    schemas.check_lines("pending", &cli.run(&["pending", "-o", "jsonl"]).await);
    schemas.check(
        "pending-apply",
        &cli.run(&["pending", "apply", "--json"]).await.ok().json(),
    );
    let cancel = cli
        .run(&["pending", "cancel", &ids[3], "nothing-queued", "--json"])
        .await;
    schemas.check("pending-cancel", &cancel.code(5).json());

    server.at_minute(90);
    schemas.check(
        "pending-apply",
        &cli.run(&["pending", "apply", "--dry-run", "--json"])
            .await
            .ok()
            .json(),
    );
    let applied = cli.run(&["pending", "apply", "--json"]).await.ok().json();
    schemas.check("pending-apply", &applied);
    assert_eq!(applied["applied"].as_array().unwrap().len(), 2, "{applied:#}");
}
