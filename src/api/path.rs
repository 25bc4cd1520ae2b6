//! Request paths below the API prefix: the one place an id (a record's, a device's) becomes a
//! path segment, for every caller (the command line, the app, retries).
//!
//! Each id is percent-encoded, so whatever it holds it stays one segment, and refused before
//! anything is sent when no encoding can keep it there: `.` and `..` are dot segments that the
//! URL library drops (and the signing rule normalises away), so `/device/../scope` would reach
//! another endpoint; an empty id leaves `/record/` (the listing). An id longer than
//! [`MAX_ID_LEN`] is refused too (our rule): KooDrive's ids are 19-digit numbers and
//! `<uuid>@<module>`, and a megabyte of id would only end as a refused request line after every
//! retry. (`tests/it/prop/client_paths.rs` checks every endpoint against arbitrary ids.)

use super::error::ApiError;
use super::sign;

/// Longest id koobackup sends or accepts, in characters (our rule; see the module's text).
pub const MAX_ID_LEN: usize = 128;

/// Why `id` cannot be sent as an id, or `None` when it can: empty or blank, `.` or `..`, or
/// longer than [`MAX_ID_LEN`].
pub fn id_problem(id: &str) -> Option<String> {
    let length = id.chars().count();
    if id.trim().is_empty() {
        Some("it is empty".into())
    } else if id == "." || id == ".." {
        Some(format!(
            "\"{id}\" is a dot segment, which a URL drops: the request would reach another endpoint"
        ))
    } else if length > MAX_ID_LEN {
        Some(format!(
            "it is {length} characters long; ids are at most {MAX_ID_LEN} (our rule)"
        ))
    } else {
        None
    }
}

/// `id` as messages quote it: whole when short, else its start and its length (a 100 KB id must
/// not become a 100 KB message).
pub fn shown_id(id: &str) -> String {
    const SHOWN: usize = 40;
    match id.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}… ({} characters)", &id[..cut], id.chars().count()),
        None => id.to_string(),
    }
}

/// `id` encoded as one path segment, or the refusal naming `kind` (`record`, `device`).
fn segment(kind: &str, id: &str) -> Result<String, ApiError> {
    match id_problem(id) {
        None => Ok(sign::encode(id)),
        Some(problem) => Err(ApiError::NotSent {
            cause: format!("the {kind} id {} cannot be sent: {problem}", shown_id(id)),
        }),
    }
}

/// `/record/{id}`.
pub(super) fn record(record_id: &str) -> Result<String, ApiError> {
    Ok(format!("/record/{}", segment("record", record_id)?))
}

/// `/device/{id}`.
pub(super) fn device(device_id: &str) -> Result<String, ApiError> {
    Ok(format!("/device/{}", segment("device", device_id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(
            record("1842862763295184641").unwrap(),
            "/record/1842862763295184641"
        );
        assert_eq!(record("../x").unwrap(), "/record/..%2Fx");
        assert_eq!(record("a b?c#d").unwrap(), "/record/a%20b%3Fc%23d");
        assert_eq!(device("...").unwrap(), "/device/...");
    }

    #[test]
    fn dot_segments_empty_and_huge_ids_are_refused_with_a_short_message() {
        for id in [".", "..", "", "  "] {
            let error = device(id).unwrap_err();
            assert!(matches!(error, ApiError::NotSent { .. }), "{id:?}: {error}");
            assert!(error.to_string().ends_with("nothing was sent"), "{error}");
        }
        let huge = "7".repeat(120_000);
        let error = record(&huge).unwrap_err().to_string();
        assert!(error.len() < 200, "{error}");
        assert!(error.contains("120000 characters"), "{error}");
        assert!(record(&"7".repeat(MAX_ID_LEN)).is_ok());
    }
}
