//! Retention rules for completed backups, with restic's semantics (`forget --keep-last …`):
//! applied to each group of completed records of one device and one module, newest first by
//! `createTime` (the server's clock), a record is kept if any rule keeps it, and each kept record
//! names the first rule that kept it:
//!
//! - `keep_last N`: the N newest;
//! - `keep_daily N` / `keep_weekly N` / `keep_monthly N`: the newest record of each of the N
//!   newest days / ISO weeks / months that have records (calendar in UTC, so every operator and
//!   the server agree on the buckets);
//! - `keep_within D`: every record created within D before the group's newest one (relative to
//!   the newest backup, as restic does, not to now: a device that stopped backing up keeps its
//!   last ones).
//!
//! Whatever the rules, the newest completed record of each group is kept unless `allow_empty`
//! is set, and a policy that can keep nothing (no rule, or every count 0) is refused.
//!
//! A record dated more than [`FUTURE_SLACK`] after now (a server whose clock once ran ahead)
//! is kept and flagged, and left out of its group: it never counts as the newest backup of its
//! device, so it cannot make every real backup look old to `keep_within` or `keep_last`. Records
//! that are not completed are not this module's business (see `crate::cleanup`). The result does
//! not depend on the order records come in: ties in `createTime` are broken by record id.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use chrono::{DateTime, Datelike, Utc};

use crate::api::{BackupRecord, RecordStatus};

/// A retention policy. `None` means the rule is not used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    pub keep_last: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    /// How far back from the group's newest record everything is kept.
    #[serde(default, with = "crate::format::optional_age")]
    pub keep_within: Option<chrono::Duration>,
    /// Let the rules delete even the newest completed record of a device.
    #[serde(default)]
    pub allow_empty: bool,
}

/// Why a completed record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepReason {
    Last(u32),
    Daily(u32),
    Weekly(u32),
    Monthly(u32),
    Within(chrono::Duration),
    /// No rule kept it, but it is the newest completed record of its device and module.
    Newest,
    /// Dated after now: its date cannot be trusted, so no rule judges it.
    FutureDated,
}

/// How far after now a record's date may lie before it is taken for a clock that ran ahead (a
/// record just made, dated by a server a little ahead of the clock that measures it, is not).
pub const FUTURE_SLACK: chrono::Duration = chrono::Duration::hours(1);

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeepReason::Last(n) => write!(f, "kept by keep_last {n}"),
            KeepReason::Daily(n) => write!(f, "kept by keep_daily {n}"),
            KeepReason::Weekly(n) => write!(f, "kept by keep_weekly {n}"),
            KeepReason::Monthly(n) => write!(f, "kept by keep_monthly {n}"),
            KeepReason::Within(d) => write!(f, "kept by keep_within {}", crate::format::exact_age(*d)),
            KeepReason::Newest => {
                f.write_str("kept: the newest backup of its device (--allow-empty deletes it)")
            }
            KeepReason::FutureDated => f.write_str(
                "kept: dated in the future (the server's clock was ahead when it was made); not \
                 counted as the newest of its device",
            ),
        }
    }
}

impl KeepReason {
    /// A stable name for scripts (`--json`).
    pub fn code(&self) -> &'static str {
        match self {
            KeepReason::Last(_) => "keep-last",
            KeepReason::Daily(_) => "keep-daily",
            KeepReason::Weekly(_) => "keep-weekly",
            KeepReason::Monthly(_) => "keep-monthly",
            KeepReason::Within(_) => "keep-within",
            KeepReason::Newest => "newest-of-device",
            KeepReason::FutureDated => "future-dated",
        }
    }
}

/// What the policy decides for one completed record.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub record: BackupRecord,
    /// `None`: not kept by any rule, so deleted.
    pub kept: Option<KeepReason>,
}

impl Retention {
    /// Whether any rule is given (a policy of no rules is not a policy).
    pub fn is_set(&self) -> bool {
        self.keep_last.is_some()
            || self.keep_daily.is_some()
            || self.keep_weekly.is_some()
            || self.keep_monthly.is_some()
            || self.keep_within.is_some()
    }

    /// Refuses a policy that would keep nothing at all: no rule, or only counts of 0.
    pub fn check(&self) -> Result<(), String> {
        let counts = [
            self.keep_last,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
        ];
        let keeps_some = counts.iter().flatten().any(|n| *n > 0) || self.keep_within.is_some();
        if keeps_some {
            Ok(())
        } else {
            Err(
                "this retention policy keeps nothing: give at least one of keep_last, keep_daily, \
                 keep_weekly, keep_monthly (above 0) or keep_within"
                    .into(),
            )
        }
    }

    /// The rules given, as written in the README and `--help`: `keep_last 3, keep_daily 7`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("keep_last", self.keep_last),
            ("keep_daily", self.keep_daily),
            ("keep_weekly", self.keep_weekly),
            ("keep_monthly", self.keep_monthly),
        ] {
            if let Some(n) = value {
                parts.push(format!("{name} {n}"));
            }
        }
        if let Some(within) = self.keep_within {
            parts.push(format!("keep_within {}", crate::format::exact_age(within)));
        }
        parts.join(", ")
    }

    /// Reads a policy as [`Retention::describe`] writes it (`keep_last 3, keep_daily 7,
    /// keep_within 30d`, commas optional, `-` for `_` accepted, `allow_empty` as a word). Blank
    /// text is no policy. A policy that keeps nothing is refused ([`Retention::check`]).
    pub fn parse(text: &str) -> Result<Option<Retention>, String> {
        let mut policy = Retention::default();
        let mut words = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty());
        while let Some(word) = words.next() {
            let name = word.replace('-', "_");
            if name == "allow_empty" {
                policy.allow_empty = true;
                continue;
            }
            let known = [
                "keep_last",
                "keep_daily",
                "keep_weekly",
                "keep_monthly",
                "keep_within",
            ];
            if !known.contains(&name.as_str()) {
                return Err(format!(
                    "{word:?} is not a rule; use {}, allow_empty",
                    known.join(", ")
                ));
            }
            let value = words.next().ok_or_else(|| format!("{name} needs a value"))?;
            if name == "keep_within" {
                policy.keep_within = Some(crate::format::parse_age(value)?);
                continue;
            }
            let count: u32 = value
                .parse()
                .map_err(|_| format!("{name} needs a whole number, not {value:?}"))?;
            let slot = match name.as_str() {
                "keep_last" => &mut policy.keep_last,
                "keep_daily" => &mut policy.keep_daily,
                "keep_weekly" => &mut policy.keep_weekly,
                _ => &mut policy.keep_monthly,
            };
            *slot = Some(count);
        }
        if !policy.is_set() {
            return if policy.allow_empty {
                Err("allow_empty needs rules to go with it".into())
            } else {
                Ok(None)
            };
        }
        policy.check()?;
        Ok(Some(policy))
    }

    /// [`Retention::describe`], with `allow_empty` when set: the text [`Retention::parse`] reads.
    pub fn to_text(&self) -> String {
        let mut text = self.describe();
        if self.allow_empty {
            text.push_str(", allow_empty");
        }
        text
    }

    /// The decision for every completed record of `records` at `now`, grouped by (device,
    /// module) and newest first within each group; groups in order of device id, then module;
    /// records dated in the future first.
    pub fn decide(&self, records: &[BackupRecord], now: DateTime<Utc>) -> Vec<Decision> {
        let cutoff = now
            .checked_add_signed(FUTURE_SLACK)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut groups: BTreeMap<(&str, &str), Vec<&BackupRecord>> = BTreeMap::new();
        let mut decisions = Vec::new();
        for record in records.iter().filter(|r| r.status == RecordStatus::Completed) {
            if record.create_time > cutoff {
                decisions.push(Decision {
                    record: record.clone(),
                    kept: Some(KeepReason::FutureDated),
                });
                continue;
            }
            groups
                .entry((record.device_info.device_id.as_str(), record.module_code.code()))
                .or_default()
                .push(record);
        }
        for group in groups.values_mut() {
            group.sort_by(|a, b| newest_first(a, b));
            let kept = self.keep_in(group);
            decisions.extend(group.iter().zip(kept).map(|(record, kept)| Decision {
                record: (*record).clone(),
                kept,
            }));
        }
        decisions
    }

    /// The reason each record of `group` (newest first) is kept, if it is.
    fn keep_in(&self, group: &[&BackupRecord]) -> Vec<Option<KeepReason>> {
        let mut kept: Vec<Option<KeepReason>> = vec![None; group.len()];
        let mut keep = |index: usize, reason: KeepReason| {
            kept[index].get_or_insert(reason);
        };
        if let Some(n) = self.keep_last {
            (0..group.len().min(n as usize)).for_each(|i| keep(i, KeepReason::Last(n)));
        }
        let buckets: [CalendarRule; 3] = [
            (self.keep_daily, |t| (t.year(), t.ordinal()), KeepReason::Daily),
            (
                self.keep_weekly,
                |t| (t.iso_week().year(), t.iso_week().week()),
                KeepReason::Weekly,
            ),
            (self.keep_monthly, |t| (t.year(), t.month()), KeepReason::Monthly),
        ];
        for (count, bucket_of, reason) in buckets {
            let Some(n) = count else { continue };
            let mut seen = HashSet::new();
            for (i, record) in group.iter().enumerate() {
                if seen.len() == n as usize {
                    break;
                }
                // Newest first, so the first record of each bucket is its newest.
                if seen.insert(bucket_of(record.create_time)) {
                    keep(i, reason(n));
                }
            }
        }
        if let (Some(within), Some(newest)) = (self.keep_within, group.first()) {
            let since = newest
                .create_time
                .checked_sub_signed(within)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            for (i, record) in group.iter().enumerate() {
                if record.create_time >= since {
                    keep(i, KeepReason::Within(within));
                }
            }
        }
        if !self.allow_empty && !group.is_empty() {
            keep(0, KeepReason::Newest);
        }
        kept
    }
}

/// A calendar rule: its count, the bucket (day, ISO week or month) a backup falls in, and the
/// reason it gives.
type CalendarRule = (
    Option<u32>,
    fn(DateTime<Utc>) -> (i32, u32),
    fn(u32) -> KeepReason,
);

/// Newest `createTime` first; for equal times the larger record id first (ids are numeric
/// strings: a longer one is larger), so that the order never depends on the server's.
fn newest_first(a: &BackupRecord, b: &BackupRecord) -> std::cmp::Ordering {
    b.create_time
        .cmp(&a.create_time)
        .then_with(|| b.record_id.len().cmp(&a.record_id.len()))
        .then_with(|| b.record_id.cmp(&a.record_id))
}

#[cfg(test)]
mod tests;
