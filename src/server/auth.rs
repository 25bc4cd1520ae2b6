//! Who sent a request: a bearer token of a known user, or a request signed by a known app (the
//! reference's app-based authentication, [`crate::api::sign`]) acting for the `X-User-Id` it
//! names. Then the X-Date window, then the rate limit for that verified user. As an axum
//! extractor, [`Authed`], which every handler takes last (it reads the body, which a signature
//! covers).

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, Uri, header};
use chrono::{DateTime, NaiveDateTime, Utc};

use super::error::Failure;
use super::routes::AppState;
use crate::api::sign;

/// Largest accepted request body; bigger ones get 413 / 400001.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How far in the past X-Date may be (the reference: a signature is valid for 15 minutes).
const MAX_DATE_AGE: chrono::Duration = chrono::Duration::minutes(15);

/// `X-Date` format, e.g. `20251103T070140Z`.
const X_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// The credentials the server accepts.
#[derive(Default)]
pub struct Accepted {
    /// user id -> bearer token
    pub users: HashMap<String, String>,
    /// app id -> app secret
    pub apps: HashMap<String, String>,
}

/// A request whose credentials checked out: the user it acts for, and its body.
pub struct Authed {
    pub user: String,
    pub body: Bytes,
}

impl FromRequest<AppState> for Authed {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &AppState) -> Result<Authed, Failure> {
        let (parts, body) = request.into_parts();
        let now = state.faults.now();
        let user = match scheme(&parts.headers)? {
            // A token says nothing of the body: the body is read (and limited) after the check.
            Scheme::Bearer(token) => check_bearer(&state.accepted, &parts.headers, token)?,
            Scheme::Signed(claim) => {
                let body = read_body(&parts.headers, body).await?;
                let user = check_signature(
                    &state.accepted,
                    &parts.method,
                    &parts.uri,
                    &parts.headers,
                    &claim,
                    &body,
                )?;
                finish(state, &parts.headers, now, &user)?;
                return Ok(Authed { user, body });
            }
        };
        let body = read_body(&parts.headers, body).await?;
        finish(state, &parts.headers, now, &user)?;
        Ok(Authed { user, body })
    }
}

/// The checks after the credentials: the request time, then the verified user's rate limit.
fn finish(state: &AppState, headers: &HeaderMap, now: DateTime<Utc>, user: &str) -> Result<(), Failure> {
    check_date(header_str(headers, "x-date"), now)?;
    state.faults.charge(user)
}

enum Scheme<'a> {
    Bearer(&'a str),
    Signed(sign::AuthorizationHeader),
}

fn scheme(headers: &HeaderMap) -> Result<Scheme<'_>, Failure> {
    let auth = header_str(headers, header::AUTHORIZATION.as_str()).ok_or_else(|| {
        Failure::BadToken(
            "missing Authorization header (expected `Bearer <token>` or an HMAC-SHA256 app signature)".into(),
        )
    })?;
    if let Some((kind, token)) = auth.split_once(' ')
        && kind.eq_ignore_ascii_case("bearer")
    {
        return Ok(Scheme::Bearer(token.trim()));
    }
    if auth.starts_with(sign::ALGORITHM) {
        return sign::parse_authorization(auth)
            .map(Scheme::Signed)
            .ok_or_else(|| {
                Failure::BadToken(
                    "malformed app signature: expected `HMAC-SHA256 AppId=…,SignedHeaders=…,Signature=…`"
                        .into(),
                )
            });
    }
    Err(Failure::BadToken(
        "Authorization header must be `Bearer <token>` or an HMAC-SHA256 app signature".into(),
    ))
}

fn user_header(headers: &HeaderMap) -> Result<&str, Failure> {
    header_str(headers, "x-user-id").ok_or_else(|| Failure::BadToken("missing X-User-Id header".into()))
}

/// A bearer token must be the one of the `X-User-Id` it comes with (compared in constant time).
fn check_bearer(accepted: &Accepted, headers: &HeaderMap, token: &str) -> Result<String, Failure> {
    let user = user_header(headers)?;
    let expected = accepted.users.get(user).map(String::as_bytes).unwrap_or_default();
    // Compare against something of the same length for unknown users too, so the time taken does
    // not tell which user ids exist.
    let matches = constant_time_eq(expected, token.as_bytes()) && !expected.is_empty();
    if !matches {
        return Err(Failure::BadToken(format!("token is not valid for user {user:?}")));
    }
    Ok(user.to_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// An app signature must name a known app, sign at least `x-date` and `x-user-id`, and match
/// the request as received. The app may act for any user id (the carrier model).
fn check_signature(
    accepted: &Accepted,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    claim: &sign::AuthorizationHeader,
    body: &[u8],
) -> Result<String, Failure> {
    let user = user_header(headers)?;
    let Some(secret) = accepted.apps.get(&claim.app_id) else {
        return Err(Failure::BadToken(format!("unknown AppId {:?}", claim.app_id)));
    };
    for required in ["x-date", "x-user-id"] {
        if !claim.signed_headers.iter().any(|name| name == required) {
            return Err(Failure::BadToken(format!(
                "the signature must cover the {required} header (SignedHeaders lists {})",
                claim.signed_headers.join(";")
            )));
        }
    }
    let mut signed = Vec::with_capacity(claim.signed_headers.len());
    for name in &claim.signed_headers {
        let value = headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Failure::BadToken(format!("signed header {name} is missing from the request")))?;
        signed.push((name.clone(), value.to_string()));
    }
    let segments = sign::decode_path(uri.path());
    let query = sign::parse_query(uri.query().unwrap_or_default());
    let parts = sign::SignedParts {
        method: method.as_str(),
        path_segments: &segments,
        query: &query,
        headers: &signed,
        body,
    };
    if !sign::verify(secret, &parts, &claim.signature) {
        return Err(Failure::BadToken(
            "the signature does not match the request (check the app secret and what is signed)".into(),
        ));
    }
    Ok(user.to_owned())
}

pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// X-Date must parse and lie in `[now - 15 min, now]`.
pub fn check_date(x_date: Option<&str>, now: DateTime<Utc>) -> Result<(), Failure> {
    let text = x_date.ok_or_else(|| Failure::BadDate("missing X-Date header".into()))?;
    let date = NaiveDateTime::parse_from_str(text, X_DATE_FORMAT)
        .map_err(|_| {
            Failure::BadDate(format!(
                "malformed X-Date {text:?}: expected UTC yyyyMMdd'T'HHmmss'Z', e.g. 20251103T070140Z"
            ))
        })?
        .and_utc();
    let server = now.format(X_DATE_FORMAT);
    // X-Date has whole seconds; compare against the server's whole second.
    if date.timestamp() > now.timestamp() {
        return Err(Failure::BadDate(format!(
            "X-Date {text} is later than the server time {server}"
        )));
    }
    if now.signed_duration_since(date) > MAX_DATE_AGE {
        return Err(Failure::BadDate(format!(
            "X-Date {text} is more than 15 minutes older than the server time {server}"
        )));
    }
    Ok(())
}

/// Reads the whole body, refusing more than [`BODY_LIMIT`] bytes.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Failure> {
    let declared = header_str(headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > BODY_LIMIT as u64) {
        return Err(Failure::BodyTooLarge(BODY_LIMIT));
    }
    axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|e| {
        if e.to_string().contains("length limit") {
            Failure::BodyTooLarge(BODY_LIMIT)
        } else {
            Failure::BadRequest(format!("could not read the request body: {e}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn x_date_window() {
        let now = NaiveDateTime::parse_from_str("20251103T070140Z", X_DATE_FORMAT)
            .unwrap()
            .and_utc()
            + chrono::Duration::milliseconds(500);
        assert!(check_date(Some("20251103T070140Z"), now).is_ok());
        assert!(check_date(Some("20251103T065641Z"), now).is_ok());
        let code = |d: Option<&str>| check_date(d, now).unwrap_err().code();
        assert_eq!(code(Some("20251103T070141Z")), 401002, "one second ahead");
        assert_eq!(code(Some("20251103T064639Z")), 401002, "older than 15 minutes");
        assert_eq!(code(Some("2025-11-03T07:01:40Z")), 401002);
        assert_eq!(code(Some("20251103T070140")), 401002);
        assert_eq!(code(None), 401002);
    }

    fn accepted() -> Accepted {
        Accepted {
            users: HashMap::from([("alice".to_string(), "alice-token".to_string())]),
            apps: HashMap::from([("app-1".to_string(), "app-secret-0123456789".to_string())]),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn bearer_tokens_belong_to_their_user() {
        let ok = headers(&[("x-user-id", "alice")]);
        assert_eq!(check_bearer(&accepted(), &ok, "alice-token").unwrap(), "alice");
        let code = |h: &HeaderMap, t: &str| check_bearer(&accepted(), h, t).unwrap_err().code();
        assert_eq!(code(&ok, "alice-token2"), 401001);
        assert_eq!(code(&ok, ""), 401001);
        assert_eq!(code(&headers(&[("x-user-id", "bob")]), "alice-token"), 401001);
        assert_eq!(code(&headers(&[]), "alice-token"), 401001);
    }

    /// A request signed by hand with the rule, as another client would.
    fn signed_request(
        user: &str,
        signed: &str,
        body: &[u8],
    ) -> (Method, Uri, HeaderMap, sign::AuthorizationHeader) {
        let uri: Uri = "/koodrive/ose/v1/backup/record?pageSize=10&moduleCode=102"
            .parse()
            .unwrap();
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("x-date", "20251103T070140Z"),
            ("x-user-id", user),
        ]);
        let names: Vec<String> = signed.split(';').map(String::from).collect();
        let signed_pairs: Vec<(String, String)> = names
            .iter()
            .map(|n| {
                (
                    n.clone(),
                    h.get(n.as_str()).unwrap().to_str().unwrap().to_string(),
                )
            })
            .collect();
        let segments = sign::decode_path(uri.path());
        let query = sign::parse_query(uri.query().unwrap());
        let parts = sign::SignedParts {
            method: "GET",
            path_segments: &segments,
            query: &query,
            headers: &signed_pairs,
            body,
        };
        let signature = sign::signature("app-secret-0123456789", &parts);
        let claim = sign::parse_authorization(&sign::authorization("app-1", signed, &signature)).unwrap();
        (Method::GET, uri, h, claim)
    }

    #[test]
    fn a_signed_request_acts_for_the_user_it_names() {
        let (method, uri, h, claim) = signed_request("1505084218764547200", "host;x-date;x-user-id", b"");
        let user = check_signature(&accepted(), &method, &uri, &h, &claim, b"").unwrap();
        assert_eq!(user, "1505084218764547200");
        // A changed body, user or query no longer matches.
        let code = |m: &Method, u: &Uri, h: &HeaderMap, c: &sign::AuthorizationHeader, b: &[u8]| {
            check_signature(&accepted(), m, u, h, c, b).unwrap_err().code()
        };
        assert_eq!(code(&method, &uri, &h, &claim, b"x"), 401001);
        let mut other_user = h.clone();
        other_user.insert("x-user-id", HeaderValue::from_static("bob"));
        assert_eq!(code(&method, &uri, &other_user, &claim, b""), 401001);
        let other_query: Uri = "/koodrive/ose/v1/backup/record?pageSize=11&moduleCode=102"
            .parse()
            .unwrap();
        assert_eq!(code(&method, &other_query, &h, &claim, b""), 401001);
        // Unknown app, and a signature that leaves out x-date.
        let mut stranger = claim.clone();
        stranger.app_id = "app-2".into();
        assert!(
            check_signature(&accepted(), &method, &uri, &h, &stranger, b"")
                .unwrap_err()
                .message()
                .contains("unknown AppId")
        );
        let (m, u, h2, partial) = signed_request("alice", "host;x-user-id", b"");
        let err = check_signature(&accepted(), &m, &u, &h2, &partial, b"").unwrap_err();
        assert_eq!(err.code(), 401001);
        assert!(err.message().contains("x-date"), "{}", err.message());
    }
}
