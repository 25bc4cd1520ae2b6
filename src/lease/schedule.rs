//! When a held lock is renewed, how failed renewals are retried, and which answers mean the lock
//! is lost: one policy for every holder (the [`keeper`](super::keeper) of long operations and
//! `lock hold`, and the app's auto-renew, which drives it from its clock ticks).

use crate::api::ApiError;
use crate::api::error::{ErrorKind, LOCK_EXPIRED, LOCK_NOT_FOUND};

/// Renewals act at least this long before expiry, but never earlier than halfway through the
/// lifetime: with KooDrive's 10 minutes a third (200 s) is more anyway, while a 60-second test
/// lock still gets 30 s for its retries.
const RENEW_AHEAD_FLOOR: chrono::Duration = chrono::Duration::seconds(30);
/// Bounds of the wait after the first failed renewal, which is a twentieth of the lifetime
/// (5 s for KooDrive's 10 minutes, 300 ms for a 6-second test lock).
const FIRST_RETRY_MIN: chrono::Duration = chrono::Duration::milliseconds(250);
const FIRST_RETRY_MAX: chrono::Duration = chrono::Duration::seconds(5);
/// Doublings of the retry wait at most.
const MAX_DOUBLINGS: u32 = 5;

/// How long before expiry a lock is renewed: a third of the lifetime, but at least
/// [`RENEW_AHEAD_FLOOR`], or half the lifetime where the floor would be more than that (so a
/// short-lived lock is renewed halfway through its life, not on every tick). Either way there is
/// room for several retries before the lock runs out.
pub fn renew_ahead(ttl: chrono::Duration) -> chrono::Duration {
    (ttl / 3).max(RENEW_AHEAD_FLOOR.min(ttl / 2))
}

/// The wait before retrying after the `failures`-th failed renewal in a row, with `time_left`
/// on the lock: a twentieth of the lifetime (kept within 250 ms and 5 s), doubled for each
/// further failure, but never more than half the time left, so that while the lock is live a
/// retry always comes before it expires. Once it has expired by our estimate (which never
/// overstates), the doubling alone paces the retries.
pub fn retry_delay(ttl: chrono::Duration, failures: u32, time_left: chrono::Duration) -> chrono::Duration {
    let first = (ttl / 20).clamp(FIRST_RETRY_MIN, FIRST_RETRY_MAX);
    let doublings = failures.saturating_sub(1).min(MAX_DOUBLINGS);
    let backoff = first * 2i32.pow(doublings);
    if time_left > chrono::Duration::zero() {
        backoff.min(time_left / 2)
    } else {
        backoff
    }
}

/// Whether the server's answer to a renewal means the lock is gone for good: it does not know
/// it (404002), or it expired too long ago to be renewed (409002).
pub fn is_lost(error: &ApiError) -> bool {
    matches!(error.code(), Some(LOCK_NOT_FOUND | LOCK_EXPIRED))
}

/// Whether retrying a failed renewal may help: the request or the server failed on the way.
/// Any other refusal (credentials, permissions, a lost lock) stays what it is.
pub fn is_retryable(error: &ApiError) -> bool {
    matches!(error.kind(), ErrorKind::Network | ErrorKind::Server)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: i64) -> chrono::Duration {
        chrono::Duration::milliseconds(n)
    }

    #[test]
    fn the_renewal_window_scales_with_the_lifetime() {
        // A third of the lifetime, or 30 s where that is at most half of it.
        let cases = [
            (600_000, 200_000),
            (90_000, 30_000),
            (60_000, 30_000),
            (45_000, 22_500),
        ];
        for (ttl, ahead) in cases {
            assert_eq!(renew_ahead(ms(ttl)), ms(ahead), "ttl {ttl} ms");
        }
        assert_eq!(renew_ahead(ms(6_000)), ms(3_000));
        assert_eq!(renew_ahead(ms(1_000)), ms(500));
    }

    #[test]
    fn retries_are_a_fraction_of_the_lifetime_and_come_before_expiry() {
        // KooDrive's 10 minutes: 5, 10, 20, 40 s while there is time for them.
        let ttl = chrono::Duration::seconds(600);
        let plenty = chrono::Duration::seconds(200);
        let delays: Vec<_> = (1..=4).map(|n| retry_delay(ttl, n, plenty)).collect();
        assert_eq!(delays, [5, 10, 20, 40].map(chrono::Duration::seconds));
        assert_eq!(retry_delay(ttl, 4, chrono::Duration::seconds(50)), ms(25_000));
        // A 6-second test lock: 300 ms, doubling, at most half the time left.
        let ttl = chrono::Duration::seconds(6);
        assert_eq!(retry_delay(ttl, 1, ms(3_000)), ms(300));
        assert_eq!(retry_delay(ttl, 2, ms(2_500)), ms(600));
        assert_eq!(retry_delay(ttl, 3, ms(1_600)), ms(800));
        // Very short and very long lifetimes stay within 250 ms and 5 s at first.
        assert_eq!(retry_delay(ms(1_000), 1, ms(1_000)), ms(250));
        assert_eq!(
            retry_delay(chrono::Duration::days(1), 1, chrono::Duration::hours(8)),
            ms(5_000)
        );
        // Expired by our estimate: no time left to halve, the backoff alone paces the retries.
        assert_eq!(retry_delay(ttl, 3, ms(-200)), ms(1_200));
    }

    #[test]
    fn a_failing_renewal_is_tried_again_several_times_before_the_lock_runs_out() {
        // Each attempt fails after `fails_after`; count the attempts between the first renewal
        // and the expiry.
        for (ttl, fails_after, at_least) in [
            (600_000, 10_000, 7),
            (600_000, 300, 8),
            (6_000, 300, 3),
            (3_000, 100, 4),
        ] {
            let (ttl, fails_after) = (ms(ttl), ms(fails_after));
            let mut left = renew_ahead(ttl);
            let mut attempts = 0;
            while left > chrono::Duration::zero() {
                attempts += 1;
                left -= fails_after;
                left -= retry_delay(ttl, attempts, left);
            }
            assert!(attempts >= at_least, "{attempts} attempts for ttl {ttl}");
        }
    }

    #[test]
    fn only_not_found_and_expired_mean_lost() {
        let api = |status: u16, code: &str| ApiError::Api {
            status,
            code: code.into(),
            msg: "m".into(),
        };
        assert!(is_lost(&api(404, "404002")));
        assert!(is_lost(&api(409, "409002")));
        assert!(!is_lost(&api(500, "500001")));
        assert!(!is_lost(&api(401, "401001")));
        assert!(is_retryable(&api(503, "500001")));
        assert!(!is_retryable(&api(403, "403001")));
        let timeout = ApiError::Timeout {
            after: std::time::Duration::from_secs(1),
        };
        assert!(!is_lost(&timeout) && is_retryable(&timeout));
    }
}
