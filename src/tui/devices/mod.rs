//! The devices pane: every bound device and, per module, its last completed backup, its records
//! by status, the `new` ones older than a day, the size of its backups, and a 30-day sparkline
//! of completed backups. Enter opens a device: its settings (configs) and what it backs up
//! (scopes) per module.
//!
//! The figures come from the records of all three modules, listed page by page when the pane is
//! first shown (`r` lists them again), and from the sizes of those records: each page of records
//! is handed to the runtime's size reading ([`crate::tui::action::Effect::ReadSizes`]), which
//! answers at once from the size cache shared with `status --sizes` and reads the other records'
//! file lists in the background at an adaptive pace. The pane is drawn with what has arrived so
//! far. Ages and the sparkline's days are counted on the server's clock, which stamped the
//! records.
//!
//! Deletions queued with a grace window through this connection are counted apart per device
//! and module (the app hands them over after each reading of the queue): their records are
//! still on the server, and still in the other counts, until the queue sends their deletes.

pub mod dialogs;
pub mod dialogs_view;
pub mod keys;
pub mod replies;
pub mod update;
pub mod view;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::api::{DeviceEntity, ModuleCode};
pub use crate::health::{RecordSize, RecordSummary};
use crate::tui::list_pane::ListCursor;
use dialogs::Dialog;

/// Records listed per request.
pub const RECORDS_PAGE_SIZE: u32 = 100;
/// Rows one device takes in the pane: its own line and one per module.
pub const ROWS_PER_DEVICE: usize = 1 + ModuleCode::ALL.len();

/// Where the device list stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    /// Never asked for (the pane was not shown yet).
    Idle,
    Loading,
    Loaded,
    Failed(String),
}

/// What an API call of this feature was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    Devices {
        generation: u64,
    },
    Records {
        generation: u64,
        module: ModuleCode,
        page: usize,
    },
    Scopes {
        device_id: String,
        module: ModuleCode,
    },
    Configs {
        device_id: String,
        module: ModuleCode,
    },
    UpdateConfig {
        device_id: String,
        module: ModuleCode,
        name: String,
    },
    AddScopes {
        device_id: String,
        module: ModuleCode,
    },
    DeleteScope {
        device_id: String,
        module: ModuleCode,
        scope_id: String,
    },
    Unbind {
        device_id: String,
    },
}

impl Pending {
    /// How the activity log names the call.
    pub fn describe(&self) -> String {
        let short = |id: &str| crate::tui::records::short_record_id(id);
        match self {
            Pending::Devices { .. } => "list devices".into(),
            Pending::Records { module, page, .. } => format!("figures {} p{}", module.code(), page + 1),
            Pending::Scopes { device_id, module } => {
                format!("scopes of {} in {}", short(device_id), module.code())
            }
            Pending::Configs { device_id, module } => {
                format!("settings of {} in {}", short(device_id), module.code())
            }
            Pending::UpdateConfig { device_id, name, .. } => format!("set {name} of {}", short(device_id)),
            Pending::AddScopes { device_id, .. } => format!("add scope to {}", short(device_id)),
            Pending::DeleteScope { scope_id, .. } => format!("delete scope {scope_id}"),
            Pending::Unbind { device_id } => format!("unbind {}", short(device_id)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct State {
    devices: Vec<DeviceEntity>,
    load: Load,
    /// Bumped by every listing, so that answers of an abandoned one are ignored.
    generation: u64,
    /// The records of each device id (bound or not), as listed so far.
    records: BTreeMap<String, Vec<RecordSummary>>,
    /// Modules whose records are still being listed.
    listing: Vec<ModuleCode>,
    /// Why the listing of a module stopped, if one did.
    listing_error: Option<String>,
    /// Page cursors seen per module: a server handing one out twice is not followed forever.
    cursors_seen: HashSet<String>,
    listed: usize,
    sizes: HashMap<String, RecordSize>,
    /// Records whose sizes were asked for and have not come yet.
    sizes_wanted: HashSet<String>,
    /// The `/` filter as typed: devices whose name, machine code or id hold it (case aside).
    filter: String,
    /// The device under the cursor among those the filter lets through, and the first shown.
    cursor: ListCursor,
    pub dialog: Option<Dialog>,
    /// Deletions queued through this connection, per device id and module: counted apart
    /// (the records are still on the server until the queue sends their deletes).
    queued: HashMap<(String, ModuleCode), usize>,
}

impl Default for State {
    fn default() -> State {
        State {
            devices: Vec::new(),
            load: Load::Idle,
            generation: 0,
            records: BTreeMap::new(),
            listing: Vec::new(),
            listing_error: None,
            cursors_seen: HashSet::new(),
            listed: 0,
            sizes: HashMap::new(),
            sizes_wanted: HashSet::new(),
            filter: String::new(),
            cursor: ListCursor::default(),
            dialog: None,
            queued: HashMap::new(),
        }
    }
}

impl State {
    /// The deletions queued through this connection, as the queue holds them now.
    pub fn set_queued(&mut self, queued: &[crate::pending::Queued]) {
        self.queued.clear();
        for q in queued {
            *self
                .queued
                .entry((q.device_id().to_string(), q.module))
                .or_default() += 1;
        }
    }

    /// How many deletions of `device_id`'s records of `module` are queued.
    pub fn queued_of(&self, device_id: &str, module: ModuleCode) -> usize {
        self.queued
            .get(&(device_id.to_string(), module))
            .copied()
            .unwrap_or(0)
    }

    pub fn devices(&self) -> &[DeviceEntity] {
        &self.devices
    }

    pub fn load(&self) -> &Load {
        &self.load
    }

    pub fn cursor(&self) -> usize {
        self.cursor.at()
    }

    pub fn offset(&self) -> usize {
        self.cursor.offset()
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The devices the filter lets through, in order.
    pub fn matching(&self) -> Vec<&DeviceEntity> {
        let needle = self.filter.to_lowercase();
        self.devices
            .iter()
            .filter(|d| {
                [&d.device_name, &d.machine_code, &d.device_id]
                    .iter()
                    .any(|text| text.to_lowercase().contains(&needle))
            })
            .collect()
    }

    pub fn selected(&self) -> Option<&DeviceEntity> {
        self.matching().get(self.cursor.at()).copied()
    }

    /// Applies a new filter, from the first device it lets through.
    pub fn set_filter(&mut self, filter: &str) {
        self.filter = filter.to_string();
        self.cursor.reset();
    }

    /// Keeps the cursor on a device shown, after devices went or the filter changed.
    fn clamp_cursor(&mut self) {
        self.cursor.clamp(self.matching().len());
    }

    /// The records of `device_id` listed so far.
    pub fn records_of(&self, device_id: &str) -> &[RecordSummary] {
        self.records.get(device_id).map_or(&[], Vec::as_slice)
    }

    pub fn sizes(&self) -> &HashMap<String, RecordSize> {
        &self.sizes
    }

    /// Whether the records are still being listed.
    pub fn is_listing(&self) -> bool {
        !self.listing.is_empty()
    }

    pub fn listing_error(&self) -> Option<&str> {
        self.listing_error.as_deref()
    }

    /// Sizes asked for that have not come yet.
    pub fn sizes_pending(&self) -> usize {
        self.sizes_wanted.len()
    }

    /// The pane as before its first showing, for another connection; answers of the listings
    /// before still come back under their generation, and are ignored.
    pub fn reset(&mut self) {
        *self = State {
            generation: self.generation,
            ..State::default()
        };
    }

    /// How many devices are late and how many stale under `rules` at `now`, once the devices
    /// and every record are listed (`None` before, or when a listing failed: a device with part
    /// of its records is not judged).
    pub fn late_and_stale(
        &self,
        rules: &crate::health::Rules,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<(usize, usize)> {
        if self.load != Load::Loaded || self.is_listing() || self.listing_error.is_some() {
            return None;
        }
        let mut counts = (0, 0);
        for device in &self.devices {
            let modules = crate::health::device_health(
                self.records_of(&device.device_id),
                device.create_time,
                &ModuleCode::ALL,
                &self.sizes,
                rules,
                now,
            );
            match crate::health::worst_freshness(&modules) {
                crate::health::Freshness::Late => counts.0 += 1,
                crate::health::Freshness::Stale => counts.1 += 1,
                crate::health::Freshness::Fresh | crate::health::Freshness::Unused => {}
            }
        }
        Some(counts)
    }

    /// Every figure is in: devices, records, and every size that can be known.
    pub fn is_complete(&self) -> bool {
        self.load == Load::Loaded && !self.is_listing() && self.sizes_pending() == 0
    }

    /// Moves the cursor by `delta` devices, scrolling so that it stays among the `visible`
    /// devices shown.
    pub fn move_cursor(&mut self, delta: isize, visible: usize) {
        self.cursor.move_by(delta, self.matching().len(), visible);
    }

    /// Selects the device shown at `row` (0 = the first line of the pane's body), if any.
    pub fn click(&mut self, row: usize) {
        self.cursor.click(row / ROWS_PER_DEVICE, self.matching().len());
    }
}
