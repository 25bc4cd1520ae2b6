//! How `App` takes the answers of the record side: pages of a listing, a created, completed or
//! deleted record, a page of files, and the progress of a bulk delete.

use std::collections::BTreeSet;

use super::activity::Outcome;
use super::dialogs::Dialog;
use super::record_dialogs::RecordDialog;
use super::record_form::Stage;
use super::records::LIST_PAGE_SIZE;
use super::{App, Effect, Pane, Pending};
use crate::api::client::RecordQuery;
use crate::api::{ApiError, BackupFile, BackupRecord, ModuleCode, Page};
use crate::tui::action::ApiCall;
use crate::tui::record_action::{BulkProgress, RecordCall, RecordOutcome};

/// KooDrive's "record not found" code.
const RECORD_NOT_FOUND: i64 = 404001;

/// What a record call in flight was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordPending {
    /// Page `page` (0-based) of listing `generation`.
    Page {
        generation: u64,
        module: ModuleCode,
        page: usize,
    },
    Create {
        module: ModuleCode,
    },
    Complete {
        record_id: String,
    },
    /// Reading a record again after it changed.
    Refetch {
        record_id: String,
    },
    Delete {
        record_id: String,
    },
    Files {
        record_id: String,
        page: usize,
    },
}

impl RecordPending {
    /// The operation column of the activity log.
    pub fn describe(&self) -> String {
        match self {
            RecordPending::Page { module, page, .. } => {
                format!("list records {} p{}", module.code(), page + 1)
            }
            RecordPending::Create { module } => format!("create record {}", module.code()),
            RecordPending::Complete { record_id } => format!("complete {}", short_record_id(record_id)),
            RecordPending::Refetch { record_id } => format!("get record {}", short_record_id(record_id)),
            RecordPending::Delete { record_id } => format!("delete {}", short_record_id(record_id)),
            RecordPending::Files { record_id, page } => {
                format!("files of {} p{}", short_record_id(record_id), page + 1)
            }
        }
    }
}

/// `1842862763295184641` → `…63295184641`: the end of a record id, which is what differs
/// between records made close together, short enough for the log's operation column.
pub fn short_record_id(record_id: &str) -> String {
    const KEEP: usize = 11;
    let chars = record_id.chars().count();
    if chars <= KEEP + 1 {
        return record_id.to_string();
    }
    let tail: String = record_id.chars().skip(chars - KEEP).collect();
    format!("…{tail}")
}

impl App {
    pub(super) fn record_request(&mut self, pending: RecordPending, call: RecordCall) -> Effect {
        self.request(Pending::Records(pending), ApiCall::Records(call))
    }

    /// The query of the listing shown now.
    pub(super) fn record_query(&self, module: ModuleCode) -> RecordQuery {
        RecordQuery {
            module,
            page_size: LIST_PAGE_SIZE,
            device_id: self.records.device_filter.clone(),
        }
    }

    pub(super) fn on_record_reply(&mut self, pending: RecordPending, outcome: RecordOutcome) -> Vec<Effect> {
        match (pending, outcome) {
            (
                RecordPending::Page {
                    generation,
                    module,
                    page,
                },
                RecordOutcome::Page(result),
            ) => self.records_page(generation, module, page, result),
            (RecordPending::Create { module }, RecordOutcome::Created(result)) => {
                self.record_created(module, result)
            }
            (RecordPending::Complete { record_id }, RecordOutcome::Completed(result)) => {
                self.record_completed(record_id, result)
            }
            (RecordPending::Refetch { .. }, RecordOutcome::Fetched(Ok(record))) => {
                self.record_changed(record);
                Vec::new()
            }
            (RecordPending::Delete { record_id }, RecordOutcome::Deleted(result)) => {
                self.record_deleted(record_id, result)
            }
            (RecordPending::Files { record_id, page }, RecordOutcome::Files(result)) => {
                self.files_page(&record_id, page, result);
                Vec::new()
            }
            // A failed refetch leaves the row as it was; the log shows why.
            (RecordPending::Refetch { .. }, RecordOutcome::Fetched(Err(_))) => Vec::new(),
            (pending, outcome) => {
                let text = format!("unexpected answer {outcome:?} to {pending:?}");
                self.activity.note(self.now, Outcome::Warning, "internal", text);
                Vec::new()
            }
        }
    }

    fn records_page(
        &mut self,
        generation: u64,
        module: ModuleCode,
        page: usize,
        result: Result<Page<BackupRecord>, ApiError>,
    ) -> Vec<Effect> {
        if generation != self.records.generation {
            // A page of a listing the user has since replaced.
            return Vec::new();
        }
        let rows = self.visible_lock_rows();
        match result {
            Ok(Page {
                items, next_cursor, ..
            }) => {
                self.records.add_page(items, next_cursor.is_none(), rows);
                match next_cursor {
                    Some(cursor) if !self.records.cursors_seen.insert(cursor.clone()) => {
                        self.records.load_failed(
                            "the server returned a page cursor it had already returned; \
                             stopped loading so the list does not repeat forever"
                                .into(),
                        );
                        Vec::new()
                    }
                    Some(cursor) => {
                        let call = RecordCall::ListPage {
                            query: self.record_query(module),
                            cursor: Some(cursor),
                        };
                        let pending = RecordPending::Page {
                            generation,
                            module,
                            page: page + 1,
                        };
                        vec![self.record_request(pending, call)]
                    }
                    None => Vec::new(),
                }
            }
            Err(error) => {
                self.records.load_failed(error.to_string());
                Vec::new()
            }
        }
    }

    fn record_created(&mut self, module: ModuleCode, result: Result<BackupRecord, ApiError>) -> Vec<Effect> {
        let form_open = matches!(
            &self.dialog,
            Some(Dialog::Records(d)) if matches!(**d, RecordDialog::Form(ref f) if f.stage == Stage::Sending)
        );
        match result {
            Ok(record) => {
                if form_open {
                    self.dialog = None;
                }
                let text = format!(
                    "created record {} for device {}",
                    record.record_id, record.device_info.device_id
                );
                self.status.notice = Some(text);
                self.focus_pane(Pane::Records);
                if self.records.module == Some(module) {
                    self.records.insert_new(record);
                    Vec::new()
                } else {
                    // Show the record's module; the cursor goes to it when its page arrives.
                    let id = record.record_id.clone();
                    let effects = self.list_records(module);
                    self.records.wanted = Some(id);
                    effects
                }
            }
            Err(error) => {
                if let Some(Dialog::Records(dialog)) = &mut self.dialog
                    && let RecordDialog::Form(form) = dialog.as_mut()
                {
                    form.stage = Stage::Editing;
                    form.server_error = Some(error.to_string());
                }
                Vec::new()
            }
        }
    }

    fn record_completed(&mut self, record_id: String, result: Result<(), ApiError>) -> Vec<Effect> {
        if result.is_err() {
            return Vec::new();
        }
        self.records.mark_completed(&record_id);
        self.status.notice = Some(format!("completed record {record_id}"));
        // The end time and version are the server's: read them back.
        let call = RecordCall::Get {
            record_id: record_id.clone(),
        };
        vec![self.record_request(RecordPending::Refetch { record_id }, call)]
    }

    fn record_changed(&mut self, record: BackupRecord) {
        if let Some(Dialog::Records(dialog)) = &mut self.dialog
            && let RecordDialog::Detail(detail) = dialog.as_mut()
            && detail.record.record_id == record.record_id
        {
            detail.record = record.clone();
        }
        self.records.replace(record);
    }

    fn record_deleted(&mut self, record_id: String, result: Result<(), ApiError>) -> Vec<Effect> {
        match result {
            Ok(()) => {
                self.status.notice = Some(format!("deleted record {record_id} and its backup files"));
            }
            Err(error) if error.code() == Some(RECORD_NOT_FOUND) => {
                let text = format!("record {record_id} no longer exists; removed it from the list");
                self.activity.note(self.now, Outcome::Info, "delete", text);
            }
            Err(_) => return Vec::new(),
        }
        self.close_detail_of(&record_id);
        let gone = BTreeSet::from([record_id]);
        self.records.remove(&gone, self.visible_lock_rows());
        Vec::new()
    }

    fn close_detail_of(&mut self, record_id: &str) {
        if let Some(Dialog::Records(dialog)) = &self.dialog
            && let RecordDialog::Detail(detail) = dialog.as_ref()
            && detail.record.record_id == record_id
        {
            self.dialog = None;
        }
    }

    fn files_page(&mut self, record_id: &str, page: usize, result: Result<Page<BackupFile>, ApiError>) {
        let Some(Dialog::Records(dialog)) = &mut self.dialog else {
            return;
        };
        let RecordDialog::Detail(detail) = dialog.as_mut() else {
            return;
        };
        let pager = &mut detail.files;
        if detail.record.record_id != record_id || pager.page != page {
            return;
        }
        pager.loading = false;
        match result {
            Ok(Page {
                items, next_cursor, ..
            }) => {
                pager.files = items;
                pager.next_cursor = next_cursor;
                pager.error = None;
            }
            Err(error) => pager.error = Some(error.to_string()),
        }
    }

    /// One result of a running bulk delete, or its end.
    pub(super) fn on_bulk_progress(&mut self, progress: BulkProgress) -> Vec<Effect> {
        let now = self.now;
        let run = match &mut self.dialog {
            Some(Dialog::Records(dialog)) => match dialog.as_mut() {
                RecordDialog::Bulk(run) => Some(run),
                _ => None,
            },
            _ => None,
        };
        match progress {
            BulkProgress::Deleted {
                job,
                record_id,
                result,
            } => {
                if let Err(error) = &result {
                    let text = format!("bulk delete of {record_id}: {error}");
                    self.activity
                        .note(now, Outcome::Failure { code: error.code() }, "delete", text);
                }
                match run {
                    Some(run) if run.job == job => run.record_result(record_id, result),
                    // Not shown any more: still keep the list true.
                    _ if result.is_ok() => {
                        let rows = self.visible_lock_rows();
                        self.records.remove(&BTreeSet::from([record_id]), rows);
                    }
                    _ => {}
                }
            }
            BulkProgress::Finished { job, cancelled } => {
                let Some(run) = run.filter(|run| run.job == job) else {
                    return Vec::new();
                };
                run.finished = true;
                run.cancelled = cancelled;
                let deleted = run.deleted.clone();
                let headline = format!("bulk delete in {}: {}", run.module.code(), run.headline());
                let outcome = if run.failures.is_empty() {
                    Outcome::Info
                } else {
                    Outcome::Warning
                };
                self.activity.note(now, outcome, "bulk delete", headline.clone());
                self.status.notice = Some(headline);
                let rows = self.visible_lock_rows();
                self.records.remove(&deleted, rows);
            }
        }
        Vec::new()
    }
}
