//! `koobackup history`: what koobackup on this machine changed on KooDrive servers, newest first,
//! filtered; `history show ENTRY` prints one entry whole, with the record as it was. Reads only
//! local files: it talks to no server.

use clap::{Args, Subcommand};

use super::exit::{CliError, Exit};
use super::output::Output;
use crate::api::ModuleCode;
use crate::format;
use crate::history::query::{End, parse_when};
use crate::history::{Entry, History, Op, Query, describe};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HistoryArgs {
    /// Only entries at or after WHEN: an age (7d, 36h), a date (2026-12-01, local midnight) or
    /// a time (2026-12-01T02:14:00Z)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// Only entries at or before WHEN (as --since)
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,

    /// Only this operation (record.delete, lock.renew, plan.start…) or either half of one
    /// (delete, lock)
    #[arg(long, value_name = "OP")]
    pub op: Option<String>,

    /// Only this module (code or name)
    #[arg(long, short, value_name = "MODULE", value_parser = ModuleCode::from_user_text, add = super::discover::module_completer())]
    pub module: Option<ModuleCode>,

    /// Only this device: its id, or the name or machine code the record as it was names
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,

    /// Only entries about this record
    #[arg(long, value_name = "ID")]
    pub record: Option<String>,

    /// Only changes sent as this KooDrive user id
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,

    /// At most N entries, the newest (0: all)
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,

    #[command(subcommand)]
    pub command: Option<HistoryCommand>,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// One entry whole, with the record as it was and its files when known
    Show {
        /// The entry's id (from `koobackup history`), or a unique start of it
        entry: String,
    },
}

/// The profile `history` narrows to: `--profile` when typed on this command line (one exported in
/// `$KOOBACKUP_PROFILE` chooses where commands connect, and must not hide the history of
/// others silently).
pub fn typed_profile(options: &crate::connect::ConnectOptions) -> Option<String> {
    let typed = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .any(|arg| arg == "--profile" || arg.starts_with("--profile="));
    options.profile.clone().filter(|_| typed)
}

/// Runs `history`; `profile` (the global `--profile`) narrows it to that profile's entries.
pub fn run(args: HistoryArgs, profile: Option<String>, out: Output) -> Result<u8, CliError> {
    let history = History::default_place().map_err(history_error)?;
    let read = history.read().map_err(history_error)?;
    if read.unreadable > 0 {
        out.warn(&format!(
            "{} line(s) of the history could not be read (damaged, or written by a newer \
             koobackup) and are left out",
            read.unreadable
        ));
    }
    if let Some(HistoryCommand::Show { entry }) = &args.command {
        return show(&read.entries, entry, out);
    }
    let query = query_of(&args, profile)?;
    let mut entries: Vec<&Entry> = read.entries.iter().filter(|e| query.matches(e)).collect();
    if args.limit > 0 && entries.len() > args.limit {
        out.note(&format!(
            "note: the newest {} of {} entries; --limit 0 shows them all",
            args.limit,
            entries.len()
        ));
        entries.truncate(args.limit);
    }
    let empty = format!("nothing in the history ({}) matches", history.dir().display());
    out.list(&entries, &empty, || {
        out.table(&HEADERS, &entries.iter().map(|e| row(e)).collect::<Vec<_>>())
    })?;
    Ok(0)
}

fn history_error(error: crate::history::HistoryError) -> CliError {
    CliError::failure(error.to_string())
}

fn query_of(args: &HistoryArgs, profile: Option<String>) -> Result<Query, CliError> {
    let now = chrono::Utc::now();
    let when = |text: &Option<String>, option: &str, end: End| {
        text.as_deref()
            .map(|t| parse_when(t, now, end).map_err(|e| CliError::usage(format!("{option}: {e}"))))
            .transpose()
    };
    let since = when(&args.since, "--since", End::Since)?;
    let until = when(&args.until, "--until", End::Until)?;
    if let (Some(since), Some(until)) = (since, until)
        && since > until
    {
        return Err(CliError::usage(
            "--since is later than --until: nothing could match; swap them",
        ));
    }
    if let Some(op) = &args.op
        && !Op::ALL.iter().any(|known| known.matches(op))
    {
        let names: Vec<&str> = Op::ALL.iter().map(|known| known.name()).collect();
        return Err(CliError::usage(format!(
            "--op {op:?} names no operation; give one of {} or either half of one (delete, lock)",
            names.join(", ")
        )));
    }
    Ok(Query {
        since,
        until,
        op: args.op.clone(),
        module: args.module.map(|m| m.code().to_string()),
        device: args.device.clone(),
        record: args.record.clone(),
        user: args.user.clone(),
        profile,
    })
}

const HEADERS: [&str; 7] = ["ENTRY", "TIME", "OP", "MODULE", "WHAT", "RESULT", "BY"];

fn row(entry: &Entry) -> Vec<String> {
    vec![
        entry.id.clone(),
        format::local_time(entry.at),
        entry.op.name().to_string(),
        entry.module.clone().unwrap_or_default(),
        describe::what(entry),
        describe::result(entry),
        describe::by(entry),
    ]
}

/// `history show`: the entry whose id is `wanted` or starts with it (one only).
fn show(entries: &[Entry], wanted: &str, out: Output) -> Result<u8, CliError> {
    let found: Vec<&Entry> = entries.iter().filter(|e| e.id.starts_with(wanted)).collect();
    let entry = match found.as_slice() {
        [] => {
            return Err(CliError::new(
                Exit::NotFound,
                format!("no entry of the history is {wanted:?}; `koobackup history` lists them"),
            ));
        }
        [one] => *one,
        many => {
            return Err(CliError::usage(format!(
                "{wanted:?} starts {} entries; give more of the id",
                many.len()
            )));
        }
    };
    if !out.human() {
        return out.json(entry).map(|()| 0);
    }
    let text =
        describe::whole(entry).map_err(|e| CliError::failure(format!("cannot encode the entry: {e}")))?;
    out.line(&text)?;
    Ok(0)
}
