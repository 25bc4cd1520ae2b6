//! A clean-up rule asked again, right before its queued deletions are sent: the device's
//! records of the module are listed (under the module's lock, so nothing changes meanwhile) and
//! the rule saved with each entry is applied to them as `cleanup` would. Retention is per device
//! and module, so one device's listing answers for its records.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use futures::StreamExt;

use super::{Queued, SavedRules, Why};
use crate::api::client::RecordQuery;
use crate::api::{ApiError, BackupRecord, Client, MAX_PAGE_SIZE, RecordStatus};
use crate::cleanup::{CleanupRules, ages_measured_at, plan};

/// Pages one device's listing may take (a million records at the largest page size).
const MAX_PAGES: usize = 10_000;

/// What asking the rule again found for one queued record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// Still chosen, or not listed at all (then the delete's own re-read says what became of
    /// it).
    StillChosen,
    /// The rule keeps it now: why, in words.
    NoLongerChosen(String),
    /// The rule could not be asked (the listing failed or was incomplete): why.
    Unknown(String),
}

/// Asks each rule of `queued` again. Entries queued by hand are not in the answer.
pub async fn recheck(client: &Client, queued: &[Queued]) -> HashMap<String, Recheck> {
    // One listing per device and set of rules (entries of one clean-up share them).
    let mut groups: BTreeMap<(String, String), (SavedRules, Vec<&Queued>)> = BTreeMap::new();
    for entry in queued {
        if let Why::Rule { rules, .. } = &entry.why {
            let key = (
                entry.device_id().to_string(),
                serde_json::to_string(rules).unwrap_or_default(),
            );
            groups
                .entry(key)
                .or_insert_with(|| (*rules, Vec::new()))
                .1
                .push(entry);
        }
    }
    let mut answers = HashMap::new();
    for ((device, _), (rules, entries)) in groups {
        let Some(module) = entries.first().map(|e| e.module) else {
            continue;
        };
        let query = RecordQuery {
            module,
            page_size: MAX_PAGE_SIZE,
            device_id: Some(device.clone()),
        };
        let rules = CleanupRules::from(rules);
        let verdicts = match weighed(client, query, &rules).await {
            Ok(records) => judge(&records, &rules, &entries, client),
            Err(why) => entries
                .iter()
                .map(|e| (e.record_id.clone(), Recheck::Unknown(why.clone())))
                .collect(),
        };
        answers.extend(verdicts);
    }
    answers
}

/// The device's records a rule weighs (as `cleanup` holds them): all but completed ones, and
/// those too under a retention policy.
async fn weighed(
    client: &Client,
    query: RecordQuery,
    rules: &CleanupRules,
) -> Result<Vec<BackupRecord>, String> {
    let device = query.device_id.clone().unwrap_or_default();
    let mut pages = std::pin::pin!(client.record_pages(query, MAX_PAGES));
    let mut records = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e: ApiError| format!("cannot list device {device}'s records: {e}"))?;
        if !page.unreadable.is_empty() {
            return Err(format!(
                "device {device}'s listing has records that cannot be read ({}), so the rule \
                 cannot be weighed",
                page.unreadable.join("; ")
            ));
        }
        records.extend(
            page.items
                .into_iter()
                .filter(|r| r.status != RecordStatus::Completed || rules.retention.is_some()),
        );
    }
    Ok(records)
}

fn judge(
    records: &[BackupRecord],
    rules: &CleanupRules,
    entries: &[&Queued],
    client: &Client,
) -> Vec<(String, Recheck)> {
    let now = ages_measured_at(Utc::now(), client.server_now());
    let planned = plan(records, rules, now);
    entries
        .iter()
        .map(|entry| {
            let id = &entry.record_id;
            let listed = records.iter().any(|r| &r.record_id == id);
            let chosen = planned.delete.iter().any(|c| &c.record.record_id == id);
            let verdict = if chosen || !listed {
                Recheck::StillChosen
            } else if let Some(kept) = planned.keep.iter().find(|k| &k.record.record_id == id) {
                Recheck::NoLongerChosen(format!("kept: its rule keeps it now ({})", kept.reason))
            } else {
                Recheck::NoLongerChosen("kept: its rule no longer chooses it".into())
            };
            (id.clone(), verdict)
        })
        .collect()
}
