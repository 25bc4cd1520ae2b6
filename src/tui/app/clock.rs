//! When the screen next changes on its own. Countdowns show whole seconds left. A free-running
//! one-second tick drifts against each lock's expiry; when it runs close to a lock's rollover,
//! a little timer jitter shows one second twice and skips the next. So ticks are placed just
//! after a rollover instead: once a second for all countdowns together (a redraw per lock and
//! second would multiply the idle cost), right after the rollover followed by the longest quiet
//! stretch. The ages of records on screen that still count seconds join that tick. Ticks never
//! come early, so every countdown changes by exactly one second per tick, and a tick may come
//! late by that whole stretch before any second is skipped.

use chrono::{DateTime, Utc};

use super::App;
use super::locks::{Busy, renew_ahead};
use super::record_ages::next_age_change;

impl App {
    /// The next instant after `now` to tick at: the shared countdown tick (which the ages of
    /// young records on screen join), or earlier when work falls due (an auto-renewal, its
    /// retry, the renewal of a running bulk delete's lock) or an older record's age on screen
    /// changes. `None` while nothing depends on the clock.
    pub fn next_clock_change(&self) -> Option<DateTime<Utc>> {
        let now = self.now;
        let ahead = renew_ahead(self.session.lock_ttl);
        // Nothing counts down for these: they show "gone" or "--:--".
        let counting = self
            .locks
            .entries
            .iter()
            .filter(|e| !e.gone && e.busy != Some(Busy::Adopting));
        let mut rollovers: Vec<DateTime<Utc>> = counting
            .clone()
            .map(|e| e.lock.expires_at)
            .filter(|expiry| *expiry > now)
            .map(|expiry| next_second_rollover(expiry, now))
            .collect();
        // Ages on screen: those still counting seconds share the countdowns' tick; the others
        // change once a minute or an hour, each when it does.
        let mut age_changes = Vec::new();
        for created in self.shown_record_creations() {
            match next_age_change(created, now) {
                (at, step) if step == chrono::Duration::seconds(1) => rollovers.push(at),
                (at, _) => age_changes.push(at),
            }
        }
        // When auto-renew (or a bulk delete) would renew a lock: once per lifetime, so not worth
        // asking whether either applies.
        let work = counting
            .flat_map(|e| [Some(e.lock.expires_at - ahead), e.retry_after])
            .flatten()
            .filter(|at| *at > now);
        shared_tick(rollovers)
            .into_iter()
            .chain(work)
            .chain(age_changes)
            .min()
    }
}

/// The first instant after `now` at which the whole seconds left until `expiry` are one fewer.
/// `expiry - now` is shown truncated to whole seconds, so `n` is shown up to and including the
/// instant `expiry - n`, and `n - 1` right after it. Always within a second of `now`.
fn next_second_rollover(expiry: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let shown = (expiry - now).num_seconds();
    expiry - chrono::Duration::seconds(shown) + chrono::Duration::nanoseconds(1)
}

/// Of the countdowns' next rollovers (all within the coming second), the one followed by the
/// longest stretch without another; the stretch after the last one runs on to the first one's
/// rollover a second later.
fn shared_tick(mut rollovers: Vec<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    rollovers.sort();
    let first = *rollovers.first()?;
    let wrapped = first + chrono::Duration::seconds(1);
    let following = rollovers.iter().skip(1).chain([&wrapped]);
    rollovers
        .iter()
        .zip(following)
        .max_by_key(|(at, next)| **next - **at)
        .map(|(at, _)| *at)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use ratatui::layout::Rect;

    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::api::{BackupRecord, DeviceEntity, LockInfo, ModuleCode, RecordStatus};
    use crate::tui::action::Action;
    use crate::tui::app::locks::LockEntry;
    use crate::tui::app::{Pane, Session};
    use crate::tui::theme::{ColorSupport, Theme};
    use crate::tui::views;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap()
    }

    fn app(expiries: &[Duration], auto_renew: bool) -> App {
        let session = Session {
            label: "test".into(),
            embedded: false,
            base_url: "http://127.0.0.1:1".into(),
            user_id: "demo".into(),
            lock_ttl: Duration::seconds(600),
            display_offset: chrono::FixedOffset::east_opt(0).unwrap(),
        };
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
        App::new(session, held, Vec::new(), t0(), Rect::new(0, 0, 100, 30))
    }

    #[test]
    fn the_next_change_is_just_after_the_next_second_rolls_over() {
        // 65.4 s left: "01:05" until 0.4 s from now, "01:04" just after.
        let app = app(&[Duration::milliseconds(65_400)], false);
        let next = app.next_clock_change().unwrap();
        assert_eq!(
            next,
            t0() + Duration::milliseconds(400) + Duration::nanoseconds(1)
        );
        // Exactly on a whole second, "01:05" is shown for that instant only.
        let app = self::app(&[Duration::seconds(65)], false);
        assert_eq!(app.next_clock_change(), Some(t0() + Duration::nanoseconds(1)));
    }

    #[test]
    fn the_earliest_of_several_locks_wins_and_finished_countdowns_do_not_count() {
        let mut app = app(
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
        app.locks.entries.truncate(2);
        app.locks.entries.iter_mut().for_each(|e| e.gone = true);
        assert_eq!(app.next_clock_change(), None, "gone locks show no countdown");
        assert_eq!(self::app(&[], false).next_clock_change(), None);
    }

    #[test]
    fn waking_at_each_change_shows_every_second_once_and_redraws_every_time() {
        // Lock expiries fall anywhere within a second; the countdown must still go down one
        // second per wakeup, never repeating or skipping a value, through the urgency changes.
        let mut app = app(&[Duration::milliseconds(130_733)], false);
        let mut shown = vec![app.locks.entries[0].countdown(app.now)];
        while let Some(at) = app.next_clock_change() {
            app.take_redraw();
            app.update(Action::Tick(at));
            assert!(app.take_redraw(), "woke at {at} for nothing");
            shown.push(app.locks.entries[0].countdown(app.now));
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
        let mut app = app(&expiries, false);
        let mut shown: Vec<Vec<String>> = vec![Vec::new(); 3];
        let record = |app: &App, shown: &mut Vec<Vec<String>>| {
            for (i, entry) in app.locks.entries.iter().enumerate() {
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
        let mut app = app(&[], false);
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
        app.records.add_page(records, true, 10);
        app.focus_pane(Pane::Records);
        app.take_redraw();
        app
    }

    /// The age drawn in the row of record `record_id` (its last column).
    fn drawn_age(app: &App, record_id: &str) -> String {
        let mut terminal = Terminal::new(TestBackend::new(app.screen.width, app.screen.height)).unwrap();
        let theme = Theme::new(ColorSupport::None);
        terminal.draw(|frame| views::draw(frame, app, &theme)).unwrap();
        let buffer = terminal.backend().buffer();
        let row = (0..app.screen.height)
            .map(|y| {
                let row: String = (0..app.screen.width).map(|x| buffer[(x, y)].symbol()).collect();
                row
            })
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
        app.locks.entries.push(LockEntry::new(
            LockInfo {
                lock_id: "lock-0@100".into(),
                module: ModuleCode::Folder,
                expires_at: t0() + Duration::milliseconds(300_300),
            },
            false,
        ));
        assert_eq!(app.next_clock_change(), Some(t0() + Duration::milliseconds(600)));
        // Once past their first minute, the young ones step by the minute as well: then the
        // countdown sets the phase, and without it the oldest record's next minute comes first.
        app.update(Action::Tick(t0() + Duration::seconds(55)));
        let next = app.next_clock_change().unwrap();
        assert_eq!(next.timestamp_subsec_millis(), 300, "the countdown alone: {next}");
        app.locks.entries.clear();
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
        app.records.offset = 1;
        assert_eq!(app.next_clock_change(), None);
    }

    #[test]
    fn auto_renewal_and_its_retries_are_woken_for() {
        // TTL 600 s: auto-renew acts 200 s before expiry, here half a second from now, a
        // nanosecond before the countdown rolls over.
        let mut app = app(&[Duration::milliseconds(200_500)], true);
        let due = t0() + Duration::milliseconds(500);
        assert_eq!(app.next_clock_change(), Some(due));
        let effects = app.update(Action::Tick(due));
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, crate::tui::Effect::Api { .. })),
            "{effects:?}"
        );
        let mut app = self::app(&[Duration::milliseconds(300_500)], true);
        app.locks.entries[0].retry_after = Some(t0() + Duration::milliseconds(100));
        assert_eq!(app.next_clock_change(), Some(t0() + Duration::milliseconds(100)));
    }
}
