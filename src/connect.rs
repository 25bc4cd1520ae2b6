//! Where to connect, decided once for the command line and the TUI.
//!
//! In order of precedence:
//! 1. `--profile NAME`: that profile, with any `--base-url`, `--user-id`, `--token-file` given
//!    on the command line replacing its values.
//! 2. `--base-url URL`: the command line alone. It needs `--user-id` and a token from
//!    `--token-file` or `$KOOBACKUP_TOKEN`. The default profile is *not* consulted, so its token
//!    is never sent to a server it was not meant for.
//! 3. The config file's `default_profile`.
//! 4. Nothing configured: an embedded demo server started in this process, on a database in the
//!    data directory, so the app works with no account at all.
//!
//! Credentials: a profile's own source (a token, or an app id and secret) is used, and only
//! `--token-file`, `--app-id` and `--app-secret-file` replace it; `$KOOBACKUP_TOKEN` and
//! `$KOOBACKUP_APP_SECRET` serve command-line connections only, so that a secret meant for one
//! server is never sent to the server of a profile. A secret is never a plain command-line
//! argument: those leak into `ps` and shell history.

use crate::retention::Retention;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api::{ApiError, Client, ClientOptions, Credentials, Token};
use crate::config::{self, Config, ConfigError, CredentialSource, SecretSource};
use crate::health::{self, HealthConfig};
use crate::history::{self, History, Keeping, Recorder, Who};
use crate::hooks::{self, Hooks};
use crate::journal::{Journal, JournalError};
use crate::server::{self, RunningServer, ServerConfig, ServerError};

/// Environment variable holding the access token for `--base-url` connections (never for a
/// profile, which has a source of its own).
pub const TOKEN_ENV: &str = "KOOBACKUP_TOKEN";

/// Environment variable holding the app secret for `--base-url --app-id` connections.
pub const APP_SECRET_ENV: &str = "KOOBACKUP_APP_SECRET";

/// Overrides the directory of the embedded demo server's database.
pub const DATA_DIR_ENV: &str = "KOOBACKUP_DATA_DIR";

/// File name of the embedded demo database inside the data directory.
const DEMO_DB_FILE: &str = "demo.sqlite";

/// The connection-related global options, as given on the command line (or by the TUI).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Config file named explicitly (`--config`, `$KOOBACKUP_CONFIG`): it must exist.
    pub config_path: Option<PathBuf>,
    /// Where to look for the config file when none is named (`None`: the XDG location). A file
    /// missing there just means "nothing configured".
    pub default_config_path: Option<PathBuf>,
    pub profile: Option<String>,
    pub base_url: Option<String>,
    pub user_id: Option<String>,
    pub token_file: Option<PathBuf>,
    /// Authenticate as this app (its secret from `app_secret_file`, else the profile's, else
    /// `$KOOBACKUP_APP_SECRET` for command-line connections).
    pub app_id: Option<String>,
    pub app_secret_file: Option<PathBuf>,
    /// Extra certificate authorities (PEM), replacing the profile's `ca_file`.
    pub ca_file: Option<PathBuf>,
    pub timeout: Option<Duration>,
    /// Lock lifetime of the server, for test servers with short-lived locks.
    pub lock_ttl: Option<Duration>,
    /// Delete the embedded demo database before starting it.
    pub fresh: bool,
    /// Send nothing that changes the server (`--read-only`; a profile can ask for it too).
    pub read_only: bool,
    /// Write the changes this connection sends into the history (`--no-history` turns it off;
    /// off by default, so tests and library users write nothing in the user's home).
    pub history: bool,
}

/// Why no connection could be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The options contradict each other or miss a piece; the message says which.
    #[error("{0}")]
    Options(String),
    #[error("cannot start the embedded demo server: {0}")]
    Embedded(#[from] ServerError),
    #[error("cannot prepare the embedded demo database {}: {source}", path.display())]
    DemoDatabase { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Client(#[from] ApiError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Where the settings came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--base-url`, `--user-id` and a token from the environment or `--token-file`.
    CommandLine,
    /// A profile of the config file.
    Profile { name: String, config_path: PathBuf },
}

/// A remote server and how to authenticate to it. The secret itself is read only when
/// connecting, so deciding where to connect never runs a secret command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSettings {
    pub origin: Origin,
    pub base_url: String,
    pub user_id: String,
    pub credential: CredentialSource,
    pub timeout: Option<Duration>,
    pub lock_ttl: Option<Duration>,
    pub ca_file: Option<PathBuf>,
    pub allow_insecure_http: bool,
    /// The profile's retention policy, if it has one.
    pub retention: Option<Retention>,
    /// The profile's `delete_grace`, if it has one.
    pub delete_grace: Option<chrono::Duration>,
    /// `--read-only`, or the profile's `read_only = true`.
    pub read_only: bool,
    /// The profile's health thresholds and hooks, if it has them.
    pub health: Option<HealthConfig>,
    pub hooks: Option<Hooks>,
}

impl RemoteSettings {
    /// A client for these settings with `credentials` (from `credential.resolve(..)`).
    pub fn client(&self, credentials: Credentials) -> Result<Client, ApiError> {
        let mut options = ClientOptions::new(&self.base_url, credentials);
        if let Some(timeout) = self.timeout {
            options.timeout = timeout;
        }
        if let Some(ttl) = self.lock_ttl {
            options.lock_ttl = ttl;
        }
        options.ca_file = self.ca_file.as_deref().map(config::expand_home);
        options.allow_insecure_http = self.allow_insecure_http;
        options.read_only = self.read_only;
        Client::new(options)
    }

    /// What to call this connection: `profile NAME` or `command line (URL)`.
    pub fn label(&self) -> String {
        match &self.origin {
            Origin::CommandLine => format!("command line ({})", self.base_url),
            Origin::Profile { name, .. } => format!("profile {name}"),
        }
    }
}

/// The embedded demo server to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedSettings {
    pub db_path: PathBuf,
    pub fresh: bool,
    pub lock_ttl: Option<Duration>,
    pub read_only: bool,
    /// The config file that was looked for and not found (for "no config" notes).
    pub config_path: PathBuf,
    /// The lock journal; with `fresh`, its entries for the demo server are dropped, because the
    /// reset database knows none of those locks.
    pub journal_path: PathBuf,
    /// The config file (keys and colours only) could be changed by others: said as a warning.
    pub config_warning: Option<String>,
}

/// The decision of where to connect, before anything is started or sent.
#[derive(Debug, Clone)]
pub enum Target {
    Remote(Box<RemoteSettings>),
    EmbeddedDemo(EmbeddedSettings),
}

/// A client ready to use, and the embedded server behind it if there is one (it runs on the
/// current tokio runtime for as long as this value lives).
pub struct Connection {
    pub client: Client,
    /// What the user is connected to: the profile name, `command line (URL)`, or
    /// `embedded demo server`.
    pub label: String,
    pub embedded: Option<RunningServer>,
    /// Things the user should fix, such as a token file readable by others. Show them.
    pub warnings: Vec<String>,
    /// The profile's retention policy for `cleanup`, if it has one.
    pub retention: Option<Retention>,
    /// The profile's `delete_grace`: how long deletes wait in the queue by default.
    pub delete_grace: Option<chrono::Duration>,
    /// The profile's health thresholds (`status`, the app's Devices view), if it has them.
    pub health: Option<HealthConfig>,
    /// The profile's hooks (none without a profile).
    pub hooks: Hooks,
    /// The environment variable the profile's secret is read from, if it is one: kept from hooks.
    secret_var: Option<String>,
    /// Whether (and where) this connection's changes are written down.
    pub history: Keeping,
    /// The profile's name, when the connection comes from one.
    pub profile: Option<String>,
    journal_key: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("client", &self.client)
            .field("label", &self.label)
            .field("journal_key", &self.journal_key)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// The server identity under which this connection's locks are kept in the journal
    /// (`HeldLock::base_url`): the base URL, or for the embedded demo server a key derived from
    /// its database, because its port changes on every start.
    pub fn journal_key(&self) -> &str {
        &self.journal_key
    }

    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// The health rules of this connection's profile with `overrides` from the command line.
    pub fn health_rules(&self, overrides: health::rules::Overrides) -> Result<health::Rules, String> {
        HealthConfig::rules(self.health.as_ref(), overrides)
    }

    /// What the hooks of this connection are told of where an event happened.
    pub fn hook_origin(&self) -> hooks::Origin {
        hooks::Origin {
            connection: self.label.clone(),
            server: self.client.base_url().to_string(),
            user_id: self.client.user_id().to_string(),
            secret_vars: self.secret_var.iter().cloned().collect(),
        }
    }

    /// Writes this connection's changes into the history from now on (when `wanted`): its client
    /// tells a recorder of every change. The history is found in the state directory; when it
    /// cannot be, [`Keeping::Broken`] says why and destructive commands refuse.
    pub fn keep_history(&mut self, wanted: bool) {
        if !wanted {
            self.history = Keeping::Off;
            return;
        }
        self.history = match History::default_place() {
            Ok(history) => {
                let recorder = Recorder::new(history, self.who());
                self.client = self.client.with_changes(recorder.changes());
                Keeping::Recording(recorder)
            }
            Err(error) => Keeping::Broken(error.to_string()),
        };
    }

    /// This process on this connection, as the history (and the queue of pending deletions)
    /// name who did something.
    pub fn who(&self) -> Who {
        Who::here(
            self.profile.clone(),
            self.journal_key.clone(),
            self.client.user_id().to_string(),
            history::this_command_line(),
        )
    }

    /// Whether `who` did something through this server as this user.
    pub fn is_here(&self, who: &Who) -> bool {
        who.server == self.journal_key && who.user == self.client.user_id()
    }

    /// Stops the embedded server, if any, letting requests in flight finish.
    pub async fn close(self) {
        if let Some(server) = self.embedded {
            server.shutdown().await;
        }
    }
}

/// Resolves and connects in one step, with the history the options ask for.
pub async fn connect(options: &ConnectOptions) -> Result<Connection, ConnectError> {
    let mut connection = resolve(options)?.connect().await?;
    connection.keep_history(options.history);
    Ok(connection)
}

/// The profiles of the config file the options point at (none when it cannot be read): what
/// `--profile` completes to.
pub fn profile_names(options: &ConnectOptions) -> Vec<String> {
    match config_file(options) {
        Ok((_, Some(config))) => config.profile_names(),
        _ => Vec::new(),
    }
}

/// The config file the options point at, with its path; `None` when there is none.
pub fn config_file(options: &ConnectOptions) -> Result<(PathBuf, Option<Config>), ConfigError> {
    let path = match (&options.config_path, &options.default_config_path) {
        (Some(path), _) | (None, Some(path)) => path.clone(),
        (None, None) => Config::default_path()?,
    };
    let config = Config::load(&path)?;
    Ok((path, config))
}

/// Decides where to connect from the options and the config file. Reads no token, starts
/// nothing and sends nothing.
pub fn resolve(options: &ConnectOptions) -> Result<Target, ConnectError> {
    let from_stdin = |file: &Option<PathBuf>| file.as_ref().is_some_and(|f| f.as_os_str() == "-");
    if from_stdin(&options.token_file) && from_stdin(&options.app_secret_file) {
        return Err(ConnectError::Options(
            "--token-file - and --app-secret-file - cannot both read standard input".into(),
        ));
    }
    let config_path = match (&options.config_path, &options.default_config_path) {
        (Some(path), _) | (None, Some(path)) => path.clone(),
        (None, None) => Config::default_path()?,
    };
    if options.profile.is_none()
        && let Some(base_url) = &options.base_url
    {
        return command_line_settings(options, base_url).map(|settings| Target::Remote(Box::new(settings)));
    }
    // A file named explicitly must exist: a typo must not quietly mean "nothing configured"
    // and so the embedded demo server.
    let config = match &options.config_path {
        Some(path) => Some(Config::load_explicit(path)?),
        None => Config::load(&config_path)?,
    };
    let selected = match &config {
        Some(config) => config.select(options.profile.as_deref(), &config_path)?,
        None if options.profile.is_some() => {
            return Err(ConnectError::Options(format!(
                "--profile was given but there is no config file at {} (see assets/config.example.toml)",
                config_path.display()
            )));
        }
        None => None,
    };
    if let Some((name, profile)) = selected {
        return profile_settings(options, name, profile, config_path)
            .map(|settings| Target::Remote(Box::new(settings)));
    }
    if let Some(config) = config.as_ref().filter(|c| !c.profiles.is_empty()) {
        let names: Vec<_> = config.profiles.keys().cloned().collect();
        return Err(ConnectError::Options(format!(
            "{} defines profiles ({}) but no default_profile; pass --profile NAME or set default_profile",
            config_path.display(),
            names.join(", ")
        )));
    }
    if options.user_id.is_some() || options.token_file.is_some() {
        return Err(ConnectError::Options(
            "--user-id and --token-file need --base-url (or a profile) to say which server to use".into(),
        ));
    }
    // A file given on purpose that configures nothing is a mistake, not a wish for demo data.
    if let Some(path) = &options.config_path {
        return Err(ConnectError::Options(format!(
            "{} defines no profile; add one (see assets/config.example.toml), or leave out --config \
             (and KOOBACKUP_CONFIG) to use the embedded demo server",
            path.display()
        )));
    }
    Ok(Target::EmbeddedDemo(EmbeddedSettings {
        db_path: demo_db_path()?,
        fresh: options.fresh,
        lock_ttl: options.lock_ttl,
        read_only: options.read_only,
        config_path,
        journal_path: Journal::default_path()?,
        config_warning: config.and_then(|c| c.permission_warning),
    }))
}

fn command_line_settings(options: &ConnectOptions, base_url: &str) -> Result<RemoteSettings, ConnectError> {
    config::validate_base_url(base_url).map_err(ConnectError::Options)?;
    let user_id = options
        .user_id
        .clone()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ConnectError::Options("--base-url needs --user-id (or $KOOBACKUP_USER_ID)".into()))?;
    let credential = match &options.app_id {
        Some(app_id) => {
            let secret = options
                .app_secret_file
                .clone()
                .map(SecretSource::File)
                .or_else(|| env_source(APP_SECRET_ENV))
                .ok_or_else(|| {
                    ConnectError::Options(format!(
                        "--app-id needs the app secret: set {APP_SECRET_ENV} or pass \
                         --app-secret-file FILE (a secret is never accepted as a command-line argument)"
                    ))
                })?;
            CredentialSource::App {
                app_id: app_id.clone(),
                secret,
            }
        }
        None => {
            let token = override_token_file(options)
                .or_else(|| env_source(TOKEN_ENV))
                .ok_or_else(|| {
                    ConnectError::Options(format!(
                        "--base-url needs an access token: set {TOKEN_ENV} or pass --token-file FILE \
                         (or --app-id with an app secret); a token is never accepted as a \
                         command-line argument"
                    ))
                })?;
            CredentialSource::Token(token)
        }
    };
    Ok(RemoteSettings {
        origin: Origin::CommandLine,
        base_url: base_url.to_string(),
        user_id,
        credential,
        timeout: options.timeout,
        lock_ttl: options.lock_ttl,
        ca_file: options.ca_file.clone(),
        allow_insecure_http: false,
        retention: None,
        delete_grace: None,
        read_only: options.read_only,
        health: None,
        hooks: None,
    })
}

fn profile_settings(
    options: &ConnectOptions,
    name: String,
    profile: config::Profile,
    config_path: PathBuf,
) -> Result<RemoteSettings, ConnectError> {
    let base_url = options.base_url.clone().unwrap_or(profile.base_url.clone());
    config::validate_base_url(&base_url).map_err(ConnectError::Options)?;
    let own = profile
        .credential()
        .map_err(|problem| ConnectError::Options(format!("profile {name:?}: {problem}")))?;
    let credential = if let Some(token) = override_token_file(options) {
        CredentialSource::Token(token)
    } else if let Some(app_id) = &options.app_id {
        let secret = match (&options.app_secret_file, &own) {
            (Some(file), _) => SecretSource::File(file.clone()),
            (None, CredentialSource::App { secret, .. }) => secret.clone(),
            (None, CredentialSource::Token(_)) => {
                return Err(ConnectError::Options(format!(
                    "--app-id with profile {name:?}, which holds a token: pass --app-secret-file FILE too"
                )));
            }
        };
        CredentialSource::App {
            app_id: app_id.clone(),
            secret,
        }
    } else {
        match (own, &options.app_secret_file) {
            (CredentialSource::App { app_id, .. }, Some(file)) => CredentialSource::App {
                app_id,
                secret: SecretSource::File(file.clone()),
            },
            (own, _) => own,
        }
    };
    Ok(RemoteSettings {
        base_url,
        user_id: options.user_id.clone().unwrap_or(profile.user_id),
        credential,
        timeout: options.timeout.or(profile.timeout_secs.map(Duration::from_secs)),
        lock_ttl: options
            .lock_ttl
            .or(profile.lock_ttl_secs.map(Duration::from_secs)),
        ca_file: options.ca_file.clone().or(profile.ca_file),
        allow_insecure_http: profile.allow_insecure_http,
        retention: profile.retention,
        delete_grace: profile.delete_grace,
        read_only: options.read_only || profile.read_only,
        health: profile.health,
        hooks: profile.hooks,
        origin: Origin::Profile { name, config_path },
    })
}

/// `--token-file`, if given.
fn override_token_file(options: &ConnectOptions) -> Option<SecretSource> {
    options.token_file.clone().map(SecretSource::File)
}

/// The environment variable `var` as a secret source, when it is set.
fn env_source(var: &str) -> Option<SecretSource> {
    std::env::var_os(var).map(|_| SecretSource::Env(var.into()))
}

/// Whether `$KOOBACKUP_TOKEN` is set although these settings do not use it (a profile's own
/// source wins): worth saying, since the user may expect otherwise.
pub fn ignored_token_env(settings: &RemoteSettings) -> bool {
    // A profile that reads its token from that very variable uses it.
    let reads_it = matches!(settings.credential.secret(), SecretSource::Env(name) if name == TOKEN_ENV);
    matches!(settings.origin, Origin::Profile { .. }) && !reads_it && std::env::var_os(TOKEN_ENV).is_some()
}

/// `$KOOBACKUP_DATA_DIR/demo.sqlite`, else `demo.sqlite` in the data directory.
pub fn demo_db_path() -> Result<PathBuf, ConfigError> {
    let dir = match config::non_empty_env(DATA_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => config::data_dir()?,
    };
    Ok(dir.join(DEMO_DB_FILE))
}

impl Target {
    /// The server identity under which locks are journalled (see [`Connection::journal_key`]).
    pub fn journal_key(&self) -> String {
        match self {
            Target::Remote(settings) => settings.base_url.trim().trim_end_matches('/').to_string(),
            Target::EmbeddedDemo(settings) => embedded_journal_key(&settings.db_path),
        }
    }

    /// The KooDrive user id this target acts as.
    pub fn user_id(&self) -> &str {
        match self {
            Target::Remote(settings) => &settings.user_id,
            Target::EmbeddedDemo(_) => server::DEMO_USER_ID,
        }
    }

    /// Reads the token and builds the client; for the demo target, first starts the embedded
    /// server.
    pub async fn connect(self) -> Result<Connection, ConnectError> {
        let journal_key = self.journal_key();
        match self {
            Target::Remote(settings) => {
                let warnings = settings
                    .credential
                    .secret()
                    .permission_warning()
                    .into_iter()
                    .collect();
                let credentials = settings.credential.resolve(&settings.user_id)?;
                let secret_var = match settings.credential.secret() {
                    SecretSource::Env(var) => Some(var.clone()),
                    _ => None,
                };
                Ok(Connection {
                    client: settings.client(credentials)?,
                    label: settings.label(),
                    embedded: None,
                    warnings,
                    retention: settings.retention,
                    delete_grace: settings.delete_grace,
                    health: settings.health,
                    hooks: settings.hooks.unwrap_or_default(),
                    secret_var,
                    history: Keeping::Off,
                    profile: match &settings.origin {
                        Origin::Profile { name, .. } => Some(name.clone()),
                        Origin::CommandLine => None,
                    },
                    journal_key,
                })
            }
            Target::EmbeddedDemo(settings) => {
                if settings.fresh {
                    Journal::load(&settings.journal_path)?.forget_server(&journal_key)?;
                }
                let server =
                    start_embedded_demo(&settings.db_path, settings.fresh, settings.lock_ttl).await?;
                let mut options = ClientOptions::new(
                    server.base_url(),
                    Credentials::new(server::DEMO_USER_ID, Token::new(server::DEMO_TOKEN)),
                );
                if let Some(ttl) = settings.lock_ttl {
                    options.lock_ttl = ttl;
                }
                options.read_only = settings.read_only;
                Ok(Connection {
                    client: Client::new(options)?,
                    label: "embedded demo server".into(),
                    embedded: Some(server),
                    warnings: settings.config_warning.into_iter().collect(),
                    retention: None,
                    delete_grace: None,
                    health: None,
                    hooks: Hooks::default(),
                    secret_var: None,
                    history: Keeping::Off,
                    profile: None,
                    journal_key,
                })
            }
        }
    }
}

/// The journal key of the embedded demo server on `db_path`.
pub fn embedded_journal_key(db_path: &Path) -> String {
    format!("embedded-demo:{}", db_path.display())
}

/// Starts the demo server in this process on 127.0.0.1 (any free port), seeding demo data into
/// a new database. `fresh` deletes the database (and its WAL files) first.
pub async fn start_embedded_demo(
    db_path: &Path,
    fresh: bool,
    lock_ttl: Option<Duration>,
) -> Result<RunningServer, ConnectError> {
    let io_error = |source| ConnectError::DemoDatabase {
        path: db_path.to_path_buf(),
        source,
    };
    if let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        config::create_private_dir_all(dir).map_err(io_error)?;
    }
    if fresh {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = db_path.as_os_str().to_os_string();
            path.push(suffix);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_error(e)),
                _ => {}
            }
        }
    }
    let mut config = ServerConfig::new(db_path);
    config.seed_demo = true;
    if let Some(ttl) = lock_ttl {
        config.lock_ttl = ttl;
    }
    Ok(server::start(config).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn token_file(dir: &Path) -> PathBuf {
        let path = dir.join("token");
        std::fs::write(&path, "file-token\n").unwrap();
        path
    }

    fn secret(settings: &RemoteSettings) -> String {
        settings
            .credential
            .secret()
            .resolve("access token")
            .unwrap()
            .expose()
            .to_string()
    }

    #[test]
    fn base_url_alone_does_not_borrow_the_default_profile() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = write_config(
            dir.path(),
            "default_profile = \"p\"\n[profiles.p]\nbase_url = \"http://a\"\nuser_id = \"u\"\n\
             token = { command = \"echo profile-token\" }\n",
        );
        let options = ConnectOptions {
            config_path: Some(config_path),
            base_url: Some("http://other:1".into()),
            user_id: Some("me".into()),
            token_file: Some(token_file(dir.path())),
            ..ConnectOptions::default()
        };
        let Target::Remote(settings) = resolve(&options).unwrap() else {
            panic!("expected a remote target")
        };
        assert_eq!(settings.origin, Origin::CommandLine);
        assert_eq!(secret(&settings), "file-token");
        assert_eq!(settings.user_id, "me");
    }

    #[test]
    fn base_url_without_user_is_refused() {
        let options = ConnectOptions {
            config_path: Some("/nonexistent/config.toml".into()),
            base_url: Some("http://127.0.0.1:1".into()),
            ..ConnectOptions::default()
        };
        let err = resolve(&options).unwrap_err();
        assert!(err.to_string().contains("--user-id"), "{err}");
    }

    #[test]
    fn profile_values_are_overridden_by_the_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = write_config(
            dir.path(),
            "default_profile = \"p\"\n[profiles.p]\nbase_url = \"http://a\"\nuser_id = \"u\"\n\
             token = { command = \"echo profile-token\" }\ntimeout_secs = 3\nlock_ttl_secs = 5\n",
        );
        let options = ConnectOptions {
            config_path: Some(config_path.clone()),
            ..ConnectOptions::default()
        };
        let Target::Remote(settings) = resolve(&options).unwrap() else {
            panic!("expected a remote target")
        };
        assert_eq!(
            settings.origin,
            Origin::Profile {
                name: "p".into(),
                config_path: config_path.clone()
            }
        );
        assert_eq!(secret(&settings), "profile-token");
        assert_eq!(settings.timeout, Some(Duration::from_secs(3)));
        assert_eq!(settings.lock_ttl, Some(Duration::from_secs(5)));

        let options = ConnectOptions {
            config_path: Some(config_path),
            profile: Some("p".into()),
            user_id: Some("other-user".into()),
            token_file: Some(token_file(dir.path())),
            timeout: Some(Duration::from_secs(9)),
            ..ConnectOptions::default()
        };
        let Target::Remote(settings) = resolve(&options).unwrap() else {
            panic!("expected a remote target")
        };
        assert_eq!(settings.user_id, "other-user");
        assert_eq!(secret(&settings), "file-token");
        assert_eq!(settings.timeout, Some(Duration::from_secs(9)));
    }

    #[test]
    fn nothing_configured_means_the_embedded_demo() {
        let dir = tempfile::tempdir().unwrap();
        let options = ConnectOptions {
            default_config_path: Some(dir.path().join("absent.toml")),
            fresh: true,
            ..ConnectOptions::default()
        };
        let Target::EmbeddedDemo(settings) = resolve(&options).unwrap() else {
            panic!("expected the embedded demo")
        };
        assert!(settings.fresh);
        assert!(settings.db_path.ends_with(DEMO_DB_FILE));
        // A config file named explicitly that is not there is a mistake, not "nothing".
        let options = ConnectOptions {
            config_path: Some(dir.path().join("absent.toml")),
            ..ConnectOptions::default()
        };
        let err = resolve(&options).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn a_profile_keeps_its_own_secret_whatever_the_environment_says() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = write_config(
            dir.path(),
            "[profiles.p]\nbase_url = \"http://a\"\nuser_id = \"u\"\ntoken = { command = \"echo profile-token\" }\n\
             [profiles.app]\nbase_url = \"http://a\"\nuser_id = \"u\"\napp_id = \"app-1\"\n\
             app_secret = { command = \"echo app-secret\" }\n",
        );
        let options = |profile: &str| ConnectOptions {
            config_path: Some(config_path.clone()),
            profile: Some(profile.into()),
            ..ConnectOptions::default()
        };
        // $KOOBACKUP_TOKEN is not consulted for a profile (this test does not set it, and the
        // resolution does not read it): the profile's command is the source.
        let Target::Remote(settings) = resolve(&options("p")).unwrap() else {
            panic!("remote")
        };
        assert_eq!(
            settings.credential,
            CredentialSource::Token(SecretSource::Command("echo profile-token".into()))
        );
        let Target::Remote(app) = resolve(&options("app")).unwrap() else {
            panic!("remote")
        };
        assert_eq!(secret(&app), "app-secret");
        assert!(matches!(app.credential, CredentialSource::App { ref app_id, .. } if app_id == "app-1"));
        // --token-file still replaces it; --app-secret-file replaces an app's secret.
        let Target::Remote(file) = resolve(&ConnectOptions {
            token_file: Some(token_file(dir.path())),
            ..options("app")
        })
        .unwrap() else {
            panic!("remote")
        };
        assert_eq!(
            file.credential,
            CredentialSource::Token(SecretSource::File(token_file(dir.path())))
        );
        let other = dir.path().join("other-secret");
        let Target::Remote(replaced) = resolve(&ConnectOptions {
            app_secret_file: Some(other.clone()),
            ..options("app")
        })
        .unwrap() else {
            panic!("remote")
        };
        assert_eq!(
            replaced.credential,
            CredentialSource::App {
                app_id: "app-1".into(),
                secret: SecretSource::File(other)
            }
        );
        let err = resolve(&ConnectOptions {
            app_id: Some("app-2".into()),
            ..options("p")
        })
        .unwrap_err();
        assert!(err.to_string().contains("--app-secret-file"), "{err}");
    }

    #[test]
    fn profiles_without_a_default_must_be_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = write_config(
            dir.path(),
            "[profiles.p]\nbase_url = \"http://a\"\nuser_id = \"u\"\ntoken = { env = \"X\" }\n",
        );
        let options = ConnectOptions {
            config_path: Some(config_path),
            ..ConnectOptions::default()
        };
        let err = resolve(&options).unwrap_err();
        assert!(err.to_string().contains("--profile"), "{err}");
    }

    #[test]
    fn user_id_without_a_server_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let options = ConnectOptions {
            default_config_path: Some(dir.path().join("absent.toml")),
            user_id: Some("u".into()),
            ..ConnectOptions::default()
        };
        assert!(matches!(resolve(&options), Err(ConnectError::Options(_))));
    }

    #[tokio::test]
    async fn embedded_demo_serves_the_demo_user_and_fresh_resets_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("demo").join(DEMO_DB_FILE);
        let journal_path = dir.path().join("locks.json");
        let target = Target::EmbeddedDemo(EmbeddedSettings {
            db_path: db.clone(),
            fresh: false,
            lock_ttl: None,
            read_only: false,
            config_path: dir.path().join("absent.toml"),
            journal_path: journal_path.clone(),
            config_warning: None,
        });
        let connection = target.clone().connect().await.unwrap();
        assert!(connection.is_embedded());
        assert_eq!(connection.journal_key(), embedded_journal_key(&db));
        let lock = connection
            .client
            .create_lock(crate::api::ModuleCode::Folder)
            .await
            .unwrap();
        connection.close().await;

        // The same database keeps the lock; a fresh one does not.
        let again = target.clone().connect().await.unwrap();
        assert!(
            again
                .client
                .create_lock(crate::api::ModuleCode::Folder)
                .await
                .is_err()
        );
        again.close().await;
        let Target::EmbeddedDemo(mut settings) = target else {
            unreachable!()
        };
        settings.fresh = true;
        // The journal's locks for the demo server are forgotten with its database.
        let mut journal = Journal::load(&journal_path).unwrap();
        for (key, id) in [
            (embedded_journal_key(&db), "demo@100"),
            ("http://elsewhere".into(), "other@100"),
        ] {
            let lock = crate::api::LockInfo {
                lock_id: id.into(),
                ..lock.clone()
            };
            let held = crate::journal::HeldLock::new(lock, key, server::DEMO_USER_ID);
            journal.upsert(held).unwrap();
        }
        assert_eq!(journal.all().len(), 2);
        let fresh = Target::EmbeddedDemo(settings).connect().await.unwrap();
        let remaining = Journal::load(&journal_path).unwrap();
        assert_eq!(remaining.all().len(), 1);
        assert_eq!(remaining.all()[0].base_url, "http://elsewhere");
        let second = fresh
            .client
            .create_lock(crate::api::ModuleCode::Folder)
            .await
            .unwrap();
        assert_ne!(second.lock_id, lock.lock_id);
        fresh.close().await;
    }
}
