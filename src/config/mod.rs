//! Profiles (base URL, user id, and where the credentials come from) from
//! `$XDG_CONFIG_HOME/koobackup/config.toml`.
//!
//! A profile authenticates with a bearer token (`token = {…}`) or as an app that signs each
//! request (`app_id = "…"` and `app_secret = {…}`). The config file never holds a secret itself,
//! only where to get one: an environment variable, a file, or a command such as
//! `pass show koodrive`. See `assets/config.example.toml`.
//!
//! This file holds the file's format (parsing, validation, choosing a profile); reading a secret
//! from where a profile says it is lives in `secret`, the directories we keep state in in
//! `paths`, and writes that readers never see half-done in `files`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod files;
mod paths;
pub mod permissions;
mod secret;

pub use files::{create_private_dir_all, write_atomically, write_private_atomically};
use paths::home_dir;
pub(crate) use paths::non_empty_env;
pub use paths::{cache_dir, data_dir, expand_home, state_dir};
pub use secret::{SECRET_TIMEOUT_ENV, token_file_permission_warning};

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
    /// `[keys.SCOPE]`: the terminal app's keys, `command = "keys"` (`renew = "R Ctrl+r"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, BTreeMap<String, toml::Spanned<String>>>,
    /// `[theme]`: the terminal app's colours by role, `warning = "light-yellow"` or
    /// `status-bar = "white on #263a5a"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub theme: BTreeMap<String, toml::Spanned<String>>,
    /// The text the file was parsed from, to say where in it a value is.
    #[serde(skip)]
    pub text: String,
    /// Others could change the file, which configures no profile, so it is used: say so.
    #[serde(skip)]
    pub permission_warning: Option<String>,
}

/// One KooDrive account on one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub base_url: String,
    pub user_id: String,
    /// Bearer token (the backup pages' scheme).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretSource>,
    /// App-based authentication (the Authentication chapter's scheme): the app id and where its
    /// secret comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<SecretSource>,
    /// Limit for one HTTP exchange, in seconds (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Lock lifetime the server applies, in seconds (KooDrive: 600). Only for test servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_ttl_secs: Option<u64>,
    /// PEM file with certificate authorities to trust beside the operating system's (a
    /// KooDrive behind a corporate CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Allow plain `http://` to another machine (the credentials travel readable).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure_http: bool,
    /// `[profiles.NAME.retention]`: the completed backups `cleanup` keeps when no `--keep-*`
    /// option is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::retention::Retention>,
    /// `delete_grace = "24h"`: deletes through this profile are queued for this long first
    /// (`koobackup pending`), as if `--grace` were given; `--grace 0` sends at once.
    #[serde(
        default,
        with = "crate::format::optional_grace",
        skip_serializing_if = "Option::is_none"
    )]
    pub delete_grace: Option<chrono::Duration>,
    /// Send nothing that changes the server through this profile (a production server one only
    /// looks at): the TUI refuses such keys, the CLI such commands (exit 2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// `[profiles.NAME.health]`: when backups are late or stale, for `status` and the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::health::HealthConfig>,
    /// `[profiles.NAME.hooks]`: commands run on events (`lock-lost`, `status-critical`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<crate::hooks::Hooks>,
}

/// Where a secret (an access token or an app secret) comes from. In TOML: `{ env = "VAR" }`,
/// `{ file = "~/.config/koobackup/token" }` or `{ command = "pass show koodrive" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretSource {
    /// The named environment variable.
    Env(String),
    /// The first line of a file; `~/` is expanded.
    File(PathBuf),
    /// The standard output of a shell command (run with `sh -c`).
    Command(String),
}

/// How a connection authenticates, before any secret is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// A bearer token from this source.
    Token(SecretSource),
    /// App `app_id`, signing with the secret from this source.
    App { app_id: String, secret: SecretSource },
}

impl CredentialSource {
    /// The source of the secret this scheme needs.
    pub fn secret(&self) -> &SecretSource {
        match self {
            CredentialSource::Token(source) | CredentialSource::App { secret: source, .. } => source,
        }
    }

    /// What the secret is called in messages: `access token` or `app secret`.
    pub fn secret_name(&self) -> &'static str {
        match self {
            CredentialSource::Token(_) => "access token",
            CredentialSource::App { .. } => "app secret",
        }
    }

    /// `bearer token from …` / `app signature (app id X), secret from …`.
    pub fn describe(&self) -> String {
        match self {
            CredentialSource::Token(source) => format!("access token (bearer) from {}", source.describe()),
            CredentialSource::App { app_id, secret } => {
                format!(
                    "app signature (app id {app_id}), secret from {}",
                    secret.describe()
                )
            }
        }
    }

    /// Reads the secret and makes the credentials of `user_id`.
    pub fn resolve(&self, user_id: &str) -> Result<crate::api::Credentials, ConfigError> {
        let secret = self.secret().resolve(self.secret_name())?;
        Ok(match self {
            CredentialSource::Token(_) => crate::api::Credentials::new(user_id, secret),
            CredentialSource::App { app_id, .. } => crate::api::Credentials::app(user_id, app_id, secret),
        })
    }
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
    #[error("the environment variable {var} that should hold the {what} is not set")]
    TokenEnvMissing { var: String, what: &'static str },
    #[error("cannot read the {what} file {}: {source}", path.display())]
    TokenFile {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("cannot run the {what} command `{command}`: {source}")]
    TokenCommandSpawn {
        command: String,
        what: &'static str,
        source: std::io::Error,
    },
    /// The command's output is deliberately not included: it may be (part of) the secret.
    #[error(
        "the {what} command `{command}` failed ({status}); its output is not shown because it may contain the secret"
    )]
    TokenCommandFailed {
        command: String,
        what: &'static str,
        status: String,
    },
    #[error(
        "the {what} command `{command}` did not finish within {} s and was stopped; \
         check that it can run without waiting (is it asking for input?)",
        .after.as_secs()
    )]
    TokenCommandTimeout {
        command: String,
        what: &'static str,
        after: std::time::Duration,
    },
    #[error("the {what} from {source_label} is empty")]
    TokenEmpty {
        source_label: String,
        what: &'static str,
    },
    #[error(
        "the {what} from {source_label} spans several lines or is larger than 64 KiB; it must be \
         a single line (is this the right file or command?)"
    )]
    TokenMultiline {
        source_label: String,
        what: &'static str,
    },
    #[error("the config file {} given with --config or KOOBACKUP_CONFIG does not exist", path.display())]
    Missing { path: PathBuf },
    /// The file names secrets and can run a command, and others could change it (see
    /// [`permissions`]).
    #[error(
        "{problem}: whoever can change it could send your credentials to another server or run a \
         command as you, so koobackup does not use it (as ssh does). Run chmod go-w on it and its \
         directory"
    )]
    Unsafe { problem: String },
    #[error("no home directory is known (HOME is not set), so the {what} cannot be located; set {hint}")]
    NoHome { what: &'static str, hint: &'static str },
}

impl Config {
    /// Where a value of the file is: `line L, column C` (1-based).
    pub fn position_of<T>(&self, value: &toml::Spanned<T>) -> String {
        line_and_column(&self.text, value.span().start)
    }

    /// The names of the profiles, in order.
    pub fn profile_names(&self) -> Vec<String> {
        self.profiles.keys().cloned().collect()
    }

    /// The user's `[keys]` as plain text, for the keymap.
    pub fn key_overrides(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        self.keys
            .iter()
            .map(|(scope, commands)| {
                let commands = commands
                    .iter()
                    .map(|(command, keys)| (command.clone(), keys.get_ref().clone()))
                    .collect();
                (scope.clone(), commands)
            })
            .collect()
    }
}

fn line_and_column(text: &str, offset: usize) -> String {
    let before = text.get(..offset.min(text.len())).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.chars().count() - before.rfind('\n').map_or(0, |i| before[..=i].chars().count()) + 1;
    format!("line {line}, column {column}")
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
    let position = line_and_column(text, span.start);
    let key_error = message.starts_with("unknown field") || message.starts_with("duplicate key");
    let offending = text
        .get(span)
        .unwrap_or_default()
        .trim()
        .trim_matches(['"', '\''])
        .trim();
    if !key_error && !offending.is_empty() {
        // Only where the message quotes the value: replacing every occurrence of a short value
        // (`e`) would mangle the message's own words.
        for quoted in [
            format!("\"{offending}\""),
            format!("`{offending}`"),
            format!("'{offending}'"),
        ] {
            message = message.replace(&quoted, "<value not shown>");
        }
        if offending.chars().count() > 8 {
            message = message.replace(offending, "<value not shown>");
        }
    }
    format!("{position}: {message}")
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

    /// Like [`Config::load`], but a file the user named explicitly must exist.
    pub fn load_explicit(path: &Path) -> Result<Config, ConfigError> {
        Config::load(path)?.ok_or_else(|| ConfigError::Missing {
            path: path.to_path_buf(),
        })
    }

    /// Reads and checks the config file. `Ok(None)` when it does not exist.
    /// A file others could change is refused when it configures a profile (every profile names
    /// a secret and may run a command), and used with a warning otherwise.
    pub fn load(path: &Path) -> Result<Option<Config>, ConfigError> {
        let read_error = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(read_error(source)),
        };
        // Judged by the file opened and read, not by a name that could be swapped meanwhile.
        let metadata = file.metadata().map_err(read_error)?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(read_error)?;
        let mut config = Config::parse(&text).map_err(|detail| ConfigError::Parse {
            path: path.to_path_buf(),
            detail,
        })?;
        if let Some(problem) = permissions::writable_by_others("the config file", path, &metadata) {
            if !config.profiles.is_empty() {
                return Err(ConfigError::Unsafe { problem });
            }
            config.permission_warning = Some(format!(
                "{problem}; it configures no profile, so it is used, but run chmod go-w on it and \
                 its directory"
            ));
        }
        Ok(Some(config))
    }

    /// Parses config text and checks every profile. The error names the line and column.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut config: Config = toml::from_str(text).map_err(|e| describe_toml_error(text, &e))?;
        config.text = text.to_string();
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
                known: self.profile_names(),
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
        // Only ever shorter than KooDrive's 10 minutes (our rule): a longer one would have
        // koobackup trust a lock the server has already dropped.
        if self.lock_ttl_secs.is_some_and(|secs| !(1..=600).contains(&secs)) {
            return Err("lock_ttl_secs must be between 1 and 600 (KooDrive's lock lifetime)".into());
        }
        if let Some(health) = &self.health {
            crate::health::HealthConfig::rules(Some(health), Default::default())
                .map_err(|problem| format!("health: {problem}"))?;
        }
        if let Some(hooks) = &self.hooks {
            hooks.validate()?;
        }
        let credential = self.credential()?;
        let name = match credential {
            CredentialSource::Token(_) => "token",
            CredentialSource::App { ref app_id, .. } => {
                if app_id.trim().is_empty()
                    || app_id.contains([',', '='])
                    || app_id.chars().any(char::is_control)
                {
                    return Err(
                        "app_id must be a non-empty id without commas, '=' or control characters".into(),
                    );
                }
                "app_secret"
            }
        };
        match credential.secret() {
            SecretSource::Env(var) if var.trim().is_empty() => Err(format!("{name}.env names no variable")),
            SecretSource::File(path) if path.as_os_str().is_empty() => Err(format!("{name}.file is empty")),
            SecretSource::Command(command) if command.trim().is_empty() => {
                Err(format!("{name}.command is empty"))
            }
            _ => Ok(()),
        }
    }

    /// How this profile authenticates: a token, or an app id with its secret (exactly one).
    pub fn credential(&self) -> Result<CredentialSource, String> {
        match (&self.token, &self.app_id, &self.app_secret) {
            (Some(token), None, None) => Ok(CredentialSource::Token(token.clone())),
            (None, Some(app_id), Some(secret)) => Ok(CredentialSource::App {
                app_id: app_id.clone(),
                secret: secret.clone(),
            }),
            (None, Some(_), None) => Err("app_id needs app_secret = { env | file | command }".into()),
            (None, None, Some(_)) => Err("app_secret needs app_id".into()),
            (None, None, None) => {
                Err("no credentials: give token = { env | file | command }, or app_id and app_secret".into())
            }
            (Some(_), _, _) => Err("give either token or app_id and app_secret, not both".into()),
        }
    }
}

/// A base URL must be absolute http(s) with a host, and carry nothing the client would send
/// elsewhere than intended: no `user:password@` (it would go out as Basic credentials beside
/// ours), no query, no fragment. The message never repeats a password.
pub fn validate_base_url(url: &str) -> Result<(), String> {
    if let Some(problem) = crate::api::client::base_url_length_problem(url) {
        return Err(problem);
    }
    let shown = base_url_for_message(url);
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("base URL {shown:?} must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(
            "the base URL must not contain a user name or password (user:password@host); \
             credentials come from the profile"
                .into(),
        );
    }
    if authority.is_empty() {
        return Err(format!("base URL {shown:?} names no host"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "base URL {shown:?} contains whitespace or control characters"
        ));
    }
    if rest.contains(['?', '#']) {
        return Err(format!(
            "base URL {shown:?} must not contain a query (?…) or a fragment (#…); \
             they are left out here because they may hold a secret"
        ));
    }
    Ok(())
}

/// A base URL as error messages show it: without what follows `?` or `#` (a query may carry a
/// token) and without user info (`user:password@`), escaped for the terminal.
fn base_url_for_message(url: &str) -> String {
    let before_query = url.split(['?', '#']).next().unwrap_or_default();
    let without_user = match before_query.split_once("://") {
        Some((scheme, rest)) => match rest.split('/').next().and_then(|a| a.rsplit_once('@')) {
            Some((_, host)) => {
                let path = &rest[rest.find('/').unwrap_or(rest.len())..];
                format!("{scheme}://{host}{path}")
            }
            None => before_query.to_string(),
        },
        None => before_query
            .split('@')
            .next_back()
            .unwrap_or_default()
            .to_string(),
    };
    crate::format::escape(&without_user).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../assets/config.example.toml");

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
        assert_eq!(
            config.profiles["a"].token,
            Some(SecretSource::Env("KD_TOKEN".into()))
        );
        assert_eq!(
            config.profiles["b"].token,
            Some(SecretSource::File("~/kd-token".into()))
        );
        assert_eq!(config.profiles["b"].timeout_secs, Some(5));
        assert_eq!(
            config.profiles["c"].token,
            Some(SecretSource::Command("pass show koodrive".into()))
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
    fn a_profile_authenticates_one_way_only() {
        let app = Config::parse(
            r#"
            [profiles.app]
            base_url = "https://drive.example"
            user_id = "1505084218764547200"
            app_id = "koobackup-prod"
            app_secret = { file = "~/.config/koobackup/app-secret" }
            ca_file = "/etc/ssl/corp-ca.pem"
            "#,
        )
        .unwrap();
        let profile = &app.profiles["app"];
        assert_eq!(
            profile.credential().unwrap(),
            CredentialSource::App {
                app_id: "koobackup-prod".into(),
                secret: SecretSource::File("~/.config/koobackup/app-secret".into())
            }
        );
        assert_eq!(
            profile.ca_file.as_deref(),
            Some(Path::new("/etc/ssl/corp-ca.pem"))
        );
        let header = "[profiles.x]\nbase_url = \"https://h\"\nuser_id = \"u\"\n";
        for (body, expected) in [
            ("", "no credentials"),
            (
                "token = { env = \"T\" }\napp_id = \"a\"\napp_secret = { env = \"S\" }\n",
                "not both",
            ),
            ("app_id = \"a\"\n", "needs app_secret"),
            ("app_secret = { env = \"S\" }\n", "needs app_id"),
            (
                "app_id = \"a,b\"\napp_secret = { env = \"S\" }\n",
                "without commas",
            ),
            (
                "app_id = \"a\"\napp_secret = { command = \" \" }\n",
                "app_secret.command is empty",
            ),
            (
                "token = { env = \"T\" }\nlock_ttl_secs = 601\n",
                "between 1 and 600",
            ),
            (
                "token = { env = \"T\" }\nlock_ttl_secs = 0\n",
                "between 1 and 600",
            ),
        ] {
            let err = Config::parse(&format!("{header}{body}")).unwrap_err();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn base_urls_with_credentials_or_queries_are_refused_without_echoing_a_password() {
        for (url, expected) in [
            ("http://user:pw-secret@127.0.0.1:8080", "user name or password"),
            ("https://tok@drive.example/", "user name or password"),
            ("https://drive.example/?access_token=pw-secret", "query"),
            ("https://drive.example/#pw-secret", "fragment"),
            ("https:///", "names no host"),
            ("https://drive.example/\u{1b}[2J", "control characters"),
            ("ftp://user:pw-secret@drive.example/", "must start with http"),
            ("drive.example/?token=pw-secret", "must start with http"),
            ("https://u:pw-secret@/x", "user name or password"),
        ] {
            let err = validate_base_url(url).unwrap_err();
            assert!(err.contains(expected), "{url}: {err}");
            assert!(!err.contains("pw-secret") && !err.contains('\u{1b}'), "{err}");
        }
        assert!(
            validate_base_url("https://drive.example/?x=1")
                .unwrap_err()
                .contains("\"https://drive.example/\""),
            "the part without the query is still shown"
        );
        validate_base_url("https://drive.example/koodrive-proxy/").unwrap();
    }
}
