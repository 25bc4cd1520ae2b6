//! The app's changes in the history, against a real server: a bulk delete is a plan (written
//! before anything is sent, its records as chosen, its end after), a single delete is kept with
//! the record as it was, and nothing destructive is sent while the history cannot be written.

use koobackup::api::ModuleCode;
use koobackup::bulk::{Chosen, Target};
use koobackup::history::{History, Keeping, Op, Planned, Recorder, Who};
use koobackup::tui::action::{ApiCall, ApiOutcome, BulkDeleteJob, CancelFlag, JobId};
use koobackup::tui::effects;

use super::records::{server_ids, setup};

fn recorder(dir: &std::path::Path) -> Recorder {
    let who = Who::here(
        Some("test".into()),
        "server".into(),
        "alice".into(),
        "koobackup".into(),
    );
    Recorder::new(History::at(dir), who)
}

fn job(records: &[koobackup::api::BackupRecord], lock_id: &str) -> BulkDeleteJob {
    BulkDeleteJob {
        job: JobId(1),
        module: ModuleCode::AddressBook,
        lock_id: lock_id.into(),
        targets: records
            .iter()
            .map(|r| Target {
                record_id: r.record_id.clone(),
                chosen: Some(Chosen::of(r)),
            })
            .collect(),
        planned: records
            .iter()
            .map(|r| Planned {
                record_id: r.record_id.clone(),
                record: Some(r.clone()),
            })
            .collect(),
        concurrency: 4,
        cancel: CancelFlag::default(),
    }
}

#[tokio::test]
async fn an_app_bulk_delete_is_a_plan_with_its_records_as_chosen() {
    let (_server, client, lock, created) = setup(5).await;
    let dir = tempfile::tempdir().unwrap();
    let recorder = recorder(dir.path());
    let client = client.with_changes(recorder.changes());
    let keeping = Keeping::Recording(recorder.clone());
    let ran = effects::run_bulk_delete(client.clone(), &keeping, job(&created, &lock.lock_id), |_| {}).await;
    assert!(ran.is_ok());
    assert!(server_ids(&client, ModuleCode::AddressBook).await.is_empty());
    let entries = recorder.history().read().unwrap().entries;
    let start = entries.iter().find(|e| e.op == Op::PlanStart).expect("the plan");
    assert_eq!(start.what.as_deref(), Some("app bulk delete"));
    let planned: Vec<_> = start.planned.iter().map(|p| p.record.clone().unwrap()).collect();
    assert_eq!(planned, created, "each record as chosen");
    let plan = start.plan.clone();
    let deletes: Vec<_> = entries
        .iter()
        .filter(|e| e.op == Op::RecordDelete && e.plan == plan)
        .collect();
    assert_eq!(deletes.len(), 5);
    assert!(deletes.iter().all(|e| e.record.is_some() && e.at > start.at));
    let end = entries.iter().find(|e| e.op == Op::PlanEnd).expect("its end");
    assert_eq!((end.plan.clone(), end.deleted), (plan, Some(5)));
    assert!(recorder.history().open_plans().is_empty());
}

#[tokio::test]
async fn a_single_delete_from_the_app_is_kept_with_the_record_as_it_was() {
    let (_server, client, lock, created) = setup(1).await;
    let dir = tempfile::tempdir().unwrap();
    let recorder = recorder(dir.path());
    let client = client.with_changes(recorder.changes());
    let call = ApiCall::DeleteRecord {
        lock_id: lock.lock_id.clone(),
        target: Box::new(job(&created, &lock.lock_id).targets.remove(0)),
    };
    let outcome = effects::perform_kept(&client, &Keeping::Recording(recorder.clone()), call).await;
    assert!(matches!(outcome, Ok(ApiOutcome::RecordDeleted(_))), "{outcome:?}");
    let entries = recorder.history().read().unwrap().entries;
    let delete = entries.iter().find(|e| e.op == Op::RecordDelete).expect("kept");
    assert_eq!(delete.record.as_ref(), Some(&created[0]));
    assert!(delete.outcome.ok);
}

#[tokio::test]
async fn nothing_destructive_is_sent_while_the_history_cannot_be_written() {
    let (_server, client, lock, created) = setup(3).await;
    let dir = tempfile::tempdir().unwrap();
    // Its directory cannot be made: a file is in the way.
    std::fs::write(dir.path().join("blocked"), "").unwrap();
    let recorder = recorder(&dir.path().join("blocked").join("history"));
    let client = client.with_changes(recorder.changes());
    let keeping = Keeping::Recording(recorder);
    let job = job(&created, &lock.lock_id);
    let held = effects::run_bulk_delete(client.clone(), &keeping, job.clone(), |_| {
        panic!("nothing is reported: nothing was sent")
    })
    .await;
    let (why, back) = held.expect_err("held back");
    assert!(why.contains("cannot write the history"), "{why}");
    assert_eq!(back, job, "the job comes back whole, to send on a yes");
    let call = ApiCall::DeleteRecord {
        lock_id: lock.lock_id.clone(),
        target: Box::new(job.targets[0].clone()),
    };
    let (why, back) = effects::perform_kept(&client, &keeping, call.clone())
        .await
        .expect_err("held back");
    assert!(why.contains("cannot write the history"), "{why}");
    assert_eq!(back, call);
    assert_eq!(
        server_ids(&client, ModuleCode::AddressBook).await.len(),
        3,
        "all there"
    );
    // Reads are sent; and the user's yes sends the delete without history.
    let listed = effects::perform_kept(&client, &keeping, ApiCall::ListDevices).await;
    assert!(listed.is_ok());
    let ran = effects::run_bulk_delete(client.clone(), &Keeping::Off, job, |_| {}).await;
    assert!(ran.is_ok());
    assert!(server_ids(&client, ModuleCode::AddressBook).await.is_empty());
}
