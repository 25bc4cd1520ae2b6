//! The Prometheus text format read back by an implementation that is not ours: the official
//! Python client's parser (`prometheus-client` from PyPI, pinned by hash in
//! `.ci/prometheus-requirements.txt`), installed on first use into a virtualenv under the target
//! directory — as `.ci/schemathesis` installs schemathesis — so that `cargo test` needs nothing
//! installed by hand but `python3` with its `venv` module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const REQUIREMENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/prometheus-requirements.txt");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/prometheus_parse.py");

/// The virtualenv's python, the parser installed (again when the requirements change).
fn python() -> &'static Path {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prometheus-venv");
        let python = venv.join("bin").join("python3");
        let requirements = std::fs::read_to_string(REQUIREMENTS).expect("the pinned requirements");
        let stamp = venv.join("requirements.txt");
        if std::fs::read_to_string(&stamp).ok().as_deref() == Some(requirements.as_str()) && python.exists() {
            return python;
        }
        let run = |command: &mut Command, what: &str| {
            let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(
                output.status.success(),
                "{what} failed (python3 with its venv module is needed):\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        };
        run(
            Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv),
            "creating the virtualenv for prometheus-client",
        );
        run(
            Command::new(venv.join("bin").join("pip")).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--require-hashes",
                "--no-deps",
                "-r",
                REQUIREMENTS,
            ]),
            "installing prometheus-client (pinned) from PyPI",
        );
        std::fs::write(&stamp, requirements).unwrap();
        python
    })
}

/// The families of the text-format file at `path`, as the official parser reads them: `[{name,
/// type, help, samples: [{name, labels, value}]}]`. Panics with the parser's message when it
/// refuses the file.
pub fn parse(path: &Path) -> Value {
    let output = Command::new(python())
        .arg(SCRIPT)
        .arg(path)
        .output()
        .expect("run the parser");
    assert!(
        output.status.success(),
        "prometheus_client refused {}:\n{}\n--- the file ---\n{}",
        path.display(),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    serde_json::from_slice(&output.stdout).expect("the parser's JSON")
}

/// The samples of family `name` in `families` (as [`parse`] returns them).
pub fn samples<'a>(families: &'a Value, name: &str) -> Vec<&'a Value> {
    families
        .as_array()
        .expect("families")
        .iter()
        .filter(|f| f["name"] == name)
        .flat_map(|f| f["samples"].as_array().expect("samples").iter())
        .collect()
}
