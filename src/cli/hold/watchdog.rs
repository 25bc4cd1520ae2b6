//! A watchdog process that holds COMMAND's deadline outside koobackup, so that a koobackup that
//! is stopped (`kill -STOP`, a debugger, a cgroup freezer that spares its children), or killed
//! outright, cannot let COMMAND run past the lock: when the deadline passes without koobackup
//! moving it (after each renewal), or koobackup's end of the pipe closes without a word, the
//! watchdog sends COMMAND's process group SIGTERM, then SIGKILL after the grace period.
//!
//! It is forked from koobackup (no exec: it needs no binary on disk) before COMMAND starts, and
//! runs in a process group of its own. COMMAND's process names its group to it between fork and
//! exec ([`Announcer`]), so COMMAND never runs unwatched. Between fork and exit the watchdog only
//! makes async-signal-safe calls (close, poll, read, kill, clock_gettime, nanosleep, setpgid,
//! _exit) on memory it owns, since the parent's other threads may hold locks (the allocator's
//! among them) at the moment of the fork. It first closes every descriptor it inherited but its
//! end of the pipe: a file koobackup holds locked (the journal's), a socket or the terminal must
//! not stay open for as long as COMMAND runs. The pipe is close-on-exec, so nothing koobackup
//! starts later (a hook) keeps koobackup's end open and hides its death from the watchdog. The
//! deadline is kept on the clock that counts suspend (see [`crate::lease::clock`]), so time
//! asleep counts.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::lease::clock::BootInstant;

/// How often the watchdog looks at the clock while waiting for word from koobackup.
const LOOK_MS: i32 = 100;

/// The message that ends the watchdog quietly: COMMAND ended, and koobackup took over again.
const DONE: u64 = 0;

/// Marks the message that names COMMAND's process group (in its low 32 bits); any other is a
/// deadline, in nanoseconds of a clock that started at boot (never this high).
const GROUP: u64 = 1 << 63;

/// koobackup's end: tells the watchdog each new deadline, and that all is done.
pub struct Watchdog {
    pipe: OwnedFd,
    pid: libc::pid_t,
    finished: bool,
}

impl Watchdog {
    /// Starts a watchdog, before COMMAND is: once told COMMAND's process group
    /// ([`Watchdog::watch`]), it stops that group when `deadline` passes (SIGTERM, then SIGKILL
    /// after `grace`). An error when it cannot be started (the caller says so: COMMAND is then
    /// protected by koobackup alone). Its pid is its process group.
    pub fn start(deadline: BootInstant, grace: Duration) -> std::io::Result<Watchdog> {
        let fds = close_on_exec_pipe()?;
        // SAFETY: both descriptors were just created and are owned here alone.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let first = nanos(deadline);
        let grace_ns = u64::try_from(grace.as_nanos()).unwrap_or(u64::MAX);
        // SAFETY: the child runs `watch`, which makes only async-signal-safe calls and never
        // returns; the parent goes on as usual.
        match unsafe { libc::fork() } {
            -1 => Err(std::io::Error::last_os_error()),
            0 => {
                // SAFETY: in the child: every descriptor but our end of the pipe is closed, and
                // that end is used by raw number.
                unsafe {
                    close_all_but(read.as_raw_fd());
                    watch(read.as_raw_fd(), first, grace_ns)
                }
            }
            pid => {
                drop(read);
                // Its own group from now on, whichever of the two calls runs first: the journal
                // may name it at once.
                // SAFETY: setpgid(2) on our own child.
                unsafe {
                    libc::setpgid(pid, pid);
                }
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

    /// The watchdog's pid, which is also its process group.
    pub fn pid(&self) -> u32 {
        self.pid.unsigned_abs()
    }

    /// COMMAND started as process `group`: the watchdog stops it at the deadline, or once
    /// koobackup is gone. (COMMAND's process said so itself already, see [`Announcer`]; this
    /// repeats it in case that write failed.)
    pub fn watch(&self, group: libc::pid_t) {
        self.send(GROUP | u64::from(group.unsigned_abs()));
    }

    /// What COMMAND's process uses to name itself to the watchdog before it execs.
    pub fn announcer(&self) -> Announcer {
        Announcer(self.pipe.as_raw_fd())
    }

    /// Moves the deadline (after a renewal).
    pub fn extend(&self, deadline: BootInstant) {
        self.send(nanos(deadline));
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

/// What COMMAND's own process tells the watchdog between fork and exec: its pid, which is its
/// process group. So COMMAND never runs an instruction of its own before the watchdog knows whom
/// to stop, even when koobackup dies the moment after the fork (COMMAND's children would then
/// outlive the lock, unwatched). The pipe's end is open in that process until its exec closes
/// it.
#[derive(Debug, Clone, Copy)]
pub struct Announcer(i32);

impl Announcer {
    /// Names the calling process's group (its pid) to the watchdog.
    ///
    /// # Safety
    /// Call only in COMMAND's process between fork and exec: getpid(2) and write(2) alone,
    /// async-signal-safe, on a buffer of its own.
    pub unsafe fn announce_self(self) {
        // SAFETY: as the function's contract says.
        unsafe {
            let group = libc::getpid();
            let bytes = (GROUP | u64::from(group.unsigned_abs())).to_le_bytes();
            libc::write(self.0, bytes.as_ptr().cast(), bytes.len());
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

/// A pipe whose both ends close on exec.
fn close_on_exec_pipe() -> std::io::Result<[i32; 2]> {
    let mut fds = [0; 2];
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    // SAFETY: pipe2(2) writes two descriptors into the array we own.
    let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    // SAFETY: pipe(2) and fcntl(2) on the descriptors just made (not atomic: another thread's
    // exec in between could inherit them, where pipe2 does not exist).
    let made = unsafe {
        let made = libc::pipe(fds.as_mut_ptr());
        if made == 0 {
            for fd in fds {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        made
    };
    if made != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fds)
}

/// Closes every descriptor but `keep`.
///
/// # Safety
/// Call only in a freshly forked child: only close(2) and close_range(2), async-signal-safe.
unsafe fn close_all_but(keep: i32) {
    // Where close_range(2) is missing (an old kernel, another system), one by one up to a bound
    // well above what koobackup opens.
    let one_by_one = |from: i32, to: i32| {
        for fd in from..to {
            // SAFETY: closing a descriptor number; an unused one is EBADF, harmless.
            unsafe {
                libc::close(fd);
            }
        }
    };
    #[cfg(target_os = "linux")]
    {
        let keep = keep as libc::c_uint;
        // SAFETY: close_range(2) on the ranges below and above `keep`.
        let closed = unsafe {
            (keep == 0 || libc::syscall(libc::SYS_close_range, 0, keep - 1, 0) == 0)
                && libc::syscall(libc::SYS_close_range, keep + 1, libc::c_uint::MAX, 0) == 0
        };
        if closed {
            return;
        }
    }
    one_by_one(0, keep);
    one_by_one(keep + 1, 4096);
}

/// The clock reading of `instant` in nanoseconds; never [`DONE`], never marked [`GROUP`].
fn nanos(instant: BootInstant) -> u64 {
    u64::try_from(instant.reading().as_nanos())
        .unwrap_or(u64::MAX)
        .clamp(1, GROUP - 1)
}

/// The suspend-counting clock, in nanoseconds: [`BootInstant::now`] is one clock_gettime(2)
/// call and arithmetic, async-signal-safe, so the forked child may read it.
fn now_ns() -> u64 {
    nanos(BootInstant::now())
}

/// The watchdog's life, in the forked child. Until COMMAND's group is named there is nothing
/// to stop: a deadline that passes first is acted on once it is named, and a koobackup gone
/// before naming it leaves the watchdog nothing to do (COMMAND, if started, dies with
/// koobackup: see `process::die_with_parent`).
///
/// # Safety
/// Call only in a freshly forked child: it never returns, and uses only async-signal-safe calls.
unsafe fn watch(pipe: i32, mut deadline: u64, grace: u64) -> ! {
    unsafe {
        // Out of koobackup's process group: a stop or interrupt sent to that group (a job
        // stopped with Ctrl-Z) does not reach the watchdog.
        libc::setpgid(0, 0);
        let mut group: libc::pid_t = 0;
        let mut buffer = [0u8; 8];
        let mut filled = 0usize;
        loop {
            if group > 0 && now_ns() >= deadline {
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
                if group > 0 {
                    stop_group(group, grace);
                }
                libc::_exit(0);
            }
            filled += read as usize;
            if filled == buffer.len() {
                filled = 0;
                match u64::from_le_bytes(buffer) {
                    DONE => libc::_exit(0),
                    named if named & GROUP != 0 => {
                        group = libc::pid_t::try_from(named & u64::from(u32::MAX)).unwrap_or(0);
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::{CommandExt, ExitStatusExt};

    #[test]
    fn a_command_that_named_itself_is_stopped_when_koobackup_vanishes_without_a_word() {
        let watchdog = Watchdog::start(
            BootInstant::now().after(Duration::from_secs(600)),
            Duration::from_secs(5),
        )
        .unwrap();
        let announcer = watchdog.announcer();
        let mut command = std::process::Command::new("sleep");
        command.arg("30").process_group(0);
        // SAFETY: announce_self makes only getpid(2) and write(2), between fork and exec.
        unsafe {
            command.pre_exec(move || {
                announcer.announce_self();
                Ok(())
            });
        }
        let mut sleeper = command.spawn().unwrap();
        // koobackup dies the moment after the fork: it never says which group COMMAND is (no
        // `watch`), nor that all is done; its end of the pipe just closes.
        let (pipe, pid) = (watchdog.pipe.as_raw_fd(), watchdog.pid);
        std::mem::forget(watchdog);
        // SAFETY: closing our own end of the pipe, which nothing else uses any more.
        unsafe {
            libc::close(pipe);
        }
        // The watchdog knows COMMAND's group from COMMAND itself, and stops it at once.
        let status = sleeper.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
        let mut reaped = 0;
        // SAFETY: waits for our own child, the watchdog, which ends after stopping the group.
        unsafe {
            libc::waitpid(pid, &mut reaped, 0);
        }
    }
}
