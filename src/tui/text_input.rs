//! Editing one-line text fields beyond what `tui_input` does per key.

use tui_input::Input;

/// Inserts `text` at the cursor in one piece and puts the cursor after it. Inserting a paste
/// character by character rebuilds the value each time: quadratic in the paste's length.
pub fn insert_at_cursor(input: &mut Input, text: &str) {
    let cursor = input.cursor();
    let value = input.value();
    let at = value.char_indices().nth(cursor).map_or(value.len(), |(i, _)| i);
    let joined = format!("{}{text}{}", &value[..at], &value[at..]);
    *input = Input::new(joined).with_cursor(cursor + text.chars().count());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_goes_in_at_the_cursor_and_the_cursor_after_it() {
        let mut input = Input::new("añb".into()).with_cursor(2);
        insert_at_cursor(&mut input, "éx");
        assert_eq!((input.value(), input.cursor()), ("añéxb", 4));
        let mut empty = Input::default();
        insert_at_cursor(&mut empty, "abc");
        assert_eq!((empty.value(), empty.cursor()), ("abc", 3));
    }
}
