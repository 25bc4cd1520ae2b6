//! The dialogs of the record side: form, details, delete confirmations, one-line fields,
//! clean-up and bulk delete. Pure state.

use std::collections::HashMap;

use tui_input::Input;

use super::LockedOp;
use super::bulk::BulkRun;
use super::cleanup::CleanupView;
use super::form::{EditedProperties, Field, RecordForm, properties_from_editor};
use crate::api::{BackupFile, BackupRecord, ModuleCode};
use crate::bulk::Target;
use crate::pending::Why;
use crate::tui::keymap::Scope;

#[derive(Debug, Clone)]
pub enum Dialog {
    Form(RecordForm),
    Detail(RecordDetail),
    /// Delete one record (chosen for this reason): says what is deleted, or queued under a
    /// grace window; nothing is sent before "yes".
    ConfirmDelete(BackupRecord, Why),
    /// Delete several records: the user types how many.
    ConfirmBulk(BulkConfirm),
    Text(TextField),
    Cleanup(CleanupView),
    Bulk(BulkRun),
    /// The module is locked by an orphaned lock (its process is gone): release it and go on?
    ReleaseOrphan(OrphanRelease),
}

/// An operation held up by an orphaned lock, and the lock.
#[derive(Debug, Clone)]
pub struct OrphanRelease {
    pub module: ModuleCode,
    pub lock_id: String,
    /// Who held it: "held by a clean-up on web-01, pid 7, … — orphaned".
    pub holder: String,
    pub op: LockedOp,
    /// The new-record form that asked, kept as typed behind the question.
    pub form: Option<Box<RecordForm>>,
}

impl Dialog {
    pub fn scope(&self) -> Scope {
        match self {
            Dialog::Form(form) if form.focus == Field::Module => Scope::RecordFormModule,
            Dialog::Form(_) => Scope::RecordForm,
            Dialog::Detail(_) => Scope::RecordDetail,
            Dialog::ConfirmDelete(..) | Dialog::ReleaseOrphan(_) => Scope::Confirm,
            Dialog::ConfirmBulk(_) => Scope::TypeToConfirm,
            Dialog::Text(field) if field.is_complete() => Scope::CompleteRecord,
            Dialog::Text(_) => Scope::RecordText,
            Dialog::Cleanup(view) if view.editing.is_some() => Scope::CleanupRules,
            Dialog::Cleanup(_) => Scope::Cleanup,
            Dialog::Bulk(run) if run.finished => Scope::BulkSummary,
            Dialog::Bulk(_) => Scope::BulkRunning,
        }
    }

    /// Puts the text of the user's editor into the properties field (as one line), unless this
    /// dialog has no such field or is busy sending it.
    pub fn take_edited_properties(&mut self, text: &str) {
        match self {
            Dialog::Form(form) if !form.is_busy() => form.properties_from_editor(text),
            Dialog::Text(field) if field.is_complete() => {
                let (input, edited) = properties_from_editor(text);
                field.input = input;
                field.error = edited.error().map(ToString::to_string);
                field.from_editor = edited;
            }
            _ => {}
        }
    }

    /// Shows why the user's editor changed nothing; `false` when this dialog has no properties
    /// field to say it under.
    pub fn show_editor_error(&mut self, message: String) -> bool {
        match self {
            Dialog::Form(form) if !form.is_busy() => form.editor_error = Some(message),
            Dialog::Text(field) if field.is_complete() => field.error = Some(message),
            _ => return false,
        }
        true
    }

    /// The text field that typed keys and pastes go to, if the dialog has one.
    pub fn input_mut(&mut self) -> Option<&mut Input> {
        match self {
            Dialog::Form(form) if !form.is_busy() => form.focused_input(),
            Dialog::ConfirmBulk(confirm) => Some(&mut confirm.typed),
            Dialog::Text(field) => Some(&mut field.input),
            Dialog::Cleanup(view) => view.editing.as_mut().map(|editor| &mut editor.input),
            _ => None,
        }
    }
}

/// What a one-line text field is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextPurpose {
    /// The local filter: applied while typing.
    LocalFilter,
    /// Only this device's records, asked of the server.
    DeviceFilter,
    /// Optional new properties when completing a record.
    CompleteProperties { record_id: String, module: ModuleCode },
}

#[derive(Debug, Clone)]
pub struct TextField {
    pub purpose: TextPurpose,
    pub input: Input,
    pub error: Option<String>,
    /// What the editor gave back for the properties of a completion, if it was not JSON.
    pub from_editor: EditedProperties,
}

impl TextField {
    pub fn new(purpose: TextPurpose, text: &str) -> TextField {
        TextField {
            purpose,
            input: Input::new(text.to_string()),
            error: None,
            from_editor: EditedProperties::default(),
        }
    }

    /// Whether this is the properties field of the dialog completing a record.
    pub fn is_complete(&self) -> bool {
        matches!(self.purpose, TextPurpose::CompleteProperties { .. })
    }
}

#[derive(Debug, Clone)]
pub struct BulkConfirm {
    pub module: ModuleCode,
    pub record_ids: Vec<String>,
    /// The same records as they were when chosen: each is deleted only while still so.
    pub targets: Vec<Target>,
    pub typed: Input,
    pub error: Option<String>,
    /// The first record shown in the list of what goes (↑/↓).
    pub scroll: usize,
    /// Why each record was chosen, when a clean-up rule chose it (the others by hand): what a
    /// queued deletion keeps, to ask the rule again before it is sent.
    pub reasons: HashMap<String, Why>,
}

impl BulkConfirm {
    pub fn new(module: ModuleCode, targets: Vec<Target>) -> BulkConfirm {
        BulkConfirm {
            module,
            record_ids: targets.iter().map(|t| t.record_id.clone()).collect(),
            targets,
            typed: Input::default(),
            error: None,
            scroll: 0,
            reasons: HashMap::new(),
        }
    }

    /// Why `record_id` was chosen.
    pub fn why(&self, record_id: &str) -> Why {
        self.reasons.get(record_id).cloned().unwrap_or(Why::ByHand)
    }

    /// Whether the typed text is the number of records.
    pub fn is_confirmed(&self) -> bool {
        self.typed.value().trim() == self.record_ids.len().to_string()
    }
}

/// The detail view: every field of one record and its files, a page at a time.
#[derive(Debug, Clone)]
pub struct RecordDetail {
    pub record: BackupRecord,
    pub scroll: usize,
    pub files: FilesPager,
}

impl RecordDetail {
    pub fn new(record: BackupRecord) -> RecordDetail {
        RecordDetail {
            record,
            scroll: 0,
            files: FilesPager::default(),
        }
    }
}

/// Pages of a record's files. The API pages forward only, so the cursor of every page seen
/// is kept to go back.
#[derive(Debug, Clone, Default)]
pub struct FilesPager {
    /// `cursors[i]` fetches page `i` (the first page has none).
    pub cursors: Vec<Option<String>>,
    /// Index of the page shown (or being fetched).
    pub page: usize,
    pub files: Vec<BackupFile>,
    pub next_cursor: Option<String>,
    pub loading: bool,
    pub error: Option<String>,
}

impl FilesPager {
    /// The cursor to fetch page `page`, remembering it; `None` when there is no such page.
    pub fn cursor_for(&mut self, page: usize) -> Option<Option<String>> {
        if page == 0 {
            if self.cursors.is_empty() {
                self.cursors.push(None);
            }
            return Some(None);
        }
        if page < self.cursors.len() {
            return Some(self.cursors[page].clone());
        }
        if page == self.cursors.len() && page == self.page + 1 {
            let next = self.next_cursor.clone()?;
            self.cursors.push(Some(next.clone()));
            return Some(Some(next));
        }
        None
    }

    pub fn has_next(&self) -> bool {
        self.next_cursor.is_some() || self.page + 1 < self.cursors.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pager_remembers_cursors_to_go_back() {
        let mut pager = FilesPager::default();
        assert_eq!(pager.cursor_for(0), Some(None));
        pager.next_cursor = Some("c1".into());
        assert_eq!(pager.cursor_for(1), Some(Some("c1".into())));
        pager.page = 1;
        pager.next_cursor = None;
        assert!(!pager.has_next());
        assert_eq!(pager.cursor_for(2), None);
        assert_eq!(pager.cursor_for(0), Some(None));
        pager.page = 0;
        assert!(pager.has_next());
        assert_eq!(pager.cursor_for(1), Some(Some("c1".into())));
    }

    #[test]
    fn a_bulk_delete_needs_the_exact_number() {
        let targets = ["1", "2", "3"].map(|id| Target {
            record_id: id.into(),
            chosen: None,
        });
        let mut confirm = BulkConfirm::new(ModuleCode::Folder, targets.to_vec());
        assert!(!confirm.is_confirmed());
        confirm.typed = Input::new("2".into());
        assert!(!confirm.is_confirmed());
        confirm.typed = Input::new(" 3 ".into());
        assert!(confirm.is_confirmed());
    }
}
