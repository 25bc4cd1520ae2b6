//! The Devices view against the local server on 127.0.0.1: 50 bound devices × 3 modules × 200
//! records each (30 000 records, one backup file each), loaded through `App::update` +
//! `effects::perform` with the calls in flight at once as the runtime runs them, and the sizes
//! read as the runtime reads them (`effects::SizeReader`), on a first start (an empty size
//! cache). `benches/devices_sizes.sh` measures the second start and a slow link.
//! - `devices_view/first_paint`: from `D` until a frame shows the devices with partial figures;
//! - `devices_view/records_listed`: from `D` until the records of every module are listed;
//! - `devices_view/every_figure`: from `D` until every figure is filled in (records of every
//!   module listed, the file sizes of every record read).
//!
//! Data goes into the database directly (the API has no bulk create), so the bench spends its
//! time on what it measures.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use koobackup::size_cache::Place;
use tokio::runtime::Runtime;

#[path = "support/devices.rs"]
mod devices;
#[path = "support/fleet.rs"]
mod fleet;
mod support;

use support::{LocalServer, USER, app};
const DEVICES: usize = 50;
const RECORDS_PER_MODULE: usize = 200;

/// A first start: the Devices view loaded with an empty size cache.
async fn load_devices(client: &koobackup::api::Client) -> devices::Timings {
    let cache = tempfile::tempdir().unwrap();
    let place = Place::in_dir(Some(cache.path().to_path_buf()), "bench", USER.0);
    devices::load(client, app(), DEVICES, Some(place)).await
}

/// One stage of a load, picked from its timings.
type Stage = fn(&devices::Timings) -> Duration;

fn devices_view(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let bench = LocalServer::start(&rt);
    fleet::fill(&bench.db_path, USER.0, DEVICES, RECORDS_PER_MODULE, 3);
    let mut group = c.benchmark_group("devices_view");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    let stages: [(&str, Stage); 3] = [
        ("first_paint", |t| t.first_paint),
        ("records_listed", |t| t.listed),
        ("every_figure", |t| t.every_figure.expect("sizes were read")),
    ];
    for (name, pick) in stages {
        let client = bench.client.clone();
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let client = client.clone();
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += pick(&load_devices(&client).await);
                    }
                    total
                }
            })
        });
    }
    group.finish();
    rt.block_on(bench.server.shutdown());
}

criterion_group!(benches, devices_view);
criterion_main!(benches);
