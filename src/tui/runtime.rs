//! The async loop: terminal events, clock ticks, stop signals and the answers of API calls, all
//! turned into [`Action`]s for `App::update`; the [`Effect`]s it returns are carried out here.
//! The screen is redrawn only when the app says something visible changed. Ticks come when the
//! app says the clock next changes something ([`App::next_clock_change`]), at least once a
//! second.
//!
//! The loop keeps the connection's history ([`Keeping`]): a change that leaves no other trace is
//! sent only while the history can be written, else it comes back to the app unsent
//! ([`Action::Unrecorded`]); at start and after each switch, bulk deletes a killed process left
//! unfinished are looked for in the background.
//!
//! Everything the loop needs of the terminal and the process comes through a [`Host`]: the real
//! one ([`TerminalHost`]) in the app, a fake in tests, so that the loop's rules (the quit grace,
//! the tick deadline, the hand-over to the editor) are tested without a terminal.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use crossterm::event::{Event, EventStream};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use super::action::{
    Action, ApiCall, ApiReply, ConnectTo, Effect, QueueChange, RequestId, Switched, Unrecorded,
};
use super::app::App;
use super::clipboard;
use super::draw;
use super::effects;
use super::journal_writer::JournalWriter;
use super::terminal;
use super::theme::Theme;
use crate::api::Client;
use crate::connect::{self, ConnectOptions, Connection};
use crate::editor;
use crate::history::{self, Keeping};
use crate::journal::Journal;

/// How often the busy spinner moves while a call is in flight.
const SPINNER_INTERVAL: Duration = Duration::from_millis(120);
/// How long quitting waits for calls still in flight, so that a lock created at the last
/// moment still reaches the journal.
pub const QUIT_GRACE: Duration = Duration::from_secs(3);
/// Longest time between ticks, so that the app's clock stays fresh for what it stamps and
/// decides even while no countdown runs.
const MAX_TICK_INTERVAL: Duration = Duration::from_secs(1);
/// How long after a clock change the tick comes: timers round, and the wall clock (which the app
/// counts in) and the monotonic clock (which timers use) are read one after the other, so a
/// tick at the very instant could read a clock still short of the change.
const TICK_SLACK: Duration = Duration::from_millis(5);

/// What the loop needs of the terminal and the process.
pub trait Host {
    /// The terminal's events from now on; asked for again after each hand-over to the editor.
    fn events(&mut self) -> BoxStream<'static, io::Result<Event>>;
    /// Signals that end the app.
    fn stop_signals(&mut self) -> BoxStream<'static, Stop>;
    /// Writes an escape sequence past the screen (OSC 52).
    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Gives the terminal up for a program in the foreground.
    fn suspend(&mut self) -> io::Result<()>;
    /// Takes it back; the screen is blank.
    fn resume(&mut self) -> io::Result<()>;
    /// Edits `text` in the user's editor (the terminal is suspended meanwhile).
    fn edit(&self, text: String) -> BoxFuture<'static, Result<String, String>>;
}

/// A signal that ends the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM, SIGHUP (the SSH connection dropped): always.
    Terminate,
    /// SIGINT: only while the app has the terminal (in the editor, Ctrl+C is the editor's).
    Interrupt,
}

/// The real terminal and process.
pub struct TerminalHost;

impl Host for TerminalHost {
    fn events(&mut self) -> BoxStream<'static, io::Result<Event>> {
        EventStream::new().boxed()
    }

    fn stop_signals(&mut self) -> BoxStream<'static, Stop> {
        let streams: Vec<BoxStream<'static, Stop>> = [
            (SignalKind::terminate(), Stop::Terminate),
            (SignalKind::hangup(), Stop::Terminate),
            // In raw mode Ctrl+C is a key, so SIGINT comes from elsewhere (kill -INT): leave as
            // on SIGTERM.
            (SignalKind::interrupt(), Stop::Interrupt),
        ]
        .into_iter()
        .filter_map(|(kind, stop)| Some((signal(kind).ok()?, stop)))
        .map(|(mut s, stop)| {
            futures::stream::poll_fn(move |cx| s.poll_recv(cx).map(|o| o.map(|()| stop))).boxed()
        })
        .collect();
        futures::stream::select_all(streams).boxed()
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut stdout = io::stdout();
        stdout.write_all(bytes)?;
        stdout.flush()
    }

    fn suspend(&mut self) -> io::Result<()> {
        terminal::suspend()
    }

    fn resume(&mut self) -> io::Result<()> {
        terminal::resume()
    }

    fn edit(&self, text: String) -> BoxFuture<'static, Result<String, String>> {
        async move {
            let editor = editor::editor_command(|name| std::env::var(name).ok());
            editor::edit(&text, &editor, &std::env::temp_dir()).await
        }
        .boxed()
    }
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal,
    InputClosed,
}

pub struct Runtime<B: Backend, H: Host> {
    pub terminal: Terminal<B>,
    pub app: App,
    pub theme: Theme,
    pub client: Client,
    /// Whether the connection's changes are written into the history: a change that leaves no
    /// other trace waits for the user's word while it cannot be.
    pub keeping: Keeping,
    pub journal: JournalWriter,
    pub host: H,
    pub actions: UnboundedSender<Action>,
    pub results: UnboundedReceiver<Action>,
    /// What `:profile` and `:user` switch; `None` where the app was not started from a
    /// configuration (tests), and then they fail with a message.
    pub switcher: Option<Switcher>,
    /// Who queues deletions from this app: the connection's server and user (see
    /// [`Connection::who`]).
    pub who: history::Who,
    /// The Devices view's reading of sizes, through the connection's size cache.
    pub sizes: effects::SizeReader,
}

/// A connection attempt's outcome, with the options it was made from and its number.
type Attempt = (u64, ConnectOptions, Result<Connection, String>);

/// The connection the app talks through and how it was made, so that `:profile` and `:user`
/// can make the next one; the old one is closed (an embedded server stops) once the new one is
/// in use.
pub struct Switcher {
    options: ConnectOptions,
    connection: Connection,
    journal_path: PathBuf,
    /// An attempt that succeeded or failed, waiting for the calls in flight to answer first.
    ready: Option<Attempt>,
    /// The number of the latest attempt: only its outcome counts (a slower earlier one, say a
    /// token command that took its time, must not switch after the user asked for another).
    latest: u64,
    sender: UnboundedSender<Attempt>,
    receiver: UnboundedReceiver<Attempt>,
}

impl Switcher {
    pub fn new(options: ConnectOptions, connection: Connection, journal_path: PathBuf) -> Switcher {
        let (sender, receiver) = mpsc::unbounded_channel();
        Switcher {
            options,
            connection,
            journal_path,
            ready: None,
            latest: 0,
            sender,
            receiver,
        }
    }

    /// Closes the connection in use (stops the embedded server, if that is where it goes).
    pub async fn close(self) {
        self.connection.close().await;
    }

    /// Starts connecting to `to` in the background.
    fn start(&mut self, to: ConnectTo) {
        self.latest += 1;
        // An earlier attempt waiting to be put in use is superseded too.
        self.ready = None;
        let attempt = self.latest;
        let mut next = self.options.clone();
        next.fresh = false;
        match to {
            ConnectTo::Profile(name) => {
                // Another profile: the command line's overrides of this connection do not apply.
                next.profile = Some(name);
                next.base_url = None;
                next.user_id = None;
                next.token_file = None;
                next.app_id = None;
                next.app_secret_file = None;
                next.ca_file = None;
            }
            ConnectTo::User(id) => next.user_id = Some(id),
        }
        let sender = self.sender.clone();
        tokio::spawn(async move {
            let result = connect::connect(&next).await.map_err(|e| e.to_string());
            let _ = sender.send((attempt, next, result));
        });
    }
}

/// The next finished connection attempt, or never without a switcher.
async fn next_attempt(switcher: &mut Option<Switcher>) -> Option<Attempt> {
    match switcher {
        Some(switcher) => switcher.receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// A channel for actions produced outside the terminal (API results, journal writes).
pub fn action_channel() -> (UnboundedSender<Action>, UnboundedReceiver<Action>) {
    mpsc::unbounded_channel()
}

impl<B: Backend, H: Host> Runtime<B, H>
where
    B::Error: Send + Sync + 'static,
{
    /// Runs until the user quits, input ends, or a stop signal arrives.
    pub async fn run(&mut self) -> Result<Exit, Box<dyn std::error::Error>> {
        // `None` while the user's editor has the terminal: then nothing reads it or draws on it,
        // while ticks (auto-renewals) and API results go on.
        let mut events = Some(self.host.events());
        let mut stops = self.host.stop_signals();
        let mut last_tick = Instant::now();
        let tick = tokio::time::sleep_until(self.next_tick(last_tick).into());
        tokio::pin!(tick);
        let mut spinner = tokio::time::interval(SPINNER_INTERVAL);
        spinner.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        self.recover_in_background();
        // The queued deletions, for the marks in the records pane and the Devices view.
        self.spawn_queue_work(|_| None);
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
                Some(attempt) = next_attempt(&mut self.switcher) => {
                    if let Some(switcher) = &mut self.switcher {
                        if attempt.0 == switcher.latest {
                            switcher.ready = Some(attempt);
                        } else {
                            let (_, options, result) = attempt;
                            if let Ok(superseded) = result {
                                superseded.close().await;
                            }
                            let what = options.profile.map_or_else(
                                || "the earlier connection".to_string(),
                                |name| format!("profile {name}"),
                            );
                            self.apply(Action::Superseded(what))?;
                        }
                    }
                    self.switch_when_idle().await?;
                    if events.is_some() && self.app.take_redraw() {
                        self.draw()?;
                    }
                    continue;
                }
                Some(stop) = stops.next() => match (stop, &events) {
                    // Not while the editor runs: there Ctrl+C is meant for the editor.
                    (Stop::Interrupt, None) => continue,
                    _ => break Exit::Signal,
                },
            };
            if matches!(action, Action::EditorDone(_)) && events.is_none() {
                self.take_back_terminal()?;
                events = Some(self.host.events());
            }
            let flow = self.apply(action)?;
            if flow.quit {
                break Exit::Quit;
            }
            self.switch_when_idle().await?;
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

    /// Puts a finished connection attempt into use once no call is in flight (an answer of the
    /// old server must reach the app, and a created lock the journal, before the switch): the
    /// client, the journal writer (for the new server and user), and the app's panes.
    async fn switch_when_idle(&mut self) -> io::Result<()> {
        let Some(switcher) = &mut self.switcher else {
            return Ok(());
        };
        if switcher.ready.is_none() || self.app.is_busy() {
            return Ok(());
        }
        let Some((_, options, result)) = switcher.ready.take() else {
            return Ok(());
        };
        let connection = match result {
            Ok(connection) => connection,
            Err(message) => {
                self.apply(Action::ConnectFailed(message))?;
                return Ok(());
            }
        };
        let journal = match Journal::load(&switcher.journal_path) {
            Ok(journal) => journal,
            Err(e) => {
                connection.close().await;
                self.apply(Action::ConnectFailed(format!(
                    "cannot read the lock journal: {e}"
                )))?;
                return Ok(());
            }
        };
        let old = std::mem::replace(&mut switcher.connection, connection);
        switcher.options = options;
        old.close().await;
        let connection = &switcher.connection;
        let (session, held) = super::session_of(connection, &journal);
        let warnings = connection.warnings.clone();
        self.client = connection.client.clone();
        self.keeping = connection.history.clone();
        self.who = connection.who();
        self.sizes
            .switch_to(connection.journal_key(), connection.client.user_id());
        self.journal = JournalWriter::start(
            journal,
            connection.journal_key().to_string(),
            connection.client.clone(),
            self.actions.clone(),
        );
        self.apply(Action::Connected(Box::new(Switched {
            session,
            held,
            warnings,
        })))?;
        self.recover_in_background();
        self.spawn_queue_work(|_| None);
        Ok(())
    }

    /// Looks for bulk deletes of this connection that a killed process left unfinished (see
    /// [`history::recover`]), in the background; each one found, and each one a quiet command
    /// found before, is said in the activity log.
    fn recover_in_background(&self) {
        let Some(recorder) = self.keeping.recorder().cloned() else {
            return;
        };
        let (client, actions) = (self.client.clone(), self.actions.clone());
        tokio::spawn(async move {
            let mut said = history::recover(&recorder, &client).await;
            // What quiet commands found before and could not say.
            said.extend(recorder.history().take_notices());
            for sentence in said {
                // The receiver is gone only once the app has shut down.
                let _ = actions.send(Action::Recovered(sentence));
            }
        });
    }

    /// Updates the app and carries out its effects, except those for the loop itself.
    fn apply(&mut self, action: Action) -> io::Result<Flow> {
        let mut flow = Flow::default();
        for effect in self.app.update(action) {
            self.carry_out(effect, self.keeping.clone(), &mut flow)?;
        }
        Ok(flow)
    }

    /// Carries out one effect; changes that leave no trace are sent only if `keeping` can
    /// write them down (or is off).
    fn carry_out(&mut self, effect: Effect, keeping: Keeping, flow: &mut Flow) -> io::Result<()> {
        match effect {
            Effect::Quit => flow.quit = true,
            Effect::RememberModule(module) => {
                if let Err(message) = super::remember_module(module) {
                    let _ = self.actions.send(Action::Background(message));
                }
            }
            Effect::Connect(to) => match &mut self.switcher {
                Some(switcher) => switcher.start(to),
                None => {
                    let _ = self.actions.send(Action::ConnectFailed(
                        "this app was not started from a configuration".into(),
                    ));
                }
            },
            Effect::EditInEditor(text) => flow.edit = Some(text),
            Effect::Api { request, call } => {
                spawn_call(self.client.clone(), keeping, request, call, &self.actions)
            }
            Effect::Journal(change) => self.journal.apply(change),
            Effect::StartBulkDelete(job) => {
                let (client, actions) = (self.client.clone(), self.actions.clone());
                tokio::spawn(async move {
                    let report = |progress| {
                        // The receiver is gone only once the app has shut down.
                        let _ = actions.send(Action::Bulk(progress));
                    };
                    if let Err((why, job)) = effects::run_bulk_delete(client, &keeping, job, report).await {
                        let effect = Effect::StartBulkDelete(job);
                        let _ = actions.send(Action::Unrecorded(Box::new(Unrecorded { why, effect })));
                    }
                });
            }
            Effect::WithoutHistory(effect) => self.carry_out(*effect, Keeping::Off, flow)?,
            Effect::ReadHistory => {
                let actions = self.actions.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = actions.send(Action::HistoryRead(effects::read_history()));
                });
            }
            Effect::ReadPending => self.spawn_queue_work(|_| None),
            Effect::QueueDeletes(job) => {
                let clock = (self.client.server_now(), self.client.clock_offset());
                self.spawn_queue_work(move |who| Some(effects::queue_deletes(job, who, clock, &keeping)));
            }
            Effect::CancelQueued(ids) => self.spawn_queue_work(move |_| Some(effects::cancel_queued(ids))),
            Effect::CancelBulkDelete(flag) => flag.cancel(),
            Effect::ReadSizes(request) => {
                let actions = self.actions.clone();
                self.sizes.request(&self.client, request, move |read| {
                    // The receiver is gone only once the app has shut down.
                    let _ = actions.send(Action::Sizes(read));
                });
            }
            Effect::CopyToClipboard(text) => self.host.write_raw(clipboard::osc52(&text).as_bytes())?,
        }
        Ok(())
    }

    /// Runs `change` on the queue of pending deletions off the loop (it reads and writes files)
    /// and reports what it did, then the queue as it is after it.
    fn spawn_queue_work(&self, change: impl FnOnce(&history::Who) -> Option<QueueChange> + Send + 'static) {
        let (actions, who) = (self.actions.clone(), self.who.clone());
        tokio::task::spawn_blocking(move || {
            // The receiver is gone only once the app has shut down.
            if let Some(changed) = change(&who) {
                let _ = actions.send(Action::QueueChanged(changed));
            }
            let _ = actions.send(Action::PendingRead(effects::read_pending(&who)));
        });
    }

    /// Leaves the terminal to the user's editor, editing `text` in a task whose result comes
    /// back as [`Action::EditorDone`]. The terminal event stream must be dropped already.
    fn hand_over_terminal(&mut self, text: String) {
        let actions = self.actions.clone();
        let edit = match self.host.suspend() {
            Ok(()) => self.host.edit(text),
            Err(e) => async move { Err(format!("could not hand the terminal to the editor: {e}")) }.boxed(),
        };
        tokio::spawn(async move {
            // The receiver is gone only once the app has shut down.
            let _ = actions.send(Action::EditorDone(edit.await));
        });
    }

    /// Application mode again after the editor, with the whole screen redrawn at its current
    /// size (the terminal may have been resized meanwhile).
    fn take_back_terminal(&mut self) -> io::Result<()> {
        self.host.resume()?;
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
            .draw(|frame| draw::draw(frame, app, theme))
            .map(drop)
            .map_err(io::Error::other)
    }

    /// After the loop: stops what the app was doing ([`App::shut_down`]) and lets what is
    /// under way answer, for a short while, so that journal changes are written and locks taken
    /// for one operation are released as it ends. Nothing is drawn any more, and nothing new is
    /// started but those releases.
    async fn finish_calls_in_flight(&mut self) {
        let deadline = tokio::time::Instant::now() + QUIT_GRACE;
        // Sizes read so far are kept in the cache; no further one is read.
        self.sizes.stop();
        let effects = self.app.shut_down();
        self.carry_out_at_exit(effects);
        while self.app.has_work_in_flight() {
            let Ok(Some(action)) = tokio::time::timeout_at(deadline, self.results.recv()).await else {
                break;
            };
            let effects = self.app.update(action);
            self.carry_out_at_exit(effects);
        }
    }

    fn carry_out_at_exit(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Journal(change) => self.journal.apply(change),
                Effect::CancelBulkDelete(flag) => flag.cancel(),
                Effect::Api {
                    request,
                    call: call @ ApiCall::ReleaseLock(_),
                } => spawn_call(
                    self.client.clone(),
                    self.keeping.clone(),
                    request,
                    call,
                    &self.actions,
                ),
                _ => {}
            }
        }
    }
}

/// What carrying out an action asks of the loop itself.
#[derive(Debug, Default)]
struct Flow {
    quit: bool,
    /// Hand the terminal to the user's editor to edit this text.
    edit: Option<String>,
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
            let wait = at
                .signed_duration_since(wall_now)
                .to_std()
                .unwrap_or(Duration::ZERO);
            mono_now
                .checked_add(wait + TICK_SLACK)
                .map_or(latest, |at| at.min(latest))
        }
        None => latest,
    }
}

/// The next terminal event, or never while the terminal is handed over.
async fn next_event(events: &mut Option<BoxStream<'static, io::Result<Event>>>) -> Option<io::Result<Event>> {
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

/// Performs `call` as a task and sends its result back as an [`Action::ApiDone`]; or, when it
/// leaves no trace and `keeping` cannot write it down, sends it back unsent as an
/// [`Action::Unrecorded`].
fn spawn_call(
    client: Client,
    keeping: Keeping,
    request: RequestId,
    call: ApiCall,
    results: &UnboundedSender<Action>,
) {
    let results = results.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let outcome = match effects::perform_kept(&client, &keeping, call).await {
            Ok(outcome) => outcome,
            Err((why, call)) => {
                let effect = Effect::Api { request, call };
                let _ = results.send(Action::Unrecorded(Box::new(Unrecorded { why, effect })));
                return;
            }
        };
        let reply = ApiReply {
            request,
            outcome,
            latency: started.elapsed(),
            finished_at: Utc::now(),
            clock_offset: client.clock_measured().then(|| client.clock_offset()),
        };
        // The receiver is gone only once the app has shut down.
        let _ = results.send(Action::ApiDone(Box::new(reply)));
    });
}

#[cfg(test)]
mod tests;
