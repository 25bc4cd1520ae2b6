//! The ages in the records pane ("42s", "25m", "5h 0m", "1d 6h") grow on their own. Only the
//! rows on screen matter, and only while the records pane is: with the locks pane on top they
//! cost nothing (the app asks only then). Ages are measured on the server's clock, which
//! stamped the records.

use chrono::{DateTime, Duration, Utc};

use super::State;
use crate::format;
use crate::tui::clock::Changes;

/// When the age of a record created at `created` next shows differently than at `now`, and the
/// step its text moves by ([`format::age`]: seconds in the first minute, then minutes up to a day,
/// then hours). Ages count whole seconds up, so the text changes right at a step's boundary. A
/// record stamped ahead of our clock shows "0s" until it is a second old.
pub(super) fn next_age_change(created: DateTime<Utc>, now: DateTime<Utc>) -> (DateTime<Utc>, Duration) {
    let secs = now.signed_duration_since(created).num_seconds().max(0);
    let step = if secs < 60 {
        1
    } else if secs < 86_400 {
        60
    } else {
        3_600
    };
    // Saturating: a record stamped at the end of time has no next change to wake for.
    let next = Duration::try_seconds((secs / step).saturating_add(1).saturating_mul(step))
        .and_then(|after| created.checked_add_signed(after))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (next, Duration::seconds(step))
}

impl State {
    /// When the records on screen were created (server clock), `visible_rows` of them from the
    /// top of the window.
    pub fn shown_creations(&self, visible_rows: usize) -> Vec<DateTime<Utc>> {
        self.visible
            .iter()
            .skip(self.cursor.offset())
            .take(visible_rows)
            .filter_map(|&index| self.rows.get(index))
            .map(|row| row.record.create_time)
            .collect()
    }

    /// The ages as the pane shows them at `server_now`, to tell whether a tick changed them.
    /// The time left of queued deletions shown is counted among them (it changes on a tick too).
    pub fn shown_ages(&self, visible_rows: usize, server_now: DateTime<Utc>) -> Vec<String> {
        let mut ages: Vec<String> = self
            .shown_creations(visible_rows)
            .into_iter()
            .map(|created| format::age(server_now.signed_duration_since(created)))
            .collect();
        let shown = self.visible.iter().skip(self.cursor.offset()).take(visible_rows);
        ages.extend(
            shown
                .filter_map(|&index| self.queued.get(self.rows.get(index)?.id()))
                .map(|queued| queued.left(server_now)),
        );
        ages
    }

    /// When the ages on screen next change, on this machine's clock: the times are the
    /// server's, so each change is moved back by the offset of its clock (`server_now - now`).
    pub fn clock_changes(
        &self,
        visible_rows: usize,
        now: DateTime<Utc>,
        server_now: DateTime<Utc>,
    ) -> Changes {
        let offset = server_now.signed_duration_since(now);
        let local = |at: DateTime<Utc>| at.checked_sub_signed(offset).unwrap_or(at);
        let mut changes = Changes::default();
        for created in self.shown_creations(visible_rows) {
            match next_age_change(created, server_now) {
                (at, step) if step == Duration::seconds(1) => changes.per_second.push(local(at)),
                (at, _) => changes.at.push(local(at)),
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap()
    }

    #[test]
    fn the_next_change_is_where_the_shown_age_first_differs() {
        let nanos = Duration::nanoseconds;
        // Ages across every step of `format::age`, on and off whole seconds, and one in the future.
        let ages = [
            nanos(-2_500_000_000),
            Duration::zero(),
            Duration::milliseconds(400),
            Duration::seconds(59),
            Duration::milliseconds(59_999),
            Duration::seconds(60),
            Duration::milliseconds(25 * 60_000 + 300),
            Duration::seconds(3_599),
            Duration::hours(5),
            Duration::seconds(86_399),
            Duration::days(1) + Duration::hours(6) + Duration::milliseconds(1_500),
        ];
        for age in ages {
            let created = t0() - age;
            let (next, step) = next_age_change(created, t0());
            assert!(next > t0(), "age {age}: {next}");
            let shown = format::age(t0() - created);
            assert_eq!(
                format::age(next - nanos(1) - created),
                shown,
                "age {age}: too early"
            );
            assert_ne!(
                format::age(next - created),
                shown,
                "age {age}: no change at {next}"
            );
            if age >= Duration::zero() {
                assert!(next - t0() <= step, "age {age}: within one step");
            }
        }
        let (next, step) = next_age_change(t0() - Duration::seconds(59), t0());
        assert_eq!((next, step), (t0() + Duration::seconds(1), Duration::seconds(1)));
        assert_eq!(format::age(next - (t0() - Duration::seconds(59))), "1m");
    }
}
