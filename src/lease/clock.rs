//! A clock that keeps counting while the machine is suspended, for the deadlines of held locks.
//!
//! Timers (tokio's, std's `Instant`) run on CLOCK_MONOTONIC, which stops during system suspend:
//! after a resume, a deadline counted on it lies in the future although the lock it stands for
//! ran out while the machine slept. Deadlines are therefore kept on [`BootInstant`]: Linux's
//! CLOCK_BOOTTIME; elsewhere CLOCK_MONOTONIC (which counts sleep on macOS; on the BSDs it does
//! not, and the wall-clock gap check of [`GapWatch`] is what notices a resume there).

use std::time::Duration;

/// An instant on the suspend-counting clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BootInstant(Duration);

impl BootInstant {
    pub fn now() -> BootInstant {
        BootInstant(read(BOOT_CLOCK))
    }

    /// `self + span`, saturating.
    pub fn after(self, span: Duration) -> BootInstant {
        BootInstant(self.0.saturating_add(span))
    }

    /// Time from `self` until `later` (zero if `later` is not later).
    pub fn until(self, later: BootInstant) -> Duration {
        later.0.saturating_sub(self.0)
    }

    /// Time from `self` until now.
    pub fn elapsed(self) -> Duration {
        self.until(BootInstant::now())
    }

    /// The clock's reading at this instant (time since the clock's start, usually the boot): what
    /// another process on this machine compares its own reading of the same clock with.
    pub fn reading(self) -> Duration {
        self.0
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
const BOOT_CLOCK: libc::clockid_t = libc::CLOCK_BOOTTIME;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const BOOT_CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;

fn read(clock: libc::clockid_t) -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime(2) writes into the timespec we own; both clocks exist where used.
    unsafe {
        libc::clock_gettime(clock, &mut now);
    }
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Notices that time passed that the timers did not see: the suspend-counting clock or the wall
/// clock moved further than CLOCK_MONOTONIC between two looks. A wall clock stepped by hand or
/// by NTP looks the same; callers check with the server before they conclude anything from it.
#[derive(Debug)]
pub struct GapWatch {
    monotonic: Duration,
    boot: Duration,
    wall: chrono::DateTime<chrono::Utc>,
}

/// More unseen time than this between two looks is a gap.
const GAP: Duration = Duration::from_secs(2);

impl GapWatch {
    pub fn start() -> GapWatch {
        GapWatch {
            monotonic: read(libc::CLOCK_MONOTONIC),
            boot: read(BOOT_CLOCK),
            wall: chrono::Utc::now(),
        }
    }

    /// The time since the last look that the monotonic clock did not count, if it is a gap.
    pub fn look(&mut self) -> Option<Duration> {
        let next = GapWatch::start();
        let counted = next.monotonic.saturating_sub(self.monotonic);
        let boot = next.boot.saturating_sub(self.boot);
        let wall = (next.wall - self.wall).to_std().unwrap_or(Duration::ZERO);
        *self = next;
        let unseen = boot.max(wall).saturating_sub(counted);
        (unseen > GAP).then_some(unseen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_clock_moves_forward_with_time() {
        let start = BootInstant::now();
        std::thread::sleep(Duration::from_millis(20));
        let later = BootInstant::now();
        assert!(start.until(later) >= Duration::from_millis(20));
        assert_eq!(later.until(start), Duration::ZERO);
        assert!(start.after(Duration::from_secs(5)) > later);
    }

    #[test]
    fn no_gap_while_all_clocks_agree() {
        let mut watch = GapWatch::start();
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(watch.look(), None);
        // A wall clock that jumped ahead (as after a suspend the timers did not see) is a gap.
        watch.wall -= chrono::Duration::seconds(30);
        let gap = watch.look().unwrap();
        assert!(gap >= Duration::from_secs(29), "{gap:?}");
    }
}
