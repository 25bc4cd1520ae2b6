//! `koobackup`: with a subcommand, the headless command line (`koobackup::cli`); without one,
//! the terminal app (`koobackup::tui`).

use std::io::IsTerminal;
use std::process::ExitCode;

use koobackup::cli::exit::{CliError, Exit};
use koobackup::cli::{self, GlobalArgs};
use koobackup::connect;
use koobackup::journal::Journal;

fn main() -> ExitCode {
    koobackup::crash::install();
    cli::complete_if_asked();
    let args = cli::parse();
    if args.version {
        return ExitCode::from(cli::print_version(args.verbose).unwrap_or(Exit::Ok.code()));
    }
    if let Some(path) = &args.global.log_file
        && let Err(message) = koobackup::logging::to_file(path)
    {
        args.global.output().error(&CliError::usage(message));
        return ExitCode::from(Exit::Usage.code());
    }
    let code = match args.command {
        Some(command) => cli::run(args.global, args.fresh, command, app_check),
        None => run_app(&args.global, args.fresh),
    };
    ExitCode::from(code)
}

/// What `config check` and `config edit` check of the app's `[keys]` and `[theme]`: what the app
/// itself checks at start. Given to the command line from here, above both, so the command line
/// does not depend on the app.
fn app_check(config: &koobackup::config::Config, path: &std::path::Path) -> Result<(), String> {
    koobackup::tui::look(Some(config), path, koobackup::color::ColorChoice::Never).map(drop)
}

/// The no-subcommand path: connect (profile, command line, or the embedded demo server, reset
/// first with `--fresh`) and hand the connection and the journal to the TUI.
fn run_app(global: &GlobalArgs, fresh: bool) -> u8 {
    let out = global.output();
    match app_session(global, fresh) {
        Ok(()) => Exit::Ok.code(),
        Err(error) => {
            out.error(&error);
            error.exit.code()
        }
    }
}

fn app_session(global: &GlobalArgs, fresh: bool) -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(CliError::usage(
            "the terminal app needs a terminal; in scripts use a subcommand (see `koobackup --help`)",
        ));
    }
    let options = global.connect_options(fresh);
    let (config_path, config) = connect::config_file(&options)?;
    let look = koobackup::tui::look(config.as_ref(), &config_path, global.color).map_err(CliError::usage)?;
    let profiles = config.as_ref().map(|c| c.profile_names()).unwrap_or_default();
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let journal_path = Journal::default_path()?;
        let connection = connect::connect(&options).await?;
        let warnings = connection.warnings.clone();
        koobackup::tui::run(
            connection,
            options.clone(),
            journal_path,
            warnings,
            look,
            profiles,
        )
        .await
        .map_err(|e| CliError::failure(e.to_string()))
    })
}
