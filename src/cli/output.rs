//! Everything the commands print: tables and sentences for people, JSON for machines, notes and
//! warnings on stderr.
//!
//! With `--json` each command writes exactly one JSON document to stdout (`--jsonl` streams one
//! document per line instead) and errors go to stderr as a JSON object. `--quiet` leaves only
//! the essential value (an id) on stdout and drops notes.
//!
//! Everything for people passes [`format::escape`] on its way out (stdout and stderr alike), so
//! no text a server sent can drive the terminal; JSON is written exactly as encoded.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::exit::{CliError, Exit};
use crate::api::model::{DeviceEntity, RecordModule, RecordStatus};
use crate::api::{BackupFile, BackupRecord, LockInfo, ModuleCode};
use crate::{color, format};

/// The output form (`-o`): a table fitted to the terminal, a wide table with every column in
/// full, one JSON document, or JSON lines (one document per item of a list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Wide,
    Json,
    Jsonl,
}

/// How the user asked for output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Output {
    pub format: Format,
    pub quiet: bool,
    /// Tables without their header line (`--no-headers`).
    pub no_headers: bool,
    /// Colour on stdout (table headers) and stderr (`error:` and `warning:`), as `--color` and
    /// the environment decide.
    pub color_out: bool,
    pub color_err: bool,
    /// The width tables are fitted to: the terminal's, when stdout is one and the form is
    /// `table`; `None` prints every cell in full (pipes, files, `-o wide`).
    pub width: Option<usize>,
}

impl Output {
    /// Plain sentences on stdout, nothing fitted: for commands that print no tables.
    pub fn plain() -> Output {
        Output::default()
    }

    /// Whether output is for machines (`-o json` or `-o jsonl`).
    pub fn is_json(&self) -> bool {
        matches!(self.format, Format::Json | Format::Jsonl)
    }

    /// Whether a list is printed as one JSON document per item (`-o jsonl`).
    pub fn is_jsonl(&self) -> bool {
        self.format == Format::Jsonl
    }

    /// Whether output is for people (a table or sentences).
    pub fn human(&self) -> bool {
        !self.is_json()
    }

    /// Whether tables show their extra columns (`-o wide`).
    pub fn wide(&self) -> bool {
        self.format == Format::Wide
    }

    /// `rows` under `headers` (unless `--no-headers`), fitted to [`Output::width`]; columns
    /// left out to fit are named in a note.
    pub fn table(&self, headers: &[&str], rows: &[Vec<String>]) -> String {
        let fitted = fit(headers, rows, self.width, !self.no_headers);
        if let (Some(width), false) = (self.width, fitted.dropped.is_empty()) {
            self.note(&format!(
                "note: left out to fit {width} columns: {}; -o wide shows every column",
                fitted.dropped.join(", ")
            ));
        }
        fitted.text
    }

    /// Writes a [`Output::table`] to stdout like [`Output::line`], its header in bold when
    /// stdout is coloured (painted after escaping, so the paint is not escaped itself, and after
    /// fitting, so widths stay true).
    pub fn print_table(&self, table: &str) -> Result<(), CliError> {
        let text = format::escape_lines(table);
        match text.split_once('\n') {
            Some((header, body)) if self.color_out && !self.no_headers => {
                self.raw(&format!("{}\n{body}", color::bold(header, true)))
            }
            _ => self.raw(&text),
        }
    }

    /// Prints a list: JSON lines, one JSON array, or (for people) `table()`, or `empty` as a
    /// note when there is nothing. `--quiet` is the caller's to handle first.
    pub fn list<T: Serialize>(
        &self,
        items: &[T],
        empty: &str,
        table: impl FnOnce() -> String,
    ) -> Result<(), CliError> {
        if self.is_jsonl() {
            return items.iter().try_for_each(|item| self.json(item));
        }
        if self.is_json() {
            return self.json(items);
        }
        if items.is_empty() {
            self.note(empty);
            return Ok(());
        }
        self.print_table(&table())
    }

    /// Writes `text` (lines for people) and a newline to stdout, control characters escaped.
    pub fn line(&self, text: &str) -> Result<(), CliError> {
        self.raw(&format::escape_lines(text))
    }

    /// Writes one sentence on a line, every control character escaped, line breaks included: a
    /// server's text in it cannot forge a second line.
    pub fn sentence(&self, text: &str) -> Result<(), CliError> {
        self.raw(&format::escape(text))
    }

    /// Writes one value (an id) alone on a line, every control character escaped, line breaks
    /// included: a script reading ids line by line gets exactly one line per value.
    pub fn value(&self, text: &str) -> Result<(), CliError> {
        self.raw(&format::escape(text))
    }

    /// Writes `text` and a newline to stdout exactly as given (JSON, a completion script).
    pub fn raw(&self, text: &str) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}")
            .and_then(|()| stdout.flush())
            .map_err(stdout_error)
    }

    /// A piece of a JSON document too large to hold, written as it comes: `start` (the
    /// document's own text) then `value`, compact, with no line end ([`Output::raw`] ends it).
    pub fn json_piece<T: Serialize + ?Sized>(&self, start: &str, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string(value)
            .map_err(|e| CliError::failure(format!("cannot encode the output as JSON: {e}")))?;
        let mut stdout = std::io::stdout().lock();
        write!(stdout, "{start}{}", format::json_for_terminal(&text))
            .and_then(|()| stdout.flush())
            .map_err(stdout_error)
    }

    /// Writes `value` as one compact JSON document on its own line.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string(value)
            .map_err(|e| CliError::failure(format!("cannot encode the output as JSON: {e}")))?;
        self.raw(&format::json_for_terminal(&text))
    }

    /// A human message on stdout: skipped with `--quiet` or `--json`.
    pub fn say(&self, text: &str) -> Result<(), CliError> {
        if self.quiet || self.is_json() {
            return Ok(());
        }
        self.sentence(text)
    }

    /// An informational note on stderr: skipped with `--quiet` or `--json`.
    pub fn note(&self, text: &str) {
        if !self.quiet && !self.is_json() {
            to_stderr(&format::escape(text));
        }
    }

    /// Informational lines on stderr (a table beside the output proper): skipped with `--quiet`
    /// or `--json`.
    pub fn note_lines(&self, text: &str) {
        if !self.quiet && !self.is_json() {
            to_stderr(&format::escape_lines(text));
        }
    }

    /// Something the user should fix or know; skipped only with `--quiet`.
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            to_stderr(&format!(
                "{} {}",
                color::warning("warning:", self.color_err),
                format::escape(text)
            ));
        }
    }

    /// Reports a failed command on stderr: as JSON with `--json` (the message exactly as it is,
    /// the code in `apiCode`), else as one line with the code, every control character escaped,
    /// line breaks included, so that a server's text cannot forge a second line.
    pub fn error(&self, error: &CliError) {
        if error.silent {
            return;
        }
        if self.is_json() {
            let document = serde_json::json!({
                "error": {
                    "message": error.message,
                    "exitCode": error.exit.code(),
                    "kind": error.exit.name(),
                    "apiCode": error.api_code_json(),
                }
            });
            to_stderr(&format::json_for_terminal(&document.to_string()));
        } else {
            to_stderr(&format!(
                "{} {}",
                color::error("error:", self.color_err),
                format::escape(&error.to_string())
            ));
        }
    }
}

/// Writes a line to stderr, and carries on if it cannot be written (a closed pipe, a terminal
/// gone with the SSH connection): a message nobody can read must not stop koobackup halfway,
/// least of all `lock hold` with COMMAND running.
fn to_stderr(line: &str) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

fn stdout_error(e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        CliError::broken_pipe()
    } else {
        CliError::new(Exit::Failure, format!("cannot write to standard output: {e}"))
    }
}

/// One item of a command on several ids (`record delete`, `lock renew|release`) that failed, as
/// listed under `failed` in its `{ok, failed}` JSON report.
/// In JSON: `{"id", "error", "exitCode", "apiCode"}`, all read from the failure itself.
#[derive(Debug)]
pub struct Failed {
    pub id: String,
    /// The failure, as it is also reported on stderr.
    pub cause: CliError,
}

impl Failed {
    pub fn new(id: &str, error: &CliError) -> Failed {
        Failed {
            id: id.to_string(),
            cause: error.clone(),
        }
    }
}

impl Serialize for Failed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde_json::json!({
            "id": self.id,
            "error": self.cause.message,
            "exitCode": self.cause.exit.code(),
            "apiCode": self.cause.api_code_json(),
        })
        .serialize(serializer)
    }
}

/// The terminal's width when stdout is a terminal (`$COLUMNS` first, as shells set it), else
/// `None`: a pipe or file gets every cell in full.
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_columns()
}

/// The terminal's width: `$COLUMNS` first, as shells set it, else as the terminal reports it.
fn terminal_columns() -> Option<usize> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    columns
        .or_else(|| {
            crossterm::terminal::size()
                .ok()
                .map(|(cols, _)| usize::from(cols))
        })
        .filter(|&cols| cols > 0)
}

/// Left-aligned columns separated by two spaces, the last one unpadded, every cell in full.
/// Cells are escaped ([`format::escape`], line breaks included), so a value cannot break the
/// table, forge a line, or reach the terminal as a control sequence.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    fitted_table(headers, rows, None, true)
}

/// The narrowest a column is shrunk to: room for a short id or date and the `…`.
const MIN_COLUMN: usize = 8;

/// Columns a narrow terminal can do without, the least needed first: a table too wide leaves
/// these out whole before it cuts a word of another column (as kubectl shows fewer columns
/// rather than cut ones). `MODULE` goes last: a lock id names its module anyway (`…@102`).
const DROPPABLE: [&str; 7] = ["SHA-256", "ENDED", "VER", "AUTO-RENEW", "BOUND", "OS", "MODULE"];

/// Columns of times, whose cells end in the zone (`2026-12-01 14:26 UTC`).
const TIMES: [&str; 4] = ["CREATED", "ENDED", "EXPIRES", "BOUND"];

/// [`table`] fitted to `width` columns of the terminal. In this order, while it is too wide:
/// a time column whose cells all share one zone says it once, in its header (`CREATED UTC`);
/// the [`DROPPABLE`] columns are left out, least needed first; then the widest column gives up
/// one column at a time (never below its header or [`MIN_COLUMN`]) and longer cells end in
/// `…`. A column whose header names an id (`RECORD ID`, `LOCK ID`) or a time stays whole: a
/// cut id cannot be copied into the next command, a cut time loses its hour. Widths are display
/// widths (a CJK device name takes two per glyph), and the header counts like any cell.
pub fn fitted_table(
    headers: &[&str],
    rows: &[Vec<String>],
    width: Option<usize>,
    with_headers: bool,
) -> String {
    fit(headers, rows, width, with_headers).text
}

/// A table's text, and the headers of the columns left out to fit it.
struct Fitted {
    text: String,
    dropped: Vec<String>,
}

/// One column: its name (which the rules go by), its title as shown, and its cells.
struct Column {
    name: String,
    title: String,
    cells: Vec<String>,
}

impl Column {
    fn width(&self, with_headers: bool) -> usize {
        let title = if with_headers {
            format::width(&self.title)
        } else {
            0
        };
        self.cells
            .iter()
            .map(|c| format::width(c))
            .fold(title, usize::max)
    }

    /// For a time column whose cells all end in the same zone: the zone said once, in the
    /// title, and the cells without it. Other columns stay as they are.
    fn zone_in_title(&mut self) {
        if !TIMES.contains(&self.name.as_str()) {
            return;
        }
        let mut zones = self
            .cells
            .iter()
            .filter(|cell| cell.as_str() != "-")
            .map(|cell| cell.rsplit_once(' ').map(|(_, zone)| zone));
        let Some(Some(zone)) = zones.next() else {
            return;
        };
        if !zones.all(|other| other == Some(zone)) {
            return;
        }
        let zone = zone.to_string();
        let suffix = format!(" {zone}");
        for cell in &mut self.cells {
            if let Some(bare) = cell.strip_suffix(&suffix) {
                *cell = bare.to_string();
            }
        }
        self.title = format!("{} {zone}", self.name);
    }
}

fn fit(headers: &[&str], rows: &[Vec<String>], width: Option<usize>, with_headers: bool) -> Fitted {
    let mut columns: Vec<Column> = headers
        .iter()
        .enumerate()
        .map(|(i, header)| Column {
            name: header.to_string(),
            title: header.to_string(),
            cells: rows
                .iter()
                .map(|row| {
                    row.get(i)
                        .map(|cell| format::escape(cell).into_owned())
                        .unwrap_or_default()
                })
                .collect(),
        })
        .collect();
    let total = |columns: &[Column]| {
        columns.iter().map(|c| c.width(with_headers)).sum::<usize>() + 2 * columns.len().saturating_sub(1)
    };
    let mut dropped = Vec::new();
    if let Some(limit) = width {
        // Without a header line the zone would be said nowhere.
        if total(&columns) > limit && with_headers {
            columns.iter_mut().for_each(Column::zone_in_title);
        }
        for name in DROPPABLE {
            if total(&columns) <= limit {
                break;
            }
            if let Some(at) = columns.iter().position(|c| c.name == name) {
                dropped.push(columns.remove(at).name);
            }
        }
    }
    let mut widths: Vec<usize> = columns.iter().map(|c| c.width(with_headers)).collect();
    if let Some(limit) = width {
        shrink_to(&mut widths, &columns, limit, with_headers);
    }
    let render = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (cell, &width)) in cells.iter().zip(&widths).enumerate() {
            let cell = format::cut(cell, width);
            line.push_str(&cell);
            if i != last {
                let pad = width.saturating_sub(format::width(&cell)) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        line.trim_end().to_string()
    };
    let mut lines = Vec::with_capacity(rows.len() + 1);
    if with_headers {
        lines.push(render(columns.iter().map(|c| c.title.as_str()).collect()));
    }
    lines.extend((0..rows.len()).map(|row| render(columns.iter().map(|c| c.cells[row].as_str()).collect())));
    Fitted {
        text: lines.join("\n"),
        dropped,
    }
}

/// Narrows `widths` until the columns and their two-space gaps fit `limit`, or no column can
/// give up more.
fn shrink_to(widths: &mut [usize], columns: &[Column], limit: usize, with_headers: bool) {
    let total = |widths: &[usize]| widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
    let floor: Vec<usize> = widths
        .iter()
        .zip(columns)
        .map(|(&w, column)| {
            let title = if with_headers {
                format::width(&column.title)
            } else {
                0
            };
            if keeps_whole(&column.name) {
                w
            } else {
                w.min(MIN_COLUMN.max(title))
            }
        })
        .collect();
    while total(widths) > limit {
        let widest = (0..widths.len())
            .filter(|&i| widths[i] > floor[i])
            .max_by_key(|&i| widths[i]);
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
}

/// Columns never cut: ids (a cut id cannot be copied into the next command) and times (a cut
/// time loses its hour and zone).
fn keeps_whole(header: &str) -> bool {
    header.ends_with(" ID") || TIMES.contains(&header) || header == "LEFT"
}

/// A local time for tables, with its zone: `2025-11-03 08:01 +01:00`.
pub fn local_minutes(time: DateTime<Utc>) -> String {
    format::local_with_zone(time, "%Y-%m-%d %H:%M")
}

/// A lock as `--json` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockJson<'a> {
    pub lock_id: &'a str,
    pub module_code: ModuleCode,
    pub expires_at: DateTime<Utc>,
    pub seconds_left: i64,
    pub expired: bool,
    pub auto_renew: bool,
    /// Who holds it (journal entries only; absent for entries older koobackups wrote).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a crate::lease::Owner>,
    /// Where the owner stands from here: `this-process`, `running`, `orphaned`, `kept`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_state: Option<&'static str>,
}

impl<'a> LockJson<'a> {
    pub fn new(lock: &'a LockInfo, auto_renew: bool, now: DateTime<Utc>) -> LockJson<'a> {
        LockJson {
            lock_id: &lock.lock_id,
            module_code: lock.module,
            expires_at: lock.expires_at,
            seconds_left: lock.time_left(now).num_seconds(),
            expired: lock.is_expired(now),
            auto_renew,
            owner: None,
            owner_state: None,
        }
    }

    /// A journal entry, with its owner.
    /// Its expiry is read on this machine's clock ([`crate::journal::HeldLock::expires_here`]:
    /// `lock list` asks no server, so with no offset measured).
    pub fn held(held: &'a crate::journal::HeldLock, now: DateTime<Utc>) -> LockJson<'a> {
        let here = held.lock_here(None);
        LockJson {
            owner: held.owner.as_ref(),
            owner_state: Some(held.standing().code()),
            expires_at: here.expires_at,
            seconds_left: here.time_left(now).num_seconds(),
            expired: here.is_expired(now),
            ..LockJson::new(&held.lock, held.auto_renew, now)
        }
    }
}

/// A record as the command line's JSON shows it: the API's fields under the API's names, plus
/// `statusName`, with `endTime` always present (`null` until the record is completed).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordJson<'a> {
    pub record_id: &'a str,
    pub module_code: &'a RecordModule,
    pub status: RecordStatus,
    pub status_name: &'static str,
    pub properties: &'a str,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub device_info: &'a DeviceEntity,
}

impl<'a> RecordJson<'a> {
    pub fn new(record: &'a BackupRecord) -> RecordJson<'a> {
        RecordJson {
            record_id: &record.record_id,
            module_code: &record.module_code,
            status: record.status,
            status_name: status_name(record.status),
            properties: &record.properties,
            version: record.version,
            create_time: record.create_time,
            end_time: record.end_time,
            device_info: &record.device_info,
        }
    }
}

/// A record field of a serialized struct, in the [`RecordJson`] shape
/// (`#[serde(serialize_with = "output::record_json")]`).
pub fn record_json<S: serde::Serializer>(record: &BackupRecord, serializer: S) -> Result<S::Ok, S::Error> {
    RecordJson::new(record).serialize(serializer)
}

/// A record as a list item: serialized in the [`RecordJson`] shape.
#[derive(Debug)]
pub struct ListedRecord(pub BackupRecord);

impl Serialize for ListedRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        record_json(&self.0, serializer)
    }
}

/// The status as a name scripts can match: `new`, `completed`, `toBeDeleted`, or `unknown` for a
/// number koobackup does not know (still given as `status`).
pub fn status_name(status: RecordStatus) -> &'static str {
    match status {
        RecordStatus::New => "new",
        RecordStatus::Completed => "completed",
        RecordStatus::ToBeDeleted => "toBeDeleted",
        RecordStatus::Unknown(_) => "unknown",
    }
}

const RECORD_HEADERS: [&str; 7] = [
    "RECORD ID",
    "MODULE",
    "STATUS",
    "VER",
    "DEVICE",
    "CREATED",
    "ENDED",
];

/// The columns of a record table; `-o wide` adds the properties.
pub fn record_headers(wide: bool) -> Vec<&'static str> {
    let mut headers = RECORD_HEADERS.to_vec();
    if wide {
        headers.push("PROPERTIES");
    }
    headers
}

/// The terminal width of standard error (`$COLUMNS` first), for tables that go there: with a
/// question, or beside the output proper.
pub fn stderr_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    terminal_columns()
}

/// A record's row under [`record_headers`].
pub fn record_row(record: &BackupRecord, wide: bool) -> Vec<String> {
    let mut row = vec![
        record.record_id.clone(),
        record.module_code.label(),
        record.status.label(),
        record.version.to_string(),
        device_label(record),
        local_minutes(record.create_time),
        record.end_time.map(local_minutes).unwrap_or_else(|| "-".into()),
    ];
    if wide {
        row.push(if record.properties.is_empty() {
            "-".into()
        } else {
            record.properties.clone()
        });
    }
    row
}

/// The device as `name (id)`: when the column is cut, the name (which tells devices apart)
/// stays; ids often share a long prefix.
fn device_label(record: &BackupRecord) -> String {
    let device = &record.device_info;
    if device.device_name.is_empty() || device.device_name == device.device_id {
        device.device_id.clone()
    } else {
        format!("{} ({})", device.device_name, device.device_id)
    }
}

/// One record, one field per line, for `record get`.
pub fn record_details(record: &BackupRecord) -> String {
    let device = &record.device_info;
    let mut device_line = device.device_id.clone();
    let extra: Vec<&str> = [&device.device_name, &device.device_os, &device.machine_code]
        .into_iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if !extra.is_empty() {
        device_line.push_str(&format!(" ({})", extra.join(", ")));
    }
    let properties = if record.properties.is_empty() {
        "-".to_string()
    } else {
        record.properties.clone()
    };
    let fields = [
        ("record", record.record_id.clone()),
        ("module", record.module_code.label()),
        ("status", record.status.label()),
        ("version", record.version.to_string()),
        ("created", format::local_time(record.create_time)),
        (
            "ended",
            record
                .end_time
                .map(format::local_time)
                .unwrap_or_else(|| "-".into()),
        ),
        ("device", device_line),
        ("properties", properties),
    ];
    fields
        .iter()
        .map(|(name, value)| format!("{name:<11} {}", format::escape(value)))
        .collect::<Vec<_>>()
        .join("\n")
}

pub const FILE_HEADERS: [&str; 6] = ["FILE ID", "NAME", "SIZE", "SHA-256", "CREATED", "DESCRIPTION"];

pub fn file_row(file: &BackupFile) -> Vec<String> {
    let or_dash = |text: Option<&str>| text.filter(|t| !t.is_empty()).unwrap_or("-").to_string();
    vec![
        file.file_id.clone(),
        file.file_name.clone(),
        format::human_size(file.size),
        or_dash(file.sha256.as_deref()),
        file.create_time.map(local_minutes).unwrap_or_else(|| "-".into()),
        or_dash(file.description.as_deref()),
    ]
}

/// How a run of deletes ended, in one line: "deleted 9 of 40 records; 1 failed, 30 not sent"
/// (`of`: the total, counted in words; `rest`: what did not go, each with its count, those at
/// zero left out).
pub fn deleted_of(deleted: usize, of: &str, rest: &[(usize, &str)]) -> String {
    let rest: Vec<String> = rest
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, said)| format!("{n} {said}"))
        .collect();
    if rest.is_empty() {
        format!("deleted {deleted} of {of}")
    } else {
        format!("deleted {deleted} of {of}; {}", rest.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest_line(text: &str) -> usize {
        text.lines().map(format::width).max().unwrap_or(0)
    }

    #[test]
    fn a_narrow_table_says_the_zone_once_then_drops_columns_before_it_cuts_a_word() {
        let headers = ["RECORD ID", "STATUS", "VER", "DEVICE", "CREATED", "ENDED"];
        let row = |status: &str, ended: &str| {
            vec![
                "2129221054743183360".to_string(),
                status.to_string(),
                "2".to_string(),
                "Mia ThinkPad X1 (1775406005920779394)".to_string(),
                "2026-12-05 14:27 +01:00".to_string(),
                ended.to_string(),
            ]
        };
        let rows = [row("completed", "2026-12-05 15:00 +01:00"), row("new", "-")];
        let fitted = fit(&headers, &rows, Some(80), true);
        assert!(widest_line(&fitted.text) <= 80, "{}", fitted.text);
        assert_eq!(fitted.dropped, ["ENDED", "VER"]);
        let lines: Vec<&str> = fitted.text.lines().collect();
        assert!(lines[0].ends_with("CREATED +01:00"), "{}", fitted.text);
        assert!(lines[1].contains("completed") && lines[1].ends_with("2026-12-05 14:27"));
        assert!(
            lines[1].contains('…'),
            "the device name is what gives way: {}",
            fitted.text
        );

        // Wide enough: nothing changes; without headers the zone stays in every cell.
        let roomy = fit(&headers, &rows, Some(200), true);
        assert!(roomy.dropped.is_empty() && roomy.text.contains("15:00 +01:00"));
        let bare = fit(&headers, &rows, Some(80), false);
        assert!(
            bare.text.lines().all(|l| l.contains("14:27 +01:00")),
            "{}",
            bare.text
        );
    }

    #[test]
    fn times_in_different_zones_keep_them() {
        let rows = [
            vec!["1".to_string(), "2026-03-01 10:00 +01:00".to_string()],
            vec!["2".to_string(), "2026-07-01 10:00 +02:00".to_string()],
        ];
        let fitted = fit(&["RECORD ID", "CREATED"], &rows, Some(20), true);
        assert!(fitted.text.contains("10:00 +02:00"), "{}", fitted.text);
        assert!(fitted.text.starts_with("RECORD ID  CREATED\n"), "{}", fitted.text);
    }

    #[test]
    fn tables_align_columns_without_trailing_spaces() {
        let text = table(
            &["ID", "NAME"],
            &[vec!["1".into(), "alpha".into()], vec!["200".into(), "b".into()]],
        );
        assert_eq!(text, "ID   NAME\n1    alpha\n200  b");
        let forged = table(&["A", "B"], &[vec!["x".into(), "one\nerror: forged".into()]]);
        assert_eq!(
            forged, "A  B\nx  one\\x0aerror: forged",
            "a line break cannot forge a line"
        );
    }
}
