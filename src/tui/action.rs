//! Everything the app reacts to ([`Action`]) and everything it asks the runtime to do
//! ([`Effect`]), including the KooDrive calls ([`ApiCall`]) and their answers ([`ApiOutcome`]).
//! `App::update` turns one into the other without touching the outside world; `effects` performs
//! the calls.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};

use crate::api::client::{NewRecord, RecordQuery};
use crate::api::model::{
    ConfigInfo, DeviceEntity, ScopeBaseInfo, ScopeDeleteResult, ScopeInfo, UpdateConfigRequest,
};
use crate::api::{ApiError, BackupFile, BackupRecord, LockInfo, ModuleCode, Page};
use crate::lease::{Owner, Purpose, Standing};

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
    /// The wall clock, for countdowns, ages and auto-renew.
    Tick(DateTime<Utc>),
    /// A few times a second while a call is in flight: advances the busy spinner.
    Animate,
    /// An API call finished.
    ApiDone(Box<ApiReply>),
    /// A journal write finished; `Err` holds a message for the user.
    JournalWritten(Result<(), String>),
    /// The journal file changed (another koobackup process, or our own write): this
    /// connection's locks in it now.
    JournalChanged(JournalSnapshot),
    /// The runtime now talks to another profile or user (`:profile`, `:user`).
    Connected(Box<Switched>),
    /// Connecting elsewhere failed; the current connection stays.
    ConnectFailed(String),
    /// A connection attempt (to the profile or user named) ended after a later one was asked
    /// for: it is not used.
    Superseded(String),
    /// A running bulk delete deleted (or failed to delete) a record, or ended.
    Bulk(BulkProgress),
    /// The user's editor was closed: the edited text, or why there is none.
    EditorDone(Result<String, String>),
    /// A change that would leave no other trace was not sent: the history cannot be written.
    /// The app asks whether to send it without one.
    Unrecorded(Box<Unrecorded>),
    /// A bulk delete a killed process left unfinished, found and closed (see
    /// [`crate::history::recover`]): one sentence for the user.
    Recovered(String),
    /// The history as read for the history pane (newest first), or why it could not be read.
    HistoryRead(Result<HistoryRead, String>),
    /// The queue of pending deletions as read (at start, on `r`, after each change), or why it
    /// could not be read.
    PendingRead(Result<PendingRead, String>),
    /// Queueing deletions ([`Effect::QueueDeletes`]) or cancelling them
    /// ([`Effect::CancelQueued`]) is done; the queue as it is now follows as
    /// [`Action::PendingRead`].
    QueueChanged(QueueChange),
    /// Devices: sizes of backups, from the size cache or read from their file lists (see
    /// [`Effect::ReadSizes`]).
    Sizes(SizesRead),
    /// Something went wrong outside the app's own thread (a background task panicked, the
    /// embedded server stopped): shown in the activity log, never drawn over the screen.
    Background(String),
}

/// A change held back because the history cannot be written: why, and the change itself (an
/// [`Effect::Api`] or [`Effect::StartBulkDelete`]), to send without history or to answer as not
/// sent.
#[derive(Debug, Clone)]
pub struct Unrecorded {
    pub why: String,
    pub effect: Effect,
}

impl Unrecorded {
    /// The change in a few words, as the question names it: `Delete 3 record(s)`, `Unbind
    /// device D`. Raw: the ids came from the server.
    pub fn what(&self) -> String {
        match &self.effect {
            Effect::StartBulkDelete(job) => format!("Delete {} record(s)", job.targets.len()),
            Effect::Api {
                call: ApiCall::DeleteRecord { target, .. },
                ..
            } => format!("Delete record {}", target.record_id),
            Effect::Api {
                call: ApiCall::UnbindDevice { device_id },
                ..
            } => format!("Unbind device {device_id}"),
            Effect::Api {
                call: ApiCall::DeleteScopes { device_id, scope_ids },
                ..
            } => format!("Delete {} scope(s) of device {device_id}", scope_ids.len()),
            _ => "Send this change".into(),
        }
    }
}

/// What reading the history found.
#[derive(Debug, Clone, Default)]
pub struct HistoryRead {
    /// Newest first.
    pub entries: Vec<crate::history::Entry>,
    /// Lines that could not be read (damaged, or a newer version's).
    pub unreadable: usize,
}

/// What reading the queue of pending deletions found.
#[derive(Debug, Clone, Default)]
pub struct PendingRead {
    /// Every queued deletion on this machine, in the order queued.
    pub entries: Vec<crate::pending::Queued>,
    /// Lines that could not be read (damaged, or a newer version's): kept, never sent.
    pub unreadable: usize,
    /// The record ids among `entries` queued through this connection (its server and user):
    /// the ones the records pane and the Devices view mark.
    pub here: BTreeSet<String>,
}

/// What queueing or cancelling did; raw text (record ids came from the server).
#[derive(Debug, Clone)]
pub enum QueueChange {
    Queued {
        added: Vec<crate::pending::Queued>,
        /// Queued before: left as they were.
        already: Vec<crate::pending::Queued>,
        /// Why the `pending.queue` entries are missing from the history, if they are.
        unrecorded: Option<String>,
    },
    Cancelled {
        /// The record ids asked for.
        asked: Vec<String>,
        cancelled: Vec<crate::pending::Queued>,
        /// Being sent by a running `pending apply`: left alone.
        busy: Vec<crate::pending::Queued>,
        unrecorded: Option<String>,
    },
    /// The queue could not be written: nothing was queued (`queueing`) or cancelled.
    Failed { queueing: bool, why: String },
}

/// Records to queue for deletion after `grace`, each with why it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueJob {
    pub chosen: Vec<(BackupRecord, ModuleCode, crate::pending::Why)>,
    pub grace: chrono::Duration,
}

/// This connection's locks as the journal file holds them, read after the app's first `applied`
/// journal changes were written (the app ignores a snapshot older than its own changes).
#[derive(Debug, Clone, PartialEq)]
pub struct JournalSnapshot {
    pub held: Vec<Journalled>,
    pub applied: u64,
}

/// A journal entry as the app sees it: the lock, its auto-renew setting, its owner, and where
/// the owner stands from this process (worked out by the runtime, which may look at `/proc`).
#[derive(Debug, Clone, PartialEq)]
pub struct Journalled {
    pub lock: LockInfo,
    pub auto_renew: bool,
    pub owner: Option<Owner>,
    pub standing: Standing,
}

impl Journalled {
    /// The entry `held`, with its owner's standing looked up now and its expiry on this
    /// machine's clock (see [`crate::journal::HeldLock::expires_here`]).
    pub fn of(held: &crate::journal::HeldLock) -> Journalled {
        Journalled {
            lock: held.lock_here(None),
            auto_renew: held.auto_renew,
            owner: held.owner.clone(),
            standing: held.standing(),
        }
    }
}

/// The answer to one [`Effect::Api`], with what the runtime measured around it.
#[derive(Debug, Clone)]
pub struct ApiReply {
    pub request: RequestId,
    pub outcome: ApiOutcome,
    pub latency: Duration,
    pub finished_at: DateTime<Utc>,
    /// Server clock minus local clock as measured by the client after this call; `None` while
    /// no answer has carried a usable `Date` (the clock is unknown, not in step).
    pub clock_offset: Option<chrono::Duration>,
}

/// A KooDrive call the runtime performs on the app's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiCall {
    CreateLock(ModuleCode),
    RenewLock(LockInfo),
    ReleaseLock(String),
    /// One page of a listing, from `cursor` (the first page without one).
    ListRecords {
        query: RecordQuery,
        cursor: Option<String>,
    },
    CreateRecord {
        lock_id: String,
        record: NewRecord,
    },
    GetRecord {
        record_id: String,
    },
    CompleteRecord {
        lock_id: String,
        record_id: String,
        properties: Option<String>,
    },
    /// Re-read the record, and delete it unless it changed since it was chosen.
    DeleteRecord {
        lock_id: String,
        target: Box<crate::bulk::Target>,
    },
    /// One page of a record's files.
    ListFiles {
        record_id: String,
        page_size: u32,
        cursor: Option<String>,
    },
    ListDevices,
    UnbindDevice {
        device_id: String,
    },
    ListScopes {
        device_id: String,
        module: ModuleCode,
    },
    AddScopes {
        device_id: String,
        module: ModuleCode,
        scopes: Vec<ScopeBaseInfo>,
    },
    DeleteScopes {
        device_id: String,
        scope_ids: Vec<String>,
    },
    ListConfigs {
        device_id: String,
        module: ModuleCode,
    },
    UpdateConfig {
        device_id: String,
        request: Box<UpdateConfigRequest>,
    },
}

impl ApiCall {
    /// Whether the call destroys something on the server, leaving no trace but the history: it
    /// is not sent while the history cannot be written, unless the user says so.
    pub fn leaves_no_trace(&self) -> bool {
        matches!(
            self,
            ApiCall::DeleteRecord { .. } | ApiCall::UnbindDevice { .. } | ApiCall::DeleteScopes { .. }
        )
    }

    /// The answer of this call when it was not sent, for `error` (why); `None` for the calls
    /// that are always sent (the ones that leave a trace).
    pub fn not_sent(&self, error: ApiError) -> Option<ApiOutcome> {
        match self {
            ApiCall::DeleteRecord { .. } => {
                Some(ApiOutcome::RecordDeleted(crate::bulk::Outcome::Failed(error)))
            }
            ApiCall::UnbindDevice { .. } => Some(ApiOutcome::DeviceUnbound(Err(error))),
            ApiCall::DeleteScopes { .. } => Some(ApiOutcome::ScopesDeleted(Err(error))),
            _ => None,
        }
    }
}

/// The result of each kind of [`ApiCall`].
#[derive(Debug, Clone)]
pub enum ApiOutcome {
    LockCreated(Result<LockInfo, ApiError>),
    LockRenewed(Result<LockInfo, ApiError>),
    LockReleased(Result<(), ApiError>),
    RecordsPage(Result<Page<BackupRecord>, ApiError>),
    RecordCreated(Result<BackupRecord, ApiError>),
    RecordFetched(Result<BackupRecord, ApiError>),
    RecordCompleted(Result<(), ApiError>),
    RecordDeleted(crate::bulk::Outcome),
    FilesPage(Result<Page<BackupFile>, ApiError>),
    DevicesListed(Result<Page<DeviceEntity>, ApiError>),
    DeviceUnbound(Result<Option<DeviceEntity>, ApiError>),
    ScopesListed(Result<Page<ScopeInfo>, ApiError>),
    ScopesAdded(Result<Vec<ScopeInfo>, ApiError>),
    ScopesDeleted(Result<ScopeDeleteResult, ApiError>),
    ConfigsListed(Result<Page<ConfigInfo>, ApiError>),
    ConfigUpdated(Result<ConfigInfo, ApiError>),
}

impl ApiOutcome {
    pub fn error(&self) -> Option<&ApiError> {
        match self {
            ApiOutcome::LockCreated(r) | ApiOutcome::LockRenewed(r) => r.as_ref().err(),
            ApiOutcome::LockReleased(r) | ApiOutcome::RecordCompleted(r) => r.as_ref().err(),
            ApiOutcome::RecordDeleted(outcome) => match outcome {
                crate::bulk::Outcome::Failed(error) => Some(error),
                _ => None,
            },
            ApiOutcome::RecordsPage(r) => r.as_ref().err(),
            ApiOutcome::RecordCreated(r) | ApiOutcome::RecordFetched(r) => r.as_ref().err(),
            ApiOutcome::FilesPage(r) => r.as_ref().err(),
            ApiOutcome::DevicesListed(r) => r.as_ref().err(),
            ApiOutcome::DeviceUnbound(r) => r.as_ref().err(),
            ApiOutcome::ScopesListed(r) => r.as_ref().err(),
            ApiOutcome::ScopesAdded(r) => r.as_ref().err(),
            ApiOutcome::ScopesDeleted(r) => r.as_ref().err(),
            ApiOutcome::ConfigsListed(r) => r.as_ref().err(),
            ApiOutcome::ConfigUpdated(r) => r.as_ref().err(),
        }
    }
}

/// A change to the on-disk journal of held locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalChange {
    /// Record a lock this app owns for `purpose`: just created or adopted, or re-asserted at a
    /// renewal (so an entry lost from the file comes back), or handed to the user when the app
    /// quits keeping it.
    Upsert {
        lock: LockInfo,
        auto_renew: bool,
        purpose: Purpose,
    },
    /// Update the entry of a lock someone else owns (a renewal, the auto-renew setting) if it is
    /// still there, keeping its owner: a lock another koobackup released meanwhile is not
    /// brought back.
    Update { lock: LockInfo, auto_renew: bool },
    /// Forget a lock: only after it was released (or the server says it no longer exists).
    Remove { lock_id: String },
}

/// Work for the runtime. Results come back as [`Action`]s.
#[derive(Debug, Clone, PartialEq)]
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
    /// Send this change (an [`Effect::Api`] or [`Effect::StartBulkDelete`]) although the history
    /// cannot be written: the user said so.
    WithoutHistory(Box<Effect>),
    /// Read the history; the answer comes back as [`Action::HistoryRead`].
    ReadHistory,
    /// Read the queue of pending deletions; the answer comes back as [`Action::PendingRead`].
    ReadPending,
    /// Queue these deletions (with a `pending.queue` entry each in the history): nothing is
    /// sent. The answer comes back as [`Action::QueueChanged`].
    QueueDeletes(QueueJob),
    /// Take back the queued deletions of these record ids (those a running `pending apply`
    /// is sending excepted). The answer comes back as [`Action::QueueChanged`].
    CancelQueued(Vec<String>),
    /// Devices: the sizes of these records, from the size cache at once where it knows them,
    /// else from their file lists at an adaptive pace (and then kept in the cache); they come
    /// back in batches as [`Action::Sizes`]. One reading runs at a time: a request of another
    /// listing stops the one before.
    ReadSizes(SizeRequest),
    /// Leave the app (the terminal is restored by the runtime).
    Quit,
    /// Remember the module the records pane shows, for the next start.
    RememberModule(ModuleCode),
    /// Connect to another profile or as another user (`:profile`, `:user`). The runtime
    /// switches once no call is in flight, and reports [`Action::Connected`] or
    /// [`Action::ConnectFailed`].
    Connect(ConnectTo),
}

/// Where `:profile` and `:user` go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectTo {
    Profile(String),
    User(String),
}

/// A connection the runtime has switched to: what the app shows of it.
#[derive(Debug, Clone)]
pub struct Switched {
    pub session: super::feature::Session,
    /// Its locks in the journal.
    pub held: Vec<Journalled>,
    pub warnings: Vec<String>,
}

/// Tells a running bulk delete to launch no further deletes. The app hands it out in
/// [`Effect::CancelBulkDelete`]; only the runtime sets it.
#[derive(Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Two flags are equal when they are the same flag.
impl PartialEq for CancelFlag {
    fn eq(&self, other: &CancelFlag) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CancelFlag {}

impl fmt::Debug for CancelFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CancelFlag({})",
            if self.is_cancelled() { "cancelled" } else { "live" }
        )
    }
}

/// Identifies one bulk delete from its start to its last progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// Delete `targets` of `module` under `lock_id` through the bulk engine (each re-read first, and
/// kept if it changed since it was chosen), at most `concurrency` at a time. `planned` is what
/// the history's plan says is about to go: the same records, as the list showed them.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkDeleteJob {
    pub job: JobId,
    pub module: ModuleCode,
    pub lock_id: String,
    pub targets: Vec<crate::bulk::Target>,
    pub planned: Vec<crate::history::Planned>,
    pub concurrency: usize,
    pub cancel: CancelFlag,
}

/// What a running bulk delete reports, one action per record and one at the end.
#[derive(Debug, Clone)]
pub enum BulkProgress {
    Deleted {
        job: JobId,
        record_id: String,
        outcome: crate::bulk::Outcome,
    },
    /// No delete of the job is in flight any more. `cancelled` when some were never launched;
    /// `lock_lost` when that was because the server refused the lock (404002, 409002).
    Finished {
        job: JobId,
        cancelled: bool,
        lock_lost: bool,
    },
}

/// Records of one listing of the Devices view whose sizes are wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeRequest {
    /// The listing they belong to (the devices pane's generation).
    pub listing: u64,
    pub records: Vec<crate::health::RecordSummary>,
    /// `Some` with the listing's last records: no more will come.
    pub end: Option<ListingEnd>,
}

/// How a listing ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingEnd {
    /// Every record was listed: the cache may forget the sizes of records no longer there.
    Complete,
    /// It stopped early (a failure, the listing limit): the cache keeps what it holds.
    Partial,
}

/// Sizes of records of one listing, as they became known.
#[derive(Debug, Clone)]
pub struct SizesRead {
    pub listing: u64,
    pub sizes: Vec<(String, crate::health::RecordSize)>,
}
