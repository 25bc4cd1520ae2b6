//! What the command line reads of one user to judge the health of their backups: the bound
//! devices and the records of each module asked for, every page, the modules listed at once.
//! (The app reads the same through its effects, page by page as the pane is drawn.)

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};

use super::RecordSummary;
use crate::api::client::RecordQuery;
use crate::api::{ApiError, Client, DEFAULT_MAX_PAGES, DeviceEntity, MAX_PAGE_SIZE, ModuleCode};

/// One user's devices and records.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    pub devices: Vec<DeviceEntity>,
    /// The records of each device id (bound or not), as listed.
    pub records: BTreeMap<String, Vec<RecordSummary>>,
    /// Devices and records the server sent that could not be read (left out).
    pub unreadable: usize,
}

impl Survey {
    /// The records of `device_id`.
    pub fn records_of(&self, device_id: &str) -> &[RecordSummary] {
        self.records.get(device_id).map_or(&[], Vec::as_slice)
    }
}

/// Lists the devices of `client`'s user and every record of `modules`. Fails with the first
/// error: figures from part of the records could call a device stale that is not.
pub async fn survey(client: &Client, modules: &[ModuleCode]) -> Result<Survey, ApiError> {
    let listings = modules.iter().map(|&module| {
        let query = RecordQuery {
            module,
            page_size: MAX_PAGE_SIZE,
            device_id: None,
        };
        client
            .record_pages(query, DEFAULT_MAX_PAGES)
            .try_collect::<Vec<_>>()
    });
    let (devices, pages) = tokio::try_join!(
        client.list_devices(),
        futures::stream::iter(listings)
            .buffer_unordered(modules.len().max(1))
            .try_collect::<Vec<_>>()
    )?;
    let mut survey = Survey {
        unreadable: devices.unreadable.len(),
        devices: devices.items,
        ..Survey::default()
    };
    for page in pages.into_iter().flatten() {
        survey.unreadable += page.unreadable.len();
        for record in &page.items {
            if let Some(summary) = RecordSummary::of(record) {
                survey
                    .records
                    .entry(record.device_info.device_id.clone())
                    .or_default()
                    .push(summary);
            }
        }
    }
    Ok(survey)
}
