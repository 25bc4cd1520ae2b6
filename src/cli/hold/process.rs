//! COMMAND's process group: signalling it, telling whether it still runs or is stopped (through
//! [`crate::process`]), and lending it the terminal. Unix only, through libc.

use std::io::IsTerminal;

/// Signals every process of COMMAND's group.
pub fn signal_group(group: Option<libc::pid_t>, signal: i32) {
    if let Some(group) = group {
        // SAFETY: kill(2) on the process group our own, unreaped child leads.
        unsafe {
            libc::kill(-group, signal);
        }
    }
}

/// Whether any process of COMMAND's group still runs (zombies do not count where `/proc` tells).
pub fn group_alive(group: Option<libc::pid_t>) -> bool {
    group
        .and_then(|group| u32::try_from(group).ok())
        .is_some_and(crate::process::group_alive)
}

/// Whether COMMAND's leader is stopped (Ctrl-Z, SIGSTOP); `false` where `/proc` cannot tell.
pub fn is_stopped(pid: libc::pid_t) -> bool {
    u32::try_from(pid).is_ok_and(crate::process::is_stopped)
}

/// Runs `f` with SIGTTOU ignored: a process not in the terminal's foreground may then still
/// hand the foreground over (tcsetpgrp(3)).
fn without_sigttou<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: swapping a signal disposition and restoring it; no handler runs Rust code.
    unsafe {
        let previous = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        let result = f();
        libc::signal(libc::SIGTTOU, previous);
        result
    }
}

/// The terminal on standard input, when koobackup runs in its foreground: COMMAND is given the
/// foreground (so it can read the terminal, and Ctrl-C and Ctrl-Z reach it as they would without
/// koobackup), and it is taken back at the end.
pub struct Terminal {
    own_group: libc::pid_t,
}

impl Terminal {
    /// `Some` when standard input is a terminal whose foreground group is koobackup's.
    pub fn foreground() -> Option<Terminal> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        // SAFETY: plain queries of our own process group and of the terminal's.
        let (own_group, foreground) = unsafe { (libc::getpgrp(), libc::tcgetpgrp(libc::STDIN_FILENO)) };
        (foreground == own_group).then_some(Terminal { own_group })
    }

    /// Makes `group` the terminal's foreground group.
    pub fn lend(&self, group: libc::pid_t) {
        // SAFETY: tcsetpgrp(3) on our controlling terminal, to a group of our session.
        without_sigttou(|| unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, group) });
    }

    /// Makes koobackup's group the foreground again.
    pub fn take_back(&self) {
        self.lend(self.own_group);
    }

    /// COMMAND was stopped (Ctrl-Z): koobackup stops too, with the terminal back, so the shell
    /// sees the job stopped; when the shell continues it (`fg`), COMMAND gets the terminal and
    /// SIGCONT. While koobackup is stopped the lock is not renewed; its deadline still counts.
    pub fn stop_with(&self, group: libc::pid_t) {
        self.take_back();
        // SAFETY: stops this process until SIGCONT (the default action of SIGSTOP).
        unsafe {
            libc::raise(libc::SIGSTOP);
        }
        self.lend(group);
        signal_group(Some(group), libc::SIGCONT);
    }
}

/// In the child between fork and exec: makes its own (new) process group the terminal's
/// foreground, as the parent does too, so that whichever runs first wins the race with a read.
pub fn take_the_foreground() {
    // SAFETY: signal(2), getpgrp(2) and tcsetpgrp(3) are async-signal-safe; SIGTTOU is ignored
    // only for the call (a background group asking gets it) and its disposition restored, so
    // COMMAND starts with koobackup's.
    unsafe {
        let previous = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp());
        libc::signal(libc::SIGTTOU, previous);
    }
}

/// To run in COMMAND's process just before it execs: dies with koobackup. When koobackup is
/// killed outright (SIGKILL, a crash), COMMAND gets SIGKILL rather than running on without a
/// lock being renewed. (Processes COMMAND starts itself do not inherit this; the watchdog stops
/// them.) Linux only (prctl's PR_SET_PDEATHSIG). Elsewhere this does nothing, and the watchdog is what
/// stops COMMAND's group when koobackup vanishes (its pipe closes).
pub fn die_with_parent(parent: libc::pid_t) -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: prctl(2) and getppid(2) are async-signal-safe and touch only this process.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // The parent may have died before the prctl took effect.
        if libc::getppid() != parent {
            libc::_exit(137);
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = parent;
    Ok(())
}
