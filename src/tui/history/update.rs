//! The history pane's state changes: reading, filtering, moving, opening an entry.

use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::{Dialog, EntryView, State};
use crate::history::{Query, describe};
use crate::tui::action::{Effect, HistoryRead};
use crate::tui::keymap::{Command, HistoryCommand};
use crate::tui::list_pane::Load;
use crate::tui::text_input::insert_at_cursor;

impl State {
    /// The pane is opened: the history is read (again). Entries read before stay on screen
    /// meanwhile.
    pub fn start_reading(&mut self) {
        self.load = Load::Reading;
    }

    /// What reading found.
    pub fn on_read(&mut self, read: Result<HistoryRead, String>, rows: usize) {
        match read {
            Ok(read) => {
                self.entries = read.entries;
                self.unreadable = read.unreadable;
                self.load = Load::Read;
                self.apply_filter(rows);
            }
            Err(message) => self.load = Load::Failed(message),
        }
    }

    /// A key of the pane; the history is read again on `r`.
    pub fn command(&mut self, command: HistoryCommand) -> Vec<Effect> {
        match command {
            HistoryCommand::Filter => {
                self.dialog = Some(Dialog::Filter {
                    input: Input::new(self.filter.clone()),
                    error: None,
                });
            }
            HistoryCommand::Open => {
                if let Some(entry) = self.selected() {
                    // An entry always encodes; should it not, its words say why.
                    let text =
                        describe::whole(entry).unwrap_or_else(|e| format!("cannot show the entry: {e}"));
                    self.dialog = Some(Dialog::Entry(EntryView {
                        id: entry.id.clone(),
                        lines: text.lines().map(str::to_string).collect(),
                        scroll: 0,
                    }));
                }
            }
            HistoryCommand::Refresh => {
                self.start_reading();
                return vec![Effect::ReadHistory];
            }
        }
        Vec::new()
    }

    /// A key of the open dialog: `rows` is the list's height; the entry view is `page` rows of
    /// `width` columns.
    pub fn dialog_command(
        &mut self,
        command: Command,
        now: DateTime<Utc>,
        rows: usize,
        (width, page): (usize, usize),
    ) {
        let Some(dialog) = self.dialog.take() else {
            return;
        };
        match (dialog, command) {
            (_, Command::Cancel) => {}
            (Dialog::Filter { input, .. }, Command::Confirm) => match Query::from_words(input.value(), now) {
                Ok(query) => {
                    self.filter = input.value().trim().to_string();
                    self.query = query;
                    self.apply_filter(rows);
                }
                Err(error) => {
                    self.dialog = Some(Dialog::Filter {
                        input,
                        error: Some(error),
                    })
                }
            },
            (Dialog::Filter { .. }, Command::ClearInput) => {
                self.dialog = Some(Dialog::Filter {
                    input: Input::default(),
                    error: None,
                })
            }
            (Dialog::Entry(mut view), command) => {
                let last = view.rows(width).len().saturating_sub(page.max(1));
                view.scroll = match command {
                    Command::Up => view.scroll.saturating_sub(1),
                    Command::Down => view.scroll + 1,
                    Command::PageUp => view.scroll.saturating_sub(page),
                    Command::PageDown => view.scroll + page,
                    Command::Top => 0,
                    Command::Bottom => last,
                    _ => view.scroll,
                }
                .min(last);
                self.dialog = Some(Dialog::Entry(view));
            }
            (dialog, _) => self.dialog = Some(dialog),
        }
    }

    /// A key typed into the filter field.
    pub fn typed(&mut self, key: KeyEvent) {
        if let Some(Dialog::Filter { input, error }) = &mut self.dialog {
            input.handle_event(&Event::Key(key));
            *error = None;
        }
    }

    /// Text pasted into the filter field (as one line).
    pub fn pasted(&mut self, text: &str) {
        if let Some(Dialog::Filter { input, .. }) = &mut self.dialog {
            let one_line: String = text.chars().filter(|c| !c.is_control()).collect();
            insert_at_cursor(input, &one_line);
        }
    }

    pub fn move_cursor(&mut self, delta: isize, rows: usize) {
        self.cursor.move_by(delta, self.visible.len(), rows);
    }

    /// A click on the `row`-th line shown.
    pub fn click(&mut self, row: usize) {
        self.cursor.click(row, self.visible.len());
    }

    /// The entries the query lets through, the cursor on the first (the newest).
    fn apply_filter(&mut self, rows: usize) {
        self.visible = (0..self.entries.len())
            .filter(|&i| self.query.matches(&self.entries[i]))
            .collect();
        self.cursor.select(0, self.visible.len(), rows);
    }
}
