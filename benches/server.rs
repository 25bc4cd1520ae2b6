//! Requests per second of the local server on 127.0.0.1, over raw HTTP (reqwest):
//! a lock create + release pair, and one 100-record page of a 300-record list.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use koobackup::server::{ServerConfig, UserCredential, start};
use serde_json::{Value, json};

const PREFIX: &str = "/koodrive/ose/v1/backup";

fn signed(http: &reqwest::Client, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
    http.request(method, url)
        .header("X-User-Id", "alice")
        .header("Authorization", "Bearer alice-token")
        .header("X-Date", chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string())
}

async fn send(req: reqwest::RequestBuilder) -> Value {
    let body: Value = req.send().await.expect("request").json().await.expect("json");
    assert_eq!(body["code"], 0, "{body}");
    body
}

fn server(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("bench.db"));
    config.users.push(UserCredential {
        user_id: "alice".into(),
        token: "alice-token".into(),
    });
    let server = rt.block_on(start(config)).expect("start server");
    let base = server.base_url();
    let http = reqwest::Client::new();

    // 300 records in module 101 for the list bench.
    rt.block_on(async {
        let lock = send(signed(&http, reqwest::Method::POST, format!("{base}{PREFIX}/lock"))
            .json(&json!({"moduleCode": "101"})))
        .await["data"]["lockId"]
            .as_str()
            .unwrap()
            .to_owned();
        for i in 0..300 {
            send(signed(&http, reqwest::Method::POST, format!("{base}{PREFIX}/record"))
                .header("x-backup-lock-id", &lock)
                .json(&json!({"moduleCode": "101", "deviceId": format!("dev-{}", i % 3), "properties": "{\"n\":1}"})))
            .await;
        }
    });

    let mut group = c.benchmark_group("server");
    group
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20);
    group.throughput(Throughput::Elements(1));
    group.bench_function("lock_create_release", |b| {
        b.to_async(&rt).iter(|| async {
            let lock = send(
                signed(&http, reqwest::Method::POST, format!("{base}{PREFIX}/lock"))
                    .json(&json!({"moduleCode": "100"})),
            )
            .await;
            let id = lock["data"]["lockId"].as_str().unwrap();
            send(
                signed(&http, reqwest::Method::DELETE, format!("{base}{PREFIX}/lock"))
                    .header("x-backup-lock-id", id),
            )
            .await;
        })
    });
    group.bench_function("list_page_100", |b| {
        b.to_async(&rt).iter(|| async {
            let page = send(
                signed(&http, reqwest::Method::GET, format!("{base}{PREFIX}/record"))
                    .query(&[("moduleCode", "101"), ("pageSize", "100")]),
            )
            .await;
            assert_eq!(page["data"].as_array().unwrap().len(), 100);
        })
    });
    group.finish();
    rt.block_on(server.shutdown());
}

criterion_group!(benches, server);
criterion_main!(benches);
