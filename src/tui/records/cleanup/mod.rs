//! The clean-up view: candidates proposed by [`crate::cleanup`] over the loaded records, each
//! ticked by default; the user unticks what should stay, then confirms. The retention policy
//! for completed backups is edited in place (`e`), the candidates and the per-device summary
//! following each keystroke that makes a valid policy.

mod update;
pub mod view;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use tui_input::Input;

use crate::api::{BackupRecord, ModuleCode};
use crate::cleanup::{Candidate, CleanupRules, Kept, plan};
use crate::retention::Retention;

/// Ages offered for "still new after": the `+` and `-` keys step through them.
pub const AGE_PRESETS: [chrono::Duration; 7] = [
    chrono::Duration::hours(1),
    chrono::Duration::hours(6),
    chrono::Duration::hours(24),
    chrono::Duration::days(3),
    chrono::Duration::days(7),
    chrono::Duration::days(30),
    chrono::Duration::days(90),
];

/// The preset the view opens with: the rule's default of 24 hours.
const DEFAULT_PRESET: usize = 2;

#[derive(Debug, Clone)]
pub struct CleanupView {
    pub module: ModuleCode,
    pub preset: usize,
    pub rules: CleanupRules,
    pub candidates: Vec<Candidate>,
    /// Record ids the user unticked; everything else proposed is ticked.
    pub unticked: BTreeSet<String>,
    pub cursor: usize,
    /// The listing was still loading (or failed) when the view was opened: say so.
    pub partial: bool,
    /// What the retention policy keeps, with the rule that keeps each.
    pub kept: Vec<Kept>,
    /// The retention policy being edited, and the policy to go back to on Esc.
    pub editing: Option<RulesEditor>,
}

/// The retention policy as typed, with why it cannot be used yet.
#[derive(Debug, Clone)]
pub struct RulesEditor {
    pub input: Input,
    pub error: Option<String>,
    before: Option<Retention>,
}

/// Per device and module, how many completed backups the policy keeps and how many records are
/// proposed for deletion (of any kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    pub device: String,
    /// The device's name as its records give it (its id when they give none).
    pub name: String,
    pub module: String,
    pub kept: usize,
    pub deleted: usize,
    /// What deleting the proposed records frees, as far as known, and of how many it is known.
    pub freed: u64,
    pub sized: usize,
}

impl CleanupView {
    /// The view over `records` with the profile's retention policy, if any.
    pub fn new(
        module: ModuleCode,
        records: &[BackupRecord],
        partial: bool,
        now: DateTime<Utc>,
        retention: Option<Retention>,
    ) -> CleanupView {
        let rules = CleanupRules {
            stale_new_after: AGE_PRESETS[DEFAULT_PRESET],
            retention,
            ..CleanupRules::default()
        };
        let mut view = CleanupView {
            module,
            preset: DEFAULT_PRESET,
            candidates: Vec::new(),
            rules,
            unticked: BTreeSet::new(),
            cursor: 0,
            partial,
            kept: Vec::new(),
            editing: None,
        };
        view.recompute(records, now);
        view
    }

    /// Applies changed rules to `records`. Unticks are kept for records still proposed.
    fn recompute(&mut self, records: &[BackupRecord], now: DateTime<Utc>) {
        let plan = plan(records, &self.rules, now);
        self.candidates = plan.delete;
        self.kept = plan.keep;
        let proposed: BTreeSet<&str> = self
            .candidates
            .iter()
            .map(|c| c.record.record_id.as_str())
            .collect();
        self.unticked.retain(|id| proposed.contains(id.as_str()));
        self.cursor = self.cursor.min(self.candidates.len().saturating_sub(1));
    }

    pub fn change_age(&mut self, step: isize, records: &[BackupRecord], now: DateTime<Utc>) {
        self.preset = self.preset.saturating_add_signed(step).min(AGE_PRESETS.len() - 1);
        self.rules.stale_new_after = AGE_PRESETS[self.preset];
        self.recompute(records, now);
    }

    pub fn toggle_marked_for_deletion(&mut self, records: &[BackupRecord], now: DateTime<Utc>) {
        self.rules.include_to_be_deleted = !self.rules.include_to_be_deleted;
        self.recompute(records, now);
    }

    pub fn is_ticked(&self, candidate: &Candidate) -> bool {
        !self.unticked.contains(&candidate.record.record_id)
    }

    pub fn toggle(&mut self) {
        let Some(candidate) = self.candidates.get(self.cursor) else {
            return;
        };
        let id = candidate.record.record_id.clone();
        if !self.unticked.remove(&id) {
            self.unticked.insert(id);
        }
    }

    /// Ticks every candidate; when all are ticked already, unticks them all.
    pub fn toggle_all(&mut self) {
        if self.unticked.is_empty() {
            self.unticked = self
                .candidates
                .iter()
                .map(|c| c.record.record_id.clone())
                .collect();
        } else {
            self.unticked.clear();
        }
    }

    pub fn move_cursor(&mut self, delta: isize) {
        let last = self.candidates.len().saturating_sub(1);
        self.cursor = self.cursor.saturating_add_signed(delta).min(last);
    }

    /// Starts editing the retention policy, from the one in force.
    pub fn edit_rules(&mut self) {
        let text = self.rules.retention.map(|p| p.to_text()).unwrap_or_default();
        self.editing = Some(RulesEditor {
            input: Input::new(text),
            error: None,
            before: self.rules.retention,
        });
    }

    /// The policy text changed: a valid one applies at once, an invalid one says why and leaves
    /// the last valid one in force.
    pub fn rules_edited(&mut self, records: &[BackupRecord], now: DateTime<Utc>) {
        let Some(editor) = &mut self.editing else {
            return;
        };
        match Retention::parse(editor.input.value()) {
            Ok(policy) => {
                editor.error = None;
                self.rules.retention = policy;
                self.recompute(records, now);
            }
            Err(error) => editor.error = Some(error),
        }
    }

    /// Enter: keeps the policy in force (the last valid one typed).
    pub fn finish_editing(&mut self) {
        self.editing = None;
    }

    /// Esc: back to the policy the view had before editing.
    pub fn cancel_editing(&mut self, records: &[BackupRecord], now: DateTime<Utc>) {
        if let Some(editor) = self.editing.take() {
            self.rules.retention = editor.before;
            self.recompute(records, now);
        }
    }

    /// Per device and module, kept and proposed counts and the size freed as far as `sizes`
    /// (record id → total size of its files) knows it, in device order.
    pub fn summary(&self, sizes: &HashMap<String, u64>) -> Vec<DeviceSummary> {
        let mut groups: BTreeMap<(String, String), DeviceSummary> = BTreeMap::new();
        fn entry<'a>(
            groups: &'a mut BTreeMap<(String, String), DeviceSummary>,
            record: &BackupRecord,
        ) -> &'a mut DeviceSummary {
            let (device, module) = group_of(record);
            groups
                .entry((device.clone(), module.clone()))
                .or_insert_with(|| DeviceSummary {
                    name: record.device_info.display_name().to_string(),
                    device,
                    module,
                    kept: 0,
                    deleted: 0,
                    freed: 0,
                    sized: 0,
                })
        }
        for kept in &self.kept {
            entry(&mut groups, &kept.record).kept += 1;
        }
        for candidate in &self.candidates {
            let summary = entry(&mut groups, &candidate.record);
            summary.deleted += 1;
            if let Some(size) = sizes.get(&candidate.record.record_id) {
                summary.freed = summary.freed.saturating_add(*size);
                summary.sized += 1;
            }
        }
        groups.into_values().collect()
    }

    /// The ticked record ids, in list order.
    pub fn ticked(&self) -> Vec<String> {
        self.candidates
            .iter()
            .filter(|c| self.is_ticked(c))
            .map(|c| c.record.record_id.clone())
            .collect()
    }
}

fn group_of(record: &BackupRecord) -> (String, String) {
    (
        record.device_info.device_id.clone(),
        record.module_code.code().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{DeviceEntity, RecordStatus};

    fn now() -> DateTime<Utc> {
        "2025-11-03T12:00:00Z".parse().unwrap()
    }

    fn record(id: &str, status: RecordStatus, hours: i64) -> BackupRecord {
        BackupRecord {
            record_id: id.into(),
            module_code: ModuleCode::Album.into(),
            status,
            properties: String::new(),
            version: 1,
            create_time: now() - chrono::Duration::hours(hours),
            end_time: None,
            device_info: DeviceEntity::default(),
        }
    }

    fn records() -> Vec<BackupRecord> {
        vec![
            record("new-2h", RecordStatus::New, 2),
            record("new-30h", RecordStatus::New, 30),
            record("new-100d", RecordStatus::New, 2400),
            record("done", RecordStatus::Completed, 2400),
            record("marked", RecordStatus::ToBeDeleted, 1),
        ]
    }

    #[test]
    fn proposes_old_new_records_and_marked_ones_all_ticked() {
        let view = CleanupView::new(ModuleCode::Album, &records(), false, now(), None);
        assert_eq!(view.ticked(), ["new-30h", "new-100d", "marked"]);
    }

    #[test]
    fn the_age_steps_through_presets_and_keeps_unticks() {
        let records = records();
        let mut view = CleanupView::new(ModuleCode::Album, &records, false, now(), None);
        view.move_cursor(1);
        view.toggle();
        assert_eq!(view.ticked(), ["new-30h", "marked"]);
        view.change_age(-1, &records, now());
        assert_eq!(view.rules.stale_new_after, chrono::Duration::hours(6));
        assert_eq!(view.ticked(), ["new-30h", "marked"], "new-2h is younger than 6h");
        view.change_age(-1, &records, now());
        assert_eq!(view.ticked(), ["new-2h", "new-30h", "marked"]);
        view.change_age(100, &records, now());
        assert_eq!(view.rules.stale_new_after, chrono::Duration::days(90));
        assert_eq!(view.ticked(), ["marked"], "new-100d is still unticked");
    }

    #[test]
    fn marked_records_can_be_left_out_and_all_can_be_unticked() {
        let records = records();
        let mut view = CleanupView::new(ModuleCode::Album, &records, false, now(), None);
        view.toggle_marked_for_deletion(&records, now());
        assert_eq!(view.ticked(), ["new-30h", "new-100d"]);
        view.toggle_all();
        assert!(view.ticked().is_empty());
        view.toggle_all();
        assert_eq!(view.ticked().len(), 2);
    }
}
