//! How the devices pane and its dialogs take keys. Calls leave as [`Out::Call`]; their answers
//! come back in `replies.rs`.

use crossterm::event::{Event, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::dialogs::{Detail, Dialog, Edit, Selected, parse_scope};
use super::{Load, Pending, RECORDS_PAGE_SIZE, ROWS_PER_DEVICE, State};
use crate::api::ModuleCode;
use crate::api::client::RecordQuery;
use crate::api::model::UpdateConfigRequest;
use crate::tui::action::ApiCall;
use crate::tui::keymap::{Command, DeviceCommand};
use crate::tui::text_input::insert_at_cursor;

pub type Out = crate::tui::feature::Out<Pending>;

/// Devices the pane shows at once in `rows` rows.
pub fn visible_devices(rows: usize) -> usize {
    (rows / ROWS_PER_DEVICE).max(1)
}

impl State {
    /// The pane is being shown: the first time, the devices and their figures are asked for.
    pub fn shown(&mut self) -> Vec<Out> {
        if self.load == Load::Idle {
            self.start()
        } else {
            Vec::new()
        }
    }

    /// Lists the devices and the records of every module again; their sizes are asked for
    /// again too (the size cache answers for those that cannot have changed).
    fn start(&mut self) -> Vec<Out> {
        self.generation += 1;
        self.load = Load::Loading;
        self.records.clear();
        self.listing = ModuleCode::ALL.to_vec();
        self.listing_error = None;
        self.cursors_seen.clear();
        self.listed = 0;
        self.sizes.clear();
        self.sizes_wanted.clear();
        let mut outs = vec![Out::Call(
            Pending::Devices {
                generation: self.generation,
            },
            ApiCall::ListDevices,
        )];
        outs.extend(ModuleCode::ALL.map(|module| self.page_request(module, 0, None)));
        outs
    }

    pub(super) fn page_request(&self, module: ModuleCode, page: usize, cursor: Option<String>) -> Out {
        let query = RecordQuery {
            module,
            page_size: RECORDS_PAGE_SIZE,
            device_id: None,
        };
        Out::Call(
            Pending::Records {
                generation: self.generation,
                module,
                page,
            },
            ApiCall::ListRecords { query, cursor },
        )
    }

    /// A key command while the pane has the focus and no dialog is open.
    pub fn command(&mut self, command: DeviceCommand) -> Vec<Out> {
        let Some(device) = self.selected().cloned() else {
            return match command {
                DeviceCommand::Refresh => self.start(),
                DeviceCommand::Filter => self.open_filter(),
                DeviceCommand::ClearFilter => self.clear_filter(),
                _ => vec![Out::notice("no device selected")],
            };
        };
        match command {
            DeviceCommand::Refresh => self.start(),
            DeviceCommand::Filter => self.open_filter(),
            DeviceCommand::ClearFilter => self.clear_filter(),
            DeviceCommand::Open => {
                let module = self.first_module_with_records(&device.device_id);
                self.open(device, module)
            }
            DeviceCommand::Unbind => {
                self.ask_to_unbind(device);
                Vec::new()
            }
            DeviceCommand::BrowseRecords => {
                let module = self.first_module_with_records(&device.device_id);
                vec![Out::BrowseRecords {
                    module,
                    device_id: device.device_id,
                }]
            }
            // The detail view's keys.
            DeviceCommand::ChangeModule(_)
            | DeviceCommand::AddScope
            | DeviceCommand::DeleteScope
            | DeviceCommand::EditSetting => Vec::new(),
        }
    }

    /// The module whose records of `device_id` come first, else folder backup.
    fn first_module_with_records(&self, device_id: &str) -> ModuleCode {
        ModuleCode::ALL
            .into_iter()
            .find(|module| self.records_of(device_id).iter().any(|r| r.module == *module))
            .unwrap_or(ModuleCode::Folder)
    }

    fn open(&mut self, device: crate::api::DeviceEntity, module: ModuleCode) -> Vec<Out> {
        let outs = detail_requests(&device.device_id, module);
        self.dialog = Some(Dialog::Detail(Box::new(Detail::new(device, module))));
        outs
    }

    fn open_filter(&mut self) -> Vec<Out> {
        self.dialog = Some(Dialog::Filter(tui_input::Input::new(self.filter.clone())));
        Vec::new()
    }

    /// Esc in the pane: the filter goes.
    fn clear_filter(&mut self) -> Vec<Out> {
        if !self.filter.is_empty() {
            self.set_filter("");
        }
        Vec::new()
    }

    fn ask_to_unbind(&mut self, device: crate::api::DeviceEntity) {
        let records = self.records_of(&device.device_id).len();
        self.dialog = Some(Dialog::ConfirmUnbind { device, records });
    }

    /// A key command while one of the pane's dialogs is open.
    pub fn dialog_command(&mut self, command: Command) -> Vec<Out> {
        let Some(dialog) = self.dialog.take() else {
            return Vec::new();
        };
        match dialog {
            Dialog::ConfirmUnbind { device, records } => match command {
                Command::Confirm => vec![Out::Call(
                    Pending::Unbind {
                        device_id: device.device_id.clone(),
                    },
                    ApiCall::UnbindDevice {
                        device_id: device.device_id,
                    },
                )],
                Command::Cancel => vec![Out::notice(format!(
                    "device {} stays bound",
                    device.display_name()
                ))],
                _ => {
                    self.dialog = Some(Dialog::ConfirmUnbind { device, records });
                    Vec::new()
                }
            },
            Dialog::Detail(detail) => self.detail_command(*detail, command),
            Dialog::Filter(mut input) => {
                match command {
                    Command::Confirm => {}
                    Command::Cancel => self.set_filter(""),
                    Command::ClearInput => {
                        input.reset();
                        self.set_filter("");
                        self.dialog = Some(Dialog::Filter(input));
                    }
                    _ => self.dialog = Some(Dialog::Filter(input)),
                }
                Vec::new()
            }
        }
    }

    fn detail_command(&mut self, mut detail: Detail, command: Command) -> Vec<Out> {
        if detail.edit.is_some() {
            return self.edit_command(detail, command);
        }
        let mut outs = Vec::new();
        match command {
            Command::Cancel => return Vec::new(),
            Command::Up => detail.move_cursor(-1),
            Command::Down => detail.move_cursor(1),
            Command::PickOption(index) => {
                if let Some(&module) = ModuleCode::ALL.get(index) {
                    outs = switch_module(&mut detail, module);
                }
            }
            Command::Devices(DeviceCommand::ChangeModule(step)) => {
                let index = ModuleCode::ALL
                    .iter()
                    .position(|m| *m == detail.module)
                    .unwrap_or(0);
                let next = (index as isize + step).rem_euclid(ModuleCode::ALL.len() as isize) as usize;
                outs = switch_module(&mut detail, ModuleCode::ALL[next]);
            }
            Command::Devices(DeviceCommand::Refresh) => {
                let module = detail.module;
                outs = switch_module(&mut detail, module);
            }
            Command::Devices(DeviceCommand::EditSetting) => match detail.selected() {
                Some(Selected::Config(config)) => {
                    detail.edit = Some(Edit::Config {
                        name: config.config_name.clone(),
                        current: config.config_value.clone(),
                        input: tui_input::Input::new(config.config_value.clone()),
                        error: None,
                    });
                }
                Some(Selected::Scope(_)) => {
                    detail.message = Some("Enter changes a setting; d deletes the selected scope".into());
                }
                None => {}
            },
            Command::Devices(DeviceCommand::AddScope) => {
                detail.edit = Some(Edit::AddScope {
                    input: tui_input::Input::default(),
                    error: None,
                });
            }
            Command::Devices(DeviceCommand::DeleteScope) => match detail.selected() {
                Some(Selected::Scope(scope)) => {
                    detail.edit = Some(Edit::ConfirmScopeDelete { scope: scope.clone() })
                }
                _ => detail.message = Some("select a scope (below the settings) to delete it".into()),
            },
            Command::Devices(DeviceCommand::BrowseRecords) => {
                return vec![Out::BrowseRecords {
                    module: detail.module,
                    device_id: detail.device.device_id,
                }];
            }
            Command::Devices(DeviceCommand::Unbind) => {
                self.ask_to_unbind(detail.device);
                return Vec::new();
            }
            _ => {}
        }
        self.dialog = Some(Dialog::Detail(Box::new(detail)));
        outs
    }

    fn edit_command(&mut self, mut detail: Detail, command: Command) -> Vec<Out> {
        let device_id = detail.device.device_id.clone();
        let module = detail.module;
        let mut outs = Vec::new();
        match (detail.edit.take(), command) {
            (Some(_), Command::Cancel) => {}
            (Some(mut edit @ (Edit::Config { .. } | Edit::AddScope { .. })), Command::ClearInput) => {
                if let Edit::Config { input, .. } | Edit::AddScope { input, .. } = &mut edit {
                    input.reset();
                }
                detail.edit = Some(edit);
            }
            (
                Some(Edit::Config {
                    name, current, input, ..
                }),
                Command::Confirm,
            ) => {
                let request = UpdateConfigRequest {
                    module_code: module.code().into(),
                    config_name: name.clone(),
                    current_config_value: current,
                    new_config_value: input.value().trim().to_string(),
                };
                detail.message = Some(format!("setting {name}…"));
                outs.push(Out::Call(
                    Pending::UpdateConfig {
                        device_id: device_id.clone(),
                        module,
                        name,
                    },
                    ApiCall::UpdateConfig {
                        device_id,
                        request: Box::new(request),
                    },
                ));
            }
            (Some(Edit::AddScope { input, .. }), Command::Confirm) => match parse_scope(input.value()) {
                Ok(scope) => {
                    detail.message = Some("adding the scope…".into());
                    outs.push(Out::Call(
                        Pending::AddScopes {
                            device_id: device_id.clone(),
                            module,
                        },
                        ApiCall::AddScopes {
                            device_id,
                            module,
                            scopes: vec![scope],
                        },
                    ));
                }
                Err(error) => {
                    detail.edit = Some(Edit::AddScope {
                        input,
                        error: Some(error),
                    })
                }
            },
            (Some(Edit::ConfirmScopeDelete { scope }), Command::Confirm) => {
                detail.message = Some(format!("deleting scope {}…", scope.scope_id));
                outs.push(Out::Call(
                    Pending::DeleteScope {
                        device_id: device_id.clone(),
                        module,
                        scope_id: scope.scope_id.clone(),
                    },
                    ApiCall::DeleteScopes {
                        device_id,
                        scope_ids: vec![scope.scope_id],
                    },
                ));
            }
            (edit, _) => detail.edit = edit,
        }
        self.dialog = Some(Dialog::Detail(Box::new(detail)));
        outs
    }

    /// A key typed into the open edit field.
    pub fn typed(&mut self, key: KeyEvent) {
        if let Some(input) = self.dialog.as_mut().and_then(Dialog::input_mut)
            && input.handle_event(&Event::Key(key)).is_some()
        {
            self.edited();
        }
    }

    /// Pasted text for the open edit field, on one line.
    pub fn pasted(&mut self, text: &str) {
        if let Some(input) = self.dialog.as_mut().and_then(Dialog::input_mut) {
            let line: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            insert_at_cursor(input, line.trim());
            self.edited();
        }
    }

    /// A stale error of the edit field goes once the user types; a filter applies at once.
    fn edited(&mut self) {
        if let Some(Dialog::Filter(input)) = &self.dialog {
            let filter = input.value().to_string();
            self.set_filter(&filter);
        }
        if let Some(Dialog::Detail(detail)) = &mut self.dialog
            && let Some(Edit::Config { error, .. } | Edit::AddScope { error, .. }) = &mut detail.edit
        {
            *error = None;
        }
    }
}

/// Shows `module` in the detail view and asks for its settings and scopes.
fn switch_module(detail: &mut Detail, module: ModuleCode) -> Vec<Out> {
    detail.module = module;
    detail.configs = super::dialogs::Loading::Loading;
    detail.scopes = super::dialogs::Loading::Loading;
    detail.cursor = 0;
    detail_requests(&detail.device.device_id, module)
}

fn detail_requests(device_id: &str, module: ModuleCode) -> Vec<Out> {
    vec![
        Out::Call(
            Pending::Configs {
                device_id: device_id.into(),
                module,
            },
            ApiCall::ListConfigs {
                device_id: device_id.into(),
                module,
            },
        ),
        Out::Call(
            Pending::Scopes {
                device_id: device_id.into(),
                module,
            },
            ApiCall::ListScopes {
                device_id: device_id.into(),
                module,
            },
        ),
    ]
}
