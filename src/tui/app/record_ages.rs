//! The ages in the records pane ("42s", "25m", "5h 0m", "1d 6h") grow on their own. Only the
//! rows on screen matter, and only while the records pane is: with the locks pane on top they
//! cost nothing.

use chrono::{DateTime, Duration, Utc};

use super::{App, Pane};
use crate::format;

/// When the age of a record created at `created` next shows differently than at `now`, and the
/// step its text moves by ([`format::age`]: seconds in the first minute, then minutes up to a day,
/// then hours). Ages count whole seconds up, so the text changes right at a step's boundary. A
/// record stamped ahead of our clock shows "0s" until it is a second old.
pub(super) fn next_age_change(created: DateTime<Utc>, now: DateTime<Utc>) -> (DateTime<Utc>, Duration) {
    let secs = (now - created).num_seconds().max(0);
    let step = if secs < 60 {
        1
    } else if secs < 86_400 {
        60
    } else {
        3_600
    };
    let next = created + Duration::seconds((secs / step + 1) * step);
    (next, Duration::seconds(step))
}

impl App {
    /// When the records on screen were created: none unless the records pane is drawn.
    pub(super) fn shown_record_creations(&self) -> Vec<DateTime<Utc>> {
        if self.top_pane() != Pane::Records || self.layout().is_none() {
            return Vec::new();
        }
        let pane = &self.records;
        pane.visible
            .iter()
            .skip(pane.offset)
            .take(self.visible_lock_rows())
            .filter_map(|&index| pane.rows.get(index))
            .map(|row| row.record.create_time)
            .collect()
    }

    /// The ages as the records pane shows them now (none while it is not on screen).
    pub(super) fn shown_ages(&self) -> Vec<String> {
        self.shown_record_creations()
            .into_iter()
            .map(|created| format::age(self.now - created))
            .collect()
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
