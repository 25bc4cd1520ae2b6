//! The one keeper of a held lock for a long operation (`lock hold`, `record delete ID...`,
//! `cleanup --yes`, `pending apply`): a task that renews the lock ahead of its expiry by the
//! policy of [`schedule`](super::schedule), re-asserts its journal entry at each renewal, and
//! says when the lock is lost.
//!
//! The lock counts as held only until its deadline: the moment the last successful create or
//! renewal was *sent* plus the lifetime, on the clock that keeps counting through a suspend
//! ([`BootInstant`]). Past it, nothing may run under the lock any more, even if a late renewal
//! would be accepted (the server extends an expired lock from its old expiry, but another
//! operation may have slipped in meanwhile): the lock is lost. After a gap the timers did not
//! see (a suspend, a wall clock that jumped), the lock is renewed at once and the server's clock
//! decides whether it ran out meanwhile.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::clock::{BootInstant, GapWatch};
use super::owner::Owner;
use super::schedule::{is_lost, renew_ahead, retry_delay};
use crate::api::{ApiError, Client, LockInfo};

/// How often the keeper looks at the clocks: how late after a resume a lost lock is noticed.
pub const LOOK_INTERVAL: Duration = Duration::from_millis(200);

/// Why the lock stopped protecting the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    pub reason: String,
    /// From when the work was unprotected at the latest.
    pub since: DateTime<Utc>,
    /// When the server last confirmed the lock (the create or the last renewal answered).
    pub last_confirmed: DateTime<Utc>,
}

/// What the keeper reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// Renewed; `journal` says whether the entry could be re-asserted.
    Renewed {
        lock: LockInfo,
        journal: Result<(), String>,
    },
    /// A renewal failed in a way that may pass: tried again after `retry_in`.
    Retrying {
        error: ApiError,
        retry_in: Duration,
        left: chrono::Duration,
    },
    /// The lock is lost; the keeper has stopped.
    Lost(Lost),
}

/// Where a keeper writes its lock's entry (the lock journal, see `crate::journal::Reassert`):
/// at each renewal, so that a journal restored from an older copy, or an entry removed by
/// mistake, comes back; and when the command run under the lock is known.
pub trait EntryWriter: Send {
    /// The lock as renewed, with its expiry on the server's clock when measured.
    fn renewed(&mut self, lock: &LockInfo, server_expires_at: Option<DateTime<Utc>>) -> Result<(), String>;
    /// The owner amended (the processes a `lock hold` starts: its watchdog, its command).
    fn amend_owner(&mut self, change: &dyn Fn(&mut Owner)) -> Result<(), String>;
}

/// The entry, shared between the keeper's task (which re-asserts it) and its handle (which may
/// amend it).
type SharedEntry = Arc<Mutex<Option<Box<dyn EntryWriter>>>>;

/// The lock as last confirmed, shared between the task and its handle.
#[derive(Debug, Clone)]
struct Held {
    lock: LockInfo,
    deadline: BootInstant,
    confirmed_at: DateTime<Utc>,
    lost: Option<Lost>,
}

/// A running keeper; dropping it stops the renewals.
pub struct Keeper {
    held: Arc<Mutex<Held>>,
    entry: SharedEntry,
    events: mpsc::UnboundedReceiver<Event>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Keeper {
    /// Keeps `lock` renewed; it was created (or last renewed) by a request sent at `asked`.
    pub fn start(
        client: Client,
        lock: LockInfo,
        asked: BootInstant,
        entry: Option<Box<dyn EntryWriter>>,
    ) -> Keeper {
        let ttl = client.lock_ttl();
        let held = Arc::new(Mutex::new(Held {
            lock,
            deadline: asked.after(ttl),
            confirmed_at: Utc::now(),
            lost: None,
        }));
        let (sender, events) = mpsc::unbounded_channel();
        let entry = Arc::new(Mutex::new(entry));
        // Watched from now, not from when the task first runs: a jump of the clocks before
        // then (a suspend, on a busy machine) would otherwise go unseen.
        let gaps = GapWatch::start();
        let task = tokio::spawn(keep(client, held.clone(), sender, entry.clone(), gaps));
        Keeper {
            held,
            entry,
            events,
            task,
        }
    }

    /// Records `change` to the owner in the journal entry (now, and at every renewal): the
    /// process groups of a `lock hold`'s watchdog and command, which keep the lock in use while
    /// they live even if this process is killed.
    pub fn amend_owner(&self, change: impl Fn(&mut Owner)) -> Result<(), String> {
        let mut entry = self.entry.lock().unwrap_or_else(|e| e.into_inner());
        entry
            .as_mut()
            .map_or(Ok(()), |writer| writer.amend_owner(&change))
    }

    fn held(&self) -> Held {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The lock as last renewed.
    pub fn lock(&self) -> LockInfo {
        self.held().lock
    }

    /// When the server last confirmed the lock.
    pub fn confirmed_at(&self) -> DateTime<Utc> {
        self.held().confirmed_at
    }

    /// Whether work may go on under the lock now: not lost, and its deadline not passed.
    pub fn is_held(&self) -> bool {
        let held = self.held();
        held.lost.is_none() && BootInstant::now() < held.deadline
    }

    /// Why the lock is lost, if it is (also when its deadline passed before the task said so).
    pub fn lost(&self) -> Option<Lost> {
        let held = self.held();
        held.lost
            .clone()
            .or_else(|| (BootInstant::now() >= held.deadline).then(|| expired(&held)))
    }

    /// The deadline, as time left from now.
    pub fn time_left(&self) -> Duration {
        BootInstant::now().until(self.held().deadline)
    }

    /// The next report; `None` once the keeper stopped and every report was taken.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Stops renewing; returns the lock as last renewed.
    pub fn stop(self) -> LockInfo {
        self.task.abort();
        self.lock()
    }
}

fn expired(held: &Held) -> Lost {
    let since = held.lock.expires_at.min(Utc::now());
    Lost {
        reason: format!(
            "lock {} expired at {} without a successful renewal",
            crate::format::escape(&held.lock.lock_id),
            crate::format::local_time(since)
        ),
        since,
        last_confirmed: held.confirmed_at,
    }
}

/// The keeper's task.
async fn keep(
    client: Client,
    held: Arc<Mutex<Held>>,
    events: mpsc::UnboundedSender<Event>,
    entry: SharedEntry,
    mut gaps: GapWatch,
) {
    let ttl = client.lock_ttl();
    let chrono_ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    let ahead = renew_ahead(chrono_ttl).to_std().unwrap_or(Duration::ZERO);
    let read = || held.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let lose = |lost: Lost| {
        held.lock().unwrap_or_else(|e| e.into_inner()).lost = Some(lost.clone());
        let _ = events.send(Event::Lost(lost));
    };
    let mut failures = 0u32;
    // The lock's expiry on the server's clock, as last estimated (its local expiry counts from
    // when the request was sent).
    let first = read();
    let mut server_expiry = client
        .clock_measured()
        .then(|| first.lock.expires_at + client.clock_offset());
    let mut next_try = deadline_minus(first.deadline, ahead);
    loop {
        let wait = BootInstant::now().until(next_try).min(LOOK_INTERVAL);
        tokio::time::sleep(wait).await;
        let gap = gaps.look();
        let current = read();
        let now = BootInstant::now();
        if now >= current.deadline {
            lose(expired(&current));
            return;
        }
        if gap.is_none() && now < next_try {
            continue;
        }
        let asked = BootInstant::now();
        let asked_wall = Utc::now();
        let budget = asked.until(current.deadline).max(Duration::from_millis(100));
        let outcome = tokio::time::timeout(budget, client.renew_lock(&current.lock)).await;
        match outcome {
            Ok(Ok(renewed)) => {
                // After a gap, the server's clock says whether the lock ran out before this
                // renewal reached it: if so, the work was unprotected meanwhile.
                if let Some(gap) = gap {
                    let server_at_send = if client.clock_measured() {
                        asked_wall + client.clock_offset()
                    } else {
                        asked_wall
                    };
                    if let Some(expiry) = server_expiry
                        && server_at_send >= expiry
                    {
                        lose(Lost {
                            reason: format!(
                                "lock {} ran out while the machine was suspended or its clock \
                                 jumped ({} s the timers did not see); the server renewed it \
                                 afterwards, but it was not held in between",
                                crate::format::escape(&current.lock.lock_id),
                                gap.as_secs()
                            ),
                            since: current.lock.expires_at.min(asked_wall),
                            last_confirmed: current.confirmed_at,
                        });
                        return;
                    }
                }
                failures = 0;
                server_expiry = client
                    .clock_measured()
                    .then(|| renewed.expires_at + client.clock_offset());
                let deadline = asked.after(ttl);
                next_try = deadline_minus(deadline, ahead);
                {
                    let mut shared = held.lock().unwrap_or_else(|e| e.into_inner());
                    shared.lock = renewed.clone();
                    shared.deadline = deadline;
                    shared.confirmed_at = Utc::now();
                }
                let journal = entry
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_mut()
                    .map_or(Ok(()), |writer| writer.renewed(&renewed, server_expiry));
                let _ = events.send(Event::Renewed {
                    lock: renewed,
                    journal,
                });
            }
            Ok(Err(error)) if is_lost(&error) => {
                lose(Lost {
                    reason: format!(
                        "lock {} was lost: {error}",
                        crate::format::escape(&current.lock.lock_id)
                    ),
                    since: Utc::now(),
                    last_confirmed: current.confirmed_at,
                });
                return;
            }
            other => {
                let error = match other {
                    Ok(Err(error)) => error,
                    _ => ApiError::Timeout { after: budget },
                };
                failures += 1;
                let left = chrono::Duration::from_std(BootInstant::now().until(current.deadline))
                    .unwrap_or(chrono::Duration::zero());
                let retry_in = retry_delay(chrono_ttl, failures, left)
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                next_try = BootInstant::now().after(retry_in);
                let _ = events.send(Event::Retrying {
                    error,
                    retry_in,
                    left,
                });
            }
        }
    }
}

/// `deadline - span`, or now when that is already past.
fn deadline_minus(deadline: BootInstant, span: Duration) -> BootInstant {
    let now = BootInstant::now();
    let left = now.until(deadline);
    now.after(left.saturating_sub(span))
}
