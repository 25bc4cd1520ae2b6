//! `koobackup serve`: the local KooDrive-compatible server, for trying koobackup without an
//! account, for tests and for demos. Prints `listening on http://ADDR` once it accepts
//! connections and runs until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::exit::{CliError, Exit};
use super::output::Output;
use crate::config;
use crate::server::{self, AppCredential, Faults, ServerConfig, ServerError, UserCredential};

/// Largest `--clock-offset-secs`, about 100 years (the server clamps its clock skew there too);
/// beyond it the offset would not even fit in a time span.
const MAX_CLOCK_OFFSET_SECS: i64 = 36_500 * 86_400;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// SQLite database file, created if missing (default: server.sqlite in the data directory)
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// A user the server accepts, as ID:TOKEN; repeatable. Visible in `ps`: for local test
    /// servers only; prefer --users-file
    #[arg(long = "user", value_name = "ID:TOKEN", value_parser = parse_user_arg)]
    pub users: Vec<UserArg>,
    /// File with one ID:TOKEN per line (blank lines and lines starting with # are ignored)
    #[arg(long, value_name = "FILE")]
    pub users_file: Option<PathBuf>,
    /// An app whose HMAC-SHA256 signed requests are accepted for any user id, as
    /// APP_ID:APP_SECRET; repeatable. Visible in `ps`: prefer --apps-file
    #[arg(long = "app", value_name = "APP_ID:APP_SECRET", value_parser = parse_app_arg)]
    pub apps: Vec<AppArg>,
    /// File with one APP_ID:APP_SECRET per line (blank lines and # comments are ignored)
    #[arg(long, value_name = "FILE")]
    pub apps_file: Option<PathBuf>,
    /// Add the demo user (demo-user / demo-token) and demo records
    #[arg(long)]
    pub seed_demo: bool,
    /// Delay added to every response, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of requests (0 to 1) answered with a server error
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = parse_fraction)]
    pub error_rate: f64,
    /// Run the server clock this many seconds ahead (negative: behind)
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(i64).range(-MAX_CLOCK_OFFSET_SECS..=MAX_CLOCK_OFFSET_SECS)
    )]
    pub clock_offset_secs: i64,
    /// Requests per second allowed per user; more are answered 429
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: Option<u32>,
    /// Lock lifetime in seconds (KooDrive: 600); shorten it to test renewals
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub lock_ttl_secs: u64,
    /// Allow listening on a non-loopback address (no TLS: tokens travel in clear text)
    #[arg(long)]
    pub allow_remote: bool,
}

/// A `--user` value. Its Debug output hides the token.
#[derive(Clone)]
pub struct UserArg(UserCredential);

impl std::fmt::Debug for UserArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserArg({}:<redacted>)", self.0.user_id)
    }
}

/// An `--app` value. Its Debug output hides the secret.
#[derive(Clone)]
pub struct AppArg(AppCredential);

impl std::fmt::Debug for AppArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppArg({}:<redacted>)", self.0.app_id)
    }
}

fn parse_user_arg(text: &str) -> Result<UserArg, String> {
    parse_user(text).map(UserArg)
}

fn parse_app_arg(text: &str) -> Result<AppArg, String> {
    parse_app(text).map(AppArg)
}

/// `ID:SECRET` with both parts non-empty. The value may be a secret: it is not repeated in the
/// message.
fn split_pair(text: &str, shape: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((id, secret)) if !id.trim().is_empty() && !secret.trim().is_empty() => {
            Ok((id.trim().to_string(), secret.trim().to_string()))
        }
        _ => Err(format!("expected {shape} with both parts non-empty")),
    }
}

fn parse_user(text: &str) -> Result<UserCredential, String> {
    split_pair(text, "ID:TOKEN").map(|(user_id, token)| UserCredential { user_id, token })
}

fn parse_app(text: &str) -> Result<AppCredential, String> {
    split_pair(text, "APP_ID:APP_SECRET").map(|(app_id, secret)| AppCredential { app_id, secret })
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("{text:?} is not a fraction between 0 and 1 (e.g. 0.1)")),
    }
}

/// Entries of a users or apps file (`what`), one `ID:SECRET` per line; a bad line is reported
/// by number, never by content.
fn read_pairs_file<T>(
    path: &Path,
    what: &str,
    out: Output,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read the {what} {}: {e}", path.display())))?;
    if let Some(warning) = config::token_file_permission_warning(path) {
        out.warn(&warning.replace("token file", what));
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(index, line)| {
            parse(line).map_err(|e| CliError::usage(format!("{} line {}: {e}", path.display(), index + 1)))
        })
        .collect()
}

fn read_users_file(path: &Path, out: Output) -> Result<Vec<UserCredential>, CliError> {
    read_pairs_file(path, "users file", out, parse_user)
}

fn server_config(args: ServeArgs, out: Output) -> Result<ServerConfig, CliError> {
    let db_path = match args.db {
        Some(path) => path,
        None => config::data_dir()?.join("server.sqlite"),
    };
    let mut users: Vec<UserCredential> = args.users.into_iter().map(|u| u.0).collect();
    if let Some(path) = &args.users_file {
        users.extend(read_users_file(path, out)?);
    }
    let mut apps: Vec<AppCredential> = args.apps.into_iter().map(|a| a.0).collect();
    if let Some(path) = &args.apps_file {
        apps.extend(read_pairs_file(path, "apps file", out, parse_app)?);
    }
    if users.is_empty() && apps.is_empty() && !args.seed_demo {
        return Err(CliError::usage(
            "the server would accept nobody: pass --user ID:TOKEN, --users-file FILE, \
             --app APP_ID:APP_SECRET, --apps-file FILE or --seed-demo",
        ));
    }
    if let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        config::create_private_dir_all(dir)
            .map_err(|e| CliError::failure(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut config = ServerConfig::new(db_path);
    config.listen = args.listen;
    config.users = users;
    config.apps = apps;
    config.seed_demo = args.seed_demo;
    config.lock_ttl = Duration::from_secs(args.lock_ttl_secs);
    config.allow_non_loopback = args.allow_remote;
    config.faults = Faults {
        latency: Duration::from_millis(args.latency_ms),
        error_rate: args.error_rate,
        clock_offset: chrono::Duration::seconds(args.clock_offset_secs),
        rate_limit_per_sec: args.rate_limit,
    };
    Ok(config)
}

pub(crate) fn run(args: ServeArgs, out: Output) -> Result<u8, CliError> {
    let config = server_config(args, out)?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let mut server = server::start(config).await.map_err(|e| match e {
            ServerError::NotLoopback(_) | ServerError::LockTtl(_) | ServerError::Credentials(_) => {
                CliError::usage(e.to_string())
            }
            other => CliError::failure(other.to_string()),
        })?;
        if out.is_json() {
            out.json(&serde_json::json!({ "baseUrl": server.base_url() }))?;
        } else {
            out.line(&format!("listening on {}", server.base_url()))?;
        }
        let failed = server.take_failure();
        tokio::select! {
            signal = wait_for_stop_signal() => signal?,
            Some(Ok(reason)) = async { match failed { Some(f) => Some(f.await), None => None } } => {
                return Err(CliError::failure(reason));
            }
        }
        out.note("stopping");
        server.shutdown().await;
        Ok(Exit::Ok.code())
    })
}

async fn wait_for_stop_signal() -> Result<(), CliError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|e| CliError::failure(format!("cannot install a signal handler: {e}")))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_parse_and_bad_ones_do_not_echo_the_token() {
        assert_eq!(
            parse_user("alice:s3cret").unwrap(),
            UserCredential {
                user_id: "alice".into(),
                token: "s3cret".into()
            }
        );
        assert!(!parse_user("s3cret-no-colon").unwrap_err().contains("s3cret"));
        assert!(parse_user(":token").is_err());
    }

    #[test]
    fn users_file_skips_comments_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "# users\nalice:a-token\n\nbob:b-token\n").unwrap();
        let out = Output {
            quiet: true,
            ..Output::default()
        };
        let users = read_users_file(&path, out).unwrap();
        assert_eq!(users.len(), 2);
        std::fs::write(&path, "alice:a-token\nleaky-secret\n").unwrap();
        let err = read_users_file(&path, out).unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);
        assert!(!err.message.contains("leaky-secret"));
    }

    #[test]
    fn user_arguments_do_not_show_the_token_in_debug_output() {
        let arg = parse_user_arg("alice:s3cret").unwrap();
        assert_eq!(format!("{arg:?}"), "UserArg(alice:<redacted>)");
    }

    #[test]
    fn error_rate_must_be_a_fraction() {
        assert_eq!(parse_fraction("0.25"), Ok(0.25));
        assert!(parse_fraction("1.5").is_err());
        assert!(parse_fraction("x").is_err());
    }
}
