//! What the client tells whoever listens (the history) of the calls that change something on the
//! server, once each call has ended, and of the records and files it read: a delete is written
//! down with the record as it was, and the client is the one place every change passes, from
//! the command line, the app and the lock keeper alike. The API knows nothing of the listener.

use std::sync::Arc;

use super::error::ApiError;
use super::model::{BackupFile, BackupRecord, ModuleCode};

/// The calls that change something on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    LockCreate,
    LockRenew,
    LockRelease,
    RecordCreate,
    RecordComplete,
    RecordDelete,
    FileAdd,
    DeviceBind,
    DeviceUnbind,
    ScopeAdd,
    ScopeDelete,
    ConfigSet,
}

/// One change call, as it ended. Ids are as sent (or as the server gave them), unescaped.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub kind: ChangeKind,
    pub module: Option<ModuleCode>,
    pub record_id: Option<String>,
    pub lock_id: Option<String>,
    pub device_id: Option<String>,
    /// Other ids the call named: scopes, a config's name, a file.
    pub ids: Vec<String>,
    /// Why it failed; `None` when the server answered success.
    pub failure: Option<&'a ApiError>,
    /// A success that is not quite one: a repeated delete answered "not found".
    pub note: Option<&'static str>,
    /// The server's clock minus ours, when it has been measured.
    pub server_offset: Option<chrono::Duration>,
}

impl<'a> Change<'a> {
    pub fn of(kind: ChangeKind) -> Change<'a> {
        Change {
            kind,
            module: None,
            record_id: None,
            lock_id: None,
            device_id: None,
            ids: Vec::new(),
            failure: None,
            note: None,
            server_offset: None,
        }
    }

    pub fn module(mut self, module: ModuleCode) -> Self {
        self.module = Some(module);
        self
    }

    pub fn record(mut self, record_id: &str) -> Self {
        self.record_id = Some(record_id.to_string());
        self
    }

    pub fn lock(mut self, lock_id: &str) -> Self {
        self.lock_id = Some(lock_id.to_string());
        self
    }

    pub fn device(mut self, device_id: &str) -> Self {
        self.device_id = Some(device_id.to_string());
        self
    }

    pub fn ids(mut self, ids: impl IntoIterator<Item = String>) -> Self {
        self.ids.extend(ids);
        self
    }
}

/// Listens to a client. Called on the task that made the call, after it ended: keep it quick.
pub trait ChangeObserver: Send + Sync {
    /// A change call ended (calls refused before anything was sent are not told).
    fn changed(&self, change: &Change<'_>);
    /// A record was read whole (`GET /record/{id}`).
    fn read_record(&self, record: &BackupRecord);
    /// One page of a record's files was read.
    fn read_files(&self, record_id: &str, files: &[BackupFile]);
}

/// The listener a client tells, shared by the clients cloned from it.
#[derive(Clone)]
pub struct Changes(pub Arc<dyn ChangeObserver>);

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Changes")
    }
}

/// Whether `error` means the request never left this machine (bad settings, read-only mode, an
/// id refused): such a call changed nothing and is not told.
pub fn nothing_sent(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::NotSent { .. } | ApiError::Settings { .. } | ApiError::ReadOnly { .. }
    )
}
