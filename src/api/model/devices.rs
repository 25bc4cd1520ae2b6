//! The device side of the backup API (reference §3 #11–#19, §4): bound devices, backup scopes
//! (what a device backs up, per module), device configs, and the body of a new backup file.
//! Read tolerantly like the rest: unknown fields ignored, optional ones absent when missing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lenient;

/// A field pattern of the reference, `^[a-zA-Z0-9_<extra>]{1,max}$`, checked by the client
/// before it sends a value and by the local server when it receives one.
#[derive(Clone, Copy)]
pub struct FieldPattern {
    field: &'static str,
    max: usize,
    extra: fn(char) -> bool,
    allowed: &'static str,
}

/// Whitespace as the reference's `\s`: blanks, tabs, line breaks.
fn blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

fn nothing_else(_: char) -> bool {
    false
}

/// `machineCode`: `^[a-zA-Z0-9_]{1,64}$`.
pub const MACHINE_CODE: FieldPattern = FieldPattern {
    field: "machineCode",
    max: 64,
    extra: nothing_else,
    allowed: "a-z A-Z 0-9 _",
};

/// `deviceName`: `^[a-zA-Z0-9-_\s]{1,32}$`.
pub const DEVICE_NAME: FieldPattern = FieldPattern {
    field: "deviceName",
    max: 32,
    extra: |c| c == '-' || blank(c),
    allowed: "a-z A-Z 0-9 - _ and blanks",
};

/// `deviceOS`: `^[a-zA-Z0-9_\s]{1,32}$`.
pub const DEVICE_OS: FieldPattern = FieldPattern {
    field: "deviceOS",
    max: 32,
    extra: blank,
    allowed: "a-z A-Z 0-9 _ and blanks",
};

/// `configName` (and, [`FieldPattern::named`] otherwise, a config value): `^[a-zA-Z0-9_]{1,32}$`.
pub const CONFIG_NAME: FieldPattern = FieldPattern {
    field: "configName",
    max: 32,
    extra: nothing_else,
    allowed: "a-z A-Z 0-9 _",
};

impl FieldPattern {
    /// The same pattern for another field (`currentConfigValue` follows `configName`'s).
    pub const fn named(self, field: &'static str) -> FieldPattern {
        FieldPattern { field, ..self }
    }

    /// `value` against the pattern; the refusal names the field and what it allows, and never
    /// repeats the value (it may be long).
    pub fn check(&self, value: &str) -> Result<(), String> {
        let length = value.chars().count();
        let fits = (1..=self.max).contains(&length)
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || (self.extra)(c));
        if fits {
            Ok(())
        } else {
            Err(format!(
                "{} must be 1 to {} characters of {}",
                self.field, self.max, self.allowed
            ))
        }
    }
}

/// Body of `POST /device` (bindDevice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindDeviceRequest {
    pub machine_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    #[serde(default, rename = "deviceOS", skip_serializing_if = "Option::is_none")]
    pub device_os: Option<String>,
}

impl BindDeviceRequest {
    /// Every field against its documented pattern.
    pub fn check(&self) -> Result<(), String> {
        MACHINE_CODE.check(&self.machine_code)?;
        if let Some(name) = &self.device_name {
            DEVICE_NAME.check(name)?;
        }
        if let Some(os) = &self.device_os {
            DEVICE_OS.check(os)?;
        }
        Ok(())
    }
}

/// A folder a device backs up: where on the device, and where in the cloud. Not both empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ScopeBaseInfo {
    #[serde(default)]
    pub local_path: String,
    #[serde(default)]
    pub target_folder_path: String,
}

/// A stored backup scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeInfo {
    pub scope_id: String,
    #[serde(default)]
    pub module_code: String,
    #[serde(default)]
    pub local_path: String,
    #[serde(default)]
    pub target_folder_path: String,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub create_time: Option<DateTime<Utc>>,
}

/// Body of `POST /device/{id}/scope` (batchAddBackupScope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddScopesRequest {
    pub module_code: String,
    pub scope_list: Vec<ScopeBaseInfo>,
}

/// Body of `DELETE /device/{id}/scope` (batchDeleteBackupScope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteScopesRequest {
    pub scope_id_list: Vec<String>,
}

/// A scope that could not be deleted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDeleteFailedInfo {
    pub scope_id: String,
    #[serde(default, deserialize_with = "code_text")]
    pub error_code: String,
    #[serde(default)]
    pub msg: String,
}

/// The outcome of a batch delete: the ids deleted, and the failures. The reference documents
/// `failedScopeList` as an object; an object, an array of them, or nothing is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDeleteResult {
    pub scope_id_list: Vec<String>,
    pub failed_scope_list: Vec<ScopeDeleteFailedInfo>,
}

impl<'de> Deserialize<'de> for ScopeDeleteResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            Many(Vec<ScopeDeleteFailedInfo>),
            One(ScopeDeleteFailedInfo),
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire {
            #[serde(default)]
            scope_id_list: Vec<String>,
            #[serde(default)]
            failed_scope_list: Option<OneOrMany>,
        }
        let wire = Wire::deserialize(deserializer)?;
        Ok(ScopeDeleteResult {
            scope_id_list: wire.scope_id_list,
            failed_scope_list: match wire.failed_scope_list {
                None => Vec::new(),
                Some(OneOrMany::Many(list)) => list,
                Some(OneOrMany::One(one)) => vec![one],
            },
        })
    }
}

/// A device's backup setting for a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigInfo {
    #[serde(default)]
    pub device_id: String,
    #[serde(default)]
    pub module_code: String,
    pub config_name: String,
    #[serde(default)]
    pub config_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Body of `PATCH /device/{id}/config` (updateConfigInfo): a compare-and-set, the value the
/// caller believes is current beside the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateConfigRequest {
    pub module_code: String,
    pub config_name: String,
    pub current_config_value: String,
    pub new_config_value: String,
}

impl UpdateConfigRequest {
    /// The name and both values against their documented pattern.
    pub fn check(&self) -> Result<(), String> {
        CONFIG_NAME.check(&self.config_name)?;
        CONFIG_NAME
            .named("currentConfigValue")
            .check(&self.current_config_value)?;
        CONFIG_NAME.named("newConfigValue").check(&self.new_config_value)
    }
}

/// Body of `POST /record/{id}/file` (createBackupFile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NewBackupFile {
    pub file_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,
    /// Folder ids; `root` for the top. Only the first is used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_folder: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// An error code sent as a string or a number.
fn code_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code {
        Number(i64),
        Text(String),
    }
    Ok(match Code::deserialize(deserializer)? {
        Code::Number(n) => n.to_string(),
        Code::Text(text) => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delete_result_takes_an_object_an_array_or_nothing_for_its_failures() {
        let one: ScopeDeleteResult = serde_json::from_str(
            r#"{"scopeIdList":["1"],"failedScopeList":{"scopeId":"2","errorCode":404004,"msg":"no such scope"}}"#,
        )
        .unwrap();
        assert_eq!(one.scope_id_list, ["1"]);
        assert_eq!(one.failed_scope_list[0].error_code, "404004");
        let many: ScopeDeleteResult =
            serde_json::from_str(r#"{"failedScopeList":[{"scopeId":"2","errorCode":"x"},{"scopeId":"3"}]}"#)
                .unwrap();
        assert_eq!(many.failed_scope_list.len(), 2);
        let none: ScopeDeleteResult = serde_json::from_str(r#"{"scopeIdList":[],"extra":1}"#).unwrap();
        assert!(none.failed_scope_list.is_empty());
    }

    #[test]
    fn a_scope_reads_with_an_empty_or_missing_create_time() {
        let scope: ScopeInfo =
            serde_json::from_str(r#"{"scopeId":"7","moduleCode":"101","localPath":"/DCIM","createTime":""}"#)
                .unwrap();
        assert_eq!(scope.create_time, None);
        assert_eq!(scope.target_folder_path, "");
    }
}
