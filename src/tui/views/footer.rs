//! The bottom line: hints for the keys that work right now (from the key table), and the
//! latest notice on the right.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::format;
use crate::tui::app::App;
use crate::tui::keymap::{self, Scope};
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let hints_area = match &app.status.notice {
        None => area,
        Some(notice) => {
            let notice = format::escape(notice);
            let notice_width = (notice.chars().count() as u16 + 1).min(area.width / 2);
            let [left, right] =
                Layout::horizontal([Constraint::Min(0), Constraint::Length(notice_width)]).areas(area);
            frame.render_widget(Paragraph::new(Span::styled(notice, theme.notice)), right);
            left
        }
    };
    let mut spans = Vec::new();
    for (keys, label) in fitting_hints(&app.active_scopes(), usize::from(hints_area.width)) {
        spans.push(Span::styled(format!(" {keys}"), theme.key));
        spans.push(Span::raw(format!(" {label} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), hints_area);
}

/// The hints of `scopes` that fit in `width` columns, whole. The keys that work everywhere
/// (quit, help, switching panes) are kept first, so that a newcomer always sees how to get
/// around; the focused pane's own hints fill the rest in table order. Every key is in the help.
fn fitting_hints(scopes: &[Scope], width: usize) -> Vec<(&'static str, &'static str)> {
    let hint_width = |(keys, label): &(&str, &str)| keys.chars().count() + label.chars().count() + 3;
    let (own, everywhere): (Vec<Scope>, Vec<Scope>) = scopes.iter().partition(|s| **s != Scope::Global);
    let everywhere = keymap::hints(&everywhere);
    let mut room = width.saturating_sub(everywhere.iter().map(hint_width).sum());
    let mut fitting: Vec<_> = keymap::hints(&own)
        .into_iter()
        .take_while(|hint| match room.checked_sub(hint_width(hint)) {
            Some(left) => {
                room = left;
                true
            }
            None => false,
        })
        .collect();
    fitting.extend(everywhere);
    fitting
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(hints: &[(&str, &str)]) -> String {
        hints.iter().map(|(k, l)| format!(" {k} {l} ")).collect()
    }

    #[test]
    fn global_hints_survive_a_narrow_footer_and_pane_hints_are_never_cut() {
        let scopes = [Scope::LocksPane, Scope::Global];
        let wide = shown(&fitting_hints(&scopes, 200));
        assert!(
            wide.contains("v full ids") && wide.ends_with("Tab next pane "),
            "{wide}"
        );
        let narrow = fitting_hints(&scopes, 60);
        let text = shown(&narrow);
        assert!(text.chars().count() <= 60, "{text}");
        assert!(
            text.contains("n new") && text.ends_with("? help  Tab next pane "),
            "{text}"
        );
        assert!(!text.contains("v full ids"), "{text}");
    }

    #[test]
    fn dialogs_show_only_their_own_hints() {
        let text = shown(&fitting_hints(&[Scope::Confirm], 100));
        assert_eq!(text, " y/Enter yes  n/Esc no ");
    }
}
