//! Ctrl-C, SIGTERM (what `timeout` and systemd send) and SIGHUP while a command runs.
//!
//! A command that holds nothing of its own simply ends (exit 128 + the signal's number, as
//! shells report it). A command that works under a lock of its own, or deletes records, winds
//! down instead: no new request is sent, the requests under way are answered, what was done is
//! reported, and its lock is released — then it exits 128 + the signal's number. A second
//! signal ends it at once (its lock is then left to expire, or to be released as an orphan by
//! the next koobackup on this machine). `lock hold` deals with signals itself: it passes them
//! on to COMMAND.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use std::task::Poll;

use tokio::signal::unix::{Signal, SignalKind, signal};

use super::exit::CliError;
use super::output::Output;
use crate::bulk::Stop;
use crate::lease::keeper::Keeper;

/// How a command answers a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    /// It ends at once: it holds nothing that needs a word or a release.
    End = 0,
    /// It winds down: it asks [`Interrupt::stop`] before each request and reports what it did.
    WindDown = 1,
    /// It listens to signals itself (`lock hold`).
    Own = 2,
}

/// The signal a command received, shared between it and [`supervise`].
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<State>);

#[derive(Debug, Default)]
struct State {
    signal: AtomicI32,
    mode: AtomicU8,
    /// Woken when the signal arrives (a permit is kept if nobody waits yet).
    arrival: tokio::sync::Notify,
}

impl Interrupt {
    /// The signal received, if one was.
    pub fn received(&self) -> Option<i32> {
        Some(self.0.signal.load(Ordering::SeqCst)).filter(|s| *s != 0)
    }

    /// The command will wind down on a signal (it holds a lock of its own, or deletes).
    pub fn wind_down(&self) {
        let _ = self.0.mode.compare_exchange(
            Mode::End as u8,
            Mode::WindDown as u8,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }

    /// The command listens to signals itself.
    pub fn handle_own_signals(&self) {
        self.0.mode.store(Mode::Own as u8, Ordering::SeqCst);
    }

    fn mode(&self) -> Mode {
        match self.0.mode.load(Ordering::SeqCst) {
            1 => Mode::WindDown,
            2 => Mode::Own,
            _ => Mode::End,
        }
    }

    /// Waits until a signal arrives (at once if one did).
    pub async fn arrived(&self) {
        if self.received().is_none() {
            self.0.arrival.notified().await;
        }
    }

    /// Why a bulk run should send nothing more: a signal arrived.
    pub fn stop(&self) -> Option<Stop> {
        self.received()
            .map(|signal| Stop::Interrupted(signal_name(signal).to_string()))
    }

    /// Why a bulk run under `keeper`'s lock should send nothing more: the lock was lost, or a
    /// signal arrived.
    pub fn stop_under(&self, keeper: &Keeper) -> Option<Stop> {
        keeper
            .lost()
            .map(|lost| Stop::LockLost(lost.reason))
            .or_else(|| self.stop())
    }
}

/// Runs `work`, answering SIGINT, SIGTERM and SIGHUP as `interrupt`'s mode says.
pub async fn supervise(
    interrupt: &Interrupt,
    out: Output,
    work: impl Future<Output = Result<u8, CliError>>,
) -> Result<u8, CliError> {
    let mut work = pin!(work);
    let Ok(mut signals) = Signals::install(&ENDING) else {
        // Without handlers the signals keep their default action: they end the process.
        return work.await;
    };
    loop {
        tokio::select! {
            result = &mut work => {
                return match (interrupt.received(), interrupt.mode(), result) {
                    (Some(signal), Mode::WindDown, Ok(_)) => Ok(exit_code(signal)),
                    (_, _, result) => result,
                };
            }
            Some(signal) = signals.next() => match interrupt.mode() {
                Mode::Own => {}
                Mode::End => return Ok(exit_code(signal)),
                Mode::WindDown if interrupt.received().is_some() => {
                    out.warn(&format!("received {} again; stopping now", signal_name(signal)));
                    return Ok(exit_code(signal));
                }
                Mode::WindDown => {
                    interrupt.0.signal.store(signal, Ordering::SeqCst);
                    interrupt.0.arrival.notify_one();
                    out.warn(&format!(
                        "received {}: sending nothing more, waiting for the requests under way, \
                         then releasing the lock (send it again to stop at once)",
                        signal_name(signal)
                    ));
                }
            },
        }
    }
}

/// A signal to listen to: its kind for tokio, and its number.
pub type Listened = (fn() -> SignalKind, i32);

/// The signals that end a command.
const ENDING: [Listened; 3] = [
    (SignalKind::interrupt, libc::SIGINT),
    (SignalKind::terminate, libc::SIGTERM),
    (SignalKind::hangup, libc::SIGHUP),
];

/// The signals `lock hold` passes on to COMMAND: those that would otherwise end koobackup and
/// leave COMMAND running without its lock renewed.
pub const PASSED_ON: [Listened; 6] = [
    (SignalKind::interrupt, libc::SIGINT),
    (SignalKind::terminate, libc::SIGTERM),
    (SignalKind::hangup, libc::SIGHUP),
    (SignalKind::quit, libc::SIGQUIT),
    (SignalKind::user_defined1, libc::SIGUSR1),
    (SignalKind::user_defined2, libc::SIGUSR2),
];

/// Listeners for a set of signals.
pub struct Signals(Vec<(Signal, i32)>);

impl Signals {
    pub fn install(kinds: &[Listened]) -> Result<Signals, CliError> {
        kinds
            .iter()
            .map(|(kind, number)| {
                signal(kind())
                    .map(|listener| (listener, *number))
                    .map_err(|e| CliError::failure(format!("cannot install a signal handler: {e}")))
            })
            .collect::<Result<_, _>>()
            .map(Signals)
    }

    /// The next signal received, as its number.
    pub async fn next(&mut self) -> Option<i32> {
        std::future::poll_fn(|cx| {
            for (listener, number) in &mut self.0 {
                if let Poll::Ready(Some(())) = listener.poll_recv(cx) {
                    return Poll::Ready(Some(*number));
                }
            }
            Poll::Pending
        })
        .await
    }

    /// A signal that already arrived, without waiting.
    pub fn pending(&mut self) -> Option<i32> {
        use futures::FutureExt;
        self.next().now_or_never().flatten()
    }
}

pub fn signal_name(signal: i32) -> &'static str {
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

/// 128 + the signal's number, as shells report a command a signal ended.
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}
