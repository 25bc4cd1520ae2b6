//! Which entries `koobackup history` (and the app's history pane) shows: by time, operation,
//! module, device, record, user and profile. The command line gives them as options; the app as
//! filter words (`op:delete m:102 since:7d`, [`Query::from_words`]) named as the options are.

use chrono::{DateTime, Utc};

use super::entry::Entry;

/// The filters; each one left empty lets everything through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// `record.delete`, or either half (`delete`, `lock`).
    pub op: Option<String>,
    pub module: Option<String>,
    /// A device's id, name or machine code (as the record as it was names it).
    pub device: Option<String>,
    pub record: Option<String>,
    pub user: Option<String>,
    pub profile: Option<String>,
}

impl Query {
    pub fn matches(&self, entry: &Entry) -> bool {
        let device_matches = |wanted: &str| {
            entry.device() == Some(wanted)
                || entry.record.as_ref().is_some_and(|r| {
                    r.device_info.device_name == wanted || r.device_info.machine_code == wanted
                })
                || entry.planned.iter().any(|p| {
                    p.record.as_ref().is_some_and(|r| {
                        r.device_info.device_id == wanted || r.device_info.device_name == wanted
                    })
                })
        };
        self.since.is_none_or(|since| entry.at >= since)
            && self.until.is_none_or(|until| entry.at <= until)
            && self.op.as_deref().is_none_or(|op| entry.op.matches(op))
            && self
                .module
                .as_deref()
                .is_none_or(|module| entry.module.as_deref() == Some(module))
            && self.device.as_deref().is_none_or(device_matches)
            && self.record.as_deref().is_none_or(|record| {
                entry.record_id.as_deref() == Some(record)
                    || entry.planned.iter().any(|p| p.record_id == record)
            })
            && self.user.as_deref().is_none_or(|user| entry.who.user == user)
            && self
                .profile
                .as_deref()
                .is_none_or(|profile| entry.who.profile.as_deref() == Some(profile))
    }
}

/// The filter words [`Query::from_words`] knows, as the help names them.
pub const FILTER_WORDS: &str = "op: m: device: record: user: profile: since: until:";

impl Query {
    /// The query of filter words such as `op:delete m:102 device:laptop since:7d` (the names of
    /// `koobackup history`'s options; `m:` or `module:` for the module, a code or a name), ages
    /// and dates measured from `now`. What is not understood is named, word by word.
    pub fn from_words(text: &str, now: DateTime<Utc>) -> Result<Query, String> {
        let mut query = Query::default();
        let mut not_understood = Vec::new();
        for word in text.split_whitespace() {
            let Some((name, value)) = word.split_once(':').filter(|(_, value)| !value.is_empty()) else {
                not_understood.push(format!("{word:?} (a filter word is NAME:VALUE)"));
                continue;
            };
            let set = |slot: &mut Option<String>| *slot = Some(value.to_string());
            match name {
                "op" => set(&mut query.op),
                "m" | "module" => match crate::api::ModuleCode::from_user_text(value) {
                    Ok(module) => query.module = Some(module.code().to_string()),
                    Err(e) => not_understood.push(format!("{word:?} ({e})")),
                },
                "device" => set(&mut query.device),
                "record" => set(&mut query.record),
                "user" => set(&mut query.user),
                "profile" => set(&mut query.profile),
                "since" | "until" => match parse_when(value, now) {
                    Ok(when) if name == "since" => query.since = Some(when),
                    Ok(when) => query.until = Some(when),
                    Err(e) => not_understood.push(format!("{word:?} ({e})")),
                },
                _ => not_understood.push(format!("{word:?} (no filter {name:?})")),
            }
        }
        if not_understood.is_empty() {
            Ok(query)
        } else {
            Err(format!(
                "not understood: {}; filter words: {FILTER_WORDS}",
                not_understood.join(", ")
            ))
        }
    }
}

/// `7d`, `36h` (that long ago from `now`), a date (`2026-12-01`, local midnight) or an RFC 3339
/// time.
pub fn parse_when(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(age) = crate::format::parse_age(text) {
        return Ok(now - age);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        use chrono::TimeZone;
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        if let Some(local) = chrono::Local.from_local_datetime(&midnight).earliest() {
            return Ok(local.with_timezone(&Utc));
        }
    }
    Err(format!(
        "{text:?} is neither an age (7d, 36h), a date (2026-12-01) nor a time (2026-12-01T02:14:00Z)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{BackupRecord, DeviceEntity, RecordStatus};
    use crate::history::entry::{Op, Outcome, Who};

    fn entry(op: Op, user: &str, at: &str) -> Entry {
        let who = Who {
            profile: Some("work".into()),
            server: "k.example".into(),
            user: user.into(),
            host: "h".into(),
            pid: 1,
            by: "koobackup".into(),
        };
        let mut entry = Entry::new(who, op, Outcome::ok());
        entry.at = at.parse().unwrap();
        entry.module = Some("102".into());
        entry
    }

    #[test]
    fn every_filter_narrows() {
        let mut delete = entry(Op::RecordDelete, "alice", "2026-12-01T02:14:00Z");
        delete.record_id = Some("42".into());
        delete.record = Some(BackupRecord {
            record_id: "42".into(),
            module_code: crate::api::ModuleCode::AddressBook.into(),
            status: RecordStatus::New,
            properties: String::new(),
            version: 1,
            create_time: "2026-11-29T00:00:00Z".parse().unwrap(),
            end_time: None,
            device_info: DeviceEntity {
                device_id: "dev-1".into(),
                device_name: "laptop".into(),
                ..DeviceEntity::default()
            },
        });
        let all = Query::default();
        assert!(all.matches(&delete));
        let q = |f: fn(&mut Query)| {
            let mut query = Query::default();
            f(&mut query);
            query.matches(&delete)
        };
        assert!(q(|q| q.op = Some("delete".into())));
        assert!(!q(|q| q.op = Some("lock".into())));
        assert!(q(|q| q.device = Some("laptop".into())));
        assert!(q(|q| q.device = Some("dev-1".into())));
        assert!(!q(|q| q.device = Some("dev-2".into())));
        assert!(q(|q| q.record = Some("42".into())));
        assert!(!q(|q| q.user = Some("bob".into())));
        assert!(!q(|q| q.module = Some("100".into())));
        assert!(!q(|q| q.profile = Some("home".into())));
        assert!(!q(|q| q.since = Some("2026-12-02T00:00:00Z".parse().unwrap())));
        assert!(q(|q| q.until = Some("2026-12-02T00:00:00Z".parse().unwrap())));
    }

    #[test]
    fn filter_words_make_the_query_and_name_what_they_do_not_understand() {
        let now: DateTime<Utc> = "2026-12-08T12:00:00Z".parse().unwrap();
        let query = Query::from_words(
            "op:delete m:contacts device:laptop record:42 user:alice since:7d",
            now,
        )
        .unwrap();
        assert_eq!(
            query,
            Query {
                since: Some("2026-12-01T12:00:00Z".parse().unwrap()),
                op: Some("delete".into()),
                module: Some("102".into()),
                device: Some("laptop".into()),
                record: Some("42".into()),
                user: Some("alice".into()),
                ..Query::default()
            }
        );
        assert_eq!(Query::from_words("  ", now).unwrap(), Query::default());
        let error = Query::from_words("op:lock colour:red since:later laptop", now).unwrap_err();
        assert!(error.contains("\"colour:red\" (no filter \"colour\")"), "{error}");
        assert!(error.contains("\"since:later\""), "{error}");
        assert!(
            error.contains("\"laptop\" (a filter word is NAME:VALUE)"),
            "{error}"
        );
        assert!(error.ends_with(FILTER_WORDS), "{error}");
        assert!(!error.contains("op:lock"), "{error}");
    }

    #[test]
    fn when_is_an_age_a_date_or_a_time() {
        let now: DateTime<Utc> = "2026-12-08T12:00:00Z".parse().unwrap();
        assert_eq!(
            parse_when("7d", now).unwrap(),
            "2026-12-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            parse_when("2026-12-01T02:14:00Z", now).unwrap(),
            "2026-12-01T02:14:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(parse_when("2026-12-01", now).is_ok());
        assert!(
            parse_when("last tuesday", now)
                .unwrap_err()
                .contains("neither an age")
        );
    }
}
