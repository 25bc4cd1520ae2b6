//! A config file others could change is not trusted with a secret: one that names a token
//! source (and so may run a command as the operator) is refused when it, or its directory, is
//! writable by the group or others, before any command of it runs; one with only keys and
//! colours is used with a warning. `config check` says the same. The real binary against the
//! real local server.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::cli::Cli;
use crate::support::spawn_server;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn a_config_that_runs_a_command_is_refused_while_others_can_write_it_or_its_directory() {
    let server = spawn_server().await;
    let cli = Cli::isolated();
    let marker = cli.dir.path().join("token-command-ran");
    let config = cli.write_config(&format!(
        "default_profile = \"p\"\n[profiles.p]\nbase_url = \"{}\"\nuser_id = \"alice\"\n\
         token = {{ command = \"touch '{}'; echo alice-token\" }}\n",
        server.base_url(),
        marker.display()
    ));
    let dir = config.parent().unwrap().to_path_buf();

    for (file_mode, dir_mode, said) in [
        (0o666, 0o700, "is writable by other users (mode 666)"),
        (0o620, 0o700, "is writable by other users (mode 620)"),
        (0o600, 0o777, "the directory"),
    ] {
        chmod(&config, file_mode);
        chmod(&dir, dir_mode);
        let run = cli.run(&["record", "list", "-m", "100"]).await;
        run.code(2);
        assert!(run.stderr.contains(said), "{said}: {}", run.stderr);
        assert!(run.stderr.contains("chmod go-w"), "{}", run.stderr);
        let check = cli.run(&["config", "check"]).await;
        check.code(2);
        assert!(check.stdout.contains(said), "{said}: {}", check.stdout);
        assert!(!marker.exists(), "the token command never ran");
    }

    chmod(&dir, 0o1777);
    chmod(&config, 0o644);
    cli.run(&["record", "list", "-m", "100"]).await.ok();
    assert!(
        marker.exists(),
        "private again (a sticky directory is fine): used"
    );
}

#[tokio::test]
async fn a_config_with_only_keys_and_colours_is_used_with_a_warning() {
    let cli = Cli::isolated();
    let config = cli.write_config("[theme]\nwarning = \"yellow\"\n");
    chmod(&config, 0o666);
    let run = cli.run(&["record", "list", "-m", "100"]).await;
    run.ok();
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("writable by other users"),
        "{}",
        run.stderr
    );
    let check = cli.run(&["config", "check"]).await;
    assert!(
        check.stdout.contains("writable by other users"),
        "{}",
        check.stdout
    );
}
