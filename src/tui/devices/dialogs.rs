//! The devices pane's dialogs: a device's detail view (its settings and scopes per module, with
//! an edit field or a confirmation of its own), the confirmation before unbinding, and the
//! filter field.

use tui_input::Input;

use crate::api::model::{ConfigInfo, ScopeBaseInfo, ScopeInfo};
use crate::api::{DeviceEntity, ModuleCode};
use crate::tui::keymap::Scope;

/// Something asked of the server, and how far it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loading<T> {
    Loading,
    Loaded(T),
    Failed(String),
}

impl<T> Loading<T> {
    pub fn loaded(&self) -> Option<&T> {
        match self {
            Loading::Loaded(value) => Some(value),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Dialog {
    Detail(Box<Detail>),
    /// Unbinding, once confirmed: says how many records stay.
    ConfirmUnbind {
        device: DeviceEntity,
        records: usize,
    },
    /// The `/` filter being typed: applied as it is typed.
    Filter(Input),
}

impl Dialog {
    pub fn scope(&self) -> Scope {
        match self {
            Dialog::Detail(detail) => match &detail.edit {
                None => Scope::DeviceDetail,
                Some(Edit::ConfirmScopeDelete { .. }) => Scope::Confirm,
                Some(_) => Scope::DeviceText,
            },
            Dialog::ConfirmUnbind { .. } => Scope::Confirm,
            // The records pane's filter field: the same keys.
            Dialog::Filter(_) => Scope::RecordText,
        }
    }

    /// The text field being typed in, if any.
    pub fn input_mut(&mut self) -> Option<&mut Input> {
        match self {
            Dialog::Detail(detail) => match &mut detail.edit {
                Some(Edit::Config { input, .. } | Edit::AddScope { input, .. }) => Some(input),
                _ => None,
            },
            Dialog::ConfirmUnbind { .. } => None,
            Dialog::Filter(input) => Some(input),
        }
    }
}

/// One device: its settings and its scopes in one module at a time.
#[derive(Debug, Clone)]
pub struct Detail {
    pub device: DeviceEntity,
    pub module: ModuleCode,
    pub configs: Loading<Vec<ConfigInfo>>,
    pub scopes: Loading<Vec<ScopeInfo>>,
    /// Over the settings, then the scopes.
    pub cursor: usize,
    pub edit: Option<Edit>,
    /// The outcome of the last change (or why it did not happen).
    pub message: Option<String>,
}

/// What the cursor is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected<'a> {
    Config(&'a ConfigInfo),
    Scope(&'a ScopeInfo),
}

impl Detail {
    pub fn new(device: DeviceEntity, module: ModuleCode) -> Detail {
        Detail {
            device,
            module,
            configs: Loading::Loading,
            scopes: Loading::Loading,
            cursor: 0,
            edit: None,
            message: None,
        }
    }

    fn configs(&self) -> &[ConfigInfo] {
        self.configs.loaded().map_or(&[], Vec::as_slice)
    }

    fn scopes(&self) -> &[ScopeInfo] {
        self.scopes.loaded().map_or(&[], Vec::as_slice)
    }

    pub fn rows(&self) -> usize {
        self.configs().len() + self.scopes().len()
    }

    pub fn selected(&self) -> Option<Selected<'_>> {
        let configs = self.configs();
        match configs.get(self.cursor) {
            Some(config) => Some(Selected::Config(config)),
            None => self
                .scopes()
                .get(self.cursor - configs.len())
                .map(Selected::Scope),
        }
    }

    pub fn move_cursor(&mut self, delta: isize) {
        self.cursor = self
            .cursor
            .saturating_add_signed(delta)
            .min(self.rows().saturating_sub(1));
    }
}

/// A change being made in the detail view.
#[derive(Debug, Clone)]
pub enum Edit {
    /// A setting's new value; `current` is the value it had when read (the compare-and-set).
    Config {
        name: String,
        current: String,
        input: Input,
        error: Option<String>,
    },
    /// A new scope, typed as `LOCAL => TARGET` (either side may be left out).
    AddScope {
        input: Input,
        error: Option<String>,
    },
    ConfirmScopeDelete {
        scope: ScopeInfo,
    },
}

/// Reads `LOCAL => TARGET`, `LOCAL` or `=> TARGET`.
pub fn parse_scope(text: &str) -> Result<ScopeBaseInfo, String> {
    let (local, target) = match text.split_once("=>") {
        Some((local, target)) => (local.trim(), target.trim()),
        None => (text.trim(), ""),
    };
    if local.is_empty() && target.is_empty() {
        return Err("type a folder on the device, and after => the folder in the cloud".into());
    }
    for path in [local, target] {
        if !path.is_empty() && !path.starts_with('/') {
            return Err(format!("{path:?} must start with /"));
        }
    }
    Ok(ScopeBaseInfo {
        local_path: local.into(),
        target_folder_path: target.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_is_typed_as_local_arrow_target() {
        let both = parse_scope(" /DCIM => /Photos ").unwrap();
        assert_eq!(
            (both.local_path.as_str(), both.target_folder_path.as_str()),
            ("/DCIM", "/Photos")
        );
        assert_eq!(parse_scope("/DCIM").unwrap().target_folder_path, "");
        assert_eq!(parse_scope("=> /Cloud").unwrap().local_path, "");
        assert!(parse_scope("  ").is_err());
        assert!(
            parse_scope("DCIM => /x")
                .unwrap_err()
                .contains("must start with /")
        );
    }
}
