//! How the devices pane takes the answers to the calls it asked for.

use super::dialogs::{Detail, Dialog, Loading};
use super::update::Out;
use super::{Load, Pending, RecordSize, RecordSummary, State};
use crate::api::error::ErrorKind;
use crate::api::{ApiError, BackupRecord, DEFAULT_MAX_PAGES, ModuleCode, Page};
use crate::tui::action::{ApiOutcome, Effect, ListingEnd, SizeRequest, SizesRead};
use crate::tui::feature::LogKind;
use crate::tui::records::MAX_LISTED_RECORDS;

impl State {
    /// The answer to a call of this feature.
    pub fn on_reply(&mut self, pending: Pending, outcome: ApiOutcome) -> Vec<Out> {
        match (pending, outcome) {
            (Pending::Devices { generation }, ApiOutcome::DevicesListed(result)) => {
                if generation == self.generation {
                    return self.devices_listed(result);
                }
                Vec::new()
            }
            (
                Pending::Records {
                    generation,
                    module,
                    page,
                },
                ApiOutcome::RecordsPage(result),
            ) => {
                if generation == self.generation {
                    return self.records_page(module, page, result);
                }
                Vec::new()
            }
            (Pending::Configs { device_id, module }, ApiOutcome::ConfigsListed(result)) => {
                if let Some(detail) = self.detail_of(&device_id, module) {
                    detail.configs = loaded(result.map(|page| page.items));
                    detail.move_cursor(0);
                }
                Vec::new()
            }
            (Pending::Scopes { device_id, module }, ApiOutcome::ScopesListed(result)) => {
                if let Some(detail) = self.detail_of(&device_id, module) {
                    detail.scopes = loaded(result.map(|page| page.items));
                    detail.move_cursor(0);
                }
                Vec::new()
            }
            (
                Pending::UpdateConfig {
                    device_id,
                    module,
                    name,
                },
                ApiOutcome::ConfigUpdated(result),
            ) => self.config_updated(&device_id, module, &name, result),
            (Pending::AddScopes { device_id, module }, ApiOutcome::ScopesAdded(result)) => {
                let message = match &result {
                    Ok(_) => "scope added".to_string(),
                    Err(error) => format!("scope not added: {error}"),
                };
                self.after_scope_change(&device_id, module, message)
            }
            (
                Pending::DeleteScope {
                    device_id,
                    module,
                    scope_id,
                },
                ApiOutcome::ScopesDeleted(result),
            ) => {
                let message = match &result {
                    Ok(done) if done.scope_id_list.contains(&scope_id) => format!("scope {scope_id} deleted"),
                    Ok(done) => match done.failed_scope_list.first() {
                        Some(failed) => format!(
                            "scope {scope_id} not deleted (code {}): {}",
                            failed.error_code, failed.msg
                        ),
                        None => format!("the server did not say whether scope {scope_id} was deleted"),
                    },
                    Err(error) => format!("scope {scope_id} not deleted: {error}"),
                };
                self.after_scope_change(&device_id, module, message)
            }
            (Pending::Unbind { device_id }, ApiOutcome::DeviceUnbound(result)) => {
                self.unbound(&device_id, result)
            }
            (pending, outcome) => {
                let text = format!("unexpected answer {outcome:?} to {pending:?}");
                vec![Out::log(LogKind::Warning, "internal", text)]
            }
        }
    }

    fn devices_listed(&mut self, result: Result<Page<crate::api::DeviceEntity>, ApiError>) -> Vec<Out> {
        match result {
            Ok(page) => {
                self.devices = page.items;
                self.load = Load::Loaded;
                self.clamp_cursor();
                if page.unreadable.is_empty() {
                    Vec::new()
                } else {
                    let text = format!(
                        "{} device(s) could not be read and are left out",
                        page.unreadable.len()
                    );
                    vec![Out::log(LogKind::Warning, "devices", text)]
                }
            }
            Err(error) => {
                self.load = Load::Failed(error.to_string());
                Vec::new()
            }
        }
    }

    fn records_page(
        &mut self,
        module: ModuleCode,
        page: usize,
        result: Result<Page<BackupRecord>, ApiError>,
    ) -> Vec<Out> {
        let page_data = match result {
            Ok(data) => data,
            Err(error) => {
                self.listing.retain(|m| *m != module);
                self.listing_error = Some(format!("records of {module}: {error}"));
                return self.size_request(Vec::new()).into_iter().collect();
            }
        };
        let mut summaries = Vec::new();
        for record in &page_data.items {
            let Some(summary) = RecordSummary::of(record) else {
                continue;
            };
            summaries.push(summary.clone());
            self.records
                .entry(record.device_info.device_id.clone())
                .or_default()
                .push(summary);
        }
        self.listed += page_data.items.len();
        let mut outs = Vec::new();
        match page_data.next_cursor {
            None => self.listing.retain(|m| *m != module),
            Some(cursor) => {
                let stop = if !self.cursors_seen.insert(format!("{module}:{cursor}")) {
                    Some("the server returned a page cursor twice".to_string())
                } else if page + 1 >= DEFAULT_MAX_PAGES || self.listed >= MAX_LISTED_RECORDS {
                    Some(format!(
                        "stopped after {} records (the listing limit)",
                        self.listed
                    ))
                } else {
                    None
                };
                match stop {
                    Some(reason) => {
                        self.listing.retain(|m| *m != module);
                        self.listing_error = Some(format!("records of {module}: {reason}"));
                    }
                    None => outs.push(self.page_request(module, page + 1, Some(cursor))),
                }
            }
        }
        outs.extend(self.size_request(summaries));
        outs
    }

    /// Sizes came (from the cache or the file lists); those of an abandoned listing are
    /// ignored.
    pub fn sizes_read(&mut self, read: SizesRead) -> Vec<Out> {
        if read.listing != self.generation {
            return Vec::new();
        }
        let mut unknown = 0;
        for (record_id, size) in read.sizes {
            if self.sizes_wanted.remove(&record_id) {
                unknown += usize::from(size == RecordSize::Unknown);
                self.sizes.insert(record_id, size);
            }
        }
        if unknown == 0 {
            return Vec::new();
        }
        let text = format!("the files of {unknown} record(s) could not be listed: size unknown");
        vec![Out::log(LogKind::Warning, "sizes", text)]
    }

    /// Asks for the sizes of `records` (those not asked for yet), and says when the listing has
    /// ended.
    fn size_request(&mut self, records: Vec<RecordSummary>) -> Option<Out> {
        let records: Vec<RecordSummary> = records
            .into_iter()
            .filter(|r| {
                !self.sizes.contains_key(&r.record_id) && self.sizes_wanted.insert(r.record_id.clone())
            })
            .collect();
        let end = match (self.is_listing(), &self.listing_error) {
            (true, _) => None,
            (false, None) => Some(ListingEnd::Complete),
            (false, Some(_)) => Some(ListingEnd::Partial),
        };
        if records.is_empty() && end.is_none() {
            return None;
        }
        Some(Out::Effect(Effect::ReadSizes(SizeRequest {
            listing: self.generation,
            records,
            end,
        })))
    }

    fn detail_of(&mut self, device_id: &str, module: ModuleCode) -> Option<&mut Detail> {
        match &mut self.dialog {
            Some(Dialog::Detail(detail))
                if detail.device.device_id == device_id && detail.module == module =>
            {
                Some(detail)
            }
            _ => None,
        }
    }

    fn config_updated(
        &mut self,
        device_id: &str,
        module: ModuleCode,
        name: &str,
        result: Result<crate::api::model::ConfigInfo, ApiError>,
    ) -> Vec<Out> {
        let Some(detail) = self.detail_of(device_id, module) else {
            return Vec::new();
        };
        match result {
            Ok(config) => {
                detail.message = Some(format!("{name} is now {}", config.config_value));
                if let Loading::Loaded(configs) = &mut detail.configs
                    && let Some(shown) = configs.iter_mut().find(|c| c.config_name == name)
                {
                    shown.config_value = config.config_value;
                }
                Vec::new()
            }
            Err(error) => {
                let changed = error.kind() == ErrorKind::Conflict;
                detail.message = Some(if changed {
                    format!(
                        "{name} was changed by someone else meanwhile; nothing changed. The settings were read again: {error}"
                    )
                } else {
                    format!("{name} not changed: {error}")
                });
                if changed {
                    detail.configs = Loading::Loading;
                    return vec![Out::Call(
                        Pending::Configs {
                            device_id: device_id.into(),
                            module,
                        },
                        crate::tui::action::ApiCall::ListConfigs {
                            device_id: device_id.into(),
                            module,
                        },
                    )];
                }
                Vec::new()
            }
        }
    }

    /// After a scope was added or deleted (or not): says how it went and reads the scopes again.
    fn after_scope_change(&mut self, device_id: &str, module: ModuleCode, message: String) -> Vec<Out> {
        let Some(detail) = self.detail_of(device_id, module) else {
            return Vec::new();
        };
        detail.message = Some(message);
        detail.scopes = Loading::Loading;
        vec![Out::Call(
            Pending::Scopes {
                device_id: device_id.into(),
                module,
            },
            crate::tui::action::ApiCall::ListScopes {
                device_id: device_id.into(),
                module,
            },
        )]
    }

    fn unbound(
        &mut self,
        device_id: &str,
        result: Result<Option<crate::api::DeviceEntity>, ApiError>,
    ) -> Vec<Out> {
        match result {
            Ok(_) => {
                let name = self
                    .devices
                    .iter()
                    .find(|d| d.device_id == device_id)
                    .map_or(device_id, crate::api::DeviceEntity::display_name)
                    .to_string();
                self.devices.retain(|d| d.device_id != device_id);
                self.clamp_cursor();
                if matches!(&self.dialog, Some(Dialog::Detail(detail)) if detail.device.device_id == device_id)
                {
                    self.dialog = None;
                }
                vec![Out::notice(format!(
                    "unbound {name}; its records stay, listed under its id"
                ))]
            }
            Err(error) => vec![Out::notice(format!("device not unbound: {error}"))],
        }
    }
}

fn loaded<T>(result: Result<T, ApiError>) -> Loading<T> {
    match result {
        Ok(value) => Loading::Loaded(value),
        Err(error) => Loading::Failed(error.to_string()),
    }
}
