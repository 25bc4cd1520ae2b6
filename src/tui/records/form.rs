//! The "new record" form: module selector, device id and properties (JSON), checked before any
//! request is sent. Pure state; `app::records` sends the request and reports the answer here.

use tui_input::Input;

use crate::api::client::NewRecord;
use crate::api::{DeviceEntity, ModuleCode};
use crate::properties::{self, PropertiesError, validate_properties};

/// Longest device id accepted. The API sets no limit; this keeps a paste accident out.
pub const MAX_DEVICE_ID_CHARS: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Module,
    DeviceId,
    Properties,
}

impl Field {
    const ORDER: [Field; 3] = [Field::Module, Field::DeviceId, Field::Properties];

    fn step(self, step: isize) -> Field {
        let index = Field::ORDER.iter().position(|f| *f == self).unwrap_or(0) as isize;
        Field::ORDER[(index + step).rem_euclid(Field::ORDER.len() as isize) as usize]
    }
}

/// The bound devices the device field offers (↑/↓), as far as they are known.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceChoices {
    Loading,
    Listed(Vec<DeviceEntity>),
    /// The list could not be read; any id can still be typed.
    Failed(String),
}

/// Where the form is between typing and the server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Editing,
    /// No lock was held for the module: one is being created, then the record is sent.
    WaitingForLock,
    Sending,
}

#[derive(Debug, Clone)]
pub struct RecordForm {
    pub module: ModuleCode,
    pub device_id: Input,
    pub properties: Input,
    pub focus: Field,
    pub device_error: Option<String>,
    pub properties_error: Option<PropertiesError>,
    /// The server's answer to the last attempt; what the user typed is kept.
    pub server_error: Option<String>,
    /// Why the last round trip through the user's editor changed nothing.
    pub editor_error: Option<String>,
    /// What the editor gave back, if it was not JSON.
    pub from_editor: EditedProperties,
    pub stage: Stage,
    pub devices: DeviceChoices,
}

impl RecordForm {
    pub fn new(module: ModuleCode) -> RecordForm {
        RecordForm {
            module,
            device_id: Input::default(),
            properties: Input::default(),
            focus: Field::DeviceId,
            device_error: None,
            properties_error: None,
            server_error: None,
            editor_error: None,
            from_editor: EditedProperties::default(),
            stage: Stage::Editing,
            devices: DeviceChoices::Loading,
        }
    }

    /// The bound devices arrived (or could not be listed).
    pub fn devices_listed(&mut self, result: Result<Vec<DeviceEntity>, String>) {
        self.devices = match result {
            Ok(devices) => DeviceChoices::Listed(devices),
            Err(error) => DeviceChoices::Failed(error),
        };
    }

    /// Where the typed device id is in the list of bound devices.
    fn chosen_device(&self) -> Option<(usize, &DeviceEntity)> {
        let DeviceChoices::Listed(devices) = &self.devices else {
            return None;
        };
        let typed = self.device_id.value();
        devices.iter().enumerate().find(|(_, d)| d.device_id == typed)
    }

    /// Puts the bound device `step` places after the one in the field (the first or last when
    /// the field holds no bound device's id) into the device field.
    pub fn choose_device(&mut self, step: isize) {
        // Only in the device field: from elsewhere it would overwrite a typed id unseen.
        if self.focus != Field::DeviceId {
            return;
        }
        let DeviceChoices::Listed(devices) = &self.devices else {
            return;
        };
        if devices.is_empty() {
            return;
        }
        let count = devices.len() as isize;
        let next = match self.chosen_device() {
            Some((index, _)) => (index as isize + step).rem_euclid(count),
            None if step < 0 => count - 1,
            None => 0,
        };
        let id = devices[next as usize].device_id.clone();
        self.device_id = Input::new(id);
        self.device_error = None;
        self.server_error = None;
    }

    /// The line under the device field: which bound device the id is, or how to choose one.
    pub fn device_hint(&self) -> String {
        match &self.devices {
            DeviceChoices::Loading => "required · listing your bound devices…".into(),
            DeviceChoices::Failed(error) => {
                format!("required · bound devices unavailable ({error}); type an id")
            }
            DeviceChoices::Listed(devices) if devices.is_empty() => {
                "required · no device is bound to you; type an id".into()
            }
            DeviceChoices::Listed(devices) => match self.chosen_device() {
                Some((index, device)) => format!(
                    "{} · {} (bound device {} of {}; ↑/↓ others)",
                    device.device_name,
                    device.device_os,
                    index + 1,
                    devices.len()
                ),
                None => format!(
                    "required · ↑/↓ choose one of your {} bound devices, or type any id",
                    devices.len()
                ),
            },
        }
    }

    pub fn focus_step(&mut self, step: isize) {
        self.focus = self.focus.step(step);
    }

    pub fn change_module(&mut self, step: isize) {
        let all = ModuleCode::ALL;
        let index = all.iter().position(|m| *m == self.module).unwrap_or(0) as isize;
        self.module = all[(index + step).rem_euclid(all.len() as isize) as usize];
        self.server_error = None;
    }

    /// The text field that has the focus, if any (the module selector is not one).
    pub fn focused_input(&mut self) -> Option<&mut Input> {
        match self.focus {
            Field::Module => None,
            Field::DeviceId => Some(&mut self.device_id),
            Field::Properties => Some(&mut self.properties),
        }
    }

    /// Forgets the messages about the focused field: the user is changing it.
    pub fn edited(&mut self) {
        match self.focus {
            Field::Module => {}
            Field::DeviceId => self.device_error = None,
            Field::Properties => self.properties_error = None,
        }
        self.server_error = None;
        self.editor_error = None;
    }

    /// The properties as a file for the user's editor ([`properties_for_editor`]).
    pub fn properties_for_editor(&self) -> String {
        properties_for_editor(self.properties.value())
    }

    /// Takes the properties back from the editor's file ([`properties_from_editor`]).
    pub fn properties_from_editor(&mut self, text: &str) {
        let (input, edited) = properties_from_editor(text);
        self.properties = input;
        self.focus = Field::Properties;
        self.edited();
        self.properties_error = edited.error().cloned();
        self.from_editor = edited;
    }

    pub fn is_busy(&self) -> bool {
        self.stage != Stage::Editing
    }

    /// Checks every field. On success returns the record to send; otherwise every problem is
    /// recorded on its field and the focus moves to the first one.
    pub fn validate(&mut self) -> Option<NewRecord> {
        self.server_error = None;
        let device = check_device_id(self.device_id.value());
        let properties = self.from_editor.check(self.properties.value());
        self.device_error = device.as_ref().err().cloned();
        self.properties_error = properties.as_ref().err().cloned();
        if self.device_error.is_some() {
            self.focus = Field::DeviceId;
        } else if self.properties_error.is_some() {
            self.focus = Field::Properties;
        }
        Some(NewRecord {
            module: self.module,
            device_id: device.ok()?,
            properties: properties.ok()?,
        })
    }
}

/// Properties typed in a one-line field as a file for the user's editor: JSON pretty-printed
/// (keys in the order written), anything else as typed so that it can be fixed there.
pub fn properties_for_editor(typed: &str) -> String {
    match validate_properties(typed) {
        Ok(Some(compact)) => format!("{}\n", properties::pretty(&compact).unwrap_or(compact)),
        Ok(None) => String::new(),
        Err(_) => format!("{typed}\n"),
    }
}

/// The editor's file back as a one-line field, the cursor at its end: valid JSON in compact
/// form, anything else with its line breaks made blanks (as JSON reads them). Invalid JSON is
/// judged as the user wrote it, so its error names the line and column in the editor, not in
/// the joined line.
pub fn properties_from_editor(text: &str) -> (Input, EditedProperties) {
    let (value, invalid) = match validate_properties(text) {
        Ok(Some(compact)) => (compact, None),
        Ok(None) => (String::new(), None),
        Err(error) => {
            let joined: String = text
                .trim_end()
                .chars()
                .map(|c| if matches!(c, '\n' | '\r' | '\t') { ' ' } else { c })
                .collect();
            (joined.clone(), Some((joined, error)))
        }
    };
    let end = value.chars().count();
    (Input::new(value).with_cursor(end), EditedProperties(invalid))
}

/// Properties that came back from the user's editor as invalid JSON: the one-line text the
/// field was given, and the error as positioned in the editor. While the field still holds
/// exactly that text, checking it gives that error.
#[derive(Debug, Clone, Default)]
pub struct EditedProperties(Option<(String, PropertiesError)>);

impl EditedProperties {
    /// Checks `value` (the field's text); see [`validate_properties`].
    pub fn check(&self, value: &str) -> Result<Option<String>, PropertiesError> {
        match &self.0 {
            Some((joined, error)) if joined == value => Err(error.clone()),
            _ => validate_properties(value),
        }
    }

    /// The error of the editor's text, to show at once.
    pub fn error(&self) -> Option<&PropertiesError> {
        self.0.as_ref().map(|(_, error)| error)
    }
}

/// A device id as it will be sent, or why it cannot be.
pub fn check_device_id(text: &str) -> Result<String, String> {
    let id = text.trim();
    if id.is_empty() {
        return Err("a device id is required".into());
    }
    let chars = id.chars().count();
    if chars > MAX_DEVICE_ID_CHARS {
        return Err(format!(
            "the device id is {chars} characters long; at most {MAX_DEVICE_ID_CHARS} are accepted"
        ));
    }
    if let Some(bad) = id.chars().find(|c| c.is_control()) {
        return Err(format!(
            "a device id cannot contain the control character {bad:?}"
        ));
    }
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::MAX_PROPERTIES_BYTES;

    fn form(device: &str, properties: &str) -> RecordForm {
        let mut form = RecordForm::new(ModuleCode::AddressBook);
        form.device_id = Input::new(device.into());
        form.properties = Input::new(properties.into());
        form
    }

    #[test]
    fn a_valid_form_gives_the_record_to_send() {
        let mut form = form("  phone-1 ", r#"{ "n": 1 }"#);
        let record = form.validate().expect("valid");
        assert_eq!(record.module, ModuleCode::AddressBook);
        assert_eq!(record.device_id, "phone-1");
        assert_eq!(record.properties.as_deref(), Some(r#"{"n":1}"#));
        assert!(form.device_error.is_none() && form.properties_error.is_none());
    }

    #[test]
    fn properties_are_optional() {
        assert_eq!(form("d", "  ").validate().unwrap().properties, None);
    }

    #[test]
    fn a_missing_device_id_is_refused_and_focused() {
        let mut form = form(" ", "{}");
        form.focus = Field::Properties;
        assert!(form.validate().is_none());
        assert_eq!(form.device_error.as_deref(), Some("a device id is required"));
        assert_eq!(form.focus, Field::DeviceId);
    }

    #[test]
    fn an_overlong_or_control_device_id_is_refused() {
        let mut long = form(&"x".repeat(MAX_DEVICE_ID_CHARS + 1), "");
        assert!(long.validate().is_none());
        assert!(long.device_error.unwrap().contains("129 characters"));
        let mut control = form("a\u{7}b", "");
        assert!(control.validate().is_none());
        assert!(control.device_error.unwrap().contains("control character"));
    }

    #[test]
    fn invalid_json_is_refused_with_its_position() {
        let mut form = form("d", r#"{"a": 1,}"#);
        assert!(form.validate().is_none());
        assert_eq!(form.focus, Field::Properties);
        match form.properties_error {
            Some(PropertiesError::InvalidJson { line, column, .. }) => assert_eq!((line, column), (1, 9)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn oversized_properties_are_refused() {
        let big = format!(r#"{{"x":"{}"}}"#, "y".repeat(MAX_PROPERTIES_BYTES));
        let mut form = form("d", &big);
        assert!(form.validate().is_none());
        assert!(matches!(
            form.properties_error,
            Some(PropertiesError::TooLarge { .. })
        ));
    }

    #[test]
    fn both_fields_report_at_once_and_editing_clears_only_one() {
        let mut form = form("", "nope");
        assert!(form.validate().is_none());
        assert!(form.device_error.is_some() && form.properties_error.is_some());
        form.focus = Field::Properties;
        form.edited();
        assert!(form.device_error.is_some() && form.properties_error.is_none());
    }

    #[test]
    fn properties_go_to_the_editor_pretty_and_in_the_order_written() {
        let nested = form(
            "d",
            r#"{"z": [1, {"y": "a,b:{c}"}], "a": {}, "e": [], "q": "\"}"}"#,
        );
        assert_eq!(
            nested.properties_for_editor(),
            "{\n  \"z\": [\n    1,\n    {\n      \"y\": \"a,b:{c}\"\n    }\n  ],\n  \"a\": {},\n  \"e\": [],\n  \"q\": \"\\\"}\"\n}\n"
        );
        assert_eq!(form("d", "").properties_for_editor(), "");
        assert_eq!(form("d", "{oops").properties_for_editor(), "{oops\n");
        assert_eq!(form("d", "12").properties_for_editor(), "12\n");
    }

    #[test]
    fn properties_come_back_from_the_editor_on_one_line() {
        let mut form = form("d", "");
        form.focus = Field::DeviceId;
        form.properties_error = Some(PropertiesError::TooLarge { bytes: 1 });
        form.properties_from_editor("{\n  \"b\": 2,\n  \"a\": \"x y\"\n}\n");
        assert_eq!(form.properties.value(), r#"{"b":2,"a":"x y"}"#);
        assert_eq!(form.properties.cursor(), 17);
        assert_eq!(form.focus, Field::Properties);
        assert!(form.properties_error.is_none());
        form.properties_from_editor("{\n\t\"a\": 1,\n}\n");
        assert_eq!(form.properties.value(), "{  \"a\": 1, }", "kept to be fixed");
        // The error points where the user wrote it: line 3 of the editor, not column 12 of
        // the joined line, at once and again on submit.
        let shown = form.properties_error.clone().expect("said at once");
        assert!(shown.to_string().contains("at line 3, column 1"), "{shown}");
        form.validate();
        assert_eq!(form.properties_error, Some(shown), "the same on submit");
        form.properties_from_editor("\n");
        assert_eq!(form.properties.value(), "");
    }

    #[test]
    fn pretty_and_back_is_the_compact_text() {
        for text in [
            r#"{"a":[1,2,{"b":null}],"c":{"d":[[]]}}"#,
            "[]",
            r#""s""#,
            r#"[{},[],"x"]"#,
        ] {
            let mut form = form("d", text);
            let pretty = form.properties_for_editor();
            form.properties_from_editor(&pretty);
            assert_eq!(form.properties.value(), text, "via {pretty}");
        }
    }

    #[test]
    fn fields_and_modules_cycle() {
        let mut form = form("", "");
        form.focus_step(1);
        assert_eq!(form.focus, Field::Properties);
        form.focus_step(1);
        assert_eq!(form.focus, Field::Module);
        form.focus_step(-1);
        assert_eq!(form.focus, Field::Properties);
        form.change_module(1);
        assert_eq!(form.module, ModuleCode::Folder);
        form.change_module(-1);
        assert_eq!(form.module, ModuleCode::AddressBook);
    }
}
