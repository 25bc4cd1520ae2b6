//! The help overlay: every key of the key table, grouped by where it works.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::keymap::{self, HelpLine};
use crate::tui::layout::{help_area, help_rows};
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, screen: Rect, scroll: usize, theme: &Theme) {
    let lines: Vec<Line> = keymap::help_lines()
        .into_iter()
        .map(|line| match line {
            HelpLine::Blank => Line::from(""),
            HelpLine::Title(scope) => Line::styled(scope.title(), theme.header),
            HelpLine::Key(binding) => Line::from(vec![
                Span::styled(format!("  {:<12}", binding.keys), theme.key),
                Span::raw(binding.help),
            ]),
        })
        .collect();
    let area = help_area(screen);
    // The app caps the scroll for the size it knows; this frame may be bigger (a resize not
    // yet reported), and then shows no empty lines past the last one either.
    let scroll = scroll.min(lines.len().saturating_sub(help_rows(screen)));
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(" Keys — j/k scroll, ? or Esc close ");
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((scroll as u16, 0)),
        area,
    );
}
