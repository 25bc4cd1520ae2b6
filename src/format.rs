//! Text shared by the command line and the terminal app: sizes, ages, countdowns, module names,
//! and the escaping of anything a server sent before it reaches a terminal.
//!
//! A server's text (a device name, a file name, an error message) may carry control characters:
//! ESC starts sequences that retitle the window, clear the screen, write the clipboard (OSC 52)
//! or make the terminal answer (CSI 6n) — over SSH, in the operator's terminal. [`escape`] shows
//! every such character as visible text instead. `--json` output is exact: the
//! same characters, written as JSON escapes ([`json_for_terminal`]).

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::api::{LockInfo, ModuleCode};
pub use crate::units::{human_size, seconds};

/// Whether `c` must not reach a terminal as it is: C0 controls (line breaks and tabs included),
/// DEL, C1 controls, and the bidirectional formatting characters that can make text read in
/// another order than it is stored ("Trojan source"), and the invisible ones that make two
/// different names look the same (`ok.txt` and `ok.txt` plus a zero-width space).
pub fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}')
}

/// `text` with every character that [`needs_escape`] written visibly: `\x1b` for those below
/// U+0100, `\u{202e}` for the others. Text without any is returned as it is, without a copy.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if u32::from(c) < 0x100 {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

/// [`escape`] for text laid out in lines by us (a table, a message with a continuation line):
/// each line is escaped, the line breaks between them stay.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && needs_escape(c)) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(escape).collect();
    Cow::Owned(lines.join("\n"))
}

/// JSON text (as serde_json writes it) with the characters [`needs_escape`] that JSON allows raw
/// (DEL, C1 controls, bidi overrides) written as `\uXXXX` escapes instead: the same JSON value,
/// byte for byte the same after decoding, but nothing a terminal acts on when printed. (serde_json
/// already escapes C0 controls; these characters only ever occur inside strings.)
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    if !json.chars().any(needs_escape) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        if needs_escape(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A coarse age for people: "3d 4h", "5h 12m", "42m", "30s". Negative ages (a time stamped
/// ahead of the clock that measures it) read "0s".
pub fn age(age: chrono::Duration) -> String {
    let secs = age.num_seconds().max(0);
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m")
    } else {
        format!("{secs}s")
    }
}

/// Parses an age such as `24h`, `90m`, `7d`, `3600s` or a combination like `1d12h`.
pub fn parse_age(text: &str) -> Result<chrono::Duration, String> {
    let invalid = || format!("{text:?} is not an age; write it like 24h, 90m, 7d or 1d12h");
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = chrono::Duration::zero();
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let amount: i64 = digits.parse().map_err(|_| invalid())?;
        digits.clear();
        let unit_secs = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(invalid()),
        };
        let part = amount
            .checked_mul(unit_secs)
            .and_then(chrono::Duration::try_seconds)
            .ok_or_else(invalid)?;
        total = total.checked_add(&part).ok_or_else(invalid)?;
    }
    if !digits.is_empty() {
        return Err(format!(
            "{text:?} has a number without a unit; write it like 24h, 90m or 7d"
        ));
    }
    Ok(total)
}

/// An age exactly, the way [`parse_age`] reads it: `30d`, `1d12h`, `90m` (as `1h30m`), `0s`.
pub fn exact_age(age: chrono::Duration) -> String {
    let mut secs = age.num_seconds().max(0);
    let mut text = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            text.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if text.is_empty() {
        text.push_str("0s");
    }
    text
}

/// An optional age in a config file (`keep_within = "30d"`, `warn_age = "26h"`), read with
/// [`parse_age`]: `#[serde(default, with = "crate::format::optional_age")]`.
pub mod optional_age {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<chrono::Duration>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        text.map(|text| super::parse_age(&text).map_err(serde::de::Error::custom))
            .transpose()
    }

    pub fn serialize<S: Serializer>(
        value: &Option<chrono::Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => serializer.serialize_str(&format!("{}s", duration.num_seconds())),
            None => serializer.serialize_none(),
        }
    }
}

/// The longest grace window a delete may wait (`--grace`, `delete_grace`): a year.
pub const MAX_GRACE_DAYS: i64 = 366;

/// A grace window as `--grace` and `delete_grace` read it: an age (`24h`, `90m`, `7d`), or `0`
/// for none; at most [`MAX_GRACE_DAYS`].
pub fn parse_grace(text: &str) -> Result<chrono::Duration, String> {
    if text.trim() == "0" {
        return Ok(chrono::Duration::zero());
    }
    let grace = parse_age(text)?;
    if grace > chrono::Duration::days(MAX_GRACE_DAYS) {
        return Err(format!(
            "{text:?} is longer than a grace window may be ({MAX_GRACE_DAYS}d)"
        ));
    }
    Ok(grace)
}

/// An optional grace window in a config file (`delete_grace = "24h"`, or `"0"`), read with
/// [`parse_grace`].
pub mod optional_grace {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<chrono::Duration>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        text.map(|text| super::parse_grace(&text).map_err(serde::de::Error::custom))
            .transpose()
    }

    pub fn serialize<S: Serializer>(
        value: &Option<chrono::Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        super::optional_age::serialize(value, serializer)
    }
}

/// Time left on a lock as a countdown: `mm:ss`, `h:mm:ss` from an hour up. Whole seconds,
/// truncated, so a countdown never shows more time than there is.
pub fn countdown(left: chrono::Duration) -> String {
    let secs = left.num_seconds().max(0);
    let (hours, minutes, seconds) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes:02}:{seconds:02}")
    }
}

/// Time left on `lock` at `now`: its [`countdown`], or `expired`.
pub fn time_left(lock: &LockInfo, now: DateTime<Utc>) -> String {
    if lock.is_expired(now) {
        "expired".into()
    } else {
        countdown(lock.time_left(now))
    }
}

/// A time for messages, in the local zone with the zone written out: `2025-11-03 08:01:40 +01:00`
/// (`… UTC` where the local zone is UTC).
pub fn local_time(time: DateTime<Utc>) -> String {
    local_with_zone(time, "%Y-%m-%d %H:%M:%S")
}

/// `time` in the local zone as `pattern` (chrono's strftime), followed by the zone: `UTC`, or
/// the offset (`+01:00`). Tables and messages name the zone the same way.
pub fn local_with_zone(time: DateTime<Utc>, pattern: &str) -> String {
    use chrono::Offset;
    let local = time.with_timezone(&chrono::Local);
    let zone = if local.offset().fix().local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        local.format("%:z").to_string()
    };
    format!("{} {zone}", local.format(pattern))
}

/// Columns `text` takes on a terminal: a CJK character takes two, a combining mark none.
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

fn char_width(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// The longest start of `text` that fits `columns`, and the rest.
pub fn split_at_width(text: &str, columns: usize) -> (&str, &str) {
    let mut used = 0;
    for (at, c) in text.char_indices() {
        used += char_width(c);
        if used > columns {
            return text.split_at(at);
        }
    }
    (text, "")
}

/// `text` whole if it fits `columns`, else cut to `columns` ending in `…`: a cut cell says so.
pub fn cut(text: &str, columns: usize) -> Cow<'_, str> {
    if width(text) <= columns {
        return text.into();
    }
    let (head, _) = split_at_width(text, columns.saturating_sub(1));
    format!("{head}…").into()
}

/// `text` in lines of at most `columns` display columns, broken between words (a word longer
/// than a line is broken inside it, as nothing else fits).
pub fn wrap_words(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word;
        loop {
            let used = width(&line);
            let needed = width(word) + usize::from(used > 0);
            if used + needed <= columns {
                if used > 0 {
                    line.push(' ');
                }
                line.push_str(word);
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // At least one character per line, even one wider than the line.
            let (head, rest) = match split_at_width(word, columns) {
                ("", _) => word.split_at(word.chars().next().map_or(0, char::len_utf8)),
                split => split,
            };
            lines.push(head.to_string());
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` whole if it fits `columns`, else cut after the last whole word that fits, with `…`:
/// a notice on one line never ends in half a word. CJK text, which breaks between any two
/// characters, is cut after its last character that fits.
pub fn fit_words(text: &str, columns: usize) -> Cow<'_, str> {
    if width(text) <= columns {
        return text.into();
    }
    let room = columns.saturating_sub(1);
    let mut cut = String::new();
    for word in text.split(' ') {
        let extra = width(word) + usize::from(!cut.is_empty());
        if width(&cut) + extra > room {
            let wide = word.chars().next().is_some_and(|c| char_width(c) == 2);
            let left = room.saturating_sub(width(&cut) + usize::from(!cut.is_empty()));
            let head = split_at_width(word, left).0;
            if wide && !head.is_empty() {
                if !cut.is_empty() {
                    cut.push(' ');
                }
                cut.push_str(head);
            }
            break;
        }
        if !cut.is_empty() {
            cut.push(' ');
        }
        cut.push_str(word);
    }
    if cut.is_empty() {
        cut = split_at_width(text, room).0.to_string();
    }
    cut.push('…');
    cut.into()
}

/// `1 record`, `3 records`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `102 address book`: short enough for a table column.
pub fn module_label(module: ModuleCode) -> String {
    format!("{} {}", module.code(), module.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_and_print() {
        assert_eq!(parse_age("24h").unwrap(), chrono::Duration::hours(24));
        assert_eq!(parse_age("1d12h").unwrap(), chrono::Duration::hours(36));
        assert_eq!(parse_age("90m").unwrap(), chrono::Duration::minutes(90));
        assert_eq!(parse_age("0s").unwrap(), chrono::Duration::zero());
        assert!(parse_age("24").unwrap_err().contains("without a unit"));
        assert!(parse_age("1y").is_err());
        assert!(parse_age("").is_err());
        assert!(parse_age("99999999999999999w").is_err());
    }

    #[test]
    fn json_for_a_terminal_is_the_same_json_without_raw_controls() {
        let value = serde_json::json!({"name": "a\u{1b}[2J b\u{7f}c\u{9b}31m d\u{202e}e", "n": 1});
        let json = serde_json::to_string(&value).unwrap();
        assert!(json.contains('\u{9b}'), "serde_json leaves C1 raw");
        let safe = json_for_terminal(&json);
        assert_eq!(safe, r#"{"n":1,"name":"a\u001b[2J b\u007fc\u009b31m d\u202ee"}"#);
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value, "the same value");
        assert!(matches!(
            json_for_terminal(r#"{"plain":"text"}"#),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        // OSC 52 (clipboard write), CSI 6n (cursor report), a BEL, a C1 CSI and a bidi override.
        let hostile = "a\u{1b}]52;c;ZXZpbA==\u{7}b\u{1b}[6nc\u{9b}2Jd\u{202e}gpj.exe";
        assert_eq!(
            escape(hostile),
            "a\\x1b]52;c;ZXZpbA==\\x07b\\x1b[6nc\\x9b2Jd\\u{202e}gpj.exe"
        );
        assert_eq!(escape("tab\tand\nline\r\u{7f}"), "tab\\x09and\\x0aline\\x0d\\x7f");
        assert_eq!(
            escape("\u{2066}\u{2069}\u{61c}\u{200f}"),
            "\\u{2066}\\u{2069}\\u{61c}\\u{200f}"
        );
    }

    #[test]
    fn ordinary_text_is_not_copied() {
        for text in ["", "Mia's ThinkPad X1", "Größe 12 — ok ✓", "日本語のファイル.txt"] {
            assert!(matches!(escape(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn escaping_twice_changes_nothing_more() {
        let once = escape("x\u{1b}[31my").into_owned();
        assert_eq!(escape(&once), once);
    }

    #[test]
    fn line_layout_survives_but_nothing_else_does() {
        assert_eq!(escape_lines("one\ntwo\u{1b}[2J"), "one\ntwo\\x1b[2J");
        assert_eq!(escape_lines("a\r\nb"), "a\\x0d\nb");
        assert!(matches!(escape_lines("a\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn cjk_text_is_fitted_up_to_its_last_character_that_fits() {
        let text = "设备 张伟的工作笔记本电脑 已解除绑定";
        assert_eq!(fit_words(text, 15), "设备 张伟的工…");
        assert_eq!(fit_words("device build-server-eu-central done", 20), "device…");
    }

    #[test]
    fn ages_and_countdowns_read_naturally() {
        let s = chrono::Duration::seconds;
        assert_eq!(age(s(42)), "42s");
        assert_eq!(age(s(125 * 60)), "2h 5m");
        assert_eq!(age(s(30 * 3600)), "1d 6h");
        assert_eq!(age(s(-5)), "0s");
        assert_eq!(countdown(s(600)), "10:00");
        assert_eq!(countdown(s(59)), "00:59");
        assert_eq!(countdown(s(3_725)), "1:02:05");
        assert_eq!(countdown(chrono::Duration::milliseconds(999)), "00:00");
        assert_eq!(countdown(s(-3)), "00:00");
        assert_eq!(module_label(ModuleCode::AddressBook), "102 address book");
        let now: DateTime<Utc> = "2025-11-03T07:00:00Z".parse().unwrap();
        let lock = |secs| LockInfo {
            lock_id: "x@100".into(),
            module: ModuleCode::Folder,
            expires_at: now + s(secs),
        };
        assert_eq!(time_left(&lock(3_725), now), "1:02:05");
        assert_eq!(time_left(&lock(1), now), "00:01");
        assert_eq!(time_left(&lock(0), now), "expired");
        assert_eq!(time_left(&lock(-5), now), "expired");
    }
}

#[cfg(test)]
mod wrap_tests {
    use super::*;

    #[test]
    fn words_wrap_between_words_and_long_ones_inside() {
        assert_eq!(wrap_words("one two three four", 9), ["one two", "three", "four"]);
        assert_eq!(wrap_words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap_words("", 5), [""]);
        assert_eq!(fit_words("released lock 0b6e7a1c@100", 20), "released lock…");
        assert_eq!(fit_words("short", 20), "short");
        assert_eq!(fit_words("averyveryverylongword", 8), "averyve…");
    }

    #[test]
    fn wide_characters_are_fitted_by_the_columns_they_take() {
        let cjk = "备份".repeat(5); // 10 characters, 20 columns
        assert_eq!(width(&cjk), 20);
        assert_eq!(wrap_words(&cjk, 8), ["备份备份", "备份备份", "备份"]);
        assert_eq!(
            wrap_words("备 份份", 3),
            ["备", "份", "份"],
            "a 2-wide word never spills"
        );
        assert_eq!(wrap_words("备", 1), ["备"], "one character per line at least");
        assert_eq!(
            fit_words("设备 备份 记录", 9),
            "设备 备…",
            "CJK breaks between characters"
        );
        assert_eq!(cut(&cjk, 7), "备份备…");
        assert_eq!(cut("备份", 4), "备份", "what fits stays whole");
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
