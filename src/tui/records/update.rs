//! What the record side's keys do: browsing, the form, details, confirmations (the clean-up's and
//! the bulk delete's in their own folders: [`super::cleanup`], [`super::bulk`]). Operations that
//! need a lock use this app's own lock for the record's module, or ask for one taken for that
//! operation alone ([`Out::NeedLock`]), carry on when it arrives, and
//! release it when they end. A lock another process holds is never used: the user is told whose
//! it is; an orphaned one (its process gone) may be released first, after asking.

use crossterm::event::{Event, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::bulk::BulkRun;
use super::dialogs::{BulkConfirm, Dialog, OrphanRelease, RecordDetail, TextField, TextPurpose};
use super::dialogs_view::max_detail_scroll;
use super::form::{Field, RecordForm, Stage, properties_for_editor};
use super::{LIST_PAGE_SIZE, LockedOp, Pending, State};
use crate::api::client::RecordQuery;
use crate::api::{BackupRecord, LockInfo, ModuleCode, RecordStatus};
use crate::bulk::{Chosen, Target};
use crate::pending::Why;
use crate::tui::action::{ApiCall, BulkDeleteJob, Effect, JobId};
use crate::tui::effects::DEFAULT_BULK_CONCURRENCY;
use crate::tui::feature::{Ctx, LogKind};
use crate::tui::keymap::{Command, RecordCommand};
use crate::tui::text_input::insert_at_cursor;

/// What the records feature asks of the app.
pub type Out = crate::tui::feature::Out<Pending>;

/// Lines a page key scrolls the record details by.
const DETAIL_PAGE: usize = 10;

impl State {
    /// A key command while the records pane has the focus and no dialog is open.
    pub fn command(&mut self, command: RecordCommand, ctx: &Ctx) -> Vec<Out> {
        let rows = ctx.visible_rows;
        match command {
            RecordCommand::ShowModule(index) => {
                if let Some(&module) = ModuleCode::ALL.get(index) {
                    return self.list(module);
                }
            }
            RecordCommand::Refresh => return self.refresh(),
            RecordCommand::NewRecord => {
                let module = self.module.unwrap_or(ModuleCode::Folder);
                self.dialog = Some(Dialog::Form(RecordForm::new(module)));
                // The bound devices, offered in the device field once they arrive.
                return vec![Out::Call(Pending::FormDevices, ApiCall::ListDevices)];
            }
            RecordCommand::Open => {
                return match self.selected_record() {
                    Ok(record) => self.open_detail(record),
                    Err(notice) => vec![notice],
                };
            }
            RecordCommand::Complete => {
                return match self.selected_record() {
                    Ok(record) => self.ask_to_complete(&record),
                    Err(notice) => vec![notice],
                };
            }
            RecordCommand::Delete => {
                if let Some(notice) = self.already_queued(ctx) {
                    return vec![notice];
                }
                return self.ask_to_delete_marked_or_selected();
            }
            RecordCommand::CancelQueued => return self.cancel_queued(),
            RecordCommand::ToggleMark => {
                self.toggle_mark();
                self.move_cursor(1, rows);
            }
            RecordCommand::MarkAll => self.mark_all_visible(),
            RecordCommand::LocalFilter => {
                self.dialog = Some(Dialog::Text(TextField::new(
                    TextPurpose::LocalFilter,
                    &self.filter,
                )));
            }
            RecordCommand::DeviceFilter => {
                self.dialog = Some(Dialog::Text(TextField::new(TextPurpose::DeviceFilter, "")));
            }
            RecordCommand::ClearFilter => return self.clear_filter(rows),
            RecordCommand::Cleanup => return self.open_cleanup(ctx),
            RecordCommand::CopyId => {
                return match self.selected_record() {
                    Ok(record) => Out::copy(Some("record id"), record.record_id),
                    Err(notice) => vec![notice],
                };
            }
            RecordCommand::NextField
            | RecordCommand::PreviousField
            | RecordCommand::ChangeModule(_)
            | RecordCommand::ChooseDevice(_)
            | RecordCommand::CopyDeviceId
            | RecordCommand::EditProperties
            | RecordCommand::NextPage
            | RecordCommand::PreviousPage
            | RecordCommand::ChangeAge(_)
            | RecordCommand::ToggleMarkedForDeletion
            | RecordCommand::EditRetention => {}
        }
        Vec::new()
    }

    pub(super) fn ask_for_module() -> Out {
        Out::notice("choose a module first: 1 folder, 2 album, 3 address book")
    }

    fn selected_record(&self) -> Result<BackupRecord, Out> {
        self.selected()
            .map(|row| row.record.clone())
            .ok_or_else(|| Out::notice("no record selected"))
    }

    /// The query of the listing shown now.
    fn query(&self, module: ModuleCode) -> RecordQuery {
        RecordQuery {
            module,
            page_size: LIST_PAGE_SIZE,
            device_id: self.device_filter.clone(),
        }
    }

    /// The request for page `page` of listing `generation`, from `cursor`.
    pub(super) fn page_request(
        &self,
        generation: u64,
        module: ModuleCode,
        page: usize,
        cursor: Option<String>,
    ) -> Out {
        let call = ApiCall::ListRecords {
            query: self.query(module),
            cursor,
        };
        Out::Call(
            Pending::Page {
                generation,
                module,
                page,
            },
            call,
        )
    }

    /// Starts listing `module` from its first page (further pages follow in the background).
    /// Lists only `device_id`'s records of `module` (from the devices pane).
    pub fn browse(&mut self, module: ModuleCode, device_id: String) -> Vec<Out> {
        self.dialog = None;
        self.set_device_filter(Some(device_id));
        self.list(module)
    }

    pub fn list(&mut self, module: ModuleCode) -> Vec<Out> {
        let generation = self.start_listing(module);
        vec![self.page_request(generation, module, 0, None)]
    }

    /// Lists the module again; the rows stay on screen until the new listing is complete.
    fn refresh(&mut self) -> Vec<Out> {
        match self.start_refresh() {
            Some(generation) => {
                let module = self.module.unwrap_or(ModuleCode::Folder);
                // The queue too: another koobackup may have queued, cancelled or applied.
                vec![
                    self.page_request(generation, module, 0, None),
                    Out::Effect(Effect::ReadPending),
                ]
            }
            None => vec![State::ask_for_module()],
        }
    }

    fn open_detail(&mut self, record: BackupRecord) -> Vec<Out> {
        let mut detail = RecordDetail::new(record);
        let request = files_request(&mut detail, 0);
        self.dialog = Some(Dialog::Detail(detail));
        request.into_iter().collect()
    }

    fn ask_to_complete(&mut self, record: &BackupRecord) -> Vec<Out> {
        if record.status != RecordStatus::New {
            return vec![Out::notice(format!(
                "record {} is {}: only new records can be completed",
                record.record_id, record.status
            ))];
        }
        let module = match changeable_module(record) {
            Ok(module) => module,
            Err(notice) => return vec![notice],
        };
        let purpose = TextPurpose::CompleteProperties {
            record_id: record.record_id.clone(),
            module,
        };
        self.dialog = Some(Dialog::Text(TextField::new(purpose, "")));
        Vec::new()
    }

    fn ask_to_delete_marked_or_selected(&mut self) -> Vec<Out> {
        let marked: Vec<BackupRecord> = self
            .rows
            .iter()
            .filter(|row| self.marked.contains(row.id()))
            .map(|row| row.record.clone())
            .collect();
        if let Some(odd) = marked.iter().find(|r| r.module_code.known().is_none()) {
            return changeable_module(odd).err().into_iter().collect();
        }
        match marked.len() {
            0 => match self
                .selected_record()
                .and_then(|record| changeable_module(&record).map(|_| record))
            {
                Ok(record) => self.dialog = Some(Dialog::ConfirmDelete(record, Why::ByHand)),
                Err(notice) => return vec![notice],
            },
            1 => self.dialog = Some(Dialog::ConfirmDelete(marked[0].clone(), Why::ByHand)),
            _ => {
                if let Some(module) = marked[0].module_code.known() {
                    let targets = marked
                        .iter()
                        .map(|record| Target {
                            record_id: record.record_id.clone(),
                            chosen: Some(Chosen::of(record)),
                        })
                        .collect();
                    self.dialog = Some(Dialog::ConfirmBulk(BulkConfirm::new(module, targets)));
                }
            }
        }
        Vec::new()
    }

    /// A key command while one of the record side's dialogs is open.
    pub fn dialog_command(&mut self, command: Command, ctx: &Ctx) -> Vec<Out> {
        let Some(dialog) = self.dialog.take() else {
            return Vec::new();
        };
        match dialog {
            Dialog::Form(form) => self.form_command(form, command, ctx),
            Dialog::Detail(detail) => self.detail_command(detail, command, ctx),
            Dialog::ConfirmDelete(record, why) => match command {
                Command::Confirm => match changeable_module(&record) {
                    Ok(module) if ctx.session.delete_grace.is_some() => {
                        self.queue_deletes(vec![(record, module, why)], ctx)
                    }
                    Ok(module) => {
                        let op = LockedOp::Delete {
                            target: Target {
                                record_id: record.record_id.clone(),
                                chosen: Some(Chosen::of(&record)),
                            },
                        };
                        self.with_lock(module, op, ctx)
                    }
                    Err(notice) => vec![notice],
                },
                Command::Cancel => vec![Out::notice(format!(
                    "nothing deleted: record {} kept",
                    record.record_id
                ))],
                _ => {
                    self.dialog = Some(Dialog::ConfirmDelete(record, why));
                    Vec::new()
                }
            },
            Dialog::ConfirmBulk(confirm) => self.bulk_confirm_command(confirm, command, ctx),
            Dialog::Text(field) => self.text_command(field, command, ctx),
            Dialog::Cleanup(view) => self.cleanup_command(view, command, ctx),
            Dialog::Bulk(run) => self.bulk_command(run, command),
            Dialog::ReleaseOrphan(orphan) => match command {
                Command::Confirm => {
                    let what = orphan.op.describe();
                    if let Some(mut form) = orphan.form {
                        form.stage = Stage::WaitingForLock;
                        self.dialog = Some(Dialog::Form(*form));
                    }
                    self.waiting_for_lock = Some((orphan.module, orphan.op));
                    vec![Out::ReleaseOrphanThenLock {
                        orphan: orphan.lock_id,
                        module: orphan.module,
                        what,
                    }]
                }
                Command::Cancel => {
                    if let Some(mut form) = orphan.form {
                        form.stage = Stage::Editing;
                        self.dialog = Some(Dialog::Form(*form));
                    }
                    vec![Out::notice(format!(
                        "nothing sent: the orphaned lock {} stays",
                        orphan.lock_id
                    ))]
                }
                _ => {
                    self.dialog = Some(Dialog::ReleaseOrphan(orphan));
                    Vec::new()
                }
            },
        }
    }

    fn form_command(&mut self, mut form: RecordForm, command: Command, ctx: &Ctx) -> Vec<Out> {
        match command {
            Command::Cancel => {
                if form.stage == Stage::WaitingForLock
                    && matches!(self.waiting_for_lock, Some((_, LockedOp::Create(_))))
                {
                    self.waiting_for_lock = None;
                }
                return Vec::new();
            }
            // Nothing changes while the request is on its way.
            _ if form.is_busy() => {}
            Command::Records(RecordCommand::NextField) => form.focus_step(1),
            Command::Records(RecordCommand::PreviousField) => form.focus_step(-1),
            Command::Records(RecordCommand::ChangeModule(step)) => form.change_module(step),
            Command::Records(RecordCommand::ChooseDevice(step)) => form.choose_device(step),
            Command::Records(RecordCommand::EditProperties) => {
                form.focus = Field::Properties;
                let text = form.properties_for_editor();
                self.dialog = Some(Dialog::Form(form));
                return vec![Out::Effect(Effect::EditInEditor(text))];
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
                    let has_lock = ctx.live_lock(module).is_some();
                    if has_lock || self.waiting_for_lock.is_none() {
                        form.stage = if has_lock {
                            Stage::Sending
                        } else {
                            Stage::WaitingForLock
                        };
                        self.dialog = Some(Dialog::Form(form));
                        return self.with_lock(module, LockedOp::Create(record), ctx);
                    }
                    form.server_error =
                        Some("another operation is waiting for a lock; try again in a moment".into());
                }
            }
            _ => {}
        }
        self.dialog = Some(Dialog::Form(form));
        Vec::new()
    }

    fn detail_command(&mut self, mut detail: RecordDetail, command: Command, ctx: &Ctx) -> Vec<Out> {
        let mut outs = Vec::new();
        // The details stop scrolling where their text does, as drawn on this screen.
        let last = || max_detail_scroll(&detail, ctx.screen, ctx.session, ctx.server_now());
        match command {
            Command::Cancel => return outs,
            Command::Up => detail.scroll = detail.scroll.min(last()).saturating_sub(1),
            Command::Down => detail.scroll = (detail.scroll + 1).min(last()),
            Command::PageUp => detail.scroll = detail.scroll.min(last()).saturating_sub(DETAIL_PAGE),
            Command::PageDown => detail.scroll = (detail.scroll + DETAIL_PAGE).min(last()),
            Command::Top => detail.scroll = 0,
            Command::Bottom => detail.scroll = last(),
            Command::Records(RecordCommand::NextPage) if !detail.files.loading => {
                let page = detail.files.page + 1;
                outs.extend(files_request(&mut detail, page));
            }
            Command::Records(RecordCommand::PreviousPage)
                if !detail.files.loading && detail.files.page > 0 =>
            {
                let page = detail.files.page - 1;
                outs.extend(files_request(&mut detail, page));
            }
            Command::Records(RecordCommand::Complete) => {
                outs = self.ask_to_complete(&detail.record);
                if self.dialog.is_some() {
                    return outs;
                }
            }
            Command::Records(RecordCommand::Delete) => {
                self.dialog = Some(Dialog::ConfirmDelete(detail.record, Why::ByHand));
                return outs;
            }
            Command::Records(RecordCommand::CopyId) => {
                outs = Out::copy(Some("record id"), detail.record.record_id.clone());
            }
            Command::Records(RecordCommand::CopyDeviceId) => {
                outs = Out::copy(Some("device id"), detail.record.device_info.device_id.clone());
            }
            _ => {}
        }
        self.dialog = Some(Dialog::Detail(detail));
        outs
    }

    /// Esc in the pane: the local filter goes first, then the device filter (listing the module
    /// again), then the marks; each press clears one and says which.
    fn clear_filter(&mut self, rows: usize) -> Vec<Out> {
        if !self.filter.is_empty() {
            self.set_filter("", rows);
            return vec![Out::notice("filter cleared")];
        }
        if let Some(device) = self.device_filter.take() {
            let was = self.device_called(&device).to_string();
            let mut outs = vec![Out::notice(format!("showing every device again (was {was})"))];
            if let Some(module) = self.module {
                outs.extend(self.list(module));
            }
            return outs;
        }
        if !self.marked.is_empty() {
            let count = self.marked.len();
            self.marked.clear();
            return vec![Out::notice(format!("{count} mark(s) cleared"))];
        }
        Vec::new()
    }

    /// The device id `typed` names: an id of a loaded record's device as typed; else the id of
    /// the one loaded device whose name is `typed` or, failing that, holds it (case aside);
    /// else the text as an id. A name several devices fit is refused with their ids.
    fn device_id_named(&self, typed: &str) -> Result<String, String> {
        let devices = || self.rows.iter().map(|row| &row.record.device_info);
        if devices().any(|d| d.device_id == typed) {
            return Ok(typed.to_string());
        }
        let wanted = typed.to_lowercase();
        let ids_where = |fits: &dyn Fn(&str) -> bool| {
            let mut ids: Vec<&str> = devices()
                .filter(|d| !d.device_name.is_empty() && fits(&d.device_name.to_lowercase()))
                .map(|d| d.device_id.as_str())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let mut named = ids_where(&|name| name == wanted);
        if named.is_empty() && !wanted.is_empty() {
            named = ids_where(&|name| name.contains(&wanted));
        }
        match named.as_slice() {
            [id] => Ok(id.to_string()),
            [_, _, ..] => Err(format!(
                "{} devices have {typed:?} in their name; type one id: {}",
                named.len(),
                named.join(", ")
            )),
            [] => Ok(typed.to_string()),
        }
    }

    fn text_command(&mut self, mut field: TextField, command: Command, ctx: &Ctx) -> Vec<Out> {
        let rows = ctx.visible_rows;
        match (&field.purpose, command) {
            (TextPurpose::LocalFilter, Command::Confirm) => return Vec::new(),
            (TextPurpose::LocalFilter, Command::Cancel) => {
                self.set_filter("", rows);
                return Vec::new();
            }
            (_, Command::Cancel) => return Vec::new(),
            (_, Command::ClearInput) => {
                field.input.reset();
                field.error = None;
                if field.purpose == TextPurpose::LocalFilter {
                    self.set_filter("", rows);
                }
            }
            (TextPurpose::DeviceFilter, Command::Confirm) => {
                let device = match self.device_id_named(field.input.value().trim()) {
                    Ok(device) => device,
                    Err(error) => {
                        field.error = Some(error);
                        self.dialog = Some(Dialog::Text(field));
                        return Vec::new();
                    }
                };
                self.device_filter = (!device.is_empty()).then_some(device);
                return match self.module {
                    Some(module) => self.list(module),
                    None => vec![State::ask_for_module()],
                };
            }
            (TextPurpose::CompleteProperties { .. }, Command::Records(RecordCommand::EditProperties)) => {
                let text = properties_for_editor(field.input.value());
                self.dialog = Some(Dialog::Text(field));
                return vec![Out::Effect(Effect::EditInEditor(text))];
            }
            (TextPurpose::CompleteProperties { record_id, module }, Command::Confirm) => {
                match field.from_editor.check(field.input.value()) {
                    Ok(properties) => {
                        let (record_id, module) = (record_id.clone(), *module);
                        let op = LockedOp::Complete {
                            record_id,
                            properties,
                        };
                        return self.with_lock(module, op, ctx);
                    }
                    Err(error) => field.error = Some(error.to_string()),
                }
            }
            _ => {}
        }
        self.dialog = Some(Dialog::Text(field));
        Vec::new()
    }

    /// Runs `op` under this app's own lock for `module`; without one, under a lock taken for
    /// `op` alone (released when it ends). Never under another holder's lock: a live one is
    /// named and nothing is sent; an orphaned one may be released first, after asking.
    pub(super) fn with_lock(&mut self, module: ModuleCode, op: LockedOp, ctx: &Ctx) -> Vec<Out> {
        if let Some(lock) = ctx.live_lock(module) {
            return self.run_locked(op, lock.clone(), false);
        }
        if let Some(other) = ctx.operation_lock(module) {
            let why = if other.release_failed {
                "the lock of an operation that ended is still being released (its release failed)"
            } else {
                "another operation here holds the lock"
            };
            return vec![Out::notice(format!(
                "not sent: {why} for {module}; try again when it is done"
            ))];
        }
        if let Some((waiting_module, _)) = &self.waiting_for_lock {
            // One operation waits at a time, so that none is dropped unseen.
            return vec![Out::notice(format!(
                "not sent: still waiting for a lock for {waiting_module}; try again in a moment"
            ))];
        }
        if let Some(foreign) = ctx.foreign_holder(module) {
            if foreign.orphaned {
                // The form (if it is what asked) waits behind the question, as typed.
                let form = match self.dialog.take() {
                    Some(Dialog::Form(form)) => Some(Box::new(form)),
                    other => {
                        self.dialog = other;
                        None
                    }
                };
                self.dialog = Some(Dialog::ReleaseOrphan(OrphanRelease {
                    module,
                    lock_id: foreign.lock_id.clone(),
                    holder: foreign.holder.clone(),
                    op,
                    form,
                }));
                return Vec::new();
            }
            let text = format!(
                "not sent: {module} is locked: lock {} is {}; this app uses only its own locks \
                 (adopt it with i on the locks pane if it is yours to use)",
                crate::tui::widgets::short_lock_id(&foreign.lock_id),
                foreign.holder.trim_start_matches("held by ")
            );
            if let Some(Dialog::Form(form)) = &mut self.dialog {
                form.stage = Stage::Editing;
                form.server_error = Some(text.clone());
            }
            return vec![
                Out::log(LogKind::Warning, "records", text.clone()),
                Out::notice(text),
            ];
        }
        let what = op.describe();
        self.waiting_for_lock = Some((module, op));
        if ctx.creating.contains(&module) {
            return Vec::new();
        }
        let text = format!("taking a lock for {module} for this operation; it is released when it ends");
        vec![
            Out::log(LogKind::Info, "records", text.clone()),
            Out::notice(text),
            Out::NeedLock { module, what },
        ]
    }

    /// Sends `op` under `lock`; `release` when the lock was taken for `op` alone.
    fn run_locked(&mut self, op: LockedOp, lock: LockInfo, release: bool) -> Vec<Out> {
        let lock_id = lock.lock_id.clone();
        let release = release.then(|| Box::new(lock_id.clone()));
        match op {
            LockedOp::Create(record) => {
                self.set_form_stage(Stage::Sending);
                let pending = Pending::Create {
                    module: record.module,
                    release,
                };
                vec![Out::Call(pending, ApiCall::CreateRecord { lock_id, record })]
            }
            LockedOp::Complete {
                record_id,
                properties,
            } => {
                let call = ApiCall::CompleteRecord {
                    lock_id,
                    record_id: record_id.clone(),
                    properties,
                };
                vec![Out::Call(Pending::Complete { record_id, release }, call)]
            }
            LockedOp::Delete { target } => {
                let record_id = target.record_id.clone();
                let call = ApiCall::DeleteRecord {
                    lock_id,
                    target: Box::new(target),
                };
                vec![Out::Call(Pending::Delete { record_id, release }, call)]
            }
            LockedOp::BulkDelete { targets } => {
                let job = JobId(self.next_job());
                let mut run = BulkRun::new(job, lock.module, lock_id.clone(), targets.len());
                run.release_lock = release.is_some();
                let effect = Effect::StartBulkDelete(BulkDeleteJob {
                    job,
                    module: lock.module,
                    lock_id: lock_id.clone(),
                    planned: self.planned_for(&targets),
                    targets,
                    concurrency: DEFAULT_BULK_CONCURRENCY,
                    cancel: run.cancel.clone(),
                });
                self.dialog = Some(Dialog::Bulk(run));
                // The lock must outlive the run: renewed while it lasts, auto-renew or not.
                vec![Out::PinLock(lock_id), Out::Effect(effect)]
            }
        }
    }

    fn set_form_stage(&mut self, stage: Stage) {
        if let Some(Dialog::Form(form)) = &mut self.dialog {
            form.stage = stage;
        }
    }

    /// Carries on with the operation that waited for a lock, once the lock exists (or gives up
    /// when its creation failed). The app calls this after every answer.
    pub fn resume_waiting_for_lock(&mut self, ctx: &Ctx) -> Vec<Out> {
        let Some((module, _)) = &self.waiting_for_lock else {
            return Vec::new();
        };
        let module = *module;
        if let Some(own) = ctx.operation_lock(module).filter(|own| !own.release_failed) {
            let lock = own.lock.clone();
            let Some((_, op)) = self.waiting_for_lock.take() else {
                return Vec::new();
            };
            return self.run_locked(op, lock, true);
        }
        if ctx.creating.contains(&module) {
            return Vec::new();
        }
        self.waiting_for_lock = None;
        let cause = ctx.last_error.map_or(String::new(), |e| format!(": {e}"));
        let text = format!("could not get a lock for {module}{cause}");
        if let Some(Dialog::Form(form)) = &mut self.dialog {
            form.stage = Stage::Editing;
            form.server_error = Some(text);
            return Vec::new();
        }
        vec![Out::notice(format!("nothing sent: {text}"))]
    }

    /// The user's editor closed: its text goes into the properties of the dialog that sent
    /// them (the new record form, or the one completing a record), or the dialog says why
    /// nothing changed.
    pub fn on_editor_done(&mut self, result: Result<String, String>) -> Vec<Out> {
        // Keys are not read while the editor runs, so the dialog is still open.
        let Some(dialog) = &mut self.dialog else {
            return Vec::new();
        };
        match result {
            Ok(text) => dialog.take_edited_properties(&text),
            Err(message) => {
                let text = format!("{message}; the properties are unchanged");
                if dialog.show_editor_error(text.clone()) {
                    return vec![Out::log(LogKind::Warning, "editor", text)];
                }
            }
        }
        Vec::new()
    }

    /// A key no binding claimed: text for the open dialog's field, if it has one.
    pub fn typed(&mut self, key: KeyEvent, ctx: &Ctx) {
        let Some(input) = self.dialog.as_mut().and_then(Dialog::input_mut) else {
            return;
        };
        if input.handle_event(&Event::Key(key)).is_some() {
            self.after_text_change(ctx);
        }
    }

    /// Pasted text for the open dialog's field. Fields are one line: line breaks become spaces,
    /// which JSON treats like any other blank.
    pub fn pasted(&mut self, text: &str, ctx: &Ctx) {
        let Some(input) = self.dialog.as_mut().and_then(Dialog::input_mut) else {
            return;
        };
        let pasted: String = text
            .chars()
            .map(|c| if matches!(c, '\n' | '\r' | '\t') { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        insert_at_cursor(input, &pasted);
        self.after_text_change(ctx);
    }

    /// Clears stale messages of the edited field, and applies the local filter as it is typed.
    fn after_text_change(&mut self, ctx: &Ctx) {
        let mut filter = None;
        match &mut self.dialog {
            Some(Dialog::Form(form)) => form.edited(),
            Some(Dialog::ConfirmBulk(confirm)) => confirm.error = None,
            Some(Dialog::Cleanup(view)) => {
                let records: Vec<BackupRecord> = self.rows.iter().map(|row| row.record.clone()).collect();
                view.rules_edited(&records, ctx.cleanup_now());
            }
            Some(Dialog::Text(field)) => {
                field.error = None;
                if field.purpose == TextPurpose::LocalFilter {
                    filter = Some(field.input.value().to_string());
                }
            }
            _ => {}
        }
        if let Some(filter) = filter {
            self.set_filter(&filter, ctx.visible_rows);
        }
    }
}

/// Asks for page `page` of the detail's files, if there is such a page.
fn files_request(detail: &mut RecordDetail, page: usize) -> Option<Out> {
    let cursor = detail.files.cursor_for(page)?;
    detail.files.page = page;
    detail.files.loading = true;
    let record_id = detail.record.record_id.clone();
    let call = ApiCall::ListFiles {
        record_id: record_id.clone(),
        page_size: super::FILES_PAGE_SIZE,
        cursor,
    };
    Some(Out::Call(Pending::Files { record_id, page }, call))
}

/// The module a change of `record` takes a lock for; a notice for a record of a module
/// koobackup does not know, for which no lock can be taken.
pub(super) fn changeable_module(record: &BackupRecord) -> Result<ModuleCode, Out> {
    record.module_code.known().ok_or_else(|| {
        Out::notice(format!(
            "record {} is in module {}, which koobackup does not know: it cannot be changed",
            record.record_id,
            record.module_code.code()
        ))
    })
}
