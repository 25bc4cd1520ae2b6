//! `koobackup record create|list|get|complete|delete|files`.
//!
//! Creating, completing and deleting need a lock for the record's module. The lock is the one
//! the user names (`--lock ID`, else `$KOOBACKUP_LOCK_ID`, which `lock hold` gives COMMAND), or
//! with `--auto-lock` a lock created for this one command and released right after it. A lock
//! in the journal is never borrowed: it may belong to a backup running right now.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use futures::{Stream, StreamExt};
use serde::Serialize;

use super::exit::{CliError, Exit};
use super::locking::named_lock;
use super::named_device::NamedDevice;
use super::output::{self, Output};
use super::reader::ReaderWatch;
use super::{Context, RecordCommand, parse_lock_id, parse_record_id};
use crate::api::client::{NewRecord, RecordQuery};
use crate::api::model::NewBackupFile;
use crate::api::{
    ApiError, BackupFile, BackupRecord, Client, DEFAULT_MAX_PAGES, LockInfo, MAX_PAGE_SIZE, ModuleCode, Page,
};
use crate::lease::{Purpose, describe_holder};
use crate::properties::validate_properties;

mod delete;
pub use delete::{DEFAULT_CONCURRENCY, DeleteArgs};

/// How to get the lock a record change needs.
#[derive(Debug, Args)]
pub struct LockChoice {
    /// Lock to use (default: $KOOBACKUP_LOCK_ID, which `lock hold` gives COMMAND). A lock in
    /// the journal is used only when named here
    #[arg(long, value_name = "LOCK_ID", value_parser = parse_lock_id,
          add = super::discover::lock_id_completer())]
    pub lock: Option<String>,
    /// Create a lock for this command and release it afterwards (fails, naming the holder,
    /// when another operation holds the module)
    #[arg(long, conflicts_with = "lock")]
    pub auto_lock: bool,
}

impl LockChoice {
    /// The lock the user named: `--lock`, else `$KOOBACKUP_LOCK_ID` (without `--auto-lock`).
    pub fn named(&self) -> Result<Option<String>, CliError> {
        named_lock(self.lock.as_deref(), self.auto_lock)
    }
}

/// A record's properties: JSON text given inline or read from a file.
#[derive(Debug, Args)]
pub struct PropertiesArgs {
    /// Properties as JSON text, e.g. '{"files": 12}'
    #[arg(long, value_name = "JSON", conflicts_with = "properties_file")]
    pub properties: Option<String>,
    /// Read the properties JSON from FILE ("-" for standard input)
    #[arg(long, value_name = "FILE")]
    pub properties_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Backup module: 100 (folder), 101 (album), 102 (address book), or its name
    #[arg(long, short, value_parser = ModuleCode::from_user_text, add = super::discover::module_completer())]
    pub module: ModuleCode,
    /// Id of the device the backup is made from
    #[arg(long, value_name = "DEVICE_ID")]
    pub device: String,
    #[command(flatten)]
    pub properties: PropertiesArgs,
    #[command(flatten)]
    pub lock: LockChoice,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Module to list; repeat for several (default: all three)
    #[arg(long, short, value_parser = ModuleCode::from_user_text, add = super::discover::module_completer())]
    pub module: Vec<ModuleCode>,
    /// Only records of this device: its id, machine code or name (see `device list`)
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
    #[command(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Args)]
pub struct AddFileArgs {
    /// The record's id (as `record list` shows it)
    #[arg(value_name = "RECORD_ID", value_parser = parse_record_id)]
    pub id: String,
    /// The file's name (no < > | : " * ? /; up to 250 characters)
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Its fingerprint (hex SHA-256)
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Its size in bytes
    #[arg(long, value_name = "BYTES")]
    pub length: Option<u64>,
    /// What it is
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    #[command(flatten)]
    pub lock: LockChoice,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The record's id (as `record list` shows it)
    #[arg(value_name = "RECORD_ID", value_parser = parse_record_id)]
    pub id: String,
    #[command(flatten)]
    pub properties: PropertiesArgs,
    #[command(flatten)]
    pub lock: LockChoice,
}

#[derive(Debug, Args)]
pub struct FilesArgs {
    /// The record's id (as `record list` shows it)
    #[arg(value_name = "RECORD_ID", value_parser = parse_record_id)]
    pub id: String,
    #[command(flatten)]
    pub paging: Paging,
}

/// How much of a cursor-paginated list to fetch and how to print it.
#[derive(Debug, Args)]
pub struct Paging {
    /// Stop after this many items (default: follow the cursor to the end)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Items per request, 1 to 100
    #[arg(long, value_name = "N", default_value_t = MAX_PAGE_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE_SIZE)))]
    pub page_size: u32,
    #[command(flatten)]
    pub bounds: WalkBounds,
}

/// How far a listing may go before koobackup stops it as endless: a server that keeps sending
/// a next cursor would otherwise fill memory and never return.
#[derive(Debug, Clone, Copy, Args)]
pub struct WalkBounds {
    /// Give up (exit 9, a limit) after this many pages of one listing
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PAGES,
          value_parser = positive_count)]
    pub max_pages: usize,
    /// Give up (exit 9, a limit) after this many items of one listing; --limit takes the first N
    /// instead
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_RECORDS,
          value_parser = positive_count)]
    pub max_records: usize,
}

/// A count of at least 1.
fn positive_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{text:?} is not a whole number of at least 1")),
    }
}

/// Items a listing holds at most unless `--max-records` says otherwise.
pub const DEFAULT_MAX_RECORDS: usize = 100_000;

/// What a listing may hold in memory before it is printed (tables, `--json`, clean-up): each
/// answer is capped at 16 MiB, but a thousand such pages would not fit. `--jsonl` streams.
pub const MAX_HELD_BYTES: usize = 64 << 20;

/// The bytes `item` takes, as its JSON.
pub(crate) fn held_size<T: Serialize>(item: &T) -> usize {
    serde_json::to_vec(item).map_or(0, |json| json.len())
}

/// The error for a listing past [`MAX_HELD_BYTES`].
/// The error for a listing held whole that outgrew [`MAX_HELD_BYTES`]; `ways_out` says how to
/// get past it for this command.
pub(crate) fn too_big(what: &str, ways_out: &str) -> CliError {
    CliError::new(
        Exit::Limit,
        format!(
            "{what} takes more than {} MiB to hold; nothing was printed or changed. {ways_out}",
            MAX_HELD_BYTES >> 20
        ),
    )
}

impl WalkBounds {
    /// The error for a listing that went past `--max-records`.
    fn too_many(&self) -> CliError {
        CliError::new(
            Exit::Limit,
            format!(
                "stopped after {} items (--max-records): the listing goes on; use --limit N for the \
                 first N, or raise --max-records",
                self.max_records
            ),
        )
    }
}

pub(crate) async fn run(ctx: &mut Context, command: RecordCommand) -> Result<u8, CliError> {
    match command {
        RecordCommand::Create(args) => create(ctx, args).await?,
        RecordCommand::List(args) => list(ctx, args).await?,
        RecordCommand::Get { id } => {
            let record = ctx.client().get_record(&id).await?;
            if ctx.out.is_json() {
                ctx.out.json(&output::RecordJson::new(&record))?;
            } else if ctx.out.quiet {
                ctx.out.value(&record.record_id)?;
            } else {
                ctx.out.line(&output::record_details(&record))?;
            }
        }
        RecordCommand::Complete(args) => {
            let properties = read_properties(&args.properties)?;
            let module = record_module(ctx, &args.id, &args.lock).await?;
            let id = args.id.clone();
            with_lock(
                ctx,
                module,
                &args.lock,
                "record complete",
                async |client, lock_id| client.complete_record(lock_id, &id, properties).await,
            )
            .await?;
            report_completed(ctx, &args.id).await?;
        }
        RecordCommand::Delete(args) => return delete::run(ctx, args).await,
        RecordCommand::AddFile(args) => {
            let module = record_module(ctx, &args.id, &args.lock).await?;
            let file = NewBackupFile {
                file_name: args.name.clone(),
                sha256: args.sha256.clone(),
                length: args.length,
                description: args.description.clone(),
                ..NewBackupFile::default()
            };
            let id = args.id.clone();
            let created = with_lock(
                ctx,
                module,
                &args.lock,
                "record add-file",
                async |client, lock_id| client.create_file(lock_id, &id, &file).await,
            )
            .await?;
            match created {
                Some(created) if ctx.out.is_json() => ctx.out.json(&created)?,
                Some(created) if ctx.out.quiet => ctx.out.value(&created.file_id)?,
                Some(created) => ctx.out.sentence(&format!(
                    "added file {} ({}) to record {}",
                    created.file_id, created.file_name, args.id
                ))?,
                None => report_change(
                    ctx.out,
                    &args.id,
                    "fileAdded",
                    &format!("added file {} to record {}", args.name, args.id),
                )?,
            }
        }
        RecordCommand::Files(args) => {
            let bounds = args.paging.bounds;
            let stream = ctx
                .client()
                .file_pages(&args.id, args.paging.page_size, bounds.max_pages);
            let table = Table {
                empty: Ok("the record has no files"),
                headers: &output::FILE_HEADERS,
                id: |f: &BackupFile| f.file_id.clone(),
                row: output::file_row,
            };
            print_pages(ctx.out, &args.paging, stream, table).await?;
        }
    }
    Ok(Exit::Ok.code())
}

async fn create(ctx: &mut Context, args: CreateArgs) -> Result<(), CliError> {
    let new = NewRecord {
        module: args.module,
        device_id: args.device.trim().to_string(),
        properties: read_properties(&args.properties)?,
    };
    if new.device_id.is_empty() {
        return Err(CliError::usage("--device must not be empty"));
    }
    let record = with_lock(
        ctx,
        args.module,
        &args.lock,
        "record create",
        async |client, lock_id| client.create_record(lock_id, &new).await,
    )
    .await?;
    if ctx.out.is_json() {
        ctx.out.json(&output::RecordJson::new(&record))
    } else if ctx.out.quiet {
        ctx.out.value(&record.record_id)
    } else {
        ctx.out.sentence(&format!(
            "created record {} in module {} for device {} (status {}, version {})",
            record.record_id, record.module_code, record.device_info.device_id, record.status, record.version
        ))
    }
}

async fn list(ctx: &mut Context, args: ListArgs) -> Result<(), CliError> {
    let modules = if args.module.is_empty() {
        ModuleCode::ALL.to_vec()
    } else {
        args.module
    };
    let client = ctx.client();
    let device = match &args.device {
        Some(given) => Some(NamedDevice::resolve(client, given).await?),
        None => None,
    };
    // One module after the other, each followed to its last page.
    let streams: Vec<_> = modules
        .into_iter()
        .map(|module| {
            let query = RecordQuery {
                module,
                page_size: args.paging.page_size,
                device_id: device.as_ref().map(|d| d.id.clone()),
            };
            client.record_pages(query, args.paging.bounds.max_pages)
        })
        .collect();
    let stream = futures::stream::iter(streams)
        .flatten()
        .map(|page| page.map(|page| page.map_items(output::ListedRecord)));
    let wide = ctx.out.wide();
    let headers = output::record_headers(wide);
    let table = Table {
        empty: match &device {
            Some(device) if !device.bound => Err(device.names_nothing()),
            _ => Ok("no records found"),
        },
        headers: &headers,
        id: |r: &output::ListedRecord| r.0.record_id.clone(),
        row: |r: &output::ListedRecord| output::record_row(&r.0, wide),
    };
    print_pages(ctx.out, &args.paging, stream, table).await
}

/// How items of a list are shown to people.
struct Table<'a, I, R> {
    /// Said when the list is empty; or the error an empty list is (a device that names nothing).
    empty: Result<&'a str, CliError>,
    headers: &'a [&'a str],
    /// The id printed with `--quiet`.
    id: I,
    row: R,
}

/// Prints every item of `pages` up to the limit: JSON lines as they arrive, one JSON array, ids
/// (`--quiet`), or a table. Items a page held but that could not be read end it as incomplete
/// (exit 8), after what could be read is printed.
/// A listing longer than `--max-records` (or `--max-pages`) is an error; nothing of it is printed
/// but the JSON lines already streamed.
async fn print_pages<T: Serialize>(
    out: Output,
    paging: &Paging,
    pages: impl Stream<Item = Result<Page<T>, ApiError>>,
    table: Table<'_, impl Fn(&T) -> String, impl Fn(&T) -> Vec<String>>,
) -> Result<(), CliError> {
    let limit = paging
        .limit
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let mut kept: Vec<T> = Vec::new();
    let mut held = 0usize;
    let mut count = 0usize;
    let mut unreadable = Vec::new();
    let mut pages = std::pin::pin!(pages);
    // A streamed listing stops as soon as its reader leaves, not after fetching one more page.
    let reader = if out.is_jsonl() {
        ReaderWatch::stdout()
    } else {
        ReaderWatch::none()
    };
    while count < limit {
        let page = tokio::select! {
            page = pages.next() => page,
            () = reader.gone() => return Err(CliError::broken_pipe()),
        };
        let Some(page) = page else { break };
        let page = page.map_err(|e| walk_error(e, &paging.bounds))?;
        unreadable.extend(page.unreadable);
        for item in page.items.into_iter().take(limit - count) {
            if count == paging.bounds.max_records {
                return Err(paging.bounds.too_many());
            }
            count += 1;
            if out.is_jsonl() {
                out.json(&item)?;
            } else {
                held += held_size(&item);
                if held > MAX_HELD_BYTES {
                    return Err(too_big(
                        "the listing",
                        "Use --jsonl to stream it, --limit N or --device to narrow it",
                    ));
                }
                kept.push(item);
            }
        }
    }
    let empty = match table.empty {
        Err(nothing) if count == 0 && unreadable.is_empty() => return Err(nothing),
        empty => empty.unwrap_or_default(),
    };
    if out.is_json() && !out.is_jsonl() {
        out.json(&kept)?;
    } else if out.quiet && out.human() {
        kept.iter().try_for_each(|item| out.value(&(table.id)(item)))?;
    } else if out.human() && kept.is_empty() {
        out.note(empty);
    } else if out.human() {
        let rows: Vec<Vec<String>> = kept.iter().map(table.row).collect();
        out.print_table(&out.table(table.headers, &rows))?;
    }
    incomplete(&unreadable)
}

/// An error of a listing; the page bound is said as the option that moves it.
pub(crate) fn walk_error(error: ApiError, bounds: &WalkBounds) -> CliError {
    match error {
        ApiError::TooManyPages { pages } => CliError::new(
            Exit::Limit,
            format!(
                "stopped after {pages} pages (--max-pages {}): the listing goes on beyond them; \
                 raise --max-pages, or narrow the listing with --limit or --device",
                bounds.max_pages
            ),
        ),
        other => CliError::from(other),
    }
}

/// The failure of a listing that left out items it could not read (exit 8, after the rest was
/// printed), naming each item and the field that could not be read; `Ok` when every item read.
pub(crate) fn incomplete(unreadable: &[String]) -> Result<(), CliError> {
    /// Items named one by one; the rest are counted.
    const NAMED: usize = 5;
    if unreadable.is_empty() {
        return Ok(());
    }
    let mut named = unreadable[..unreadable.len().min(NAMED)].join("; ");
    if unreadable.len() > NAMED {
        named.push_str(&format!("; and {} more", unreadable.len() - NAMED));
    }
    Err(CliError::new(
        Exit::Incomplete,
        format!(
            "the listing is incomplete: {} could not be read and {} left out ({named})",
            crate::format::count(unreadable.len(), "item"),
            if unreadable.len() == 1 { "is" } else { "are" }
        ),
    ))
}

/// Validated properties from `--properties` or `--properties-file`; `None` when neither is given
/// or the text is blank.
fn read_properties(args: &PropertiesArgs) -> Result<Option<String>, CliError> {
    let text = match (&args.properties, &args.properties_file) {
        (Some(text), _) => text.clone(),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| {
                CliError::usage(format!("cannot read the properties from standard input: {e}"))
            })?;
            text
        }
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!("cannot read the properties file {}: {e}", path.display()))
        })?,
        (None, None) => return Ok(None),
    };
    validate_properties(&text).map_err(|e| CliError::usage(e.to_string()))
}

/// The module of the record to change, read from the server, so that a `--lock` for another
/// module is refused before anything is sent under it.
async fn record_module(ctx: &Context, record_id: &str, choice: &LockChoice) -> Result<ModuleCode, CliError> {
    let module = lock_module_of(&ctx.client().get_record(record_id).await?)?;
    check_lock_module(choice, module)?;
    Ok(module)
}

/// The module whose lock a change of `record` needs; one koobackup does not know is refused.
fn lock_module_of(record: &BackupRecord) -> Result<ModuleCode, CliError> {
    record.module_code.known().ok_or_else(|| {
        CliError::usage(format!(
            "record {} is in module {}, which koobackup does not know, so it cannot take a lock \
             for it",
            record.record_id,
            record.module_code.code()
        ))
    })
}

/// A named lock for another module than the record's is refused (exit 4) before anything is
/// sent under it.
fn check_lock_module(choice: &LockChoice, module: ModuleCode) -> Result<(), CliError> {
    let Some(lock_id) = choice.named()? else {
        return Ok(());
    };
    let Some(lock_module) = LockInfo::module_of_id(&lock_id) else {
        return Err(CliError::usage(format!(
            "{lock_id} is not a lock id: lock ids end in @100, @101 or @102 (their module)"
        )));
    };
    if lock_module != module {
        return Err(CliError::new(
            Exit::Conflict,
            format!("lock {lock_id} is for module {lock_module}, but the record is in module {module}"),
        ));
    }
    Ok(())
}

/// Whether [`with_lock`] has a lock to use for `module`: one named, or `--auto-lock`; the error
/// it would give when it has none.
fn lock_available(ctx: &mut Context, module: ModuleCode, choice: &LockChoice) -> Result<(), CliError> {
    if choice.auto_lock || choice.named()?.is_some() {
        return Ok(());
    }
    Err(no_lock(ctx, module))
}

/// The error for a change that has no lock to go under: what to do, and the journal's locks for
/// the module, which are used only when named (they may belong to a running backup).
fn no_lock(ctx: &mut Context, module: ModuleCode) -> CliError {
    let offset = ctx.measured_offset();
    let journalled: Vec<String> = ctx
        .held_locks()
        .unwrap_or_default()
        .into_iter()
        .filter(|held| held.lock.module == module && !held.lock_here(offset).is_expired(chrono::Utc::now()))
        .map(|held| {
            format!(
                "{} ({})",
                crate::format::escape(&held.lock.lock_id),
                describe_holder(held.owner.as_ref(), held.standing())
            )
        })
        .collect();
    let journal = if journalled.is_empty() {
        String::new()
    } else {
        format!(
            ". The lock journal lists {}; a journalled lock is used only when named, since it may \
             belong to a running backup",
            journalled.join(", ")
        )
    };
    CliError::usage(format!(
        "this needs a lock for module {module}: pass --lock ID (or set KOOBACKUP_LOCK_ID), or \
         --auto-lock to take one for this command{journal}"
    ))
}

/// Runs `change` (`what`, in words) under the lock chosen by `choice` for `module`: the one the
/// user named, else with `--auto-lock` one created for this command and released right after.
async fn with_lock<T>(
    ctx: &mut Context,
    module: ModuleCode,
    choice: &LockChoice,
    what: &str,
    change: impl AsyncFnOnce(&Client, &str) -> Result<T, ApiError>,
) -> Result<T, CliError> {
    check_lock_module(choice, module)?;
    if let Some(lock_id) = choice.named()? {
        ctx.check_named_lock(&lock_id, "using it because it was named");
        return Ok(change(ctx.client(), &lock_id).await?);
    }
    if !choice.auto_lock {
        return Err(no_lock(ctx, module));
    }
    let purpose = Purpose::Operation { what: what.into() };
    let lock = ctx
        .create_lock(module, purpose, None)
        .await
        .map_err(|e| e.context(format!("cannot take a lock for module {module} (--auto-lock)")))?
        .lock;
    let result = change(ctx.client(), &lock.lock_id).await;
    release_own(ctx, &lock.lock_id).await;
    result.map_err(|e| {
        CliError::from(e).context(format!(
            "{what} under the automatic lock {}",
            crate::format::escape(&lock.lock_id)
        ))
    })
}

/// Releases a lock this command took for itself; a failure is a warning (the lock stays in the
/// journal, and expires on its own).
pub(crate) async fn release_own(ctx: &mut Context, lock_id: &str) {
    match ctx.release_lock(lock_id).await {
        Ok(released) if released.journal.is_some() => ctx.out.warn(&format!(
            "released the automatic lock {}{}",
            crate::format::escape(lock_id),
            released.journal_note()
        )),
        Ok(_) => {}
        Err(error) => ctx.out.warn(
            &error
                .context(format!(
                    "cannot release the automatic lock {}",
                    crate::format::escape(lock_id)
                ))
                .message,
        ),
    }
}

/// Reports a completed record as it now is, read back from the server (completing answers
/// nothing). If it cannot be read back, stdout stays empty and a warning says so; the record
/// was completed, so the command still succeeds.
async fn report_completed(ctx: &Context, record_id: &str) -> Result<(), CliError> {
    let out = ctx.out;
    let record = match ctx.client().get_record(record_id).await {
        Ok(record) => record,
        Err(error) => {
            out.warn(&format!(
                "record {record_id} was completed, but reading it back failed: {}",
                CliError::from(error)
            ));
            return Ok(());
        }
    };
    if out.is_json() {
        out.json(&output::RecordJson::new(&record))
    } else if out.quiet {
        out.value(&record.record_id)
    } else {
        out.sentence(&format!(
            "completed record {} (status {}, version {}, ended {})",
            record.record_id,
            record.status,
            record.version,
            record
                .end_time
                .map_or_else(|| "-".into(), crate::format::local_time)
        ))
    }
}

/// Reports a completed or deleted record: `sentence` for people, `{"recordId", field: true}` as
/// JSON.
fn report_change(out: Output, record_id: &str, field: &str, sentence: &str) -> Result<(), CliError> {
    if out.is_json() {
        let mut document = serde_json::Map::new();
        document.insert("recordId".into(), record_id.into());
        document.insert(field.into(), true.into());
        return out.json(&document);
    }
    out.say(sentence)
}
