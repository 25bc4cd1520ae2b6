//! The interactive application opened by `koobackup` with no subcommand.
//!
//! Data flow: terminal event / tick / API result → [`Action`] → [`App::update`] (pure) → new
//! state plus [`Effect`]s → the [`runtime`] performs them (API calls through [`effects`], journal
//! writes on a writer thread, OSC 52) → results come back as actions. [`draw`] only draws.
//!
//! Layout: one folder per feature — `locks/`, `records/` (with `cleanup/` and `bulk/`),
//! `devices/`, `history/` (the `:history` pane), `pending/` (the `:pending` pane), `shell/` (status bar, activity log, footer, help, quit prompt, command line) —
//! each with its state (`mod.rs`), `update.rs` (keys), `replies.rs` (answers), dialogs,
//! `keys.rs` (its default key table) and `view.rs`. Features read the rest of the app through
//! [`feature::Ctx`] and ask for the rest through [`feature::Out`]; they meet in [`app`], which
//! routes (with its rooms for the command line, switching connections and quitting). Below them:
//! the vocabulary ([`action`], [`keymap`], [`feature`]) and the drawing helpers ([`widgets`]).

pub mod action;
pub mod app;
mod clipboard;
pub mod clock;
pub mod devices;
pub mod draw;
pub mod effects;
pub mod feature;
pub mod history;
mod journal_writer;
pub mod keymap;
pub mod layout;
pub mod list_pane;
pub mod locks;
pub mod pending;
pub mod records;
pub mod runtime;
pub mod shell;
mod terminal;
mod text_input;
pub mod theme;
pub mod widgets;

#[cfg(test)]
mod look_tests;
#[cfg(test)]
mod small_screen_tests;
#[cfg(test)]
pub(crate) mod test_support;

use std::path::PathBuf;

use chrono::{Local, Utc};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;

pub use action::{Action, ApiCall, ApiOutcome, Effect};
pub use app::App;
pub use feature::{Pane, Session};

use crate::connect::{ConnectOptions, Connection};
use crate::journal::Journal;
use crate::size_cache::Place;
use journal_writer::JournalWriter;
use runtime::{Runtime, Switcher, TerminalHost};
use terminal::TerminalGuard;
use theme::Theme;

/// The keys and colours of the app: the defaults with the config file's `[keys]` and `[theme]`
/// on top. A value that cannot work is refused with where it is in the file (`line L, column
/// C`) and why, before the terminal is touched.
pub fn look(
    config: Option<&crate::config::Config>,
    path: &std::path::Path,
    color: crate::color::ColorChoice,
) -> Result<(keymap::Keymap, Theme), String> {
    let mut keymap = app::default_keymap();
    let mut theme = Theme::chosen(color);
    let Some(config) = config else {
        return Ok((keymap, theme));
    };
    let at = |position: String| format!("{} {position}", path.display());
    // One override at a time, so that the one that breaks the map is the one named.
    let mut applied = keymap::KeyOverrides::new();
    for (scope, commands) in &config.keys {
        for (command, keys) in commands {
            applied
                .entry(scope.clone())
                .or_default()
                .insert(command.clone(), keys.get_ref().clone());
            keymap =
                app::keymap_with(&applied).map_err(|e| format!("{}: {e}", at(config.position_of(keys))))?;
        }
    }
    for (role, colour) in &config.theme {
        theme = theme
            .with_colour(role, colour.get_ref())
            .map_err(|e| format!("{}: [theme] {role}: {e}", at(config.position_of(colour))))?;
    }
    Ok((keymap, theme))
}

/// Where the module the records pane showed last is kept between runs.
fn last_module_path() -> Option<PathBuf> {
    crate::config::data_dir().ok().map(|dir| dir.join("last-module"))
}

/// The module the records pane showed when the app last ran, if known.
fn last_module() -> Option<crate::api::ModuleCode> {
    let text = std::fs::read_to_string(last_module_path()?).ok()?;
    crate::api::ModuleCode::from_code(text.trim())
}

/// Keeps `module` for the next start (a failure is said in the activity log, nothing more).
fn remember_module(module: crate::api::ModuleCode) -> Result<(), String> {
    let Some(path) = last_module_path() else {
        return Ok(());
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot keep the last module: {e}"))?;
    }
    std::fs::write(&path, module.code())
        .map_err(|e| format!("cannot keep the last module in {}: {e}", path.display()))
}

/// What the app shows of `connection`, and its locks in `journal`.
fn session_of(connection: &Connection, journal: &Journal) -> (Session, Vec<action::Journalled>) {
    let client = &connection.client;
    let user_id = client.user_id().to_string();
    let held = journal
        .locks_for(connection.journal_key(), &user_id)
        .into_iter()
        .map(action::Journalled::of)
        .collect();
    let session = Session {
        label: connection.label.clone(),
        embedded: connection.is_embedded(),
        base_url: client.base_url().to_string(),
        user_id,
        lock_ttl: chrono::Duration::from_std(client.lock_ttl()).unwrap_or(chrono::Duration::MAX),
        display_offset: *Local::now().offset(),
        retention: connection.retention,
        delete_grace: connection
            .delete_grace
            .filter(|grace| *grace > chrono::Duration::zero()),
        // Checked when the config was read; the defaults stand in should that ever change.
        health: connection
            .health_rules(Default::default())
            .unwrap_or_else(|_| crate::health::Rules::standard()),
        read_only: client.is_read_only(),
    };
    (session, held)
}

/// Runs the TUI on this terminal against `connection`, showing and recording held locks in the
/// journal at `journal_path`. `warnings` (e.g. a token file readable by others) are shown in the
/// status bar and the activity log. `options` (how `connection` was made) let `:profile` and
/// `:user` connect elsewhere, `profiles` being the config file's (read once, by the caller). The
/// app has the keys and colours of `look`. Returns when the user quits or on SIGTERM/SIGHUP/SIGINT; the
/// terminal is restored in every case, and the embedded server (if any) is shut down.
pub async fn run(
    mut connection: Connection,
    options: ConnectOptions,
    journal_path: PathBuf,
    warnings: Vec<String>,
    (keymap, theme): (keymap::Keymap, Theme),
    profiles: Vec<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let journal = Journal::load(&journal_path)?;
    let client = connection.client.clone();
    let server_key = connection.journal_key().to_string();
    let (session, held) = session_of(&connection, &journal);
    // Sizes are cached under the server as the journal knows it, as `status` does.
    let sizes = effects::SizeReader::new(Place::usual(&server_key, client.user_id()));

    let (actions, results) = runtime::action_channel();
    // Failures off the app's thread reach the activity log, never the screen.
    let reports = actions.clone();
    let guard = TerminalGuard::enter(move |message| {
        let _ = reports.send(Action::Background(message));
    })?;
    if let Some(failed) = connection
        .embedded
        .as_mut()
        .and_then(|server| server.take_failure())
    {
        let actions = actions.clone();
        tokio::spawn(async move {
            if let Ok(reason) = failed.await {
                let _ = actions.send(Action::Background(format!("embedded demo server: {reason}")));
            }
        });
    }
    let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let size = terminal.size()?;
    let screen = Rect::new(0, 0, size.width, size.height);
    let mut runtime = Runtime {
        terminal,
        app: App::new(session, held, warnings, Utc::now(), screen)
            .with_profiles(profiles)
            .with_last_module(last_module())
            .with_keymap(keymap)
            .with_history(&connection.history),
        theme,
        client,
        keeping: connection.history.clone(),
        journal: JournalWriter::start(journal, server_key, connection.client.clone(), actions.clone()),
        host: TerminalHost,
        actions,
        results,
        who: connection.who(),
        switcher: Some(Switcher::new(options, connection, journal_path)),
        sizes,
    };
    let result = runtime.run().await;
    let switcher = runtime.switcher.take();
    // Journal writes first (dropping the writer waits for them), then the terminal.
    drop(runtime);
    drop(guard);
    if let Some(switcher) = switcher {
        switcher.close().await;
    }
    result.map(drop)
}
