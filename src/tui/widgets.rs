//! Drawing helpers shared by the features' views, and [`Chrome`]: what a view may read of the
//! rest of the screen (the clock, the session, which pane has the focus, the tab strip).

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};
use tui_input::Input;

use super::feature::{Foreign, OwnLock, Pane, Session};
use super::layout::TAB_SEPARATOR;
use super::theme::Theme;
use crate::api::{LockInfo, ModuleCode};
use crate::format;

/// Frames of the busy spinner.
pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// One tab of the strip in the upper pane's top border.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tab {
    pub pane: Pane,
    /// The key that shows this tab's pane.
    pub key: char,
    /// The pane's name alone, for a narrow screen: `Records`.
    pub name: &'static str,
    /// The name with what the pane holds: `Records: 102 address book`.
    pub label: String,
}

impl Tab {
    /// The tab as drawn: `" [R] Records: 102 address book "`, or with its bare name.
    pub fn text(&self, bare: bool) -> String {
        let label = if bare { self.name } else { &self.label };
        format!(" [{}] {label} ", self.key)
    }
}

/// The tab texts as drawn in a strip `width` columns wide with `shown` up: every label whole
/// if they fit, else the shown tab's whole and the others' bare names, else bare names only.
/// The view draws exactly these and the click test measures them, so the two cannot disagree.
pub fn tab_texts(tabs: &[Tab], shown: Pane, width: usize) -> Vec<String> {
    let strip =
        |bare: &dyn Fn(&Tab) -> bool| -> Vec<String> { tabs.iter().map(|tab| tab.text(bare(tab))).collect() };
    let fits = |texts: &[String]| {
        texts.iter().map(|text| format::width(text)).sum::<usize>() + texts.len().saturating_sub(1) <= width
    };
    [strip(&|_| false), strip(&|tab| tab.pane != shown)]
        .into_iter()
        .find(|texts| fits(texts))
        .unwrap_or_else(|| strip(&|_| true))
}

/// What a feature's view may read besides its own state.
#[derive(Debug, Clone, Copy)]
pub struct Chrome<'a> {
    pub now: DateTime<Utc>,
    pub session: &'a Session,
    pub theme: &'a Theme,
    pub spinner_frame: usize,
    pub focus: Pane,
    /// The pane shown above the activity log.
    pub top: Pane,
    pub dialog_open: bool,
    pub tabs: &'a [Tab],
    /// This app's own live locks: what record operations run under.
    pub own_locks: &'a [OwnLock],
    /// Other holders' live locks.
    pub foreign: &'a [Foreign],
}

impl Chrome<'_> {
    pub fn spinner(&self) -> &'static str {
        SPINNER[self.spinner_frame % SPINNER.len()]
    }

    /// Whether `pane` has the focus and no dialog covers it.
    pub fn focused(&self, pane: Pane) -> bool {
        self.focus == pane && !self.dialog_open
    }

    /// This app's lock held on purpose for `module`, if any.
    pub fn live_lock(&self, module: ModuleCode) -> Option<&LockInfo> {
        self.own_locks
            .iter()
            .find(|own| own.lock.module == module && !own.for_operation)
            .map(|own| &own.lock)
    }

    /// A time in the display zone: `2025-11-03 07:00`.
    pub fn minutes(&self, time: DateTime<Utc>) -> String {
        self.session.minutes(time)
    }

    fn border_style(&self, pane: Pane) -> Style {
        if self.focused(pane) {
            self.theme.border_focused
        } else {
            self.theme.border
        }
    }

    fn bordered<'b>(&self, pane: Pane) -> Block<'b> {
        let border_type = if self.focused(pane) {
            BorderType::Thick
        } else {
            BorderType::Plain
        };
        Block::new()
            .borders(Borders::ALL)
            .border_type(border_type)
            .border_style(self.border_style(pane))
    }

    /// A bordered block whose border shows whether `pane` has the focus.
    pub fn pane_block<'b>(&self, title: &str, pane: Pane) -> Block<'b> {
        let style = self.border_style(pane);
        self.bordered(pane)
            .title(Line::styled(format!(" {title} "), style))
    }

    /// The block of the upper pane at `area` (locks, records or devices, whichever is up),
    /// titled with the tab strip on the left (the shown tab highlighted) and `detail` about the
    /// shown pane on the right. The tabs stay where the click test finds them
    /// ([`crate::tui::layout::ScreenLayout::tab_at`] measures the same [`tab_texts`]) however
    /// long the detail grows: it gets the room the tabs leave, cut with `…`.
    pub fn upper_block<'b>(&self, detail: &str, area: Rect) -> Block<'b> {
        let shown = self.top;
        let border = self.border_style(shown);
        let shown_style = if self.focus == shown {
            border
        } else {
            self.theme.header
        };
        let mut spans = Vec::new();
        let texts = tab_texts(self.tabs, shown, usize::from(area.width.saturating_sub(2)));
        for (index, (tab, text)) in self.tabs.iter().zip(texts).enumerate() {
            if index > 0 {
                spans.push(Span::styled(TAB_SEPARATOR, border));
            }
            let style = if tab.pane == shown {
                shown_style
            } else {
                self.theme.dim
            };
            spans.push(Span::styled(text, style));
        }
        let tabs = Line::from(spans);
        // Inside the corners, and a border cell between the tabs and the detail.
        let room = usize::from(area.width.saturating_sub(3)).saturating_sub(tabs.width());
        let mut block = self.bordered(shown).title(tabs);
        if !detail.is_empty() && room > 2 {
            let detail = format::cut(detail, room - 2);
            block = block.title(Line::styled(format!(" {detail} "), shown_style).right_aligned());
        }
        block
    }

    /// How a lock for `module` stands, for forms and confirmations: this app's own
    /// (`abcdef12…@102, 09:05 left`), one taken for this operation alone, or another holder's
    /// (which is never used).
    pub fn lock_line<'b>(&self, module: ModuleCode) -> Line<'b> {
        if let Some(lock) = self.live_lock(module) {
            return Line::from(format!(
                "yours, {}, {} left",
                format::escape(&short_lock_id(&lock.lock_id)),
                format::countdown(lock.time_left(self.now))
            ));
        }
        let mut foreign: Vec<&Foreign> = self.foreign.iter().filter(|f| f.module == module).collect();
        foreign.sort_by_key(|f| f.orphaned);
        match foreign.first() {
            Some(f) if f.orphaned => Line::styled(
                format!(
                    "{} is {}: you are asked before it is released",
                    format::escape(&short_lock_id(&f.lock_id)),
                    f.holder
                ),
                self.theme.warning,
            ),
            Some(f) => Line::styled(
                format!(
                    "{} is {}: nothing can be sent until it is released",
                    format::escape(&short_lock_id(&f.lock_id)),
                    f.holder
                ),
                self.theme.error,
            ),
            None => Line::styled(
                format!(
                    "none for {} yet: one is taken for this and released after",
                    module.code()
                ),
                self.theme.warning,
            ),
        }
    }
}

/// `abcdef12-…@102` → `abcdef12…@102`: enough to tell locks apart, short enough for a table.
pub fn short_lock_id(lock_id: &str) -> String {
    let (head, module) = match lock_id.rsplit_once('@') {
        Some((head, module)) => (head, Some(module)),
        None => (lock_id, None),
    };
    let short: String = head.chars().take(8).collect();
    let ellipsis = if head.chars().count() > 8 { "…" } else { "" };
    match module {
        Some(module) => format!("{short}{ellipsis}@{module}"),
        None => format!("{short}{ellipsis}"),
    }
}

/// `spans` in at most `width` columns: whole if they fit, else cut where the room ends with a
/// `…` (in the style of the span it cuts), so a cut line says so.
pub fn fit_spans(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    if spans.iter().map(Span::width).sum::<usize>() <= width {
        return Line::from(spans);
    }
    let mut fitted = Vec::new();
    let mut used = 0;
    for span in spans {
        let room = width.saturating_sub(used);
        if room == 0 {
            break;
        }
        if span.width() < room {
            used += span.width();
            fitted.push(span);
            continue;
        }
        let (head, _) = format::split_at_width(&span.content, room - 1);
        fitted.push(Span::styled(format!("{head}…"), span.style));
        break;
    }
    Line::from(fitted)
}

/// A filter being typed, on the bottom border of the upper pane of `screen` so that the list
/// stays in sight; the row it takes, if the screen has room for the panes.
pub fn draw_filter_field(frame: &mut Frame, screen: Rect, input: &Input, theme: &Theme) -> Option<Rect> {
    let pane = super::layout::ScreenLayout::new(screen)?.locks;
    let y = pane.bottom().saturating_sub(1);
    let area = Rect::new(pane.x + 1, y, pane.width.saturating_sub(2), 1);
    let width = usize::from(area.width.saturating_sub(12));
    let mut line = input_line(input, width, theme.header);
    line.spans.insert(0, Span::styled(" filter ", theme.key));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(line), area);
    set_input_cursor(frame, input, width, area.x + 8, area.y);
    Some(area)
}

/// A centred rectangle of at most `width` x `height` inside `area`. A dialog on the whole screen
/// leaves its first line alone: the status bar, with the READ-ONLY badge, is always seen.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let area = if area.y == 0 && area.height > 2 && height >= area.height {
        Rect {
            y: 1,
            height: area.height - 1,
            ..area
        }
    } else {
        area
    };
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    rect
}

/// Clears `area` and draws a bordered box titled `title` with `lines` inside, word-wrapped.
pub fn boxed(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line>, theme: &Theme) {
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(format!(" {title} "));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: false }),
        area,
    );
}

/// `> text` with the text scrolled sideways so that the cursor stays within `width`. The text
/// is the user's own (typed, or pasted with control characters dropped), shown as typed so that
/// the cursor lines up.
pub fn input_line<'a>(input: &Input, width: usize, style: Style) -> Line<'a> {
    let shown: String = input
        .value()
        .chars()
        .skip(input.visual_scroll(width))
        .take(width)
        .collect();
    Line::styled(format!("> {shown}"), style)
}

/// Puts the terminal cursor where [`input_line`] at `x`, `y` shows the input's cursor.
pub fn set_input_cursor(frame: &mut Frame, input: &Input, width: usize, x: u16, y: u16) {
    let cursor = input
        .visual_cursor()
        .saturating_sub(input.visual_scroll(width))
        .min(width) as u16;
    frame.set_cursor_position(Position::new(x + 2 + cursor, y));
}

/// Rows `line` takes once word-wrapped to `width` columns, as [`boxed`] wraps it: words move to
/// the next row whole, and a word longer than a row is broken up.
pub fn wrapped_rows(line: &Line, width: usize) -> usize {
    let width = width.max(1);
    let text: String = line.spans.iter().map(|span| span.content.as_ref()).collect();
    let (mut rows, mut used) = (1, 0);
    for word in text.split(' ') {
        let word = Span::raw(word).width();
        let needed = if used == 0 { word } else { used + 1 + word };
        if needed <= width {
            used = needed;
        } else {
            rows += word.saturating_sub(1) / width + 1;
            used = (word.saturating_sub(1) % width) + 1;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_counted_as_the_rows_they_wrap_to() {
        assert_eq!(wrapped_rows(&Line::from(""), 10), 1);
        assert_eq!(wrapped_rows(&Line::from("0123456789"), 10), 1);
        assert_eq!(wrapped_rows(&Line::from("01234 6789 abc"), 10), 2);
        assert_eq!(wrapped_rows(&Line::from("a 0123456789012345"), 10), 3);
    }

    #[test]
    fn cut_lines_end_in_an_ellipsis_in_the_style_of_what_was_cut() {
        let spans = || vec![Span::raw("设备 "), Span::styled("MC-1", Style::new().bold())];
        let text = |line: Line| {
            line.spans
                .iter()
                .map(|s| s.content.to_string())
                .collect::<String>()
        };
        assert_eq!(text(fit_spans(spans(), 9)), "设备 MC-1");
        assert_eq!(text(fit_spans(spans(), 8)), "设备 MC…");
        assert_eq!(
            text(fit_spans(spans(), 5)),
            "设备…",
            "cut where the first span ends"
        );
        assert_eq!(text(fit_spans(spans(), 4)), "设…");
        assert_eq!(fit_spans(spans(), 8).spans[1].style, Style::new().bold());
    }

    #[test]
    fn short_ids_keep_the_module() {
        assert_eq!(short_lock_id("0b6e7a1c-5c1f-4a8e@102"), "0b6e7a1c…@102");
        assert_eq!(short_lock_id("abc@100"), "abc@100");
        assert_eq!(short_lock_id("plainid"), "plainid");
        assert_eq!(short_lock_id("no-module-at-all"), "no-modul…");
    }
}
