//! When the locks pane next changes by itself: each countdown's next second, and each renewal
//! that falls due (auto-renew, its retry, a pinned lock).

use chrono::{DateTime, Utc};

use super::{Busy, State};
use crate::lease::schedule::renew_ahead;
use crate::tui::clock::{Changes, next_second_rollover};

impl State {
    /// The changes to wake up for after `now`, with locks of lifetime `ttl`.
    pub fn clock_changes(&self, now: DateTime<Utc>, ttl: chrono::Duration) -> Changes {
        let ahead = renew_ahead(ttl);
        // Nothing counts down for these: they show "gone" or "--:--".
        let counting = self
            .entries
            .iter()
            .filter(|e| !e.gone && e.busy != Some(Busy::Adopting));
        let per_second = counting
            .clone()
            .map(|e| e.lock.expires_at)
            .filter(|expiry| *expiry > now)
            .map(|expiry| next_second_rollover(expiry, now))
            .collect();
        // When auto-renew (or a pinned lock) would renew a lock: once per lifetime, so not worth
        // asking whether either applies.
        let at = counting
            .flat_map(|e| [e.lock.expires_at.checked_sub_signed(ahead), e.retry_after])
            .flatten()
            .filter(|at| *at > now)
            .collect();
        Changes { per_second, at }
    }
}
