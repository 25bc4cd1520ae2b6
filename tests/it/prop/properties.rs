//! Property tests of the record form's properties validation (`validate_properties`, used by the
//! TUI form and `record create/complete --properties`): it never panics, accepts exactly the
//! texts that are JSON, and sends what the user wrote — only insignificant whitespace removed,
//! never a number rounded, a key reordered or a duplicate dropped.

use koobackup::properties::{MAX_PROPERTIES_BYTES, PropertiesError, validate_properties};
use proptest::prelude::*;

/// JSON text the way people write it: any nesting, spacing and key order, numbers of any
/// length and precision, escapes in strings.
fn json_text() -> impl Strategy<Value = String> {
    let space = "[ \t\n\r]{0,2}";
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        // Integers and decimals beyond what f64 or i64 hold exactly.
        "-?(0|[1-9][0-9]{0,30})(\\.[0-9]{1,25})?([eE][-+]?[0-9]{1,2})?",
        // Strings, with escapes and whitespace inside (which must be kept).
        "\"([a-z ]|\\\\[\"\\\\/bfnrt]|\\\\u0[0-9a-fA-F]{3}|é|😀){0,12}\"",
    ];
    leaf.prop_recursive(4, 40, 5, move |inner| {
        let member = ("\"[a-z]{0,4}\"", space, space, inner.clone())
            .prop_map(|(key, s1, s2, value)| format!("{key}{s1}:{s2}{value}"));
        prop_oneof![
            (prop::collection::vec((inner, space), 0..5), space)
                .prop_map(|(items, s)| { format!("[{s}{}]", join(items)) }),
            (prop::collection::vec((member, space), 0..5), space)
                .prop_map(|(members, s)| { format!("{{{s}{}}}", join(members)) }),
        ]
    })
}

fn join(items: Vec<(String, String)>) -> String {
    items
        .into_iter()
        .map(|(item, space)| format!("{item}{space}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `text` without the whitespace outside strings: what compact JSON of exactly this text is.
fn without_insignificant_whitespace(text: &str) -> String {
    let mut out = String::new();
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

#[test]
fn numbers_keys_and_duplicates_are_sent_as_written() {
    let text =
        "{ \"z\": 12345678901234567890123, \"a\": 0.1000000000000000055511151231257827,\n \"a\": 1e5 }";
    assert_eq!(
        validate_properties(text).unwrap().as_deref(),
        Some("{\"z\":12345678901234567890123,\"a\":0.1000000000000000055511151231257827,\"a\":1e5}")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn valid_json_is_sent_exactly_as_written_without_the_spacing(
        lead in "[ \t\n]{0,3}", text in json_text(), trail in "[ \t\n]{0,3}",
    ) {
        let input = format!("{lead}{text}{trail}");
        let expected = without_insignificant_whitespace(&input);
        prop_assert_eq!(validate_properties(&input), Ok(Some(expected)));
    }

    #[test]
    fn any_text_is_accepted_or_refused_with_a_position_never_a_panic(text in "\\PC{0,300}|[\\[\\]{}\":,0-9a-z \n\\\\]{0,300}") {
        match validate_properties(&text) {
            Ok(None) => prop_assert!(text.trim().is_empty()),
            Ok(Some(sent)) => {
                prop_assert!(serde_json::from_str::<serde::de::IgnoredAny>(&sent).is_ok(), "sent invalid {sent:?}");
            }
            Err(PropertiesError::InvalidJson { line, column, message }) => {
                prop_assert!(serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err());
                // serde_json counts columns from 1, and reports 0 for an error at a line's start.
                prop_assert!(line >= 1 && column <= text.len() && !message.is_empty());
            }
            Err(PropertiesError::TooLarge { bytes }) => prop_assert!(bytes > MAX_PROPERTIES_BYTES),
        }
    }

    /// Deep nesting is valid JSON: accepted exactly as written, and checking it never overflows
    /// the stack (the check skips values without recursing), up to the size limit.
    #[test]
    fn deep_nesting_is_accepted_as_written_without_a_stack_overflow(depth in 1usize..=MAX_PROPERTIES_BYTES / 2) {
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        prop_assert_eq!(validate_properties(&text), Ok(Some(text)));
    }

    /// Nesting left open is refused with its position, however deep.
    #[test]
    fn unclosed_nesting_is_refused_with_its_position(depth in 1usize..20_000) {
        let text = "[".repeat(depth);
        let result = validate_properties(&text);
        prop_assert!(
            matches!(&result, Err(PropertiesError::InvalidJson { line: 1, .. })),
            "depth {}: {:?}", depth, result
        );
    }
}
