//! Figures for the record side of the TUI, against the local server on 127.0.0.1:
//! - `records_load/first_page` and `records_load/whole_list`: 10 000 records listed through
//!   `App::update` + `effects::perform` exactly as the runtime does it (pages of 100);
//! - `records_render/N`: one frame of the records pane with N records loaded (cursor at the
//!   bottom), which must not grow with N;
//! - `bulk_delete_1000/concurrent_8` against `bulk_delete_1000/sequential`;
//! - `bulk_delete_1000_faults`: the same 1000 deletes with 10% of the answers failing and a
//!   rate limit of 200 requests a second, every record deleted exactly once.
//!
//! Records are put into the database directly (the API has no bulk create), so each bench
//! spends its time on what it measures.

use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use koobackup::api::{BackupRecord, Client, DeviceEntity, LockInfo, ModuleCode, Page, RecordStatus};
use koobackup::bulk::{Outcome, Target};
use koobackup::history::Keeping;
use koobackup::server::Faults;
use koobackup::tui::action::{
    Action, ApiOutcome, ApiReply, BulkDeleteJob, BulkProgress, CancelFlag, Effect, JobId,
};
use koobackup::tui::effects::{self, DEFAULT_BULK_CONCURRENCY};
use koobackup::tui::records::LoadState;
use koobackup::tui::theme::{ColorSupport, Theme};
use koobackup::tui::{App, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::runtime::Runtime;

mod support;

use support::{LocalServer, USER};

struct Bench {
    local: LocalServer,
    /// Next record id to insert (ids only grow, so each batch is the newest).
    next_id: i64,
}

impl Bench {
    fn start(rt: &Runtime) -> Bench {
        Bench {
            local: LocalServer::start(rt),
            next_id: 1_842_862_763_295_184_641,
        }
    }

    /// Records of `module` in the database.
    fn count_records(&self, module: ModuleCode) -> usize {
        let conn = rusqlite::Connection::open(&self.local.db_path).unwrap();
        conn.query_row(
            "SELECT COUNT(*) FROM records WHERE module = ?1",
            [module.code()],
            |row| row.get::<_, i64>(0),
        )
        .unwrap() as usize
    }

    /// Inserts `n` new records of `module` in one transaction; returns their ids.
    fn insert_records(&mut self, module: ModuleCode, n: usize) -> Vec<String> {
        let mut conn = rusqlite::Connection::open(&self.local.db_path).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        let tx = conn.transaction().unwrap();
        let now = Utc::now().timestamp_millis();
        for device in 0..4 {
            tx.execute(
                "INSERT OR IGNORE INTO devices (user_id, device_id, machine_code, device_name, device_os, create_time) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    USER.0,
                    format!("dev-{device}"),
                    "MC",
                    format!("phone {device}"),
                    "Android 14",
                    now
                ],
            )
            .unwrap();
        }
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let id = self.next_id;
            self.next_id += 1;
            tx.execute(
                "INSERT INTO records VALUES (?1, ?2, ?3, ?4, 0, ?5, 1, ?6, NULL)",
                rusqlite::params![
                    id,
                    USER.0,
                    module.code(),
                    format!("dev-{}", i % 4),
                    r#"{"n":1}"#,
                    now - i as i64
                ],
            )
            .unwrap();
            ids.push(id.to_string());
        }
        tx.commit().unwrap();
        ids
    }
}

fn app() -> App {
    let mut app = support::app();
    key(&mut app, KeyCode::BackTab);
    app
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Lists module 102 through the app; returns (time to first page on screen, time to all).
async fn list_through_app(client: &Client) -> (Duration, Duration, App) {
    let mut app = app();
    let started = Instant::now();
    let mut effects = key(&mut app, KeyCode::Char('3'));
    let mut first_page = None;
    while let Some(Effect::Api { request, call }) = effects.pop() {
        let outcome = effects::perform(client, call).await;
        effects = app.update(Action::ApiDone(Box::new(ApiReply {
            request,
            outcome,
            latency: Duration::ZERO,
            finished_at: Utc::now(),
            clock_offset: Some(chrono::Duration::zero()),
        })));
        first_page.get_or_insert_with(|| started.elapsed());
    }
    assert!(
        matches!(app.records.load(), LoadState::Loaded { .. }),
        "{:?}",
        app.records.load()
    );
    (first_page.unwrap(), started.elapsed(), app)
}

fn records_load(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut bench = Bench::start(&rt);
    bench.insert_records(ModuleCode::AddressBook, 10_000);
    let mut group = c.benchmark_group("records_load");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
    let client = bench.local.client.clone();
    group.bench_function("first_page", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let client = client.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += list_through_app(&client).await.0;
                }
                total
            }
        })
    });
    group.bench_function("whole_list", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let client = client.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (_, all, app) = list_through_app(&client).await;
                    assert_eq!(app.records.rows().len(), 10_000);
                    total += all;
                }
                total
            }
        })
    });
    group.finish();
    rt.block_on(bench.local.server.shutdown());
}

/// An app showing `n` records of 102 (fed straight into `update`), cursor on the last one.
fn app_with_records(n: usize) -> App {
    let mut app = app();
    let mut effects = key(&mut app, KeyCode::Char('3'));
    let now = Utc::now();
    let mut served = 0;
    while let Some(Effect::Api { request, .. }) = effects.pop() {
        let size = (n - served).min(100);
        let items = (served..served + size)
            .map(|i| BackupRecord {
                record_id: (1_842_862_763_295_184_641u64 - i as u64).to_string(),
                module_code: ModuleCode::AddressBook.into(),
                status: RecordStatus::from_number((i % 3) as i64),
                properties: r#"{"n":1}"#.into(),
                version: 1,
                create_time: now - chrono::Duration::minutes(i as i64),
                end_time: None,
                device_info: DeviceEntity {
                    device_id: format!("dev-{}", i % 4),
                    device_name: format!("phone {}", i % 4),
                    device_os: "Android 14".into(),
                    ..DeviceEntity::default()
                },
            })
            .collect();
        served += size;
        let next_cursor = (served < n).then(|| served.to_string());
        effects = app.update(Action::ApiDone(Box::new(ApiReply {
            request,
            outcome: ApiOutcome::RecordsPage(Ok(Page::new(items, next_cursor))),
            latency: Duration::ZERO,
            finished_at: now,
            clock_offset: Some(chrono::Duration::zero()),
        })));
    }
    key(&mut app, KeyCode::Char('G'));
    app
}

fn records_render(c: &mut Criterion) {
    let mut group = c.benchmark_group("records_render");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let theme = Theme::new(ColorSupport::TrueColor);
    for n in [100, 1_000, 10_000] {
        let app = app_with_records(n);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(n), &app, |b, app| {
            b.iter(|| {
                terminal
                    .draw(|frame| draw::draw(frame, app, &theme))
                    .map(drop)
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn bulk_delete(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut bench = Bench::start(&rt);
    let lock: LockInfo = rt
        .block_on(bench.local.client.create_lock(ModuleCode::AddressBook))
        .unwrap();
    let mut group = c.benchmark_group("bulk_delete_1000");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(14));
    for concurrency in [DEFAULT_BULK_CONCURRENCY, 1] {
        let name = if concurrency == 1 {
            "sequential".to_string()
        } else {
            format!("concurrent_{concurrency}")
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let ids = bench.insert_records(ModuleCode::AddressBook, 1000);
                    let job = BulkDeleteJob {
                        job: JobId(i),
                        module: ModuleCode::AddressBook,
                        lock_id: lock.lock_id.clone(),
                        targets: targets(ids),
                        planned: Vec::new(),
                        concurrency,
                        cancel: CancelFlag::default(),
                    };
                    let failures = std::sync::atomic::AtomicUsize::new(0);
                    let started = Instant::now();
                    let ran = rt.block_on(effects::run_bulk_delete(
                        bench.local.client.clone(),
                        &Keeping::Off,
                        job,
                        |progress| {
                            if let BulkProgress::Deleted {
                                outcome: Outcome::Failed(_),
                                ..
                            } = progress
                            {
                                failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                        },
                    ));
                    total += started.elapsed();
                    assert!(ran.is_ok(), "without history nothing is held back");
                    assert_eq!(failures.into_inner(), 0);
                }
                total
            })
        });
    }
    group.finish();
    rt.block_on(bench.local.server.shutdown());
}

/// `ids` as bulk-delete targets named without being read.
fn targets(ids: Vec<String>) -> Vec<Target> {
    ids.into_iter()
        .map(|record_id| Target {
            record_id,
            chosen: None,
        })
        .collect()
}

/// Deletes `ids` under `lock` as the TUI does; returns how often each id was reported deleted
/// and how many deletes failed.
fn run_bulk(
    rt: &Runtime,
    client: &Client,
    lock: &LockInfo,
    ids: Vec<String>,
    job: u64,
) -> (Vec<usize>, usize) {
    let positions: std::collections::HashMap<String, usize> =
        ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();
    let reported = std::sync::Mutex::new(vec![0usize; ids.len()]);
    let failures = std::sync::atomic::AtomicUsize::new(0);
    let job = BulkDeleteJob {
        job: JobId(job),
        module: lock.module,
        lock_id: lock.lock_id.clone(),
        targets: targets(ids),
        planned: Vec::new(),
        concurrency: DEFAULT_BULK_CONCURRENCY,
        cancel: CancelFlag::default(),
    };
    let ran = rt.block_on(effects::run_bulk_delete(
        client.clone(),
        &Keeping::Off,
        job,
        |progress| {
            if let BulkProgress::Deleted {
                record_id, outcome, ..
            } = progress
            {
                match outcome {
                    Outcome::Deleted { .. } => reported.lock().unwrap()[positions[&record_id]] += 1,
                    _ => {
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        },
    ));
    assert!(ran.is_ok(), "without history nothing is held back");
    (reported.into_inner().unwrap(), failures.into_inner())
}

/// 1000 deletes against a server failing 10% of its answers and allowing 200 requests a second
/// (each 429 says `Retry-After: 1`): every record deleted, each reported once.
fn bulk_delete_under_faults(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut bench = Bench::start(&rt);
    let lock: LockInfo = rt
        .block_on(bench.local.client.create_lock(ModuleCode::AddressBook))
        .unwrap();
    bench.local.server.set_faults(Faults {
        error_rate: 0.1,
        rate_limit_per_sec: Some(200),
        ..Faults::default()
    });
    let mut group = c.benchmark_group("bulk_delete_1000_faults");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(60));
    group.bench_function("error_rate_0.1_rate_limit_200", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let ids = bench.insert_records(ModuleCode::AddressBook, 1000);
                let started = Instant::now();
                let (reported, failures) = run_bulk(&rt, &bench.local.client, &lock, ids, i);
                total += started.elapsed();
                assert_eq!(failures, 0, "every delete went through in the end");
                assert!(
                    reported.iter().all(|&n| n == 1),
                    "each record reported deleted once"
                );
                assert_eq!(bench.count_records(ModuleCode::AddressBook), 0, "all deleted");
            }
            total
        })
    });
    group.finish();
    let stats = bench.local.server.stats();
    println!(
        "bulk_delete_1000_faults: {} requests, {} injected 500s, {} answered 429",
        stats.requests, stats.injected_errors, stats.rate_limited
    );
    rt.block_on(bench.local.server.shutdown());
}

criterion_group!(
    benches,
    records_load,
    records_render,
    bulk_delete,
    bulk_delete_under_faults
);
criterion_main!(benches);
