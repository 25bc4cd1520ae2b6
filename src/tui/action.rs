//! Everything the app reacts to ([`Action`]) and everything it asks the runtime to do
//! ([`Effect`]). `App::update` turns one into the other without touching the outside world.
//!
//! To add a feature: add the API call to [`ApiCall`] and its answer to [`ApiOutcome`], teach
//! `runtime::effects` to perform it, and handle the outcome in `App::update`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};

use super::record_action::{BulkDeleteJob, BulkProgress, CancelFlag, RecordCall, RecordOutcome};
use crate::api::{ApiError, LockInfo, ModuleCode};

/// Identifies one API call from the moment it is requested until its outcome arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// An input to [`App::update`](super::app::App::update).
#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// The terminal now has this many columns and rows.
    Resize {
        width: u16,
        height: u16,
    },
    /// Once a second: the wall clock, for countdowns and auto-renew.
    Tick(DateTime<Utc>),
    /// A few times a second while a call is in flight: advances the busy spinner.
    Animate,
    /// An API call finished.
    ApiDone(Box<ApiReply>),
    /// A journal write finished; `Err` holds a message for the user.
    JournalWritten(Result<(), String>),
    /// A running bulk delete deleted (or failed to delete) a record, or ended.
    Bulk(BulkProgress),
    /// The user's editor was closed: the edited text, or why there is none.
    EditorDone(Result<String, String>),
}

/// The answer to one [`Effect::Api`], with what the runtime measured around it.
#[derive(Debug, Clone)]
pub struct ApiReply {
    pub request: RequestId,
    pub outcome: ApiOutcome,
    pub latency: Duration,
    pub finished_at: DateTime<Utc>,
    /// Server clock minus local clock as measured by the client after this call.
    pub clock_offset: chrono::Duration,
}

/// The result of each kind of [`ApiCall`].
#[derive(Debug, Clone)]
pub enum ApiOutcome {
    LockCreated(Result<LockInfo, ApiError>),
    LockRenewed(Result<LockInfo, ApiError>),
    LockReleased(Result<(), ApiError>),
    /// The answer to an [`ApiCall::Records`].
    Records(RecordOutcome),
}

impl ApiOutcome {
    pub fn error(&self) -> Option<&ApiError> {
        match self {
            ApiOutcome::LockCreated(r) | ApiOutcome::LockRenewed(r) => r.as_ref().err(),
            ApiOutcome::LockReleased(r) => r.as_ref().err(),
            ApiOutcome::Records(outcome) => outcome.error(),
        }
    }
}

/// A KooDrive call the runtime performs on the app's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiCall {
    CreateLock(ModuleCode),
    RenewLock(LockInfo),
    ReleaseLock(String),
    /// A call on backup records (list, create, complete, delete, files).
    Records(RecordCall),
}

/// A change to the on-disk journal of held locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalChange {
    /// Record a lock just created or adopted.
    Upsert { lock: LockInfo, auto_renew: bool },
    /// Update a held lock's entry (a renewal, the auto-renew setting) if it is still there:
    /// a lock another koobackup released meanwhile is not brought back.
    Update { lock: LockInfo, auto_renew: bool },
    /// Forget a lock: only after it was released (or the server says it no longer exists).
    Remove { lock_id: String },
}

/// Work for the runtime. Results come back as [`Action`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Api {
        request: RequestId,
        call: ApiCall,
    },
    Journal(JournalChange),
    /// Put text on the user's clipboard with OSC 52 (works over SSH).
    CopyToClipboard(String),
    /// Delete many records with bounded concurrency, reporting each result as [`Action::Bulk`].
    StartBulkDelete(BulkDeleteJob),
    /// Launch no further deletes of the job this flag belongs to (those in flight finish).
    CancelBulkDelete(CancelFlag),
    /// Step aside (leave the alternate screen and raw mode, stop reading the terminal) and let
    /// the user edit this text in their editor; the result comes back as
    /// [`Action::EditorDone`], after which the app takes the terminal back.
    EditInEditor(String),
    /// Leave the app (the terminal is restored by the runtime).
    Quit,
}
