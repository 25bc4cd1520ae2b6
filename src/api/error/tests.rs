use super::*;

fn api(status: u16, code: &str, msg: &str) -> ApiError {
    ApiError::Api {
        status,
        code: code.into(),
        msg: msg.into(),
    }
}

#[test]
fn api_errors_keep_code_and_message_and_add_a_hint() {
    let e = api(409, "409001", "lock exists");
    assert_eq!(e.code(), Some(409001));
    assert_eq!(e.code_text(), Some("409001"));
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let text = e.to_string();
    assert!(text.starts_with("lock exists (code 409001)"), "{text}");
    assert!(text.contains("release it or wait"), "{text}");
}

#[test]
fn the_http_status_classifies_first_and_digits_never_do() {
    // An unknown code under HTTP 400 is an invalid request, whatever its digits look like.
    let odd = api(400, "500777", "odd");
    assert_eq!(odd.kind(), ErrorKind::Invalid);
    assert!(!odd.is_transient());
    // A known code under a status that contradicts it: the status wins.
    assert_eq!(api(503, "409001", "x").kind(), ErrorKind::Server);
    assert!(api(503, "409001", "x").is_transient());
    assert_eq!(api(404, "13000102", "x").kind(), ErrorKind::NotFound);
    // Gateway codes are not numbers: shown as they are.
    let gateway = api(502, "APIGW.0308", "backend timeout");
    assert_eq!(gateway.code(), None);
    assert_eq!(gateway.code_text(), Some("APIGW.0308"));
    assert_eq!(gateway.kind(), ErrorKind::Server);
    assert!(gateway.is_transient());
    assert_eq!(gateway.to_string(), "backend timeout (code APIGW.0308)");
}

#[test]
fn under_a_status_that_says_nothing_only_named_codes_classify() {
    // The published "parameter verification failed" under HTTP 200 is an invalid request, not a
    // transient server failure to be sent three times.
    let published = api(200, "13000102", "parameter verification failed");
    assert_eq!(published.kind(), ErrorKind::Invalid);
    assert!(!published.is_transient());
    assert!(
        published
            .to_string()
            .ends_with("(code 13000102); check the values given"),
        "{published}"
    );
    let held = api(200, "409001", "lock exists");
    assert_eq!(held.kind(), ErrorKind::Conflict);
    assert!(!held.is_transient());
    let failed = api(200, "500001", "");
    assert_eq!(failed.kind(), ErrorKind::Server);
    assert!(failed.is_transient());
    // Unknown, even with digits that look like a 5xx: not classified, not retried.
    for code in ["13000999", "500777", "7"] {
        let unknown = api(200, code, "odd");
        assert_eq!(unknown.kind(), ErrorKind::Unknown, "{code}");
        assert!(!unknown.is_transient(), "{code}");
        assert_eq!(unknown.to_string(), format!("odd (code {code})"));
    }
}

#[test]
fn messages_say_what_to_do_even_without_server_text() {
    assert_eq!(
        api(500, "500001", " ").to_string(),
        "the server failed (code 500001); try again later"
    );
    // The server's text says what happened; the hint adds only what to do, nothing twice.
    assert_eq!(
        api(409, "409001", "a lock for this module is already held").to_string(),
        "a lock for this module is already held (code 409001); release it or wait until it expires"
    );
    assert_eq!(api(400, "9", " ").to_string(), "the server reported error code 9");
    assert_eq!(api(418, "418007", "teapot").to_string(), "teapot (code 418007)");
    assert!(ApiError::Http { status: 404 }.to_string().contains("base URL"));
    assert!(
        ApiError::Http { status: 502 }
            .to_string()
            .contains("try again later")
    );
    assert!(ApiError::Http { status: 401 }.to_string().contains("credentials"));
    assert_eq!(ApiError::Http { status: 429 }.kind(), ErrorKind::Server);
    assert_eq!(ApiError::Http { status: 422 }.kind(), ErrorKind::Invalid);
    assert_eq!(ApiError::Http { status: 204 }.kind(), ErrorKind::Unknown);
}

#[test]
fn server_text_is_kept_exactly_as_sent() {
    // Escaping is the business of whatever prints it for a terminal; JSON carries it exactly.
    let hostile = api(400, "4\u{1b}[2J", "quota\u{1b}]52;c;eA==\u{7} exceeded");
    assert_eq!(
        hostile.to_string(),
        "quota\u{1b}]52;c;eA==\u{7} exceeded (code 4\u{1b}[2J)"
    );
    let redirect = ApiError::Redirect {
        status: 302,
        location: Some("http://evil\u{1b}[31m/".into()),
    };
    assert!(redirect.to_string().contains("http://evil\u{1b}[31m/"));
    assert_eq!(redirect.kind(), ErrorKind::Invalid);
}

#[test]
fn the_message_without_the_code_says_the_rest_unchanged() {
    let held = api(409, "409001", "held by\u{1b}[2J someone");
    assert_eq!(
        held.message(),
        "held by\u{1b}[2J someone; release it or wait until it expires"
    );
    assert_eq!(
        api(500, "500001", "").message(),
        "the server failed; try again later"
    );
    assert_eq!(
        api(400, "9", "").message(),
        "the server reported an error code without a message"
    );
    let plain = ApiError::Http { status: 502 };
    assert_eq!(plain.message(), plain.to_string());
}

#[test]
fn redact_hides_the_secret_in_server_supplied_text() {
    let echoed = api(401, "401001", "bad header Authorization: Bearer s3cret");
    let text = echoed.redact("s3cret").to_string();
    assert!(
        text.starts_with("bad header Authorization: Bearer <redacted> (code 401001)"),
        "{text}"
    );
    let decode = ApiError::Decode {
        status: 200,
        detail: "unknown module code \"s3cret\"".into(),
    };
    assert!(!decode.redact("s3cret").to_string().contains("s3cret"));
    let moved = ApiError::Redirect {
        status: 301,
        location: Some("http://h/?t=s3cret".into()),
    };
    assert!(!moved.redact("s3cret").to_string().contains("s3cret"));
    let plain = ApiError::Http { status: 502 };
    assert_eq!(plain.clone().redact("s3cret"), plain);
}

#[test]
fn only_network_and_server_failures_are_transient() {
    let timeout = ApiError::Timeout {
        after: Duration::from_secs(1),
    };
    assert!(timeout.is_transient());
    assert!(timeout.to_string().contains("--timeout"), "{timeout}");
    assert!(ApiError::Http { status: 503 }.is_transient());
    assert!(ApiError::Http { status: 429 }.is_transient());
    assert!(!api(404, "404001", "x").is_transient());
    let decode = ApiError::Decode {
        status: 200,
        detail: "x".into(),
    };
    assert!(!decode.is_transient());
    assert!(!ApiError::TooLarge { limit: 1 }.is_transient());
    assert!(
        !ApiError::Redirect {
            status: 301,
            location: None
        }
        .is_transient()
    );
}
