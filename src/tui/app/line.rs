//! The command line (`:`): running what was typed — switching panes (the history and pending panes too),
//! listing a module,
//! filtering, read-only on and off, quitting, switching profile or user — or saying why not.

use super::{App, Pending};
use crate::tui::action::{ConnectTo, Effect};
use crate::tui::feature::Pane;
use crate::tui::shell;
use crate::tui::shell::activity::Outcome;
use crate::tui::shell::command_line::{self, CommandLine, LineCommand};

impl App {
    /// Runs a command line; one that is not understood stays open with the reason under it.
    pub(super) fn run_line(&mut self, mut line: CommandLine) -> Vec<Effect> {
        let text = line.input.value().to_string();
        let checked = command_line::parse(&text).and_then(|command| match self.refusal(&command) {
            Some(message) => Err(message),
            None => Ok(command),
        });
        let command = match checked {
            Ok(command) => command,
            Err(message) => {
                line.message = Some(message);
                line.history_at = None;
                self.shell = Some(shell::Dialog::CommandLine(line));
                return Vec::new();
            }
        };
        let rows = self.visible_rows();
        command_line::remember(&mut self.history, &text);
        match command {
            LineCommand::Locks => self.focus_pane(Pane::Locks),
            LineCommand::Devices => self.focus_pane(Pane::Devices),
            LineCommand::History => self.focus_pane(Pane::History),
            LineCommand::Pending => self.focus_pane(Pane::Pending),
            LineCommand::Records(None) => self.focus_pane(Pane::Records),
            LineCommand::Records(Some(module)) => {
                self.records.set_device_filter(None);
                let outs = self.records.list(module);
                let mut effects = self.apply(outs, Pending::Records);
                effects.extend(self.focus_pane(Pane::Records));
                effects
            }
            LineCommand::Filter(text) => {
                self.records.set_filter(&text, rows);
                self.focus_pane(Pane::Records)
            }
            LineCommand::ReadOnly(wanted) => {
                self.set_read_only(wanted.unwrap_or(!self.session.read_only));
                Vec::new()
            }
            LineCommand::Quit => self.quit(),
            LineCommand::Profile(name) => self.connect(ConnectTo::Profile(name)),
            LineCommand::User(id) => self.connect(ConnectTo::User(id)),
        }
    }

    /// Why this connection cannot run `command` (which parsed), if it cannot.
    pub(super) fn refusal(&self, command: &LineCommand) -> Option<String> {
        match command {
            LineCommand::Profile(name) if !self.profiles.contains(name) => Some(format!(
                "no profile {name:?}; {}",
                if self.profiles.is_empty() {
                    "the config file defines none".to_string()
                } else {
                    format!("profiles: {}", self.profiles.join(", "))
                }
            )),
            LineCommand::User(_) if self.session.embedded => {
                Some("the embedded demo server has one user".into())
            }
            _ => None,
        }
    }

    pub(super) fn set_read_only(&mut self, on: bool) {
        if !on && self.read_only_forced {
            self.status.notice =
                Some("read-only was asked for at start (--read-only or the profile); it stays on".into());
            return;
        }
        self.session.read_only = on;
        self.read_only_chosen = on;
        let text = if on {
            "read-only on: nothing that changes the server is sent, auto-renew pauses"
        } else {
            "read-only off"
        };
        self.activity
            .note(self.now, Outcome::Info, "read-only", text.into());
        self.status.notice = Some(text.into());
    }
}
