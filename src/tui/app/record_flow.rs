//! What the record side's keys do: browsing, the form, details, confirmations, clean-up and bulk
//! deletes. Operations that need a lock use the live lock held for the record's module, or
//! create one first and carry on when it arrives.

use crossterm::event::{Event, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::activity::Outcome;
use super::bulk::BulkRun;
use super::cleanup::CleanupView;
use super::dialogs::Dialog;
use super::locks::{Busy, renew_ahead};
use super::record_dialogs::{BulkConfirm, RecordDetail, RecordDialog, TextField, TextPurpose};
use super::record_form::{Field, RecordForm, Stage, properties_for_editor};
use super::record_replies::RecordPending;
use super::records::{LoadState, LockedOp};
use super::text_input::insert_at_cursor;
use super::{App, Effect, Pane};
use crate::api::{BackupRecord, LockInfo, ModuleCode, RecordStatus};
use crate::properties::validate_properties;
use crate::tui::keymap::{Command, RecordCommand};
use crate::tui::record_action::{BulkDeleteJob, DEFAULT_BULK_CONCURRENCY, JobId, RecordCall};

impl App {
    /// The pane shown above the activity log: the records pane once it was focused last.
    pub fn top_pane(&self) -> Pane {
        match self.focus {
            Pane::Locks | Pane::Records => self.focus,
            Pane::Activity if self.records.on_top => Pane::Records,
            Pane::Activity => Pane::Locks,
        }
    }

    pub(super) fn focus_pane(&mut self, pane: Pane) {
        self.focus = pane;
        match pane {
            Pane::Locks => self.records.on_top = false,
            Pane::Records => self.records.on_top = true,
            Pane::Activity => {}
        }
    }

    /// The live lock held for `module`, if any.
    pub fn live_lock_for(&self, module: ModuleCode) -> Option<LockInfo> {
        self.locks
            .entries
            .iter()
            .find(|e| e.lock.module == module && e.is_live(self.now) && e.busy != Some(Busy::Releasing))
            .map(|e| e.lock.clone())
    }

    pub(super) fn run_records_command(&mut self, command: RecordCommand) -> Vec<Effect> {
        let rows = self.visible_lock_rows();
        match command {
            RecordCommand::ShowModule(index) => {
                if let Some(&module) = ModuleCode::ALL.get(index) {
                    return self.list_records(module);
                }
            }
            RecordCommand::Refresh => match self.records.module {
                Some(module) => return self.list_records(module),
                None => self.ask_for_module(),
            },
            RecordCommand::NewRecord => {
                let module = self.records.module.unwrap_or(ModuleCode::Folder);
                self.open(RecordDialog::Form(RecordForm::new(module)));
            }
            RecordCommand::Open => {
                if let Some(record) = self.selected_record() {
                    return self.open_detail(record);
                }
            }
            RecordCommand::Complete => {
                if let Some(record) = self.selected_record() {
                    self.ask_to_complete(&record);
                }
            }
            RecordCommand::Delete => self.ask_to_delete_marked_or_selected(),
            RecordCommand::ToggleMark => {
                self.records.toggle_mark();
                self.records.move_cursor(1, rows);
            }
            RecordCommand::MarkAll => self.records.mark_all_visible(),
            RecordCommand::LocalFilter => {
                let field = TextField::new(TextPurpose::LocalFilter, &self.records.filter);
                self.open(RecordDialog::Text(field));
            }
            RecordCommand::DeviceFilter => {
                let current = self.records.device_filter.clone().unwrap_or_default();
                self.open(RecordDialog::Text(TextField::new(
                    TextPurpose::DeviceFilter,
                    &current,
                )));
            }
            RecordCommand::Cleanup => self.open_cleanup(),
            RecordCommand::NextField
            | RecordCommand::PreviousField
            | RecordCommand::ChangeModule(_)
            | RecordCommand::EditProperties
            | RecordCommand::NextPage
            | RecordCommand::PreviousPage
            | RecordCommand::ChangeAge(_)
            | RecordCommand::ToggleMarkedForDeletion => {}
        }
        Vec::new()
    }

    fn open(&mut self, dialog: RecordDialog) {
        self.dialog = Some(Dialog::Records(Box::new(dialog)));
    }

    fn ask_for_module(&mut self) {
        self.status.notice = Some("choose a module first: 1 folder, 2 album, 3 address book".into());
    }

    fn selected_record(&mut self) -> Option<BackupRecord> {
        let record = self.records.selected().map(|row| row.record.clone());
        if record.is_none() {
            self.status.notice = Some("no record selected".into());
        }
        record
    }

    /// Starts listing `module` from its first page (further pages follow in the background).
    pub(super) fn list_records(&mut self, module: ModuleCode) -> Vec<Effect> {
        let generation = self.records.start_listing(module);
        let call = RecordCall::ListPage {
            query: self.record_query(module),
            cursor: None,
        };
        let pending = RecordPending::Page {
            generation,
            module,
            page: 0,
        };
        vec![self.record_request(pending, call)]
    }

    fn open_detail(&mut self, record: BackupRecord) -> Vec<Effect> {
        let mut detail = RecordDetail::new(record);
        let effect = self.files_request(&mut detail, 0);
        self.open(RecordDialog::Detail(detail));
        effect.into_iter().collect()
    }

    /// Asks for page `page` of the detail's files, if there is such a page.
    fn files_request(&mut self, detail: &mut RecordDetail, page: usize) -> Option<Effect> {
        let cursor = detail.files.cursor_for(page)?;
        detail.files.page = page;
        detail.files.loading = true;
        let record_id = detail.record.record_id.clone();
        let call = RecordCall::Files {
            record_id: record_id.clone(),
            cursor,
        };
        Some(self.record_request(RecordPending::Files { record_id, page }, call))
    }

    fn ask_to_complete(&mut self, record: &BackupRecord) {
        if record.status != RecordStatus::New {
            self.status.notice = Some(format!(
                "record {} is {}: only new records can be completed",
                record.record_id, record.status
            ));
            return;
        }
        let Some(module) = self.changeable_module(record) else {
            return;
        };
        let purpose = TextPurpose::CompleteProperties {
            record_id: record.record_id.clone(),
            module,
        };
        self.open(RecordDialog::Text(TextField::new(purpose, "")));
    }

    fn ask_to_delete_marked_or_selected(&mut self) {
        let marked: Vec<BackupRecord> = self
            .records
            .rows
            .iter()
            .filter(|row| self.records.marked.contains(row.id()))
            .map(|row| row.record.clone())
            .collect();
        if let Some(odd) = marked.iter().find(|r| r.module_code.known().is_none()) {
            self.changeable_module(odd);
            return;
        }
        match marked.len() {
            0 => {
                if let Some(record) = self.selected_record()
                    && self.changeable_module(&record).is_some()
                {
                    self.open(RecordDialog::ConfirmDelete(record));
                }
            }
            1 => self.open(RecordDialog::ConfirmDelete(marked[0].clone())),
            _ => {
                let Some(module) = marked[0].module_code.known() else {
                    return;
                };
                let ids = marked.into_iter().map(|r| r.record_id).collect();
                self.open(RecordDialog::ConfirmBulk(BulkConfirm::new(module, ids)));
            }
        }
    }

    /// The module a change of `record` takes a lock for; `None` (and a notice) for a record of a
    /// module koobackup does not know, for which no lock can be taken.
    fn changeable_module(&mut self, record: &BackupRecord) -> Option<ModuleCode> {
        let module = record.module_code.known();
        if module.is_none() {
            self.status.notice = Some(format!(
                "record {} is in module {}, which koobackup does not know: it cannot be changed",
                record.record_id,
                record.module_code.code()
            ));
        }
        module
    }

    fn open_cleanup(&mut self) {
        let Some(module) = self.records.module else {
            self.ask_for_module();
            return;
        };
        let partial = !matches!(self.records.load, LoadState::Loaded { .. });
        let view = CleanupView::new(module, &self.records.records(), partial, self.now);
        self.open(RecordDialog::Cleanup(view));
    }

    pub(super) fn run_record_dialog_command(
        &mut self,
        dialog: RecordDialog,
        command: Command,
    ) -> Vec<Effect> {
        match dialog {
            RecordDialog::Form(form) => self.form_command(form, command),
            RecordDialog::Detail(detail) => self.detail_command(detail, command),
            RecordDialog::ConfirmDelete(record) => match command {
                Command::Confirm => {
                    let Some(module) = self.changeable_module(&record) else {
                        return Vec::new();
                    };
                    let op = LockedOp::Delete {
                        record_id: record.record_id.clone(),
                    };
                    self.with_lock(module, op)
                }
                Command::Cancel => {
                    self.status.notice = Some(format!("nothing deleted: record {} kept", record.record_id));
                    Vec::new()
                }
                _ => {
                    self.open(RecordDialog::ConfirmDelete(record));
                    Vec::new()
                }
            },
            RecordDialog::ConfirmBulk(confirm) => self.bulk_confirm_command(confirm, command),
            RecordDialog::Text(field) => self.text_command(field, command),
            RecordDialog::Cleanup(view) => self.cleanup_command(view, command),
            RecordDialog::Bulk(run) => self.bulk_command(run, command),
        }
    }

    fn form_command(&mut self, mut form: RecordForm, command: Command) -> Vec<Effect> {
        match command {
            Command::Cancel => {
                if form.stage == Stage::WaitingForLock
                    && matches!(self.records.waiting_for_lock, Some((_, LockedOp::Create(_))))
                {
                    self.records.waiting_for_lock = None;
                }
                return Vec::new();
            }
            // Nothing changes while the request is on its way.
            _ if form.is_busy() => {}
            Command::Records(RecordCommand::NextField) => form.focus_step(1),
            Command::Records(RecordCommand::PreviousField) => form.focus_step(-1),
            Command::Records(RecordCommand::ChangeModule(step)) => form.change_module(step),
            Command::Records(RecordCommand::EditProperties) => {
                form.focus = Field::Properties;
                let text = form.properties_for_editor();
                self.open(RecordDialog::Form(form));
                return vec![Effect::EditInEditor(text)];
            }
            Command::PickOption(index) => {
                if let Some(&module) = ModuleCode::ALL.get(index) {
                    form.module = module;
                }
            }
            Command::ClearInput => {
                if let Some(input) = form.focused_input() {
                    input.reset();
                }
                form.edited();
            }
            Command::Confirm => {
                if let Some(record) = form.validate() {
                    let module = record.module;
                    let has_lock = self.live_lock_for(module).is_some();
                    if has_lock || self.records.waiting_for_lock.is_none() {
                        form.stage = if has_lock {
                            Stage::Sending
                        } else {
                            Stage::WaitingForLock
                        };
                        self.open(RecordDialog::Form(form));
                        return self.with_lock(module, LockedOp::Create(record));
                    }
                    form.server_error =
                        Some("another operation is waiting for a lock; try again in a moment".into());
                }
            }
            _ => {}
        }
        self.open(RecordDialog::Form(form));
        Vec::new()
    }

    fn detail_command(&mut self, mut detail: RecordDetail, command: Command) -> Vec<Effect> {
        let mut effects = Vec::new();
        match command {
            Command::Cancel => return effects,
            Command::Up => detail.scroll = detail.scroll.saturating_sub(1),
            Command::Down => detail.scroll = detail.scroll.saturating_add(1),
            Command::Records(RecordCommand::NextPage) if !detail.files.loading => {
                let page = detail.files.page + 1;
                effects.extend(self.files_request(&mut detail, page));
            }
            Command::Records(RecordCommand::PreviousPage)
                if !detail.files.loading && detail.files.page > 0 =>
            {
                let page = detail.files.page - 1;
                effects.extend(self.files_request(&mut detail, page));
            }
            Command::Records(RecordCommand::Complete) => {
                self.ask_to_complete(&detail.record);
                if self.dialog.is_some() {
                    return effects;
                }
            }
            Command::Records(RecordCommand::Delete) => {
                self.open(RecordDialog::ConfirmDelete(detail.record));
                return effects;
            }
            _ => {}
        }
        self.open(RecordDialog::Detail(detail));
        effects
    }

    fn bulk_confirm_command(&mut self, mut confirm: BulkConfirm, command: Command) -> Vec<Effect> {
        match command {
            Command::Cancel => {
                self.status.notice = Some(format!(
                    "nothing deleted: {} records kept",
                    confirm.record_ids.len()
                ));
                return Vec::new();
            }
            Command::ClearInput => {
                confirm.typed.reset();
                confirm.error = None;
            }
            Command::Confirm if confirm.is_confirmed() => {
                let op = LockedOp::BulkDelete {
                    record_ids: confirm.record_ids,
                };
                return self.with_lock(confirm.module, op);
            }
            Command::Confirm => {
                let n = confirm.record_ids.len();
                confirm.error = Some(format!("type {n} (the number of records) to delete them"));
            }
            _ => {}
        }
        self.open(RecordDialog::ConfirmBulk(confirm));
        Vec::new()
    }

    fn text_command(&mut self, mut field: TextField, command: Command) -> Vec<Effect> {
        let rows = self.visible_lock_rows();
        match (&field.purpose, command) {
            (TextPurpose::LocalFilter, Command::Confirm) => return Vec::new(),
            (TextPurpose::LocalFilter, Command::Cancel) => {
                self.records.set_filter("", rows);
                return Vec::new();
            }
            (_, Command::Cancel) => return Vec::new(),
            (_, Command::ClearInput) => {
                field.input.reset();
                field.error = None;
                if field.purpose == TextPurpose::LocalFilter {
                    self.records.set_filter("", rows);
                }
            }
            (TextPurpose::DeviceFilter, Command::Confirm) => {
                let device = field.input.value().trim();
                self.records.device_filter = (!device.is_empty()).then(|| device.to_string());
                return match self.records.module {
                    Some(module) => self.list_records(module),
                    None => {
                        self.ask_for_module();
                        Vec::new()
                    }
                };
            }
            (TextPurpose::CompleteProperties { .. }, Command::Records(RecordCommand::EditProperties)) => {
                let text = properties_for_editor(field.input.value());
                self.open(RecordDialog::Text(field));
                return vec![Effect::EditInEditor(text)];
            }
            (TextPurpose::CompleteProperties { record_id, module }, Command::Confirm) => {
                match validate_properties(field.input.value()) {
                    Ok(properties) => {
                        let (record_id, module) = (record_id.clone(), *module);
                        let op = LockedOp::Complete {
                            record_id,
                            properties,
                        };
                        return self.with_lock(module, op);
                    }
                    Err(error) => field.error = Some(error.to_string()),
                }
            }
            _ => {}
        }
        self.open(RecordDialog::Text(field));
        Vec::new()
    }

    fn cleanup_command(&mut self, mut view: CleanupView, command: Command) -> Vec<Effect> {
        let records = || self.records.records();
        match command {
            Command::Cancel => return Vec::new(),
            Command::Up => view.move_cursor(-1),
            Command::Down => view.move_cursor(1),
            Command::Records(RecordCommand::ToggleMark) => {
                view.toggle();
                view.move_cursor(1);
            }
            Command::Records(RecordCommand::MarkAll) => view.toggle_all(),
            Command::Records(RecordCommand::ChangeAge(step)) => view.change_age(step, &records(), self.now),
            Command::Records(RecordCommand::ToggleMarkedForDeletion) => {
                view.toggle_marked_for_deletion(&records(), self.now)
            }
            Command::Confirm => {
                let ticked = view.ticked();
                match ticked.len() {
                    0 => self.status.notice = Some("nothing ticked: nothing to delete".into()),
                    1 => {
                        let record = view.candidates.iter().find(|c| c.record.record_id == ticked[0]);
                        if let Some(candidate) = record {
                            self.open(RecordDialog::ConfirmDelete(candidate.record.clone()));
                            return Vec::new();
                        }
                    }
                    _ => {
                        self.open(RecordDialog::ConfirmBulk(BulkConfirm::new(view.module, ticked)));
                        return Vec::new();
                    }
                }
            }
            _ => {}
        }
        self.open(RecordDialog::Cleanup(view));
        Vec::new()
    }

    fn bulk_command(&mut self, mut run: BulkRun, command: Command) -> Vec<Effect> {
        let mut effects = Vec::new();
        match command {
            Command::Cancel if run.finished => return effects,
            Command::Cancel if !run.stopping => {
                run.stopping = true;
                effects.push(Effect::CancelBulkDelete(run.cancel.clone()));
            }
            Command::Up => run.scroll(-1),
            Command::Down => run.scroll(1),
            _ => {}
        }
        self.open(RecordDialog::Bulk(run));
        effects
    }

    /// Runs `op` under the live lock of `module`, or creates that lock first.
    fn with_lock(&mut self, module: ModuleCode, op: LockedOp) -> Vec<Effect> {
        if let Some(lock) = self.live_lock_for(module) {
            return self.run_locked(op, lock);
        }
        if let Some((waiting_module, _)) = &self.records.waiting_for_lock {
            // One operation waits at a time, so that none is dropped unseen.
            self.status.notice = Some(format!(
                "not sent: still waiting for a lock for {waiting_module}; try again in a moment"
            ));
            return Vec::new();
        }
        self.records.waiting_for_lock = Some((module, op));
        if self.locks.creating.contains(&module) {
            return Vec::new();
        }
        let text = format!("no live lock for {module}: creating one first");
        self.activity
            .note(self.now, Outcome::Info, "records", text.clone());
        self.status.notice = Some(text);
        let index = ModuleCode::ALL.iter().position(|m| *m == module).unwrap_or(0);
        self.create(index)
    }

    fn run_locked(&mut self, op: LockedOp, lock: LockInfo) -> Vec<Effect> {
        let lock_id = lock.lock_id.clone();
        match op {
            LockedOp::Create(record) => {
                self.set_form_stage(Stage::Sending);
                let pending = RecordPending::Create {
                    module: record.module,
                };
                vec![self.record_request(pending, RecordCall::Create { lock_id, record })]
            }
            LockedOp::Complete {
                record_id,
                properties,
            } => {
                let call = RecordCall::Complete {
                    lock_id,
                    record_id: record_id.clone(),
                    properties,
                };
                vec![self.record_request(RecordPending::Complete { record_id }, call)]
            }
            LockedOp::Delete { record_id } => {
                let call = RecordCall::Delete {
                    lock_id,
                    record_id: record_id.clone(),
                };
                vec![self.record_request(RecordPending::Delete { record_id }, call)]
            }
            LockedOp::BulkDelete { record_ids } => {
                let job = JobId(self.next_request);
                self.next_request += 1;
                let run = BulkRun::new(job, lock.module, lock_id.clone(), record_ids.len());
                let effect = Effect::StartBulkDelete(BulkDeleteJob {
                    job,
                    lock_id,
                    record_ids,
                    concurrency: DEFAULT_BULK_CONCURRENCY,
                    cancel: run.cancel.clone(),
                });
                self.open(RecordDialog::Bulk(run));
                vec![effect]
            }
        }
    }

    fn set_form_stage(&mut self, stage: Stage) {
        if let Some(Dialog::Records(dialog)) = &mut self.dialog
            && let RecordDialog::Form(form) = dialog.as_mut()
        {
            form.stage = stage;
        }
    }

    /// Carries on with the operation that waited for a lock, once the lock exists (or gives up
    /// when its creation failed).
    pub(super) fn resume_waiting_for_lock(&mut self) -> Vec<Effect> {
        let Some((module, _)) = &self.records.waiting_for_lock else {
            return Vec::new();
        };
        let module = *module;
        if let Some(lock) = self.live_lock_for(module) {
            let Some((_, op)) = self.records.waiting_for_lock.take() else {
                return Vec::new();
            };
            return self.run_locked(op, lock);
        }
        if self.locks.creating.contains(&module) {
            return Vec::new();
        }
        self.records.waiting_for_lock = None;
        let cause = self
            .status
            .last_error
            .as_ref()
            .map_or(String::new(), |(_, e)| format!(": {e}"));
        let text = format!("could not get a lock for {module}{cause}");
        let mut shown_in_form = false;
        if let Some(Dialog::Records(dialog)) = &mut self.dialog
            && let RecordDialog::Form(form) = dialog.as_mut()
        {
            form.stage = Stage::Editing;
            form.server_error = Some(text.clone());
            shown_in_form = true;
        }
        if !shown_in_form {
            self.status.notice = Some(format!("nothing sent: {text}"));
        }
        Vec::new()
    }

    /// The user's editor closed: its text goes into the properties of the dialog that sent
    /// them (the new record form, or the one completing a record), or the dialog says why
    /// nothing changed.
    pub(super) fn on_editor_done(&mut self, result: Result<String, String>) -> Vec<Effect> {
        // Keys are not read while the editor runs, so the dialog is still open.
        let Some(Dialog::Records(dialog)) = &mut self.dialog else {
            return Vec::new();
        };
        match result {
            Ok(text) => dialog.take_edited_properties(&text),
            Err(message) => {
                let text = format!("{message}; the properties are unchanged");
                if dialog.show_editor_error(text.clone()) {
                    self.activity.note(self.now, Outcome::Warning, "editor", text);
                }
            }
        }
        Vec::new()
    }

    /// While a bulk delete runs, renews its lock before it runs out (even without auto-renew).
    pub(super) fn keep_bulk_lock_alive(&mut self) -> Vec<Effect> {
        let Some(Dialog::Records(dialog)) = &self.dialog else {
            return Vec::new();
        };
        let RecordDialog::Bulk(run) = dialog.as_ref() else {
            return Vec::new();
        };
        if run.finished {
            return Vec::new();
        }
        let (now, ahead) = (self.now, renew_ahead(self.session.lock_ttl));
        let due = self
            .locks
            .entries
            .iter()
            .find(|e| e.id() == run.lock_id && e.busy.is_none() && !e.gone && e.lock.time_left(now) <= ahead)
            .map(|e| e.lock.clone());
        match due {
            Some(lock) => vec![self.renew(lock, true)],
            None => Vec::new(),
        }
    }

    /// A key no binding claimed: text for the open record dialog's field, if it has one.
    pub(super) fn records_typed(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(Dialog::Records(dialog)) = &mut self.dialog else {
            return Vec::new();
        };
        let Some(input) = dialog.input_mut() else {
            return Vec::new();
        };
        if input.handle_event(&Event::Key(key)).is_none() {
            return Vec::new();
        }
        self.after_text_change();
        Vec::new()
    }

    /// Pasted text for the open record dialog's field. Fields are one line: line breaks become
    /// spaces, which JSON treats like any other blank.
    pub(super) fn records_pasted(&mut self, text: &str) {
        let Some(Dialog::Records(dialog)) = &mut self.dialog else {
            return;
        };
        let Some(input) = dialog.input_mut() else {
            return;
        };
        let pasted: String = text
            .chars()
            .map(|c| if matches!(c, '\n' | '\r' | '\t') { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        insert_at_cursor(input, &pasted);
        self.after_text_change();
    }

    /// Clears stale messages of the edited field, and applies the local filter as it is typed.
    fn after_text_change(&mut self) {
        let rows = self.visible_lock_rows();
        let Some(Dialog::Records(dialog)) = &mut self.dialog else {
            return;
        };
        match dialog.as_mut() {
            RecordDialog::Form(form) => form.edited(),
            RecordDialog::ConfirmBulk(confirm) => confirm.error = None,
            RecordDialog::Text(field) => {
                field.error = None;
                if field.purpose == TextPurpose::LocalFilter {
                    let filter = field.input.value().to_string();
                    self.records.set_filter(&filter, rows);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "record_flow_tests.rs"]
mod tests;
