//! The one place the app's KooDrive calls run: [`perform`] turns an [`ApiCall`] into its
//! [`ApiOutcome`], [`run_bulk_delete`] deletes many records through the bulk engine, as a
//! plan of the history, and [`SizeReader`] reads the Devices view's sizes through the size
//! cache. A change that leaves no trace but the history is not sent while the
//! history cannot be written ([`perform_kept`], [`run_bulk_delete`] say why instead): the app
//! asks, and a yes sends it again with [`Keeping::Off`]. Nothing here decides anything; results
//! go back to the app.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::action::{
    ApiCall, ApiOutcome, BulkDeleteJob, BulkProgress, CancelFlag, HistoryRead, ListingEnd, PendingRead,
    QueueChange, QueueJob, SizeRequest, SizesRead,
};
use crate::api::Client;
use crate::bulk::{self, Stop};
use crate::health::sizes::SIZE_CEILING;
use crate::history::{History, Keeping, Who};
use crate::pending::{Queue, Queued};
use crate::size_cache::{self, Place, SizeCache};

/// Sizes learned go to the app at most this often, together: thousands of answers make a few
/// dozen redraws, not thousands.
const SIZES_EVERY: Duration = Duration::from_millis(50);
/// While a reading learns sizes, the cache is written this often (and at its end): quitting
/// midway loses no more than this much of the reading.
const CACHE_SAVE_EVERY: Duration = Duration::from_secs(5);

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
    plan.finish(deleted, summary.stopped());
    report(BulkProgress::Finished {
        job: id,
        cancelled: !summary.not_attempted.is_empty(),
        lock_lost: matches!(summary.stop, Some(Stop::LockLost(_))),
    });
    Ok(())
}

/// The Devices view's reading of sizes ([`crate::tui::action::Effect::ReadSizes`]): one at a
/// time, fed by the pages of a listing as they arrive, through the size cache of the
/// connection (`place`).
#[derive(Debug)]
pub struct SizeReader {
    place: Place,
    job: Option<SizeJob>,
}

#[derive(Debug)]
struct SizeJob {
    listing: u64,
    /// Dropped when the listing ends: the reading then finishes what it was given.
    requests: Option<mpsc::UnboundedSender<SizeRequest>>,
    stop: CancelFlag,
    /// The cache the reading fills, shared so that a stop writes what it learned at once.
    cache: Arc<Mutex<SizeCache>>,
    /// The reading itself, which ends with its last write of the cache. The app lets it run
    /// on its own; only the tests wait for it.
    #[cfg(test)]
    task: tokio::task::JoinHandle<()>,
}

impl SizeReader {
    pub fn new(place: Place) -> SizeReader {
        SizeReader { place, job: None }
    }

    /// Another connection (`server` as the journal knows it, `user`): the reading under way
    /// stops, the next one uses that connection's cache (in the same directory).
    pub fn switch_to(&mut self, server: &str, user: &str) {
        self.stop();
        self.place = self.place.for_connection(server, user);
    }

    /// Stops the reading under way: no further file list is read, and what it learned is
    /// written to the cache now (the app may be quitting: the reading's own last write, once
    /// the requests under way have answered, may never come).
    pub fn stop(&mut self) {
        if let Some(job) = self.job.take() {
            job.stop.cancel();
            save(&job.cache, |_| true);
        }
    }

    /// Waits until the reading of the last listing has ended, its last write of the cache made.
    #[cfg(test)]
    pub async fn finished(&mut self) {
        if let Some(job) = self.job.take() {
            let _ = job.task.await;
        }
    }

    /// Passes `request` to the reading of its listing, started here for a new listing (which
    /// stops the one before). `report` gets the sizes as they become known.
    pub fn request(
        &mut self,
        client: &Client,
        request: SizeRequest,
        report: impl Fn(SizesRead) + Send + 'static,
    ) {
        if self
            .job
            .as_ref()
            .is_some_and(|job| job.listing != request.listing)
        {
            self.stop();
        }
        let last = request.end.is_some();
        let job = self.job.get_or_insert_with(|| {
            SizeJob::start(client.clone(), self.place.clone(), request.listing, report)
        });
        if let Some(requests) = &job.requests {
            // The reading ends only after its input: it is there to receive.
            let _ = requests.send(request);
        }
        if last {
            // No more input: the reading finishes what it has (and stays stoppable).
            job.requests = None;
        }
    }
}

impl SizeJob {
    fn start(
        client: Client,
        place: Place,
        listing: u64,
        report: impl Fn(SizesRead) + Send + 'static,
    ) -> SizeJob {
        let (requests, mut receiver) = mpsc::unbounded_channel::<SizeRequest>();
        let stop = CancelFlag::default();
        let stopped = stop.clone();
        let cache = Arc::new(Mutex::new(place.open()));
        let shared = cache.clone();
        #[cfg_attr(not(test), allow(unused_variables))]
        let task = tokio::spawn(async move {
            let cache = &*shared;
            let learned = Mutex::new(Vec::new());
            let take = || std::mem::take(&mut *learned.lock().unwrap_or_else(|e| e.into_inner()));
            let mut listed = HashSet::new();
            let mut end = None;
            {
                let batches = futures::stream::poll_fn(|cx| receiver.poll_recv(cx)).map(|request| {
                    listed.extend(request.records.iter().map(|r| r.record_id.clone()));
                    end = end.or(request.end);
                    request.records
                });
                let reading = size_cache::read_through(
                    &client,
                    cache,
                    batches,
                    SIZE_CEILING,
                    || stopped.is_cancelled(),
                    |sizes| learned.lock().unwrap_or_else(|e| e.into_inner()).extend(sizes),
                );
                tokio::pin!(reading);
                let mut every = tokio::time::interval(SIZES_EVERY);
                let mut saved = Instant::now();
                loop {
                    tokio::select! {
                        () = &mut reading => break,
                        _ = every.tick() => {
                            let sizes = take();
                            if !sizes.is_empty() {
                                report(SizesRead { listing, sizes });
                            }
                            if saved.elapsed() >= CACHE_SAVE_EVERY {
                                save(cache, |_| true);
                                saved = Instant::now();
                            }
                        }
                    }
                }
            }
            let sizes = take();
            if !sizes.is_empty() {
                report(SizesRead { listing, sizes });
            }
            // Sizes of records no longer listed go once a whole listing showed they are gone.
            if end == Some(ListingEnd::Complete) && !stopped.is_cancelled() {
                save(cache, |id| listed.contains(id));
            } else {
                save(cache, |_| true);
            }
        });
        SizeJob {
            listing,
            requests: Some(requests),
            stop,
            cache,
            #[cfg(test)]
            task,
        }
    }
}

/// Writes the cache; a cache that cannot be written only costs the next start its reads: a
/// line in the log, nothing for the user to act on.
fn save(cache: &Mutex<SizeCache>, keep: impl Fn(&str) -> bool) {
    if let Err(error) = cache.lock().unwrap_or_else(|e| e.into_inner()).save(keep) {
        tracing::warn!(%error, "size cache: not written");
    }
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

/// Queues the job's records as `who`, from `now` (the server's clock, `offset` ahead of this
/// machine's), each with a
/// `pending.queue` entry in the history (when `keeping` writes one). Nothing is sent.
pub fn queue_deletes(
    job: QueueJob,
    who: &Who,
    (now, offset): (DateTime<Utc>, chrono::Duration),
    keeping: &Keeping,
) -> QueueChange {
    let entries = job
        .chosen
        .into_iter()
        .map(|(record, module, why)| Queued::new(record, module, who.clone(), why, now, offset, job.grace))
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
