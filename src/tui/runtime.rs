//! The async loop: terminal events, clock ticks, and API results, all turned into [`Action`]s
//! for `App::update`; the [`Effect`]s it returns are carried out here. The screen is redrawn
//! only when the app says something visible changed. Ticks come when the app says the clock
//! next changes something ([`App::next_clock_change`]), at least once a second.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use chrono::Utc;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use super::action::{Action, ApiCall, ApiOutcome, ApiReply, Effect, RequestId};
use super::app::App;
use super::clipboard;
use super::editor;
use super::journal_writer::JournalWriter;
use super::record_runner;
use super::terminal;
use super::theme::Theme;
use super::views;
use crate::api::Client;

/// How often the busy spinner moves while a call is in flight.
const SPINNER_INTERVAL: Duration = Duration::from_millis(120);
/// How long quitting waits for calls still in flight, so that a lock created at the last
/// moment still reaches the journal.
const QUIT_GRACE: Duration = Duration::from_secs(3);
/// Longest time between ticks, so that the app's clock stays fresh for what it stamps and
/// decides even while no countdown runs.
const MAX_TICK_INTERVAL: Duration = Duration::from_secs(1);
/// How long after a clock change the tick comes: timers round, and the wall clock (which the app
/// counts in) and the monotonic clock (which timers use) are read one after the other, so a
/// tick at the very instant could read a clock still short of the change.
const TICK_SLACK: Duration = Duration::from_millis(5);

/// What carrying out an action asks of the loop itself.
#[derive(Debug, Default)]
struct Flow {
    quit: bool,
    /// Hand the terminal to the user's editor to edit this text.
    edit: Option<String>,
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal,
    InputClosed,
}

pub struct Runtime<B: Backend + Write> {
    pub terminal: Terminal<B>,
    pub app: App,
    pub theme: Theme,
    pub client: Client,
    pub journal: JournalWriter,
    pub actions: UnboundedSender<Action>,
    pub results: UnboundedReceiver<Action>,
}

/// A channel for actions produced outside the terminal (API results, journal writes).
pub fn action_channel() -> (UnboundedSender<Action>, UnboundedReceiver<Action>) {
    mpsc::unbounded_channel()
}

impl<B: Backend + Write> Runtime<B>
where
    B::Error: Send + Sync + 'static,
{
    /// Runs until the user quits, input ends, or SIGTERM/SIGHUP/SIGINT arrives.
    pub async fn run(&mut self) -> Result<Exit, Box<dyn std::error::Error>> {
        // `None` while the user's editor has the terminal: then nothing reads it or draws on it,
        // while ticks (auto-renewals) and API results go on.
        let mut events = Some(EventStream::new());
        let mut last_tick = Instant::now();
        let tick = tokio::time::sleep_until(self.next_tick(last_tick).into());
        tokio::pin!(tick);
        let mut spinner = tokio::time::interval(SPINNER_INTERVAL);
        spinner.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sighup = signal(SignalKind::hangup())?;
        // In raw mode Ctrl+C is a key, so SIGINT comes from elsewhere (kill -INT): leave as on
        // SIGTERM. Not while the editor runs: there Ctrl+C is meant for the editor.
        let mut sigint = signal(SignalKind::interrupt())?;
        self.draw()?;
        let exit = loop {
            let action = tokio::select! {
                event = next_event(&mut events) => match event {
                    Some(Ok(event)) => match action_of(event) {
                        Some(action) => action,
                        None => continue,
                    },
                    Some(Err(e)) => return Err(e.into()),
                    None => break Exit::InputClosed,
                },
                _ = &mut tick => {
                    last_tick = Instant::now();
                    Action::Tick(Utc::now())
                }
                _ = spinner.tick(), if self.app.is_busy() => Action::Animate,
                Some(action) = self.results.recv() => action,
                _ = sigterm.recv() => break Exit::Signal,
                _ = sighup.recv() => break Exit::Signal,
                _ = sigint.recv() => match events {
                    Some(_) => break Exit::Signal,
                    None => continue,
                },
            };
            if matches!(action, Action::EditorDone(_)) && events.is_none() {
                self.take_back_terminal()?;
                events = Some(EventStream::new());
            }
            let flow = self.apply(action)?;
            if flow.quit {
                break Exit::Quit;
            }
            if let Some(text) = flow.edit {
                // The stream's reader would take the editor's keys: stop it first.
                events = None;
                self.hand_over_terminal(text);
            }
            if events.is_some() && self.app.take_redraw() {
                self.draw()?;
            }
            tick.as_mut().reset(self.next_tick(last_tick).into());
        };
        self.finish_calls_in_flight().await;
        Ok(exit)
    }

    /// Updates the app and carries out its effects, except those for the loop itself.
    fn apply(&mut self, action: Action) -> io::Result<Flow> {
        let mut flow = Flow::default();
        for effect in self.app.update(action) {
            match effect {
                Effect::Quit => flow.quit = true,
                Effect::EditInEditor(text) => flow.edit = Some(text),
                Effect::Api { request, call } => {
                    spawn_call(self.client.clone(), request, call, &self.actions)
                }
                Effect::Journal(change) => self.journal.apply(change),
                Effect::StartBulkDelete(job) => {
                    let (client, actions) = (self.client.clone(), self.actions.clone());
                    tokio::spawn(record_runner::run_bulk_delete(client, job, move |progress| {
                        // The receiver is gone only once the app has shut down.
                        let _ = actions.send(Action::Bulk(progress));
                    }));
                }
                Effect::CancelBulkDelete(flag) => flag.cancel(),
                Effect::CopyToClipboard(text) => {
                    let backend = self.terminal.backend_mut();
                    backend.write_all(clipboard::osc52(&text).as_bytes())?;
                    Write::flush(backend)?;
                }
            }
        }
        Ok(flow)
    }

    /// Leaves the terminal to the user's editor, editing `text` in a task whose result comes
    /// back as [`Action::EditorDone`]. The terminal event stream must be dropped already.
    fn hand_over_terminal(&mut self, text: String) {
        let actions = self.actions.clone();
        let suspended = terminal::suspend();
        tokio::spawn(async move {
            let result = match suspended {
                Ok(()) => {
                    let editor = editor::editor_command(|name| std::env::var(name).ok());
                    editor::edit(&text, &editor, &std::env::temp_dir()).await
                }
                Err(e) => Err(format!("could not hand the terminal to the editor: {e}")),
            };
            // The receiver is gone only once the app has shut down.
            let _ = actions.send(Action::EditorDone(result));
        });
    }

    /// Application mode again after the editor, with the whole screen redrawn at its current
    /// size (the terminal may have been resized meanwhile).
    fn take_back_terminal(&mut self) -> io::Result<()> {
        terminal::resume()?;
        let size = self.terminal.size().map_err(io::Error::other)?;
        // Clears the screen and forgets the last frame, so that the next one is drawn whole.
        // (`clear` would do too, but asks the terminal where its cursor is and waits.)
        self.terminal
            .resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))
            .map_err(io::Error::other)?;
        self.apply(Action::Resize {
            width: size.width,
            height: size.height,
        })?;
        Ok(())
    }

    /// When to tick next: just after the app's next clock change, and within
    /// [`MAX_TICK_INTERVAL`] of the last tick.
    fn next_tick(&self, last_tick: Instant) -> Instant {
        tick_deadline(
            self.app.next_clock_change(),
            Utc::now(),
            Instant::now(),
            last_tick,
        )
    }

    fn draw(&mut self) -> io::Result<()> {
        let (app, theme) = (&self.app, &self.theme);
        self.terminal
            .draw(|frame| views::draw(frame, app, theme))
            .map(drop)
            .map_err(io::Error::other)
    }

    /// After the loop: lets calls in flight answer (for a short while) so their journal
    /// changes are written. Nothing is drawn any more.
    async fn finish_calls_in_flight(&mut self) {
        let deadline = tokio::time::Instant::now() + QUIT_GRACE;
        while self.app.is_busy() {
            let Ok(Some(action)) = tokio::time::timeout_at(deadline, self.results.recv()).await else {
                break;
            };
            for effect in self.app.update(action) {
                if let Effect::Journal(change) = effect {
                    self.journal.apply(change);
                }
            }
        }
    }
}

/// The instant to tick at for a clock change at `change` (wall clock), the clocks read as
/// `wall_now` and `mono_now`. A change already past ticks at once (plus the slack).
fn tick_deadline(
    change: Option<chrono::DateTime<Utc>>,
    wall_now: chrono::DateTime<Utc>,
    mono_now: Instant,
    last_tick: Instant,
) -> Instant {
    let latest = last_tick + MAX_TICK_INTERVAL;
    match change {
        Some(at) => {
            let wait = (at - wall_now).to_std().unwrap_or(Duration::ZERO);
            (mono_now + wait + TICK_SLACK).min(latest)
        }
        None => latest,
    }
}

/// The next terminal event, or never while the terminal is handed over.
async fn next_event(events: &mut Option<EventStream>) -> Option<io::Result<Event>> {
    match events {
        Some(events) => events.next().await,
        None => std::future::pending().await,
    }
}

/// The action for a terminal event, if the app cares about it.
fn action_of(event: Event) -> Option<Action> {
    match event {
        Event::Key(key) => Some(Action::Key(key)),
        Event::Mouse(mouse) => Some(Action::Mouse(mouse)),
        Event::Paste(text) => Some(Action::Paste(text)),
        Event::Resize(width, height) => Some(Action::Resize { width, height }),
        Event::FocusGained | Event::FocusLost => None,
    }
}

/// Performs `call` as a task and sends its result back as an [`Action::ApiDone`].
fn spawn_call(client: Client, request: RequestId, call: ApiCall, results: &UnboundedSender<Action>) {
    let results = results.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let outcome = match call {
            ApiCall::CreateLock(module) => ApiOutcome::LockCreated(client.create_lock(module).await),
            ApiCall::RenewLock(lock) => ApiOutcome::LockRenewed(client.renew_lock(&lock).await),
            ApiCall::ReleaseLock(lock_id) => ApiOutcome::LockReleased(client.release_lock(&lock_id).await),
            ApiCall::Records(call) => ApiOutcome::Records(record_runner::perform(&client, call).await),
        };
        let reply = ApiReply {
            request,
            outcome,
            latency: started.elapsed(),
            finished_at: Utc::now(),
            clock_offset: client.clock_offset(),
        };
        // The receiver is gone only once the app has shut down.
        let _ = results.send(Action::ApiDone(Box::new(reply)));
    });
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn ticks_come_just_after_the_next_change_and_at_least_once_a_second() {
        let wall = Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap();
        let mono = Instant::now();
        let soon = wall + chrono::Duration::milliseconds(250);
        assert_eq!(
            tick_deadline(Some(soon), wall, mono, mono),
            mono + Duration::from_millis(250) + TICK_SLACK
        );
        let late = wall + chrono::Duration::seconds(30);
        assert_eq!(
            tick_deadline(Some(late), wall, mono, mono),
            mono + MAX_TICK_INTERVAL
        );
        assert_eq!(tick_deadline(None, wall, mono, mono), mono + MAX_TICK_INTERVAL);
        // Events since the last tick do not push the next one further away.
        let later = mono + Duration::from_millis(900);
        assert_eq!(tick_deadline(None, wall, later, mono), mono + MAX_TICK_INTERVAL);
        // A change already past (a busy moment): tick right away.
        let past = wall - chrono::Duration::milliseconds(40);
        assert_eq!(tick_deadline(Some(past), wall, mono, mono), mono + TICK_SLACK);
    }
}
