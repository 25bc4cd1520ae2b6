//! The runtime side of the record features: performing one [`RecordCall`], and running a bulk
//! delete with bounded concurrency. Nothing here decides anything; results go back to the app.

use futures::StreamExt;

use super::record_action::{BulkDeleteJob, BulkProgress, FILES_PAGE_SIZE, RecordCall, RecordOutcome};
use crate::api::Client;

/// Performs `call` and returns its outcome.
pub async fn perform(client: &Client, call: RecordCall) -> RecordOutcome {
    match call {
        RecordCall::ListPage { query, cursor } => {
            RecordOutcome::Page(client.list_records(&query, cursor.as_deref()).await)
        }
        RecordCall::Create { lock_id, record } => {
            RecordOutcome::Created(client.create_record(&lock_id, &record).await)
        }
        RecordCall::Get { record_id } => RecordOutcome::Fetched(client.get_record(&record_id).await),
        RecordCall::Complete {
            lock_id,
            record_id,
            properties,
        } => RecordOutcome::Completed(client.complete_record(&lock_id, &record_id, properties).await),
        RecordCall::Delete { lock_id, record_id } => {
            RecordOutcome::Deleted(client.delete_record(&lock_id, &record_id).await)
        }
        RecordCall::Files { record_id, cursor } => RecordOutcome::Files(
            client
                .list_files(&record_id, FILES_PAGE_SIZE, cursor.as_deref())
                .await,
        ),
    }
}

/// Deletes the job's records, at most `job.concurrency` at a time, calling `report` after each
/// one and once at the end. After the job's cancel flag is set no further delete is started;
/// those already sent finish and are reported, the rest are left untouched.
pub async fn run_bulk_delete(client: Client, job: BulkDeleteJob, report: impl Fn(BulkProgress)) {
    let BulkDeleteJob {
        job: id,
        lock_id,
        record_ids,
        concurrency,
        cancel,
    } = job;
    let total = record_ids.len();
    let mut launched = 0usize;
    // `buffer_unordered` creates each future only when a slot is free, so the flag is checked
    // at the moment a delete would start.
    let deletes = futures::stream::iter(record_ids)
        .map(|record_id| {
            let (client, lock_id, cancel) = (&client, &lock_id, &cancel);
            async move {
                if cancel.is_cancelled() {
                    return None;
                }
                let result = client.delete_record(lock_id, &record_id).await;
                Some((record_id, result))
            }
        })
        .buffer_unordered(concurrency.max(1));
    futures::pin_mut!(deletes);
    while let Some(done) = deletes.next().await {
        if let Some((record_id, result)) = done {
            launched += 1;
            report(BulkProgress::Deleted {
                job: id,
                record_id,
                result,
            });
        }
    }
    report(BulkProgress::Finished {
        job: id,
        cancelled: launched < total,
    });
}
