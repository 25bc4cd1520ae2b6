//! The record side's part of [`ApiCall`](super::ApiCall) / [`ApiOutcome`](super::ApiOutcome),
//! and the bulk-delete job the runtime runs on the app's behalf.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::api::client::{NewRecord, RecordQuery};
use crate::api::{ApiError, BackupFile, BackupRecord, Page};

/// Files shown per page in the record detail view.
pub const FILES_PAGE_SIZE: u32 = 20;

/// Deletes in flight at once during a bulk delete, unless the job says otherwise.
pub const DEFAULT_BULK_CONCURRENCY: usize = 8;

/// A KooDrive call on backup records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordCall {
    /// One page of a listing, from `cursor` (the first page without one).
    ListPage {
        query: RecordQuery,
        cursor: Option<String>,
    },
    Create {
        lock_id: String,
        record: NewRecord,
    },
    Get {
        record_id: String,
    },
    Complete {
        lock_id: String,
        record_id: String,
        properties: Option<String>,
    },
    Delete {
        lock_id: String,
        record_id: String,
    },
    /// One page of a record's files.
    Files {
        record_id: String,
        cursor: Option<String>,
    },
}

/// The answer to each kind of [`RecordCall`].
#[derive(Debug, Clone)]
pub enum RecordOutcome {
    Page(Result<Page<BackupRecord>, ApiError>),
    Created(Result<BackupRecord, ApiError>),
    Fetched(Result<BackupRecord, ApiError>),
    Completed(Result<(), ApiError>),
    Deleted(Result<(), ApiError>),
    Files(Result<Page<BackupFile>, ApiError>),
}

impl RecordOutcome {
    pub fn error(&self) -> Option<&ApiError> {
        match self {
            RecordOutcome::Page(r) => r.as_ref().err(),
            RecordOutcome::Created(r) | RecordOutcome::Fetched(r) => r.as_ref().err(),
            RecordOutcome::Completed(r) | RecordOutcome::Deleted(r) => r.as_ref().err(),
            RecordOutcome::Files(r) => r.as_ref().err(),
        }
    }
}

/// Tells a running bulk delete to launch no further deletes. The app hands it out in
/// [`Effect::CancelBulkDelete`](super::Effect::CancelBulkDelete); only the runtime sets it.
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

/// Delete `record_ids` under `lock_id`, at most `concurrency` at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkDeleteJob {
    pub job: JobId,
    pub lock_id: String,
    pub record_ids: Vec<String>,
    pub concurrency: usize,
    pub cancel: CancelFlag,
}

/// What a running bulk delete reports, one action per record and one at the end.
#[derive(Debug, Clone)]
pub enum BulkProgress {
    Deleted {
        job: JobId,
        record_id: String,
        result: Result<(), ApiError>,
    },
    /// No delete of the job is in flight any more. `cancelled` when some were never launched.
    Finished { job: JobId, cancelled: bool },
}
