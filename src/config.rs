//! Profiles (base URL, user id, and where the credentials come from) from
//! `$XDG_CONFIG_HOME/koobackup/config.toml`.
//!
//! A profile authenticates with a bearer token (`token = {…}`) or as an app that signs each
//! request (`app_id = "…"` and `app_secret = {…}`). The config file never holds a secret itself,
//! only where to get one: an environment variable, a file, or a command such as
//! `pass show koodrive`. See `assets/config.example.toml`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::api::Token;

pub mod permissions;

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

impl SecretSource {
    /// Where the secret comes from, for messages (never the secret).
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Env(var) => format!("environment variable {var}"),
            SecretSource::File(path) if path.as_os_str() == "-" => "standard input".into(),
            SecretSource::File(path) => format!("file {}", expand_home(path).display()),
            SecretSource::Command(command) => format!("command `{command}`"),
        }
    }

    /// Reads the secret (`what` names it in messages: "access token", "app secret"): trailing
    /// line breaks are removed; an empty or multi-line value is an error.
    pub fn resolve(&self, what: &'static str) -> Result<Token, ConfigError> {
        let raw = match self {
            SecretSource::Env(var) => std::env::var(var).map_err(|_| ConfigError::TokenEnvMissing {
                var: var.clone(),
                what,
            })?,
            SecretSource::File(path) if path.as_os_str() == "-" => read_stdin_secret(what)?,
            SecretSource::File(path) => {
                let path = expand_home(path);
                let file = std::fs::File::open(&path).map_err(|source| ConfigError::TokenFile {
                    path: path.clone(),
                    what,
                    source,
                })?;
                read_secret(file, what, || path.display().to_string())?
            }
            SecretSource::Command(command) => run_secret_command(command, what)?,
        };
        clean_secret(raw, &self.describe(), what)
    }

    /// A warning when the secret file can be read by other users (unix permissions).
    pub fn permission_warning(&self) -> Option<String> {
        match self {
            SecretSource::File(path) if path.as_os_str() != "-" => {
                token_file_permission_warning(&expand_home(path))
            }
            _ => None,
        }
    }
}

fn clean_secret(raw: String, source_label: &str, what: &'static str) -> Result<Token, ConfigError> {
    let value = raw.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        return Err(ConfigError::TokenEmpty {
            source_label: source_label.to_string(),
            what,
        });
    }
    if value.contains(['\n', '\r']) || value.len() as u64 >= MAX_SECRET_BYTES {
        return Err(ConfigError::TokenMultiline {
            source_label: source_label.to_string(),
            what,
        });
    }
    Ok(Token::new(value))
}

/// Secrets are short; a larger file or output is certainly the wrong one and is not read whole.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// How long a secret command may run by default. Long enough to type a passphrase at a prompt;
/// a command that hangs (a dead agent, a prompt nobody sees) must not hang every koobackup
/// command.
const SECRET_COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Overrides [`SECRET_COMMAND_TIMEOUT`], in seconds.
pub const SECRET_TIMEOUT_ENV: &str = "KOOBACKUP_SECRET_TIMEOUT_SECS";

fn secret_command_timeout() -> std::time::Duration {
    non_empty_env(SECRET_TIMEOUT_ENV)
        .and_then(|v| v.to_str()?.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map_or(SECRET_COMMAND_TIMEOUT, |secs| {
            std::time::Duration::from_secs_f64(secs.min(86_400.0))
        })
}

/// The first line of standard input. On a terminal it asks for it on stderr and does not echo
/// what is typed (a token on screen is a token seen); Enter ends it, as a pipe's first line does.
fn read_stdin_secret(what: &'static str) -> Result<String, ConfigError> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let on_terminal = stdin.is_terminal();
    let echo_off = on_terminal.then(EchoOff::new).flatten();
    if on_terminal {
        let _ = write!(std::io::stderr(), "{what} (not shown): ");
    }
    let mut line = Vec::new();
    let read = stdin.lock().take(MAX_SECRET_BYTES).read_until(b'\n', &mut line);
    drop(echo_off);
    if on_terminal {
        let _ = writeln!(std::io::stderr());
    }
    read.map_err(|source| ConfigError::TokenFile {
        path: PathBuf::from("standard input"),
        what,
        source,
    })?;
    String::from_utf8(line).map_err(|_| ConfigError::TokenFile {
        path: PathBuf::from("standard input"),
        what,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "the input is not UTF-8 text"),
    })
}

/// The terminal on standard input with echo off, until dropped.
struct EchoOff(libc::termios);

impl EchoOff {
    fn new() -> Option<EchoOff> {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios the call itself fills in.
        unsafe {
            let mut settings: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut settings) != 0 {
                return None;
            }
            let saved = settings;
            settings.c_lflag &= !libc::ECHO;
            (libc::tcsetattr(0, libc::TCSANOW, &settings) == 0).then_some(EchoOff(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.0);
        }
    }
}

/// Reads at most [`MAX_SECRET_BYTES`] of UTF-8 text from `source` (named by `name` in errors).
fn read_secret(
    source: impl Read,
    what: &'static str,
    name: impl Fn() -> String,
) -> Result<String, ConfigError> {
    let error = |source| ConfigError::TokenFile {
        path: PathBuf::from(name()),
        what,
        source,
    };
    let mut bytes = Vec::new();
    source
        .take(MAX_SECRET_BYTES)
        .read_to_end(&mut bytes)
        .map_err(error)?;
    String::from_utf8(bytes).map_err(|_| {
        error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ))
    })
}

/// Runs `sh -c command`, keeping at most [`MAX_SECRET_BYTES`] of its stdout (the secret), and
/// stops it after [`SECRET_COMMAND_TIMEOUT`] or as soon as it prints more than that. Its stderr
/// stays on the terminal so prompts from gpg or pass are visible; nothing it prints is repeated
/// in our messages. Without a terminal the command gets a process group of its own, so that
/// stopping it stops what it started too (with a terminal it must stay in the foreground group
/// to read a passphrase).
fn run_secret_command(command: &str, what: &'static str) -> Result<String, ConfigError> {
    use std::io::IsTerminal;
    let mut builder = Command::new("sh");
    builder
        .arg("-c")
        .arg(command)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped());
    let own_group = !std::io::stdin().is_terminal();
    #[cfg(unix)]
    if own_group {
        use std::os::unix::process::CommandExt;
        builder.process_group(0);
    }
    let mut child = builder.spawn().map_err(|source| ConfigError::TokenCommandSpawn {
        command: command.to_string(),
        what,
        source,
    })?;
    let failed = |status: String| ConfigError::TokenCommandFailed {
        command: command.to_string(),
        what,
        status,
    };
    let mut output = read_command_output(child.stdout.take().expect("stdout is piped"));
    let timeout = secret_command_timeout();
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Ok(Err(SecretOutput::TooLong)) = output.try_peek() {
            stop_command(&mut child, own_group);
            return Err(failed(format!(
                "it printed more than {} KiB, far more than a secret",
                MAX_SECRET_BYTES / 1024
            )));
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() >= deadline => {
                stop_command(&mut child, own_group);
                return Err(ConfigError::TokenCommandTimeout {
                    command: command.to_string(),
                    what,
                    after: timeout,
                });
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(source) => {
                return Err(ConfigError::TokenCommandSpawn {
                    command: command.to_string(),
                    what,
                    source,
                });
            }
        }
    };
    if !status.success() {
        return Err(failed(describe_status(status)));
    }
    // The output ends when every process holding the pipe has closed it; one the command left
    // running in the background gets a moment, then is stopped with the rest of its group.
    let bytes = match output.wait(std::time::Duration::from_secs(2)) {
        Some(Ok(bytes)) => bytes,
        Some(Err(SecretOutput::TooLong)) => {
            return Err(failed(format!(
                "it printed more than {} KiB, far more than a secret",
                MAX_SECRET_BYTES / 1024
            )));
        }
        Some(Err(SecretOutput::Unreadable(e))) => {
            return Err(failed(format!("its output could not be read: {e}")));
        }
        None => {
            stop_group(&child, own_group);
            return Err(failed(
                "it left a process behind that keeps its output open".into(),
            ));
        }
    };
    String::from_utf8(bytes).map_err(|_| failed("its output is not UTF-8 text".into()))
}

/// Why a secret command's output was not taken.
enum SecretOutput {
    TooLong,
    Unreadable(std::io::Error),
}

/// A secret command's stdout, read on a thread of its own so that waiting for the command can
/// give up on one that hangs. Reading stops one byte past the limit: a command that goes on
/// printing is stopped rather than drained.
struct CommandOutput {
    received: std::sync::mpsc::Receiver<Result<Vec<u8>, SecretOutput>>,
    early: Option<Result<Vec<u8>, SecretOutput>>,
}

fn read_command_output(stdout: std::process::ChildStdout) -> CommandOutput {
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let result = match stdout.take(MAX_SECRET_BYTES + 1).read_to_end(&mut bytes) {
            Err(e) => Err(SecretOutput::Unreadable(e)),
            Ok(_) if bytes.len() as u64 > MAX_SECRET_BYTES => Err(SecretOutput::TooLong),
            Ok(_) => Ok(bytes),
        };
        let _ = sender.send(result);
    });
    CommandOutput {
        received,
        early: None,
    }
}

impl CommandOutput {
    /// What the reader has finished with, if it has, without waiting.
    fn try_peek(&mut self) -> Result<&Result<Vec<u8>, SecretOutput>, ()> {
        if self.early.is_none() {
            self.early = self.received.try_recv().ok();
        }
        self.early.as_ref().ok_or(())
    }

    /// The whole output, or `None` when the pipe is still open after `patience`.
    fn wait(mut self, patience: std::time::Duration) -> Option<Result<Vec<u8>, SecretOutput>> {
        self.early
            .take()
            .or_else(|| self.received.recv_timeout(patience).ok())
    }
}

/// Kills a secret command that ran too long: its whole process group when it has one.
fn stop_command(child: &mut std::process::Child, own_group: bool) {
    stop_group(child, own_group);
    let _ = child.kill();
    let _ = child.wait();
}

/// Kills what is left of the process group a secret command led (nothing with a terminal,
/// where the command shares our group).
fn stop_group(child: &std::process::Child, own_group: bool) {
    #[cfg(unix)]
    if own_group && let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on the process group our own child led. Linux does not hand out a
        // process group's id again while any member lives; with none left the call fails.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = (child, own_group);
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
    match (path.strip_prefix("~"), std::env::home_dir()) {
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

/// `$XDG_STATE_HOME/koobackup`, else `~/.local/state/koobackup`: crash reports (and, later, the
/// history) live here.
pub fn state_dir() -> Result<PathBuf, ConfigError> {
    let base = match non_empty_env("XDG_STATE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => home_dir("state directory", "XDG_STATE_HOME")?
            .join(".local")
            .join("state"),
    };
    Ok(base.join("koobackup"))
}

fn home_dir(what: &'static str, hint: &'static str) -> Result<PathBuf, ConfigError> {
    std::env::home_dir().ok_or(ConfigError::NoHome { what, hint })
}

pub(crate) fn non_empty_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Writes `bytes` to `path` so that readers see the old or the new content, never a mix: a
/// temporary file in the same directory (mode 0600), fsync, rename, then fsync of the directory.
/// Missing parent directories are created with mode 0700.
pub fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_private_dir_all(parent_dir(path))?;
    write_atomically(path, bytes, 0o600)
}

/// [`write_private_atomically`] for a file others read too (a Prometheus textfile the collector
/// reads as another user): created with `mode` (less the umask) in a directory that must exist.
/// The temporary file's name ends in `.tmp`, so a collector reading `*.prom` never sees it.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let file_name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let temp_path = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = (|| {
        let mut file = new_file_options(mode).open(&temp_path)?;
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

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn new_file_options(mode: u32) -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
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
    fn token_file_is_trimmed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret-token\r\n").unwrap();
        let token = SecretSource::File(path.clone()).resolve("access token").unwrap();
        assert_eq!(token.expose(), "s3cret-token");

        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            SecretSource::File(path.clone()).resolve("access token"),
            Err(ConfigError::TokenEmpty { .. })
        ));

        std::fs::write(&path, "line-one-secret\nline-two\n").unwrap();
        let err = SecretSource::File(path.clone())
            .resolve("access token")
            .unwrap_err();
        assert!(matches!(err, ConfigError::TokenMultiline { .. }));
        assert!(!err.to_string().contains("line-one-secret"));

        let missing = SecretSource::File(dir.path().join("absent"))
            .resolve("access token")
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
        let warning = SecretSource::File(path.clone()).permission_warning().unwrap();
        assert!(warning.contains("chmod 600"), "{warning}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(SecretSource::File(path).permission_warning(), None);
    }

    #[test]
    fn token_command_output_is_the_token_and_failures_hide_it() {
        let token = SecretSource::Command("printf 'cmd-token\\n'".into())
            .resolve("access token")
            .unwrap();
        assert_eq!(token.expose(), "cmd-token");

        // The output ("42-secret") differs from the command text, so a leak would show.
        let err = SecretSource::Command("echo $((6*7))-secret; exit 3".into())
            .resolve("access token")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("exit status 3"), "{text}");
        assert!(!text.contains("42-secret"), "{text}");
    }

    #[test]
    fn a_token_command_that_prints_without_end_is_stopped_at_the_limit() {
        let started = std::time::Instant::now();
        let err = SecretSource::Command("yes endless-secret-line".into())
            .resolve("access token")
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 64 KiB"), "{err}");
        assert!(!err.contains("endless-secret-line\n"), "{err}");
        // Not drained until the 60 s timeout: stopped as soon as the limit is passed.
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{err}");
    }

    #[test]
    fn a_token_command_that_leaves_a_process_holding_its_output_is_refused() {
        use std::io::IsTerminal;
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let command = format!(
            "sleep 60 & echo $! > '{}'; echo $((6*7))-token",
            pid_file.display()
        );
        let err = SecretSource::Command(command)
            .resolve("access token")
            .unwrap_err()
            .to_string();
        assert!(err.contains("left a process behind"), "{err}");
        assert!(!err.contains("42-token"), "{err}");
        if std::io::stdin().is_terminal() {
            // With a terminal the command shares our process group, which is not ours to kill.
            return;
        }
        let pid: libc::pid_t = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let alive = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!alive(), "the process the command left behind still runs");
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

    #[test]
    fn missing_env_variable_is_named() {
        let err = SecretSource::Env("KOOBACKUP_TEST_SURELY_UNSET_VAR".into())
            .resolve("access token")
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
