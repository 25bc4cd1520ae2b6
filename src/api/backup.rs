//! One method per backup-lock, record and file endpoint (`/koodrive/ose/v1/backup/...`), each
//! with the retry policy its effect allows.

use chrono::{DateTime, Utc};
use futures::Stream;
use reqwest::Method;

use super::changes::{Change, ChangeKind};
use super::client::{Call, Client, Idempotency, header_safe};
use super::error::ApiError;
use super::error::LOCK_NOT_FOUND;
use super::model::{
    BackupFile, BackupRecord, CompleteRecordRequest, CreateLockData, CreateLockRequest, CreateRecordRequest,
    LockInfo, ModuleCode, Page,
};
use super::pages::follow_cursors;
use super::path;

/// "record not found".
const RECORD_NOT_FOUND: i64 = 404001;

/// Why a lock id the server granted cannot be used, in words, or `None` when it can: it must
/// travel back in a header and be accepted as an id.
fn unusable_lock_id(lock_id: &str) -> Option<String> {
    if !header_safe(lock_id) {
        return Some("holds line breaks or other characters an HTTP header cannot carry".into());
    }
    path::id_problem(lock_id).map(|problem| format!("cannot be used as an id ({problem})"))
}

/// What to list: one module's records, optionally of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordQuery {
    pub module: ModuleCode,
    pub page_size: u32,
    pub device_id: Option<String>,
}

/// A record to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub module: ModuleCode,
    pub device_id: String,
    /// JSON text, already validated by the caller.
    pub properties: Option<String>,
}

/// How a delete ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The server answered the delete with success: this request deleted the record.
    Confirmed,
    /// An attempt may have landed without its answer, and the repeat was answered "record not
    /// found": the record is gone, but whether this client deleted it cannot be proven.
    GoneOnRetry,
}

impl Client {
    /// `POST /lock`. The expiry is counted from the moment the request was sent.
    pub async fn create_lock(&self, module: ModuleCode) -> Result<LockInfo, ApiError> {
        let result = async {
            let call = Call::new(Method::POST, "/lock", Idempotency::NotIdempotent)
                .json(&CreateLockRequest { module_code: module });
            let reply = self.exchange(call).await?;
            let (answer, sent) = (reply.answer, reply.sent);
            let data: CreateLockData = self.scrubbed(answer.data())?;
            // A lock id that cannot be sent back (a line break, no id at all, a megabyte of it) could
            // never be renewed or released: it is refused now, not journalled to fail later.
            if let Some(problem) = unusable_lock_id(&data.lock_id) {
                return Err(ApiError::BadAnswer {
                    detail: format!(
                        "the server granted the lock id {}, which {problem}, so it could never be \
                         renewed or released; it was not kept, and expires on the server on its own \
                         within 10 minutes",
                        path::shown_id(&data.lock_id)
                    ),
                });
            }
            // A lock id names its module (`<uuid>@102`). One for another module than asked for would
            // protect the wrong backups: it is given back, and the create fails.
            if let Some(other) = LockInfo::module_of_id(&data.lock_id).filter(|m| *m != module) {
                let _ = self.release_lock(&data.lock_id).await;
                return Err(ApiError::BadAnswer {
                    detail: format!(
                        "asked for a lock for module {module}, the server granted {} for module {other}; \
                         it was released again",
                        data.lock_id
                    ),
                });
            }
            Ok(LockInfo {
                module,
                lock_id: data.lock_id,
                expires_at: self.expiry_from(sent),
            })
        }
        .await;
        let mut change = Change::of(ChangeKind::LockCreate).module(module);
        if let Ok(lock) = &result {
            change = change.lock(&lock.lock_id);
        }
        self.tell(change, &result);
        result
    }

    /// `PATCH /lock`. Returns the lock with its new, conservatively estimated expiry: a live lock
    /// is extended to send time + TTL; an expired one to its old expiry + TTL (the server extends
    /// an expired lock from its expiry).
    pub async fn renew_lock(&self, lock: &LockInfo) -> Result<LockInfo, ApiError> {
        let result = async {
            let call = Call::new(Method::PATCH, "/lock", Idempotency::Idempotent).lock(&lock.lock_id);
            let sent = self.exchange(call).await?.sent;
            let expires_at = if sent >= lock.expires_at {
                self.expiry_from(lock.expires_at)
            } else {
                self.expiry_from(sent)
            };
            Ok(LockInfo {
                expires_at,
                ..lock.clone()
            })
        }
        .await;
        self.tell(
            Change::of(ChangeKind::LockRenew)
                .module(lock.module)
                .lock(&lock.lock_id),
            &result,
        );
        result
    }

    /// `start + TTL`, saturating at the end of time.
    fn expiry_from(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start
            .checked_add_signed(self.ttl())
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// `DELETE /lock`. Repeated after a failure in transit; a repeat answered "lock not found"
    /// then means the earlier attempt released it.
    pub async fn release_lock(&self, lock_id: &str) -> Result<(), ApiError> {
        let result = async {
            let idempotency = Idempotency::Removal { gone: LOCK_NOT_FOUND };
            let call = Call::new(Method::DELETE, "/lock", idempotency).lock(lock_id);
            self.exchange(call).await.map(drop)
        }
        .await;
        self.tell(Change::of(ChangeKind::LockRelease).lock(lock_id), &result);
        result
    }

    /// `POST /record` under `lock_id`. Never repeated: a lost answer may hide a created record.
    pub async fn create_record(&self, lock_id: &str, record: &NewRecord) -> Result<BackupRecord, ApiError> {
        let result: Result<BackupRecord, ApiError> = async {
            let body = CreateRecordRequest {
                module_code: record.module,
                device_id: record.device_id.clone(),
                properties: record.properties.clone(),
            };
            let call = Call::new(Method::POST, "/record", Idempotency::NotIdempotent)
                .lock(lock_id)
                .json(&body);
            let answer = self.exchange(call).await?.answer;
            self.scrubbed(answer.data())
        }
        .await;
        let mut change = Change::of(ChangeKind::RecordCreate)
            .module(record.module)
            .lock(lock_id)
            .device(&record.device_id);
        if let Ok(created) = &result {
            change = change.record(&created.record_id);
        }
        self.tell(change, &result);
        result
    }

    /// `GET /record`: one page, starting at `cursor` (or the first page).
    pub async fn list_records(
        &self,
        query: &RecordQuery,
        cursor: Option<&str>,
    ) -> Result<Page<BackupRecord>, ApiError> {
        let mut call = Call::new(Method::GET, "/record", Idempotency::Idempotent)
            .param("moduleCode", query.module.code())
            .param("pageSize", query.page_size.to_string());
        if let Some(device) = &query.device_id {
            call = call.param("deviceId", device.as_str());
        }
        if let Some(cursor) = cursor {
            call = call.param("cursor", cursor);
        }
        let answer = self.exchange(call).await?.answer;
        self.scrubbed_page(answer.page("data"))
    }

    /// Every page of `query`, following `nextCursor` to the end or to `max_pages` pages. Stops
    /// after the first error.
    pub fn record_pages(
        &self,
        query: RecordQuery,
        max_pages: usize,
    ) -> impl Stream<Item = Result<Page<BackupRecord>, ApiError>> + Send + 'static {
        let client = self.clone();
        follow_cursors(
            move |cursor| {
                let client = client.clone();
                let query = query.clone();
                async move { client.list_records(&query, cursor.as_deref()).await }
            },
            max_pages,
        )
    }

    /// `GET /record/{id}`.
    pub async fn get_record(&self, record_id: &str) -> Result<BackupRecord, ApiError> {
        let path = path::record(record_id)?;
        let call = Call::new(Method::GET, &path, Idempotency::Idempotent);
        let answer = self.exchange(call).await?.answer;
        let record: BackupRecord = self.scrubbed(answer.data())?;
        if let Some(changes) = self.changes() {
            changes.0.read_record(&record);
        }
        Ok(record)
    }

    /// `PATCH /record/{id}`: marks the record completed, optionally replacing its properties.
    /// Not retried: a repeat would stamp a new end time and version on a record already done.
    pub async fn complete_record(
        &self,
        lock_id: &str,
        record_id: &str,
        properties: Option<String>,
    ) -> Result<(), ApiError> {
        let result = async {
            let path = path::record(record_id)?;
            let call = Call::new(Method::PATCH, &path, Idempotency::NotIdempotent)
                .lock(lock_id)
                .json(&CompleteRecordRequest { properties });
            self.exchange(call).await.map(drop)
        }
        .await;
        self.tell(
            Change::of(ChangeKind::RecordComplete)
                .lock(lock_id)
                .record(record_id),
            &result,
        );
        result
    }

    /// `DELETE /record/{id}`: deletes the record and its backup files. Repeated after a failure
    /// in transit or a rate limit; a repeat answered "record not found" is reported as
    /// [`Deleted::GoneOnRetry`]: gone, most likely by the earlier attempt, but not provably by
    /// this one.
    pub async fn delete_record(&self, lock_id: &str, record_id: &str) -> Result<Deleted, ApiError> {
        let result = async {
            let path = path::record(record_id)?;
            let idempotency = Idempotency::Removal {
                gone: RECORD_NOT_FOUND,
            };
            let call = Call::new(Method::DELETE, &path, idempotency).lock(lock_id);
            let reply = self.exchange(call).await?;
            Ok(if reply.gone_on_retry {
                Deleted::GoneOnRetry
            } else {
                Deleted::Confirmed
            })
        }
        .await;
        let mut change = Change::of(ChangeKind::RecordDelete)
            .lock(lock_id)
            .record(record_id);
        if let Ok(Deleted::GoneOnRetry) = result {
            change.note =
                Some("not found when repeated after an unanswered attempt: gone, not provably by this call");
        }
        self.tell(change, &result);
        result
    }

    /// `GET /record/{id}/files`: one page of a record's files.
    pub async fn list_files(
        &self,
        record_id: &str,
        page_size: u32,
        cursor: Option<&str>,
    ) -> Result<Page<BackupFile>, ApiError> {
        let path = format!("{}/files", path::record(record_id)?);
        let mut call =
            Call::new(Method::GET, &path, Idempotency::Idempotent).param("pageSize", page_size.to_string());
        if let Some(cursor) = cursor {
            call = call.param("cursor", cursor);
        }
        let answer = self.exchange(call).await?.answer;
        let page: Page<BackupFile> = self.scrubbed_page(answer.page("data"))?;
        if let Some(changes) = self.changes() {
            changes.0.read_files(record_id, &page.items);
        }
        Ok(page)
    }

    /// Every page of a record's files, following `nextCursor` to the end or to `max_pages`.
    pub fn file_pages(
        &self,
        record_id: &str,
        page_size: u32,
        max_pages: usize,
    ) -> impl Stream<Item = Result<Page<BackupFile>, ApiError>> + Send + 'static {
        let client = self.clone();
        let record_id = record_id.to_string();
        follow_cursors(
            move |cursor| {
                let client = client.clone();
                let record_id = record_id.clone();
                async move { client.list_files(&record_id, page_size, cursor.as_deref()).await }
            },
            max_pages,
        )
    }
}
