//! Putting the terminal into application mode and, whatever happens, back again: on a normal
//! quit (guard drop), on a panic (hook), and on SIGTERM/SIGHUP/SIGINT (the runtime leaves its
//! loop so the guard drops). In between, [`suspend`] and [`resume`] hand the terminal to a
//! program run in the foreground (the user's editor) and take it back.

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

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
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

/// Restores the terminal before the panic message is printed, so it is readable.
fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
