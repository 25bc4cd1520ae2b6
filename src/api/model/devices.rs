//! The device side of the backup API (reference §3 #11–#19, §4): bound devices, backup scopes
//! (what a device backs up, per module), device configs, and the body of a new backup file.
//! Read tolerantly like the rest: unknown fields ignored, optional ones absent when missing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lenient;

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
