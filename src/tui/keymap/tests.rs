use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::tui::app::{default_keymap, keymap_with};

fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

fn overrides(scope: &str, pairs: &[(&str, &str)]) -> KeyOverrides {
    let commands = pairs
        .iter()
        .map(|(c, k)| (c.to_string(), k.to_string()))
        .collect();
    BTreeMap::from([(scope.to_string(), commands)])
}

#[test]
fn the_first_scope_that_binds_a_key_wins() {
    let keymap = default_keymap();
    let k = press(KeyCode::Char('k'), KeyModifiers::NONE);
    assert_eq!(
        keymap.lookup(&[Scope::QuitPrompt], &k),
        Some(Command::KeepAndQuit)
    );
    assert_eq!(
        keymap.lookup(&[Scope::LocksPane, Scope::Global], &k),
        Some(Command::Up)
    );
}

#[test]
fn shift_is_ignored_for_characters_but_ctrl_is_not() {
    let keymap = default_keymap();
    let shifted = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
    assert_eq!(keymap.lookup(&[Scope::Global], &shifted), Some(Command::Bottom));
    let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        keymap.lookup(&[Scope::LocksPane, Scope::Global], &ctrl_c),
        Some(Command::Quit)
    );
    let plain_c = press(KeyCode::Char('c'), KeyModifiers::NONE);
    assert_eq!(
        keymap.lookup(&[Scope::LocksPane, Scope::Global], &plain_c),
        Some(Command::CopyLockId)
    );
}

#[test]
fn shift_tab_is_understood_however_the_terminal_sends_it() {
    let keymap = default_keymap();
    let back_tab = keymap.lookup(&[Scope::Global], &press(KeyCode::BackTab, KeyModifiers::SHIFT));
    let shifted_tab = keymap.lookup(&[Scope::Global], &press(KeyCode::Tab, KeyModifiers::SHIFT));
    assert!(back_tab.is_some());
    assert_eq!(back_tab, shifted_tab);
}

#[test]
fn the_default_keys_bind_no_chord_twice_and_hide_no_global_key() {
    assert_eq!(default_keymap().clash(), None);
}

#[test]
fn a_clash_is_found_within_a_scope_and_between_a_pane_and_the_global_keys() {
    let twice = [
        bind(Scope::LocksPane, "r", "r", None, "renew", Command::RenewLock),
        bind(
            Scope::LocksPane,
            "x r",
            "x",
            None,
            "release",
            Command::ReleaseLock,
        ),
    ];
    let message = Keymap::new(&[&twice]).clash().expect("r is bound twice");
    assert!(message.contains("key r"), "{message}");

    let shadow = [
        bind(Scope::Global, "q", "q", None, "quit", Command::Quit),
        bind(
            Scope::RecordsPane,
            "q",
            "q",
            None,
            "refresh",
            Command::Records(RecordCommand::Refresh),
        ),
    ];
    assert!(Keymap::new(&[&shadow]).clash().is_some());

    // A dialog's keys are meant to take over while it is open.
    let dialog = [
        bind(Scope::Global, "q", "q", None, "quit", Command::Quit),
        bind(Scope::QuitPrompt, "q", "q", None, "keep", Command::KeepAndQuit),
    ];
    assert_eq!(Keymap::new(&[&dialog]).clash(), None);
}

#[test]
fn the_help_lists_every_binding_once() {
    let keymap = default_keymap();
    let listed = keymap
        .help_lines()
        .iter()
        .filter(|line| matches!(line, HelpLine::Key(_)))
        .count();
    assert_eq!(listed, keymap.len());
    assert!(keymap.len() > 50, "the features' tables are all there");
}

#[test]
fn chords_parse_as_written_in_the_tables_and_display_back() {
    for (text, shown) in [
        ("q", "q"),
        ("G", "G"),
        ("Space", "Space"),
        ("Ctrl+r", "Ctrl+R"),
        ("Ctrl+R", "Ctrl+R"),
        ("Shift+Tab", "Shift+Tab"),
        ("PgDn", "PgDn"),
        ("pagedown", "PgDn"),
        ("Del", "Del"),
        ("F5", "F5"),
        ("?", "?"),
    ] {
        let chord = Chord::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(chord.to_string(), shown, "{text}");
    }
    for bad in ["", "F13", "Hyper+x", "qq", "Ctrl+", "\u{1b}"] {
        assert!(Chord::parse(bad).is_err(), "{bad:?} should not parse");
    }
    assert_eq!(Chord::parse_list("d Del").unwrap().len(), 2);
    assert!(Chord::parse_list("   ").is_err());
}

#[test]
fn a_user_binding_replaces_the_default_keys_of_that_command() {
    let keymap = keymap_with(&overrides("locks", &[("renew", "e")])).unwrap();
    let scopes = [Scope::LocksPane, Scope::Global];
    assert_eq!(
        keymap.lookup(&scopes, &press(KeyCode::Char('e'), KeyModifiers::NONE)),
        Some(Command::RenewLock)
    );
    assert_ne!(
        keymap.lookup(&scopes, &press(KeyCode::Char('r'), KeyModifiers::NONE)),
        Some(Command::RenewLock),
        "the default key no longer renews"
    );
    let shown = keymap
        .bindings_of(Scope::LocksPane)
        .find(|b| b.command == Command::RenewLock)
        .unwrap();
    assert_eq!(shown.keys, "e", "hints and help show the user's key");
}

#[test]
fn user_bindings_that_cannot_work_are_refused_with_the_reason() {
    let unknown_scope = keymap_with(&overrides("lockz", &[("renew", "R")])).unwrap_err();
    assert!(
        unknown_scope.contains("[keys.lockz]") && unknown_scope.contains("locks"),
        "{unknown_scope}"
    );

    let unknown_command = keymap_with(&overrides("locks", &[("renw", "R")])).unwrap_err();
    assert!(
        unknown_command.contains("renw") && unknown_command.contains("renew"),
        "{unknown_command}"
    );

    // `R` shows the records pane from everywhere.
    let hides_global = keymap_with(&overrides("locks", &[("renew", "R")])).unwrap_err();
    assert!(hides_global.contains("key R"), "{hides_global}");

    let bad_key = keymap_with(&overrides("locks", &[("renew", "Hyper+r")])).unwrap_err();
    assert!(bad_key.contains("Hyper+r"), "{bad_key}");

    // `q` quits everywhere; a pane key may not hide it.
    let clash = keymap_with(&overrides("locks", &[("renew", "q")])).unwrap_err();
    assert!(clash.contains("key q"), "{clash}");
}
