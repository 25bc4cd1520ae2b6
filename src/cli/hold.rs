//! `koobackup lock hold --module M -- COMMAND ...`: create a lock, run COMMAND with the lock id in
//! `KOOBACKUP_LOCK_ID`, renew the lock every third of its lifetime while COMMAND runs, and release
//! it when COMMAND ends — also when koobackup is interrupted, after passing the signal on.
//!
//! Exit code: COMMAND's own, or 128 + signal number when a signal ended it (as shells report it).
//! Exceptions: 126/127 when COMMAND cannot be started, and 4 (conflict) when the lock was lost
//! while COMMAND ran — COMMAND is then asked to stop with SIGTERM, since its work is no longer
//! protected by the lock.

use std::ffi::OsString;
use std::process::ExitStatus;
use std::time::Duration;

use futures::FutureExt;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use super::Context;
use super::exit::{CliError, Exit};
use crate::api::error::ErrorKind;
use crate::api::{ApiError, Client, LockInfo, ModuleCode};

/// Name of the environment variable that carries the lock id to COMMAND.
pub const LOCK_ID_ENV: &str = "KOOBACKUP_LOCK_ID";

/// Renewals are never closer together than this, whatever the lock lifetime.
const MIN_RENEW_INTERVAL: Duration = Duration::from_millis(100);

pub(crate) async fn run(
    ctx: &mut Context,
    module: ModuleCode,
    command: Vec<OsString>,
) -> Result<u8, CliError> {
    // Installed before anything else, so an early Ctrl-C is seen instead of killing us with a
    // lock left behind.
    let mut signals = Signals::install()?;
    let lock = ctx.create_lock(module, false).await?;
    if let Some(signal) = signals.pending() {
        release(ctx, &lock.lock_id, false).await;
        return Ok(signal_exit_code(signal));
    }

    let program = command[0].to_string_lossy().into_owned();
    let mut child = match tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .env(LOCK_ID_ENV, &lock.lock_id)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            release(ctx, &lock.lock_id, false).await;
            ctx.out
                .error(&CliError::failure(format!("cannot start {program}: {e}")));
            // The codes a shell uses for "not found" and "not executable".
            return Ok(if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            });
        }
    };
    ctx.out.note(&format!(
        "holding lock {} for module {} while {program} runs; renewing every {} s",
        lock.lock_id,
        lock.module,
        renew_interval(ctx.client().lock_ttl()).as_secs_f32()
    ));

    // The child stays unreaped (so its pid cannot be reused) until `wait` below returns, which
    // ends the loop: signalling this pid inside the loop always reaches COMMAND.
    let pid = child.id().and_then(|id| libc::pid_t::try_from(id).ok());
    let (events, mut renewals) = mpsc::channel(4);
    let renewer = tokio::spawn(keep_renewed(ctx.client().clone(), lock.clone(), events));
    let mut lost: Option<CliError> = None;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            Some(event) = renewals.recv() => match event {
                Renewal::Renewed(renewed) => {
                    if let Err(e) = ctx.remember(&renewed, false) {
                        ctx.out.warn(&format!("lock renewed, but {}", e.message));
                    }
                }
                Renewal::Failed { error, retry_in, lock } => ctx.out.warn(&format!(
                    "renewing lock {} failed ({error}); retrying in {} s, {} left",
                    lock.lock_id,
                    retry_in.as_secs_f32(),
                    crate::format::time_left(&lock, chrono::Utc::now())
                )),
                Renewal::Lost(error) => {
                    let error = CliError::from(error).context(format!(
                        "lock {} was lost while {program} ran; asking {program} to stop",
                        lock.lock_id
                    ));
                    ctx.out.error(&error);
                    send_signal(pid, libc::SIGTERM);
                    lost = Some(CliError { exit: Exit::Conflict, silent: true, ..error });
                }
            },
            Some(signal) = signals.next() => {
                ctx.out.note(&format!(
                    "received {}; passing it to {program}; the lock is released when it ends",
                    signal_name(signal)
                ));
                if !terminal_already_delivered(signal) {
                    send_signal(pid, signal);
                }
            }
        }
    };
    renewer.abort();
    let status = status.map_err(|e| CliError::failure(format!("cannot wait for {program}: {e}")))?;
    release(ctx, &lock.lock_id, lost.is_some()).await;
    match lost {
        Some(error) => Err(error),
        None => Ok(exit_code(status)),
    }
}

/// What the renewal task reports.
enum Renewal {
    Renewed(LockInfo),
    /// A failure that may pass (network, server error): retried after `retry_in`.
    Failed {
        error: ApiError,
        retry_in: Duration,
        lock: LockInfo,
    },
    /// The server refused the renewal for good (lock gone, expired beyond renewal, or
    /// credentials rejected).
    Lost(ApiError),
}

/// Renews `lock` every third of its lifetime until aborted or until the lock is lost.
async fn keep_renewed(client: Client, mut lock: LockInfo, events: mpsc::Sender<Renewal>) {
    let interval = renew_interval(client.lock_ttl());
    let retry_in = (interval / 4).clamp(MIN_RENEW_INTERVAL, Duration::from_secs(10));
    let mut delay = interval;
    loop {
        tokio::time::sleep(delay).await;
        let event = match client.renew_lock(&lock).await {
            Ok(renewed) => {
                lock = renewed.clone();
                delay = interval;
                Renewal::Renewed(renewed)
            }
            Err(error) if matches!(error.kind(), ErrorKind::Network | ErrorKind::Server) => {
                delay = retry_in;
                Renewal::Failed {
                    error,
                    retry_in,
                    lock: lock.clone(),
                }
            }
            Err(error) => {
                let _ = events.send(Renewal::Lost(error)).await;
                return;
            }
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}

/// A third of the lock lifetime: two renewals can fail before the lock expires.
fn renew_interval(ttl: Duration) -> Duration {
    (ttl / 3).max(MIN_RENEW_INTERVAL)
}

/// Releases the lock after COMMAND ended. A failure is reported but does not change the exit
/// code, which is COMMAND's; the journal keeps the lock so it can be released later.
async fn release(ctx: &mut Context, lock_id: &str, lost: bool) {
    match ctx.release_lock(lock_id).await {
        Ok(()) => ctx.out.note(&format!("released lock {lock_id}")),
        // A lost lock is expected to be gone; release_lock has already forgotten it.
        Err(_) if lost => {}
        Err(error) => ctx.out.warn(&format!(
            "{}; it stays in the lock journal: release it with `koobackup lock release {lock_id}` \
             or let it expire",
            error.context(format!("cannot release lock {lock_id}")).message
        )),
    }
}

/// The signals koobackup passes on to COMMAND.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
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
        })
    }

    /// The next signal received, as its number.
    async fn next(&mut self) -> Option<i32> {
        tokio::select! {
            Some(()) = self.interrupt.recv() => Some(libc::SIGINT),
            Some(()) = self.terminate.recv() => Some(libc::SIGTERM),
            Some(()) = self.hangup.recv() => Some(libc::SIGHUP),
            else => None,
        }
    }

    /// A signal that already arrived, without waiting.
    fn pending(&mut self) -> Option<i32> {
        self.next().now_or_never().flatten()
    }
}

/// Ctrl-C and a terminal hang-up go to the terminal's whole foreground process group, which
/// includes COMMAND when koobackup runs in the foreground. Passing such a signal on would deliver
/// it twice, and a program that treats a second Ctrl-C as "stop now, skip clean-up" would cut its
/// clean-up short. A signal sent to koobackup alone (`kill -INT PID`, or when it runs in the
/// background or without a terminal) is passed on.
fn terminal_already_delivered(signal: i32) -> bool {
    use std::os::fd::AsRawFd;
    if signal != libc::SIGINT && signal != libc::SIGHUP {
        return false;
    }
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return false;
    };
    // SAFETY: plain queries on a descriptor that stays open for the duration of the call.
    let (foreground, ours) = unsafe { (libc::tcgetpgrp(tty.as_raw_fd()), libc::getpgrp()) };
    foreground > 0 && foreground == ours
}

fn send_signal(pid: Option<libc::pid_t>, signal: i32) {
    if let Some(pid) = pid {
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
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

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGTERM)), 143);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGINT)), 130);
    }
}
