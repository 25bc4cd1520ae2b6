//! `App::update` for the pending-deletions pane (`:pending`, `u`, `r`) and its frame at 80x24,
//! with a 19-digit record id, a rule's reason and a device name carrying an escape sequence.

use std::collections::BTreeSet;

use crossterm::event::KeyCode;

use crate::api::{BackupRecord, DeviceEntity, ModuleCode, RecordStatus};
use crate::history::entry::example_who;
use crate::pending::{Queued, SavedRules, Why};
use crate::tui::action::{Action, Effect, PendingRead};
use crate::tui::app::App;
use crate::tui::feature::Pane;
use crate::tui::test_support::{app_holding, at, ch, press, screen_of, session, t0, type_text};

const LONG_ID: &str = "1234567890123456789";

fn queued(id: &str, device: &str, why: Why, due_in: i64) -> Queued {
    let record = BackupRecord {
        record_id: id.into(),
        module_code: ModuleCode::AddressBook.into(),
        status: RecordStatus::New,
        properties: String::new(),
        version: 1,
        create_time: at(-90_000),
        end_time: None,
        device_info: DeviceEntity {
            device_id: "dev-1".into(),
            device_name: device.into(),
            ..DeviceEntity::default()
        },
    };
    let who = example_who("k.example", "alice");
    let grace = chrono::Duration::hours(24);
    Queued::new(
        record,
        ModuleCode::AddressBook,
        who,
        why,
        at(due_in) - grace,
        chrono::Duration::zero(),
        grace,
    )
}

fn entries() -> Vec<Queued> {
    let rule = Why::Rule {
        reason: "abandoned: still new after 1d 1h".into(),
        reason_code: "abandoned".into(),
        rules: SavedRules {
            stale_new_after_secs: 86_400,
            include_to_be_deleted: true,
            retention: None,
        },
    };
    vec![
        queued(LONG_ID, "phone\u{1b}[31m", Why::ByHand, 82_800),
        queued("42", "laptop", rule, -60),
    ]
}

/// The app at 80x24 with `:pending` open on [`entries`].
fn pending_app() -> App {
    let mut app = app_holding(session(), Vec::new(), 80, 24);
    ch(&mut app, ':');
    type_text(&mut app, "pending");
    assert_eq!(press(&mut app, KeyCode::Enter), [Effect::ReadPending]);
    assert_eq!(app.focus, Pane::Pending);
    let entries = entries();
    let here: BTreeSet<String> = entries.iter().map(|q| q.record_id.clone()).collect();
    app.update(Action::PendingRead(Ok(PendingRead {
        entries,
        unreadable: 0,
        here,
    })));
    app
}

#[test]
fn u_cancels_the_selected_deletion_and_r_reads_again() {
    let mut app = pending_app();
    assert_eq!(ch(&mut app, 'u'), [Effect::CancelQueued(vec![LONG_ID.into()])]);
    ch(&mut app, 'j');
    assert_eq!(ch(&mut app, 'u'), [Effect::CancelQueued(vec!["42".into()])]);
    assert_eq!(ch(&mut app, 'r'), [Effect::ReadPending]);
}

#[test]
fn the_pane_keeps_the_cursor_on_its_record_after_a_reading() {
    let mut app = pending_app();
    ch(&mut app, 'j');
    let mut left = entries();
    left.remove(0);
    app.update(Action::PendingRead(Ok(PendingRead {
        entries: left,
        ..PendingRead::default()
    })));
    assert_eq!(app.pending_pane.selected().unwrap().record_id, "42");
}

#[test]
fn a_queue_that_cannot_be_read_says_why() {
    let mut app = pending_app();
    ch(&mut app, 'r');
    app.update(Action::PendingRead(Err(
        "cannot read the queue in /x: denied".into()
    )));
    assert!(screen_of(&app, 80, 24).contains("cannot read the queue: cannot read the queue in /x"));
    assert_eq!(app.now, t0());
}

mod frames {
    use super::*;

    #[test]
    fn the_pending_pane_at_80x24() {
        insta::assert_snapshot!(screen_of(&pending_app(), 80, 24));
    }
}
