//! The one place the app's KooDrive calls run: [`perform`] turns an [`ApiCall`] into its
//! [`ApiOutcome`], and [`run_bulk_delete`] deletes many records with bounded concurrency.
//! Nothing here decides anything; results go back to the app.

use futures::StreamExt;

use super::action::{ApiCall, ApiOutcome, BulkDeleteJob, BulkProgress};
use crate::api::Client;

/// Deletes in flight at once during a bulk delete, unless the job says otherwise.
pub const DEFAULT_BULK_CONCURRENCY: usize = 8;

/// Attempts of one delete in a bulk delete beyond the first: a rate limit or a flaky server must
/// not turn into a list of failures to retry by hand. A delete repeated after a lost answer and
/// then answered "not found" counts as done (the server never reuses an id).
pub const BULK_DELETE_RETRIES: u32 = 5;

/// Performs `call` and returns its outcome.
pub async fn perform(client: &Client, call: ApiCall) -> ApiOutcome {
    match call {
        ApiCall::CreateLock(module) => ApiOutcome::LockCreated(client.create_lock(module).await),
        ApiCall::RenewLock(lock) => ApiOutcome::LockRenewed(client.renew_lock(&lock).await),
        ApiCall::ReleaseLock(lock_id) => ApiOutcome::LockReleased(client.release_lock(&lock_id).await),
        ApiCall::ListRecords { query, cursor } => {
            ApiOutcome::RecordsPage(client.list_records(&query, cursor.as_deref()).await)
        }
        ApiCall::CreateRecord { lock_id, record } => {
            ApiOutcome::RecordCreated(client.create_record(&lock_id, &record).await)
        }
        ApiCall::GetRecord { record_id } => ApiOutcome::RecordFetched(client.get_record(&record_id).await),
        ApiCall::CompleteRecord {
            lock_id,
            record_id,
            properties,
        } => ApiOutcome::RecordCompleted(client.complete_record(&lock_id, &record_id, properties).await),
        ApiCall::DeleteRecord { lock_id, record_id } => {
            ApiOutcome::RecordDeleted(client.delete_record(&lock_id, &record_id).await)
        }
        ApiCall::ListFiles {
            record_id,
            page_size,
            cursor,
        } => ApiOutcome::FilesPage(client.list_files(&record_id, page_size, cursor.as_deref()).await),
        ApiCall::ListDevices => ApiOutcome::DevicesListed(client.list_devices().await),
        ApiCall::UnbindDevice { device_id } => {
            ApiOutcome::DeviceUnbound(client.unbind_device(&device_id).await)
        }
        ApiCall::ListScopes { device_id, module } => {
            ApiOutcome::ScopesListed(client.list_scopes(&device_id, module).await)
        }
        ApiCall::AddScopes {
            device_id,
            module,
            scopes,
        } => ApiOutcome::ScopesAdded(client.add_scopes(&device_id, module, scopes).await),
        ApiCall::DeleteScopes { device_id, scope_ids } => {
            ApiOutcome::ScopesDeleted(client.delete_scopes(&device_id, scope_ids).await)
        }
        ApiCall::ListConfigs { device_id, module } => {
            ApiOutcome::ConfigsListed(client.list_configs(&device_id, module).await)
        }
        ApiCall::UpdateConfig { device_id, request } => {
            ApiOutcome::ConfigUpdated(client.update_config(&device_id, &request).await)
        }
    }
}

/// Deletes the job's records, at most `job.concurrency` at a time, each with
/// [`BULK_DELETE_RETRIES`] retries, calling `report` after each one and once at the end. After
/// the job's cancel flag is set no further delete is started; those already sent finish and are
/// reported, the rest are left untouched.
pub async fn run_bulk_delete(client: Client, job: BulkDeleteJob, report: impl Fn(BulkProgress)) {
    let BulkDeleteJob {
        job: id,
        lock_id,
        record_ids,
        concurrency,
        cancel,
    } = job;
    let client = client.with_retries(BULK_DELETE_RETRIES);
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
