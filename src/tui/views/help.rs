//! The help overlay: every key of the key table, grouped by where it works.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::tui::keymap::{self, Scope};
use crate::tui::theme::Theme;

const SCOPES: [Scope; 17] = [
    Scope::Global,
    Scope::LocksPane,
    Scope::ActivityPane,
    Scope::ModulePicker,
    Scope::TextInput,
    Scope::Confirm,
    Scope::QuitPrompt,
    Scope::Help,
    Scope::RecordsPane,
    Scope::RecordForm,
    Scope::RecordFormModule,
    Scope::RecordDetail,
    Scope::RecordText,
    Scope::TypeToConfirm,
    Scope::Cleanup,
    Scope::BulkRunning,
    Scope::BulkSummary,
];

pub fn draw(frame: &mut Frame, screen: Rect, scroll: usize, theme: &Theme) {
    let mut lines = Vec::new();
    for scope in SCOPES {
        let mut bindings = keymap::bindings_of(scope).peekable();
        if bindings.peek().is_none() {
            continue;
        }
        if !lines.is_empty() {
            lines.push(Line::from(""));
        }
        lines.push(Line::styled(scope.title(), theme.header));
        for binding in bindings {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<12}", binding.keys), theme.key),
                Span::raw(binding.help),
            ]));
        }
    }
    let area = centered(screen, 76, screen.height.saturating_sub(2));
    let visible = usize::from(area.height.saturating_sub(2));
    let scroll = scroll.min(lines.len().saturating_sub(visible));
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
