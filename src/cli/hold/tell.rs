//! What `lock hold` tells the world outside: healthchecks-style pings (`--ping URL`: `URL/start`
//! when COMMAND starts, then `URL` on success, `URL/<n>` when COMMAND exits n, `URL/fail` when
//! the lock was lost or COMMAND never ran) and the profile's hooks (`lock-lost` when the lock is
//! lost, `hold-failed` when `lock hold` exits with anything but 0).
//!
//! None of it may change what `lock hold` does or its exit code, or delay stopping COMMAND: the
//! start ping and a `lock-lost` hook run aside (spawned), and `lock hold` waits for them, each
//! within its own time limit, only once COMMAND has ended and the lock is released. A failed
//! ping or hook is a warning.

use serde_json::json;
use tokio::task::JoinHandle;

use super::super::Context;
use super::super::output::Output;
use super::tee::Tee;
use crate::api::ModuleCode;
use crate::api::ping::{Ping, Pinger};
use crate::hooks::{self, Ending, HookEvent, Hooks};
use crate::lease::keeper::Lost;

/// How long COMMAND's stderr is read on after COMMAND ended, for the ping's body.
const STDERR_AFTER_EXIT: std::time::Duration = std::time::Duration::from_millis(500);

/// The pings and hooks of one `lock hold`.
pub struct Teller {
    pinger: Option<Pinger>,
    hooks: Hooks,
    origin: hooks::Origin,
    /// Scrubs the credential's secret out of ping bodies, should COMMAND print it.
    client: crate::api::Client,
    module: ModuleCode,
    command: String,
    out: Output,
    start: Option<JoinHandle<Result<(), String>>>,
    lock_lost: Option<JoinHandle<Option<Ending>>>,
    /// COMMAND's stderr, copied through, when a ping will carry its last lines.
    pub tee: Option<Tee>,
    /// The lock, once created.
    pub lock_id: Option<String>,
    /// COMMAND's exit code, once it ran.
    pub command_exit: Option<u8>,
    /// Why the work was not protected, when it was not.
    pub lost: Option<String>,
    /// Why `lock hold` failed around COMMAND (COMMAND not started), when it reported that itself.
    pub error: Option<String>,
}

impl Teller {
    pub fn new(ctx: &Context, pinger: Option<Pinger>, module: ModuleCode, command: String) -> Teller {
        Teller {
            pinger,
            hooks: ctx.connection.hooks.clone(),
            origin: ctx.connection.hook_origin(),
            client: ctx.client().clone(),
            module,
            command,
            out: ctx.out,
            start: None,
            lock_lost: None,
            tee: None,
            lock_id: None,
            command_exit: None,
            lost: None,
            error: None,
        }
    }

    /// Whether COMMAND's stderr is wanted (for a ping's body).
    pub fn wants_stderr(&self) -> bool {
        self.pinger.is_some()
    }

    /// COMMAND started: `URL/start`, sent aside.
    pub fn started(&mut self) {
        if let Some(pinger) = self.pinger.clone() {
            self.start = Some(tokio::spawn(async move {
                pinger.send(Ping::Start, String::new()).await
            }));
        }
    }

    /// The lock was lost while COMMAND ran: the `lock-lost` hook, run aside (once).
    pub fn lock_lost(&mut self, lock_id: &str, lost: &Lost) {
        if self.lock_lost.is_some() || self.hooks.command(HookEvent::LockLost).is_none() {
            return;
        }
        let details = json!({
            "lockId": lock_id,
            "moduleCode": self.module,
            "command": self.command,
            "reason": lost.reason,
            "unprotectedFrom": lost.since,
            "lastConfirmed": lost.last_confirmed,
        });
        let (hooks, origin) = (self.hooks.clone(), self.origin.clone());
        self.lock_lost = Some(tokio::spawn(async move {
            hooks::fire(&hooks, HookEvent::LockLost, &origin, details).await
        }));
    }

    /// `lock hold` is over with `exit` (`error`: the failure it ends with, if any): waits for what
    /// ran aside, runs `hold-failed` unless the exit is 0, and sends the last ping.
    pub async fn finish(mut self, exit: u8, error: Option<&str>) {
        let why = self.why(error);
        if let Some(start) = self.start.take()
            && let Ok(Err(problem)) = start.await
        {
            self.out.warn(&problem);
        }
        if let Some(hook) = self.lock_lost.take()
            && let Ok(Some(ending)) = hook.await
            && let Some(warning) = hooks::warning(HookEvent::LockLost, &ending)
        {
            self.out.warn(&warning);
        }
        if exit != 0 {
            let details = json!({
                "lockId": self.lock_id,
                "moduleCode": self.module,
                "command": self.command,
                "exitCode": exit,
                "commandExit": self.command_exit,
                "lockHeld": self.lost.is_none() && self.command_exit.is_some(),
                "reason": why,
            });
            if let Some(ending) = hooks::fire(&self.hooks, HookEvent::HoldFailed, &self.origin, details).await
                && let Some(warning) = hooks::warning(HookEvent::HoldFailed, &ending)
            {
                self.out.warn(&warning);
            }
        }
        if let Some(pinger) = &self.pinger {
            let ping = match (exit, self.command_exit) {
                (0, _) => Ping::Success,
                _ if self.lost.is_some() => Ping::Fail,
                (_, Some(code)) => Ping::Exit(code),
                (_, None) => Ping::Fail,
            };
            let mut body = self
                .tee
                .as_ref()
                .map(|tee| tee.last_lines(STDERR_AFTER_EXIT))
                .unwrap_or_default();
            if !body.is_empty() {
                body.push('\n');
            }
            body.push_str(&format!("koobackup lock hold: exit {exit}; {why}"));
            if let Err(problem) = pinger.send(ping, self.client.scrub(&body)).await {
                self.out.warn(&problem);
            }
        }
    }
}

impl Teller {
    /// How it ended, in words.
    fn why(&self, error: Option<&str>) -> String {
        match (&self.lost, error.or(self.error.as_deref()), self.command_exit) {
            (Some(lost), _, _) => format!("the lock was not held from start to end: {lost}"),
            (None, Some(error), _) => error.to_string(),
            (None, None, Some(code)) => format!("COMMAND exited {code}; the lock was held from start to end"),
            (None, None, None) => "COMMAND did not run".to_string(),
        }
    }
}
