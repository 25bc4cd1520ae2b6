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
            // As `cleanup --device` reads it: an id, or a machine code or name, case aside.
            let same = |text: &str| text.eq_ignore_ascii_case(wanted);
            let names = |r: &crate::api::BackupRecord| {
                same(&r.device_info.device_id)
                    || same(&r.device_info.device_name)
                    || same(&r.device_info.machine_code)
            };
            entry.device().is_some_and(same)
                || entry.record.as_ref().is_some_and(names)
                || entry.planned.iter().any(|p| p.record.as_ref().is_some_and(names))
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
                "since" | "until" => {
                    match parse_when(value, now, if name == "since" { End::Since } else { End::Until }) {
                        Ok(when) if name == "since" => query.since = Some(when),
                        Ok(when) => query.until = Some(when),
                        Err(e) => not_understood.push(format!("{word:?} ({e})")),
                    }
                }
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

/// Which end of a time span a date names: a day starts at its local midnight, and (for `--until`)
/// ends at the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Since,
    Until,
}

/// `7d`, `36h` (that long ago from `now`), a date (`2026-12-01`: its local midnight, or for
/// [`End::Until`] the next one, so a day's entries are all in), a local time (`2026-12-01 14:30`,
/// `2026-12-01T14:30:00`) or an RFC 3339 time.
pub fn parse_when(text: &str, now: DateTime<Utc>, end: End) -> Result<DateTime<Utc>, String> {
    use chrono::TimeZone;
    let text = text.trim();
    let local = |naive: chrono::NaiveDateTime| {
        chrono::Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|time| time.with_timezone(&Utc))
            .ok_or_else(|| format!("{text:?} does not exist in the local time zone"))
    };
    if let Ok(age) = crate::format::parse_age(text) {
        return now
            .checked_sub_signed(age)
            .ok_or_else(|| format!("{text:?} reaches before the start of time"));
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    for form in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, form) {
            return local(naive);
        }
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = match end {
            End::Since => Some(date),
            End::Until => date.succ_opt(),
        };
        let midnight = day
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .ok_or("a date beyond the calendar")?;
        return local(midnight);
    }
    Err(format!(
        "{text:?} is neither an age (7d, 36h), a date (2026-12-01), a local time (2026-12-01 14:30) \
         nor a time with its zone (2026-12-01T02:14:00Z)"
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
        use chrono::TimeZone;
        let now: DateTime<Utc> = "2026-12-08T12:00:00Z".parse().unwrap();
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            parse_when("7d", now, End::Since).unwrap(),
            at("2026-12-01T12:00:00Z")
        );
        assert_eq!(
            parse_when("2026-12-01T02:14:00Z", now, End::Until).unwrap(),
            at("2026-12-01T02:14:00Z")
        );
        let midnight = |day: u32| {
            chrono::Local
                .with_ymd_and_hms(2026, 12, day, 0, 0, 0)
                .earliest()
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(parse_when("2026-12-01", now, End::Since).unwrap(), midnight(1));
        assert_eq!(
            parse_when("2026-12-01", now, End::Until).unwrap(),
            midnight(2),
            "a day given as the end takes the whole day in"
        );
        let local = chrono::Local
            .with_ymd_and_hms(2026, 12, 1, 14, 30, 0)
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_when("2026-12-01 14:30", now, End::Since).unwrap(), local);
        assert_eq!(parse_when("2026-12-01T14:30:00", now, End::Since).unwrap(), local);
        assert!(
            parse_when("last tuesday", now, End::Since)
                .unwrap_err()
                .contains("neither an age")
        );
        assert!(
            parse_when("100000000d", now, End::Since)
                .unwrap_err()
                .contains("before the start of time")
        );
    }
}
