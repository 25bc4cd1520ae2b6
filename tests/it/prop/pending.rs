//! A property of the grace window, through the real binary and the real local server: whatever
//! interleaving of queueing (by hand or by a clean-up rule), cancelling, completing backups,
//! time passing (the server's clock) and `pending apply`, a record is deleted only if it was
//! queued, not cancelled, due, and unchanged since it was queued — and `pending apply` does
//! delete every record that is.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::support::cli::Cli;
use crate::support::{TestServer, old_records, record_ids, spawn_server};
use koobackup::server::Faults;

/// Few records, so that steps often meet on one.
const RECORDS: usize = 2;

#[derive(Debug, Clone)]
enum Step {
    /// `record delete ID --yes --grace G` (minutes).
    Queue(usize, i64),
    /// `cleanup --older-than 1h --yes --grace G`: every abandoned (still new) record.
    QueueByRule(i64),
    Cancel(usize),
    /// The backup finishes: the record is completed.
    Complete(usize),
    /// The server's clock moves on (minutes).
    Pass(i64),
    Apply,
}

/// Graces and steps of time never meet exactly (45 and 105 against multiples of 30): a record
/// is due or not by a quarter of an hour, whatever the second the clock was read.
fn step() -> impl Strategy<Value = Step> {
    let grace = prop::sample::select(vec![45i64, 105]);
    prop_oneof![
        3 => (0..RECORDS, grace.clone()).prop_map(|(i, g)| Step::Queue(i, g)),
        1 => grace.prop_map(Step::QueueByRule),
        2 => (0..RECORDS).prop_map(Step::Cancel),
        2 => (0..RECORDS).prop_map(Step::Complete),
        3 => prop::sample::select(vec![30i64, 60]).prop_map(Step::Pass),
        3 => Just(Step::Apply),
    ]
}

/// One record as the model sees it.
#[derive(Debug, Clone, Default)]
struct Model {
    exists: bool,
    completed: bool,
    /// Queued: due at (minutes on the server's clock), and whether it was completed then.
    queued: Option<(i64, bool)>,
}

/// The server's clock `minutes` after the case began.
fn set_clock(server: &TestServer, minutes: i64) {
    server.server.set_faults(Faults {
        clock_offset: chrono::Duration::minutes(minutes),
        ..Faults::default()
    });
}

async fn run_case(server: &TestServer, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let ids = old_records(server, "102", RECORDS).await;
    let cli = Cli::for_server(&server.base_url());
    let mut model = vec![
        Model {
            exists: true,
            ..Model::default()
        };
        RECORDS
    ];
    let mut now = 0i64;
    for step in steps {
        match step {
            Step::Queue(i, grace) => {
                let grace = format!("{grace}m");
                cli.run(&["record", "delete", &ids[i], "--yes", "--grace", &grace])
                    .await;
                let record = &mut model[i];
                if record.exists && record.queued.is_none() {
                    record.queued = Some((now + grace_minutes(&grace), record.completed));
                }
            }
            Step::QueueByRule(grace) => {
                let grace = format!("{grace}m");
                cli.run(&[
                    "cleanup",
                    "-m",
                    "102",
                    "--older-than",
                    "1h",
                    "--yes",
                    "--grace",
                    &grace,
                ])
                .await
                .ok();
                for record in model.iter_mut().filter(|r| r.exists && !r.completed) {
                    if record.queued.is_none() {
                        record.queued = Some((now + grace_minutes(&grace), false));
                    }
                }
            }
            Step::Cancel(i) => {
                cli.run(&["pending", "cancel", &ids[i]]).await;
                model[i].queued = None;
            }
            Step::Complete(i) => {
                if model[i].exists && !model[i].completed {
                    server.complete(&ids[i]).await;
                    model[i].completed = true;
                }
            }
            Step::Pass(minutes) => {
                now += minutes;
                set_clock(server, now);
            }
            Step::Apply => {
                let apply = cli.run(&["pending", "apply"]).await;
                prop_assert_eq!(apply.code, 0, "{}", apply.stderr);
                for record in &mut model {
                    if let Some((due, completed_then)) = record.queued
                        && due <= now
                    {
                        record.queued = None;
                        record.exists = record.completed != completed_then;
                    }
                }
            }
        }
        // Earlier cases' records are in the module too: only this case's are compared.
        let on_server: BTreeSet<String> = record_ids(&server.db_path, "102")
            .into_iter()
            .filter(|id| ids.contains(id))
            .collect();
        let expected: BTreeSet<String> = ids
            .iter()
            .zip(&model)
            .filter(|(_, m)| m.exists)
            .map(|(id, _)| id.clone())
            .collect();
        prop_assert_eq!(on_server, expected, "model: {:?}", model);
    }
    set_clock(server, 0);
    Ok(())
}

fn grace_minutes(text: &str) -> i64 {
    text.trim_end_matches('m').parse().unwrap()
}

#[test]
fn a_record_is_deleted_only_when_queued_not_cancelled_due_and_unchanged() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(spawn_server());
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let steps = prop::collection::vec(step(), 1..14);
    let result = runner.run(&steps, |steps| rt.block_on(run_case(&server, steps)));
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
