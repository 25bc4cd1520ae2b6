//! `App::update` for deletes under the profile's `delete_grace`: the questions say "queued",
//! a yes queues (an effect for the runtime) and sends nothing, queued records are marked with
//! their time left, `u` takes them back; and the questions' frames at 80x24.

use std::collections::BTreeSet;

use crossterm::event::KeyCode;

use crate::api::{ModuleCode, Page, RecordStatus};
use crate::history::entry::example_who;
use crate::lease::{Owner, Purpose};
use crate::pending::{Queued, Why};
use crate::tui::action::{Action, ApiOutcome, Effect, PendingRead, QueueChange, QueueJob};
use crate::tui::app::App;
use crate::tui::feature::Pane;
use crate::tui::test_support::{
    app_holding, calls, ch, press, record, reply_measured, screen_of, session_named, t0, type_text,
};

fn grace() -> chrono::Duration {
    chrono::Duration::hours(24)
}

/// The records pane on 102 with `n` new records (record `i` is `i` hours old), under a 24-hour
/// grace window, on a `width` x `height` screen.
fn loaded(n: usize, width: u16, height: u16) -> App {
    let session = crate::tui::feature::Session {
        delete_grace: Some(grace()),
        ..session_named("test", false)
    };
    let mut app = app_holding(session, Vec::new(), width, height);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Records);
    let effects = ch(&mut app, '3');
    let (request, _) = calls(&effects)[0].clone();
    let items = (0..n).map(|i| record(i, RecordStatus::New)).collect();
    let page = ApiOutcome::RecordsPage(Ok(Page::new(items, None)));
    app.update(reply_measured(request, page, t0(), 5, 0));
    app
}

fn queued(n: usize, due_in_hours: i64) -> Queued {
    let who = example_who("127.0.0.1:4000", "demo");
    Queued::new(
        record(n, RecordStatus::New),
        ModuleCode::AddressBook,
        who,
        Why::ByHand,
        t0() - grace() + chrono::Duration::hours(due_in_hours),
        chrono::Duration::zero(),
        grace(),
    )
}

fn read(entries: Vec<Queued>) -> Action {
    let here: BTreeSet<String> = entries.iter().map(|q| q.record_id.clone()).collect();
    Action::PendingRead(Ok(PendingRead {
        entries,
        unreadable: 0,
        here,
    }))
}

fn the_job(effects: &[Effect]) -> &QueueJob {
    match effects {
        [Effect::QueueDeletes(job)] => job,
        other => panic!("one queueing and nothing sent: {other:?}"),
    }
}

#[test]
fn a_confirmed_delete_is_queued_and_nothing_is_sent() {
    let mut app = loaded(3, 110, 30);
    ch(&mut app, 'd');
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains("It is queued, deleted after 2025-11-04 07:00 (in 1d 0h)"),
        "{screen}"
    );
    assert!(!screen.contains("cannot be undone"), "{screen}");
    let effects = ch(&mut app, 'y');
    let job = the_job(&effects);
    assert_eq!(job.grace, grace());
    let [(chosen, module, why)] = &job.chosen[..] else {
        panic!("{job:?}")
    };
    assert_eq!(
        (chosen.record_id.as_str(), *module),
        ("9000000", ModuleCode::AddressBook)
    );
    assert_eq!(*why, Why::ByHand);
    assert!(app.records.dialog.is_none());
    assert!(app.locks.entries().is_empty(), "no lock is taken to queue");
}

#[test]
fn the_bulk_question_says_queued_and_the_number_queues_them() {
    let mut app = loaded(5, 110, 30);
    ch(&mut app, ' ');
    ch(&mut app, ' ');
    ch(&mut app, 'd');
    let screen = screen_of(&app, 110, 30);
    assert!(screen.contains("They are queued, deleted after"), "{screen}");
    assert!(screen.contains("to queue their deletion"), "{screen}");
    assert!(!screen.contains("cannot be undone"), "{screen}");
    type_text(&mut app, "2");
    let effects = press(&mut app, KeyCode::Enter);
    let ids: Vec<&str> = the_job(&effects)
        .chosen
        .iter()
        .map(|(r, _, _)| r.record_id.as_str())
        .collect();
    assert_eq!(ids, ["9000000", "8999999"]);
    assert!(app.records.marked().is_empty(), "the queued ones are unmarked");
}

#[test]
fn the_clean_up_queues_its_candidates_with_the_rules_reason() {
    let mut app = loaded(30, 110, 30);
    ch(&mut app, 'x');
    assert!(screen_of(&app, 110, 30).contains("Enter queue the ticked ones for deletion"));
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "5");
    let effects = press(&mut app, KeyCode::Enter);
    let job = the_job(&effects);
    assert_eq!(job.chosen.len(), 5);
    for (_, _, why) in &job.chosen {
        let Why::Rule {
            reason_code, rules, ..
        } = why
        else {
            panic!("{why:?}")
        };
        assert_eq!(reason_code, "abandoned");
        assert_eq!(rules.stale_new_after_secs, 24 * 3600);
    }
}

#[test]
fn queued_records_show_their_time_left_and_u_takes_them_back() {
    let mut app = loaded(3, 110, 30);
    app.update(read(vec![queued(1, 23)]));
    let screen = screen_of(&app, 110, 30);
    assert!(screen.contains("queued 23h 0m"), "{screen}");
    assert!(
        screen.contains("1 queued for deletion: u takes one back"),
        "{screen}"
    );
    // The cursor is on record 0, which is not queued.
    assert!(ch(&mut app, 'u').is_empty());
    assert!(
        app.status
            .notice
            .as_deref()
            .unwrap()
            .contains("no deletion of it is queued")
    );
    ch(&mut app, 'j');
    assert_eq!(ch(&mut app, 'u'), [Effect::CancelQueued(vec!["8999999".into()])]);
    // Marked records: those of them queued.
    ch(&mut app, ' ');
    ch(&mut app, 'k');
    ch(&mut app, 'k');
    ch(&mut app, ' ');
    assert_eq!(ch(&mut app, 'u'), [Effect::CancelQueued(vec!["8999999".into()])]);
}

#[test]
fn d_on_a_record_already_queued_says_so_and_asks_nothing() {
    let mut app = loaded(3, 110, 30);
    app.update(read(vec![queued(1, 23)]));
    ch(&mut app, 'j');
    assert!(ch(&mut app, 'd').is_empty());
    assert!(!app.dialog_open(), "queueing it again would change nothing");
    let notice = app.status.notice.as_deref().unwrap();
    assert!(
        notice.contains("already queued, due in 23h 0m; u takes it back"),
        "{notice}"
    );
    let screen = screen_of(&app, 80, 24);
    assert!(
        screen.contains("already queued, due in 23h 0m; u takes it back"),
        "whole at 80 columns:\n{screen}"
    );
    // A record not queued is asked about as before.
    ch(&mut app, 'k');
    ch(&mut app, 'd');
    assert!(app.dialog_open());
}

#[test]
fn a_refresh_reads_the_queue_again() {
    let mut app = loaded(3, 110, 30);
    assert!(ch(&mut app, 'r').contains(&Effect::ReadPending));
}

#[test]
fn a_cancel_a_running_apply_holds_is_reported() {
    let mut app = loaded(3, 110, 30);
    let mut busy = queued(1, -1);
    busy.claim = Some(Owner::this_process(Purpose::Operation {
        what: "pending apply".into(),
    }));
    app.update(Action::QueueChanged(QueueChange::Cancelled {
        asked: vec!["8999999".into()],
        cancelled: Vec::new(),
        busy: vec![busy],
        unrecorded: None,
    }));
    let (_, error) = app.status.last_error.as_ref().expect("said as an error");
    assert!(error.contains("record 8999999: not cancelled"), "{error}");
    assert!(error.contains("is sending its deletion now"), "{error}");
}

#[test]
fn a_queue_that_cannot_be_written_says_nothing_was_queued() {
    let mut app = loaded(3, 110, 30);
    app.update(Action::QueueChanged(QueueChange::Failed {
        queueing: true,
        why: "cannot write the queue of pending deletions in /x: denied".into(),
    }));
    let (_, error) = app.status.last_error.as_ref().expect("said as an error");
    assert!(error.ends_with("nothing was queued or deleted"), "{error}");
}

mod frames {
    use super::*;

    #[test]
    fn a_delete_under_a_grace_window_at_80x24() {
        let mut app = loaded(3, 80, 24);
        ch(&mut app, 'd');
        insta::assert_snapshot!(screen_of(&app, 80, 24));
    }

    #[test]
    fn a_bulk_delete_under_a_grace_window_at_80x24() {
        let mut app = loaded(5, 80, 24);
        ch(&mut app, 'a');
        ch(&mut app, 'd');
        insta::assert_snapshot!(screen_of(&app, 80, 24));
    }

    #[test]
    fn queued_records_marked_at_80x24() {
        let mut app = loaded(5, 80, 24);
        let mut applying = queued(3, -1);
        applying.claim = Some(Owner::this_process(Purpose::Operation {
            what: "pending apply".into(),
        }));
        app.update(read(vec![queued(1, 23), queued(2, -2), applying]));
        insta::assert_snapshot!(screen_of(&app, 80, 24));
    }
}
