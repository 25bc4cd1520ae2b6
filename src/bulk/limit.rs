//! How many requests a bulk operation keeps in flight: doubling every round trip at first (slow
//! start), then one more per round trip while answers come back fast and nothing is refused,
//! halving on a push-back (429, 5xx, a timeout, a broken connection), and a pause for as long as
//! a `Retry-After` asks. The same idea as TCP's congestion window, fed by every attempt the
//! client makes (retries included). Slow start is what makes a slow link fast: at 100 ms a
//! window grown by one per round trip needs seconds to reach 64, one that doubles needs 0.3 s.
//!
//! [`paced`] is the one loop that starts work at that pace: the bulk engine's deletes and the
//! reading of backup sizes (`status --sizes`, the app's Devices view) both go through it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::{Stream, StreamExt};

use crate::api::client::{AttemptObserver, Attempted};

/// Where a bulk operation starts.
pub const START: usize = 8;

/// Latency above this many times the best seen counts as the server slowing down: no growth.
const SLOWDOWN: f64 = 2.0;

#[derive(Debug)]
struct State {
    limit: usize,
    ceiling: usize,
    /// Successes since the last change of the limit: the limit grows by one after as many
    /// successes as it is wide (one "round trip" of the window).
    streak: usize,
    /// The lowest latency seen: what an unloaded server answers in.
    best: Option<Duration>,
    /// No request starts before this (a `Retry-After`).
    paused_until: Option<Instant>,
    /// Until the first push-back or slowdown, every success widens the window by one (it
    /// doubles each round trip); afterwards, one per round trip.
    slow_start: bool,
    /// The highest the limit reached, for the report.
    peak: usize,
    pushed_back: usize,
}

/// The adaptive limit, shared by the launcher and the client's attempt observer.
#[derive(Debug)]
pub struct Limit(Mutex<State>);

impl Limit {
    /// Starts at [`START`] (or `ceiling`, if lower) and never goes above `ceiling`.
    pub fn new(ceiling: usize) -> Limit {
        let ceiling = ceiling.max(1);
        let limit = START.min(ceiling);
        Limit(Mutex::new(State {
            limit,
            ceiling,
            streak: 0,
            best: None,
            paused_until: None,
            slow_start: true,
            peak: limit,
            pushed_back: 0,
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests that may be in flight now.
    pub fn current(&self) -> usize {
        self.state().limit
    }

    /// The highest the limit reached, and how many attempts were pushed back.
    pub fn summary(&self) -> (usize, usize) {
        let state = self.state();
        (state.peak, state.pushed_back)
    }

    /// How long to wait before starting another request (a `Retry-After` in force).
    pub fn pause(&self, now: Instant) -> Option<Duration> {
        let state = self.state();
        state
            .paused_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// What a client tells of each attempt (see [`crate::api::Client::with_observer`]), fed
    /// into this limit.
    pub fn observer(self: &Arc<Limit>) -> AttemptObserver {
        let limit = self.clone();
        AttemptObserver(Arc::new(move |attempt| limit.observe(attempt, Instant::now())))
    }

    /// Takes in one attempt's outcome.
    pub fn observe(&self, attempt: &Attempted, now: Instant) {
        let mut state = self.state();
        if attempt.pushed_back {
            state.pushed_back += 1;
            state.slow_start = false;
            state.limit = (state.limit / 2).max(1);
            state.streak = 0;
            if let Some(wait) = attempt.retry_after {
                let until = now + wait;
                state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
            }
            return;
        }
        let best = *state.best.get_or_insert(attempt.latency);
        if attempt.latency < best {
            state.best = Some(attempt.latency);
        }
        if attempt.latency.as_secs_f64() > best.as_secs_f64() * SLOWDOWN + 0.005 {
            state.streak = 0;
            state.slow_start = false;
            return;
        }
        state.streak += 1;
        let round_trip = if state.slow_start { 1 } else { state.limit };
        if state.streak >= round_trip && state.limit < state.ceiling {
            state.limit += 1;
            state.streak = 0;
            state.peak = state.peak.max(state.limit);
        }
    }
}

/// Runs `work` on the items of `items` as they come, as many at once as `limit` allows and
/// never while a `Retry-After` holds, handing each result to `on_done` as it ends. Before each
/// item is taken, `stop` is asked whether to go on: once it says stop, no further item is taken
/// from `items` (the caller finds the rest there); work already started finishes. Returns once
/// `items` has ended or `stop` said so, and nothing is under way.
pub async fn paced<T, O, Fut>(
    limit: &Limit,
    items: &mut (impl Stream<Item = T> + Unpin),
    mut stop: impl FnMut() -> bool,
    work: impl Fn(T) -> Fut,
    mut on_done: impl FnMut(O),
) where
    Fut: Future<Output = O>,
{
    let mut in_flight = FuturesUnordered::new();
    // No further item is taken: `items` ended, or `stop` said so.
    let mut ended = false;
    loop {
        let paused = limit.pause(Instant::now());
        let room = !ended && paused.is_none() && in_flight.len() < limit.current();
        if room && stop() {
            ended = true;
        }
        if ended && in_flight.is_empty() {
            break;
        }
        let take = room && !ended;
        tokio::select! {
            biased;
            item = items.next(), if take => match item {
                Some(item) => in_flight.push(work(item)),
                None => ended = true,
            },
            Some(done) = in_flight.next(), if !in_flight.is_empty() => on_done(done),
            () = tokio::time::sleep(paused.unwrap_or_default()), if paused.is_some() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(ms: u64) -> Attempted {
        Attempted {
            status: Some(200),
            pushed_back: false,
            latency: Duration::from_millis(ms),
            retry_after: None,
        }
    }

    fn refused(retry_after: Option<u64>) -> Attempted {
        Attempted {
            status: Some(429),
            pushed_back: true,
            latency: Duration::from_millis(5),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn doubles_each_round_trip_until_pushed_back_then_grows_by_one() {
        let limit = Limit::new(64);
        let now = Instant::now();
        assert_eq!(limit.current(), 8);
        for _ in 0..8 {
            limit.observe(&answered(100), now);
        }
        assert_eq!(limit.current(), 16, "one round trip of 8 answers doubles it");
        limit.observe(&refused(None), now);
        assert_eq!(limit.current(), 8);
        for _ in 0..8 {
            limit.observe(&answered(100), now);
        }
        assert_eq!(limit.current(), 9, "after a push-back, one more per round trip");
    }

    #[test]
    fn grows_while_answers_hold_and_stops_at_the_ceiling() {
        let limit = Limit::new(12);
        let now = Instant::now();
        for _ in 0..200 {
            limit.observe(&answered(100), now);
        }
        assert_eq!(limit.current(), 12);
        assert_eq!(limit.summary(), (12, 0));
    }

    #[test]
    fn a_slow_server_stops_the_growth() {
        let limit = Limit::new(64);
        let now = Instant::now();
        limit.observe(&answered(100), now);
        for _ in 0..100 {
            limit.observe(&answered(400), now);
        }
        assert_eq!(limit.current(), 9, "one step for the one fast answer, none after");
    }

    #[test]
    fn push_back_halves_and_retry_after_pauses() {
        let limit = Limit::new(64);
        let now = Instant::now();
        limit.observe(&refused(None), now);
        assert_eq!(limit.current(), 4);
        limit.observe(&refused(Some(2)), now);
        assert_eq!(limit.current(), 2);
        assert_eq!(limit.pause(now), Some(Duration::from_secs(2)));
        assert_eq!(limit.pause(now + Duration::from_secs(3)), None);
        for _ in 0..10 {
            limit.observe(&refused(None), now);
        }
        assert_eq!(limit.current(), 1, "never below one");
        assert_eq!(Limit::new(3).current(), 3, "a low ceiling starts lower");
    }
}
