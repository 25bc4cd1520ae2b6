//! The interactive application opened by `koobackup` with no subcommand.
//!
//! Data flow: terminal event / tick / API result → [`Action`] → [`App::update`] (pure) → new
//! state plus [`Effect`]s → the [`runtime`] performs them (API calls as tasks, journal writes on
//! a writer thread, OSC 52) → results come back as actions. Views in [`views`] only draw.
//!
//! Adding a pane: give it a state module under `app/`, a variant in [`app::Pane`] and a
//! [`keymap::Scope`], its keys in [`keymap::BINDINGS`] (footer and help follow), its calls in
//! [`ApiCall`]/[`ApiOutcome`], and a view module under `views/`.

pub mod action;
pub mod app;
mod clipboard;
mod editor;
mod journal_writer;
pub mod keymap;
pub mod layout;
pub mod record_action;
mod record_keys;
pub mod record_runner;
pub mod runtime;
mod terminal;
pub mod theme;
pub mod views;

use std::path::PathBuf;

use chrono::{Local, Utc};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;

pub use action::{Action, ApiCall, ApiOutcome, Effect};
pub use app::{App, Session};

use crate::connect::Connection;
use crate::journal::Journal;
use journal_writer::JournalWriter;
use runtime::Runtime;
use terminal::TerminalGuard;
use theme::Theme;

/// Runs the TUI on this terminal against `connection`, showing and recording held locks in the
/// journal at `journal_path`. `warnings` (e.g. a token file readable by others) are shown in the
/// status bar and the activity log. Returns when the user quits or on SIGTERM/SIGHUP/SIGINT; the
/// terminal is restored in every case, and the embedded server (if any) is shut down.
pub async fn run(
    connection: Connection,
    journal_path: PathBuf,
    warnings: Vec<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let journal = Journal::load(&journal_path)?;
    let client = connection.client.clone();
    let server_key = connection.journal_key().to_string();
    let user_id = client.user_id().to_string();
    let held = journal
        .locks_for(&server_key, &user_id)
        .into_iter()
        .map(|held| (held.lock.clone(), held.auto_renew))
        .collect();
    let session = Session {
        label: connection.label.clone(),
        embedded: connection.is_embedded(),
        base_url: client.base_url().to_string(),
        user_id: user_id.clone(),
        lock_ttl: chrono::Duration::from_std(client.lock_ttl()).unwrap_or(chrono::Duration::MAX),
        display_offset: *Local::now().offset(),
    };

    let guard = TerminalGuard::enter()?;
    let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let size = terminal.size()?;
    let screen = Rect::new(0, 0, size.width, size.height);
    let (actions, results) = runtime::action_channel();
    let mut runtime = Runtime {
        terminal,
        app: App::new(session, held, warnings, Utc::now(), screen),
        theme: Theme::from_env(),
        client,
        journal: JournalWriter::start(journal, server_key, user_id, actions.clone()),
        actions,
        results,
    };
    let result = runtime.run().await;
    // Journal writes first (dropping the writer waits for them), then the terminal.
    drop(runtime);
    drop(guard);
    connection.close().await;
    result.map(drop)
}
