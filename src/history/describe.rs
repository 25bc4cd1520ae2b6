//! An entry in words, for people: the few words of `koobackup history`'s columns and of the app's
//! history pane (what it is about, what came of it, who sent it), and the entry whole as
//! pretty-printed JSON with the records' properties unfolded. The text is raw (ids and messages
//! came from servers): escaping for a terminal is the printer's job.

use serde_json::Value;

use super::entry::Entry;

/// The ids the entry is about, in a few words.
pub fn what(entry: &Entry) -> String {
    let mut parts = Vec::new();
    if let Some(what) = &entry.what {
        parts.push(format!("{what}: {} record(s)", entry.planned.len()));
    }
    if let Some(record) = &entry.record_id {
        parts.push(format!("record {record}"));
    }
    if let Some(device) = entry.device() {
        parts.push(format!("device {device}"));
    }
    if let Some(lock) = &entry.lock_id {
        parts.push(format!("lock {lock}"));
    }
    parts.extend(entry.ids.iter().cloned());
    parts.join(", ")
}

/// What came of it: `ok`, `failed: CODE message`, or a plan's `N deleted`.
pub fn result(entry: &Entry) -> String {
    if let Some(deleted) = entry.deleted {
        let recovered = if entry.recovered {
            " (found after its process ended)"
        } else {
            ""
        };
        return format!("{deleted} deleted{recovered}");
    }
    let outcome = &entry.outcome;
    let head = if outcome.ok { "ok" } else { "failed" };
    match (&outcome.code, &outcome.message) {
        (Some(code), Some(message)) => format!("{head}: {code} {message}"),
        (None, Some(message)) => format!("{head}: {message}"),
        (Some(code), None) => format!("{head}: {code}"),
        (None, None) => head.to_string(),
    }
}

/// Who sent it: `user@host (profile)`.
pub fn by(entry: &Entry) -> String {
    format!(
        "{}@{} ({})",
        entry.who.user,
        entry.who.host,
        entry.who.profile.as_deref().unwrap_or("-")
    )
}

/// The entry whole, pretty-printed, the records' properties shown as the JSON they hold.
pub fn whole(entry: &Entry) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(entry)?;
    unfold_properties(&mut value);
    serde_json::to_string_pretty(&value)
}

/// The properties of the records in an entry (JSON text on the wire) replaced by the JSON they
/// hold, so they are pretty-printed with the rest; properties that are not JSON stay text.
fn unfold_properties(value: &mut Value) {
    let unfold = |record: &mut Value| {
        if let Some(text) = record.get("properties").and_then(Value::as_str)
            && let Ok(parsed) = serde_json::from_str::<Value>(text)
        {
            record["properties"] = parsed;
        }
    };
    if let Some(record) = value.get_mut("record") {
        unfold(record);
    }
    if let Some(planned) = value.get_mut("planned").and_then(Value::as_array_mut) {
        for one in planned {
            if let Some(record) = one.get_mut("record") {
                unfold(record);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_unfolded_for_people_only_where_they_are_json() {
        let mut value = serde_json::json!({
            "record": {"properties": "{\"a\":1}"},
            "planned": [{"record": {"properties": "not json"}}]
        });
        unfold_properties(&mut value);
        assert_eq!(value["record"]["properties"], serde_json::json!({"a": 1}));
        assert_eq!(value["planned"][0]["record"]["properties"], "not json");
    }
}
