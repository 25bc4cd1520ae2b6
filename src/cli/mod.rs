//! The headless command line: every TUI action as a scriptable command, with JSON output and
//! distinct exit codes (see the README and [`exit::Exit`]).

mod check;
mod cleanup;
mod device;
mod discover;
pub mod exit;
mod history;
mod hold;
mod interrupt;
mod lock;
mod locking;
mod named_device;
pub mod output;
mod pending;
mod reader;
mod record;
mod serve;
pub mod settings;
mod status;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::api::{Client, ModuleCode};
use crate::connect::{self, ConnectOptions, Connection, Target};
use crate::journal::Journal;
pub use discover::complete_if_asked;
use exit::{CliError, Exit};
use output::Output;

/// Environment variable telling the client the server's lock lifetime (test servers only).
pub const LOCK_TTL_ENV: &str = "KOOBACKUP_LOCK_TTL_SECS";

/// `koobackup --version`: the version, the commit it was built from, the build date and the
/// target.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("KOOBACKUP_COMMIT"),
    " ",
    env!("KOOBACKUP_BUILD_DATE"),
    " ",
    env!("KOOBACKUP_TARGET"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "koobackup",
    version = VERSION,
    disable_version_flag = true,
    about = "KooDrive backup locks and records: a terminal app, a scriptable command line and a local server",
    long_about = "KooDrive backup locks and records.\n\n\
        Without a subcommand koobackup starts the terminal app. With no profile configured it uses an \
        embedded demo server, so it works without an account.\n\n\
        The access token is read from $KOOBACKUP_TOKEN, --token-file, or the profile's token source; \
        never from a command-line argument.",
    after_help = "Exit codes: 0 ok, 1 other failure, 2 usage or configuration, 3 authentication, \
        4 conflict (lock held elsewhere or expired), 5 not found, 6 network, 7 server error, \
        8 incomplete listing (printed without the items that could not be read), 9 a limit of \
        the command reached (--max-pages, --max-records). \
        `status` is a monitoring plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Print the version (commit, build date, target); with --verbose, what it was built with
    #[arg(long, short = 'V')]
    pub version: bool,

    /// With --version: the build's components and features too
    #[arg(long, requires = "version")]
    pub verbose: bool,

    /// Reset the embedded demo server's database first (used only when no profile or
    /// --base-url is given)
    #[arg(long)]
    pub fresh: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Profile of the config file to use (default: the file's default_profile)
    #[arg(long, global = true, env = "KOOBACKUP_PROFILE", value_name = "NAME", add = discover::profile_completer())]
    pub profile: Option<String>,

    /// Send nothing that changes the server: only look (the TUI refuses such keys; commands
    /// that would change something fail with exit 2 before sending)
    #[arg(long, global = true)]
    pub read_only: bool,

    /// Write nothing into the history of changes (see `koobackup history`); needed to delete
    /// while the history cannot be written (a full or read-only disk)
    #[arg(long, global = true)]
    pub no_history: bool,

    /// Server base URL; without --profile the config file is not used at all
    #[arg(long, global = true, env = "KOOBACKUP_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    /// KooDrive user id
    #[arg(long, global = true, env = "KOOBACKUP_USER_ID", value_name = "ID")]
    pub user_id: Option<String>,

    /// Read the access token from the first line of FILE ("-": standard input); replaces the
    /// profile's credentials. Without a profile, $KOOBACKUP_TOKEN works too
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Sign requests as this app (app-based authentication); the secret comes from
    /// --app-secret-file, the profile, or (without a profile) $KOOBACKUP_APP_SECRET
    #[arg(long, global = true, value_name = "APP_ID")]
    pub app_id: Option<String>,

    /// Read the app secret from the first line of FILE ("-": standard input)
    #[arg(long, global = true, value_name = "FILE")]
    pub app_secret_file: Option<PathBuf>,

    /// Also trust the certificate authorities in this PEM file (replaces the profile's ca_file)
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Config file (default: $XDG_CONFIG_HOME/koobackup/config.toml)
    #[arg(long, global = true, env = "KOOBACKUP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Append a log of what koobackup does (requests, retries, journal changes; for `serve`, every
    /// request answered) to FILE; never a secret
    #[arg(long, global = true, env = "KOOBACKUP_LOG", value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Limit for one attempt of an HTTP exchange, in seconds, fractions allowed (1.5s; default
    /// 10). Reads that fail are tried again, each attempt with this limit
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Output form: table (fitted to the terminal), wide (every column, nothing cut), json (one
    /// document; errors as JSON on stderr) or jsonl (one document per item of a list)
    #[arg(long, short, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<output::Format>,

    /// The same as -o json
    #[arg(long, global = true, conflicts_with_all = ["output", "jsonl"])]
    pub json: bool,

    /// The same as -o jsonl
    #[arg(long, global = true, conflicts_with = "output")]
    pub jsonl: bool,

    /// Tables without their header line
    #[arg(long, global = true)]
    pub no_headers: bool,

    /// Print only essential output (ids), no notes
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Colour: auto (on a terminal, unless NO_COLOR is set or CLICOLOR=0; CLICOLOR_FORCE
    /// forces it), always or never. For the app and the command line alike
    // The values are named in the help above: clap's list of them would put every option's
    // help of every long `--help` on a line of its own.
    #[arg(long, global = true, value_enum, value_name = "WHEN", hide_possible_values = true,
          default_value_t = crate::color::ColorChoice::Auto)]
    pub color: crate::color::ColorChoice,

    /// The server's lock lifetime in seconds, for test servers with short-lived locks: at most
    /// KooDrive's 600 (a longer one would make koobackup trust a lock the server has dropped)
    #[arg(
        id = "assume_lock_ttl_secs",
        long = "assume-lock-ttl-secs",
        value_name = "SECONDS",
        global = true,
        hide = true,
        env = LOCK_TTL_ENV,
        value_parser = clap::value_parser!(u64).range(1..=600)
    )]
    pub lock_ttl_secs: Option<u64>,
}

impl GlobalArgs {
    pub fn output(&self) -> Output {
        let format = if self.json {
            output::Format::Json
        } else if self.jsonl {
            output::Format::Jsonl
        } else {
            self.output.unwrap_or_default()
        };
        let width = (format == output::Format::Table)
            .then(output::terminal_width)
            .flatten();
        Output {
            format,
            quiet: self.quiet,
            no_headers: self.no_headers,
            width,
            color_out: self.color.enabled(crate::color::Stream::Stdout),
            color_err: self.color.enabled(crate::color::Stream::Stderr),
        }
    }

    /// The connection options; `fresh` applies to the embedded demo server.
    pub fn connect_options(&self, fresh: bool) -> ConnectOptions {
        ConnectOptions {
            config_path: self.config.clone(),
            profile: self.profile.clone(),
            base_url: self.base_url.clone(),
            user_id: self.user_id.clone(),
            token_file: self.token_file.clone(),
            app_id: self.app_id.clone(),
            app_secret_file: self.app_secret_file.clone(),
            ca_file: self.ca_file.clone(),
            default_config_path: None,
            timeout: self.timeout,
            lock_ttl: self.lock_ttl_secs.map(Duration::from_secs),
            fresh,
            read_only: self.read_only,
            history: !self.no_history,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, renew, release, list and hold backup locks
    #[command(subcommand)]
    Lock(LockCommand),
    /// Create, list, view, complete and delete backup records
    #[command(subcommand)]
    Record(RecordCommand),
    /// Your bound devices, what each backs up (scopes) and its backup settings (configs)
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Find abandoned records and records marked to be deleted; delete them with --yes
    Cleanup(cleanup::CleanupArgs),
    /// The health of every device's backups, for monitoring: a Nagios/Icinga plugin (exit 0
    /// OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), JSON, a Prometheus textfile, healthchecks pings
    #[command(long_about = STATUS_ABOUT, after_long_help = STATUS_EXIT)]
    Status(status::StatusArgs),
    /// What koobackup on this machine changed on servers, newest first: every lock, record,
    /// file, device, scope and config change, deletes with the record as it was
    History(history::HistoryArgs),
    /// Deletions queued with a grace window (--grace, the profile's delete_grace): list them,
    /// take them back (`cancel`), send the due ones (`apply`, from cron or a systemd timer)
    Pending(pending::PendingArgs),
    /// Run a local KooDrive-compatible server
    Serve(serve::ServeArgs),
    /// Check, show, locate or edit the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The profiles of the config file
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Print a shell completion script: it asks koobackup for commands, options, lock ids (from
    /// the journal), profiles and modules as you press Tab. bash: `source <(koobackup
    /// completions bash)`; zsh: `source <(koobackup completions zsh)`; fish: `koobackup
    /// completions fish | source`
    Completions {
        /// The shell to complete in
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the version, the commit, build date and target, and what the binary was built with
    Version,
    /// Print the manual page (roff) of koobackup or of one of its commands: `koobackup man |
    /// man -l -`, `koobackup man record delete`
    Man {
        /// The command whose page to print, as words (`record delete`); none: koobackup itself
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Create a lock and remember it in the journal, kept until you release it. Commands use
    /// it only where it is named: --lock ID, or $KOOBACKUP_LOCK_ID
    Create {
        /// Backup module: 100 (folder), 101 (album), 102 (address book), or its name
        #[arg(long, short, value_parser = ModuleCode::from_user_text, add = discover::module_completer())]
        module: ModuleCode,
        /// Mark the lock so a running koobackup TUI keeps renewing it
        #[arg(long)]
        auto_renew: bool,
        /// When the module is locked by another operation, wait up to DURATION for it (e.g.
        /// 30m), trying again with backoff and saying whose lock it is
        #[arg(long, value_name = "DURATION", value_parser = parse_wait)]
        wait: Option<Duration>,
    },
    /// Renew locks (validity starts again at 10 minutes)
    Renew(LockIds),
    /// Release locks and forget them
    Release(LockIds),
    /// List the locks you hold (from the journal), with the time left
    List,
    /// Hold a lock while COMMAND runs: renewed in the background, exported as
    /// KOOBACKUP_LOCK_ID, released when COMMAND ends; exits with COMMAND's exit code. COMMAND
    /// (its whole process group) is stopped if the lock is lost or runs out
    #[command(long_about = HOLD_ABOUT, after_long_help = HOLD_EXIT)]
    Hold {
        /// Backup module: 100 (folder), 101 (album), 102 (address book), or its name
        #[arg(long, short, value_parser = ModuleCode::from_user_text, add = discover::module_completer())]
        module: ModuleCode,
        /// Seconds between SIGTERM and SIGKILL when COMMAND must stop
        #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
        grace: Duration,
        /// When the module is locked by another operation (a clean-up, another backup), wait up
        /// to DURATION for it (e.g. 2h) before starting COMMAND, as restic's --retry-lock does
        #[arg(long, value_name = "DURATION", value_parser = parse_wait)]
        wait: Option<Duration>,
        /// Ping a healthchecks-style URL: URL/start when COMMAND starts, then URL on success,
        /// URL/N when COMMAND exits N, URL/fail when the lock was lost or COMMAND never ran; with
        /// the last lines of COMMAND's stderr. A ping never changes what lock hold does
        // Checked by the command, not by clap, whose message would repeat the URL (its path is
        // the check's key).
        #[arg(long, value_name = "URL")]
        ping: Option<String>,
        /// How long each ping may take, retries included
        #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_timeout)]
        ping_timeout: Duration,
        /// The command and its arguments (put them after --)
        #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
        command: Vec<OsString>,
    },
}

/// Which locks a renew or release applies to.
#[derive(Debug, Args)]
pub struct LockIds {
    /// Lock ids (as printed by `lock create` and `lock list`)
    #[arg(value_name = "LOCK_ID", required_unless_present = "all", value_parser = parse_lock_id,
          add = discover::lock_id_completer())]
    pub ids: Vec<String>,
    /// Every lock of the journal for this server and user, except those of operations still
    /// running (a `lock hold`, a clean-up, the app): name those to act on them
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Create a backup record (needs a lock for its module)
    Create(record::CreateArgs),
    /// List records, following the cursor to the end
    List(record::ListArgs),
    /// Show one record
    Get {
        /// The record's id (as `record list` shows it)
        #[arg(value_name = "RECORD_ID", value_parser = parse_record_id)]
        id: String,
    },
    /// Mark a record completed (needs a lock for its module)
    Complete(record::CompleteArgs),
    /// Delete records and their backup files, after asking (needs a lock for their modules)
    Delete(record::DeleteArgs),
    /// List a record's backup files, following the cursor to the end
    Files(record::FilesArgs),
    /// Register a backup file's metadata under a record (needs a lock for its module)
    AddFile(record::AddFileArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Read the profile, check the token source, and make one harmless call to check the
    /// server, the credentials and the clock offset
    Check,
    /// Where the config file, the lock journal and koobackup's data and state are
    Path,
    /// What the config file says: every profile, secrets only as their source
    Show,
    /// Edit the config file in $VISUAL/$EDITOR: a copy is checked as `config check` does and
    /// replaces the file only when it is good (like visudo)
    Edit,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Every profile, with its server, user and where its credentials come from
    List,
}

/// Seconds, fractions allowed (`1.5`), with an optional `s` (`10s`).
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let number = text.trim().trim_end_matches('s');
    match number.parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=86_400.0 * 365.0).contains(&secs) => {
            Ok(Duration::from_secs_f64(secs))
        }
        Ok(secs) if secs.is_finite() && secs > 0.0 => Err(format!("{text:?} is more than a year")),
        _ => Err(format!("{text:?} is not a number of seconds (e.g. 10 or 1.5s)")),
    }
}

/// `--concurrency`: a whole number from 1 to 256.
pub(crate) fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!("{text:?} is not a number of requests from 1 to 256")),
    }
}

/// `--wait`: an age as `format::parse_age` reads it (`30s`, `10m`, `2h`, `1d`).
fn parse_wait(text: &str) -> Result<Duration, String> {
    crate::format::parse_age(text)?
        .to_std()
        .map_err(|_| format!("{text:?} is not a time to wait"))
}

/// The long help of `lock hold`.
const HOLD_ABOUT: &str = "Hold a lock while COMMAND runs.\n\n\
    koobackup creates a lock for the module (waiting for it with --wait), starts COMMAND with the \
    lock id in KOOBACKUP_LOCK_ID (koobackup commands COMMAND runs use it as their --lock), keeps \
    the lock renewed while COMMAND runs, and releases it when COMMAND ends. COMMAND runs in a \
    process group of its own; when the lock is lost or runs out, the group gets SIGTERM, then \
    SIGKILL after --grace. A watchdog outside koobackup's process group holds the deadline, so \
    a stopped or frozen koobackup cannot extend COMMAND's run past the lock's expiry plus \
    --grace, and time the machine spends suspended counts.";

/// The exit-status part of `lock hold`'s long help.
const HOLD_EXIT: &str = "Exit status: COMMAND's own, or 128 + the signal number when a signal \
    ended it; 126/127 when COMMAND cannot be started. 4 means the lock was not held from start \
    to end (lost, expired, or found gone when COMMAND ended), whatever COMMAND returned: any \
    other status means COMMAND ran under the lock all along. Because COMMAND may itself exit 4, \
    use --json (or -o json) to tell the two apart: its summary has `lockHeld` and \
    `commandExit`.";

/// The long help of `status`.
const STATUS_ABOUT: &str = "The health of every bound device's backups, for monitoring.\n\n\
    For each device and module: the last completed backup and its age on the server's clock, the \
    records by status, the records still new after --abandoned-after (abandoned), the size with \
    --sizes, and the locks the lock journal holds. A backup older than --warn-age is late \
    (WARNING), older than --crit-age stale (CRITICAL); a module with no records at all is unused \
    unless the profile requires it ([profiles.NAME.health.modules.MODULE] required = true).\n\n\
    The output is a monitoring plugin's: one line `KOOBACKUP STATE - summary | perfdata`, then one \
    line per device module that is not OK (-o wide: every one). -o json prints one document \
    (assets/schemas/status.json); --prometheus FILE writes node_exporter's textfile format too.";

/// The exit-status part of `status`'s long help.
const STATUS_EXIT: &str = "Exit status (the monitoring plugins' contract, not the other commands' \
    codes): 0 OK, 1 WARNING (a backup is late), 2 CRITICAL (a backup is stale), 3 UNKNOWN (bad \
    options, the server unreachable, credentials refused, nothing bound, a --device that matches \
    nothing, a Prometheus file that cannot be written). With --users, the worst over all users: \
    CRITICAL, then UNKNOWN, then WARNING.";

/// `--timeout`: seconds as [`parse_seconds`] reads them, more than zero.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match parse_seconds(text)? {
        limit if limit.is_zero() => Err(format!("{text:?} is no time at all: give more than 0 seconds")),
        limit => Ok(limit),
    }
}

/// Refuses up front, in read-only mode, a command that can only end in changes (`what`), so that
/// it neither asks nor lists what it then cannot do.
pub(crate) fn refuse_if_read_only(ctx: &Context, what: &str) -> Result<(), CliError> {
    if ctx.client().is_read_only() {
        return Err(CliError::from(crate::api::ApiError::ReadOnly {
            what: what.into(),
        }));
    }
    Ok(())
}

/// Refuses, before anything is sent, a change that leaves no trace but the history (`what`: "a
/// delete") while the history cannot be written, unless the user said `--no-history`.
pub(crate) fn refuse_without_history(ctx: &Context, what: &str) -> Result<(), CliError> {
    match ctx.connection.history.refusal() {
        None => Ok(()),
        Some(why) => Err(CliError::failure(format!(
            "{why}; {what} was not sent, since it would leave no trace. Free space or fix the \
             directory, or give --no-history to send it without one"
        ))),
    }
}

/// Opens `what`'s plan of deleting `planned` from `module` in the history (see
/// [`crate::history::Plan`]), or refuses as [`refuse_without_history`] does.
pub(crate) fn open_plan(
    ctx: &Context,
    what: &str,
    module: &str,
    planned: Vec<crate::history::Planned>,
) -> Result<crate::history::Plan, CliError> {
    if !planned.is_empty() {
        refuse_without_history(ctx, &format!("the {what}"))?;
    }
    ctx.connection
        .history
        .open_plan(what, module, planned)
        .map_err(|error| {
            CliError::failure(format!(
                "{error}; the {what} was not sent, since it would leave no trace. Free space or \
                 fix the directory, or give --no-history to send it without one"
            ))
        })
}

/// Whether a question can be asked: standard input (the answer) and standard error (the
/// question) are both a terminal.
pub(crate) fn can_ask() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Writes `question` (our own text, with any server text in it already escaped) to stderr and
/// reads the answer from stdin: `y` or `yes` is yes, anything else (Enter, end of input) no.
pub(crate) fn ask(question: &str) -> Result<bool, CliError> {
    use std::io::{BufRead, Write};
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{question} [y/N] ").and_then(|()| stderr.flush());
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::failure(format!("cannot read the answer: {e}; nothing was changed")))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// `ids` without repeats, in the order first given: a command on several ids acts on each once.
pub(crate) fn unique(ids: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter().filter(|id| seen.insert(id.clone())).collect()
}

/// An id as given on the command line: one the API would refuse (empty, `.` or `..`, too long:
/// [`crate::api::path::id_problem`]) is refused here already, and so is one with whitespace or
/// control characters (a pasted line break would otherwise reach the server inside the id, or
/// be dropped from a header). The message quotes at most the id's start.
fn check_id(kind: &str, text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err(format!("a {kind} id cannot be empty"));
    }
    let shown = || crate::format::escape(&crate::api::path::shown_id(text)).into_owned();
    if let Some(problem) = crate::api::path::id_problem(text) {
        return Err(format!("{} is not a {kind} id: {problem}", shown()));
    }
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || crate::format::needs_escape(c))
    {
        return Err(format!(
            "{} is not a {kind} id: it holds spaces or control characters",
            shown()
        ));
    }
    Ok(text.to_string())
}

pub fn parse_record_id(text: &str) -> Result<String, String> {
    check_id("record", text)
}

/// A lock id travels in an HTTP header: ASCII only (`<uuid>@<module>`).
pub fn parse_lock_id(text: &str) -> Result<String, String> {
    let id = check_id("lock", text)?;
    if !id.is_ascii() {
        return Err(format!(
            "{} is not a lock id: lock ids are ASCII (<uuid>@<module>)",
            crate::format::escape(&id)
        ));
    }
    Ok(id)
}

pub fn parse_device_id(text: &str) -> Result<String, String> {
    check_id("device", text)
}

pub fn parse_scope_id(text: &str) -> Result<String, String> {
    check_id("scope", text)
}

/// Parses the command line. On a usage error with JSON output asked for (`--json`, `--jsonl`,
/// `-o json`), the error is reported as JSON on stderr; either way the process exits with code 2.
pub fn parse() -> Cli {
    let parsed = Cli::command().try_get_matches().and_then(|matches| {
        reject_client_options(&matches)?;
        Cli::from_arg_matches(&matches)
    });
    match parsed {
        Ok(cli) => cli,
        Err(error) if error.use_stderr() && is_status(std::env::args_os()) => {
            // A monitoring plugin's usage error is UNKNOWN (3): a 2 would read as CRITICAL.
            let rendered = error.to_string();
            let message = rendered
                .trim_start_matches("error: ")
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or_default();
            let json = asks_for_json(std::env::args_os().skip(1));
            println!("{}", status::usage_error(message, json));
            std::process::exit(i32::from(crate::health::State::Unknown.code()));
        }
        Err(error) if error.use_stderr() => {
            let json = asks_for_json(std::env::args_os().skip(1));
            // clap's rendering starts with "error: ", quotes the argument as typed (which may
            // hold control characters) and ends with a hint to use --help.
            let mut rendered = error.to_string();
            // A long argument is quoted by its start only: a 100 KB id is no 100 KB message.
            for arg in std::env::args_os()
                .skip(1)
                .filter_map(|arg| arg.into_string().ok())
            {
                if arg.chars().count() > 100 && rendered.contains(&arg) {
                    rendered = rendered.replace(&arg, &crate::api::path::shown_id(&arg));
                }
            }
            let message = rendered
                .trim_start_matches("error: ")
                .lines()
                .filter(|line| !line.trim().is_empty() && !line.starts_with("For more information"))
                .collect::<Vec<_>>()
                .join("\n");
            if json {
                let out = Output {
                    format: output::Format::Json,
                    ..Output::default()
                };
                out.error(&CliError::usage(message));
            } else {
                // clap's own lines (the usage under the error) stay lines.
                eprintln!("error: {}", crate::format::escape_lines(&message));
                eprintln!("For more information, try '--help'.");
            }
            std::process::exit(i32::from(Exit::Usage.code()));
        }
        Err(error) => error.exit(),
    }
}

/// Whether the command line is `status`'s, read leniently (clap has just refused it).
fn is_status(args: impl Iterator<Item = OsString>) -> bool {
    Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(args)
        .is_ok_and(|matches| matches.subcommand_name() == Some("status"))
}

/// Whether the arguments ask for JSON output, read without clap (which has just refused them).
fn asks_for_json(args: impl Iterator<Item = OsString>) -> bool {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    let is_json = |form: &str| matches!(form, "json" | "jsonl");
    args.iter().enumerate().any(|(i, arg)| match arg.as_str() {
        "--json" | "--jsonl" => true,
        "-o" | "--output" => args.get(i + 1).is_some_and(|form| is_json(form)),
        other => other
            .strip_prefix("--output=")
            .or_else(|| other.strip_prefix("-o"))
            .is_some_and(|form| is_json(form.trim_start_matches('='))),
    })
}

/// Options that only a command talking to a server reads. `serve`, `completions` and `man`
/// refuse them when typed, instead of silently ignoring them (a variable in the environment is
/// not typed, and stays harmless).
const CLIENT_OPTIONS: [&str; 11] = [
    "profile",
    "read_only",
    "base_url",
    "user_id",
    "token_file",
    "app_id",
    "app_secret_file",
    "ca_file",
    "config",
    "timeout",
    "assume_lock_ttl_secs",
];

fn reject_client_options(matches: &clap::ArgMatches) -> Result<(), clap::Error> {
    let Some((name, sub)) = matches.subcommand() else {
        return Ok(());
    };
    // What each of them refuses: the client options, and for the two that only print a text,
    // the output and logging options too (they print no table and no JSON, and log nothing).
    let refused: &[&str] = match name {
        "serve" => &["no_headers", "fresh"],
        "history" => &["fresh", "no_history"],
        "completions" | "man" | "version" => &[
            "output",
            "json",
            "jsonl",
            "no_headers",
            "quiet",
            "fresh",
            "log_file",
        ],
        _ => return Ok(()),
    };
    let typed = |id: &str| {
        [matches, sub].iter().any(|m| {
            m.ids().any(|i| i == id) && m.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
        })
    };
    let command = Cli::command();
    let given: Vec<String> = command
        .get_arguments()
        .filter(|arg| {
            let id = arg.get_id().as_str();
            // `history` reads --profile as a filter.
            let filter = name == "history" && id == "profile";
            ((CLIENT_OPTIONS.contains(&id) && !filter) || refused.contains(&id)) && typed(id)
        })
        .filter_map(|arg| arg.get_long().map(|long| format!("--{long}")))
        .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(command.clone().error(
        clap::error::ErrorKind::ArgumentConflict,
        format!(
            "`{name}` talks to no server and does not take {}; leave it out",
            given.join(", ")
        ),
    ))
}

/// Runs a subcommand to completion and returns the process exit code. `fresh` resets the
/// embedded demo server's database if that is where the command connects.
pub fn run(global: GlobalArgs, fresh: bool, command: Command, app_check: settings::AppCheck) -> u8 {
    let out = global.output();
    let options = global.connect_options(fresh);
    let result = match command {
        Command::Completions { shell } => discover::completions(shell),
        Command::Man { command } => discover::man(&command),
        Command::Version => print_version(true),
        Command::Serve(args) => serve::run(args, out),
        Command::Lock(LockCommand::List) => lock::list(&options, out),
        Command::Config(ConfigCommand::Check) => block_on(check::run(&options, out, app_check)),
        Command::Config(ConfigCommand::Path) => settings::path(&options, out),
        Command::Config(ConfigCommand::Show) => settings::show(&options, out),
        Command::Config(ConfigCommand::Edit) => block_on(settings::edit(&options, out, app_check)),
        Command::Profile(ProfileCommand::List) => settings::profiles(&options, out),
        Command::Lock(command) => block_on(connected(&options, out, async |ctx| {
            lock::run(ctx, command).await
        })),
        Command::Record(command) => block_on(connected(&options, out, async |ctx| {
            record::run(ctx, command).await
        })),
        Command::Device(command) => block_on(connected(&options, out, async |ctx| {
            device::run(ctx, command).await
        })),
        Command::Cleanup(args) => block_on(connected(&options, out, async |ctx| {
            cleanup::run(ctx, args).await
        })),
        Command::Status(args) => block_on(async { Ok(status::run(&options, out, args).await) }),
        Command::History(args) => history::run(args, history::typed_profile(&options), out),
        Command::Pending(args) => match args.command {
            Some(pending::PendingCommand::Apply(apply)) => block_on(connected(&options, out, async |ctx| {
                pending::run_apply(ctx, apply).await
            })),
            Some(pending::PendingCommand::Cancel(cancel)) => {
                pending::run_cancel(&cancel, history::typed_profile(&options), out)
            }
            None => pending::run_list(&args.filter, history::typed_profile(&options), out),
        },
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            out.error(&error);
            error.exit.code()
        }
    }
}

/// `--version` (`verbose`: `--version --verbose`, `version`): one line, or the build's facts.
pub fn print_version(verbose: bool) -> Result<u8, CliError> {
    let out = Output::plain();
    out.raw(&format!("koobackup {VERSION}"))?;
    if verbose {
        out.raw(&build_facts())?;
    }
    Ok(Exit::Ok.code())
}

/// What the binary was built with, one fact a line.
fn build_facts() -> String {
    let facts = [
        ("commit", env!("KOOBACKUP_COMMIT")),
        ("built", env!("KOOBACKUP_BUILD_DATE")),
        ("target", env!("KOOBACKUP_TARGET")),
        ("profile", env!("KOOBACKUP_PROFILE")),
        ("compiler", env!("KOOBACKUP_RUSTC")),
        ("tls", "rustls, with the operating system's certificate store"),
        ("sqlite", rusqlite::version()),
        ("cargo features", "none (everything is built in)"),
        (
            "parts",
            "terminal app, command line, local server (axum), lock-hold watchdog",
        ),
    ];
    facts
        .iter()
        .map(|(name, value)| format!("{name:<15}{value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `future` on a single-threaded runtime: a command makes a handful of sequential requests,
/// and starting no worker threads keeps the start-up time close to curl's.
fn block_on(future: impl Future<Output = Result<u8, CliError>>) -> Result<u8, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))?
        .block_on(future)
}

/// Connects, runs `command`, and stops the embedded server (if any) afterwards.
async fn connected(
    options: &ConnectOptions,
    out: Output,
    command: impl AsyncFnOnce(&mut Context) -> Result<u8, CliError>,
) -> Result<u8, CliError> {
    let mut ctx = Context::open(options, out).await?;
    let interrupt = ctx.interrupt.clone();
    let result = interrupt::supervise(&interrupt, out, command(&mut ctx)).await;
    if let Some(failure) = ctx.connection.history.recorder().and_then(|r| r.take_failure()) {
        out.warn(&format!(
            "{failure}: some of the changes this command sent are missing from the history"
        ));
    }
    ctx.connection.close().await;
    result
}

pub(crate) fn load_journal() -> Result<Journal, CliError> {
    Ok(Journal::load(Journal::default_path()?)?)
}

/// What a connected command works with.
pub(crate) struct Context {
    pub connection: Connection,
    pub out: Output,
    /// A signal received while the command runs, and how the command answers it.
    pub interrupt: interrupt::Interrupt,
    /// Read on first use, so a damaged journal does not stop commands that do not need it.
    journal: Option<Journal>,
}

impl Context {
    async fn open(options: &ConnectOptions, out: Output) -> Result<Context, CliError> {
        let target = connect::resolve(options)?;
        if let Target::EmbeddedDemo(settings) = &target {
            let why = if settings.config_path.exists() {
                "has no profile"
            } else {
                "not found"
            };
            out.note(&format!(
                "note: no profile configured ({} {why}); using the embedded demo server",
                settings.config_path.display()
            ));
        }
        let mut connection = target.connect().await?;
        connection.keep_history(options.history);
        let notes = crate::api::client::RetryNotes(std::sync::Arc::new(move |note: &str| {
            out.note(&format!("note: {note}"));
        }));
        connection.client = connection.client.with_retry_notes(notes);
        for warning in &connection.warnings {
            out.warn(warning);
        }
        if let Some(recorder) = connection.history.recorder() {
            let history = recorder.history();
            // Said once, to someone: a quiet command (a cron job, a monitoring check) keeps
            // what it found for the next command that can say it.
            for said in crate::history::recover(recorder, &connection.client).await {
                if out.quiet {
                    let _ = history.save_notice(&said);
                } else {
                    out.warn(&said);
                }
            }
            if !out.quiet {
                for notice in history.take_notices() {
                    out.warn(&notice);
                }
            }
        }
        Ok(Context {
            connection,
            out,
            interrupt: interrupt::Interrupt::default(),
            journal: None,
        })
    }

    pub fn journal(&mut self) -> Result<&mut Journal, CliError> {
        let journal = match self.journal.take() {
            Some(journal) => journal,
            None => load_journal()?,
        };
        Ok(self.journal.insert(journal))
    }

    pub fn client(&self) -> &Client {
        &self.connection.client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn modules_parse_by_code_or_name() {
        assert_eq!(ModuleCode::from_user_text("102"), Ok(ModuleCode::AddressBook));
        assert_eq!(
            ModuleCode::from_user_text("Address book"),
            Ok(ModuleCode::AddressBook)
        );
        assert_eq!(ModuleCode::from_user_text("folder"), Ok(ModuleCode::Folder));
        assert!(
            ModuleCode::from_user_text("103")
                .unwrap_err()
                .contains("100 (folder)")
        );
    }

    #[test]
    fn hold_takes_the_command_after_double_dash() {
        let cli = Cli::try_parse_from([
            "koobackup",
            "lock",
            "hold",
            "--module",
            "102",
            "--",
            "sh",
            "-c",
            "x",
        ])
        .unwrap();
        let Some(Command::Lock(LockCommand::Hold { module, command, .. })) = cli.command else {
            panic!("expected lock hold")
        };
        assert_eq!(module, ModuleCode::AddressBook);
        assert_eq!(command, ["sh", "-c", "x"]);
    }

    #[test]
    fn there_is_no_token_argument() {
        let err = Cli::try_parse_from(["koobackup", "--token", "secret", "lock", "list"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }
}
