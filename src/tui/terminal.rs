//! Putting the terminal into application mode and, whatever happens, back again: on a normal
//! quit (guard drop), on a panic of the app's own thread (hook), and on SIGTERM/SIGHUP/SIGINT
//! (the runtime leaves its loop so the guard drops). In between, [`suspend`] and [`resume`] hand
//! the terminal to a program run in the foreground (the user's editor) and take it back.
//!
//! A panic on another thread (a request task, the embedded server's) is caught by tokio and
//! leaves the app running: the terminal must stay as it is, and the message must not be printed
//! over the screen. While the guard lives, such messages go to the app's activity log instead.

use std::io::{self, Write};

use crossterm::cursor::{Hide, Show};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};

/// Raw mode, alternate screen, mouse capture and bracketed paste while alive.
pub struct TerminalGuard {
    _private: (),
}

/// Where other threads' panics go while the app runs: its thread, and a sink for the messages.
struct Watch {
    ui_thread: std::thread::ThreadId,
    report: Box<dyn Fn(String) + Send + Sync>,
}

static WATCH: std::sync::Mutex<Option<Watch>> = std::sync::Mutex::new(None);

impl TerminalGuard {
    /// Application mode on this thread (the app's). `report` receives the messages of panics on
    /// other threads while the guard lives.
    pub fn enter(report: impl Fn(String) + Send + Sync + 'static) -> io::Result<TerminalGuard> {
        install_panic_hook();
        *WATCH.lock().unwrap_or_else(|p| p.into_inner()) = Some(Watch {
            ui_thread: std::thread::current().id(),
            report: Box::new(report),
        });
        enable_raw_mode()?;
        let guard = TerminalGuard { _private: () };
        enter_screen()?;
        Ok(guard)
    }
}

fn enter_screen() -> io::Result<()> {
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste,
        Hide
    )
}

/// Back to the terminal as the shell left it, for another program in the foreground. The guard
/// stays: whatever happens next, the terminal is restored on the way out.
pub fn suspend() -> io::Result<()> {
    let mut stdout = io::stdout();
    execute!(
        stdout,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        Show
    )?;
    disable_raw_mode()?;
    stdout.flush()
}

/// Application mode again after [`suspend`]. The screen is blank: redraw all of it.
pub fn resume() -> io::Result<()> {
    enable_raw_mode()?;
    enter_screen()
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        *WATCH.lock().unwrap_or_else(|p| p.into_inner()) = None;
        restore();
    }
}

/// Leaves application mode. Errors are ignored: after SIGHUP the terminal may be gone, and
/// there is nobody left to tell.
fn restore() {
    let mut stdout = io::stdout();
    let _ = execute!(
        stdout,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        Show
    );
    let _ = disable_raw_mode();
    let _ = stdout.flush();
}

/// A panic of the app's thread restores the terminal before its message is printed, so it is
/// readable; one of another thread while the app runs is reported to the app and not printed.
fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let watch = WATCH.lock().unwrap_or_else(|p| p.into_inner());
            match watch.as_ref() {
                Some(watch) if watch.ui_thread != std::thread::current().id() => {
                    let thread = std::thread::current();
                    let name = thread.name().unwrap_or("a background thread");
                    (watch.report)(format!("{name} failed: {info}"));
                }
                _ => {
                    drop(watch);
                    restore();
                    previous(info);
                }
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn a_panic_on_another_thread_is_reported_to_the_app_not_printed_over_it() {
        install_panic_hook();
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sink = reports.clone();
        // What `enter` sets up, without touching the test's terminal.
        *WATCH.lock().unwrap() = Some(Watch {
            ui_thread: std::thread::current().id(),
            report: Box::new(move |message| sink.lock().unwrap().push(message)),
        });
        let outcome = std::thread::Builder::new()
            .name("embedded-server".into())
            .spawn(|| panic!("database is locked"))
            .unwrap()
            .join();
        *WATCH.lock().unwrap() = None;
        assert!(outcome.is_err(), "the thread did panic");
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(
            reports[0].starts_with("embedded-server failed:") && reports[0].contains("database is locked"),
            "{}",
            reports[0]
        );
    }
}
