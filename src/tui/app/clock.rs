//! When the screen next changes on its own. Countdowns show whole seconds left. A free-running
//! one-second tick drifts against each lock's expiry; when it runs close to a lock's rollover,
//! a little timer jitter shows one second twice and skips the next. So ticks are placed just
//! after a rollover instead: once a second for all countdowns together (a redraw per lock and
//! second would multiply the idle cost), right after the rollover followed by the longest quiet
//! stretch. Ticks never come early, so every countdown changes by exactly one second per tick,
//! and a tick may come late by that whole stretch before any second is skipped.

use chrono::{DateTime, Utc};

use super::App;
use super::locks::{Busy, renew_ahead};

impl App {
    /// The next instant after `now` to tick at: the shared countdown tick, or earlier when work
    /// falls due (an auto-renewal, its retry, the renewal of a running bulk delete's lock).
    /// `None` while nothing depends on the clock.
    pub fn next_clock_change(&self) -> Option<DateTime<Utc>> {
        let now = self.now;
        let ahead = renew_ahead(self.session.lock_ttl);
        // Nothing counts down for these: they show "gone" or "--:--".
        let counting = self
            .locks
            .entries
            .iter()
            .filter(|e| !e.gone && e.busy != Some(Busy::Adopting));
        let rollovers: Vec<DateTime<Utc>> = counting
            .clone()
            .map(|e| e.lock.expires_at)
            .filter(|expiry| *expiry > now)
            .map(|expiry| next_second_rollover(expiry, now))
            .collect();
        // When auto-renew (or a bulk delete) would renew a lock: once per lifetime, so not worth
        // asking whether either applies.
        let work = counting
            .flat_map(|e| [Some(e.lock.expires_at - ahead), e.retry_after])
            .flatten()
            .filter(|at| *at > now);
        shared_tick(rollovers).into_iter().chain(work).min()
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
    use crate::api::{LockInfo, ModuleCode};
    use crate::tui::action::Action;
    use crate::tui::app::Session;

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
