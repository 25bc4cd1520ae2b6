//! Turning an HTTP answer into what a call returns, liberal in what it accepts: `code` as a
//! number or a numeric string (`0` is success whatever `msg` says), the payload in `data` or at
//! the top level, unknown fields ignored, and a list item that cannot be read left out and
//! reported instead of failing the page.

use std::borrow::Cow;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::model::Page;

/// A successful answer: the top-level JSON object (`code`, `msg`, `data`, `nextCursor`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer(pub Map<String, Value>);

impl Answer {
    /// `data` as `T`; an answer without `data` is a decode error.
    pub fn data<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        self.field("data")
    }

    /// The whole answer as `T` (a payload spread over several top-level fields).
    pub fn whole<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        serde_json::from_value(Value::Object(self.0)).map_err(|e| shape(format!("the answer: {e}")))
    }

    /// The top-level field `name` as `T` (the scope calls put their payload there).
    pub fn field<T: DeserializeOwned>(mut self, name: &str) -> Result<T, ApiError> {
        let value = self
            .0
            .remove(name)
            .filter(|v| !v.is_null())
            .ok_or_else(|| shape(format!("the success answer has no \"{name}\"")))?;
        serde_json::from_value(value).map_err(|e| shape(format!("\"{name}\": {e}")))
    }

    /// A page: the list in `list_field` (absent or null is an empty page) and the top-level
    /// `nextCursor` (absent, null or empty on the last page).
    pub fn page<T: DeserializeOwned>(mut self, list_field: &str) -> Result<Page<T>, ApiError> {
        let items = match self.0.remove(list_field) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(shape(format!(
                    "\"{list_field}\" should be a list, got {}",
                    kind_of(&other)
                )));
            }
        };
        let next_cursor = match self.0.remove("nextCursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(cursor)) => Some(cursor).filter(|c| !c.is_empty()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                return Err(shape(format!(
                    "\"nextCursor\" should be a string, got {}",
                    kind_of(&other)
                )));
            }
        };
        let mut page = Page::new(Vec::with_capacity(items.len()), next_cursor);
        for (index, item) in items.into_iter().enumerate() {
            match read_item(item) {
                Ok(item) => page.items.push(item),
                Err(why) => page.unreadable.push(format!("item {}: {why}", index + 1)),
            }
        }
        Ok(page)
    }
}

/// One list item as `T`, or why not, naming the field that could not be read
/// (`field "status": 2.5 is not an integer`), clipped like any server text (serde quotes the
/// value it could not read).
fn read_item<T: DeserializeOwned>(item: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(item).map_err(|error| {
        let path = error.path().to_string();
        let why = error.into_inner().to_string();
        if path == "." {
            clip(&why)
        } else {
            clip(&format!("field \"{path}\": {why}"))
        }
    })
}

fn shape(detail: String) -> ApiError {
    ApiError::Decode {
        status: 200,
        detail: format!("unexpected shape: {detail}"),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The answer's `code` as text: a number as its digits, a string trimmed. `None` when absent or
/// of another type.
fn code_of(object: &Map<String, Value>) -> Option<String> {
    match object.get("code")? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_string()),
        _ => None,
    }
}

/// Whether `code` means success: zero, written any way a number can be (`0`, `"0"`, `"00"`,
/// `-0`, `0.0`, `"0e3"`). A code that is zero however written is success, or a created lock
/// would be neither kept nor given back.
fn is_success_code(code: &str) -> bool {
    code.parse::<f64>().is_ok_and(|number| number == 0.0)
        // `f64` also reads `inf` and `nan`; only a written number counts.
        && code.bytes().any(|b| b.is_ascii_digit())
}

/// Turns a whole HTTP answer into its JSON object, or the error it describes. `location` is the
/// `Location` header, for redirects (which are never followed).
pub fn decode_answer(status: StatusCode, location: Option<&str>, body: &[u8]) -> Result<Answer, ApiError> {
    let status_code = status.as_u16();
    if status.is_redirection() {
        return Err(ApiError::Redirect {
            status: status_code,
            location: location.map(clip),
        });
    }
    let failed = !status.is_success();
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => object,
        Ok(_) | Err(_) if failed => return Err(ApiError::Http { status: status_code }),
        Ok(other) => {
            return Err(ApiError::Decode {
                status: status_code,
                detail: format!("a JSON {} instead of an object", kind_of(&other)),
            });
        }
        Err(e) => {
            return Err(ApiError::Decode {
                status: status_code,
                detail: format!("not JSON: {e}"),
            });
        }
    };
    match code_of(&object) {
        Some(code) if is_success_code(&code) && !failed => Ok(Answer(object)),
        Some(code) if !is_success_code(&code) => {
            let msg = object.get("msg").and_then(Value::as_str).unwrap_or_default();
            Err(ApiError::Api {
                status: status_code,
                code: clip(&code),
                msg: clip(msg),
            })
        }
        _ if failed => Err(ApiError::Http { status: status_code }),
        _ => Err(ApiError::Decode {
            status: status_code,
            detail: "no \"code\" field".into(),
        }),
    }
}

/// Server texts are shown on one status line: keep them short. Control characters stay as sent
/// (JSON output carries them exactly); every screen escapes them (`format::escape`).
pub fn clip(msg: &str) -> String {
    const MAX_CHARS: usize = 300;
    match msg.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &msg[..cut]),
        None => msg.to_string(),
    }
}

/// `body` with every occurrence of `secret` replaced by `<redacted>`.
pub fn without_secret<'a>(body: &'a [u8], secret: &str) -> Cow<'a, [u8]> {
    let secret = secret.as_bytes();
    if secret.is_empty() || !body.windows(secret.len()).any(|w| w == secret) {
        return Cow::Borrowed(body);
    }
    let mut scrubbed = Vec::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        if rest.starts_with(secret) {
            scrubbed.extend_from_slice(b"<redacted>");
            rest = &rest[secret.len()..];
        } else {
            scrubbed.push(rest[0]);
            rest = &rest[1..];
        }
    }
    Cow::Owned(scrubbed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::{BackupRecord, CreateLockData};

    fn ok(body: &str) -> Result<Answer, ApiError> {
        decode_answer(StatusCode::OK, None, body.as_bytes())
    }

    #[test]
    fn success_is_code_zero_however_it_is_written_and_whatever_msg_says() {
        for body in [
            r#"{"code":0,"msg":"success","data":{"lockId":"a@100"}}"#,
            r#"{"code":"0","msg":"Success","data":{"lockId":"a@100"}}"#,
            r#"{"code":"0","msg":"成功","data":{"lockId":"a@100"},"traceId":"x"}"#,
            r#"{"code":0,"data":{"lockId":"a@100","extra":1}}"#,
        ] {
            let data: CreateLockData = ok(body).unwrap().data().unwrap();
            assert_eq!(data.lock_id, "a@100", "{body}");
        }
    }

    #[test]
    fn a_zero_code_is_success_however_it_is_written() {
        for code in ["-0", "0.0", "\"0.0\"", "\"-0\"", "0e3", "\"00\""] {
            let body = format!(r#"{{"code":{code},"data":{{"lockId":"a@100"}}}}"#);
            assert!(ok(&body).is_ok(), "{code}");
        }
        for code in ["\"inf\"", "\"nan\"", "\"0x0\"", "0.5", "\"\""] {
            let body = format!(r#"{{"code":{code}}}"#);
            assert!(ok(&body).is_err(), "{code}");
        }
    }

    #[test]
    fn an_unreadable_item_names_its_field() {
        let body = r#"{"code":0,"data":[
            {"recordId":"1","moduleCode":"102","status":2.5,"version":1,"createTime":"2025-12-17T07:59:20.752Z"},
            {"recordId":"2","moduleCode":"102","status":2.0,"version":"1e2","createTime":"2025-12-17T07:59:20.752Z",
             "deviceInfo":{"createTime":"yesterday"}}
        ]}"#;
        let page: Page<BackupRecord> = ok(body).unwrap().page("data").unwrap();
        assert!(page.items.is_empty());
        assert!(
            page.unreadable[0].starts_with("item 1: field \"status\": 2.5 is not an integer"),
            "{:?}",
            page.unreadable
        );
        assert!(
            page.unreadable[1].starts_with("item 2: field \"deviceInfo.createTime\""),
            "{:?}",
            page.unreadable
        );
    }

    #[test]
    fn failures_keep_their_code_as_sent() {
        let err = decode_answer(
            StatusCode::CONFLICT,
            None,
            br#"{"code":409001,"msg":"lock exists"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            ApiError::Api {
                status: 409,
                code: "409001".into(),
                msg: "lock exists".into()
            }
        );
        let gateway = decode_answer(
            StatusCode::BAD_GATEWAY,
            None,
            br#"{"code":"APIGW.0101","msg":"backend unavailable"}"#,
        )
        .unwrap_err();
        assert_eq!(gateway.code_text(), Some("APIGW.0101"));
        // A failure under HTTP 200 is still a failure.
        let quiet = ok(r#"{"code":"13000102","msg":"parameter verification failed"}"#).unwrap_err();
        assert_eq!(quiet.code(), Some(13000102));
    }

    #[test]
    fn bodies_that_are_not_the_envelope() {
        let html = decode_answer(StatusCode::BAD_GATEWAY, None, b"<html>").unwrap_err();
        assert_eq!(html, ApiError::Http { status: 502 });
        let zero_under_500 =
            decode_answer(StatusCode::INTERNAL_SERVER_ERROR, None, br#"{"code":0}"#).unwrap_err();
        assert_eq!(zero_under_500, ApiError::Http { status: 500 });
        assert!(matches!(
            ok("\x00\u{ff}").unwrap_err(),
            ApiError::Decode { status: 200, .. }
        ));
        assert!(matches!(ok("[1,2]").unwrap_err(), ApiError::Decode { .. }));
        assert!(matches!(
            ok(r#"{"msg":"ok"}"#).unwrap_err(),
            ApiError::Decode { .. }
        ));
        assert!(matches!(
            ok(r#"{"code":true}"#).unwrap_err(),
            ApiError::Decode { .. }
        ));
        let wrong_shape = ok(r#"{"code":0,"data":{"x":1}}"#)
            .unwrap()
            .data::<CreateLockData>();
        assert!(matches!(wrong_shape, Err(ApiError::Decode { .. })));
        let no_data = ok(r#"{"code":0,"msg":"success"}"#)
            .unwrap()
            .data::<CreateLockData>();
        assert!(no_data.unwrap_err().to_string().contains("no \"data\""));
    }

    #[test]
    fn redirects_are_reported_with_where_they_point() {
        let err = decode_answer(StatusCode::FOUND, Some("https://elsewhere:8443/x"), b"").unwrap_err();
        assert_eq!(
            err,
            ApiError::Redirect {
                status: 302,
                location: Some("https://elsewhere:8443/x".into())
            }
        );
    }

    #[test]
    fn one_odd_item_never_sinks_a_page() {
        let body = r#"{"code":0,"msg":"success","nextCursor":"c2","data":[
            {"recordId":"1","moduleCode":"102","status":0,"version":1,"createTime":"2025-12-17T07:59:20.752Z"},
            {"recordId":"2","moduleCode":"102","status":0,"version":1,"createTime":"not a time"},
            "garbage",
            {"recordId":"3","moduleCode":"999","status":7,"version":"4","createTime":"2025-12-17T07:59:20Z","endTime":""}
        ]}"#;
        let page: Page<BackupRecord> = ok(body).unwrap().page("data").unwrap();
        let ids: Vec<&str> = page.items.iter().map(|r| r.record_id.as_str()).collect();
        assert_eq!(ids, ["1", "3"]);
        assert_eq!(page.unreadable.len(), 2);
        assert!(page.unreadable[0].starts_with("item 2:"), "{:?}", page.unreadable);
        assert!(page.unreadable[1].starts_with("item 3:"), "{:?}", page.unreadable);
        assert_eq!(page.next_cursor.as_deref(), Some("c2"));
        let empty: Page<BackupRecord> = ok(r#"{"code":0,"nextCursor":""}"#).unwrap().page("data").unwrap();
        assert_eq!((empty.items.len(), empty.next_cursor), (0, None));
        let numeric: Page<BackupRecord> = ok(r#"{"code":0,"data":[],"nextCursor":42}"#)
            .unwrap()
            .page("data")
            .unwrap();
        assert_eq!(numeric.next_cursor.as_deref(), Some("42"));
        assert!(
            ok(r#"{"code":0,"data":{}}"#)
                .unwrap()
                .page::<BackupRecord>("data")
                .is_err()
        );
    }

    #[test]
    fn long_messages_are_clipped_and_secrets_scrubbed() {
        let long = "x".repeat(1000);
        assert!(clip(&long).chars().count() <= 301);
        assert_eq!(
            clip("a\nb\x1b[31m"),
            "a\nb\x1b[31m",
            "escaped where shown, not here"
        );
        assert_eq!(
            &*without_secret(b"a s3cret b s3cret", "s3cret"),
            b"a <redacted> b <redacted>"
        );
        assert!(matches!(without_secret(b"nothing", "s3cret"), Cow::Borrowed(_)));
    }
}
