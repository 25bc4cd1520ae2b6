//! `koobackup lock hold --module M -- COMMAND ...`: create a lock (waiting for it with
//! `--wait`), run COMMAND with the lock id in `KOOBACKUP_LOCK_ID`, keep the lock renewed while
//! COMMAND runs (the [`Keeper`]), and release it when COMMAND ends — also when koobackup is
//! interrupted, after passing the signal on.
//!
//! The guarantee: COMMAND never runs past the lock. COMMAND runs in a process group of its own
//! (as GNU `timeout` runs its command), and the group is what koobackup signals. When the lock
//! is lost (the server answers a renewal with "lock not found" or "expired"), or its deadline —
//! counted from the moment the last successful create or renewal was *sent*, on a clock that
//! counts time the machine was suspended, and checked against the server's clock after any gap
//! — passes, the group gets SIGTERM, then SIGKILL after the grace period. A [`Watchdog`]
//! outside koobackup's process group holds the same deadline, so a stopped, frozen or killed
//! koobackup cannot let COMMAND run on. Processes COMMAND leaves behind in its group when it
//! ends are stopped the same way before the lock is released.
//!
//! Exit code: COMMAND's own, or 128 + signal number when a signal ended it (as shells report it).
//! Exceptions: 126/127 when COMMAND cannot be started, and 4 (conflict) when the lock was not
//! held from start to end (lost, expired, found gone when COMMAND ended). `--json` prints one
//! summary line that tells COMMAND's own 4 from koobackup's.

use std::ffi::OsString;
use std::process::ExitStatus;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::time::Instant;

mod process;
mod tee;
mod tell;
mod watchdog;

use process::{Terminal, group_alive, is_stopped, signal_group};
use tee::Tee;
use tell::Teller;
use watchdog::Watchdog;

use super::Context;
use super::exit::{CliError, Exit};
use super::interrupt::{PASSED_ON, Signals, exit_code as exit_code_of_signal, signal_name};
use super::locking::LOCK_ID_ENV;
use crate::api::{ApiError, ModuleCode};
use crate::format;
use crate::lease::Purpose;
use crate::lease::clock::BootInstant;
use crate::lease::keeper::{Event, Keeper, Lost};

/// What `lock hold` does, as parsed from the command line.
pub(crate) struct Hold {
    pub module: ModuleCode,
    pub command: Vec<OsString>,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// How long to wait for a module another operation holds.
    pub wait: Option<Duration>,
    /// Where to ping (`--ping`).
    pub ping: Option<crate::api::ping::Pinger>,
}

/// COMMAND as the journal names it: its words, shortened.
fn command_text(command: &[OsString]) -> String {
    const MAX: usize = 80;
    let text = command
        .iter()
        .map(|word| word.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() <= MAX {
        text
    } else {
        let cut: String = text.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

/// The one line `--json` prints when everything is over.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    lock_id: &'a str,
    module_code: ModuleCode,
    /// COMMAND's exit code (128 + signal when a signal ended it); `null` if it never ran.
    command_exit: Option<u8>,
    /// Whether the lock was held from COMMAND's start to its end.
    lock_held: bool,
    /// When the work stopped being protected, at the latest; `null` while it was held.
    unprotected_from: Option<DateTime<Utc>>,
    /// Why the lock was not held throughout, or why COMMAND never ran, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    /// koobackup's own exit code.
    exit_code: u8,
}

pub(crate) async fn run(ctx: &mut Context, mut hold: Hold) -> Result<u8, CliError> {
    let mut teller = Teller::new(ctx, hold.ping.take(), hold.module, command_text(&hold.command));
    let result = hold_while_running(ctx, hold, &mut teller).await;
    let (exit, error) = match &result {
        Ok(code) => (*code, None),
        Err(error) => (error.exit.code(), Some(error.message.as_str())),
    };
    teller.finish(exit, error).await;
    result
}

/// Everything but the pings and hooks (`teller` is told what happens).
async fn hold_while_running(ctx: &mut Context, hold: Hold, teller: &mut Teller) -> Result<u8, CliError> {
    // Installed before anything else, so an early Ctrl-C is seen instead of killing us with a
    // lock left behind.
    ctx.interrupt.handle_own_signals();
    let mut signals = Signals::install(&PASSED_ON)?;
    let program = hold.command[0].to_string_lossy().into_owned();
    let purpose = Purpose::Hold {
        command: command_text(&hold.command),
    };
    let keeper = tokio::select! {
        keeper = ctx.hold_lock(hold.module, purpose, hold.wait) => keeper?,
        Some(signal) = signals.next() => {
            ctx.out.note(&format!("received {}; nothing was started", signal_name(signal)));
            return Ok(exit_code_of_signal(signal));
        }
    };
    let lock = keeper.lock();
    teller.lock_id = Some(lock.lock_id.clone());
    if let Some(signal) = signals.pending() {
        finish(ctx, keeper, None).await;
        return Ok(exit_code_of_signal(signal));
    }
    if !keeper.is_held() {
        // The answer came after the lock's lifetime, counted from the request: COMMAND would start
        // unprotected.
        finish(ctx, keeper, None).await;
        return Err(CliError::new(
            Exit::Conflict,
            format!(
                "the server granted lock {} only after its lifetime had passed (a slow answer); \
                 {} was not started",
                format::escape(&lock.lock_id),
                format::escape(&program)
            ),
        ));
    }
    let mut command = tokio::process::Command::new(&hold.command[0]);
    command.args(&hold.command[1..]).env(LOCK_ID_ENV, &lock.lock_id);
    // Its own process group: every process COMMAND starts can be signalled together.
    command.process_group(0);
    if teller.wants_stderr() {
        command.stderr(std::process::Stdio::piped());
    }
    // The watchdog first, journalled; then COMMAND, whose process names its group to the
    // watchdog before it execs; then that group, journalled. A koobackup killed at any point
    // between leaves COMMAND watched (ended at the lock's expiry, or after the grace), and the
    // lock in use in the journal for as long as the watchdog or COMMAND lives.
    let watchdog = match Watchdog::start(BootInstant::now().after(keeper.time_left()), hold.grace) {
        Ok(watchdog) => Some(watchdog),
        Err(e) => {
            ctx.out.warn(&format!(
                "cannot start the watchdog ({e}); only koobackup itself stops {} if the lock runs \
                 out",
                format::escape(&program)
            ));
            None
        }
    };
    if let Some(watchdog) = &watchdog
        && let Err(e) = keeper.amend_owner(|owner| owner.watchdog = Some(watchdog.pid()))
    {
        ctx.out.warn(&format!(
            "cannot record the watchdog in the lock journal ({e}); if koobackup is killed \
             before {} starts, another koobackup may take the lock for orphaned",
            format::escape(&program)
        ));
    }
    // In a terminal, COMMAND gets the foreground: it can read the terminal, and Ctrl-C and
    // Ctrl-Z reach it as they would without koobackup. Both sides hand it over (as shells do):
    // a COMMAND that reads before koobackup's hand-over would otherwise be stopped (SIGTTIN).
    let terminal = Terminal::foreground();
    let in_foreground = terminal.is_some();
    let announcer = watchdog.as_ref().map(Watchdog::announcer);
    // SAFETY: getpid(2) here; getpid(2), write(2), prctl(2), getppid(2), signal(2) and
    // tcsetpgrp(3) in the child, all async-signal-safe; nothing else runs between fork and exec.
    let parent = unsafe { libc::getpid() };
    unsafe {
        command.pre_exec(move || {
            if let Some(announcer) = announcer {
                announcer.announce_self();
            }
            process::die_with_parent(parent)?;
            if in_foreground {
                process::take_the_foreground();
            }
            Ok(())
        });
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            finish(ctx, keeper, None).await;
            // The codes a shell uses for "not found" and "not executable".
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let message = format!("cannot start {}: {e}", format::escape(&program));
            if ctx.out.is_json() {
                let summary = Summary {
                    lock_id: &lock.lock_id,
                    module_code: lock.module,
                    command_exit: None,
                    lock_held: true,
                    unprotected_from: None,
                    reason: Some(&message),
                    exit_code: code,
                };
                let line = serde_json::to_string(&summary).expect("the summary serializes");
                ctx.out.value(&line)?;
            } else {
                ctx.out.error(&CliError::failure(message.clone()));
            }
            teller.error = Some(message);
            return Ok(code);
        }
    };
    // The group id is the child's pid. The child stays unreaped until `wait` returns, so the
    // group id cannot be reused while the loop below may signal it.
    let group = child.id().and_then(|id| libc::pid_t::try_from(id).ok());
    if let (Some(watchdog), Some(group)) = (&watchdog, group) {
        watchdog.watch(group);
    }
    if let Some(stderr) = child.stderr.take() {
        match stderr.into_owned_fd() {
            Ok(pipe) => teller.tee = Some(Tee::start(pipe)),
            Err(e) => ctx.out.warn(&format!(
                "cannot read {}'s standard error for the ping ({e})",
                format::escape(&program)
            )),
        }
    }
    teller.started();
    if let Some(id) = child.id()
        && let Err(e) = keeper.amend_owner(|owner| owner.command_group = Some(id))
    {
        ctx.out.warn(&format!(
            "cannot record {}'s process group in the lock journal ({e}); if koobackup is killed, \
             another koobackup may take the lock for orphaned while {} still runs",
            format::escape(&program),
            format::escape(&program)
        ));
    }
    let terminal = terminal.zip(group).map(|(terminal, group)| {
        terminal.lend(group);
        terminal
    });
    ctx.out.note(&format!(
        "holding lock {} for module {} while {} runs",
        format::escape(&lock.lock_id),
        lock.module,
        format::escape(&program)
    ));
    let mut run = Running {
        keeper,
        watchdog,
        group,
        program: format::escape(&program).into_owned(),
        grace: hold.grace,
        lost: None,
        kill_at: None,
        teller,
    };
    let mut watch = tokio::time::interval(STOP_POLL_INTERVAL);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            _ = sleep_until(run.kill_at) => {
                ctx.out.warn(&format!(
                    "{} did not stop within {} s of SIGTERM; sending SIGKILL",
                    run.program,
                    format::seconds(run.grace)
                ));
                signal_group(run.group, libc::SIGKILL);
                run.kill_at = None;
            }
            Some(event) = run.keeper.next_event() => run.on_event(ctx, event),
            Some(signal) = signals.next() => {
                ctx.out.note(&format!(
                    "received {}; passing it to {}; the lock is released when it ends",
                    signal_name(signal),
                    run.program
                ));
                signal_group(run.group, signal);
            }
            _ = watch.tick() => {
                // A lost lock the keeper has not reported yet (its deadline passed).
                if run.lost.is_none()
                    && let Some(lost) = run.keeper.lost()
                {
                    run.on_event(ctx, Event::Lost(lost));
                }
                if let (Some(terminal), Some(group)) = (&terminal, run.group)
                    && is_stopped(group)
                {
                    ctx.out.note(&format!(
                        "{} was stopped; koobackup stops too (fg continues both; the lock is not \
                         renewed meanwhile, and COMMAND is ended if it runs out)",
                        run.program
                    ));
                    terminal.stop_with(group);
                }
            }
        }
    };
    if let Some(terminal) = &terminal {
        terminal.take_back();
    }
    // COMMAND may have ended (killed by the watchdog while koobackup was stopped, say) before
    // a look at the clock noticed the deadline had passed.
    if run.lost.is_none()
        && let Some(lost) = run.keeper.lost()
    {
        run.mark_lost(lost);
    }
    let status = status.map_err(|e| CliError::failure(format!("cannot wait for {}: {e}", run.program)))?;
    run.stop_leftovers(ctx).await;
    let Running {
        keeper,
        watchdog,
        lost,
        program,
        teller,
        ..
    } = run;
    if let Some(watchdog) = watchdog {
        watchdog.done();
    }
    let confirmed = keeper.confirmed_at();
    let gone_at_end = finish(ctx, keeper, lost.as_ref()).await;
    let lost = lost.or(gone_at_end.map(|reason| {
        let lost = Lost {
            since: confirmed,
            last_confirmed: confirmed,
            reason,
        };
        teller.lock_lost(&lock.lock_id, &lost);
        lost
    }));
    let command_exit = exit_code(status);
    teller.command_exit = Some(command_exit);
    teller.lost = lost.as_ref().map(|l| l.reason.clone());
    let exit = if lost.is_some() {
        Exit::Conflict.code()
    } else {
        command_exit
    };
    if ctx.out.is_json() {
        let summary = Summary {
            lock_id: &lock.lock_id,
            module_code: lock.module,
            command_exit: Some(command_exit),
            lock_held: lost.is_none(),
            unprotected_from: lost.as_ref().map(|l| l.since),
            reason: lost.as_ref().map(|l| l.reason.as_str()),
            exit_code: exit,
        };
        let line = serde_json::to_string(&summary).expect("the summary serializes");
        ctx.out.value(&line)?;
    }
    match lost {
        Some(lost) => {
            let error = CliError::new(
                Exit::Conflict,
                format!(
                    "{}; {program}'s work was not protected by the lock from {} at the latest (the \
                     server last confirmed the lock at {})",
                    lost.reason,
                    format::local_time(lost.since),
                    format::local_time(lost.last_confirmed)
                ),
            );
            if ctx.out.is_json() {
                ctx.out.error(&error);
                return Ok(exit);
            }
            Err(error)
        }
        None => Ok(exit),
    }
}

/// How often a stopped COMMAND (Ctrl-Z), leftover processes and the deadline are looked at.
const STOP_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// COMMAND running under the lock.
struct Running<'t> {
    keeper: Keeper,
    watchdog: Option<Watchdog>,
    group: Option<libc::pid_t>,
    /// COMMAND's program, escaped for messages.
    program: String,
    grace: Duration,
    /// Why the work is no longer protected, once it is not.
    lost: Option<Lost>,
    /// When SIGKILL follows the SIGTERM already sent.
    kill_at: Option<Instant>,
    /// Told when the lock is lost (the `lock-lost` hook).
    teller: &'t mut Teller,
}

impl Running<'_> {
    /// The work is no longer protected: remembered, and the `lock-lost` hook told.
    fn mark_lost(&mut self, lost: Lost) {
        self.teller.lock_lost(&self.keeper.lock().lock_id, &lost);
        self.lost = Some(lost);
    }

    /// One report of the keeper.
    fn on_event(&mut self, ctx: &mut Context, event: Event) {
        match event {
            Event::Renewed { lock, journal } => {
                if let Some(watchdog) = &self.watchdog {
                    watchdog.extend(BootInstant::now().after(self.keeper.time_left()));
                }
                if let Err(e) = journal {
                    ctx.out.warn(&format!(
                        "lock {} renewed, but its lock journal entry could not be written: {e}",
                        format::escape(&lock.lock_id)
                    ));
                }
            }
            Event::Retrying {
                error,
                retry_in,
                left,
            } => ctx
                .out
                .warn(&retry_text(&self.keeper.lock().lock_id, &error, retry_in, left)),
            Event::Lost(lost) => {
                if self.lost.is_none() {
                    self.stop(ctx, &lost);
                    self.mark_lost(lost);
                }
            }
        }
    }

    /// Sends COMMAND's group SIGTERM because its work is no longer protected, and arms the
    /// SIGKILL.
    fn stop(&mut self, ctx: &Context, why: &Lost) {
        ctx.out.error(&CliError::new(
            Exit::Conflict,
            format!(
                "{}; stopping {} (SIGTERM now, SIGKILL after {} s): its work is not protected any more",
                why.reason,
                self.program,
                format::seconds(self.grace)
            ),
        ));
        signal_group(self.group, libc::SIGTERM);
        self.kill_at = Some(Instant::now() + self.grace);
    }

    /// Processes COMMAND started and left running in its group would go on unprotected once the
    /// lock is released: they get SIGTERM, then SIGKILL after the grace period. The lock is kept
    /// renewed meanwhile, and should it be lost first, they get SIGKILL at once.
    async fn stop_leftovers(&mut self, ctx: &mut Context) {
        if !group_alive(self.group) {
            return;
        }
        ctx.out.warn(&format!(
            "{} left processes running in its process group; stopping them before the lock is \
             released (SIGTERM, then SIGKILL after {} s)",
            self.program,
            format::seconds(self.grace)
        ));
        signal_group(self.group, libc::SIGTERM);
        let mut kill_at = Some(Instant::now() + self.grace);
        let mut poll = tokio::time::interval(Duration::from_millis(20));
        while group_alive(self.group) {
            tokio::select! {
                _ = poll.tick() => {
                    if self.lost.is_none()
                        && let Some(lost) = self.keeper.lost()
                    {
                        self.mark_lost(lost);
                        signal_group(self.group, libc::SIGKILL);
                    }
                }
                _ = sleep_until(kill_at) => {
                    signal_group(self.group, libc::SIGKILL);
                    kill_at = None;
                }
                Some(event) = self.keeper.next_event() => {
                    let was_lost = self.lost.is_some();
                    self.on_event(ctx, event);
                    if !was_lost && self.lost.is_some() {
                        signal_group(self.group, libc::SIGKILL);
                    }
                }
            }
        }
    }
}

/// A failed renewal, in words: what failed, when it is tried again, and the time left (or that
/// there is none).
fn retry_text(lock_id: &str, error: &ApiError, retry_in: Duration, left: chrono::Duration) -> String {
    let left = if left > chrono::Duration::zero() {
        format!("{} left on the lock", format::countdown(left))
    } else {
        "the lock has run out by koobackup's count".into()
    };
    format!(
        "renewing lock {} failed ({error}); retrying in {} s, {left}",
        format::escape(lock_id),
        format::seconds(retry_in),
    )
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Stops renewing and releases the lock after COMMAND ended. Returns, when the server no longer
/// knew the lock, why that means the work was not protected (unless that is known already). Any
/// other failure is reported; the journal then keeps the lock, so it can be released later.
async fn finish(ctx: &mut Context, keeper: Keeper, already_lost: Option<&Lost>) -> Option<String> {
    let lock = keeper.stop();
    let id = format::escape(&lock.lock_id).into_owned();
    match ctx.release_lock(&lock.lock_id).await {
        Ok(released) => {
            ctx.out
                .note(&format!("released lock {id}{}", released.journal_note()));
            None
        }
        // Forgotten by release_lock: the server does not know it (404002).
        Err(error) if error.exit == Exit::NotFound => (already_lost.is_none())
            .then(|| format!("lock {id} was gone when the command ended ({})", error.message)),
        Err(error) => {
            let still_journalled = ctx.journal().is_ok_and(|j| j.get(&lock.lock_id).is_some());
            let advice = if still_journalled {
                format!(
                    "; it stays in the lock journal: release it with `koobackup lock release {id}` \
                     or let it expire"
                )
            } else {
                String::new()
            };
            ctx.out.warn(&format!(
                "{}{advice}",
                error.context(format!("cannot release lock {id}")).message
            ));
            None
        }
    }
}

/// COMMAND's exit code, or 128 + signal number as a shell reports it.
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(u8::MAX),
        (None, Some(signal)) => exit_code_of_signal(signal),
        (None, None) => Exit::Failure.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGTERM)), 143);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGINT)), 130);
    }

    #[test]
    fn a_retry_says_the_time_left_or_that_there_is_none() {
        let error = ApiError::Timeout {
            after: Duration::from_secs(10),
        };
        let live = retry_text(
            "a@102",
            &error,
            Duration::from_secs(2),
            chrono::Duration::seconds(95),
        );
        assert!(
            live.ends_with("retrying in 2 s, 01:35 left on the lock"),
            "{live}"
        );
        let lapsed = retry_text("a@102", &error, Duration::from_secs(2), chrono::Duration::zero());
        assert!(
            lapsed.ends_with("the lock has run out by koobackup's count"),
            "{lapsed}"
        );
        assert!(!lapsed.contains("expired left"));
    }

    #[test]
    fn the_journal_names_command_shortened() {
        let words: Vec<OsString> = ["restic", "backup", "/srv"].map(OsString::from).to_vec();
        assert_eq!(command_text(&words), "restic backup /srv");
        let long: Vec<OsString> = vec![OsString::from("x".repeat(200))];
        let text = command_text(&long);
        assert_eq!(text.chars().count(), 80);
        assert!(text.ends_with('…'));
    }
}
