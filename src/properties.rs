//! Validation of a record's `properties`: JSON text, checked before any request is sent.

use std::fmt;

/// Largest properties text we send. The local server refuses bodies over 64 KiB; staying well
/// under it leaves room for the rest of the request.
pub const MAX_PROPERTIES_BYTES: usize = 32 * 1024;

/// Why a properties text was refused, with the position a user can jump to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertiesError {
    TooLarge {
        bytes: usize,
    },
    InvalidJson {
        line: usize,
        column: usize,
        message: String,
    },
}

impl fmt::Display for PropertiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertiesError::TooLarge { bytes } => write!(
                f,
                "properties are {bytes} bytes; the limit is {MAX_PROPERTIES_BYTES} bytes"
            ),
            PropertiesError::InvalidJson {
                line,
                column,
                message,
            } => {
                write!(
                    f,
                    "properties are not valid JSON at line {line}, column {column}: {message}"
                )
            }
        }
    }
}

impl std::error::Error for PropertiesError {}

/// Checks `text` and returns what to send: `None` for blank input (properties are optional),
/// otherwise the text in compact form.
pub fn validate_properties(text: &str) -> Result<Option<String>, PropertiesError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.len() > MAX_PROPERTIES_BYTES {
        return Err(PropertiesError::TooLarge { bytes: text.len() });
    }
    // Checked without building a value: a round trip through `serde_json::Value` would round big
    // numbers to f64, sort the keys and drop duplicates, changing what the user wrote.
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => Ok(Some(compact(text))),
        Err(e) => Err(PropertiesError::InvalidJson {
            line: e.line(),
            column: e.column(),
            message: describe(&e),
        }),
    }
}

/// Valid JSON `text` without the whitespace between tokens; strings and numbers stay as written.
fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut literal = StringLiteral::default();
    for c in text.chars() {
        if !literal.feed(c) && matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Properties laid out for reading: two spaces an indent, one member or element a line. Works on
/// the text, so strings, numbers and the order of keys stay exactly as stored. `None` when the
/// text is not JSON (it is then best shown as it is).
pub fn pretty(text: &str) -> Option<String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let compact = compact(text);
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut literal = StringLiteral::default();
    let mut chars = compact.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if !literal.feed(c) {
            match c {
                '{' | '[' => {
                    // An empty object or array stays on its line.
                    if let Some(&close @ ('}' | ']')) = chars.peek() {
                        out.push(close);
                        chars.next();
                    } else {
                        depth += 1;
                        newline(&mut out, depth);
                    }
                }
                ',' => newline(&mut out, depth),
                ':' => out.push(' '),
                _ => {}
            }
        }
        if !literal.inside && matches!(chars.peek(), Some('}' | ']')) {
            depth = depth.saturating_sub(1);
            newline(&mut out, depth);
        }
    }
    Some(out)
}

/// Follows JSON text one character at a time to tell string literals from structure.
#[derive(Default)]
struct StringLiteral {
    inside: bool,
    escaped: bool,
}

impl StringLiteral {
    /// Takes the next character; true when it is part of a string literal, quotes included.
    fn feed(&mut self, c: char) -> bool {
        if !self.inside {
            self.inside = c == '"';
            return self.inside;
        }
        match (self.escaped, c) {
            (true, _) => self.escaped = false,
            (false, '\\') => self.escaped = true,
            (false, '"') => self.inside = false,
            _ => {}
        }
        true
    }
}

/// serde_json's message without its trailing " at line L column C", which we report separately.
fn describe(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(cut) => full[..cut].to_string(),
        None => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn blank_is_none_and_valid_json_is_compacted() {
        assert_eq!(validate_properties("  \n"), Ok(None));
        assert_eq!(
            validate_properties("{\n  \"a\": 1\n}").unwrap().as_deref(),
            Some(r#"{"a":1}"#)
        );
    }

    #[test]
    fn invalid_json_reports_line_and_column() {
        let err = validate_properties("{\n  \"a\": 1,\n  \"b\": }").unwrap_err();
        match err {
            PropertiesError::InvalidJson {
                line,
                column,
                ref message,
            } => {
                assert_eq!((line, column), (3, 8));
                assert!(message.contains("expected value"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("line 3, column 8"));
    }

    #[test]
    fn pretty_keeps_strings_numbers_and_key_order_as_written() {
        let text = r#"{"z":12345678901234567890123,"a":{"s":"x, {y}: \"q\"","e":[]},"l":[1,2]}"#;
        assert_eq!(
            pretty(text).unwrap(),
            "{\n  \"z\": 12345678901234567890123,\n  \"a\": {\n    \"s\": \"x, {y}: \\\"q\\\"\",\n    \"e\": []\n  },\n  \"l\": [\n    1,\n    2\n  ]\n}"
        );
        assert_eq!(pretty("not json"), None);
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let big = format!("\"{}\"", "x".repeat(MAX_PROPERTIES_BYTES));
        assert!(matches!(
            validate_properties(&big),
            Err(PropertiesError::TooLarge { .. })
        ));
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,200}") {
            let _ = validate_properties(&text);
        }

        #[test]
        fn accepts_every_serialized_json_value(n in any::<i64>(), s in "\\PC{0,40}") {
            let text = serde_json::json!({"n": n, "s": s, "list": [n]}).to_string();
            prop_assert!(validate_properties(&text).is_ok());
        }
    }
}
