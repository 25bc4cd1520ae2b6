//! A watchdog process that holds COMMAND's deadline outside koobackup, so that a koobackup that
//! is stopped (`kill -STOP`, a debugger, a cgroup freezer that spares its children), or killed
//! outright, cannot let COMMAND run past the lock: when the deadline passes without koobackup
//! moving it (after each renewal), or koobackup's end of the pipe closes without a word, the
//! watchdog sends COMMAND's process group SIGTERM, then SIGKILL after the grace period.
//!
//! It is forked from koobackup (no exec: it needs no binary on disk) and runs in a process group
//! of its own. Between fork and exit it only makes async-signal-safe calls (poll, read, kill,
//! clock_gettime, nanosleep, setpgid, _exit) on memory it owns, since the parent's other threads
//! may hold locks (the allocator's among them) at the moment of the fork. The deadline is kept
//! on the clock that counts suspend (see [`crate::lease::clock`]), so time asleep counts.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::lease::clock::BootInstant;

/// How often the watchdog looks at the clock while waiting for word from koobackup.
const LOOK_MS: i32 = 100;

/// The message that ends the watchdog quietly: COMMAND ended, and koobackup took over again.
const DONE: u64 = 0;

/// koobackup's end: tells the watchdog each new deadline, and that all is done.
pub struct Watchdog {
    pipe: OwnedFd,
    pid: libc::pid_t,
    finished: bool,
}

impl Watchdog {
    /// Starts a watchdog for COMMAND's process `group`, which must be stopped when `deadline`
    /// passes (SIGTERM, then SIGKILL after `grace`). `None` when it cannot be started (the
    /// caller says so: COMMAND is then protected by koobackup alone).
    pub fn start(group: libc::pid_t, deadline: BootInstant, grace: Duration) -> std::io::Result<Watchdog> {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) writes two descriptors into the array we own.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned here alone.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let first = nanos(deadline);
        let grace_ns = u64::try_from(grace.as_nanos()).unwrap_or(u64::MAX);
        // SAFETY: the child runs `watch`, which makes only async-signal-safe calls and never
        // returns; the parent goes on as usual.
        match unsafe { libc::fork() } {
            -1 => Err(std::io::Error::last_os_error()),
            0 => {
                // SAFETY: in the child: our own descriptors, closed or used by raw number.
                unsafe {
                    libc::close(write.as_raw_fd());
                    watch(read.as_raw_fd(), group, first, grace_ns)
                }
            }
            pid => {
                drop(read);
                // A watchdog that is stopped must never block koobackup's writes.
                // SAFETY: fcntl(2) on a descriptor we own.
                unsafe {
                    let flags = libc::fcntl(write.as_raw_fd(), libc::F_GETFL);
                    libc::fcntl(write.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
                }
                Ok(Watchdog {
                    pipe: write,
                    pid,
                    finished: false,
                })
            }
        }
    }

    /// Moves the deadline (after a renewal).
    pub fn extend(&self, deadline: BootInstant) {
        self.send(nanos(deadline).max(1));
    }

    /// COMMAND and its group are done: the watchdog leaves without a signal.
    pub fn done(mut self) {
        self.send(DONE);
        self.finished = true;
        let mut status = 0;
        // SAFETY: waits for our own child, which exits at once on DONE.
        unsafe {
            libc::waitpid(self.pid, &mut status, 0);
        }
    }

    fn send(&self, value: u64) {
        let bytes = value.to_le_bytes();
        // SAFETY: write(2) of a buffer we own to our own descriptor (non-blocking).
        unsafe {
            libc::write(self.pipe.as_raw_fd(), bytes.as_ptr().cast(), bytes.len());
        }
    }
}

/// Leaving without [`Watchdog::done`] (an error on the way out) also lets the watchdog go
/// quietly: only a koobackup that vanishes without a word makes it stop COMMAND's group.
impl Drop for Watchdog {
    fn drop(&mut self) {
        if !self.finished {
            self.send(DONE);
        }
    }
}

/// The clock reading of `instant` in nanoseconds; never [`DONE`].
fn nanos(instant: BootInstant) -> u64 {
    u64::try_from(instant.reading().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The suspend-counting clock, in nanoseconds: [`BootInstant::now`] is one clock_gettime(2)
/// call and arithmetic, async-signal-safe, so the forked child may read it.
fn now_ns() -> u64 {
    nanos(BootInstant::now())
}

/// The watchdog's life, in the forked child.
///
/// # Safety
/// Call only in a freshly forked child: it never returns, and uses only async-signal-safe calls.
unsafe fn watch(pipe: i32, group: libc::pid_t, mut deadline: u64, grace: u64) -> ! {
    unsafe {
        // Out of koobackup's process group: a stop or interrupt sent to that group (a job
        // stopped with Ctrl-Z) does not reach the watchdog.
        libc::setpgid(0, 0);
        let mut buffer = [0u8; 8];
        let mut filled = 0usize;
        loop {
            if now_ns() >= deadline {
                stop_group(group, grace);
            }
            let mut poll = libc::pollfd {
                fd: pipe,
                events: libc::POLLIN,
                revents: 0,
            };
            libc::poll(&mut poll, 1, LOOK_MS);
            if poll.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) == 0 {
                continue;
            }
            let read = libc::read(
                pipe,
                buffer.as_mut_ptr().add(filled).cast(),
                buffer.len() - filled,
            );
            if read <= 0 {
                // koobackup is gone without saying COMMAND ended: nothing renews the lock.
                stop_group(group, grace);
            }
            filled += read as usize;
            if filled == buffer.len() {
                filled = 0;
                match u64::from_le_bytes(buffer) {
                    DONE => libc::_exit(0),
                    next => deadline = next,
                }
            }
        }
    }
}

/// SIGTERM to the group, SIGKILL after `grace` if any of it still runs; then the watchdog ends.
///
/// # Safety
/// As [`watch`].
unsafe fn stop_group(group: libc::pid_t, grace: u64) -> ! {
    unsafe {
        libc::kill(-group, libc::SIGTERM);
        let until = now_ns().saturating_add(grace);
        while now_ns() < until && libc::kill(-group, 0) == 0 {
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: 20_000_000,
            };
            libc::nanosleep(&pause, std::ptr::null_mut());
        }
        libc::kill(-group, libc::SIGKILL);
        libc::_exit(0)
    }
}
