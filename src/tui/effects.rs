//! The one place the app's KooDrive calls run: [`perform`] turns an [`ApiCall`] into its
//! [`ApiOutcome`], and [`run_bulk_delete`] deletes many records through the bulk engine.
//! Nothing here decides anything; results go back to the app.

use super::action::{ApiCall, ApiOutcome, BulkDeleteJob, BulkProgress};
use crate::api::Client;
use crate::bulk::{self, Stop};

/// Deletes in flight at most during a bulk delete (the pace adapts below it).
pub const DEFAULT_BULK_CONCURRENCY: usize = 64;

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
        ApiCall::DeleteRecord { lock_id, target } => {
            ApiOutcome::RecordDeleted(bulk::delete_one(client, &lock_id, &target, true).await)
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

/// Deletes the job's records through the bulk engine (adaptive pace up to `job.concurrency`,
/// each record re-read first), calling `report` after each one and once at the end. After the
/// job's cancel flag is set no further delete is started; those already sent finish and are
/// reported, the rest are left untouched.
pub async fn run_bulk_delete(client: Client, job: BulkDeleteJob, report: impl Fn(BulkProgress)) {
    let BulkDeleteJob {
        job: id,
        lock_id,
        targets,
        concurrency,
        cancel,
    } = job;
    let options = bulk::Options {
        reread: true,
        ceiling: concurrency,
    };
    let guard = || cancel.is_cancelled().then_some(Stop::Cancelled);
    let summary = bulk::delete_all(&client, &lock_id, targets, options, guard, |done| {
        report(BulkProgress::Deleted {
            job: id,
            record_id: done.record_id,
            outcome: done.outcome,
        })
    })
    .await;
    report(BulkProgress::Finished {
        job: id,
        cancelled: !summary.not_attempted.is_empty(),
    });
}
