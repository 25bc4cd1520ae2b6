//! Vectors derived by hand from the reference's rule: each canonical request below was written
//! out from the text of steps 1–4, and its hashes and signature were computed with Python's
//! `hashlib`/`hmac` (not with this code), then pasted here.

use super::*;

const SECRET: &str = "app-secret-0123456789";
const EMPTY_BODY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn segments(path: &str) -> Vec<String> {
    decode_path(path)
}

fn headers(host: &str, x_date: &str, user: &str) -> Vec<(String, String)> {
    // Deliberately out of order and with stray blanks: the rule sorts and trims.
    vec![
        ("X-User-Id".into(), format!(" {user} ")),
        ("Host".into(), host.into()),
        ("x-date".into(), x_date.into()),
    ]
}

#[test]
fn a_get_with_an_unsorted_query_and_a_non_ascii_value() {
    // GET /koodrive/ose/v1/backup/record?pageSize=10&moduleCode=102&deviceId=Müller Phone
    let path = segments("/koodrive/ose/v1/backup/record");
    let query = vec![
        ("pageSize".to_string(), "10".to_string()),
        ("moduleCode".to_string(), "102".to_string()),
        ("deviceId".to_string(), "Müller Phone".to_string()),
    ];
    let headers = headers("127.0.0.1:8080", "20251103T070140Z", "1505084218764547200");
    let parts = SignedParts {
        method: "get",
        path_segments: &path,
        query: &query,
        headers: &headers,
        body: b"",
    };
    let expected = "GET\n\
        /koodrive/ose/v1/backup/record/\n\
        deviceId=M%C3%BCller%20Phone&moduleCode=102&pageSize=10\n\
        host:127.0.0.1:8080\n\
        x-date:20251103T070140Z\n\
        x-user-id:1505084218764547200\n\
        \n\
        host;x-date;x-user-id\n\
        e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(canonical_request(&parts), expected);
    assert_eq!(
        string_to_sign(expected),
        "HMAC-SHA256\n69e6e85b690e9271c622239140619d63b509bc960a28c425d4170359724b2e55"
    );
    assert_eq!(
        signature(SECRET, &parts),
        "5fd353945a1b6d30d3145b432ab0848497c85798581caa29f18cec2394c6b0be"
    );
}

#[test]
fn a_post_with_a_body() {
    let path = segments("/koodrive/ose/v1/backup/lock");
    let headers = headers("drive.example.com", "20251103T070140Z", "1505084218764547200");
    let body = br#"{"moduleCode":"102"}"#;
    let parts = SignedParts {
        method: "POST",
        path_segments: &path,
        query: &[],
        headers: &headers,
        body,
    };
    let expected = "POST\n\
        /koodrive/ose/v1/backup/lock/\n\
        \n\
        host:drive.example.com\n\
        x-date:20251103T070140Z\n\
        x-user-id:1505084218764547200\n\
        \n\
        host;x-date;x-user-id\n\
        134be0b02487a71a3500523797fd6c313cf893d7a8714c0eb362f6e3dc0defc0";
    assert_eq!(canonical_request(&parts), expected);
    assert_eq!(
        sha256_hex(expected.as_bytes()),
        "6953ca0d7c3bee40e8b617adcade21728591685a5108c97f8090b5c28cade897"
    );
    let sig = signature(SECRET, &parts);
    assert_eq!(
        sig,
        "adccd3520d6d6f4defe11ed6294ac4ab4e616c6a21049ccad6dd51610be2f728"
    );
    assert_eq!(
        authorization("koobackup-test-app", "host;x-date;x-user-id", &sig),
        "HMAC-SHA256 AppId=koobackup-test-app,SignedHeaders=host;x-date;x-user-id,\
         Signature=adccd3520d6d6f4defe11ed6294ac4ab4e616c6a21049ccad6dd51610be2f728"
    );
}

#[test]
fn a_path_without_a_trailing_slash_gets_one_and_an_ipv6_host_keeps_its_brackets() {
    let path = segments("/koodrive/ose/v1/backup/record/1842862763295184641");
    let headers = headers("[::1]:9443", "20260101T000000Z", "alice");
    let parts = SignedParts {
        method: "DELETE",
        path_segments: &path,
        query: &[],
        headers: &headers,
        body: b"",
    };
    let expected = format!(
        "DELETE\n/koodrive/ose/v1/backup/record/1842862763295184641/\n\n\
         host:[::1]:9443\nx-date:20260101T000000Z\nx-user-id:alice\n\n\
         host;x-date;x-user-id\n{EMPTY_BODY_HASH}"
    );
    assert_eq!(canonical_request(&parts), expected);
    assert_eq!(
        signature(SECRET, &parts),
        "1825fa523de43e22004fc8214ae7db11f14a9d819d9d68c1bcde02e858f37cf0"
    );
    // The same path already ending in `/`, or with `.` and `..` segments, is the same URI.
    for same in [
        "/koodrive/ose/v1/backup/record/1842862763295184641/",
        "/koodrive/ose/v1/./backup/x/../record/1842862763295184641",
    ] {
        assert_eq!(
            canonical_uri(&segments(same)),
            "/koodrive/ose/v1/backup/record/1842862763295184641/"
        );
    }
}

#[test]
fn encoding_keeps_only_unreserved_characters() {
    assert_eq!(encode("AZaz09-_.~"), "AZaz09-_.~");
    assert_eq!(encode("a b+c/d=é"), "a%20b%2Bc%2Fd%3D%C3%A9");
    assert_eq!(canonical_query(&[("k".into(), String::new())]), "k=");
    assert_eq!(canonical_query(&[]), "");
    // A segment that holds an escaped slash stays one segment.
    assert_eq!(canonical_uri(&segments("/record/..%2Fx")), "/record/..%2Fx/");
}

#[test]
fn what_the_server_receives_decodes_back_to_what_was_signed() {
    let sent = query_string(&[
        ("cursor".into(), "a+b/c==".into()),
        ("deviceId".into(), "Müller Phone".into()),
    ]);
    assert_eq!(sent, "cursor=a%2Bb%2Fc%3D%3D&deviceId=M%C3%BCller%20Phone");
    assert_eq!(
        parse_query(&sent),
        [
            ("cursor".to_string(), "a+b/c==".to_string()),
            ("deviceId".to_string(), "Müller Phone".to_string())
        ]
    );
    assert_eq!(
        parse_query("flag&x="),
        [("flag".into(), String::new()), ("x".into(), String::new())]
    );
}

#[test]
fn the_header_parses_back_and_odd_ones_are_refused() {
    let parsed =
        parse_authorization("HMAC-SHA256 AppId=app-1, SignedHeaders=host;X-Date;x-user-id ,Signature=AbC0")
            .unwrap();
    assert_eq!(parsed.app_id, "app-1");
    assert_eq!(parsed.signed_headers, ["host", "x-date", "x-user-id"]);
    assert_eq!(parsed.signature, "AbC0");
    for odd in [
        "Bearer token",
        "HMAC-SHA256",
        "HMAC-SHA256AppId=a,SignedHeaders=h,Signature=s",
        "HMAC-SHA256 AppId=a,SignedHeaders=h",
        "HMAC-SHA256 AppId=,SignedHeaders=h,Signature=s",
        "HMAC-SHA256 AppId=a,AppId=b,SignedHeaders=h,Signature=s",
        "HMAC-SHA256 AppId=a,SignedHeaders=h,Signature=s,Extra=1",
    ] {
        assert_eq!(parse_authorization(odd), None, "{odd}");
    }
}

#[test]
fn verification_is_exact() {
    let path = segments("/koodrive/ose/v1/backup/lock");
    let headers = headers("h", "20251103T070140Z", "u");
    let parts = SignedParts {
        method: "POST",
        path_segments: &path,
        query: &[],
        headers: &headers,
        body: b"{}",
    };
    let good = signature(SECRET, &parts);
    assert!(verify(SECRET, &parts, &good));
    assert!(verify(SECRET, &parts, &good.to_uppercase()), "hex in any case");
    assert!(!verify("other-secret", &parts, &good));
    assert!(!verify(SECRET, &parts, &good[..62]));
    assert!(!verify(SECRET, &parts, "zz"));
    let tampered = SignedParts {
        body: b"{ }",
        ..parts.clone()
    };
    assert!(!verify(SECRET, &tampered, &good));
}
