//! `App::update` for the history pane (`:history`, `/` filter words, `Enter` for one entry
//! whole, Esc back) and its frames at 80x24 and 60x15, with a 19-digit record id and CJK
//! properties.

use crossterm::event::KeyCode;

use super::Dialog;
use crate::api::{BackupRecord, DeviceEntity, ModuleCode, RecordStatus};
use crate::history::entry::example_who;
use crate::history::{Entry, Op, Outcome};
use crate::tui::action::{Action, Effect, HistoryRead};
use crate::tui::app::App;
use crate::tui::feature::Pane;
use crate::tui::test_support::{app_holding, at, ch, press, screen_of, session, type_text};

const LONG_ID: &str = "1234567890123456789";

fn entry(op: Op, seconds: i64, module: &str) -> Entry {
    let who = example_who("k.example", "alice");
    let mut entry = Entry::new(who, op, Outcome::ok());
    entry.at = at(seconds);
    entry.id = format!("2026120{seconds}-abcdef");
    entry.module = Some(module.into());
    entry
}

/// Newest first: a delete of a record with CJK properties (from a server: with an escape
/// sequence in its device name), a failed renewal, a created record.
fn entries() -> Vec<Entry> {
    let mut delete = entry(Op::RecordDelete, 3, "102");
    delete.record_id = Some(LONG_ID.into());
    delete.record = Some(BackupRecord {
        record_id: LONG_ID.into(),
        module_code: ModuleCode::AddressBook.into(),
        status: RecordStatus::Completed,
        properties: r#"{"名前":"山田太郎","メモ":"毎日のバックアップ"}"#.into(),
        version: 2,
        create_time: at(-3600),
        end_time: Some(at(-3000)),
        device_info: DeviceEntity {
            device_id: "dev-1".into(),
            device_name: "phone\u{1b}[31m".into(),
            ..DeviceEntity::default()
        },
    });
    let mut renew = entry(Op::LockRenew, 2, "100");
    renew.lock_id = Some("L@100".into());
    renew.outcome = Outcome {
        ok: false,
        status: Some(404),
        code: Some("404001".into()),
        message: Some("no such lock".into()),
    };
    let mut create = entry(Op::RecordCreate, 1, "102");
    create.record_id = Some("42".into());
    vec![delete, renew, create]
}

/// The app at `width` x `height` with `:history` open on [`entries`].
fn history_app(width: u16, height: u16) -> App {
    let mut app = app_holding(session(), Vec::new(), width, height);
    ch(&mut app, ':');
    type_text(&mut app, "history");
    assert_eq!(press(&mut app, KeyCode::Enter), [Effect::ReadHistory]);
    assert_eq!(app.focus, Pane::History);
    app.update(Action::HistoryRead(Ok(HistoryRead {
        entries: entries(),
        unreadable: 0,
    })));
    app
}

fn shown_ops(app: &App) -> Vec<&'static str> {
    app.history_pane.visible().map(|e| e.op.name()).collect()
}

fn filter(app: &mut App, words: &str) {
    ch(app, '/');
    crate::tui::test_support::ctrl(app, 'u');
    type_text(app, words);
    press(app, KeyCode::Enter);
}

#[test]
fn the_pane_lists_newest_first_and_reads_again_on_r() {
    let mut app = history_app(80, 24);
    assert_eq!(shown_ops(&app), ["record.delete", "lock.renew", "record.create"]);
    assert_eq!(ch(&mut app, 'r'), [Effect::ReadHistory]);
}

#[test]
fn filter_words_narrow_the_list_as_the_command_line_does() {
    let mut app = history_app(80, 24);
    filter(&mut app, "op:delete m:102");
    assert!(!app.dialog_open());
    assert_eq!(shown_ops(&app), ["record.delete"]);
    filter(&mut app, &format!("record:{LONG_ID}"));
    assert_eq!(shown_ops(&app), ["record.delete"]);
    filter(&mut app, "m:100");
    assert_eq!(shown_ops(&app), ["lock.renew"]);
    filter(&mut app, "");
    assert_eq!(shown_ops(&app).len(), 3, "no words: everything");
}

#[test]
fn words_not_understood_are_named_and_the_filter_stays_as_it_was() {
    let mut app = history_app(80, 24);
    filter(&mut app, "m:100");
    filter(&mut app, "op:delete colour:red");
    let Some(Dialog::Filter {
        error: Some(error), ..
    }) = &app.history_pane.dialog
    else {
        panic!("the field stays open with why")
    };
    assert!(error.contains("\"colour:red\" (no filter \"colour\")"), "{error}");
    assert!(screen_of(&app, 80, 24).contains("not understood"));
    press(&mut app, KeyCode::Esc);
    assert_eq!(shown_ops(&app), ["lock.renew"]);
    assert_eq!(app.history_pane.filter(), "m:100");
}

#[test]
fn enter_shows_the_entry_whole_with_the_record_as_it_was_and_esc_goes_back() {
    let mut app = history_app(80, 24);
    press(&mut app, KeyCode::Enter);
    let Some(Dialog::Entry(view)) = &app.history_pane.dialog else {
        panic!("the entry is open")
    };
    let text = view.lines.join("\n");
    assert!(text.contains(&format!("\"recordId\": \"{LONG_ID}\"")), "{text}");
    assert!(
        text.contains("\"名前\": \"山田太郎\""),
        "properties pretty-printed: {text}"
    );
    let screen = screen_of(&app, 80, 24);
    assert!(
        !screen.contains('\u{1b}'),
        "a server's escape sequence never reaches the terminal"
    );
    press(&mut app, KeyCode::Esc);
    assert!(app.history_pane.dialog.is_none());
    assert_eq!(app.focus, Pane::History);
}

#[test]
fn the_entry_scrolls_to_its_last_line_and_no_further() {
    let mut app = history_app(60, 15);
    press(&mut app, KeyCode::Enter);
    ch(&mut app, 'G');
    let Some(Dialog::Entry(view)) = &app.history_pane.dialog else {
        panic!("the entry is open")
    };
    let last = view.scroll;
    assert!(last > 0, "a long entry scrolls on a small screen");
    ch(&mut app, 'j');
    let Some(Dialog::Entry(view)) = &app.history_pane.dialog else {
        panic!("the entry is open")
    };
    assert_eq!(view.scroll, last);
}

#[test]
fn a_history_that_cannot_be_read_says_why() {
    let mut app = history_app(80, 24);
    ch(&mut app, 'r');
    app.update(Action::HistoryRead(Err(
        "cannot read the history in /x: denied".into()
    )));
    assert!(screen_of(&app, 80, 24).contains("cannot read the history: cannot read the history in /x"));
}

mod frames {
    use super::*;

    #[test]
    fn the_history_pane_at_80x24() {
        insta::assert_snapshot!(screen_of(&history_app(80, 24), 80, 24));
    }

    #[test]
    fn the_history_pane_at_60x15() {
        insta::assert_snapshot!(screen_of(&history_app(60, 15), 60, 15));
    }

    #[test]
    fn one_entry_whole_at_80x24() {
        let mut app = history_app(80, 24);
        press(&mut app, KeyCode::Enter);
        insta::assert_snapshot!(screen_of(&app, 80, 24));
    }

    #[test]
    fn one_entry_whole_at_60x15_scrolled_to_the_properties() {
        let mut app = history_app(60, 15);
        press(&mut app, KeyCode::Enter);
        for _ in 0..12 {
            ch(&mut app, 'j');
        }
        insta::assert_snapshot!(screen_of(&app, 60, 15));
    }
}
