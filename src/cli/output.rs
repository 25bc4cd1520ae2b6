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

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use super::exit::{CliError, Exit};
use crate::api::{BackupFile, BackupRecord, LockInfo, ModuleCode};
use crate::format;

/// How the user asked for output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
}

impl Output {
    /// Whether output is for people (not `--json`).
    pub fn human(&self) -> bool {
        !self.json
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

    /// Writes `value` as one compact JSON document on its own line.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string(value)
            .map_err(|e| CliError::failure(format!("cannot encode the output as JSON: {e}")))?;
        self.raw(&format::json_for_terminal(&text))
    }

    /// A human message on stdout: skipped with `--quiet` or `--json`.
    pub fn say(&self, text: &str) -> Result<(), CliError> {
        if self.quiet || self.json {
            return Ok(());
        }
        self.sentence(text)
    }

    /// An informational note on stderr: skipped with `--quiet` or `--json`.
    pub fn note(&self, text: &str) {
        if !self.quiet && !self.json {
            to_stderr(&format::escape(text));
        }
    }

    /// Something the user should fix or know; skipped only with `--quiet`.
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            to_stderr(&format!("warning: {}", format::escape(text)));
        }
    }

    /// Reports a failed command on stderr (as JSON with `--json`).
    pub fn error(&self, error: &CliError) {
        if error.silent {
            return;
        }
        if self.json {
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
            to_stderr(&format!("error: {}", format::escape_lines(&error.message)));
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

/// Left-aligned columns separated by two spaces; the last column is not padded. Cells are
/// escaped ([`format::escape`], line breaks included), so a value cannot break the table, forge
/// a line, or reach the terminal as a control sequence.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| format::escape(cell).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        line.trim_end().to_string()
    };
    let mut lines = vec![render(headers.to_vec())];
    lines.extend(
        rows.iter()
            .map(|row| render(row.iter().map(String::as_str).collect())),
    );
    lines.join("\n")
}

/// A local time for tables: `2025-11-03 08:01`.
pub fn local_minutes(time: DateTime<Utc>) -> String {
    time.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

/// Local time of day: `08:11:40`.
pub fn local_clock(time: DateTime<Utc>) -> String {
    time.with_timezone(&Local).format("%H:%M:%S").to_string()
}

/// A lock as `--json` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockJson<'a> {
    pub lock_id: &'a str,
    pub module: ModuleCode,
    pub expires_at: DateTime<Utc>,
    pub seconds_left: i64,
    pub expired: bool,
    pub auto_renew: bool,
}

impl<'a> LockJson<'a> {
    pub fn new(lock: &'a LockInfo, auto_renew: bool, now: DateTime<Utc>) -> LockJson<'a> {
        LockJson {
            lock_id: &lock.lock_id,
            module: lock.module,
            expires_at: lock.expires_at,
            seconds_left: lock.time_left(now).num_seconds(),
            expired: lock.is_expired(now),
            auto_renew,
        }
    }
}

pub const RECORD_HEADERS: [&str; 7] = [
    "RECORD ID",
    "MODULE",
    "STATUS",
    "VER",
    "DEVICE",
    "CREATED",
    "ENDED",
];

pub fn record_row(record: &BackupRecord) -> Vec<String> {
    vec![
        record.record_id.clone(),
        record.module_code.label(),
        record.status.label(),
        record.version.to_string(),
        device_label(record),
        local_minutes(record.create_time),
        record.end_time.map(local_minutes).unwrap_or_else(|| "-".into()),
    ]
}

fn device_label(record: &BackupRecord) -> String {
    let device = &record.device_info;
    if device.device_name.is_empty() || device.device_name == device.device_id {
        device.device_id.clone()
    } else {
        format!("{} ({})", device.device_id, device.device_name)
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

#[cfg(test)]
mod tests {
    use super::*;

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
