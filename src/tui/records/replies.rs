//! How the record side takes its answers: pages of a listing, a created, completed or deleted
//! record, a page of files, and the progress of a bulk delete.

use std::collections::BTreeSet;

use super::dialogs::Dialog;
use super::form::Stage;
use super::update::Out;
use super::{MAX_LISTED_BYTES, MAX_LISTED_RECORDS, Pending, State};
use crate::api::{ApiError, BackupFile, BackupRecord, DEFAULT_MAX_PAGES, ModuleCode, Page};
use crate::bulk::Outcome;
use crate::tui::action::{ApiCall, ApiOutcome};
use crate::tui::feature::{Ctx, LogKind, Pane};

impl State {
    /// The answer to a call of this feature.
    pub fn on_reply(&mut self, pending: Pending, outcome: ApiOutcome, ctx: &Ctx) -> Vec<Out> {
        match (pending, outcome) {
            (
                Pending::Page {
                    generation,
                    module,
                    page,
                },
                ApiOutcome::RecordsPage(result),
            ) => self.records_page(generation, module, page, result, ctx),
            (Pending::FormDevices, ApiOutcome::DevicesListed(result)) => {
                if let Some(Dialog::Form(form)) = &mut self.dialog {
                    form.devices_listed(result.map(|page| page.items).map_err(|e| e.to_string()));
                }
                Vec::new()
            }
            (Pending::Create { module, release }, ApiOutcome::RecordCreated(result)) => {
                let mut outs = self.record_created(module, result);
                outs.extend(release.map(|id| Out::ReleaseLock(*id)));
                outs
            }
            (Pending::Complete { record_id, release }, ApiOutcome::RecordCompleted(result)) => {
                let mut outs = self.record_completed(record_id, result);
                outs.extend(release.map(|id| Out::ReleaseLock(*id)));
                outs
            }
            (Pending::Refetch { .. }, ApiOutcome::RecordFetched(Ok(record))) => {
                self.record_changed(record);
                Vec::new()
            }
            (Pending::Delete { record_id, release }, ApiOutcome::RecordDeleted(outcome)) => {
                let mut outs = self.record_deleted(record_id, outcome, ctx);
                outs.extend(release.map(|id| Out::ReleaseLock(*id)));
                outs
            }
            (Pending::Files { record_id, page }, ApiOutcome::FilesPage(result)) => {
                self.files_page(&record_id, page, result);
                Vec::new()
            }
            // A failed refetch leaves the row as it was; the log shows why.
            (Pending::Refetch { .. }, ApiOutcome::RecordFetched(Err(_))) => Vec::new(),
            (pending, outcome) => {
                let text = format!("unexpected answer {outcome:?} to {pending:?}");
                vec![Out::log(LogKind::Warning, "internal", text)]
            }
        }
    }

    fn records_page(
        &mut self,
        generation: u64,
        module: ModuleCode,
        page: usize,
        result: Result<Page<BackupRecord>, ApiError>,
        ctx: &Ctx,
    ) -> Vec<Out> {
        if generation != self.generation {
            // A page of a listing the user has since replaced.
            return Vec::new();
        }
        let (rows, now) = (ctx.visible_rows, ctx.now);
        let Page {
            items,
            next_cursor,
            unreadable,
        } = match result {
            Ok(page) => page,
            Err(error) => {
                self.load_failed(error.to_string(), now);
                return Vec::new();
            }
        };
        let mut outs = Vec::new();
        if let Some(first) = unreadable.first() {
            self.add_unreadable(unreadable.len());
            let text = format!(
                "{} record(s) of page {} could not be read and are not shown ({first})",
                unreadable.len(),
                page + 1
            );
            outs.push(Out::log(LogKind::Warning, "records", text));
        }
        self.add_page(items, next_cursor.is_none(), rows, now);
        let Some(cursor) = next_cursor else {
            return outs;
        };
        let stop = if !self.first_sight_of(&cursor) {
            Some("the server returned a page cursor it had already returned; stopped loading so the list does not repeat forever".to_string())
        } else if page + 1 >= DEFAULT_MAX_PAGES || self.listed() >= MAX_LISTED_RECORDS {
            Some(format!(
                "stopped after {} records in {} pages (the listing limit): the server keeps sending a next cursor",
                self.listed(),
                page + 1
            ))
        } else if self.listed_bytes() >= MAX_LISTED_BYTES {
            Some(format!(
                "stopped after {} records in {} pages: they take more than {} MiB (the listing limit); \
                 filter by device to see the rest",
                self.listed(),
                page + 1,
                MAX_LISTED_BYTES >> 20
            ))
        } else {
            None
        };
        match stop {
            Some(reason) => self.load_failed(reason, now),
            None => outs.push(self.page_request(generation, module, page + 1, Some(cursor))),
        }
        outs
    }

    fn record_created(&mut self, module: ModuleCode, result: Result<BackupRecord, ApiError>) -> Vec<Out> {
        let form_sending = matches!(&self.dialog, Some(Dialog::Form(form)) if form.stage == Stage::Sending);
        match result {
            Ok(record) => {
                if form_sending {
                    self.dialog = None;
                }
                let text = format!(
                    "created record {} for device {}",
                    record.record_id, record.device_info.device_id
                );
                let mut outs = vec![Out::notice(text), Out::Focus(Pane::Records)];
                if self.module == Some(module) {
                    self.insert_new(record);
                } else {
                    // Show the record's module; the cursor goes to it when its page arrives.
                    let id = record.record_id.clone();
                    outs.extend(self.list(module));
                    self.want(id);
                }
                outs
            }
            Err(error) => {
                if let Some(Dialog::Form(form)) = &mut self.dialog {
                    form.stage = Stage::Editing;
                    form.server_error = Some(error.to_string());
                }
                Vec::new()
            }
        }
    }

    fn record_completed(&mut self, record_id: String, result: Result<(), ApiError>) -> Vec<Out> {
        if result.is_err() {
            return Vec::new();
        }
        self.mark_completed(&record_id);
        // The end time and version are the server's: read them back.
        let call = ApiCall::GetRecord {
            record_id: record_id.clone(),
        };
        vec![
            Out::notice(format!("completed record {record_id}")),
            Out::Call(Pending::Refetch { record_id }, call),
        ]
    }

    fn record_changed(&mut self, record: BackupRecord) {
        if let Some(Dialog::Detail(detail)) = &mut self.dialog
            && detail.record.record_id == record.record_id
        {
            detail.record = record.clone();
        }
        self.replace(record);
    }

    fn record_deleted(&mut self, record_id: String, outcome: Outcome, ctx: &Ctx) -> Vec<Out> {
        let outs = match &outcome {
            Outcome::Deleted { .. } => vec![Out::notice(format!(
                "deleted record {record_id} and its backup files"
            ))],
            Outcome::GoneUnproven { .. } | Outcome::AlreadyGone => {
                let text = format!(
                    "record {record_id}: {}; removed it from the list",
                    outcome.describe()
                );
                vec![Out::log(LogKind::Info, "delete", text.clone()), Out::notice(text)]
            }
            Outcome::Changed { now, .. } => {
                let text = format!("record {record_id} not deleted: {}", outcome.describe());
                self.record_changed((**now).clone());
                return vec![
                    Out::log(LogKind::Warning, "delete", text.clone()),
                    Out::notice(text),
                ];
            }
            Outcome::Failed(_) => return Vec::new(),
        };
        self.close_detail_of(&record_id);
        self.remove(&BTreeSet::from([record_id]), ctx.visible_rows);
        outs
    }

    fn close_detail_of(&mut self, record_id: &str) {
        if let Some(Dialog::Detail(detail)) = &self.dialog
            && detail.record.record_id == record_id
        {
            self.dialog = None;
        }
    }

    fn files_page(&mut self, record_id: &str, page: usize, result: Result<Page<BackupFile>, ApiError>) {
        let Some(Dialog::Detail(detail)) = &mut self.dialog else {
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
                if page == 0 && next_cursor.is_none() {
                    // The whole list: what deleting the record would free is known now.
                    let size = items.iter().fold(0u64, |sum, file| sum.saturating_add(file.size));
                    self.known_sizes.insert(record_id.to_string(), size);
                }
                let Some(Dialog::Detail(detail)) = &mut self.dialog else {
                    return;
                };
                let pager = &mut detail.files;
                pager.files = items;
                pager.next_cursor = next_cursor;
                pager.error = None;
            }
            Err(error) => pager.error = Some(error.to_string()),
        }
    }
}
