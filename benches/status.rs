//! `koobackup status` — the real binary, start to exit — against the local server on 127.0.0.1
//! with 50 bound devices × 3 modules × 10 records (1 500 records, one file each):
//! - `status/latency_0ms`, `status/latency_50ms`: the check as cron or Icinga runs it, with the
//!   server answering at once or 50 ms late (its latency fault) — 1 device listing and 5 record
//!   pages per module, the modules listed at once;
//! - `status/sizes_latency_0ms`, `status/sizes_latency_50ms`: with `--sizes` on a first start
//!   (an empty size cache: one file listing per record, at the adaptive pace up to 64 at once);
//! - `status/sizes_cached_latency_50ms`: the same on a later start, every size in the cache.

use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use koobackup::server::{Faults, ServerConfig, UserCredential, start};
use tokio::runtime::Runtime;

#[path = "support/fleet.rs"]
mod fleet;

const USER: (&str, &str) = ("alice", "alice-token");
const DEVICES: usize = 50;
const RECORDS_PER_MODULE: usize = 10;

fn status(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("bench.db");
    let mut config = ServerConfig::new(&db_path);
    config.users.push(UserCredential {
        user_id: USER.0.into(),
        token: USER.1.into(),
    });
    let server = rt.block_on(start(config)).expect("start server");
    fleet::fill(&db_path, USER.0, DEVICES, RECORDS_PER_MODULE, 3);
    let base_url = server.base_url();
    let run = |extra: &[&str], cached: bool| {
        let home = dir.path().join("home");
        // A first start has no cache: each run gets an empty one unless `cached`.
        let cold = tempfile::tempdir().unwrap();
        let cache = if cached {
            home.join("cache")
        } else {
            cold.path().to_path_buf()
        };
        let status = Command::new(env!("CARGO_BIN_EXE_koobackup"))
            .args(["status", "-q"])
            .args(extra)
            .env_clear()
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", &cache)
            .env("KOOBACKUP_BASE_URL", &base_url)
            .env("KOOBACKUP_USER_ID", USER.0)
            .env("KOOBACKUP_TOKEN", USER.1)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        // A verdict (0, 1 or 2), not UNKNOWN: the check ran to its end.
        assert!(matches!(status.code(), Some(0..=2)), "{status}");
    };
    let mut group = c.benchmark_group("status");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
    for (name, latency, extra, cached) in [
        ("latency_0ms", 0, &[][..], false),
        ("latency_50ms", 50, &[][..], false),
        ("sizes_latency_0ms", 0, &["--sizes"][..], false),
        ("sizes_latency_50ms", 50, &["--sizes"][..], false),
        ("sizes_cached_latency_50ms", 50, &["--sizes"][..], true),
    ] {
        server.set_faults(Faults {
            latency: Duration::from_millis(latency),
            ..Faults::default()
        });
        group.bench_function(name, |b| b.iter(|| run(extra, cached)));
    }
    group.finish();
    rt.block_on(server.shutdown());
}

criterion_group!(benches, status);
criterion_main!(benches);
