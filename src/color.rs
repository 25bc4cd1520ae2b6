//! Whether to colour what is written, for the command line and the app alike: `--color
//! auto|always|never`, then the environment's conventions — `CLICOLOR_FORCE` (any value but
//! `0`) forces colour, `NO_COLOR` (any non-empty value, https://no-color.org) turns it off,
//! `CLICOLOR=0` turns it off (https://bixense.com/clicolors/) — then whether the stream is a
//! terminal that is not `TERM=dumb`. The same order as the Rust ecosystem's `anstream`, whose
//! environment readers (`anstyle-query`) are used here.

/// `--color`. (Its values carry no doc comments: those would turn every command's `--help`
/// into the long form; the option's own help says what each does.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    // Colour on a terminal, as the environment allows.
    #[default]
    Auto,
    // Always colour, whatever the environment says.
    Always,
    // Never colour.
    Never,
}

/// Where colour would go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl ColorChoice {
    /// Whether output to `stream` is coloured.
    pub fn enabled(self, stream: Stream) -> bool {
        use std::io::IsTerminal;
        let terminal = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        self.decide(terminal, &Environment::read())
    }

    /// The decision for a stream that is (or is not) a `terminal`, in `env`.
    pub fn decide(self, terminal: bool, env: &Environment) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if env.no_color => false,
            ColorChoice::Auto if env.clicolor_force => true,
            ColorChoice::Auto => match env.clicolor {
                Some(false) => false,
                Some(true) => terminal,
                None => terminal && env.term_supports_color,
            },
        }
    }
}

/// What the environment says about colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Environment {
    pub clicolor_force: bool,
    pub no_color: bool,
    /// `CLICOLOR`: `Some(false)` for `0`, `Some(true)` for another value, `None` when unset.
    pub clicolor: Option<bool>,
    /// `TERM` is not `dumb`.
    pub term_supports_color: bool,
}

impl Environment {
    pub fn read() -> Environment {
        Environment {
            // anstyle-query counts `CLICOLOR_FORCE=0` as forcing; the convention does not.
            clicolor_force: anstyle_query::clicolor_force()
                && std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
            no_color: anstyle_query::no_color(),
            clicolor: anstyle_query::clicolor(),
            term_supports_color: anstyle_query::term_supports_color(),
        }
    }
}

/// `text` in bold red (errors) when `on`.
pub fn error(text: &str, on: bool) -> String {
    paint(text, "1;31", on)
}

/// `text` in bold yellow (warnings) when `on`.
pub fn warning(text: &str, on: bool) -> String {
    paint(text, "1;33", on)
}

/// `text` in bold (table headers) when `on`.
pub fn bold(text: &str, on: bool) -> String {
    paint(text, "1", on)
}

fn paint(text: &str, sgr: &str, on: bool) -> String {
    if on {
        format!("\u{1b}[{sgr}m{text}\u{1b}[0m")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment {
            clicolor_force: false,
            no_color: false,
            clicolor: None,
            term_supports_color: true,
        }
    }

    #[test]
    fn the_flag_wins_then_the_environment_then_the_terminal() {
        assert!(ColorChoice::Auto.decide(true, &env()));
        assert!(!ColorChoice::Auto.decide(false, &env()), "a pipe gets none");
        let no_color = Environment {
            no_color: true,
            ..env()
        };
        assert!(!ColorChoice::Auto.decide(true, &no_color));
        assert!(
            ColorChoice::Always.decide(false, &no_color),
            "--color always wins"
        );
        let forced = Environment {
            clicolor_force: true,
            ..env()
        };
        assert!(
            ColorChoice::Auto.decide(false, &forced),
            "CLICOLOR_FORCE even into a pipe"
        );
        assert!(!ColorChoice::Never.decide(true, &forced), "--color never wins");
        let both = Environment {
            no_color: true,
            ..forced
        };
        assert!(
            !ColorChoice::Auto.decide(true, &both),
            "NO_COLOR beats CLICOLOR_FORCE"
        );
        let off = Environment {
            clicolor: Some(false),
            ..env()
        };
        assert!(!ColorChoice::Auto.decide(true, &off));
        let dumb = Environment {
            term_supports_color: false,
            ..env()
        };
        assert!(!ColorChoice::Auto.decide(true, &dumb));
        let asked = Environment {
            clicolor: Some(true),
            ..dumb
        };
        assert!(
            ColorChoice::Auto.decide(true, &asked),
            "CLICOLOR=1 on a dumb terminal"
        );
        assert!(!ColorChoice::Auto.decide(false, &asked), "but not into a pipe");
    }

    #[test]
    fn paint_only_when_on() {
        assert_eq!(error("error:", false), "error:");
        assert_eq!(error("error:", true), "\u{1b}[1;31merror:\u{1b}[0m");
    }
}
