//! The outside check, run as part of the test suite: schemathesis (from PyPI) generates requests
//! from assets/openapi.yaml against `koobackup serve` and checks that no request gets a 500 and
//! every response matches the spec, once with bearer tokens and once with every request
//! app-signed (HMAC-SHA256) by a signer written in Python from the reference's rule.
//! `.ci/schemathesis` does the work (it installs schemathesis into target/ on first use); this
//! test runs it on the binary cargo just built.

use std::process::Command;

fn schemathesis(scheme: &str, max_examples: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/schemathesis");
    let output = Command::new("bash")
        .arg(script)
        .env("KOOBACKUP_BIN", env!("CARGO_BIN_EXE_koobackup"))
        .env("KOOBACKUP_ST_SCHEME", scheme)
        .env("SCHEMATHESIS_MAX_EXAMPLES", max_examples)
        .output()
        .expect("bash runs .ci/schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis ({scheme}) failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("schemathesis: finished"), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("with the {scheme} scheme")), "{stdout}");
}

#[test]
fn schemathesis_finds_no_server_error_and_no_spec_drift() {
    schemathesis("bearer", "100");
    // The signed scheme changes only authentication: fewer cases suffice to cover every
    // operation with signatures over real paths, queries and bodies.
    schemathesis("app", "30");
}
