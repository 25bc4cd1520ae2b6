//! `koobackup config path|show|edit` and `profile list`: where koobackup's files are, what the
//! config file says (secrets only as their source), editing it safely, and its profiles.
//!
//! `config edit` works like visudo: `$VISUAL`/`$EDITOR` edits a private copy; the copy is checked
//! as `config check` checks the file (TOML, profiles, credentials' shape, the app's keys and
//! colours); a copy that does not pass is never installed — on a terminal the editor can be
//! opened again, otherwise the old file stays and the command fails (exit 2). A good copy
//! replaces the file atomically, mode 0600.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::exit::{CliError, Exit};
use super::output::Output;
use crate::config::{self, Config};
use crate::connect::{self, ConnectOptions};
use crate::journal::Journal;

/// Checks what only the app knows how to check (its `[keys]` and `[theme]`), given by the
/// binary, which sits above both the command line and the app.
pub type AppCheck = fn(&Config, &Path) -> Result<(), String>;

/// The config file the options point at, and whether it was named explicitly.
fn config_path(options: &ConnectOptions) -> Result<PathBuf, CliError> {
    Ok(match &options.config_path {
        Some(path) => path.clone(),
        None => Config::default_path()?,
    })
}

/// `config path`: the files koobackup reads and writes.
pub(crate) fn path(options: &ConnectOptions, out: Output) -> Result<u8, CliError> {
    let config = config_path(options)?;
    let places = [
        ("config", config.clone()),
        ("journal", Journal::default_path()?),
        ("data", config::data_dir()?),
        ("state", config::state_dir()?),
    ];
    if out.is_json() {
        let mut document = serde_json::Map::new();
        for (name, path) in &places {
            document.insert(name.to_string(), path.display().to_string().into());
        }
        document.insert("configExists".into(), config.exists().into());
        out.json(&document)?;
    } else if out.quiet {
        out.value(&config.display().to_string())?;
    } else {
        let rows: Vec<Vec<String>> = places
            .iter()
            .map(|(name, path)| {
                let missing = if path.exists() { "" } else { " (not there yet)" };
                vec![name.to_string(), format!("{}{missing}", path.display())]
            })
            .collect();
        out.print_table(&out.table(&["WHAT", "PATH"], &rows))?;
    }
    Ok(Exit::Ok.code())
}

/// One profile as `config show` and `profile list` present it: every value but the secret,
/// which is shown as its source.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileView {
    name: String,
    default: bool,
    base_url: String,
    user_id: String,
    credential: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_file: Option<String>,
    read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    retention: Option<String>,
}

fn views(config: &Config) -> Vec<ProfileView> {
    config
        .profiles
        .iter()
        .map(|(name, profile)| ProfileView {
            name: name.clone(),
            default: config.default_profile.as_deref() == Some(name),
            base_url: profile.base_url.clone(),
            user_id: profile.user_id.clone(),
            credential: profile
                .credential()
                .map_or_else(|problem| format!("(not usable: {problem})"), |c| c.describe()),
            timeout_secs: profile.timeout_secs,
            ca_file: profile.ca_file.as_ref().map(|p| p.display().to_string()),
            read_only: profile.read_only,
            retention: profile.retention.map(|r| r.to_text()),
        })
        .collect()
}

/// `config show`: what the config file says, secrets as their source only.
pub(crate) fn show(options: &ConnectOptions, out: Output) -> Result<u8, CliError> {
    let path = config_path(options)?;
    let Some(config) = Config::load(&path)? else {
        if options.config_path.is_some() {
            return Err(CliError::usage(format!("{} does not exist", path.display())));
        }
        out.note(&format!(
            "no config file at {}: koobackup uses its embedded demo server (`koobackup config edit` \
             starts one from the example)",
            path.display()
        ));
        if out.is_json() {
            out.json(&serde_json::json!({"path": path.display().to_string(), "exists": false}))?;
        }
        return Ok(Exit::Ok.code());
    };
    let profiles = views(&config);
    if out.is_json() {
        out.json(&serde_json::json!({
            "path": path.display().to_string(),
            "exists": true,
            "defaultProfile": config.default_profile,
            "profiles": profiles,
            "keys": config.keys.values().map(|scope| scope.len()).sum::<usize>(),
            "theme": config.theme.len(),
        }))?;
        return Ok(Exit::Ok.code());
    }
    out.line(&format!("config file {}", path.display()))?;
    for profile in &profiles {
        let mut lines = vec![format!(
            "[profiles.{}]{}",
            profile.name,
            if profile.default { "  (default)" } else { "" }
        )];
        lines.push(format!("  server      {}", profile.base_url));
        lines.push(format!("  user        {}", profile.user_id));
        lines.push(format!("  credentials {}", profile.credential));
        if let Some(secs) = profile.timeout_secs {
            lines.push(format!("  timeout     {secs} s"));
        }
        if let Some(ca) = &profile.ca_file {
            lines.push(format!("  ca file     {ca}"));
        }
        if profile.read_only {
            lines.push("  read-only   yes".into());
        }
        if let Some(retention) = &profile.retention {
            lines.push(format!("  retention   {retention}"));
        }
        out.line(&lines.join("\n"))?;
    }
    let keys: usize = config.keys.values().map(|scope| scope.len()).sum();
    if keys > 0 || !config.theme.is_empty() {
        out.line(&format!(
            "the app: {keys} key binding(s), {} colour(s) of its own",
            config.theme.len()
        ))?;
    }
    Ok(Exit::Ok.code())
}

/// `profile list`: the profiles, the default one marked.
pub(crate) fn profiles(options: &ConnectOptions, out: Output) -> Result<u8, CliError> {
    let (path, config) = connect::config_file(options)?;
    let profiles = config.as_ref().map(views).unwrap_or_default();
    if out.quiet && out.human() {
        profiles.iter().try_for_each(|p| out.value(&p.name))?;
        return Ok(Exit::Ok.code());
    }
    let empty = format!("no profiles in {}", path.display());
    out.list(&profiles, &empty, || {
        let rows: Vec<Vec<String>> = profiles
            .iter()
            .map(|p| {
                vec![
                    if p.default {
                        format!("{} (default)", p.name)
                    } else {
                        p.name.clone()
                    },
                    p.base_url.clone(),
                    p.user_id.clone(),
                    p.credential.clone(),
                ]
            })
            .collect();
        out.table(&["PROFILE", "SERVER", "USER", "CREDENTIALS"], &rows)
    })?;
    Ok(Exit::Ok.code())
}

/// Whether `text` would make a good config file: what `config check` finds wrong in a file,
/// without contacting any server.
pub(crate) fn check_text(text: &str, path: &Path, app_check: AppCheck) -> Result<(), String> {
    let config = Config::parse(text)?;
    for (name, profile) in &config.profiles {
        profile
            .credential()
            .map_err(|problem| format!("profile {name:?}: {problem}"))?;
    }
    app_check(&config, path)
}

/// `config edit`: edits a copy, installs it only when it passes the checks.
pub(crate) async fn edit(options: &ConnectOptions, out: Output, app_check: AppCheck) -> Result<u8, CliError> {
    let path = config_path(options)?;
    let original = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(CliError::failure(format!("cannot read {}: {e}", path.display()))),
    };
    let mut text = original
        .clone()
        .unwrap_or_else(|| include_str!("../../assets/config.example.toml").to_string());
    let editor = crate::editor::editor_command(|name| std::env::var(name).ok());
    let scratch = std::env::temp_dir();
    loop {
        text = crate::editor::edit(&text, &editor, &scratch)
            .await
            .map_err(|e| CliError::failure(format!("{e}; {} is unchanged", path.display())))?;
        if original.as_deref() == Some(text.as_str()) {
            out.say(&format!("no change: {} is as it was", path.display()))?;
            return Ok(Exit::Ok.code());
        }
        match check_text(&text, &path, app_check) {
            Ok(()) => break,
            Err(problem) => {
                out.warn(&format!("the edited config is not valid: {problem}"));
                if !(super::can_ask() && super::ask("Edit it again? (no keeps the old file)")?) {
                    return Err(CliError::usage(format!(
                        "{} kept as it was: the edited text had a problem ({problem})",
                        path.display()
                    )));
                }
            }
        }
    }
    config::write_private_atomically(&path, text.as_bytes())
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}; it is unchanged", path.display())))?;
    out.say(&format!("saved {}", path.display()))?;
    Ok(Exit::Ok.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_app_check(_: &Config, _: &Path) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn a_copy_is_checked_like_the_file() {
        let path = Path::new("config.toml");
        let example = include_str!("../../assets/config.example.toml");
        assert_eq!(check_text(example, path, no_app_check), Ok(()));
        let broken = "[profiles.x]\nbase_url = 1\n";
        assert!(check_text(broken, path, no_app_check).is_err());
        let no_credential = "[profiles.x]\nbase_url = \"https://k.example\"\nuser_id = \"u\"\n";
        let problem = check_text(no_credential, path, no_app_check).unwrap_err();
        assert!(problem.contains("profile \"x\""), "{problem}");
        let refused = |_: &Config, _: &Path| Err("a key bound twice".to_string());
        assert_eq!(
            check_text(example, path, refused),
            Err("a key bound twice".into())
        );
    }
}
