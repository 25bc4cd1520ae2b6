//! Injected faults for tests and demos: latency, a 500 error rate, a skewed server clock and a
//! per-user rate limit. They can be changed while the server runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::error::Failure;

/// Faults applied to every request. `Faults::default()` is a well-behaved server.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Added before every response.
    pub latency: Duration,
    /// Fraction (0..=1) of requests answered 500 / 500001 instead of being served.
    pub error_rate: f64,
    /// The server clock is real time plus this (used for X-Date checks, lock expiry, record
    /// times and the `Date` response header).
    pub clock_offset: chrono::Duration,
    /// Requests per second allowed per authenticated user; more get 429 / 429001. Requests that
    /// fail authentication are not counted (they cannot lock a real user out).
    pub rate_limit_per_sec: Option<u32>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency: Duration::ZERO,
            error_rate: 0.0,
            clock_offset: chrono::Duration::zero(),
            rate_limit_per_sec: None,
        }
    }
}

/// A token bucket: holds up to `rate` tokens, refilled at `rate` per second.
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Buckets kept at most. An app may act for any user id, so the ids are not bounded by the
/// configured users; when this many are kept, the buckets that have refilled (a user idle for a
/// second, whom a fresh bucket treats the same) are dropped first.
const MAX_BUCKETS: usize = 10_000;

/// What the server has seen since it started, for fault-injection test reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Requests received (every path and method).
    pub requests: u64,
    /// Requests held back by the latency fault.
    pub delayed: u64,
    /// Requests answered 500 / 500001 by the error-rate fault instead of being served.
    pub injected_errors: u64,
    /// Requests refused 429 by the rate limit.
    pub rate_limited: u64,
}

/// The live fault settings plus the rate limiter's state and the counters.
#[derive(Default)]
pub struct FaultState {
    faults: RwLock<Faults>,
    buckets: Mutex<HashMap<String, Bucket>>,
    requests: AtomicU64,
    delayed: AtomicU64,
    injected_errors: AtomicU64,
    rate_limited: AtomicU64,
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        FaultState {
            faults: RwLock::new(faults),
            ..FaultState::default()
        }
    }

    pub fn stats(&self) -> ServerStats {
        ServerStats {
            requests: self.requests.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
            injected_errors: self.injected_errors.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
        }
    }

    pub fn get(&self) -> Faults {
        self.faults.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) = faults;
    }

    /// The server clock: real time plus the configured offset, clamped to ±100 years so that
    /// date arithmetic downstream cannot overflow.
    pub fn now(&self) -> DateTime<Utc> {
        let limit = chrono::Duration::days(36_500);
        Utc::now() + self.get().clock_offset.clamp(-limit, limit)
    }

    /// Applies latency and the error rate to one request, before it is authenticated. `Err` is
    /// the response to send instead of serving the request.
    pub async fn apply(&self) -> Result<(), Failure> {
        let faults = self.get();
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !faults.latency.is_zero() {
            self.delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(faults.latency).await;
        }
        if faults.error_rate > 0.0 && fastrand::f64() < faults.error_rate {
            self.injected_errors.fetch_add(1, Ordering::Relaxed);
            return Err(Failure::Internal(
                "internal error (injected by the error-rate fault)".into(),
            ));
        }
        Ok(())
    }

    /// Charges one request of the verified `user` to the rate limit, if there is one.
    pub fn charge(&self, user: &str) -> Result<(), Failure> {
        let Some(rate) = self.get().rate_limit_per_sec else {
            return Ok(());
        };
        self.take_token(user, rate, Instant::now()).inspect_err(|_| {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        })
    }

    fn take_token(&self, user: &str, rate: u32, now: Instant) -> Result<(), Failure> {
        let rate = f64::from(rate);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(user) {
            let refilled = |b: &Bucket| {
                b.tokens + now.saturating_duration_since(b.refilled).as_secs_f64() * rate >= rate
            };
            buckets.retain(|_, bucket| !refilled(bucket));
            if buckets.len() >= MAX_BUCKETS {
                // Every kept user is active right now: start over rather than grow.
                buckets.clear();
            }
        }
        let bucket = buckets.entry(user.to_owned()).or_insert(Bucket {
            tokens: rate,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Failure::RateLimited)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_is_per_user_and_refills() {
        let state = FaultState::default();
        let t = Instant::now();
        for _ in 0..3 {
            state.take_token("a", 3, t).unwrap();
        }
        assert_eq!(state.take_token("a", 3, t), Err(Failure::RateLimited));
        state.take_token("b", 3, t).unwrap();
        state.take_token("a", 3, t + Duration::from_millis(400)).unwrap();
    }

    #[test]
    fn the_buckets_stay_bounded_whatever_ids_arrive() {
        let state = FaultState::default();
        let t = Instant::now();
        for i in 0..MAX_BUCKETS * 3 {
            let _ = state.take_token(&format!("user-{i}"), 5, t);
        }
        let kept = state.buckets.lock().unwrap().len();
        assert!(kept <= MAX_BUCKETS, "{kept} buckets");
        // An active user under the limit keeps its bucket through an eviction of idle ones.
        let state = FaultState::default();
        for _ in 0..3 {
            state.take_token("busy", 3, t).unwrap();
        }
        let later = t + Duration::from_secs(5);
        for i in 0..MAX_BUCKETS {
            let _ = state.take_token(&format!("idle-{i}"), 3, t);
        }
        let _ = state.take_token("newcomer", 3, later);
        assert!(state.buckets.lock().unwrap().len() <= MAX_BUCKETS);
    }

    #[tokio::test]
    async fn stats_count_requests_and_each_kind_of_fault() {
        let state = FaultState::new(Faults {
            latency: Duration::from_millis(1),
            error_rate: 1.0,
            ..Faults::default()
        });
        assert!(state.apply().await.is_err());
        state.set(Faults {
            rate_limit_per_sec: Some(1),
            ..Faults::default()
        });
        assert!(state.apply().await.is_ok());
        assert!(state.charge("a").is_ok());
        assert!(state.apply().await.is_ok());
        assert_eq!(state.charge("a"), Err(Failure::RateLimited));
        let stats = state.stats();
        assert_eq!(
            stats,
            ServerStats {
                requests: 3,
                delayed: 1,
                injected_errors: 1,
                rate_limited: 1
            }
        );
    }

    #[test]
    fn clock_offset_moves_now() {
        let state = FaultState::new(Faults {
            clock_offset: chrono::Duration::hours(1),
            ..Faults::default()
        });
        let skew = state.now() - Utc::now();
        assert!(skew > chrono::Duration::minutes(59) && skew <= chrono::Duration::hours(1));
    }
}
