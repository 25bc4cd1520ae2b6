//! The devices pane: per device a line with its name, OS, machine code and a 30-day sparkline of
//! completed backups, and a line per module with its figures and whether its backups are fresh,
//! late or stale (the thresholds and words of `koobackup status`). Only the devices on screen are
//! built.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::update::visible_devices;
use super::{Load, State};
use crate::api::{DeviceEntity, ModuleCode};
use crate::format;
use crate::health::{Freshness, ModuleHealth, SPARK_DAYS, completed_per_day, device_health};
use crate::tui::feature::Pane;
use crate::tui::widgets::{Chrome, fit_spans};

/// Columns the sparkline takes at the right of a device's line, with its label and margins.
const SPARK_COLUMNS: u16 = SPARK_DAYS as u16 + 11;
/// Inner width from which the sparkline is drawn (the pane's inner width at 80 columns is 78).
const WIDTH_WITH_SPARKLINE: u16 = 78;

/// The pane at `area`; ages and days are counted at `now`, on the server's clock.
pub fn draw(frame: &mut Frame, area: Rect, pane: &State, chrome: &Chrome, now: DateTime<Utc>) {
    let theme = chrome.theme;
    let mut block = chrome.upper_block(&title_detail(pane, chrome), area);
    if let Some(error) = pane.listing_error() {
        block = block.title_bottom(Line::styled(
            format!(" figures incomplete: {} (r to retry) ", format::escape(error)),
            theme.warning,
        ));
    } else if !pane.is_complete() && pane.load() == &Load::Loaded {
        let text = format!(
            " reading figures {} {} records listed, {} sizes to read ",
            chrome.spinner(),
            pane.listed,
            pane.sizes_pending()
        );
        block = block.title_bottom(Line::styled(text, theme.dim));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(message) = empty_message(pane) {
        frame.render_widget(Paragraph::new(vec![Line::from(""), Line::from(message)]), inner);
        return;
    }
    let focused = chrome.focused(Pane::Devices);
    let shown = visible_devices(usize::from(inner.height));
    for (row, (index, device)) in pane
        .matching()
        .into_iter()
        .enumerate()
        .skip(pane.offset())
        .take(shown)
        .enumerate()
    {
        let y = inner.y + (row * super::ROWS_PER_DEVICE) as u16;
        let records = pane.records_of(&device.device_id);
        let header = Rect::new(inner.x, y, inner.width, 1);
        let selected = index == pane.cursor() && focused;
        // The sparkline keeps its place: the device's own text gives way first.
        let spark_shown = inner.width >= WIDTH_WITH_SPARKLINE;
        let text_width = if spark_shown {
            inner.width - SPARK_COLUMNS
        } else {
            inner.width
        };
        let mut line = device_line(device, usize::from(text_width), chrome);
        if selected {
            line = line.style(theme.selected);
        }
        frame.render_widget(Paragraph::new(line), header);
        if spark_shown {
            let spark = Rect::new(inner.right() - SPARK_DAYS as u16 - 1, y, SPARK_DAYS as u16, 1);
            let days = completed_per_day(records, now);
            let label = Rect::new(spark.x.saturating_sub(9), y, 9, 1);
            frame.render_widget(Paragraph::new(Span::styled("30 days ", theme.dim)), label);
            frame.render_widget(Sparkline::default().data(&days).style(theme.ok), spark);
        }
        let modules = device_health(
            records,
            device.create_time,
            &ModuleCode::ALL,
            pane.sizes(),
            &chrome.session.health,
            now,
        );
        for (m, health) in modules.iter().enumerate() {
            let line_area = Rect::new(inner.x, y + 1 + m as u16, inner.width, 1);
            if line_area.y >= inner.bottom() {
                break;
            }
            let queued = pane.queued_of(&device.device_id, health.module);
            let line = module_line(health, pane, queued, chrome, usize::from(inner.width));
            frame.render_widget(Paragraph::new(line), line_area);
        }
    }
}

fn title_detail(pane: &State, chrome: &Chrome) -> String {
    match pane.load() {
        Load::Idle => String::new(),
        Load::Loading => format!("loading {}", chrome.spinner()),
        Load::Loaded if pane.devices().is_empty() => String::new(),
        Load::Loaded if pane.filter().is_empty() => {
            format!("row {} of {}", pane.cursor() + 1, pane.devices().len())
        }
        // Quoted as Rust writes strings: a quote inside the filter cannot end it early.
        Load::Loaded => format!(
            "row {} of {} · filter {} · {} in all",
            pane.cursor() + 1,
            pane.matching().len(),
            format::escape(&format!("{:?}", pane.filter())),
            pane.devices().len()
        ),
        Load::Failed(_) => "failed".into(),
    }
}

fn empty_message(pane: &State) -> Option<String> {
    if !pane.devices().is_empty() {
        return pane.matching().is_empty().then(|| {
            format!(
                "  No device matches the filter \"{}\" (/ changes it, Esc clears it).",
                format::escape(pane.filter())
            )
        });
    }
    Some(match pane.load() {
        Load::Idle | Load::Loading => "  Loading the devices…".into(),
        Load::Failed(error) => format!(
            "  Could not list the devices: {} (r to retry)",
            format::escape(error)
        ),
        Load::Loaded => {
            "  No devices bound. Bind one with `koobackup device bind --machine-code CODE`.".into()
        }
    })
}

/// Columns a device's name keeps, at least, when its line is too long.
const NAME_MIN_COLUMNS: usize = 12;

/// The device's own line, cut to `width` with `…`: its name gives way first (down to
/// [`NAME_MIN_COLUMNS`]), so that its OS and machine code stay in sight.
fn device_line(device: &DeviceEntity, width: usize, chrome: &Chrome) -> Line<'static> {
    let theme = chrome.theme;
    let mut rest = vec![
        Span::raw(format!(" {} ", format::escape(&device.device_os))),
        Span::styled(format!(" {} ", format::escape(&device.machine_code)), theme.dim),
    ];
    let room = width.saturating_sub(rest.iter().map(Span::width).sum::<usize>() + 2);
    let name = format::escape(&device.device_name);
    let name = format::cut(&name, room.max(NAME_MIN_COLUMNS));
    if let Some(bound) = device.create_time {
        rest.push(Span::styled(
            format!(" bound {}", chrome.minutes(bound)),
            theme.dim,
        ));
    }
    let mut spans = vec![Span::styled(format!(" {name} "), theme.header)];
    spans.extend(rest);
    fit_spans(spans, width)
}

/// Columns of a module line before its counts, each cut or padded to its display width so that
/// every line's figures stand in the same columns whatever the text before them.
const LABEL_COLUMNS: usize = 20;
const WORD_COLUMNS: usize = 7;
const LAST_COLUMNS: usize = 12;
const SIZE_COLUMNS: usize = 11;
const ABANDONED_COLUMNS: usize = 13;

/// `text` in exactly `columns` display columns: cut with `…`, or padded with spaces.
fn cell(text: &str, columns: usize) -> String {
    let text = format::cut(text, columns.saturating_sub(1));
    format!("{text}{}", " ".repeat(columns - format::width(&text)))
}

/// A module's line; `queued` of its records wait in the queue of pending deletions.
fn module_line(
    health: &ModuleHealth,
    pane: &State,
    queued: usize,
    chrome: &Chrome,
    width: usize,
) -> Line<'static> {
    let (theme, module, figures) = (chrome.theme, health.module, &health.figures);
    let label = Span::raw(cell(
        &format!("   {} {}", module.code(), module.name()),
        LABEL_COLUMNS,
    ));
    if figures.records == 0 && health.verdict.freshness == Freshness::Unused {
        let text = if pane.is_listing() { "…" } else { "no backups" };
        return fit_spans(vec![label, Span::styled(text, theme.dim)], width);
    }
    // Judged only once every record is in: part of them could make a device look stale.
    let judged = !pane.is_listing() && pane.listing_error().is_none();
    let word = if judged {
        health.verdict.freshness.word()
    } else {
        "…"
    };
    let style = match health.verdict.freshness {
        _ if !judged => theme.dim,
        Freshness::Fresh | Freshness::Unused => theme.ok,
        Freshness::Late => theme.warning,
        Freshness::Stale => theme.critical,
    };
    let last = match (figures.last_completed, health.verdict.age) {
        (Some(_), Some(age)) => format!("{} ago", format::age(age)),
        _ => "never done".into(),
    };
    let abandoned = match figures.abandoned {
        0 => String::new(),
        n => format!("{n} abandoned"),
    };
    let mut counts = vec![
        format!("{} done", figures.completed),
        format!("{} new", figures.new),
    ];
    if figures.to_be_deleted > 0 {
        counts.push(format!("{} to delete", figures.to_be_deleted));
    }
    if figures.other > 0 {
        counts.push(format!("{} other", figures.other));
    }
    let mut spans = vec![
        label,
        Span::styled(cell(word, WORD_COLUMNS), style),
        Span::styled(cell(&last, LAST_COLUMNS), style),
        Span::styled(cell(&size_text(figures), SIZE_COLUMNS), theme.dim),
        Span::styled(cell(&abandoned, ABANDONED_COLUMNS), theme.warning),
        Span::raw(counts.join(" · ")),
    ];
    // Apart from the counts by status: still on the server, deleted once the queue sends them.
    if queued > 0 {
        spans.push(Span::styled(format!(" · {queued} queued"), theme.critical));
    }
    fit_spans(spans, width)
}

/// The size of a module's backups: exact once every record's files were read, a lower bound
/// while they are being read (how many are left is on the pane's border).
fn size_text(figures: &crate::health::Figures) -> String {
    match (figures.size(), figures.sized) {
        (Some(bytes), _) => format::human_size(bytes),
        (None, 0) => "size …".into(),
        (None, _) => format!("≥ {}", format::human_size(figures.bytes)),
    }
}
