//! The records pane: one module's records as loaded so far (pages arrive in the background), the
//! local filter (kept as indices so that a frame only touches the rows it shows), the cursor and
//! the marks; and the record side's dialogs (form, details, confirmations), with the clean-up
//! and the bulk delete in folders of their own (`cleanup/`, `bulk/`: state, keys, drawing).
//!
//! A listing of a new module (or device) shows its pages as they arrive. A refresh of the same
//! listing keeps the rows on screen until the new listing is complete, then swaps it in; if the
//! refresh fails the old rows stay, marked stale with their age and why.

pub mod ages;
pub mod bulk;
pub mod cleanup;
pub mod dialogs;
pub mod dialogs_view;
pub mod form;
pub mod keys;
mod queued;
pub mod replies;
pub mod update;
pub mod view;

#[cfg(test)]
mod grace_tests;
#[cfg(test)]
mod ownership_tests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::api::client::NewRecord;
use crate::api::{BackupRecord, ModuleCode, RecordStatus};
use crate::bulk::{Chosen, Target};
use crate::pending::Queued;
use crate::tui::list_pane::ListCursor;
pub use dialogs::Dialog;

/// Page size used to list records: the largest the API accepts.
pub const LIST_PAGE_SIZE: u32 = crate::api::MAX_PAGE_SIZE;

/// Records one listing holds at most: a server that keeps sending a next cursor must not fill
/// memory. Loading stops there, and says so.
pub const MAX_LISTED_RECORDS: usize = 100_000;

/// The most the loaded records may take in memory (their text, roughly): each answer is capped
/// at 16 MiB, but a thousand such pages would not fit.
pub const MAX_LISTED_BYTES: usize = 64 << 20;

/// Roughly what `record` takes in memory: its texts and a fixed overhead.
fn record_bytes(record: &BackupRecord) -> usize {
    let device = &record.device_info;
    256 + record.record_id.len()
        + record.properties.len()
        + device.device_id.len()
        + device.machine_code.len()
        + device.device_name.len()
        + device.device_os.len()
}

/// Files shown per page in the record detail view.
pub const FILES_PAGE_SIZE: u32 = 20;

/// One loaded record and the lower-case text the local filter searches.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    pub record: BackupRecord,
    haystack: String,
}

impl RecordRow {
    pub fn new(record: BackupRecord) -> RecordRow {
        let haystack = format!(
            "{}\n{}\n{}\n{}",
            record.record_id,
            record.device_info.device_name,
            record.status.label(),
            record.properties
        )
        .to_lowercase();
        RecordRow { record, haystack }
    }

    pub fn id(&self) -> &str {
        &self.record.record_id
    }

    fn matches(&self, needle: &str) -> bool {
        needle.is_empty() || self.haystack.contains(needle)
    }
}

/// How far the listing of the current module got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadState {
    /// No module chosen yet.
    Idle,
    /// Pages are arriving; `pages` have been received so far.
    Loading {
        pages: usize,
    },
    Loaded {
        pages: usize,
    },
    /// A page failed (or the listing went past its bound); the records before it are shown.
    Failed {
        pages: usize,
        message: String,
    },
}

/// A refresh on its way: the new listing, collected apart until it is complete.
#[derive(Debug, Clone, Default)]
struct Refresh {
    rows: Vec<RecordRow>,
    pages: usize,
}

/// Rows shown that a refresh could not replace: when they were loaded, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub loaded_at: DateTime<Utc>,
    pub reason: String,
}

/// A record operation that must be sent under a lock of the record's module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockedOp {
    Create(NewRecord),
    Complete {
        record_id: String,
        properties: Option<String>,
    },
    /// Deleted only if still as chosen (re-read first).
    Delete {
        target: Target,
    },
    BulkDelete {
        targets: Vec<Target>,
    },
}

impl LockedOp {
    /// What it is, in a few words: the purpose of a lock taken for it.
    pub fn describe(&self) -> String {
        match self {
            LockedOp::Create(_) => "app: create a record".into(),
            LockedOp::Complete { record_id, .. } => format!("app: complete record {record_id}"),
            LockedOp::Delete { target } => format!("app: delete record {}", target.record_id),
            LockedOp::BulkDelete { targets } => format!("app: delete {} records", targets.len()),
        }
    }
}

/// What a records call in flight was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Page `page` (0-based) of listing `generation`.
    Page {
        generation: u64,
        module: ModuleCode,
        page: usize,
    },
    /// `release`: the lock taken for this operation alone, released when it answers (boxed:
    /// every call in flight carries one of these).
    Create {
        module: ModuleCode,
        release: Option<Box<String>>,
    },
    Complete {
        record_id: String,
        release: Option<Box<String>>,
    },
    /// Reading a record again after it changed.
    Refetch {
        record_id: String,
    },
    Delete {
        record_id: String,
        release: Option<Box<String>>,
    },
    Files {
        record_id: String,
        page: usize,
    },
    /// The bound devices, for the "new record" form.
    FormDevices,
}

impl Pending {
    /// The operation column of the activity log.
    pub fn describe(&self) -> String {
        match self {
            Pending::Page { module, page, .. } => {
                format!("list records {} p{}", module.code(), page + 1)
            }
            Pending::Create { module, .. } => format!("create record {}", module.code()),
            Pending::Complete { record_id, .. } => format!("complete {}", short_record_id(record_id)),
            Pending::Refetch { record_id } => format!("get record {}", short_record_id(record_id)),
            Pending::Delete { record_id, .. } => format!("delete {}", short_record_id(record_id)),
            Pending::Files { record_id, page } => {
                format!("files of {} p{}", short_record_id(record_id), page + 1)
            }
            Pending::FormDevices => "list devices".into(),
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

#[derive(Debug, Clone)]
pub struct State {
    module: Option<ModuleCode>,
    /// Server-side filter: only this device's records.
    device_filter: Option<String>,
    /// Every loaded record, in the server's order (newest first).
    rows: Vec<RecordRow>,
    /// The local `/` filter as typed.
    filter: String,
    /// Indices into `rows` of the records matching `filter`, in order.
    visible: Vec<usize>,
    /// Position of the cursor in `visible`, and the first entry of it shown.
    cursor: ListCursor,
    /// Record ids marked for a bulk delete (only ids of loaded rows).
    marked: BTreeSet<String>,
    load: LoadState,
    /// Bumped by every new listing and refresh, so that pages of an abandoned one are ignored.
    generation: u64,
    /// Put the cursor on this record when it arrives (after a create).
    wanted: Option<String>,
    /// Page cursors of the current listing: a server that hands one out twice would otherwise
    /// keep the listing (and its duplicate rows) going forever.
    cursors_seen: HashSet<String>,
    refresh: Option<Refresh>,
    /// When the rows shown were loaded (the last listing completed).
    loaded_at: Option<DateTime<Utc>>,
    stale: Option<Stale>,
    /// Items of the listing's pages that could not be read (left out, counted).
    unreadable: usize,
    /// Roughly what the current listing's records take (see [`MAX_LISTED_BYTES`]).
    listed_bytes: usize,
    /// An operation that needs a lock for this module, waiting for the lock being created.
    pub waiting_for_lock: Option<(ModuleCode, LockedOp)>,
    pub dialog: Option<Dialog>,
    /// Bulk deletes started so far (their job ids).
    jobs: u64,
    /// The total size of each record's files, for the records whose whole file list was seen
    /// (in the detail view): what deleting them frees, for the clean-up preview.
    known_sizes: HashMap<String, u64>,
    /// The deletions queued through this connection, by record id (marked in the list).
    queued: HashMap<String, Queued>,
}

impl Default for State {
    fn default() -> State {
        State {
            module: None,
            device_filter: None,
            rows: Vec::new(),
            filter: String::new(),
            visible: Vec::new(),
            cursor: ListCursor::default(),
            marked: BTreeSet::new(),
            load: LoadState::Idle,
            generation: 0,
            wanted: None,
            cursors_seen: HashSet::new(),
            refresh: None,
            loaded_at: None,
            stale: None,
            unreadable: 0,
            listed_bytes: 0,
            waiting_for_lock: None,
            dialog: None,
            jobs: 0,
            known_sizes: HashMap::new(),
            queued: HashMap::new(),
        }
    }
}

impl State {
    pub fn module(&self) -> Option<ModuleCode> {
        self.module
    }

    pub fn device_filter(&self) -> Option<&str> {
        self.device_filter.as_deref()
    }

    pub fn rows(&self) -> &[RecordRow] {
        &self.rows
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Indices into [`State::rows`] of the records the filter lets through, in order.
    pub fn visible(&self) -> &[usize] {
        &self.visible
    }

    pub fn cursor(&self) -> usize {
        self.cursor.at()
    }

    pub fn offset(&self) -> usize {
        self.cursor.offset()
    }

    pub fn marked(&self) -> &BTreeSet<String> {
        &self.marked
    }

    pub fn load(&self) -> &LoadState {
        &self.load
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A refresh is collecting the new listing (the rows shown are the previous one's).
    pub fn refreshing(&self) -> Option<usize> {
        self.refresh.as_ref().map(|r| r.pages)
    }

    pub fn stale(&self) -> Option<&Stale> {
        self.stale.as_ref()
    }

    pub fn unreadable(&self) -> usize {
        self.unreadable
    }

    /// Forgets the loaded records and starts a new listing of `module` (of the device filter
    /// in force); returns its generation.
    pub fn start_listing(&mut self, module: ModuleCode) -> u64 {
        if self.module != Some(module) {
            self.marked.clear();
            self.wanted = None;
        } else if self.wanted.is_none() {
            // The same module listed anew (another device filter): stay on the record.
            self.wanted = self.selected().map(|row| row.id().to_string());
        }
        self.module = Some(module);
        self.rows.clear();
        self.visible.clear();
        self.cursor.reset();
        self.load = LoadState::Loading { pages: 0 };
        self.refresh = None;
        self.stale = None;
        self.loaded_at = None;
        self.begin()
    }

    /// Starts listing the current module again while its rows stay on screen; returns the
    /// generation. Without rows to keep this is a plain [`State::start_listing`].
    pub fn start_refresh(&mut self) -> Option<u64> {
        let module = self.module?;
        if self.rows.is_empty() {
            return Some(self.start_listing(module));
        }
        self.refresh = Some(Refresh::default());
        self.load = LoadState::Loading { pages: 0 };
        Some(self.begin())
    }

    fn begin(&mut self) -> u64 {
        self.cursors_seen.clear();
        self.unreadable = 0;
        self.listed_bytes = 0;
        self.generation += 1;
        self.generation
    }

    /// What to call device `device_id`: its name as a loaded record has it, else the id. Raw
    /// server text: escape it to print it.
    pub fn device_called<'a>(&'a self, device_id: &'a str) -> &'a str {
        self.rows
            .iter()
            .map(|row| &row.record.device_info)
            .find(|device| device.device_id == device_id)
            .map_or(device_id, crate::api::DeviceEntity::display_name)
    }

    /// Shows only `device`'s records (or every device's); the caller lists again.
    pub fn set_device_filter(&mut self, device: Option<String>) {
        self.device_filter = device;
    }

    pub fn is_loading(&self) -> bool {
        matches!(self.load, LoadState::Loading { .. })
    }

    /// Counts a page's items that could not be read.
    pub fn add_unreadable(&mut self, count: usize) {
        self.unreadable += count;
    }

    /// Notes `cursor` as handed out by the current listing; `false` if it was seen before.
    pub fn first_sight_of(&mut self, cursor: &str) -> bool {
        self.cursors_seen.insert(cursor.to_string())
    }

    /// Roughly what the current listing's records take in memory.
    pub fn listed_bytes(&self) -> usize {
        self.listed_bytes
    }

    /// Records the listing holds now (a refresh's collected ones while it runs).
    pub fn listed(&self) -> usize {
        self.refresh.as_ref().map_or(self.rows.len(), |r| r.rows.len())
    }

    /// Adds one page of the current listing. `last` when the server sent no further cursor.
    /// A refresh collects pages apart and swaps them in with the last one, keeping the cursor on
    /// its record and the marks of records still there.
    pub fn add_page(
        &mut self,
        records: Vec<BackupRecord>,
        last: bool,
        visible_rows: usize,
        now: DateTime<Utc>,
    ) {
        self.listed_bytes += records.iter().map(record_bytes).sum::<usize>();
        if let Some(refresh) = &mut self.refresh {
            refresh.rows.extend(records.into_iter().map(RecordRow::new));
            refresh.pages += 1;
            let pages = refresh.pages;
            self.load = LoadState::Loading { pages };
            if last && let Some(refresh) = self.refresh.take() {
                let keep = self.selected().map(|row| row.id().to_string());
                self.rows = refresh.rows;
                self.rebuild_visible();
                let at = keep
                    .and_then(|id| self.visible.iter().position(|&i| self.rows[i].id() == id))
                    .unwrap_or(self.cursor.at());
                self.cursor.select(at, self.visible.len(), visible_rows);
                self.finish_listing(pages, now);
            }
            return;
        }
        let needle = self.filter.to_lowercase();
        let start = self.rows.len();
        self.rows.extend(records.into_iter().map(RecordRow::new));
        for index in start..self.rows.len() {
            if self.rows[index].matches(&needle) {
                self.visible.push(index);
            }
        }
        let pages = self.pages() + 1;
        self.load = LoadState::Loading { pages };
        self.seek_wanted(visible_rows);
        if last {
            self.finish_listing(pages, now);
        }
    }

    fn finish_listing(&mut self, pages: usize, now: DateTime<Utc>) {
        self.load = LoadState::Loaded { pages };
        self.loaded_at = Some(now);
        self.stale = None;
        // Marks of records that are gone (deleted elsewhere) would be deleted blindly.
        let present: BTreeSet<&str> = self.rows.iter().map(RecordRow::id).collect();
        self.marked.retain(|id| present.contains(id.as_str()));
    }

    /// The listing stopped (a failed page, a listing past its bound). A refresh that fails
    /// leaves the rows it would have replaced, marked stale.
    pub fn load_failed(&mut self, message: String, now: DateTime<Utc>) {
        let pages = self.pages();
        if self.refresh.take().is_some() {
            self.load = LoadState::Loaded { pages };
            self.stale = Some(Stale {
                loaded_at: self.loaded_at.unwrap_or(now),
                reason: message,
            });
            return;
        }
        self.load = LoadState::Failed { pages, message };
    }

    fn pages(&self) -> usize {
        match self.load {
            LoadState::Idle => 0,
            LoadState::Loading { pages } | LoadState::Loaded { pages } | LoadState::Failed { pages, .. } => {
                pages
            }
        }
    }

    /// Moves the cursor to the wanted record if it is loaded and visible.
    fn seek_wanted(&mut self, visible_rows: usize) {
        let Some(wanted) = &self.wanted else {
            return;
        };
        if let Some(position) = self.visible.iter().position(|&i| self.rows[i].id() == wanted) {
            self.cursor.select(position, self.visible.len(), visible_rows);
            self.wanted = None;
        }
    }

    /// Put the cursor on `record_id` once it is loaded.
    pub fn want(&mut self, record_id: String) {
        self.wanted = Some(record_id);
    }

    /// Applies a new local filter, keeping the cursor on the same record when it still matches.
    pub fn set_filter(&mut self, filter: &str, visible_rows: usize) {
        let keep = self.selected().map(|row| row.id().to_string());
        self.filter = filter.to_string();
        self.rebuild_visible();
        let at = keep
            .and_then(|id| self.visible.iter().position(|&i| self.rows[i].id() == id))
            .unwrap_or(0);
        self.cursor.reset();
        self.cursor.select(at, self.visible.len(), visible_rows);
    }

    /// `visible` from scratch, after `rows` or `filter` changed.
    fn rebuild_visible(&mut self) {
        let needle = self.filter.to_lowercase();
        self.visible = (0..self.rows.len())
            .filter(|&i| self.rows[i].matches(&needle))
            .collect();
    }

    pub fn selected(&self) -> Option<&RecordRow> {
        self.visible.get(self.cursor.at()).and_then(|&i| self.rows.get(i))
    }

    /// `record_ids` as bulk-delete targets, each as it is loaded now (what the user chose).
    pub fn targets_for(&self, record_ids: &[String]) -> Vec<Target> {
        record_ids
            .iter()
            .map(|id| Target {
                record_id: id.clone(),
                chosen: self.find(id).map(|row| Chosen::of(&row.record)),
            })
            .collect()
    }

    /// `targets` as the history's plan writes them: each with its record as loaded now.
    pub fn planned_for(&self, targets: &[Target]) -> Vec<crate::history::Planned> {
        let loaded: HashMap<&str, &BackupRecord> =
            self.rows.iter().map(|row| (row.id(), &row.record)).collect();
        targets
            .iter()
            .map(|target| crate::history::Planned {
                record_id: target.record_id.clone(),
                record: loaded
                    .get(target.record_id.as_str())
                    .map(|&record| record.clone()),
            })
            .collect()
    }

    pub fn find(&self, record_id: &str) -> Option<&RecordRow> {
        self.rows.iter().find(|row| row.id() == record_id)
    }

    /// Puts a record at the top of the list (a new record is the newest) and on the cursor.
    pub fn insert_new(&mut self, record: BackupRecord) {
        self.rows.insert(0, RecordRow::new(record));
        if !self.rows[0].matches(&self.filter.to_lowercase()) {
            // The user wants to see what they created: drop a filter that would hide it.
            self.filter.clear();
        }
        // Every index moved by one: rebuild the filtered view, then select the new record.
        self.rebuild_visible();
        self.cursor.reset();
        self.wanted = None;
    }

    /// Replaces a record in place (after it was completed elsewhere or fetched again).
    pub fn replace(&mut self, record: BackupRecord) {
        if let Some(row) = self.rows.iter_mut().find(|row| row.id() == record.record_id) {
            *row = RecordRow::new(record);
        }
    }

    /// Marks a record as completed without waiting for it to be fetched again.
    pub fn mark_completed(&mut self, record_id: &str) {
        if let Some(row) = self.rows.iter().find(|row| row.id() == record_id) {
            let mut record = row.record.clone();
            record.status = RecordStatus::Completed;
            self.replace(record);
        }
    }

    /// Removes deleted records, keeping the cursor on its record, or near where it was.
    pub fn remove(&mut self, record_ids: &BTreeSet<String>, visible_rows: usize) {
        if record_ids.is_empty() {
            return;
        }
        let keep = self.selected().map(|row| row.id().to_string());
        self.rows.retain(|row| !record_ids.contains(row.id()));
        if let Some(refresh) = &mut self.refresh {
            refresh.rows.retain(|row| !record_ids.contains(row.id()));
        }
        self.marked.retain(|id| !record_ids.contains(id));
        self.rebuild_visible();
        let kept = keep.and_then(|id| self.visible.iter().position(|&i| self.rows[i].id() == id));
        let at = kept.unwrap_or(self.cursor.at());
        self.cursor.select(at, self.visible.len(), visible_rows);
    }

    pub fn move_cursor(&mut self, delta: isize, visible_rows: usize) {
        self.cursor.move_by(delta, self.visible.len(), visible_rows);
        self.wanted = None;
    }

    /// Puts the cursor on the `row`-th visible line, if there is a record there.
    pub fn click(&mut self, row: usize) {
        if self.cursor.click(row, self.visible.len()) {
            self.wanted = None;
        }
    }

    /// Scrolls so that the cursor is shown (after a resize).
    pub fn scroll_to_cursor(&mut self, visible_rows: usize) {
        self.cursor.scroll_to_cursor(self.visible.len(), visible_rows);
    }

    pub fn toggle_mark(&mut self) {
        let Some(id) = self.selected().map(|row| row.id().to_string()) else {
            return;
        };
        if !self.marked.remove(&id) {
            self.marked.insert(id);
        }
    }

    /// Marks these records (those still loaded), e.g. the failures of a bulk delete, so that
    /// `d` tries them again.
    pub fn mark(&mut self, record_ids: impl IntoIterator<Item = String>) {
        for id in record_ids {
            if self.find(&id).is_some() {
                self.marked.insert(id);
            }
        }
    }

    /// Marks every record matching the filter; when all of them are marked already, unmarks them.
    pub fn mark_all_visible(&mut self) {
        let ids: Vec<String> = self
            .visible
            .iter()
            .map(|&i| self.rows[i].id().to_string())
            .collect();
        if !ids.is_empty() && ids.iter().all(|id| self.marked.contains(id)) {
            for id in &ids {
                self.marked.remove(id);
            }
        } else {
            self.marked.extend(ids);
        }
    }

    /// The loaded records, for the clean-up rules.
    pub fn records(&self) -> Vec<BackupRecord> {
        self.rows.iter().map(|row| row.record.clone()).collect()
    }

    /// The sizes of the records whose file lists were seen whole.
    pub fn known_sizes(&self) -> &HashMap<String, u64> {
        &self.known_sizes
    }

    /// The deletions queued through this connection, as the queue holds them now.
    pub fn set_queued(&mut self, queued: impl IntoIterator<Item = Queued>) {
        self.queued = queued.into_iter().map(|q| (q.record_id.clone(), q)).collect();
    }

    /// The queued deletion of `record_id`, if one is queued.
    pub fn queued(&self, record_id: &str) -> Option<&Queued> {
        self.queued.get(record_id)
    }

    /// How many of the loaded records are queued for deletion.
    pub fn queued_count(&self) -> usize {
        self.rows
            .iter()
            .filter(|row| self.queued.contains_key(row.id()))
            .count()
    }

    /// A new bulk delete's job number.
    fn next_job(&mut self) -> u64 {
        self.jobs += 1;
        self.jobs
    }

    /// Scrolls the list so that `offset` is its first row shown, whatever the cursor.
    #[cfg(test)]
    pub(crate) fn scroll_for_test(&mut self, offset: usize) {
        self.cursor.scroll_for_test(offset);
    }
}
