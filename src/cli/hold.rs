//! `koobackup lock hold --module M -- COMMAND ...`: create a lock, run COMMAND with the lock id in
//! `KOOBACKUP_LOCK_ID`, keep the lock renewed while COMMAND runs, and release it when COMMAND
//! ends — also when koobackup is interrupted, after passing the signal on.
//!
//! The guarantee: COMMAND never runs past the lock. COMMAND runs in a process group of its own
//! (as GNU `timeout` runs its command), and the group is what koobackup signals. When the lock
//! is lost (the server answers a renewal with "lock not found" or "expired"), or its expiry —
//! counted from the moment the last successful create or renewal was *sent*, which is never
//! later than the server's own count — passes without a successful renewal, the group gets
//! SIGTERM, then SIGKILL after the grace period. Processes COMMAND leaves behind in its group
//! when it ends are stopped the same way before the lock is released.
//!
//! Exit code: COMMAND's own, or 128 + signal number when a signal ended it (as shells report it).
//! Exceptions: 126/127 when COMMAND cannot be started, and 4 (conflict) when the lock was lost or
//! expired while COMMAND ran, or was found gone when COMMAND ended.

use std::ffi::OsString;
use std::process::ExitStatus;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;

mod process;

use process::{Terminal, group_alive, is_stopped, signal_group};

use super::Context;
use super::exit::{CliError, Exit};
use crate::api::error::{LOCK_EXPIRED, LOCK_NOT_FOUND};
use crate::api::{ApiError, Client, LockInfo, ModuleCode};
use crate::format;

/// Name of the environment variable that carries the lock id to COMMAND.
pub const LOCK_ID_ENV: &str = "KOOBACKUP_LOCK_ID";

/// Renewals are never closer together than this, whatever the lock lifetime.
const MIN_RENEW_INTERVAL: Duration = Duration::from_millis(100);

/// Longest wait between two renewal attempts after a failure: with KooDrive's 10-minute locks,
/// a renewal that fails at the 6:40 mark is tried again some twenty times before the lock runs out.
const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(10);

/// What `lock hold` does, as parsed from the command line.
pub(crate) struct Hold {
    pub module: ModuleCode,
    pub command: Vec<OsString>,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
}

/// Why COMMAND's work stopped being protected, for the final message and the exit code.
struct Unprotected {
    /// From when: the lock's expiry, or when it was found gone.
    since: DateTime<Utc>,
    /// When the lock was last confirmed by the server.
    last_good: DateTime<Utc>,
    reason: String,
}

pub(crate) async fn run(ctx: &mut Context, hold: Hold) -> Result<u8, CliError> {
    // Installed before anything else, so an early Ctrl-C is seen instead of killing us with a
    // lock left behind.
    let mut signals = Signals::install()?;
    let asked_at = Instant::now();
    let lock = ctx.create_lock(hold.module, false).await?;
    let confirmed_at = Utc::now();
    if let Some(signal) = signals.pending() {
        release(ctx, &lock, None).await;
        return Ok(signal_exit_code(signal));
    }
    let ttl = ctx.client().lock_ttl();
    let mut held = HeldNow {
        lock: lock.clone(),
        deadline: deadline_after(asked_at, ttl),
        confirmed_at,
    };
    let program = hold.command[0].to_string_lossy().into_owned();
    if Instant::now() >= held.deadline {
        // The answer came after the lock's lifetime, counted from the request: COMMAND would start
        // unprotected.
        release(ctx, &lock, None).await;
        return Err(CliError::new(
            Exit::Conflict,
            format!(
                "the server granted lock {} only after its lifetime had passed (a slow answer); \
                 {} was not started",
                lock.lock_id,
                format::escape(&program)
            ),
        ));
    }
    let mut command = tokio::process::Command::new(&hold.command[0]);
    command.args(&hold.command[1..]).env(LOCK_ID_ENV, &lock.lock_id);
    // Its own process group: every process COMMAND starts can be signalled together.
    command.process_group(0);
    // In a terminal, COMMAND gets the foreground: it can read the terminal, and Ctrl-C and
    // Ctrl-Z reach it as they would without koobackup. Both sides hand it over (as shells do):
    // a COMMAND that reads before koobackup's hand-over would otherwise be stopped (SIGTTIN).
    let terminal = Terminal::foreground();
    let in_foreground = terminal.is_some();
    // SAFETY: getpid(2) here; prctl(2), getppid(2), signal(2) and tcsetpgrp(3) in the child,
    // all async-signal-safe; nothing else runs between fork and exec.
    let parent = unsafe { libc::getpid() };
    unsafe {
        command.pre_exec(move || {
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
            release(ctx, &lock, None).await;
            ctx.out.error(&CliError::failure(format!(
                "cannot start {}: {e}",
                format::escape(&program)
            )));
            // The codes a shell uses for "not found" and "not executable".
            return Ok(if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            });
        }
    };
    // The group id is the child's pid. The child stays unreaped until `wait` returns, so the
    // group id cannot be reused while the loop below may signal it.
    let group = child.id().and_then(|id| libc::pid_t::try_from(id).ok());
    let terminal = terminal.zip(group).map(|(terminal, group)| {
        terminal.lend(group);
        terminal
    });
    ctx.out.note(&format!(
        "holding lock {} for module {} while {program} runs; renewing every {} s",
        format::escape(&lock.lock_id),
        lock.module,
        format::seconds(renew_interval(ttl))
    ));

    let (events, mut renewals) = mpsc::channel(8);
    let renewer = tokio::spawn(keep_renewed(
        ctx.client().clone(),
        lock.clone(),
        held.deadline,
        events,
    ));
    let mut unprotected: Option<Unprotected> = None;
    let mut kill_at: Option<Instant> = None;
    let mut watch = tokio::time::interval(STOP_POLL_INTERVAL);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            _ = sleep_until(kill_at) => {
                ctx.out.warn(&format!(
                    "{program} did not stop within {} s of SIGTERM; sending SIGKILL",
                    format::seconds(hold.grace)
                ));
                signal_group(group, libc::SIGKILL);
                kill_at = None;
            }
            _ = tokio::time::sleep_until(held.deadline), if unprotected.is_none() => {
                unprotected = Some(stop(ctx, group, &program, hold.grace, &mut kill_at, expired(&held)));
            }
            Some(event) = renewals.recv() => {
                if let Some(lost) = on_renewal(ctx, event, &mut held, unprotected.is_some()) {
                    unprotected = Some(stop(ctx, group, &program, hold.grace, &mut kill_at, lost));
                }
            }
            Some(signal) = signals.next() => {
                ctx.out.note(&format!(
                    "received {}; passing it to {program}; the lock is released when it ends",
                    signal_name(signal)
                ));
                signal_group(group, signal);
            }
            _ = watch.tick(), if terminal.is_some() => {
                if let (Some(terminal), Some(group)) = (&terminal, group)
                    && is_stopped(group)
                {
                    ctx.out.note(&format!(
                        "{program} was stopped; koobackup stops too (fg continues both; the lock is \
                         not renewed meanwhile and still runs out at its time)"
                    ));
                    terminal.stop_with(group);
                }
            }
        }
    };
    if let Some(terminal) = &terminal {
        terminal.take_back();
    }
    let status = status.map_err(|e| CliError::failure(format!("cannot wait for {program}: {e}")))?;
    stop_leftovers(
        ctx,
        group,
        &program,
        hold.grace,
        &mut held,
        &mut renewals,
        &mut unprotected,
    )
    .await;
    renewer.abort();
    let gone_at_end = release(ctx, &held.lock, unprotected.as_ref()).await;
    let unprotected = unprotected.or(gone_at_end.map(|gone| Unprotected {
        since: held.confirmed_at,
        last_good: held.confirmed_at,
        reason: gone,
    }));
    match unprotected {
        Some(lost) => Err(CliError::new(
            Exit::Conflict,
            format!(
                "{}; {program}'s work was not protected by the lock from {} at the latest (the \
                 server last confirmed the lock at {})",
                lost.reason,
                format::local_time(lost.since),
                format::local_time(lost.last_good)
            ),
        )),
        None => Ok(exit_code(status)),
    }
}

/// How often a stopped COMMAND (Ctrl-Z) and leftover processes are looked for.
const STOP_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The lock ran out without a successful renewal.
fn expired(held: &HeldNow) -> Unprotected {
    Unprotected {
        since: held.lock.expires_at,
        last_good: held.confirmed_at,
        reason: format!(
            "lock {} expired at {} without a successful renewal",
            format::escape(&held.lock.lock_id),
            format::local_time(held.lock.expires_at)
        ),
    }
}

/// Takes one report of the renewal task; returns why the work is unprotected when the lock is
/// lost. After that (`lost_already`), renewals change nothing.
fn on_renewal(
    ctx: &mut Context,
    event: Renewal,
    held: &mut HeldNow,
    lost_already: bool,
) -> Option<Unprotected> {
    match event {
        Renewal::Renewed {
            lock: renewed,
            deadline,
        } if !lost_already => {
            *held = HeldNow {
                lock: renewed.clone(),
                deadline,
                confirmed_at: Utc::now(),
            };
            match ctx.remember_renewal(&renewed, false) {
                Ok(true) => {}
                Ok(false) => ctx.out.warn(&format!(
                    "lock {} was removed from the lock journal by another koobackup (released \
                     there?); if so the next renewal finds it gone",
                    format::escape(&renewed.lock_id)
                )),
                Err(e) => ctx.out.warn(&format!("lock renewed, but {}", e.message)),
            }
            None
        }
        Renewal::Failed { error, retry_in } => {
            ctx.out.warn(&format!(
                "renewing lock {} failed ({error}); retrying in {} s, {} left",
                format::escape(&held.lock.lock_id),
                format::seconds(retry_in),
                format::time_left(&held.lock, Utc::now())
            ));
            None
        }
        Renewal::Lost(error) if !lost_already => Some(Unprotected {
            since: Utc::now(),
            last_good: held.confirmed_at,
            reason: format!("lock {} was lost: {error}", format::escape(&held.lock.lock_id)),
        }),
        Renewal::Renewed { .. } | Renewal::Lost(_) => None,
    }
}

/// The lock as last confirmed, and when it runs out on the monotonic clock.
struct HeldNow {
    lock: LockInfo,
    deadline: Instant,
    confirmed_at: DateTime<Utc>,
}

/// Sends COMMAND's group SIGTERM because its work is no longer protected, and arms the SIGKILL.
fn stop(
    ctx: &Context,
    group: Option<libc::pid_t>,
    program: &str,
    grace: Duration,
    kill_at: &mut Option<Instant>,
    why: Unprotected,
) -> Unprotected {
    ctx.out.error(&CliError::new(
        Exit::Conflict,
        format!(
            "{}; stopping {program} (SIGTERM now, SIGKILL after {} s): its work is not protected any more",
            why.reason,
            format::seconds(grace)
        ),
    ));
    signal_group(group, libc::SIGTERM);
    *kill_at = Some(Instant::now() + grace);
    why
}

/// Processes COMMAND started and left running in its group would go on unprotected once the
/// lock is released: they get SIGTERM, then SIGKILL after the grace period. The lock is kept
/// renewed meanwhile, and should it run out or be lost first, they get SIGKILL at once.
async fn stop_leftovers(
    ctx: &mut Context,
    group: Option<libc::pid_t>,
    program: &str,
    grace: Duration,
    held: &mut HeldNow,
    renewals: &mut mpsc::Receiver<Renewal>,
    unprotected: &mut Option<Unprotected>,
) {
    if !group_alive(group) {
        return;
    }
    ctx.out.warn(&format!(
        "{program} left processes running in its process group; stopping them before the lock \
         is released (SIGTERM, then SIGKILL after {} s)",
        format::seconds(grace)
    ));
    signal_group(group, libc::SIGTERM);
    let mut kill_at = Some(Instant::now() + grace);
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    while group_alive(group) {
        tokio::select! {
            _ = poll.tick() => {}
            _ = sleep_until(kill_at) => {
                signal_group(group, libc::SIGKILL);
                kill_at = None;
            }
            _ = tokio::time::sleep_until(held.deadline), if unprotected.is_none() => {
                *unprotected = Some(expired(held));
                signal_group(group, libc::SIGKILL);
            }
            Some(event) = renewals.recv() => {
                if let Some(lost) = on_renewal(ctx, event, held, unprotected.is_some()) {
                    *unprotected = Some(lost);
                    signal_group(group, libc::SIGKILL);
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The instant a lock asked for at `asked` runs out: `asked + ttl` (the server counts from when
/// it received the request, which is later).
fn deadline_after(asked: Instant, ttl: Duration) -> Instant {
    asked
        .checked_add(ttl)
        .unwrap_or(asked + Duration::from_secs(365 * 86_400))
}

/// What the renewal task reports.
enum Renewal {
    Renewed {
        lock: LockInfo,
        deadline: Instant,
    },
    /// A failure that may pass: retried after `retry_in`.
    Failed {
        error: ApiError,
        retry_in: Duration,
    },
    /// The server says the lock is gone (404002) or expired beyond renewal (409002).
    Lost(ApiError),
}

/// Whether the server's answer means the lock is gone for good.
fn is_lost(error: &ApiError) -> bool {
    matches!(error.code(), Some(LOCK_NOT_FOUND | LOCK_EXPIRED))
}

/// Renews `lock` a third of its lifetime after each success, and after a failure again and
/// again at shrinking intervals until the deadline; stops when the lock is lost or the task is
/// aborted. Each renewal (the client's own retries included) may take until the deadline: one
/// that succeeds in time is never cut short, and one that does not is useless anyway.
async fn keep_renewed(
    client: Client,
    mut lock: LockInfo,
    mut deadline: Instant,
    events: mpsc::Sender<Renewal>,
) {
    let ttl = client.lock_ttl();
    let mut next = Instant::now() + renew_interval(ttl);
    loop {
        tokio::time::sleep_until(next).await;
        let asked = Instant::now();
        let budget = deadline.saturating_duration_since(asked).max(MIN_RENEW_INTERVAL);
        let outcome = tokio::time::timeout(budget, client.renew_lock(&lock)).await;
        let event = match outcome {
            Ok(Ok(renewed)) => {
                // Renewing a live lock counts from the request; an expired one from its expiry.
                deadline = if asked >= deadline {
                    deadline_after(deadline, ttl)
                } else {
                    deadline_after(asked, ttl)
                };
                lock = renewed.clone();
                next = Instant::now() + renew_interval(ttl);
                Renewal::Renewed {
                    lock: renewed,
                    deadline,
                }
            }
            Ok(Err(error)) if is_lost(&error) => {
                let _ = events.send(Renewal::Lost(error)).await;
                return;
            }
            result => {
                let error = match result {
                    Ok(Err(error)) => error,
                    _ => ApiError::Timeout { after: budget },
                };
                let retry_in = retry_interval(deadline.saturating_duration_since(Instant::now()));
                next = Instant::now() + retry_in;
                Renewal::Failed { error, retry_in }
            }
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}

/// A third of the lock lifetime: the lock is renewed with two thirds of it left.
fn renew_interval(ttl: Duration) -> Duration {
    (ttl / 3).max(MIN_RENEW_INTERVAL)
}

/// The wait after a failed renewal with `left` on the lock: a fifth of the time left (at most
/// [`MAX_RETRY_INTERVAL`]), so attempts come faster as the expiry nears and there are several
/// before it.
fn retry_interval(left: Duration) -> Duration {
    (left / 5).clamp(MIN_RENEW_INTERVAL, MAX_RETRY_INTERVAL)
}

/// Releases the lock after COMMAND ended. Returns, when the server no longer knew the lock,
/// why that means the work was not protected (unless that is known already). Any other failure
/// is reported; the journal then keeps the lock, so it can be released later.
async fn release(ctx: &mut Context, lock: &LockInfo, already_lost: Option<&Unprotected>) -> Option<String> {
    match ctx.release_lock(&lock.lock_id).await {
        Ok(()) => {
            ctx.out.note(&format!("released lock {}", lock.lock_id));
            None
        }
        // Forgotten by release_lock: the server does not know it (404002).
        Err(error) if error.exit == Exit::NotFound => (already_lost.is_none()).then(|| {
            format!(
                "lock {} was gone when the command ended ({})",
                lock.lock_id, error.message
            )
        }),
        Err(error) => {
            let still_journalled = ctx.journal().is_ok_and(|j| j.get(&lock.lock_id).is_some());
            let advice = if still_journalled {
                format!(
                    "; it stays in the lock journal: release it with `koobackup lock release {}` or let it expire",
                    lock.lock_id
                )
            } else {
                String::new()
            };
            ctx.out.warn(&format!(
                "{}{advice}",
                error
                    .context(format!("cannot release lock {}", lock.lock_id))
                    .message
            ));
            None
        }
    }
}

/// The signals koobackup passes on to COMMAND: those that would otherwise end koobackup and
/// leave COMMAND running without its lock renewed.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
    quit: Signal,
    user1: Signal,
    user2: Signal,
}

impl Signals {
    fn install() -> Result<Signals, CliError> {
        let install = |kind: SignalKind| {
            signal(kind).map_err(|e| CliError::failure(format!("cannot install a signal handler: {e}")))
        };
        Ok(Signals {
            interrupt: install(SignalKind::interrupt())?,
            terminate: install(SignalKind::terminate())?,
            hangup: install(SignalKind::hangup())?,
            quit: install(SignalKind::quit())?,
            user1: install(SignalKind::user_defined1())?,
            user2: install(SignalKind::user_defined2())?,
        })
    }

    /// The next signal received, as its number.
    async fn next(&mut self) -> Option<i32> {
        tokio::select! {
            Some(()) = self.interrupt.recv() => Some(libc::SIGINT),
            Some(()) = self.terminate.recv() => Some(libc::SIGTERM),
            Some(()) = self.hangup.recv() => Some(libc::SIGHUP),
            Some(()) = self.quit.recv() => Some(libc::SIGQUIT),
            Some(()) = self.user1.recv() => Some(libc::SIGUSR1),
            Some(()) = self.user2.recv() => Some(libc::SIGUSR2),
            else => None,
        }
    }

    /// A signal that already arrived, without waiting.
    fn pending(&mut self) -> Option<i32> {
        self.next().now_or_never().flatten()
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => "a signal",
    }
}

fn signal_exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

/// COMMAND's exit code, or 128 + signal number as a shell reports it.
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(u8::MAX),
        (None, Some(signal)) => signal_exit_code(signal),
        (None, None) => Exit::Failure.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn renewals_happen_every_third_of_the_lifetime() {
        assert_eq!(renew_interval(Duration::from_secs(600)), Duration::from_secs(200));
        assert_eq!(renew_interval(Duration::from_secs(3)), Duration::from_secs(1));
        assert_eq!(renew_interval(Duration::from_millis(30)), MIN_RENEW_INTERVAL);
    }

    /// Walks the schedule from the first renewal to the expiry, every request failing after
    /// `fails_after` (a server that does not answer within the timeout, or answers 500 slowly):
    /// how many requests are sent before the lock runs out. A renewal call makes three attempts
    /// (the client's two retries, whose backoff is left out here) and may run until the deadline.
    fn requests_before_expiry(ttl: Duration, fails_after: Duration) -> usize {
        let mut left = ttl - renew_interval(ttl);
        let mut requests = 0;
        while left > Duration::ZERO {
            for _ in 0..3 {
                if left.is_zero() {
                    break;
                }
                requests += 1;
                left = left.saturating_sub(fails_after);
            }
            left = left.saturating_sub(retry_interval(left));
        }
        requests
    }

    #[test]
    fn a_failing_renewal_is_tried_again_several_times_before_the_lock_runs_out() {
        for (ttl, fails_after, at_least) in [
            // KooDrive's 10 minutes against a server that never answers (10 s timeout).
            (Duration::from_secs(600), Duration::from_secs(10), 30),
            // Against a slow, failing one.
            (Duration::from_secs(600), Duration::from_millis(300), 100),
            (Duration::from_secs(6), Duration::from_millis(300), 10),
            (Duration::from_secs(3), Duration::from_secs(1), 2),
        ] {
            let requests = requests_before_expiry(ttl, fails_after);
            assert!(
                requests >= at_least,
                "{requests} requests for ttl {ttl:?}, failing after {fails_after:?}"
            );
        }
        // Calls come faster as the expiry nears.
        assert!(retry_interval(Duration::from_secs(3)) < retry_interval(Duration::from_secs(30)));
        assert_eq!(retry_interval(Duration::from_secs(400)), MAX_RETRY_INTERVAL);
        assert_eq!(retry_interval(Duration::ZERO), MIN_RENEW_INTERVAL);
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
        assert!(!is_lost(&api(401, "401001")), "retried until the expiry decides");
        assert!(!is_lost(&ApiError::Timeout {
            after: Duration::from_secs(1)
        }));
    }

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGTERM)), 143);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGINT)), 130);
    }
}
