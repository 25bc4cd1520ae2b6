//! The locks pane's dialogs: release confirmation, module picker, adopt field. While one is
//! open it receives every key.

use tui_input::Input;

use crate::api::{LockInfo, ModuleCode};
use crate::tui::keymap::Scope;
use crate::tui::text_input::insert_at_cursor;

/// Longest lock id accepted for adoption (ids are `<uuid>@<code>`, 40 characters).
const MAX_LOCK_ID_LEN: usize = 200;

#[derive(Debug, Clone)]
pub enum Dialog {
    ConfirmRelease {
        lock_id: String,
        /// Who holds it, when it is not this app: "held by `lock hold` of …".
        holder: Option<String>,
    },
    /// Forget these expired or gone locks (remove them from the pane and the journal).
    ConfirmForget {
        lock_ids: Vec<String>,
    },
    ModulePicker {
        selected: usize,
    },
    Adopt {
        input: Input,
        error: Option<String>,
    },
}

impl Dialog {
    pub fn scope(&self) -> Scope {
        match self {
            Dialog::ConfirmRelease { .. } | Dialog::ConfirmForget { .. } => Scope::Confirm,
            Dialog::ModulePicker { .. } => Scope::ModulePicker,
            Dialog::Adopt { .. } => Scope::TextInput,
        }
    }

    /// The adopt field, holding `id` to start with.
    pub fn adopt(id: &str) -> Dialog {
        Dialog::Adopt {
            input: Input::new(id.to_string()),
            error: None,
        }
    }
}

/// The modules offered by the picker, in the order of its number keys.
pub const PICKER_MODULES: [ModuleCode; 3] = ModuleCode::ALL;

/// Pastes `text` into the adopt field at its cursor, in one piece. A lock id is one line: line
/// breaks and other control characters are dropped, and so are blanks around the text. A paste
/// too long to be (part of) a lock id is refused whole, with the reason.
pub fn paste_lock_id(input: &mut Input, text: &str) -> Result<(), String> {
    let cleaned: String = text.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    let length = input.value().chars().count() + cleaned.chars().count();
    if length > MAX_LOCK_ID_LEN {
        return Err(format!(
            "nothing pasted: that would make {length} characters; a lock id is about 40"
        ));
    }
    insert_at_cursor(input, cleaned);
    Ok(())
}

/// Checks a typed or pasted lock id. Returns the id to adopt, or a message for the user.
pub fn parse_lock_id(text: &str) -> Result<String, String> {
    let id = text.trim();
    if id.is_empty() {
        return Err("type or paste a lock id first".into());
    }
    if id.len() > MAX_LOCK_ID_LEN {
        return Err(format!(
            "that is {} characters long; a lock id is about 40",
            id.len()
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@')))
    {
        return Err(format!("a lock id cannot contain {bad:?}"));
    }
    match LockInfo::module_of_id(id) {
        Some(_) => Ok(id.to_string()),
        None => Err("a lock id ends in @100, @101 or @102 (its module code)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_ids_are_checked_before_adoption() {
        assert_eq!(
            parse_lock_id("  0b6e7a1c-5c1f@101\n").as_deref(),
            Ok("0b6e7a1c-5c1f@101")
        );
        assert!(parse_lock_id("").unwrap_err().contains("paste"));
        assert!(parse_lock_id("abc@103").unwrap_err().contains("@100"));
        assert!(parse_lock_id("ab c@100").unwrap_err().contains("' '"));
        assert!(parse_lock_id(&"a".repeat(300)).unwrap_err().contains("300"));
    }

    #[test]
    fn a_paste_goes_in_whole_at_the_cursor_without_line_breaks_or_blanks_around_it() {
        let mut input = Input::new("ab@100".into()).with_cursor(2);
        assert_eq!(paste_lock_id(&mut input, "  -cd\r\n"), Ok(()));
        assert_eq!((input.value(), input.cursor()), ("ab-cd@100", 5));
    }

    #[test]
    fn an_absurdly_long_paste_is_refused_whole() {
        let mut input = Input::new("ab".into());
        let error = paste_lock_id(&mut input, &"x".repeat(1_000_000)).unwrap_err();
        assert!(error.contains("1000002 characters"), "{error}");
        assert_eq!(input.value(), "ab", "nothing changed");
        // Up to the limit is fine (the id is checked on Enter).
        assert_eq!(
            paste_lock_id(&mut input, &"x".repeat(MAX_LOCK_ID_LEN - 2)),
            Ok(())
        );
        assert_eq!(input.value().len(), MAX_LOCK_ID_LEN);
    }
}
