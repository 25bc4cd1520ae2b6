//! Finding your way around the command line: `koobackup man` (the manual page of any command),
//! `koobackup completions SHELL` (a script that asks koobackup itself what to complete), and the
//! values completed for lock ids, profiles and modules.
//!
//! Completion is clap_complete's dynamic engine: the shell runs `COMPLETE=<shell> koobackup --
//! <words>` and koobackup prints the candidates, so lock ids come from the journal as it is
//! when Tab is pressed, not from when the script was written.

use std::ffi::OsString;

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

/// `koobackup completions SHELL`: the registration script for `shell`, which calls this
/// binary (as it was started) for every completion.
pub(super) fn completions(shell: clap_complete::Shell) -> Result<u8, CliError> {
    let name = shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(&name)
        .ok_or_else(|| CliError::usage(format!("no completion support for {name}")))?;
    let program = std::env::args_os()
        .next()
        .map(absolute_program)
        .unwrap_or_else(|| "koobackup".into());
    let mut script = Vec::new();
    completer
        .write_registration(COMPLETE_ENV, "koobackup", "koobackup", &program, &mut script)
        .map_err(|e| CliError::failure(format!("cannot write the completion script: {e}")))?;
    Output::plain().raw(String::from_utf8_lossy(&script).trim_end())?;
    Ok(Exit::Ok.code())
}

/// The program as the shell will find it later: a relative path with a directory in it
/// (`./target/release/koobackup`) made absolute; a bare name is left to `$PATH`.
fn absolute_program(program: OsString) -> String {
    let path = std::path::PathBuf::from(&program);
    let path = match std::env::current_dir() {
        Ok(dir) if path.components().count() > 1 && path.is_relative() => dir.join(path),
        _ => path,
    };
    path.to_string_lossy().into_owned()
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
    clap_mangen::Man::new(command.name(name).version(env!("CARGO_PKG_VERSION")))
        .render(&mut page)
        .map_err(|e| CliError::failure(format!("cannot write the manual page: {e}")))?;
    Output::plain().raw(String::from_utf8_lossy(&page).trim_end())?;
    Ok(Exit::Ok.code())
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
                crate::format::time_left(&held.lock, now)
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
