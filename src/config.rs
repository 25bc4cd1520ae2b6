//! Profiles (base URL, user id, token source) from `$XDG_CONFIG_HOME/koobackup/config.toml`.
//!
//! The config file never holds a token itself, only where to get one: an environment variable, a
//! file, or a command such as `pass show koodrive`. See `assets/config.example.toml`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::api::Token;

/// Overrides the config file location (used by tests and by operators with several setups).
pub const CONFIG_ENV: &str = "KOOBACKUP_CONFIG";

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Profile used when no `--profile` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One KooDrive account on one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub base_url: String,
    pub user_id: String,
    pub token: TokenSource,
    /// Limit for one HTTP exchange, in seconds (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Lock lifetime the server applies, in seconds (KooDrive: 600). Only for test servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_ttl_secs: Option<u64>,
}

/// Where the access token comes from. In TOML: `token = { env = "VAR" }`,
/// `token = { file = "~/.config/koobackup/token" }` or `token = { command = "pass show koodrive" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum TokenSource {
    /// The named environment variable.
    Env(String),
    /// The first line of a file; `~/` is expanded.
    File(PathBuf),
    /// The standard output of a shell command (run with `sh -c`).
    Command(String),
}

/// Everything that can be wrong with the configuration, in words an operator can act on.
/// No variant ever carries token text.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the config file {} is not valid: {detail}", path.display())]
    Parse { path: PathBuf, detail: String },
    #[error("there is no profile {name:?} in {}{}", path.display(), known_profiles(known))]
    UnknownProfile {
        name: String,
        path: PathBuf,
        known: Vec<String>,
    },
    #[error("profile {profile:?}: {problem}")]
    InvalidProfile { profile: String, problem: String },
    #[error("the environment variable {var} that should hold the access token is not set")]
    TokenEnvMissing { var: String },
    #[error("cannot read the token file {}: {source}", path.display())]
    TokenFile { path: PathBuf, source: std::io::Error },
    #[error("cannot run the token command `{command}`: {source}")]
    TokenCommandSpawn { command: String, source: std::io::Error },
    /// The command's output is deliberately not included: it may be (part of) the secret.
    #[error(
        "the token command `{command}` failed ({status}); its output is not shown because it may contain the token"
    )]
    TokenCommandFailed { command: String, status: String },
    #[error("the access token from {source_label} is empty")]
    TokenEmpty { source_label: String },
    #[error(
        "the access token from {source_label} spans several lines; it must be a single line \
         (is this the right file or command?)"
    )]
    TokenMultiline { source_label: String },
    #[error("no home directory is known (HOME is not set), so the {what} cannot be located; set {hint}")]
    NoHome { what: &'static str, hint: &'static str },
}

/// A TOML error as "line L, column C: message", without the excerpt of the file toml's own
/// rendering adds and without the offending value: a value that does not fit is often the token
/// itself, pasted where `token = { file = ... }` belongs, and must not be printed. A misnamed key
/// is still named, since that is the useful part.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let mut message = error.message().trim_end().to_string();
    let Some(span) = error.span() else {
        return message;
    };
    let start = span.start.min(text.len());
    let before = text.get(..start).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    let key_error = message.starts_with("unknown field") || message.starts_with("duplicate key");
    let offending = text
        .get(span)
        .unwrap_or_default()
        .trim()
        .trim_matches(['"', '\''])
        .trim();
    if !key_error && !offending.is_empty() {
        message = message.replace(offending, "<value not shown>");
    }
    format!("line {line}, column {column}: {message}")
}

fn known_profiles(known: &[String]) -> String {
    if known.is_empty() {
        "; the file defines no profiles".to_string()
    } else {
        format!("; known profiles: {}", known.join(", "))
    }
}

impl Config {
    /// `$KOOBACKUP_CONFIG`, else `$XDG_CONFIG_HOME/koobackup/config.toml`, else
    /// `~/.config/koobackup/config.toml`.
    pub fn default_path() -> Result<PathBuf, ConfigError> {
        if let Some(path) = non_empty_env(CONFIG_ENV) {
            return Ok(PathBuf::from(path));
        }
        let base = match non_empty_env("XDG_CONFIG_HOME") {
            Some(dir) => PathBuf::from(dir),
            None => home_dir("config file", "XDG_CONFIG_HOME or KOOBACKUP_CONFIG")?.join(".config"),
        };
        Ok(base.join("koobackup").join("config.toml"))
    }

    /// Reads and checks the config file. `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Config>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let config = Config::parse(&text).map_err(|detail| ConfigError::Parse {
            path: path.to_path_buf(),
            detail,
        })?;
        Ok(Some(config))
    }

    /// Parses config text and checks every profile. The error names the line and column.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| describe_toml_error(text, &e))?;
        if let Some(name) = &config.default_profile
            && !config.profiles.contains_key(name)
        {
            return Err(format!(
                "default_profile is {name:?} but there is no [profiles.{name}] section"
            ));
        }
        for (name, profile) in &config.profiles {
            profile
                .validate()
                .map_err(|problem| format!("profile {name:?}: {problem}"))?;
        }
        Ok(config)
    }

    /// The profile called `name`, or the default one when `name` is `None`. `Ok(None)` when no
    /// name was given and the file names no default.
    pub fn select(&self, name: Option<&str>, path: &Path) -> Result<Option<(String, Profile)>, ConfigError> {
        let Some(name) = name.or(self.default_profile.as_deref()) else {
            return Ok(None);
        };
        match self.profiles.get(name) {
            Some(profile) => Ok(Some((name.to_string(), profile.clone()))),
            None => Err(ConfigError::UnknownProfile {
                name: name.to_string(),
                path: path.to_path_buf(),
                known: self.profiles.keys().cloned().collect(),
            }),
        }
    }
}

impl Profile {
    /// Checks the fields an operator can get wrong; the message says which and how.
    pub fn validate(&self) -> Result<(), String> {
        validate_base_url(&self.base_url)?;
        if self.user_id.trim().is_empty() {
            return Err("user_id is empty".into());
        }
        if self.timeout_secs == Some(0) {
            return Err("timeout_secs must be at least 1".into());
        }
        if self.lock_ttl_secs == Some(0) {
            return Err("lock_ttl_secs must be at least 1".into());
        }
        match &self.token {
            TokenSource::Env(var) if var.trim().is_empty() => Err("token.env names no variable".into()),
            TokenSource::File(path) if path.as_os_str().is_empty() => Err("token.file is empty".into()),
            TokenSource::Command(command) if command.trim().is_empty() => {
                Err("token.command is empty".into())
            }
            _ => Ok(()),
        }
    }
}

/// A base URL must be absolute http(s) with a host; anything else would fail later with a
/// confusing transport error.
pub fn validate_base_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("base URL {url:?} must start with http:// or https://"))?;
    if rest.trim_matches('/').is_empty() {
        return Err(format!("base URL {url:?} names no host"));
    }
    if url.chars().any(char::is_whitespace) {
        return Err(format!("base URL {url:?} contains whitespace"));
    }
    Ok(())
}

impl TokenSource {
    /// Where the token comes from, for messages (never the token).
    pub fn describe(&self) -> String {
        match self {
            TokenSource::Env(var) => format!("environment variable {var}"),
            TokenSource::File(path) => format!("file {}", expand_home(path).display()),
            TokenSource::Command(command) => format!("command `{command}`"),
        }
    }

    /// Reads the token: trailing line breaks are removed; an empty or multi-line value is an error.
    pub fn resolve(&self) -> Result<Token, ConfigError> {
        let raw = match self {
            TokenSource::Env(var) => {
                std::env::var(var).map_err(|_| ConfigError::TokenEnvMissing { var: var.clone() })?
            }
            TokenSource::File(path) => read_token_file(&expand_home(path))?,
            TokenSource::Command(command) => run_token_command(command)?,
        };
        clean_token(raw, &self.describe())
    }

    /// A warning when the token file can be read by other users (unix permissions).
    pub fn permission_warning(&self) -> Option<String> {
        match self {
            TokenSource::File(path) => token_file_permission_warning(&expand_home(path)),
            _ => None,
        }
    }
}

fn clean_token(raw: String, source_label: &str) -> Result<Token, ConfigError> {
    let value = raw.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        return Err(ConfigError::TokenEmpty {
            source_label: source_label.to_string(),
        });
    }
    if value.contains(['\n', '\r']) {
        return Err(ConfigError::TokenMultiline {
            source_label: source_label.to_string(),
        });
    }
    Ok(Token::new(value))
}

/// Tokens are short; a larger file is certainly the wrong file and is not read whole.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

fn read_token_file(path: &Path) -> Result<String, ConfigError> {
    let error = |source| ConfigError::TokenFile {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(error)?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_BYTES)
        .read_to_end(&mut bytes)
        .map_err(error)?;
    String::from_utf8(bytes).map_err(|_| {
        error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ))
    })
}

/// Runs `sh -c command`, keeping its stdout (the token). Its stderr stays on the terminal so
/// prompts from gpg or pass are visible; nothing it prints is repeated in our messages.
fn run_token_command(command: &str) -> Result<String, ConfigError> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(|source| ConfigError::TokenCommandSpawn {
            command: command.to_string(),
            source,
        })?;
    if !output.status.success() {
        return Err(ConfigError::TokenCommandFailed {
            command: command.to_string(),
            status: describe_status(output.status),
        });
    }
    String::from_utf8(output.stdout).map_err(|_| ConfigError::TokenCommandFailed {
        command: command.to_string(),
        status: "its output is not UTF-8 text".into(),
    })
}

fn describe_status(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "no exit status".into(),
    }
}

/// A warning when `path` is readable or writable by group or others.
pub fn token_file_permission_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Some(format!(
                "the token file {} can be read by other users (mode {:o}); run: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}

/// Expands a leading `~/` to the home directory; other paths are returned unchanged.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), dirs::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

/// `$XDG_DATA_HOME/koobackup`, else `~/.local/share/koobackup`: the demo database and the lock
/// journal live here.
pub fn data_dir() -> Result<PathBuf, ConfigError> {
    let base = match non_empty_env("XDG_DATA_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => home_dir("data directory", "XDG_DATA_HOME")?
            .join(".local")
            .join("share"),
    };
    Ok(base.join("koobackup"))
}

fn home_dir(what: &'static str, hint: &'static str) -> Result<PathBuf, ConfigError> {
    dirs::home_dir().ok_or(ConfigError::NoHome { what, hint })
}

pub(crate) fn non_empty_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Writes `bytes` to `path` so that readers see the old or the new content, never a mix: a
/// temporary file in the same directory (mode 0600), fsync, rename, then fsync of the directory.
/// Missing parent directories are created with mode 0700.
pub fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    create_private_dir_all(dir)?;
    let file_name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let temp_path = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = (|| {
        let mut file = private_file_options().open(&temp_path)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp_path, path)?;
        // Make the rename itself durable.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp_path);
    }
    result
}

fn private_file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// `create_dir_all` whose new directories are private to the user (0700 on unix).
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../assets/config.example.toml");

    #[test]
    fn the_shipped_example_parses() {
        let config = Config::parse(EXAMPLE).unwrap();
        assert!(config.default_profile.is_some());
        assert!(config.profiles.len() >= 2);
    }

    #[test]
    fn token_sources_read_from_toml() {
        let config = Config::parse(
            r#"
            default_profile = "a"
            [profiles.a]
            base_url = "https://drive.example"
            user_id = "u1"
            token = { env = "KD_TOKEN" }
            [profiles.b]
            base_url = "http://127.0.0.1:8080"
            user_id = "u2"
            token = { file = "~/kd-token" }
            timeout_secs = 5
            [profiles.c]
            base_url = "http://127.0.0.1:8080"
            user_id = "u3"
            token = { command = "pass show koodrive" }
            "#,
        )
        .unwrap();
        assert_eq!(config.profiles["a"].token, TokenSource::Env("KD_TOKEN".into()));
        assert_eq!(config.profiles["b"].token, TokenSource::File("~/kd-token".into()));
        assert_eq!(config.profiles["b"].timeout_secs, Some(5));
        assert_eq!(
            config.profiles["c"].token,
            TokenSource::Command("pass show koodrive".into())
        );
        let (name, _) = config.select(None, Path::new("c.toml")).unwrap().unwrap();
        assert_eq!(name, "a");
    }

    #[test]
    fn mistakes_are_named_with_their_position() {
        let typo = Config::parse("[profiles.a]\nbase_url = \"http://x\"\nuser = \"u\"\n").unwrap_err();
        assert!(typo.contains("line"), "{typo}");
        assert!(typo.contains("user"), "{typo}");

        let bad_url = Config::parse(
            "[profiles.a]\nbase_url = \"drive.example\"\nuser_id = \"u\"\ntoken = { env = \"T\" }\n",
        )
        .unwrap_err();
        assert!(bad_url.contains("http://"), "{bad_url}");

        let no_default = Config::parse("default_profile = \"x\"\n").unwrap_err();
        assert!(no_default.contains("no [profiles.x]"), "{no_default}");
    }

    #[test]
    fn unknown_profile_lists_the_known_ones() {
        let config = Config::parse(EXAMPLE).unwrap();
        let err = config.select(Some("nope"), Path::new("c.toml")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"nope\""), "{text}");
        assert!(text.contains("known profiles"), "{text}");
    }

    #[test]
    fn token_file_is_trimmed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret-token\r\n").unwrap();
        let token = TokenSource::File(path.clone()).resolve().unwrap();
        assert_eq!(token.expose(), "s3cret-token");

        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            TokenSource::File(path.clone()).resolve(),
            Err(ConfigError::TokenEmpty { .. })
        ));

        std::fs::write(&path, "line-one-secret\nline-two\n").unwrap();
        let err = TokenSource::File(path.clone()).resolve().unwrap_err();
        assert!(matches!(err, ConfigError::TokenMultiline { .. }));
        assert!(!err.to_string().contains("line-one-secret"));

        let missing = TokenSource::File(dir.path().join("absent"))
            .resolve()
            .unwrap_err();
        assert!(missing.to_string().contains("absent"), "{missing}");
    }

    #[cfg(unix)]
    #[test]
    fn readable_token_file_is_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "t").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let warning = TokenSource::File(path.clone()).permission_warning().unwrap();
        assert!(warning.contains("chmod 600"), "{warning}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(TokenSource::File(path).permission_warning(), None);
    }

    #[test]
    fn token_command_output_is_the_token_and_failures_hide_it() {
        let token = TokenSource::Command("printf 'cmd-token\\n'".into())
            .resolve()
            .unwrap();
        assert_eq!(token.expose(), "cmd-token");

        // The output ("42-secret") differs from the command text, so a leak would show.
        let err = TokenSource::Command("echo $((6*7))-secret; exit 3".into())
            .resolve()
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("exit status 3"), "{text}");
        assert!(!text.contains("42-secret"), "{text}");
    }

    #[test]
    fn missing_env_variable_is_named() {
        let err = TokenSource::Env("KOOBACKUP_TEST_SURELY_UNSET_VAR".into())
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("KOOBACKUP_TEST_SURELY_UNSET_VAR"));
    }

    #[cfg(unix)]
    #[test]
    fn atomic_writes_are_private_and_replace_the_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("file.json");
        write_private_atomically(&path, b"one").unwrap();
        write_private_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }
}
