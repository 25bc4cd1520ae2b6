//! Wire models shared by the client and the local server.
//!
//! Field names follow the KooDrive JSON (camelCase). Types that the server may extend in the
//! future (module codes, record statuses) keep unknown values instead of rejecting them.

use std::fmt;

mod devices;
pub use devices::*;

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

    /// A module as people write it: `100`/`101`/`102`, or the names `folder`, `album`,
    /// `address-book` (`address book`, `contacts`), case aside. The error says what exists.
    pub fn from_user_text(text: &str) -> Result<ModuleCode, String> {
        let normalized = text.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        match normalized.as_str() {
            "folder" => Ok(ModuleCode::Folder),
            "album" => Ok(ModuleCode::Album),
            "address-book" | "addressbook" | "contacts" => Ok(ModuleCode::AddressBook),
            _ => text.parse(),
        }
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
        lenient::int(d).map(RecordStatus::from_number)
    }
}

/// The module of a record as the server reported it: one koobackup knows, or another code kept
/// as sent (shown as such; a record of an unknown module cannot be changed, since no lock can be
/// taken for it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordModule {
    Known(ModuleCode),
    Unknown(String),
}

impl RecordModule {
    pub fn known(&self) -> Option<ModuleCode> {
        match self {
            RecordModule::Known(module) => Some(*module),
            RecordModule::Unknown(_) => None,
        }
    }

    /// The code as sent (`"102"`).
    pub fn code(&self) -> &str {
        match self {
            RecordModule::Known(module) => module.code(),
            RecordModule::Unknown(code) => code,
        }
    }

    /// `102 address book`, or `103 (unknown module)`.
    pub fn label(&self) -> String {
        match self {
            RecordModule::Known(module) => format!("{} {}", module.code(), module.name()),
            RecordModule::Unknown(code) => format!("{code} (unknown module)"),
        }
    }
}

impl From<ModuleCode> for RecordModule {
    fn from(module: ModuleCode) -> RecordModule {
        RecordModule::Known(module)
    }
}

impl PartialEq<ModuleCode> for RecordModule {
    fn eq(&self, other: &ModuleCode) -> bool {
        self.known() == Some(*other)
    }
}

impl fmt::Display for RecordModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordModule::Known(module) => module.fmt(f),
            RecordModule::Unknown(code) => write!(f, "{code} (unknown module)"),
        }
    }
}

impl Serialize for RecordModule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for RecordModule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "moduleCode must be a string, got {other}"
                )));
            }
        };
        Ok(match ModuleCode::from_code(&text) {
            Some(module) => RecordModule::Known(module),
            None => RecordModule::Unknown(text),
        })
    }
}

/// Deserializers that take what real servers send: numbers as numbers or numeric strings, and an
/// empty string for an absent time.
mod lenient {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer};

    /// An integer however a server writes it: a number (`2`, and an integral `2.0`, `-0` or
    /// `1e2` as that integer) or the same as a string (`"2"`, `"2.0"`). Anything else is
    /// refused with the value it was.
    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let integer = match &value {
            serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(integral)),
            serde_json::Value::String(text) => {
                let text = text.trim();
                text.parse::<i64>()
                    .ok()
                    .or_else(|| text.parse::<f64>().ok().and_then(integral))
            }
            _ => None,
        };
        integer.ok_or_else(|| serde::de::Error::custom(format!("{value} is not an integer")))
    }

    /// `x` as an integer when it is one that fits (`2.0`, `-0.0`, `1e2`); `None` for a
    /// fraction, an infinity or NaN, or a value past `i64`.
    fn integral(x: f64) -> Option<i64> {
        // 2^63 is exactly representable; every integral f64 below it in size fits an i64.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        (x.fract() == 0.0 && (-LIMIT..LIMIT).contains(&x)).then_some(x as i64)
    }

    /// A non-negative size, as [`int`].
    pub fn size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let n = int(d)?;
        u64::try_from(n).map_err(|_| serde::de::Error::custom(format!("size {n} is negative")))
    }

    /// An optional time: absent, `null` and `""` are all "none".
    pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) if text.trim().is_empty() => Ok(None),
            Some(text) => text
                .trim()
                .parse::<DateTime<Utc>>()
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("time {text:?}: {e}"))),
        }
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
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub create_time: Option<DateTime<Utc>>,
}

impl DeviceEntity {
    /// What to call the device: its name, else its id. Raw server text: escape it to print it.
    pub fn display_name(&self) -> &str {
        if self.device_name.is_empty() {
            &self.device_id
        } else {
            &self.device_name
        }
    }
}

/// One backup record as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRecord {
    pub record_id: String,
    pub module_code: RecordModule,
    pub status: RecordStatus,
    /// JSON text, as stored; may be empty.
    #[serde(default)]
    pub properties: String,
    #[serde(deserialize_with = "lenient::int")]
    pub version: i64,
    pub create_time: DateTime<Utc>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub device_info: DeviceEntity,
}

/// One file of a backup record. Only the id is required; a file without a name, size or time
/// reads with those absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupFile {
    pub file_id: String,
    #[serde(default)]
    pub file_name: String,
    /// The file's fingerprint (hex SHA-256), when the server has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, deserialize_with = "lenient::size")]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub create_time: Option<DateTime<Utc>>,
}

/// One page of a cursor-paginated list. `next_cursor` is `None` on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// Items of the page that could not be read, each as "item N: why". They are left out of
    /// `items`; one odd item never sinks a page.
    pub unreadable: Vec<String>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Page<T> {
        Page {
            items,
            next_cursor,
            unreadable: Vec::new(),
        }
    }

    /// The same page with each item turned into another type.
    pub fn map_items<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
            unreadable: self.unreadable,
        }
    }
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
    fn records_read_tolerantly() {
        let text = r#"{"recordId":"1842862763295184641","moduleCode":"103","status":"1",
            "version":"2","createTime":"2025-12-17T07:59:20.752Z","endTime":"",
            "deviceInfo":{"deviceId":"d","createTime":""},"extra":{"x":1}}"#;
        let record: BackupRecord = serde_json::from_str(text).unwrap();
        assert_eq!(record.module_code, RecordModule::Unknown("103".into()));
        assert_eq!(record.module_code.label(), "103 (unknown module)");
        assert_eq!(record.status, RecordStatus::Completed);
        assert_eq!(record.version, 2);
        assert_eq!(record.end_time, None);
        assert_eq!(record.device_info.create_time, None);
        let known: BackupRecord = serde_json::from_str(&text.replace("\"103\"", "102")).unwrap();
        assert_eq!(known.module_code, ModuleCode::AddressBook);
        let file: BackupFile = serde_json::from_str(r#"{"fileId":"7","size":"12"}"#).unwrap();
        assert_eq!((file.size, file.create_time, file.sha256), (12, None, None));
        assert!(serde_json::from_str::<BackupFile>(r#"{"fileId":"7","size":-1}"#).is_err());
    }

    #[test]
    fn integral_numbers_are_read_as_integers_however_written() {
        for (text, expected) in [
            ("2", 2),
            ("2.0", 2),
            ("-0", 0),
            ("1e2", 100),
            ("\"7\"", 7),
            ("\" 2.0 \"", 2),
            ("\"1e2\"", 100),
        ] {
            let status: RecordStatus = serde_json::from_str(text).unwrap();
            assert_eq!(status.number(), expected, "{text}");
        }
        for text in ["2.5", "1e300", "\"two\"", "true", "null", "18446744073709551615"] {
            let error = serde_json::from_str::<RecordStatus>(text)
                .unwrap_err()
                .to_string();
            assert!(error.contains("is not an integer"), "{text}: {error}");
        }
    }

    #[test]
    fn lock_id_names_its_module() {
        assert_eq!(LockInfo::module_of_id("abc@100"), Some(ModuleCode::Folder));
        assert_eq!(LockInfo::module_of_id("abc"), None);
    }
}
