//! KooDrive's app-based authentication: each request signed with HMAC-SHA256 under the app's
//! secret, as the public reference's "App-based Authentication Generation Rule" (steps 1–4)
//! describes it:
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n
//!                    CanonicalHeaders \n SignedHeaders \n HashedPayload
//! StringToSign     = "HMAC-SHA256" \n hex(SHA-256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(AppSecret, StringToSign))
//! Authorization: HMAC-SHA256 AppId=<id>,SignedHeaders=<names>,Signature=<signature>
//! ```
//!
//! The client signs the parts it is about to send; the local server rebuilds the same parts from
//! what it received ([`parse_query`], [`decode_path`]) and compares in constant time. Both go
//! through [`canonical_request`], so the two can only agree on the reference's reading.

use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// The algorithm name, first in the `Authorization` header and in the string to sign.
pub const ALGORITHM: &str = "HMAC-SHA256";

/// The headers koobackup signs (the reference requires `x-date` and `x-user-id`; its example
/// also signs `host`), sorted and lower-case.
pub const SIGNED_HEADERS: [&str; 3] = ["host", "x-date", "x-user-id"];

/// Every byte but `A–Z a–z 0–9 - _ . ~` is written `%XY` (upper-case hex).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `enc` of the reference: RFC 3986 unreserved characters as they are, every other byte of the
/// UTF-8 text as `%XY` (a space is `%20`).
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, ENCODE).to_string()
}

/// The parts of a request that its signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedParts<'a> {
    pub method: &'a str,
    /// The absolute path with every segment decoded (`/record/..%2Fx` is the segments
    /// `record` and `../x`).
    pub path_segments: &'a [String],
    /// Query parameters, decoded, in any order.
    pub query: &'a [(String, String)],
    /// `(lower-case name, value)` of each signed header, in any order.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The CanonicalURI: the path without `.` and `..` segments (RFC 3986 §5.2.4), each segment
/// encoded, ending with `/` (appended when the path does not end with one).
pub fn canonical_uri(segments: &[String]) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in segments {
        match segment.as_str() {
            "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let mut uri = String::from("/");
    for segment in kept {
        if segment.is_empty() {
            continue;
        }
        uri.push_str(&encode(segment));
        uri.push('/');
    }
    uri
}

/// The CanonicalQueryString: `enc(name)=enc(value)` for every parameter (an empty value keeps
/// its `=`), sorted by name in byte order (then by value, so that repeated names sort stably),
/// joined with `&`.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(name, value)| (encode(name), encode(value)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// CanonicalHeaders (`name:trimmed value\n` each, sorted by name) and SignedHeaders (the names
/// joined with `;`).
fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut sorted: Vec<(String, &str)> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
        .collect();
    sorted.sort();
    let canonical = sorted.iter().fold(String::new(), |mut out, (name, value)| {
        let _ = writeln!(out, "{name}:{value}");
        out
    });
    let names: Vec<&str> = sorted.iter().map(|(name, _)| name.as_str()).collect();
    (canonical, names.join(";"))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Step 1: the canonical request. Its CanonicalHeaders part ends with a newline of its own, so
/// an empty line follows it.
pub fn canonical_request(parts: &SignedParts<'_>) -> String {
    let (headers, signed) = canonical_headers(parts.headers);
    format!(
        "{}\n{}\n{}\n{headers}\n{signed}\n{}",
        parts.method.to_ascii_uppercase(),
        canonical_uri(parts.path_segments),
        canonical_query(parts.query),
        sha256_hex(parts.body)
    )
}

/// Step 2: `HMAC-SHA256\n` and the hex SHA-256 of the canonical request.
pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
}

fn mac(secret: &str, message: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(message.as_bytes());
    mac
}

/// Step 3: the lower-case hex HMAC-SHA256 of the string to sign under the app secret.
pub fn signature(secret: &str, parts: &SignedParts<'_>) -> String {
    hex(&mac(secret, &string_to_sign(&canonical_request(parts)))
        .finalize()
        .into_bytes())
}

/// Whether `claimed` (hex, any case) is the signature of `parts` under `secret`, compared in
/// constant time.
pub fn verify(secret: &str, parts: &SignedParts<'_>, claimed: &str) -> bool {
    let Some(claimed) = unhex(claimed) else {
        return false;
    };
    mac(secret, &string_to_sign(&canonical_request(parts)))
        .verify_slice(&claimed)
        .is_ok()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Step 4: the `Authorization` header value.
pub fn authorization(app_id: &str, signed_headers: &str, signature: &str) -> String {
    format!("{ALGORITHM} AppId={app_id},SignedHeaders={signed_headers},Signature={signature}")
}

/// The three parts of an app-signed `Authorization` header, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    pub app_id: String,
    /// Lower-case header names, as listed (`host;x-date;x-user-id`).
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses `HMAC-SHA256 AppId=…,SignedHeaders=…,Signature=…` (parts in any order, blanks around
/// them ignored). `None` when it is not such a header.
pub fn parse_authorization(value: &str) -> Option<AuthorizationHeader> {
    let rest = value.trim().strip_prefix(ALGORITHM)?;
    if !rest.starts_with(' ') {
        return None;
    }
    let (mut app_id, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        let slot = match name.trim() {
            "AppId" => &mut app_id,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.replace(value.trim().to_string()).is_some() {
            return None;
        }
    }
    let signed_headers = signed?
        .split(';')
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    Some(AuthorizationHeader {
        app_id: app_id.filter(|id| !id.is_empty())?,
        signed_headers,
        signature: signature?,
    })
}

/// The segments of a path as received (`/a/b%2Fc` → `a`, `b/c`), percent-decoded. Invalid UTF-8
/// after decoding is kept lossily: such a path names no endpoint anyway.
pub fn decode_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| percent_decode_str(segment).decode_utf8_lossy().into_owned())
        .collect()
}

/// The parameters of a query string as received, percent-decoded (a `+` stays a `+`, as RFC 3986
/// reads it); a parameter without `=` has an empty value.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => (decode(name), decode(value)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// A query string for `params` in canonical form: what the client puts on the wire, so that
/// what it sends and what it signs are the same text.
pub fn query_string(params: &[(String, String)]) -> String {
    canonical_query(params)
}

#[cfg(test)]
mod tests;
