//! When the screen next changes on its own. Countdowns show whole seconds left. A free-running
//! one-second tick drifts against each lock's expiry; when it runs close to a lock's rollover,
//! a little timer jitter shows one second twice and skips the next. So ticks are placed just
//! after a rollover instead: once a second for all countdowns together (a redraw per lock and
//! second would multiply the idle cost), right after the rollover followed by the longest quiet
//! stretch. The ages of records on screen that still count seconds join that tick. Ticks never
//! come early, so every countdown changes by exactly one second per tick, and a tick may come
//! late by that whole stretch before any second is skipped.

use chrono::{DateTime, Utc};

/// When a feature's part of the screen next changes by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Changes that step by whole seconds (a countdown's rollover, the age of a record younger
    /// than a minute): they share one tick a second.
    pub per_second: Vec<DateTime<Utc>>,
    /// Changes at their own instant: work falling due (an auto-renewal, its retry), an age that
    /// steps by the minute or the hour.
    pub at: Vec<DateTime<Utc>>,
}

impl Changes {
    pub fn extend(&mut self, other: Changes) {
        self.per_second.extend(other.per_second);
        self.at.extend(other.at);
    }
}

/// The next instant to tick at for `changes` seen at `now`: the shared tick of the per-second
/// changes, or earlier when a change of its own comes first. `None` while nothing depends on
/// the clock.
pub fn next_tick(changes: Changes, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    shared_tick(changes.per_second)
        .into_iter()
        .chain(changes.at.into_iter().filter(|at| *at > now))
        .min()
}

/// The first instant after `now` at which the whole seconds left until `expiry` are one fewer.
/// `expiry - now` is shown truncated to whole seconds, so `n` is shown up to and including the
/// instant `expiry - n`, and `n - 1` right after it. Always within a second of `now`.
pub fn next_second_rollover(expiry: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let shown = expiry.signed_duration_since(now).num_seconds();
    expiry
        .checked_sub_signed(chrono::Duration::seconds(shown))
        .and_then(|at| at.checked_add_signed(chrono::Duration::nanoseconds(1)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Of the countdowns' next rollovers (all within the coming second), the one followed by the
/// longest stretch without another; the stretch after the last one runs on to the first one's
/// rollover a second later.
fn shared_tick(mut rollovers: Vec<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    rollovers.sort();
    let first = *rollovers.first()?;
    let wrapped = first
        .checked_add_signed(chrono::Duration::seconds(1))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let following = rollovers.iter().skip(1).chain([&wrapped]);
    rollovers
        .iter()
        .zip(following)
        .max_by_key(|(at, next)| **next - **at)
        .map(|(at, _)| *at)
}
