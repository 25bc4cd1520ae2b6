//! The `:` command line (k9s style): `:locks`, `:records [MODULE]`, `:devices`, `:history`, `:pending`, `:profile NAME`,
//! `:user ID`, `:readonly [on|off]`, `:filter TEXT`, `:q`. Tab completes the command word and the
//! argument (profile names, modules); ↑/↓ walk the history of this session.

use tui_input::Input;

use crate::api::ModuleCode;

/// Lines kept in the history.
const HISTORY_LIMIT: usize = 100;

/// The commands, as completed and listed when a line is not understood.
const COMMANDS: [&str; 10] = [
    "locks", "records", "devices", "history", "pending", "profile", "user", "readonly", "filter", "q",
];

/// What a line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineCommand {
    Locks,
    Records(Option<ModuleCode>),
    Devices,
    History,
    /// The deletions queued with a grace window.
    Pending,
    Profile(String),
    User(String),
    /// `None` toggles.
    ReadOnly(Option<bool>),
    Filter(String),
    Quit,
}

/// The open command line: what is typed, where in the history ↑/↓ are, and the message under
/// the field (a completion list or why a line was refused).
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    pub input: Input,
    /// Index into the history while walking it; `None` on the line being typed.
    pub history_at: Option<usize>,
    /// The line being typed when the walk started, given back below the newest entry.
    draft: String,
    pub message: Option<String>,
}

impl CommandLine {
    /// ↑ (`older`) or ↓ through `history` (oldest first).
    pub fn walk(&mut self, history: &[String], older: bool) {
        if history.is_empty() {
            return;
        }
        let at = match (self.history_at, older) {
            (None, true) => {
                self.draft = self.input.value().to_string();
                Some(history.len() - 1)
            }
            (None, false) => None,
            (Some(at), true) => Some(at.saturating_sub(1)),
            (Some(at), false) if at + 1 < history.len() => Some(at + 1),
            (Some(_), false) => None,
        };
        self.history_at = at;
        let text = at.map_or(self.draft.clone(), |at| history[at].clone());
        self.input = Input::new(text);
        self.message = None;
    }

    /// Tab: completes the word at the end of the line, or lists the choices when several fit.
    pub fn complete(&mut self, profiles: &[String]) {
        let text = self.input.value().to_string();
        let (done, last) = match text.rsplit_once(' ') {
            Some((head, last)) => (format!("{head} "), last),
            None => (String::new(), text.as_str()),
        };
        let choices: Vec<String> = match done.split_whitespace().next() {
            None => COMMANDS.iter().map(|c| c.to_string()).collect(),
            Some("profile") => profiles.to_vec(),
            Some("records") => ModuleCode::ALL
                .iter()
                .map(|m| m.name().replace(' ', "-"))
                .collect(),
            Some("readonly") => vec!["on".into(), "off".into()],
            Some(_) => Vec::new(),
        };
        let fitting: Vec<&String> = choices.iter().filter(|c| c.starts_with(last)).collect();
        match fitting.as_slice() {
            [] => self.message = Some("nothing to complete".into()),
            [only] => {
                self.input = Input::new(format!("{done}{only} "));
                self.message = None;
            }
            several => {
                let common = common_prefix(several);
                self.input = Input::new(format!("{done}{common}"));
                let listed: Vec<&str> = several.iter().map(|c| c.as_str()).collect();
                self.message = Some(listed.join("  "));
            }
        }
    }
}

fn common_prefix(words: &[&String]) -> String {
    let first = words[0];
    let mut end = first.len();
    for word in &words[1..] {
        end = end.min(
            first
                .char_indices()
                .zip(word.chars())
                .take_while(|((_, a), b)| a == b)
                .last()
                .map_or(0, |((i, a), _)| i + a.len_utf8()),
        );
    }
    first[..end].to_string()
}

/// Adds `line` to `history` (not twice in a row; the oldest go past [`HISTORY_LIMIT`]).
pub fn remember(history: &mut Vec<String>, line: &str) {
    let line = line.trim();
    if line.is_empty() || history.last().is_some_and(|last| last == line) {
        return;
    }
    history.push(line.to_string());
    if history.len() > HISTORY_LIMIT {
        history.remove(0);
    }
}

/// Reads a line; the error says what exists.
pub fn parse(line: &str) -> Result<LineCommand, String> {
    let line = line.trim().trim_start_matches(':').trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let needs = |what: &str| Err(format!(":{word} needs {what}"));
    let word = expand(word)?;
    match word {
        "locks" | "lock" | "l" => Ok(LineCommand::Locks),
        "devices" | "device" | "d" => Ok(LineCommand::Devices),
        "history" | "h" if rest.is_empty() => Ok(LineCommand::History),
        "history" | "h" => Err(format!(":{word} takes nothing after it; / in the pane filters")),
        "pending" if rest.is_empty() => Ok(LineCommand::Pending),
        "pending" => Err(format!(":{word} takes nothing after it")),
        "records" | "record" | "r" if rest.is_empty() => Ok(LineCommand::Records(None)),
        "records" | "record" | "r" => ModuleCode::from_user_text(rest)
            .map(|module| LineCommand::Records(Some(module)))
            .map_err(|_| format!("no module {rest:?}: use 100 (folder), 101 (album) or 102 (address book)")),
        "profile" | "ctx" if rest.is_empty() => needs("a profile name"),
        "profile" | "ctx" => Ok(LineCommand::Profile(rest.to_string())),
        "user" if rest.is_empty() => needs("a user id"),
        "user" if rest.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Err("a user id has no spaces or control characters".into())
        }
        "user" => Ok(LineCommand::User(rest.to_string())),
        "readonly" | "ro" => match rest {
            "" => Ok(LineCommand::ReadOnly(None)),
            "on" => Ok(LineCommand::ReadOnly(Some(true))),
            "off" => Ok(LineCommand::ReadOnly(Some(false))),
            other => Err(format!(":readonly takes on or off, not {other:?}")),
        },
        "filter" => Ok(LineCommand::Filter(rest.to_string())),
        "q" | "quit" | "q!" if rest.is_empty() => Ok(LineCommand::Quit),
        "q" | "quit" | "q!" => Err(format!(":{word} takes nothing after it")),
        "" => Err(format!("type a command: {}", usage())),
        other => Err(format!("no command {other:?}; commands: {}", usage())),
    }
}

/// `word` as typed, or the one command it is the start of (`rec` → `records`, as k9s does);
/// a start shared by several commands names them.
fn expand(word: &str) -> Result<&str, String> {
    const ALIASES: [&str; 9] = ["lock", "device", "record", "l", "d", "r", "ctx", "ro", "q!"];
    if word.is_empty() || COMMANDS.contains(&word) || ALIASES.contains(&word) || word == "quit" {
        return Ok(word);
    }
    let starting: Vec<&str> = COMMANDS.iter().copied().filter(|c| c.starts_with(word)).collect();
    match starting.as_slice() {
        [only] => Ok(only),
        [] => Ok(word),
        several => Err(format!(":{word} could be {}", several.join(", "))),
    }
}

fn usage() -> &'static str {
    "locks, records [MODULE], devices, history, pending, profile NAME, user ID, readonly [on|off], filter TEXT, q"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_start_of_a_command_is_that_command() {
        assert_eq!(
            parse("rec 101"),
            Ok(LineCommand::Records(Some(ModuleCode::Album)))
        );
        assert_eq!(parse(":dev"), Ok(LineCommand::Devices));
        assert_eq!(parse("prof work"), Ok(LineCommand::Profile("work".into())));
        assert_eq!(parse("re"), Err(":re could be records, readonly".into()));
        assert!(parse("recx").unwrap_err().starts_with("no command \"recx\""));
    }

    #[test]
    fn lines_parse_into_commands_and_unknown_ones_say_what_exists() {
        assert_eq!(parse("locks"), Ok(LineCommand::Locks));
        assert_eq!(
            parse(":records album"),
            Ok(LineCommand::Records(Some(ModuleCode::Album)))
        );
        assert_eq!(
            parse("records 102"),
            Ok(LineCommand::Records(Some(ModuleCode::AddressBook)))
        );
        assert_eq!(parse("records"), Ok(LineCommand::Records(None)));
        assert_eq!(parse("profile work"), Ok(LineCommand::Profile("work".into())));
        assert_eq!(parse("user 42"), Ok(LineCommand::User("42".into())));
        assert_eq!(parse("readonly"), Ok(LineCommand::ReadOnly(None)));
        assert_eq!(parse("readonly off"), Ok(LineCommand::ReadOnly(Some(false))));
        assert_eq!(parse("filter pixel 8"), Ok(LineCommand::Filter("pixel 8".into())));
        assert_eq!(parse("q"), Ok(LineCommand::Quit));
        let unknown = parse("shred everything").unwrap_err();
        assert!(
            unknown.contains("\"shred\"") && unknown.contains("profile NAME"),
            "{unknown}"
        );
        assert!(parse("records 103").unwrap_err().contains("101 (album)"));
        assert_eq!(parse("profile").unwrap_err(), ":profile needs a profile name");
        assert!(parse("user a\u{1b}b").is_err());
    }

    #[test]
    fn tab_completes_the_command_then_its_argument() {
        let profiles = vec!["home".to_string(), "work".to_string(), "workshop".to_string()];
        let mut line = CommandLine {
            input: Input::new("pro".into()),
            ..CommandLine::default()
        };
        line.complete(&profiles);
        assert_eq!(line.input.value(), "profile ");
        line.input = Input::new("profile w".into());
        line.complete(&profiles);
        assert_eq!(line.input.value(), "profile work", "the common part");
        assert_eq!(line.message.as_deref(), Some("work  workshop"));
        line.input = Input::new("records al".into());
        line.complete(&profiles);
        assert_eq!(line.input.value(), "records album ");
        line.input = Input::new("zz".into());
        line.complete(&profiles);
        assert_eq!(line.message.as_deref(), Some("nothing to complete"));
        line.input = Input::new("r".into());
        line.complete(&profiles);
        assert_eq!(line.input.value(), "re", "records and readonly share re");
    }

    #[test]
    fn history_walks_back_and_forth_and_returns_the_draft() {
        let mut history = Vec::new();
        for line in ["locks", "locks", "records 101", "  "] {
            remember(&mut history, line);
        }
        assert_eq!(history, ["locks", "records 101"], "no repeats, no blanks");
        let mut line = CommandLine {
            input: Input::new("dev".into()),
            ..CommandLine::default()
        };
        line.walk(&history, true);
        assert_eq!(line.input.value(), "records 101");
        line.walk(&history, true);
        line.walk(&history, true);
        assert_eq!(line.input.value(), "locks", "stops at the oldest");
        line.walk(&history, false);
        line.walk(&history, false);
        assert_eq!(line.input.value(), "dev", "the draft comes back");
        for n in 0..150 {
            remember(&mut history, &format!("filter {n}"));
        }
        assert_eq!(history.len(), HISTORY_LIMIT);
        assert_eq!(history.last().unwrap(), "filter 149");
    }
}
