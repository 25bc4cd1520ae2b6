//! Finding your way around the command line: `koobackup man` (the manual page of any command),
//! `koobackup completions SHELL` (a script that asks koobackup itself what to complete), and the
//! values completed for lock ids, profiles and modules.
//!
//! Completion is clap_complete's dynamic engine: the shell runs `COMPLETE=<shell> koobackup --
//! <words>` and koobackup prints the candidates, so lock ids come from the journal as it is
//! when Tab is pressed, not from when the script was written.

use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;

use super::Cli;
use super::exit::{CliError, Exit};
use super::output::Output;
use crate::api::ModuleCode;
use crate::journal::Journal;

/// The environment variable that turns a run into a completion request.
const COMPLETE_ENV: &str = "COMPLETE";

/// Answers a completion request (and exits) when `$COMPLETE` names a shell; otherwise returns
/// at once. Call it before anything is printed.
pub fn complete_if_asked() {
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(COMPLETE_ENV)
        .complete();
}

/// `koobackup completions SHELL`: the registration script for `shell`, which calls `koobackup`
/// (found on `$PATH` when Tab is pressed, so the script keeps working when the binary moves or is
/// upgraded) for every completion.
pub(super) fn completions(shell: clap_complete::Shell) -> Result<u8, CliError> {
    let name = shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(&name)
        .ok_or_else(|| CliError::usage(format!("no completion support for {name}")))?;
    let mut script = Vec::new();
    completer
        .write_registration(COMPLETE_ENV, "koobackup", "koobackup", "koobackup", &mut script)
        .map_err(|e| CliError::failure(format!("cannot write the completion script: {e}")))?;
    Output::plain().raw(String::from_utf8_lossy(&script).trim_end())?;
    Ok(Exit::Ok.code())
}

/// `koobackup man [COMMAND...]`: the roff manual page of koobackup, or of one of its commands
/// (`koobackup man record delete`).
pub(super) fn man(path: &[String]) -> Result<u8, CliError> {
    let mut command = Cli::command();
    command.build();
    let mut name = "koobackup".to_string();
    for word in path {
        let found = command
            .find_subcommand(word)
            .filter(|c| c.get_name() != "help")
            .cloned()
            .ok_or_else(|| {
                let known: Vec<&str> = command
                    .get_subcommands()
                    .map(|c| c.get_name())
                    .filter(|name| *name != "help")
                    .collect();
                CliError::usage(format!(
                    "{name} has no command {}; its commands: {}",
                    crate::format::escape(word),
                    known.join(", ")
                ))
            })?;
        name = format!("{name}-{}", found.get_name());
        command = found;
    }
    let mut page = Vec::new();
    let man = clap_mangen::Man::new(command.name(name).version(env!("CARGO_PKG_VERSION")));
    let rendered = (|| -> std::io::Result<()> {
        man.render_title(&mut page)?;
        man.render_name_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        man.render_options_section(&mut page)?;
        man.render_subcommands_section(&mut page)?;
        man.render_extra_section(&mut page)?;
        page.extend_from_slice(exit_status_section().as_bytes());
        page.extend_from_slice(environment_section().as_bytes());
        man.render_version_section(&mut page)
    })();
    rendered.map_err(|e| CliError::failure(format!("cannot write the manual page: {e}")))?;
    Output::plain().raw(String::from_utf8_lossy(&page).trim_end())?;
    Ok(Exit::Ok.code())
}

/// The variables koobackup reads, and what for.
const ENVIRONMENT: [(&str, &str); 23] = [
    ("KOOBACKUP_PROFILE", "the profile to use (--profile)"),
    (
        "KOOBACKUP_BASE_URL",
        "the server (--base-url); without a profile the config file is not read",
    ),
    ("KOOBACKUP_USER_ID", "the KooDrive user id (--user-id)"),
    (
        "KOOBACKUP_TOKEN",
        "the access token, for --base-url connections only (never a profile's)",
    ),
    (
        "KOOBACKUP_APP_SECRET",
        "the app secret, for --base-url --app-id connections only",
    ),
    ("KOOBACKUP_CONFIG", "the config file (--config)"),
    (
        "KOOBACKUP_JOURNAL",
        "the lock journal (default: $XDG_DATA_HOME/koobackup/locks.json)",
    ),
    (
        "KOOBACKUP_DATA_DIR",
        "where the embedded demo server keeps its database",
    ),
    (
        "KOOBACKUP_LOCK_ID",
        "a lock named for record changes, as lock hold gives its COMMAND",
    ),
    (
        "KOOBACKUP_EVENT",
        "set for a hook: the event's name; its fields in KOOBACKUP_EVENT_* (see the README, Hooks)",
    ),
    (
        "KOOBACKUP_LOCK_TTL_SECS",
        "the server's lock lifetime, for test servers with short locks",
    ),
    (
        "KOOBACKUP_SECRET_TIMEOUT_SECS",
        "how long a token command may run (default 60)",
    ),
    ("KOOBACKUP_LOG", "append a log to this file (--log-file)"),
    (
        "KOOBACKUP_LOG_LEVEL",
        "what the log keeps (tracing filter syntax: info, koobackup=trace); else RUST_LOG",
    ),
    (
        "RUST_LOG",
        "what the log keeps, when KOOBACKUP_LOG_LEVEL is not set",
    ),
    ("XDG_CONFIG_HOME", "the config directory (default ~/.config)"),
    (
        "XDG_DATA_HOME",
        "the data directory: journal, demo database (default ~/.local/share)",
    ),
    (
        "XDG_STATE_HOME",
        "the state directory: crash reports (default ~/.local/state)",
    ),
    (
        "VISUAL, EDITOR",
        "the editor of properties in the app, and of config edit",
    ),
    ("NO_COLOR", "any value turns colour off (unless --color always)"),
    (
        "CLICOLOR, CLICOLOR_FORCE",
        "0 turns colour off; a value but 0 forces it on",
    ),
    ("COLUMNS", "the width tables are fitted to on a terminal"),
    (
        "COMPLETE",
        "set by the completion scripts to ask koobackup for candidates",
    ),
];

/// A roff section of `items` as tagged paragraphs.
fn roff_section(title: &str, items: impl Iterator<Item = (String, String)>) -> String {
    let escape = |text: &str| text.replace('\\', "\\\\").replace('-', "\\-");
    let mut roff = format!(".SH \"{title}\"\n");
    for (tag, text) in items {
        roff.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", escape(&tag), escape(&text)));
    }
    roff
}

fn exit_status_section() -> String {
    roff_section(
        "EXIT STATUS",
        super::exit::EXIT_CODES
            .iter()
            .map(|(code, meaning)| (code.to_string(), meaning.to_string())),
    )
}

fn environment_section() -> String {
    roff_section(
        "ENVIRONMENT",
        ENVIRONMENT
            .iter()
            .map(|(name, meaning)| (name.to_string(), meaning.to_string())),
    )
}

/// Candidates for a module argument: the codes, each with its name.
pub fn modules() -> Vec<CompletionCandidate> {
    ModuleCode::ALL
        .iter()
        .map(|module| CompletionCandidate::new(module.code()).help(Some(module.name().into())))
        .collect()
}

/// Candidates for a lock id: every lock of the journal, with its module and the time left.
/// A journal that cannot be read completes nothing.
pub fn lock_ids() -> Vec<CompletionCandidate> {
    let Ok(journal) = Journal::default_path().and_then(Journal::load) else {
        return Vec::new();
    };
    let now = chrono::Utc::now();
    journal
        .all()
        .iter()
        .map(|held| {
            let help = format!(
                "{}, {} left",
                crate::format::module_label(held.lock.module),
                crate::format::time_left(&held.lock_here(None), now)
            );
            CompletionCandidate::new(held.lock.lock_id.clone()).help(Some(help.into()))
        })
        .collect()
}

/// Candidates for `--profile`: the profiles of the config file ($KOOBACKUP_CONFIG or the
/// default path; `--config` on the line being completed is not known yet).
pub fn profiles() -> Vec<CompletionCandidate> {
    crate::connect::profile_names(&crate::connect::ConnectOptions::default())
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

/// The completer of module arguments (`add = discover::module_completer()`).
pub fn module_completer() -> clap_complete::ArgValueCandidates {
    clap_complete::ArgValueCandidates::new(modules)
}

/// The completer of lock id arguments.
pub fn lock_id_completer() -> clap_complete::ArgValueCandidates {
    clap_complete::ArgValueCandidates::new(lock_ids)
}

/// The completer of `--profile`.
pub fn profile_completer() -> clap_complete::ArgValueCandidates {
    clap_complete::ArgValueCandidates::new(profiles)
}
