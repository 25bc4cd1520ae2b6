//! What app-based authentication costs per request: the client's signature of a typical list
//! request and of a record create with a 4 KiB body, and the server's check of one.

use criterion::{Criterion, criterion_group, criterion_main};
use koobackup::api::sign::{self, SignedParts};

fn parts<'a>(
    method: &'a str,
    segments: &'a [String],
    query: &'a [(String, String)],
    headers: &'a [(String, String)],
    body: &'a [u8],
) -> SignedParts<'a> {
    SignedParts {
        method,
        path_segments: segments,
        query,
        headers,
        body,
    }
}

fn signing(c: &mut Criterion) {
    let secret = "app-secret-0c9e41d2";
    let headers = vec![
        ("host".to_string(), "koodrive.example.com".to_string()),
        ("x-date".to_string(), "20251103T070140Z".to_string()),
        ("x-user-id".to_string(), "1505084218764547200".to_string()),
    ];
    let list_path: Vec<String> = ["koodrive", "ose", "v1", "backup", "record"]
        .map(String::from)
        .into();
    let query = vec![
        ("moduleCode".to_string(), "102".to_string()),
        ("pageSize".to_string(), "100".to_string()),
        (
            "cursor".to_string(),
            "eyJpZCI6MTg0Mjg2Mjc2MzI5NTE4NDY0MX0".to_string(),
        ),
    ];
    let body = vec![b'x'; 4096];
    let list = parts("GET", &list_path, &query, &headers, b"");
    let create = parts("POST", &list_path, &[], &headers, &body);
    let signature = sign::signature(secret, &list);

    let mut group = c.benchmark_group("app_signature");
    group.bench_function("sign_list_request", |b| b.iter(|| sign::signature(secret, &list)));
    group.bench_function("sign_create_4kib_body", |b| {
        b.iter(|| sign::signature(secret, &create))
    });
    group.bench_function("verify_list_request", |b| {
        b.iter(|| sign::verify(secret, &list, &signature))
    });
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
