//! State of the records pane: one module's records as loaded so far, the local filter (kept as
//! indices so that a frame only touches the rows it shows), the cursor and the marks.

use std::collections::{BTreeSet, HashSet};

use crate::api::client::NewRecord;
use crate::api::{BackupRecord, ModuleCode, RecordStatus};

/// Page size used to list records: the largest the API accepts.
pub const LIST_PAGE_SIZE: u32 = crate::api::MAX_PAGE_SIZE;

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
    /// A page failed; the records before it are shown.
    Failed {
        pages: usize,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub struct RecordsPane {
    pub module: Option<ModuleCode>,
    /// Server-side filter: only this device's records.
    pub device_filter: Option<String>,
    /// Every loaded record, in the server's order (newest first).
    pub rows: Vec<RecordRow>,
    /// The local `/` filter as typed.
    pub filter: String,
    /// Indices into `rows` of the records matching `filter`, in order.
    pub visible: Vec<usize>,
    /// Position of the cursor in `visible`.
    pub cursor: usize,
    /// First entry of `visible` shown.
    pub offset: usize,
    /// Record ids marked for a bulk delete.
    pub marked: BTreeSet<String>,
    pub load: LoadState,
    /// Bumped by every new listing, so that pages of an abandoned one are ignored.
    pub generation: u64,
    /// Put the cursor on this record when it arrives (after a create or a refresh).
    pub wanted: Option<String>,
    /// Whether this pane, rather than the locks pane, is shown above the activity log.
    pub on_top: bool,
    /// An operation that needs a lock for this module, waiting for the lock being created.
    pub waiting_for_lock: Option<(ModuleCode, LockedOp)>,
    /// Page cursors of the current listing: a server that hands one out twice would otherwise
    /// keep the listing (and its duplicate rows) going forever.
    pub cursors_seen: HashSet<String>,
}

/// A record operation that must be sent under a lock of the record's module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockedOp {
    Create(NewRecord),
    Complete {
        record_id: String,
        properties: Option<String>,
    },
    Delete {
        record_id: String,
    },
    BulkDelete {
        record_ids: Vec<String>,
    },
}

impl Default for RecordsPane {
    fn default() -> RecordsPane {
        RecordsPane {
            module: None,
            device_filter: None,
            rows: Vec::new(),
            filter: String::new(),
            visible: Vec::new(),
            cursor: 0,
            offset: 0,
            marked: BTreeSet::new(),
            load: LoadState::Idle,
            generation: 0,
            wanted: None,
            on_top: false,
            waiting_for_lock: None,
            cursors_seen: HashSet::new(),
        }
    }
}

impl RecordsPane {
    /// Forgets the loaded records and starts a new listing of `module`; returns its generation.
    pub fn start_listing(&mut self, module: ModuleCode) -> u64 {
        if self.module != Some(module) {
            self.marked.clear();
            self.wanted = None;
        } else if self.wanted.is_none() {
            self.wanted = self.selected().map(|row| row.id().to_string());
        }
        self.module = Some(module);
        self.rows.clear();
        self.visible.clear();
        self.cursor = 0;
        self.offset = 0;
        self.load = LoadState::Loading { pages: 0 };
        self.cursors_seen.clear();
        self.generation += 1;
        self.generation
    }

    pub fn is_loading(&self) -> bool {
        matches!(self.load, LoadState::Loading { .. })
    }

    /// Adds one page of the current listing. `last` when the server sent no further cursor.
    pub fn add_page(&mut self, records: Vec<BackupRecord>, last: bool, visible_rows: usize) {
        let needle = self.filter.to_lowercase();
        let start = self.rows.len();
        self.rows.extend(records.into_iter().map(RecordRow::new));
        for index in start..self.rows.len() {
            if self.rows[index].matches(&needle) {
                self.visible.push(index);
            }
        }
        let pages = self.pages() + 1;
        self.load = if last {
            LoadState::Loaded { pages }
        } else {
            LoadState::Loading { pages }
        };
        self.seek_wanted(visible_rows);
        if last {
            // Marks of records that are gone (deleted elsewhere) would be deleted blindly.
            let present: BTreeSet<&str> = self.rows.iter().map(RecordRow::id).collect();
            self.marked.retain(|id| present.contains(id.as_str()));
        }
    }

    pub fn load_failed(&mut self, message: String) {
        self.load = LoadState::Failed {
            pages: self.pages(),
            message,
        };
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
            self.cursor = position;
            self.wanted = None;
            self.scroll_to_cursor(visible_rows);
        }
    }

    /// Applies a new local filter, keeping the cursor on the same record when it still matches.
    pub fn set_filter(&mut self, filter: &str, visible_rows: usize) {
        let keep = self.selected().map(|row| row.id().to_string());
        self.filter = filter.to_string();
        self.rebuild_visible();
        self.cursor = keep
            .and_then(|id| self.visible.iter().position(|&i| self.rows[i].id() == id))
            .unwrap_or(0);
        self.offset = 0;
        self.scroll_to_cursor(visible_rows);
    }

    /// `visible` from scratch, after `rows` or `filter` changed.
    fn rebuild_visible(&mut self) {
        let needle = self.filter.to_lowercase();
        self.visible = (0..self.rows.len())
            .filter(|&i| self.rows[i].matches(&needle))
            .collect();
    }

    pub fn selected(&self) -> Option<&RecordRow> {
        self.visible.get(self.cursor).and_then(|&i| self.rows.get(i))
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
        self.cursor = 0;
        self.offset = 0;
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
        self.marked.retain(|id| !record_ids.contains(id));
        self.rebuild_visible();
        let kept = keep.and_then(|id| self.visible.iter().position(|&i| self.rows[i].id() == id));
        self.cursor = kept
            .unwrap_or(self.cursor)
            .min(self.visible.len().saturating_sub(1));
        self.scroll_to_cursor(visible_rows);
    }

    pub fn move_cursor(&mut self, delta: isize, visible_rows: usize) {
        let last = self.visible.len().saturating_sub(1);
        self.cursor = self.cursor.saturating_add_signed(delta).min(last);
        self.wanted = None;
        self.scroll_to_cursor(visible_rows);
    }

    /// Puts the cursor on the `row`-th visible line, if there is a record there.
    pub fn click(&mut self, row: usize) {
        let index = self.offset + row;
        if index < self.visible.len() {
            self.cursor = index;
            self.wanted = None;
        }
    }

    pub fn scroll_to_cursor(&mut self, visible_rows: usize) {
        let visible_rows = visible_rows.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + visible_rows {
            self.offset = self.cursor + 1 - visible_rows;
        }
        // After a filter or a resize the list may be shorter than the window.
        let max_offset = self.visible.len().saturating_sub(visible_rows);
        self.offset = self.offset.min(max_offset);
    }

    pub fn toggle_mark(&mut self) {
        let Some(id) = self.selected().map(|row| row.id().to_string()) else {
            return;
        };
        if !self.marked.remove(&id) {
            self.marked.insert(id);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::DeviceEntity;
    use chrono::{TimeZone, Utc};

    pub(crate) fn record(n: usize, status: RecordStatus, device: &str) -> BackupRecord {
        BackupRecord {
            record_id: format!("{}", 1_000_000 + n),
            module_code: ModuleCode::AddressBook.into(),
            status,
            properties: format!(r#"{{"batch":{}}}"#, n % 7),
            version: 1,
            create_time: Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap(),
            end_time: None,
            device_info: DeviceEntity {
                device_id: device.into(),
                device_name: format!("{device} name"),
                ..DeviceEntity::default()
            },
        }
    }

    fn page(from: usize, n: usize) -> Vec<BackupRecord> {
        (from..from + n)
            .map(|i| record(i, RecordStatus::New, if i % 2 == 0 { "pixel" } else { "iphone" }))
            .collect()
    }

    fn loaded(n: usize) -> RecordsPane {
        let mut pane = RecordsPane::default();
        pane.start_listing(ModuleCode::AddressBook);
        pane.add_page(page(0, n), true, 10);
        pane
    }

    #[test]
    fn pages_append_and_the_last_one_ends_loading() {
        let mut pane = RecordsPane::default();
        let generation = pane.start_listing(ModuleCode::AddressBook);
        assert!(pane.is_loading());
        pane.add_page(page(0, 100), false, 10);
        assert_eq!(pane.load, LoadState::Loading { pages: 1 });
        pane.add_page(page(100, 100), false, 10);
        pane.add_page(page(200, 50), true, 10);
        assert_eq!(pane.load, LoadState::Loaded { pages: 3 });
        assert_eq!(pane.rows.len(), 250);
        assert_eq!(pane.visible.len(), 250);
        assert_eq!(pane.start_listing(ModuleCode::AddressBook), generation + 1);
    }

    #[test]
    fn the_filter_searches_id_device_status_and_properties_case_blind() {
        let mut pane = loaded(20);
        pane.set_filter("IPHONE", 10);
        assert_eq!(pane.visible.len(), 10);
        pane.set_filter("1000003", 10);
        assert_eq!(pane.visible, vec![3]);
        pane.set_filter("\"batch\":6", 10);
        assert_eq!(pane.visible, vec![6, 13]);
        pane.set_filter("to be deleted", 10);
        assert!(pane.visible.is_empty());
        assert!(pane.selected().is_none());
        pane.set_filter("", 10);
        assert_eq!(pane.visible.len(), 20);
    }

    #[test]
    fn new_pages_are_filtered_as_they_arrive() {
        let mut pane = RecordsPane::default();
        pane.start_listing(ModuleCode::AddressBook);
        pane.set_filter("pixel", 10);
        pane.add_page(page(0, 10), false, 10);
        pane.add_page(page(10, 10), true, 10);
        assert_eq!(pane.visible.len(), 10);
        assert!(
            pane.visible
                .iter()
                .all(|&i| pane.rows[i].record.device_info.device_id == "pixel")
        );
    }

    #[test]
    fn the_cursor_stays_on_its_record_across_filters() {
        let mut pane = loaded(20);
        pane.move_cursor(4, 10);
        assert_eq!(pane.selected().unwrap().id(), "1000004");
        pane.set_filter("pixel", 10);
        assert_eq!(pane.selected().unwrap().id(), "1000004");
        pane.set_filter("", 10);
        assert_eq!(pane.selected().unwrap().id(), "1000004");
    }

    #[test]
    fn scrolling_keeps_the_cursor_in_view() {
        let mut pane = loaded(250);
        pane.move_cursor(30, 10);
        assert_eq!((pane.cursor, pane.offset), (30, 21));
        pane.move_cursor(isize::MAX / 2, 10);
        assert_eq!((pane.cursor, pane.offset), (249, 240));
        pane.move_cursor(-1000, 10);
        assert_eq!((pane.cursor, pane.offset), (0, 0));
    }

    #[test]
    fn a_refresh_comes_back_to_the_same_record() {
        let mut pane = loaded(250);
        pane.move_cursor(150, 10);
        pane.start_listing(ModuleCode::AddressBook);
        pane.add_page(page(0, 100), false, 10);
        assert_eq!(pane.cursor, 0, "not loaded yet");
        pane.add_page(page(100, 100), false, 10);
        assert_eq!(pane.selected().unwrap().id(), "1000150");
        pane.move_cursor(1, 10);
        pane.add_page(page(200, 50), true, 10);
        assert_eq!(
            pane.selected().unwrap().id(),
            "1000151",
            "the user moved on: stay"
        );
    }

    #[test]
    fn marks_toggle_and_mark_all_follows_the_filter() {
        let mut pane = loaded(10);
        pane.toggle_mark();
        assert!(pane.marked.contains("1000000"));
        pane.toggle_mark();
        assert!(pane.marked.is_empty());
        pane.set_filter("pixel", 10);
        pane.mark_all_visible();
        assert_eq!(pane.marked.len(), 5);
        pane.mark_all_visible();
        assert!(pane.marked.is_empty());
    }

    #[test]
    fn removing_records_drops_their_marks_and_keeps_the_cursor_near() {
        let mut pane = loaded(10);
        pane.move_cursor(5, 10);
        pane.mark_all_visible();
        let gone: BTreeSet<String> = ["1000005", "1000006"].map(String::from).into();
        pane.remove(&gone, 10);
        assert_eq!(pane.rows.len(), 8);
        assert_eq!(pane.marked.len(), 8);
        assert_eq!(pane.selected().unwrap().id(), "1000007");
    }

    #[test]
    fn removing_the_selected_or_every_record_is_safe() {
        let mut pane = loaded(3);
        pane.move_cursor(2, 10);
        pane.remove(&BTreeSet::from(["1000002".to_string()]), 10);
        assert_eq!(pane.selected().unwrap().id(), "1000001");
        pane.remove(&pane.rows.iter().map(|r| r.id().to_string()).collect(), 10);
        assert!(pane.selected().is_none());
        assert_eq!((pane.cursor, pane.offset), (0, 0));
    }

    #[test]
    fn a_created_record_goes_on_top_and_under_the_cursor_even_through_a_filter() {
        let mut pane = loaded(10);
        pane.set_filter("iphone", 10);
        pane.insert_new(record(99, RecordStatus::New, "pixel"));
        assert_eq!(pane.selected().unwrap().id(), "1000099");
        assert_eq!(pane.filter, "");
        assert_eq!(pane.cursor, 0);
    }

    #[test]
    fn completing_changes_the_status_in_place() {
        let mut pane = loaded(3);
        pane.mark_completed("1000001");
        assert_eq!(
            pane.find("1000001").unwrap().record.status,
            RecordStatus::Completed
        );
        pane.set_filter("completed", 10);
        assert_eq!(pane.visible, vec![1]);
    }
}
