//! The one place the app's KooDrive calls run: [`perform`] turns an [`ApiCall`] into its
//! [`ApiOutcome`], and [`run_bulk_delete`] deletes many records through the bulk engine, as a
//! plan of the history. A change that leaves no trace but the history is not sent while the
//! history cannot be written ([`perform_kept`], [`run_bulk_delete`] say why instead): the app
//! asks, and a yes sends it again with [`Keeping::Off`]. Nothing here decides anything; results
//! go back to the app.

use chrono::{DateTime, Utc};

use super::action::{
    ApiCall, ApiOutcome, BulkDeleteJob, BulkProgress, HistoryRead, PendingRead, QueueChange, QueueJob,
};
use crate::api::Client;
use crate::bulk::{self, Stop};
use crate::history::{History, Keeping, Who};
use crate::pending::{Queue, Queued};

/// Deletes in flight at most during a bulk delete (the pace adapts below it).
pub const DEFAULT_BULK_CONCURRENCY: usize = 64;

/// Performs `call` unless it leaves no trace and `keeping` says the history cannot be written:
/// then `call` comes back, with why.
pub async fn perform_kept(
    client: &Client,
    keeping: &Keeping,
    call: ApiCall,
) -> Result<ApiOutcome, (String, ApiCall)> {
    if call.leaves_no_trace()
        && let Some(why) = keeping.refusal()
    {
        return Err((why, call));
    }
    Ok(perform(client, call).await)
}

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
/// each record re-read first), calling `report` after each one and once at the end. The plan
/// is written to the history (`keeping`) before anything is sent, and its end after; when it
/// cannot be, nothing is sent and the job comes back, with why. After the job's cancel flag is
/// set no further delete is started; those already sent finish and are reported, the rest are
/// left untouched.
pub async fn run_bulk_delete(
    client: Client,
    keeping: &Keeping,
    job: BulkDeleteJob,
    report: impl Fn(BulkProgress),
) -> Result<(), (String, BulkDeleteJob)> {
    let opened = match keeping.refusal() {
        Some(why) => Err(why),
        None => keeping
            .open_plan("app bulk delete", job.module.code(), job.planned.clone())
            .map_err(|e| e.to_string()),
    };
    let plan = match opened {
        Ok(plan) => plan,
        Err(why) => return Err((why, job)),
    };
    let client = plan.client(&client);
    let BulkDeleteJob {
        job: id,
        lock_id,
        targets,
        concurrency,
        cancel,
        ..
    } = job;
    let options = bulk::Options {
        reread: true,
        ceiling: concurrency,
    };
    let guard = || cancel.is_cancelled().then_some(Stop::Cancelled);
    let mut deleted = 0;
    let summary = bulk::delete_all(&client, &lock_id, targets, options, guard, |done| {
        deleted += usize::from(matches!(done.outcome, bulk::Outcome::Deleted { .. }));
        report(BulkProgress::Deleted {
            job: id,
            record_id: done.record_id,
            outcome: done.outcome,
        })
    })
    .await;
    plan.finish(deleted);
    report(BulkProgress::Finished {
        job: id,
        cancelled: !summary.not_attempted.is_empty(),
    });
    Ok(())
}

/// Reads the history in its usual place (switched off or not: what was kept stays readable).
pub fn read_history() -> Result<HistoryRead, String> {
    let read = History::default_place()
        .and_then(|history| history.read())
        .map_err(|e| e.to_string())?;
    Ok(HistoryRead {
        entries: read.entries,
        unreadable: read.unreadable,
    })
}

/// Reads the queue of pending deletions beside the history; `here` (this connection) tells
/// which entries were queued through it.
pub fn read_pending(here: &Who) -> Result<PendingRead, String> {
    let loaded = Queue::default_place()
        .and_then(|queue| queue.read())
        .map_err(|e| e.to_string())?;
    let mine = loaded
        .entries
        .iter()
        .filter(|q| q.who.server == here.server && q.who.user == here.user)
        .map(|q| q.record_id.clone())
        .collect();
    Ok(PendingRead {
        entries: loaded.entries,
        unreadable: loaded.unreadable.len(),
        here: mine,
    })
}

/// Queues the job's records as `who`, from `now` (the server's clock), each with a
/// `pending.queue` entry in the history (when `keeping` writes one). Nothing is sent.
pub fn queue_deletes(job: QueueJob, who: &Who, now: DateTime<Utc>, keeping: &Keeping) -> QueueChange {
    let entries = job
        .chosen
        .into_iter()
        .map(|(record, module, why)| Queued::new(record, module, who.clone(), why, now, job.grace))
        .collect();
    match Queue::default_place()
        .and_then(|queue| crate::pending::queue_and_record(&queue, keeping.recorder(), entries))
    {
        Ok(queueing) => QueueChange::Queued {
            added: queueing.added,
            already: queueing.already,
            unrecorded: queueing.unrecorded,
        },
        Err(error) => QueueChange::Failed {
            queueing: true,
            why: error.to_string(),
        },
    }
}

/// Takes back the queued deletions of `ids`, with a `pending.cancel` entry each in the history.
pub fn cancel_queued(ids: Vec<String>) -> QueueChange {
    let cancelled = Queue::default_place().and_then(|queue| {
        crate::pending::cancel_and_record(&queue, |q| ids.contains(&q.record_id), "koobackup app: cancel")
    });
    match cancelled {
        Ok((cancelled, unrecorded)) => QueueChange::Cancelled {
            asked: ids,
            cancelled: cancelled.cancelled,
            busy: cancelled.busy,
            unrecorded,
        },
        Err(error) => QueueChange::Failed {
            queueing: false,
            why: error.to_string(),
        },
    }
}
