//! The Devices view against the local server on 127.0.0.1: 50 bound devices × 3 modules × 200
//! records each (30 000 records, one backup file each), loaded through `App::update` +
//! `effects::perform` with the calls in flight at once as the runtime runs them.
//! - `devices_view/first_paint`: from `D` until a frame shows the devices with partial figures;
//! - `devices_view/every_figure`: from `D` until every figure is filled in (records of every
//!   module listed, the file sizes of every record read).
//!
//! Data goes into the database directly (the API has no bulk create), so the bench spends its
//! time on what it measures.

use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use koobackup::api::Client;
use koobackup::tui::action::{Action, ApiReply, Effect};
use koobackup::tui::draw;
use koobackup::tui::effects;
use koobackup::tui::theme::{ColorSupport, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

#[path = "support/fleet.rs"]
mod fleet;
mod support;

use support::{LocalServer, USER, app};
const DEVICES: usize = 50;
const RECORDS_PER_MODULE: usize = 200;

/// Opens the Devices view and answers its calls as they complete; returns (time until a frame
/// with the devices is drawn, time until every figure is in).
async fn load_devices(client: &Client) -> (Duration, Duration) {
    let mut app = app();
    let theme = Theme::new(ColorSupport::TrueColor);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let started = Instant::now();
    let mut in_flight = JoinSet::new();
    let spawn = |effects: Vec<Effect>, in_flight: &mut JoinSet<_>| {
        for effect in effects {
            if let Effect::Api { request, call } = effect {
                let client = client.clone();
                in_flight.spawn(async move { (request, effects::perform(&client, call).await) });
            }
        }
    };
    spawn(
        app.update(Action::Key(KeyEvent::new(
            KeyCode::Char('D'),
            KeyModifiers::SHIFT,
        ))),
        &mut in_flight,
    );
    let mut first_paint = None;
    while let Some(done) = in_flight.join_next().await {
        let (request, outcome) = done.unwrap();
        let effects = app.update(Action::ApiDone(Box::new(ApiReply {
            request,
            outcome,
            latency: Duration::ZERO,
            finished_at: Utc::now(),
            clock_offset: Some(chrono::Duration::zero()),
        })));
        spawn(effects, &mut in_flight);
        if first_paint.is_none() && app.devices.devices().len() == DEVICES {
            terminal.draw(|frame| draw::draw(frame, &app, &theme)).unwrap();
            first_paint = Some(started.elapsed());
        }
    }
    assert!(app.devices.is_complete(), "every figure is filled in");
    terminal.draw(|frame| draw::draw(frame, &app, &theme)).unwrap();
    (first_paint.expect("the devices arrived"), started.elapsed())
}

fn devices_view(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let bench = LocalServer::start(&rt);
    fleet::fill(&bench.db_path, USER.0, DEVICES, RECORDS_PER_MODULE);
    let mut group = c.benchmark_group("devices_view");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    for (name, pick) in [("first_paint", 0usize), ("every_figure", 1)] {
        let client = bench.client.clone();
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let client = client.clone();
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (first, all) = load_devices(&client).await;
                        total += if pick == 0 { first } else { all };
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
