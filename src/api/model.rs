//! Wire models shared by the client and the local server.
//!
//! Field names follow the KooDrive JSON (camelCase). Types that the server may extend in the
//! future (module codes, record statuses) keep unknown values instead of rejecting them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Lock lifetime documented by KooDrive: a lock expires 10 minutes after creation or renewal.
pub const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Largest page size the API accepts.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Longest cursor the API accepts.
pub const MAX_CURSOR_LEN: usize = 1000;

/// The backup module a lock or record belongs to. Sent as a string (`"102"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModuleCode {
    Folder,
    Album,
    AddressBook,
}

impl ModuleCode {
    pub const ALL: [ModuleCode; 3] = [ModuleCode::Folder, ModuleCode::Album, ModuleCode::AddressBook];

    pub fn code(self) -> &'static str {
        match self {
            ModuleCode::Folder => "100",
            ModuleCode::Album => "101",
            ModuleCode::AddressBook => "102",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ModuleCode::Folder => "folder",
            ModuleCode::Album => "album",
            ModuleCode::AddressBook => "address book",
        }
    }

    /// Parses `"100"`, `"101"`, `"102"` (surrounding whitespace allowed).
    pub fn from_code(code: &str) -> Option<ModuleCode> {
        ModuleCode::ALL.into_iter().find(|m| m.code() == code.trim())
    }
}

impl fmt::Display for ModuleCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

impl std::str::FromStr for ModuleCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModuleCode::from_code(s).ok_or_else(|| {
            format!("unknown module code {s:?}: use 100 (folder), 101 (album) or 102 (address book)")
        })
    }
}

impl Serialize for ModuleCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for ModuleCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Accept both "102" and 102: the public examples are not consistent.
        let value = serde_json::Value::deserialize(d)?;
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "moduleCode must be a string, got {other}"
                )));
            }
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Status of a backup record. Unknown numbers are kept so a newer server does not break us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordStatus {
    New,
    Completed,
    ToBeDeleted,
    Unknown(i64),
}

impl RecordStatus {
    pub fn from_number(n: i64) -> RecordStatus {
        match n {
            0 => RecordStatus::New,
            1 => RecordStatus::Completed,
            2 => RecordStatus::ToBeDeleted,
            other => RecordStatus::Unknown(other),
        }
    }

    pub fn number(self) -> i64 {
        match self {
            RecordStatus::New => 0,
            RecordStatus::Completed => 1,
            RecordStatus::ToBeDeleted => 2,
            RecordStatus::Unknown(n) => n,
        }
    }

    pub fn label(self) -> String {
        match self {
            RecordStatus::New => "new".into(),
            RecordStatus::Completed => "completed".into(),
            RecordStatus::ToBeDeleted => "to be deleted".into(),
            RecordStatus::Unknown(n) => format!("unknown ({n})"),
        }
    }
}

impl fmt::Display for RecordStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl Serialize for RecordStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.number())
    }
}

impl<'de> Deserialize<'de> for RecordStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(RecordStatus::from_number(i64::deserialize(d)?))
    }
}

/// The device a backup was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeviceEntity {
    #[serde(default)]
    pub device_id: String,
    #[serde(default)]
    pub machine_code: String,
    #[serde(default)]
    pub device_name: String,
    #[serde(default, rename = "deviceOS")]
    pub device_os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<DateTime<Utc>>,
}

/// One backup record as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRecord {
    pub record_id: String,
    pub module_code: ModuleCode,
    pub status: RecordStatus,
    /// JSON text, as stored; may be empty.
    #[serde(default)]
    pub properties: String,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub device_info: DeviceEntity,
}

/// One file of a backup record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupFile {
    pub file_id: String,
    pub file_name: String,
    pub size: u64,
    pub create_time: DateTime<Utc>,
}

/// One page of a cursor-paginated list. `next_cursor` is `None` on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The envelope of every response: `{"code", "msg", "data", "nextCursor"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T> {
    pub code: i64,
    pub msg: String,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Envelope<T> {
    /// A success without data.
    pub fn success() -> Envelope<T> {
        Envelope {
            code: 0,
            msg: "success".into(),
            data: None,
            next_cursor: None,
        }
    }
}

/// Body of `POST /backup/lock`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLockRequest {
    pub module_code: ModuleCode,
}

/// `data` of a successful lock create.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLockData {
    pub lock_id: String,
}

/// Body of `POST /backup/record`. `device_id` is a string on the wire; the server also accepts a
/// number because the public examples send one.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRecordRequest {
    pub module_code: ModuleCode,
    pub device_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<String>,
}

/// Body of `PATCH /backup/record/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompleteRecordRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<String>,
}

/// A lock this client holds. Expiry is derived locally (the API does not return it) from the
/// instant the request was *sent*, so a countdown never overstates the time left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockInfo {
    pub lock_id: String,
    pub module: ModuleCode,
    pub expires_at: DateTime<Utc>,
}

impl LockInfo {
    /// Module encoded in a lock id of the form `<uuid>@<moduleCode>`, if any.
    pub fn module_of_id(lock_id: &str) -> Option<ModuleCode> {
        lock_id
            .rsplit_once('@')
            .and_then(|(_, code)| ModuleCode::from_code(code))
    }

    /// Time left at `now`; zero once expired.
    pub fn time_left(&self, now: DateTime<Utc>) -> chrono::Duration {
        (self.expires_at - now).max(chrono::Duration::zero())
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_code_round_trips_as_string_and_accepts_numbers() {
        assert_eq!(
            serde_json::to_string(&ModuleCode::AddressBook).unwrap(),
            "\"102\""
        );
        let m: ModuleCode = serde_json::from_str("101").unwrap();
        assert_eq!(m, ModuleCode::Album);
        assert!(serde_json::from_str::<ModuleCode>("\"103\"").is_err());
    }

    #[test]
    fn unknown_status_is_kept() {
        let s: RecordStatus = serde_json::from_str("7").unwrap();
        assert_eq!(s, RecordStatus::Unknown(7));
        assert_eq!(serde_json::to_string(&s).unwrap(), "7");
    }

    #[test]
    fn lock_id_names_its_module() {
        assert_eq!(LockInfo::module_of_id("abc@100"), Some(ModuleCode::Folder));
        assert_eq!(LockInfo::module_of_id("abc"), None);
    }
}
