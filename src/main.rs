//! `koobackup`: with a subcommand, the headless command line (`koobackup::cli`); without one,
//! the terminal app.

use std::process::ExitCode;

use koobackup::cli::{self, GlobalArgs};

fn main() -> ExitCode {
    let args = cli::parse();
    let code = match args.command {
        Some(command) => cli::run(args.global, command),
        None => run_tui(&args.global, args.fresh),
    };
    ExitCode::from(code)
}

/// The no-subcommand path: connect (profile, command line, or the embedded demo server, reset
/// first with `--fresh`) and hand the connection and the journal to the TUI.
fn run_tui(global: &GlobalArgs, fresh: bool) -> u8 {
    let _options = global.connect_options(fresh);
    // TUI HOOK: replace this message with
    //     koobackup::tui::run(connection, journal_path)
    // once `src/tui` exposes it: build a multi-threaded tokio runtime, then
    // `koobackup::connect::connect(&options)` and `koobackup::journal::Journal::default_path()`,
    // report errors through `cli::output::Output::error` and exit with the `cli::exit::Exit` code.
    eprintln!(
        "koobackup: the terminal app is not part of this build yet; use a subcommand \
         (see `koobackup --help`), e.g. `koobackup lock list` or `koobackup record list`"
    );
    cli::exit::Exit::Usage.code()
}
