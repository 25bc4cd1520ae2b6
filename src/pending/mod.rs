//! Deletes with a grace window: instead of being sent, a chosen record is queued with who chose
//! it, why, and the record as it was; `koobackup pending apply` sends it once it is due, and only
//! while it is still as it was (and, for a rule, still chosen by it). Until then `pending
//! cancel` takes it back. KooDrive has no restore: this queue is the only way back.
//!
//! The queue lives beside the history (`pending.jsonl` in its directory, [`store`]); `apply`
//! decides and sends ([`apply`]), `rules` asks a clean-up rule again ([`rules`]).

pub mod apply;
pub mod rules;
pub mod store;

pub use store::{Cancelled, Queue, QueueError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::{BackupRecord, ModuleCode};
use crate::bulk::Chosen;
use crate::cleanup::CleanupRules;
use crate::history::{Entry, History, Op, Outcome, Recorder, Who};
use crate::lease::Owner;
use crate::retention::Retention;

/// One record queued to be deleted. A line with a field this version does not know (a newer
/// koobackup's condition, say) is not read as one: it is kept, and never acted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Queued {
    pub record_id: String,
    pub module: ModuleCode,
    /// The record as it was when it was chosen: it is deleted only while its status and version
    /// are still these.
    pub record: BackupRecord,
    /// When it was queued, on the server's clock when that had been measured.
    pub queued_at: DateTime<Utc>,
    /// From when `pending apply` sends it (the same clock as `queued_at`).
    pub due_at: DateTime<Utc>,
    /// The server's clock less this machine's when it was queued, in milliseconds: what the
    /// commands that work offline (`pending`, the app's marks) add to this machine's clock to
    /// tell, without asking the server, whether it is due and when it was queued locally.
    #[serde(default)]
    pub clock_offset_ms: i64,
    pub who: Who,
    pub why: Why,
    /// A `pending apply` working on it now (so a cancel cannot race its delete); a claim whose
    /// process is gone is void.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Owner>,
}

impl Queued {
    /// `record` of `module`, chosen by `who` for `why` at `now` (the server's clock, which is
    /// `clock_offset` ahead of this machine's), due after `grace`.
    pub fn new(
        record: BackupRecord,
        module: ModuleCode,
        who: Who,
        why: Why,
        now: DateTime<Utc>,
        clock_offset: chrono::Duration,
        grace: chrono::Duration,
    ) -> Queued {
        Queued {
            record_id: record.record_id.clone(),
            module,
            queued_at: now,
            due_at: now.checked_add_signed(grace).unwrap_or(DateTime::<Utc>::MAX_UTC),
            clock_offset_ms: clock_offset.num_milliseconds(),
            who,
            why,
            claim: None,
            record,
        }
    }

    /// How the record was when it was chosen.
    pub fn chosen(&self) -> Chosen {
        Chosen::of(&self.record)
    }

    /// Whether it is due at `now` on the server's clock (as `pending apply` judges it).
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.due_at <= now
    }

    /// The server's clock at `local_now` (this machine's), as far as the offset measured when it
    /// was queued tells: for the commands that do not ask the server.
    pub fn server_time(&self, local_now: DateTime<Utc>) -> DateTime<Utc> {
        local_now + chrono::Duration::milliseconds(self.clock_offset_ms)
    }

    /// When it was queued, on this machine's clock (what `--since` and `--until` are given in).
    pub fn queued_locally(&self) -> DateTime<Utc> {
        self.queued_at - chrono::Duration::milliseconds(self.clock_offset_ms)
    }

    /// When it is due, on this machine's clock: for showing.
    pub fn due_locally(&self) -> DateTime<Utc> {
        self.due_at - chrono::Duration::milliseconds(self.clock_offset_ms)
    }

    /// Whether a `pending apply` that is still running has claimed it (a claim left by a
    /// process that is gone counts for nothing).
    pub fn being_applied(&self) -> bool {
        self.claim.as_ref().is_some_and(|owner| {
            !matches!(
                crate::lease::Standing::of(Some(owner)),
                crate::lease::Standing::Orphaned | crate::lease::Standing::Unknown
            )
        })
    }

    /// How long it has left at `now` (the clock of `due_at`): "23h 5m"; "due" once due,
    /// "applying" while a running `pending apply` has claimed it.
    pub fn left(&self, now: DateTime<Utc>) -> String {
        if self.being_applied() {
            "applying".into()
        } else if self.is_due(now) {
            "due".into()
        } else {
            crate::format::age(self.due_at - now)
        }
    }

    pub fn device_id(&self) -> &str {
        &self.record.device_info.device_id
    }

    /// Whether `wanted` names its device: the id, or (case aside) its name or machine code, as
    /// `--device` reads it everywhere.
    pub fn on_device(&self, wanted: &str) -> bool {
        let device = &self.record.device_info;
        [&device.device_id, &device.device_name, &device.machine_code]
            .iter()
            .any(|known| known.eq_ignore_ascii_case(wanted))
    }
}

/// Why a record was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum Why {
    /// Named by id (`record delete`, the app's delete).
    ByHand,
    /// Chosen by a clean-up rule: asked again before the delete is sent.
    #[serde(rename_all = "camelCase")]
    Rule {
        /// In words ("abandoned: still new after 3d 2h").
        reason: String,
        /// `abandoned`, `marked-for-deletion`, `not-retained`.
        reason_code: String,
        rules: SavedRules,
    },
}

impl Why {
    /// In a few words: "by hand", or the rule's reason.
    pub fn describe(&self) -> String {
        match self {
            Why::ByHand => "by hand".into(),
            Why::Rule { reason, .. } => reason.clone(),
        }
    }
}

/// Clean-up rules as the queue keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedRules {
    /// Seconds a `new` record must be old to be abandoned.
    pub stale_new_after_secs: i64,
    pub include_to_be_deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
}

impl From<&CleanupRules> for SavedRules {
    fn from(rules: &CleanupRules) -> SavedRules {
        SavedRules {
            stale_new_after_secs: rules.stale_new_after.num_seconds(),
            include_to_be_deleted: rules.include_to_be_deleted,
            retention: rules.retention,
        }
    }
}

impl From<SavedRules> for CleanupRules {
    fn from(saved: SavedRules) -> CleanupRules {
        CleanupRules {
            stale_new_after: chrono::Duration::try_seconds(saved.stale_new_after_secs)
                .unwrap_or(chrono::Duration::MAX),
            include_to_be_deleted: saved.include_to_be_deleted,
            retention: saved.retention,
        }
    }
}

/// The modules of `queued`, each once, in code order: `pending apply` locks each in turn.
pub fn modules(queued: &[Queued]) -> Vec<ModuleCode> {
    ModuleCode::ALL
        .into_iter()
        .filter(|module| queued.iter().any(|q| q.module == *module))
        .collect()
}

/// What queueing did.
#[derive(Debug, Default)]
pub struct Queueing {
    pub added: Vec<Queued>,
    /// Queued before (kept as they were).
    pub already: Vec<Queued>,
    /// Why the `pending.queue` entries could not be written, if they could not.
    pub unrecorded: Option<String>,
}

/// Adds `entries` to `queue` and writes a `pending.queue` entry for each one added (through
/// `recorder`, when the history is kept). A queue that cannot be written is an error, and then
/// nothing was queued.
pub fn queue_and_record(
    queue: &Queue,
    recorder: Option<&Recorder>,
    entries: Vec<Queued>,
) -> Result<Queueing, QueueError> {
    let (added, already) = queue.add(entries)?;
    let unrecorded = recorder.and_then(|recorder| {
        let entries: Vec<Entry> = added
            .iter()
            .map(|queued| {
                let outcome = Outcome {
                    message: Some(format!(
                        "queued ({}), due at {}",
                        queued.why.describe(),
                        queued.due_at.to_rfc3339()
                    )),
                    ..Outcome::ok()
                };
                about(recorder.entry(Op::PendingQueue, outcome), queued)
            })
            .collect();
        recorder
            .history()
            .append_all(&entries)
            .err()
            .map(|e| e.to_string())
    });
    Ok(Queueing {
        added,
        already,
        unrecorded,
    })
}

/// Takes the entries `chosen` picks out of `queue` (not those a running apply holds) and
/// writes a `pending.cancel` entry for each, as this process (`by`: its command line or the
/// app's action) for the connection it was queued through. The second value says why the
/// history could not be written, if it could not.
pub fn cancel_and_record(
    queue: &Queue,
    chosen: impl Fn(&Queued) -> bool,
    by: &str,
) -> Result<(Cancelled, Option<String>), QueueError> {
    let cancelled = queue.cancel(chosen)?;
    if cancelled.cancelled.is_empty() {
        return Ok((cancelled, None));
    }
    let entries: Vec<Entry> = cancelled
        .cancelled
        .iter()
        .map(|queued| {
            let who = Who::here(
                queued.who.profile.clone(),
                queued.who.server.clone(),
                queued.who.user.clone(),
                by.to_string(),
            );
            let outcome = Outcome {
                message: Some(format!("was due at {}", queued.due_at.to_rfc3339())),
                ..Outcome::ok()
            };
            about(Entry::new(who, Op::PendingCancel, outcome), queued)
        })
        .collect();
    let unrecorded = History::default_place()
        .and_then(|history| history.append_all(&entries))
        .err()
        .map(|e| e.to_string());
    Ok((cancelled, unrecorded))
}

/// `entry`, about `queued`'s record as it was queued.
pub fn about(mut entry: Entry, queued: &Queued) -> Entry {
    entry.module = Some(queued.module.code().to_string());
    entry.record_id = Some(queued.record_id.clone());
    entry.device_id = Some(queued.device_id().to_string());
    entry.record = Some(queued.record.clone());
    entry
}
