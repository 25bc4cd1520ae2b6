//! `App::update` for what the app itself does: focus and tabs, the activity log, help, the
//! quit prompt, the spinner, journal failures, resizes, the mouse, routing of answers. Time is
//! fixed: nothing here reads the clock.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use chrono::Duration;

use super::*;
use crate::api::{BackupRecord, DeviceEntity, LockInfo, RecordStatus};
use crate::tui::action::ApiOutcome;
use crate::tui::locks::entry::LockEntry;
use crate::tui::shell::Dialog;
use crate::tui::test_support::{
    app_holding, at, ch, click, lock, press, reply, screen_of, session, t0, timeout,
};

const A: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@100";
const B: &str = "7c1d2e3f-0000-4a8e-9d59-2f0f0c7d9e11@101";

fn app_with(held: Vec<(LockInfo, bool)>) -> App {
    app_holding(session(), held, 100, 30)
}

/// Two locks: A with 600 s left, B with 300 s.
fn app() -> App {
    app_with(vec![(lock(A, 600), false), (lock(B, 300), false)])
}

fn ids(app: &App) -> Vec<&str> {
    app.locks.entries().iter().map(|e| e.id()).collect()
}

#[test]
fn starts_with_journalled_locks_and_logs_the_connection() {
    let app = app();
    assert_eq!(ids(&app), [A, B]);
    assert_eq!(app.focus, Pane::Locks);
    assert!(app.activity.entries()[0].message.contains("embedded demo server"));
    assert!(!app.is_busy());
}

#[test]
fn warnings_reach_the_log_and_the_status_line() {
    let app = App::new(
        session(),
        vec![],
        vec!["token file is readable by others".into()],
        t0(),
        Rect::new(0, 0, 100, 30),
    );
    assert_eq!(
        app.status.notice.as_deref(),
        Some("token file is readable by others")
    );
    assert!(
        app.activity
            .entries()
            .iter()
            .any(|e| e.outcome == Outcome::Warning)
    );
}

#[test]
fn key_releases_are_ignored() {
    let mut app = app();
    let mut release = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    app.take_redraw();
    app.update(Action::Key(release));
    assert_eq!(app.locks.selected(), 0);
    assert!(!app.take_redraw());
}

#[test]
fn tab_cycles_focus_and_keys_follow_it() {
    let mut app = app();
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Activity);
    assert_eq!(app.active_scopes(), vec![Scope::ActivityPane, Scope::Global]);
    assert!(ch(&mut app, 'r').is_empty(), "renew is a locks-pane key");
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Locks);
}

#[test]
fn capital_l_r_and_d_show_the_locks_records_and_devices_panes_from_anywhere() {
    let mut app = app();
    ch(&mut app, 'R');
    assert_eq!((app.focus, app.top_pane()), (Pane::Records, Pane::Records));
    press(&mut app, KeyCode::Tab);
    assert_eq!((app.focus, app.top_pane()), (Pane::Locks, Pane::Locks));
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Activity);
    ch(&mut app, 'R');
    assert_eq!(app.focus, Pane::Records);
    ch(&mut app, 'D');
    assert_eq!((app.focus, app.top_pane()), (Pane::Devices, Pane::Devices));
    ch(&mut app, 'L');
    assert_eq!((app.focus, app.top_pane()), (Pane::Locks, Pane::Locks));
    assert!(ch(&mut app, 'r').len() == 1, "lower-case r still renews");
}

#[test]
fn the_tabs_name_both_panes_and_a_click_on_one_shows_it() {
    let mut app = app();
    let [locks, records, _devices] = app.tabs();
    assert_eq!(locks.text(false), " [L] Locks (2) ");
    assert_eq!(records.text(false), " [R] Records ");
    let y = app.layout().unwrap().locks.y;
    // " [R] Records " starts after the corner, the locks tab and the separator.
    let records_x = 1 + locks.text(false).chars().count() as u16 + 1;
    click(&mut app, records_x + 2, y);
    assert_eq!((app.focus, app.top_pane()), (Pane::Records, Pane::Records));
    click(&mut app, records_x - 1, y);
    assert_eq!(app.focus, Pane::Records, "the separator is no tab");
    click(&mut app, 3, y);
    assert_eq!((app.focus, app.top_pane()), (Pane::Locks, Pane::Locks));
    ch(&mut app, 'R');
    ch(&mut app, '3');
    assert_eq!(app.tabs()[1].label, "Records: 102 address book");
}

#[test]
fn activity_pane_scrolls_back_and_forth() {
    let mut app = app();
    for i in 0..20 {
        app.activity.note(t0(), Outcome::Info, "test", i.to_string());
    }
    press(&mut app, KeyCode::Tab);
    ch(&mut app, 'k');
    ch(&mut app, 'k');
    assert_eq!(app.activity.scroll_back(), 2);
    ch(&mut app, 'j');
    assert_eq!(app.activity.scroll_back(), 1);
    ch(&mut app, 'G');
    assert_eq!(app.activity.scroll_back(), 0);
}

#[test]
fn help_opens_scrolls_and_closes() {
    let mut app = app();
    ch(&mut app, '?');
    assert!(matches!(app.shell, Some(Dialog::Help { scroll: 0 })));
    ch(&mut app, 'j');
    assert!(matches!(app.shell, Some(Dialog::Help { scroll: 1 })));
    assert!(
        ch(&mut app, 'r').is_empty(),
        "pane keys do nothing under the help"
    );
    press(&mut app, KeyCode::Esc);
    assert!(!app.dialog_open());
    ch(&mut app, '?');
    ch(&mut app, '?');
    assert!(!app.dialog_open());
}

#[test]
fn help_scrolls_to_its_last_line_on_a_short_terminal_and_no_further() {
    let mut app = app();
    app.update(Action::Resize {
        width: 100,
        height: 15,
    });
    ch(&mut app, '?');
    for _ in 0..500 {
        ch(&mut app, 'j');
    }
    // The help as drawn: long texts wrap onto more lines than there are bindings.
    let help_lines = |app: &App| {
        let width = crate::tui::layout::help_area(app.screen).width;
        let theme = crate::tui::theme::Theme::new(crate::tui::theme::ColorSupport::None);
        crate::tui::shell::view::help_text(app.keymap(), false, width, &theme).len()
    };
    let lines = help_lines(&app);
    assert!(lines > app.keymap().help_lines().len(), "some texts wrap");
    let rows = crate::tui::layout::help_rows(app.screen);
    let Some(Dialog::Help { scroll }) = app.shell else {
        panic!("help is open")
    };
    assert_eq!(scroll + rows, lines, "the last line is at the bottom");
    assert!(scroll > app.keymap().len(), "more lines than bindings");
    ch(&mut app, 'k');
    assert!(matches!(app.shell, Some(Dialog::Help { scroll: s }) if s == scroll - 1));
    // Growing the terminal shows more at once, so the scroll comes back as far as needed.
    app.update(Action::Resize {
        width: 100,
        height: 40,
    });
    let rows = crate::tui::layout::help_rows(app.screen);
    let lines = help_lines(&app);
    assert!(matches!(app.shell, Some(Dialog::Help { scroll: s }) if s + rows == lines));
}

#[test]
fn quitting_without_live_locks_is_immediate() {
    let mut app = app_with(vec![(lock(A, -5), false)]);
    assert_eq!(ch(&mut app, 'q'), [Effect::Quit]);
    let mut app = app_with(vec![]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.update(Action::Key(ctrl_c)), [Effect::Quit]);
}

#[test]
fn quitting_with_live_locks_asks_and_cancel_stays() {
    let mut app = app();
    assert!(ch(&mut app, 'q').is_empty());
    assert!(matches!(app.shell, Some(Dialog::QuitPrompt { live_locks: 2 })));
    assert!(ch(&mut app, 'c').is_empty());
    assert!(!app.dialog_open());
    ch(&mut app, 'q');
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(!app.dialog_open());
}

#[test]
fn quitting_and_keeping_hands_the_apps_locks_to_the_user() {
    let mut app = app();
    ch(&mut app, 'q');
    let effects = ch(&mut app, 'k');
    let kept = Purpose::Kept {
        via: "the app, kept when it quit".into(),
    };
    let expected: Vec<Effect> = [lock(A, 600), lock(B, 300)]
        .into_iter()
        .map(|lock| {
            Effect::Journal(crate::tui::action::JournalChange::Upsert {
                lock,
                auto_renew: false,
                purpose: kept.clone(),
            })
        })
        .chain([Effect::Quit])
        .collect();
    assert_eq!(
        effects, expected,
        "kept as the user's, so nobody takes them for orphans"
    );
}

#[test]
fn the_quit_prompt_releases_only_the_apps_own_locks() {
    use crate::lease::{Purpose, Standing};
    use crate::tui::test_support::{foreign, own};
    // A lock kept with `lock create` in another shell: a script may be using it by its id.
    let kept = foreign(
        lock("kept-by-lock-create@101", 600),
        Purpose::Kept {
            via: "`lock create`".into(),
        },
        Standing::Kept,
    );
    let mut app = App::new(
        session(),
        vec![own(lock(A, 600), false), kept],
        Vec::new(),
        t0(),
        Rect::new(0, 0, 100, 30),
    );
    assert!(ch(&mut app, 'q').is_empty());
    assert!(matches!(app.shell, Some(Dialog::QuitPrompt { live_locks: 1 })));
    let screen = screen_of(&app, 100, 30);
    assert!(screen.contains("This app holds 1 live lock(s):"), "{screen}");
    assert!(
        !screen.contains("101 album  kept-by"),
        "not in the prompt:\n{screen}"
    );
    let released: Vec<String> = crate::tui::test_support::calls(&ch(&mut app, 'r'))
        .into_iter()
        .filter_map(|(_, call)| match call {
            ApiCall::ReleaseLock(lock_id) => Some(lock_id),
            _ => None,
        })
        .collect();
    assert_eq!(released, [A]);
}

#[test]
fn quitting_and_releasing_waits_for_every_release() {
    let mut app = app();
    ch(&mut app, 'q');
    let effects = ch(&mut app, 'r');
    let requests: Vec<RequestId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Api {
                request,
                call: ApiCall::ReleaseLock(_),
            } => Some(*request),
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 2);
    let first = app.update(reply(requests[0], ApiOutcome::LockReleased(Ok(())), at(1)));
    assert!(!first.contains(&Effect::Quit));
    let second = app.update(reply(requests[1], ApiOutcome::LockReleased(Ok(())), at(1)));
    assert!(second.contains(&Effect::Quit));
    assert!(app.locks.entries().is_empty());
}

#[test]
fn quitting_is_called_off_when_a_release_fails() {
    let mut app = app();
    ch(&mut app, 'q');
    let effects = ch(&mut app, 'r');
    let requests: Vec<RequestId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Api { request, .. } => Some(*request),
            _ => None,
        })
        .collect();
    app.update(reply(
        requests[0],
        ApiOutcome::LockReleased(Err(timeout())),
        at(1),
    ));
    let last = app.update(reply(requests[1], ApiOutcome::LockReleased(Ok(())), at(1)));
    assert!(!last.contains(&Effect::Quit));
    assert_eq!(ids(&app), [A]);
    assert!(app.status.notice.as_deref().unwrap().contains("not quitting"));
}

#[test]
fn ticks_redraw_only_when_a_countdown_changes() {
    let mut app = app();
    app.take_redraw();
    app.update(Action::Tick(t0()));
    assert!(!app.take_redraw(), "same second: nothing changed");
    app.update(Action::Tick(at(1)));
    assert!(app.take_redraw());

    let mut idle = app_with(vec![(lock(A, -10), false)]);
    idle.take_redraw();
    idle.update(Action::Tick(at(5)));
    assert!(!idle.take_redraw(), "an expired lock does not count down");
    let mut empty = app_with(vec![]);
    empty.take_redraw();
    empty.update(Action::Tick(at(5)));
    assert!(!empty.take_redraw());
}

#[test]
fn spinner_animates_only_while_busy() {
    let mut app = app();
    app.take_redraw();
    app.update(Action::Animate);
    assert!(!app.take_redraw());
    assert_eq!(app.spinner_frame, 0);
    ch(&mut app, 'r');
    app.take_redraw();
    app.update(Action::Animate);
    assert!(app.take_redraw());
    assert_eq!(app.spinner_frame, 1);
}

#[test]
fn journal_write_failures_are_shown() {
    let mut app = app();
    app.update(Action::JournalWritten(Err("disk full".into())));
    assert!(app.status.last_error.as_ref().unwrap().1.contains("disk full"));
    assert_eq!(app.activity.entries().back().unwrap().outcome, Outcome::Warning);
    let before = app.activity.entries().len();
    app.update(Action::JournalWritten(Ok(())));
    assert_eq!(app.activity.entries().len(), before);
}

#[test]
fn resize_updates_the_layout_and_keeps_the_selection_visible() {
    let mut app = app_with(
        (0..12)
            .map(|i| (lock(&format!("id{i:02}@100"), 600), false))
            .collect(),
    );
    ch(&mut app, 'G');
    app.update(Action::Resize {
        width: 80,
        height: 15,
    });
    assert_eq!(app.screen, Rect::new(0, 0, 80, 15));
    let visible = app.layout().unwrap().visible_lock_rows();
    assert!(app.locks.selected() < app.locks.offset() + visible);
    app.update(Action::Resize {
        width: 40,
        height: 10,
    });
    assert!(app.layout().is_none());
}

#[test]
fn clicks_focus_panes_and_select_rows() {
    let mut app = app();
    let layout = app.layout().unwrap();
    click(&mut app, 10, layout.activity.y + 2);
    assert_eq!(app.focus, Pane::Activity);
    click(&mut app, 10, layout.locks.y + 3);
    assert_eq!(app.focus, Pane::Locks);
    assert_eq!(app.locks.selected(), 1);
    click(&mut app, 10, layout.locks.y + 8);
    assert_eq!(app.locks.selected(), 1, "below the last lock: no change");
}

#[test]
fn mouse_motion_does_not_redraw_and_the_wheel_scrolls() {
    let mut app = app();
    app.take_redraw();
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Moved,
        column: 3,
        row: 3,
        modifiers: KeyModifiers::NONE,
    }));
    assert!(!app.take_redraw());
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 3,
        row: 4,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.locks.selected(), 1);
}

#[test]
fn replies_to_unknown_requests_are_ignored() {
    let mut app = app();
    let effects = app.update(reply(RequestId(999), ApiOutcome::LockReleased(Ok(())), at(1)));
    assert!(effects.is_empty());
    assert_eq!(ids(&app), [A, B]);
}

// When the app asks to be woken, and what a tick then changes.

/// An app whose locks `lock-{i}@100` expire `expiries` after `t0`.
fn app_counting(expiries: &[Duration], auto_renew: bool) -> App {
    let held = expiries
        .iter()
        .enumerate()
        .map(|(i, left)| {
            let lock = LockInfo {
                lock_id: format!("lock-{i}@100"),
                module: ModuleCode::Folder,
                expires_at: t0() + *left,
            };
            (lock, auto_renew)
        })
        .collect();
    app_holding(session(), held, 100, 30)
}

#[test]
fn the_next_change_is_just_after_the_next_second_rolls_over() {
    // 65.4 s left: "01:05" until 0.4 s from now, "01:04" just after.
    let app = app_counting(&[Duration::milliseconds(65_400)], false);
    let next = app.next_clock_change().unwrap();
    assert_eq!(
        next,
        t0() + Duration::milliseconds(400) + Duration::nanoseconds(1)
    );
    // Exactly on a whole second, "01:05" is shown for that instant only.
    let app = app_counting(&[Duration::seconds(65)], false);
    assert_eq!(app.next_clock_change(), Some(t0() + Duration::nanoseconds(1)));
}

#[test]
fn the_earliest_of_several_locks_wins_and_finished_countdowns_do_not_count() {
    let mut app = app_counting(
        &[
            Duration::milliseconds(9_900),
            Duration::milliseconds(5_250),
            Duration::seconds(-3),
        ],
        false,
    );
    assert_eq!(
        app.next_clock_change(),
        Some(t0() + Duration::milliseconds(250) + Duration::nanoseconds(1))
    );
    app.locks.entries_mut().truncate(2);
    app.locks.entries_mut().iter_mut().for_each(|e| e.gone = true);
    assert_eq!(app.next_clock_change(), None, "gone locks show no countdown");
    assert_eq!(app_counting(&[], false).next_clock_change(), None);
}

#[test]
fn waking_at_each_change_shows_every_second_once_and_redraws_every_time() {
    // Lock expiries fall anywhere within a second; the countdown must still go down one
    // second per wakeup, never repeating or skipping a value, through the urgency changes.
    let mut app = app_counting(&[Duration::milliseconds(130_733)], false);
    let mut shown = vec![app.locks.entries()[0].countdown(app.now)];
    while let Some(at) = app.next_clock_change() {
        app.take_redraw();
        app.update(Action::Tick(at));
        assert!(app.take_redraw(), "woke at {at} for nothing");
        shown.push(app.locks.entries()[0].countdown(app.now));
    }
    let expected: Vec<String> = (0..=130)
        .rev()
        .map(|s| format!("{:02}:{:02}", s / 60, s % 60))
        .chain(["expired".to_string()])
        .collect();
    assert_eq!(shown, expected);
}

#[test]
fn several_countdowns_share_one_tick_a_second_and_none_skips_a_second() {
    // Rollovers at .900, .250 and .300 of each second: the longest quiet stretch follows
    // the one at .300 (until .900), so the ticks come just after .300.
    let expiries = [
        Duration::milliseconds(9_900),
        Duration::milliseconds(125_250),
        Duration::milliseconds(31_300),
    ];
    let mut app = app_counting(&expiries, false);
    let mut shown: Vec<Vec<String>> = vec![Vec::new(); 3];
    let record = |app: &App, shown: &mut Vec<Vec<String>>| {
        for (i, entry) in app.locks.entries().iter().enumerate() {
            let text = entry.countdown(app.now);
            if shown[i].last() != Some(&text) {
                shown[i].push(text);
            }
        }
    };
    record(&app, &mut shown);
    let mut ticks = 0;
    while let Some(at) = app.next_clock_change() {
        // Once the lock rolling over at .300 has expired, the one at .250 sets the phase.
        let phase = if at < t0() + Duration::seconds(32) {
            300
        } else {
            250
        };
        assert_eq!(at.timestamp_subsec_millis(), phase, "ticks stay in phase");
        app.update(Action::Tick(at));
        record(&app, &mut shown);
        ticks += 1;
    }
    assert!(
        (126..=127).contains(&ticks),
        "one tick a second, not one per lock: {ticks}"
    );
    for (i, whole) in [9, 125, 31].into_iter().enumerate() {
        let expected: Vec<String> = (0..=whole)
            .rev()
            .map(|s| format!("{:02}:{:02}", s / 60, s % 60))
            .chain(["expired".to_string()])
            .collect();
        assert_eq!(shown[i], expected, "lock {i} shows every second once");
    }
}

/// An app holding no lock, listing records created `ages` ago, with the records pane shown.
fn app_with_records(ages: &[Duration]) -> App {
    let mut app = app_counting(&[], false);
    let records = ages
        .iter()
        .enumerate()
        .map(|(i, age)| BackupRecord {
            record_id: format!("{}", 7_000_000 + i),
            module_code: ModuleCode::Folder.into(),
            status: RecordStatus::New,
            properties: String::new(),
            version: 1,
            create_time: t0() - *age,
            end_time: None,
            device_info: DeviceEntity::default(),
        })
        .collect();
    app.records.start_listing(ModuleCode::Folder);
    app.records.add_page(records, true, 10, t0());
    app.focus_pane(Pane::Records);
    app.take_redraw();
    app
}

/// The age drawn in the row of record `record_id` (its last column).
fn drawn_age(app: &App, record_id: &str) -> String {
    let screen = screen_of(app, app.screen.width, app.screen.height);
    let row = screen
        .lines()
        .find(|row| row.contains(record_id))
        .unwrap_or_else(|| panic!("record {record_id} not drawn"));
    let mut words = row.split(['│', '┃', ' ']).filter(|word| !word.is_empty());
    words.next_back().unwrap_or_default().to_string()
}

#[test]
fn a_shown_age_is_woken_for_when_it_changes_and_redrawn() {
    let mut app = app_with_records(&[Duration::seconds(59)]);
    assert_eq!(drawn_age(&app, "7000000"), "59s");
    let at = app.next_clock_change().expect("the age counts seconds");
    assert!(at > t0() && at - t0() <= Duration::seconds(1), "{at}");
    app.update(Action::Tick(at));
    assert!(app.take_redraw(), "the age changed");
    assert_eq!(drawn_age(&app, "7000000"), "1m");
    // From now on the age changes once a minute: ticks in between redraw nothing.
    assert_eq!(app.next_clock_change(), Some(t0() + Duration::seconds(61)));
    app.update(Action::Tick(t0() + Duration::seconds(30)));
    assert!(!app.take_redraw(), "\"1m\" still");
    app.update(Action::Tick(t0() + Duration::seconds(61)));
    assert!(app.take_redraw());
    assert_eq!(drawn_age(&app, "7000000"), "2m");
}

#[test]
fn young_ages_share_the_countdown_tick_and_older_ones_wake_on_their_minute() {
    // A countdown rolling over at .300 of each second, records whose seconds roll over at
    // .500 and .600, and one 25 m 30 s old: one tick a second, just after .600 (followed by
    // the longest quiet stretch).
    let mut app = app_with_records(&[
        Duration::milliseconds(12_500),
        Duration::milliseconds(5_400),
        Duration::seconds(25 * 60 + 30),
    ]);
    app.locks.entries_mut().push(LockEntry::new(
        LockInfo {
            lock_id: "lock-0@100".into(),
            module: ModuleCode::Folder,
            expires_at: t0() + Duration::milliseconds(300_300),
        },
        false,
        crate::tui::locks::Holder::App(Purpose::App { adopted: false }),
    ));
    assert_eq!(app.next_clock_change(), Some(t0() + Duration::milliseconds(600)));
    // Once past their first minute, the young ones step by the minute as well: then the
    // countdown sets the phase, and without it the oldest record's next minute comes first.
    app.update(Action::Tick(t0() + Duration::seconds(55)));
    let next = app.next_clock_change().unwrap();
    assert_eq!(next.timestamp_subsec_millis(), 300, "the countdown alone: {next}");
    app.locks.entries_mut().clear();
    assert_eq!(app.next_clock_change(), Some(t0() + Duration::seconds(90)));
}

#[test]
fn with_the_locks_pane_on_top_record_ages_cost_nothing() {
    let mut app = app_with_records(&[Duration::seconds(59), Duration::seconds(3_599)]);
    app.focus_pane(Pane::Locks);
    assert_eq!(app.next_clock_change(), None);
    app.update(Action::Tick(t0() + Duration::seconds(1)));
    assert!(!app.take_redraw(), "the ages are not on screen");
    // Records scrolled out of view do not count either.
    let mut app = app_with_records(&[Duration::seconds(59)]);
    app.records.scroll_for_test(1);
    assert_eq!(app.next_clock_change(), None);
}

#[test]
fn auto_renewal_and_its_retries_are_woken_for() {
    // TTL 600 s: auto-renew acts 200 s before expiry, here half a second from now, a
    // nanosecond before the countdown rolls over.
    let mut app = app_counting(&[Duration::milliseconds(200_500)], true);
    let due = t0() + Duration::milliseconds(500);
    assert_eq!(app.next_clock_change(), Some(due));
    let effects = app.update(Action::Tick(due));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Api { .. })),
        "{effects:?}"
    );
    let mut app = app_counting(&[Duration::milliseconds(300_500)], true);
    app.locks.entries_mut()[0].retry_after = Some(t0() + Duration::milliseconds(100));
    assert_eq!(app.next_clock_change(), Some(t0() + Duration::milliseconds(100)));
}

#[test]
fn while_the_screen_is_too_small_only_quitting_works() {
    let mut app = app();
    ch(&mut app, 'd');
    assert!(app.dialog_open(), "a release confirmation is open");
    app.update(Action::Resize {
        width: 50,
        height: 12,
    });
    assert!(app.layout().is_none());
    // Blind keys: confirm the hidden release, release again, delete, release all.
    for c in ['y', 'g', 'd', 'y', 'n', '1', 'r', 'a', 'i', 'R', '3', 'x'] {
        assert!(
            ch(&mut app, c).is_empty(),
            "{c} acted on a screen too small to show it"
        );
    }
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    app.update(Action::Paste("text".into()));
    assert_eq!(ids(&app), [A, B]);
    assert!(app.locks.entries().iter().all(|entry| entry.busy.is_none()));

    // Quitting with live locks asks, once the question can be seen.
    press(&mut app, KeyCode::Esc);
    app.update(Action::Resize {
        width: 100,
        height: 30,
    });
    press(&mut app, KeyCode::Esc);
    app.update(Action::Resize {
        width: 50,
        height: 12,
    });
    assert!(!app.dialog_open());
    assert!(
        ch(&mut app, 'q').is_empty(),
        "live locks: no quitting without asking"
    );
    assert!(matches!(app.shell, Some(Dialog::QuitPrompt { live_locks: 2 })));
    assert!(
        ch(&mut app, 'r').is_empty(),
        "the prompt waits for a screen that shows it"
    );
    let screen = crate::tui::test_support::screen_of(&app, 50, 12);
    assert!(
        screen.contains("you hold 2 live lock(s)"),
        "the small screen says what waits:\n{screen}"
    );
    app.update(Action::Resize {
        width: 100,
        height: 30,
    });
    let releases = crate::tui::test_support::calls(&ch(&mut app, 'r'));
    assert_eq!(releases.len(), 2);

    let mut idle = app_with(vec![]);
    idle.update(Action::Resize {
        width: 50,
        height: 12,
    });
    assert_eq!(
        ch(&mut idle, 'q'),
        [Effect::Quit],
        "nothing to lose: quits at once"
    );
}

/// Whatever a server sends (dates at the ends of time, huge numbers, empty, 5,000-character and
/// control-character strings, unknown statuses, clocks centuries off), `App::update` does not
/// panic and every screen size still draws.
mod arbitrary_answers {
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    use super::*;
    use crate::api::{BackupFile, Page, RecordModule};
    use crate::tui::action::ApiCall;
    use crate::tui::test_support::calls;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("x".repeat(5_000)),
            Just("\u{1b}]52;c;cm0=\u{7}\u{1b}[2J\u{9b}6n\u{202e}".to_string()),
            proptest::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        ]
    }

    fn time() -> impl Strategy<Value = DateTime<Utc>> {
        let (min, max) = (
            DateTime::<Utc>::MIN_UTC.timestamp(),
            DateTime::<Utc>::MAX_UTC.timestamp(),
        );
        prop_oneof![
            Just(DateTime::<Utc>::MIN_UTC),
            Just(DateTime::<Utc>::MAX_UTC),
            (-100_000i64..100_000).prop_map(|s| t0() + Duration::seconds(s)),
            (min..=max).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
        ]
    }

    fn record() -> impl Strategy<Value = BackupRecord> {
        (
            (text(), any::<i64>(), text(), any::<i64>()),
            (time(), proptest::option::of(time())),
            (text(), text(), text(), proptest::option::of(time())),
            proptest::option::of(text()),
        )
            .prop_map(
                |((id, status, properties, version), (created, ended), (device, name, os, bound), module)| {
                    BackupRecord {
                        record_id: id,
                        module_code: module.map_or(ModuleCode::AddressBook.into(), RecordModule::Unknown),
                        status: RecordStatus::from_number(status),
                        properties,
                        version,
                        create_time: created,
                        end_time: ended,
                        device_info: DeviceEntity {
                            device_id: device,
                            machine_code: String::new(),
                            device_name: name,
                            device_os: os,
                            create_time: bound,
                        },
                    }
                },
            )
    }

    fn file() -> impl Strategy<Value = BackupFile> {
        (
            text(),
            any::<u64>(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(time()),
        )
            .prop_map(|(name, size, sha256, description, created)| BackupFile {
                file_id: "f".into(),
                file_name: name,
                sha256,
                size,
                description,
                create_time: created,
            })
    }

    fn device() -> impl Strategy<Value = DeviceEntity> {
        (text(), text(), text(), text(), proptest::option::of(time())).prop_map(
            |(id, machine, name, os, created)| DeviceEntity {
                device_id: id,
                machine_code: machine,
                device_name: name,
                device_os: os,
                create_time: created,
            },
        )
    }

    fn scope() -> impl Strategy<Value = crate::api::model::ScopeInfo> {
        (text(), text(), text(), text(), proptest::option::of(time())).prop_map(
            |(id, module, local, target, created)| crate::api::model::ScopeInfo {
                scope_id: id,
                module_code: module,
                local_path: local,
                target_folder_path: target,
                create_time: created,
            },
        )
    }

    fn config() -> impl Strategy<Value = crate::api::model::ConfigInfo> {
        (text(), text(), text(), proptest::option::of(text())).prop_map(
            |(device, name, value, description)| crate::api::model::ConfigInfo {
                device_id: device,
                module_code: "101".into(),
                config_name: name,
                config_value: value,
                description,
            },
        )
    }

    /// What the server answers, and how far off its clock is.
    #[derive(Debug, Clone)]
    struct Server {
        records: Vec<BackupRecord>,
        devices: Vec<DeviceEntity>,
        scopes: Vec<crate::api::model::ScopeInfo>,
        configs: Vec<crate::api::model::ConfigInfo>,
        cursor: Option<String>,
        files: Vec<BackupFile>,
        expiry: DateTime<Utc>,
        offset_ms: i64,
    }

    fn server() -> impl Strategy<Value = Server> {
        const CENTURIES_MS: i64 = 300 * 365 * 24 * 3_600_000;
        (
            (
                proptest::collection::vec(record(), 0..12),
                proptest::option::of(text()),
                proptest::collection::vec(file(), 0..4),
            ),
            (
                proptest::collection::vec(device(), 0..4),
                proptest::collection::vec(scope(), 0..3),
                proptest::collection::vec(config(), 0..3),
            ),
            time(),
            -CENTURIES_MS..CENTURIES_MS,
        )
            .prop_map(
                |((records, cursor, files), (devices, scopes, configs), expiry, offset_ms)| Server {
                    records,
                    devices,
                    scopes,
                    configs,
                    cursor,
                    files,
                    expiry,
                    offset_ms,
                },
            )
    }

    /// Answers every call among `effects`, and the calls those answers lead to (a bounded number).
    fn serve(app: &mut App, server: &Server, mut effects: Vec<Effect>) {
        for _ in 0..20 {
            let pending = calls(&effects);
            if pending.is_empty() {
                return;
            }
            effects = Vec::new();
            for (request, call) in pending {
                let outcome = match call {
                    ApiCall::ListRecords { .. } => {
                        ApiOutcome::RecordsPage(Ok(Page::new(server.records.clone(), server.cursor.clone())))
                    }
                    ApiCall::ListFiles { .. } => {
                        ApiOutcome::FilesPage(Ok(Page::new(server.files.clone(), None)))
                    }
                    ApiCall::GetRecord { .. } | ApiCall::CreateRecord { .. } => {
                        match server.records.first() {
                            Some(record) => ApiOutcome::RecordFetched(Ok(record.clone())),
                            None => ApiOutcome::RecordFetched(Err(timeout())),
                        }
                    }
                    ApiCall::CreateLock(module) => ApiOutcome::LockCreated(Ok(LockInfo {
                        lock_id: format!("x@{}", module.code()),
                        module,
                        expires_at: server.expiry,
                    })),
                    ApiCall::RenewLock(lock) => ApiOutcome::LockRenewed(Ok(LockInfo {
                        expires_at: server.expiry,
                        ..lock
                    })),
                    ApiCall::ReleaseLock(_) => ApiOutcome::LockReleased(Ok(())),
                    ApiCall::CompleteRecord { .. } => ApiOutcome::RecordCompleted(Ok(())),
                    ApiCall::DeleteRecord { .. } => {
                        ApiOutcome::RecordDeleted(crate::bulk::Outcome::Deleted { was: None })
                    }
                    ApiCall::ListDevices => {
                        ApiOutcome::DevicesListed(Ok(Page::new(server.devices.clone(), None)))
                    }
                    ApiCall::UnbindDevice { .. } => {
                        ApiOutcome::DeviceUnbound(Ok(server.devices.first().cloned()))
                    }
                    ApiCall::ListScopes { .. } => {
                        ApiOutcome::ScopesListed(Ok(Page::new(server.scopes.clone(), None)))
                    }
                    ApiCall::AddScopes { .. } => ApiOutcome::ScopesAdded(Ok(server.scopes.clone())),
                    ApiCall::DeleteScopes { .. } => ApiOutcome::ScopesDeleted(Err(timeout())),
                    ApiCall::ListConfigs { .. } => {
                        ApiOutcome::ConfigsListed(Ok(Page::new(server.configs.clone(), None)))
                    }
                    ApiCall::UpdateConfig { .. } => match server.configs.first() {
                        Some(config) => ApiOutcome::ConfigUpdated(Ok(config.clone())),
                        None => ApiOutcome::ConfigUpdated(Err(timeout())),
                    },
                };
                let now = app.now;
                effects.extend(app.update(crate::tui::test_support::reply_measured(
                    request,
                    outcome,
                    now,
                    1,
                    server.offset_ms,
                )));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn any_answer_draws_at_any_size(server in server(), width in 1u16..160, height in 1u16..50) {
            let held = vec![(LockInfo { expires_at: server.expiry, ..lock(A, 0) }, true)];
            let mut app = app_holding(session(), held, 120, 40);
            let keys = [
                KeyCode::Char('r'), KeyCode::Char('R'), KeyCode::Char('3'), KeyCode::Char('G'), KeyCode::Enter,
                KeyCode::Esc, KeyCode::Char('x'), KeyCode::Esc, KeyCode::Char('c'), KeyCode::Enter,
                KeyCode::Esc, KeyCode::Char('/'), KeyCode::Char('a'), KeyCode::Esc, KeyCode::Char('L'),
            ];
            for key in keys {
                let effects = press(&mut app, key);
                serve(&mut app, &server, effects);
                screen_of(&app, 120, 40);
            }
            for at in [t0() + Duration::days(1), DateTime::<Utc>::MAX_UTC] {
                let effects = app.update(Action::Tick(at));
                serve(&mut app, &server, effects);
                let _ = app.next_clock_change();
            }
            app.update(Action::Resize { width, height });
            screen_of(&app, width, height);
            ch(&mut app, 'R');
            screen_of(&app, width, height);
        }
    }
}
