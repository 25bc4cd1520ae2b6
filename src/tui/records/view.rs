//! The records pane: one module's records, newest first. Only the rows on screen are built, so a
//! frame costs the same with 100 records as with 10 000.

use chrono::{DateTime, FixedOffset, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{LoadState, State};
use crate::api::{BackupRecord, RecordStatus};
use crate::format;
use crate::pending::Queued;
use crate::tui::feature::Pane;
use crate::tui::theme::Theme;
use crate::tui::widgets::Chrome;

/// The columns: mark, id, status, device (the rest of the width), version, created, ended, age
/// (`10d 23h` and a blank, so that it never touches the border).
const COLUMNS: [Constraint; 8] = [
    Constraint::Length(1),
    Constraint::Length(19),
    Constraint::Length(13),
    Constraint::Min(12),
    Constraint::Length(3),
    Constraint::Length(16),
    Constraint::Length(16),
    Constraint::Length(8),
];

/// Inner widths from which the optional columns are shown.
const WIDTH_WITH_CREATED: u16 = 84;
/// Inner width from which the version column is shown: below it, the record id would be cut.
const WIDTH_WITH_VERSION: u16 = 62;
const WIDTH_WITH_ENDED: u16 = 102;

/// The pane at `area`; ages are measured at `server_now`, the server's clock.
pub fn draw(frame: &mut Frame, area: Rect, pane: &State, chrome: &Chrome, server_now: DateTime<Utc>) {
    let theme = chrome.theme;
    let mut block = chrome.upper_block(&title_detail(pane, chrome), area);
    if let LoadState::Failed { message, .. } = pane.load() {
        block = block.title_bottom(Line::styled(
            format!(" loading stopped: {} (r to retry) ", format::escape(message)),
            theme.error,
        ));
    } else if let Some(stale) = pane.stale() {
        let age = format::age(chrome.now.signed_duration_since(stale.loaded_at));
        block = block.title_bottom(Line::styled(
            format!(
                " data from {} ({age} old): refresh failed: {} (r to retry) ",
                stale
                    .loaded_at
                    .with_timezone(&chrome.session.display_offset)
                    .format("%H:%M:%S"),
                format::escape(&stale.reason)
            ),
            theme.warning,
        ));
    } else if !pane.marked().is_empty() {
        // In read-only mode nothing can be deleted: the marks are only counted.
        let text = if chrome.session.read_only {
            format!(" {} marked ", pane.marked().len())
        } else {
            format!(
                " {} marked: d deletes them, Esc clears them ",
                pane.marked().len()
            )
        };
        block = block.title_bottom(Line::styled(text, theme.notice));
    } else if pane.queued_count() > 0 {
        let text = format!(
            " {} queued for deletion: u takes one back, :pending lists them ",
            pane.queued_count()
        );
        block = block.title_bottom(Line::styled(text, theme.dim));
    }
    if let Some(message) = empty_message(pane, chrome.session.read_only) {
        let text = vec![Line::from(""), Line::from(message)];
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let inner_width = area.width.saturating_sub(2);
    // Which of the columns fit: the time columns go first on a narrow terminal.
    let shown = [
        true,
        true,
        true,
        true,
        inner_width >= WIDTH_WITH_VERSION,
        inner_width >= WIDTH_WITH_CREATED,
        inner_width >= WIDTH_WITH_ENDED,
        true,
    ];
    let keep = |cells: [Cell<'static>; 8]| -> Vec<Cell<'static>> {
        cells
            .into_iter()
            .zip(shown)
            .filter(|(_, s)| *s)
            .map(|(c, _)| c)
            .collect()
    };
    let header = Row::new(keep(
        [
            "",
            "Record id",
            "Status",
            "Device (OS)",
            "Ver",
            "Created",
            "Ended",
            "Age",
        ]
        .map(Cell::from),
    ))
    .style(theme.header);
    let rows_shown = usize::from(area.height.saturating_sub(3));
    // The device column takes what the others leave (between columns, one blank).
    let others: u16 = COLUMNS
        .iter()
        .zip(shown)
        .filter_map(|(column, shown)| match (column, shown) {
            (Constraint::Length(width), true) => Some(width + 1),
            _ => None,
        })
        .sum();
    let device_width = usize::from(inner_width.saturating_sub(others));
    let focused = chrome.focused(Pane::Records);
    let offset = chrome.session.display_offset;
    let rows = pane
        .visible()
        .iter()
        .enumerate()
        .skip(pane.offset())
        .take(rows_shown)
        .filter_map(|(position, &index)| {
            let record = &pane.rows().get(index)?.record;
            let marked = pane.marked().contains(&record.record_id);
            let queued = pane.queued(&record.record_id);
            let cells = record_cells(record, marked, queued, server_now, offset, device_width, theme);
            let row = Row::new(keep(cells));
            Some(if focused && position == pane.cursor() {
                row.style(theme.selected)
            } else {
                row
            })
        });
    let widths: Vec<Constraint> = COLUMNS
        .into_iter()
        .zip(shown)
        .filter(|(_, s)| *s)
        .map(|(w, _)| w)
        .collect();
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1);
    frame.render_widget(table, area);
}

/// What follows the records tab (which names the module), e.g. `· 40 · lock 09:05`: the device
/// filter, how many records are loaded, the local filter and the module's lock.
fn title_detail(pane: &State, chrome: &Chrome) -> String {
    let Some(module) = pane.module() else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(device) = pane.device_filter() {
        parts.push(format!("device {}", format::escape(pane.device_called(device))));
    }
    let count = pane.rows().len();
    // Where the cursor is among the rows shown ("+" while more are still loading).
    let shown = pane.visible().len();
    let at = (shown > 0).then(|| format!("row {} of {shown}", pane.cursor() + 1));
    let filtered = !pane.filter().is_empty();
    match (pane.load(), pane.refreshing()) {
        (LoadState::Loading { .. }, Some(pages)) => {
            parts.push(at.unwrap_or_else(|| count.to_string()));
            parts.push(format!("refreshing {} page {}…", chrome.spinner(), pages + 1));
        }
        (LoadState::Loading { pages }, None) => {
            parts.extend(at.map(|at| format!("{at}+")));
            parts.push(format!("{count} loaded {} page {}…", chrome.spinner(), pages + 1));
        }
        (LoadState::Loaded { .. }, _) => match at {
            Some(at) if filtered => parts.push(format!("{at} ({count} loaded)")),
            Some(at) => parts.push(at),
            None => parts.push(count.to_string()),
        },
        (LoadState::Failed { .. }, _) => {
            parts.extend(at);
            parts.push(format!("{count} (incomplete)"));
        }
        (LoadState::Idle, _) => {}
    }
    if pane.unreadable() > 0 {
        parts.push(format!("{} unreadable", pane.unreadable()));
    }
    if filtered {
        // How many match is the "of N" above; said here only when none does.
        let none = if shown == 0 { ": no match" } else { "" };
        // Quoted as Rust writes strings: a quote inside the filter cannot end it early.
        parts.push(format!(
            "filter {}{none}",
            format::escape(&format!("{:?}", pane.filter()))
        ));
    }
    // A delete (or create, complete) waits for its lock to be created: say so, turning.
    if let Some((waiting, _)) = &pane.waiting_for_lock {
        parts.push(format!(
            "creating a lock for {} {}",
            waiting.code(),
            chrome.spinner()
        ));
    }
    // The locks pane is hidden meanwhile: say how long the module's lock has left.
    if let Some(lock) = chrome.live_lock(module) {
        parts.push(format!("lock {}", format::countdown(lock.time_left(chrome.now))));
    }
    parts.join(" · ")
}

/// What the pane says instead of a table, if it has no row to show.
fn empty_message(pane: &State, read_only: bool) -> Option<String> {
    if !pane.visible().is_empty() {
        return None;
    }
    let message = match (&pane.module(), pane.load()) {
        (None, _) if read_only => "  Choose a module: 1 folder, 2 album, 3 address book.".to_string(),
        (None, _) => "  Choose a module: 1 folder, 2 album, 3 address book. n creates a record.".to_string(),
        (Some(_), LoadState::Loading { .. }) if pane.rows().is_empty() => "  Loading…".into(),
        (Some(_), _) if !pane.rows().is_empty() => {
            format!(
                "  No loaded record matches the filter \"{}\" (/ changes it, Esc clears it).",
                format::escape(pane.filter())
            )
        }
        (Some(module), LoadState::Loaded { .. }) if pane.device_filter().is_some() => format!(
            "  No records of device {} in {module}: a device filter is on (Esc clears it).",
            format::escape(pane.device_called(pane.device_filter().unwrap_or_default()))
        ),
        (Some(module), LoadState::Failed { .. }) => format!("  Could not list the records of {module}."),
        (Some(module), _) if read_only => format!("  No records in {module}."),
        (Some(module), _) => format!("  No records in {module}. Press n to create one."),
    };
    Some(message)
}

/// The cells of one record's row, every column (the caller drops those that do not fit); the
/// device is cut to `device_width` with `…`. A queued record shows its time left in the status
/// column.
fn record_cells(
    record: &BackupRecord,
    marked: bool,
    queued: Option<&Queued>,
    now: DateTime<Utc>,
    offset: FixedOffset,
    device_width: usize,
    theme: &Theme,
) -> [Cell<'static>; 8] {
    let device = &record.device_info;
    let name = format::escape(device.display_name());
    let device = if device.device_os.is_empty() {
        name.into_owned()
    } else {
        format!("{name} ({})", format::escape(&device.device_os))
    };
    let time = |t: DateTime<Utc>| t.with_timezone(&offset).format("%Y-%m-%d %H:%M").to_string();
    let age = format::age(now.signed_duration_since(record.create_time));
    let mark = if marked {
        Span::styled("●", theme.notice)
    } else {
        Span::raw("")
    };
    [
        Cell::from(mark),
        Cell::from(format::escape(&record.record_id).into_owned()),
        match queued {
            Some(queued) => Cell::from(queued_text(queued, now)).style(theme.critical),
            None => Cell::from(record.status.label()).style(status_style(record.status, theme)),
        },
        Cell::from(format::cut(&device, device_width).into_owned()),
        Cell::from(record.version.to_string()),
        Cell::from(time(record.create_time)),
        Cell::from(record.end_time.map(time).unwrap_or_else(|| "—".into())),
        Cell::from(age),
    ]
}

/// A queued deletion in the status column (13 columns): `queued 23h 5m`, `queued: due`, or
/// `applying` while a `pending apply` sends it.
pub fn queued_text(queued: &Queued, server_now: DateTime<Utc>) -> String {
    if queued.claim.is_some() {
        queued.left(server_now)
    } else if queued.is_due(server_now) {
        "queued: due".into()
    } else {
        format!("queued {}", queued.left(server_now))
    }
}

/// New records are unfinished (yellow), completed ones fine (green), doomed ones red.
pub fn status_style(status: RecordStatus, theme: &Theme) -> Style {
    match status {
        RecordStatus::New => theme.warning,
        RecordStatus::Completed => theme.ok,
        RecordStatus::ToBeDeleted => theme.critical,
        RecordStatus::Unknown(_) => theme.dim,
    }
}
