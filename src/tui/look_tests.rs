//! `[keys]` and `[theme]` of config.toml: applied to the keymap (the footer and help show the
//! user's keys) and the theme, and refused with the file's line and column when they cannot
//! work.

use std::path::Path;

use ratatui::style::Color;

use super::keymap::{Command, Scope};
use super::look;
use crate::color::ColorChoice;
use crate::config::Config;

fn config(text: &str) -> Config {
    Config::parse(text).expect("the file parses")
}

#[test]
fn user_keys_and_colours_are_applied() {
    let config = config(
        "[keys.locks]\nrenew = \"e\"\nrelease = \"x Del\"\n\n[theme]\nwarning = \"light-magenta\"\nstatus-bar = \"black on #d0d0d0\"\n",
    );
    let (keymap, theme) = look(Some(&config), Path::new("config.toml"), ColorChoice::Always).unwrap();
    let renew = keymap
        .bindings_of(Scope::LocksPane)
        .find(|b| b.command == Command::RenewLock)
        .unwrap();
    assert_eq!(renew.keys, "e", "hints and help show the user's key");
    let release = keymap
        .bindings_of(Scope::LocksPane)
        .find(|b| b.command == Command::ReleaseLock)
        .unwrap();
    assert_eq!(release.keys, "x/Del");
    if theme.support != super::theme::ColorSupport::None {
        assert_eq!(theme.warning.fg, Some(Color::LightMagenta));
        assert_eq!(theme.status_bar.bg, Some(Color::Rgb(0xd0, 0xd0, 0xd0)));
    }
}

#[test]
fn keys_that_cannot_work_are_refused_with_the_line_and_column() {
    // Line 3: `q` quits everywhere, so a pane key may not take it.
    let clash = config("[keys.locks]\nrenew = \"e\"\nrelease = \"q\"\n");
    let error = look(
        Some(&clash),
        Path::new("/home/me/config.toml"),
        ColorChoice::Always,
    )
    .unwrap_err();
    assert!(
        error.starts_with("/home/me/config.toml line 3, column 11: "),
        "{error}"
    );
    assert!(error.contains("key q"), "{error}");

    let unknown = config("[keys.locks]\n\nrenw = \"e\"\n");
    let error = look(Some(&unknown), Path::new("c.toml"), ColorChoice::Always).unwrap_err();
    assert!(error.starts_with("c.toml line 3, column 8: "), "{error}");
    assert!(error.contains("renw") && error.contains("renew"), "{error}");

    let bad_key = config("[keys.records]\nrefresh = \"Hyper+r\"\n");
    let error = look(Some(&bad_key), Path::new("c.toml"), ColorChoice::Always).unwrap_err();
    assert!(
        error.contains("line 2, column 11") && error.contains("Hyper+r"),
        "{error}"
    );
}

#[test]
fn colours_that_do_not_exist_are_refused_with_the_line_and_column() {
    let bad = config("[theme]\nok = \"green\"\nwarning = \"mauve-ish\"\n");
    let error = look(Some(&bad), Path::new("c.toml"), ColorChoice::Always).unwrap_err();
    assert!(
        error.starts_with("c.toml line 3, column 11: [theme] warning: "),
        "{error}"
    );
    assert!(error.contains("\"mauve-ish\" is not a colour"), "{error}");
    let role = config("[theme]\nwarnings = \"red\"\n");
    let error = look(Some(&role), Path::new("c.toml"), ColorChoice::Always).unwrap_err();
    assert!(
        error.contains("no role \"warnings\"") && error.contains("status-bar"),
        "{error}"
    );
}

#[test]
fn a_selection_given_both_colours_is_drawn_in_them_not_reversed() {
    use ratatui::style::Modifier;
    let config = config("[theme]\nselected = \"black on light-yellow\"\n");
    let (_, theme) = look(Some(&config), Path::new("c.toml"), ColorChoice::Always).unwrap();
    // The selected lock row of the locks pane, as drawn.
    let app = super::test_support::three_locks();
    let terminal = super::test_support::drawn(&app, &theme, 100, 24);
    let cell = &terminal.backend().buffer()[(3, 4)];
    assert_eq!((cell.fg, cell.bg), (Color::Black, Color::LightYellow), "{cell:?}");
    assert!(!cell.modifier.contains(Modifier::REVERSED), "{cell:?}");
}

#[test]
fn without_a_config_file_the_defaults_apply() {
    let (keymap, _) = look(None, Path::new("c.toml"), ColorChoice::Always).unwrap();
    assert_eq!(keymap.len(), super::app::default_keymap().len());
}

#[test]
fn a_short_value_of_the_wrong_type_keeps_the_message_readable() {
    let error = Config::parse("[keys]\nrenew = \"e\"\n").unwrap_err();
    assert!(error.starts_with("line 2, column 9: invalid type"), "{error}");
    assert!(
        error.contains("expected a map"),
        "the message's own words stay: {error}"
    );
    assert!(!error.contains("\"e\""), "the value is not shown: {error}");
}
