//! Finding a module's clean-up candidates in bounded memory: its listing streamed, only what a
//! rule weighs held, and under a retention policy each device's completed backups weighed on
//! their own.

use chrono::Utc;
use futures::StreamExt;

use super::CleanupArgs;
use super::report::Listed;
use crate::api::client::RecordQuery;
use crate::api::{BackupRecord, MAX_PAGE_SIZE, ModuleCode, RecordStatus};
use crate::cleanup::{CleanupRules, Plan, ages_measured_at, plan};
use crate::cli::Context;
use crate::cli::exit::{CliError, Exit};
use crate::cli::record::{MAX_HELD_BYTES, held_size, too_big, walk_error};

/// The module's candidates at this moment, and what the retention policy keeps. Ages are
/// measured on the server's clock (the records' times are the server's), through the offset the
/// listing itself measured. Records that could not be read (counted in `listed`), or that the
/// server lists under another module, are never candidates.
///
/// Memory stays bounded whatever the module holds: the listing is streamed and only the records
/// a rule can choose are held — those not completed (abandoned or marked ones are among them).
/// A retention policy weighs each device's completed backups together, so over a whole module
/// they are weighed device by device: the first listing notes which devices have completed
/// backups, then each device's are listed and weighed on their own (retention is per device and
/// module: the outcome is the same), holding one device's at a time.
pub(super) async fn find(
    ctx: &Context,
    module: ModuleCode,
    args: &CleanupArgs,
    rules: &CleanupRules,
    listed: &mut Listed,
) -> Result<Plan, CliError> {
    let mut whole = Plan::default();
    find_each(ctx, module, args, rules, listed, |part| {
        whole.delete.extend(part.delete);
        whole.keep.extend(part.keep);
    })
    .await?;
    Ok(whole)
}

/// [`find`], handing its plan over in parts as they are weighed (what is not completed, then
/// each device's completed backups), so a caller that prints them at once holds none.
pub(super) async fn find_each(
    ctx: &Context,
    module: ModuleCode,
    args: &CleanupArgs,
    rules: &CleanupRules,
    listed: &mut Listed,
    mut take: impl FnMut(Plan),
) -> Result<(), CliError> {
    let mut weighing = Weighing::start(ctx, module, args, rules, listed).await?;
    while let Some(part) = weighing.next(ctx).await {
        take(part?);
    }
    Ok(())
}

/// One module's weighing, part by part: the records that are not completed (with the completed
/// ones too when they are weighed together), then, under a retention policy over the whole
/// module, each device's completed backups on their own.
pub(super) struct Weighing<'a> {
    walk: Walk<'a>,
    rules: &'a CleanupRules,
    /// The first part, until it is taken.
    first: Option<Plan>,
    /// Devices whose completed backups are still to be weighed.
    devices: std::collections::btree_set::IntoIter<String>,
    /// Records the first part held (one completed meanwhile is not weighed twice).
    seen: std::collections::HashSet<String>,
    /// Whether the server's clock was checked (said once, at the end).
    done: bool,
}

impl<'a> Weighing<'a> {
    pub(super) async fn start(
        ctx: &Context,
        module: ModuleCode,
        args: &'a CleanupArgs,
        rules: &'a CleanupRules,
        listed: &mut Listed,
    ) -> Result<Weighing<'a>, CliError> {
        let per_device = rules.retention.is_some() && args.device.is_none();
        let mut walk = Walk::new(module, args);
        // Completed backups are held in this first listing only when they are weighed here:
        // with a policy and one device named, or (per device) those with no device id to list
        // them by.
        let first = walk
            .list(ctx, args.device.clone(), listed, |record| {
                record.status != RecordStatus::Completed
                    || (rules.retention.is_some() && (!per_device || record.device_info.device_id.is_empty()))
            })
            .await?;
        walk.warn_odd(ctx);
        let devices = if per_device {
            first.devices
        } else {
            Default::default()
        };
        Ok(Weighing {
            seen: first.held.iter().map(|r| r.record_id.clone()).collect(),
            first: Some(plan(&first.held, rules, measured_now(ctx))),
            walk,
            rules,
            devices: devices.into_iter(),
            done: false,
        })
    }

    /// The next part, or `None` after the last.
    pub(super) async fn next(&mut self, ctx: &Context) -> Option<Result<Plan, CliError>> {
        if let Some(first) = self.first.take() {
            return Some(Ok(first));
        }
        let Some(device) = self.devices.next() else {
            if !std::mem::replace(&mut self.done, true) {
                check_clock(ctx);
            }
            return None;
        };
        let seen = &self.seen;
        let completed = self
            .walk
            .list(ctx, Some(device), &mut Listed::default(), |record| {
                record.status == RecordStatus::Completed && !seen.contains(&record.record_id)
            })
            .await;
        Some(completed.map(|held| plan(&held.held, self.rules, measured_now(ctx))))
    }
}

/// The moment ages are measured at: the server's clock, through the offset the listings measured.
pub(super) fn measured_now(ctx: &Context) -> chrono::DateTime<Utc> {
    ages_measured_at(Utc::now(), ctx.client().server_now())
}

pub(super) fn check_clock(ctx: &Context) {
    if !ctx.client().clock_measured() {
        ctx.out.warn(
            "the server sent no Date header, so its clock is unknown: ages are measured on this \
             machine's clock",
        );
    }
}

/// One module's listings for clean-up, with what they found odd.
pub(super) struct Walk<'a> {
    module: ModuleCode,
    args: &'a CleanupArgs,
    odd: Option<BackupRecord>,
    odd_count: usize,
}

/// What one listing held.
pub(super) struct Held {
    /// The records a rule weighs.
    held: Vec<BackupRecord>,
    /// The devices with completed backups that were not held (listed again device by device).
    devices: std::collections::BTreeSet<String>,
}

impl<'a> Walk<'a> {
    pub(super) fn new(module: ModuleCode, args: &'a CleanupArgs) -> Walk<'a> {
        Walk {
            module,
            args,
            odd: None,
            odd_count: 0,
        }
    }

    /// Streams the module's records (of `device`, when given), holding those `weighed` picks:
    /// at most `--max-records` of them and [`MAX_HELD_BYTES`].
    pub(super) async fn list(
        &mut self,
        ctx: &Context,
        device: Option<String>,
        listed: &mut Listed,
        weighed: impl Fn(&BackupRecord) -> bool,
    ) -> Result<Held, CliError> {
        let module = self.module;
        let bounds = &self.args.bounds;
        let query = RecordQuery {
            module,
            page_size: MAX_PAGE_SIZE,
            device_id: device.clone(),
        };
        let mut pages = std::pin::pin!(ctx.client().record_pages(query, bounds.max_pages));
        let mut found = Held {
            held: Vec::new(),
            devices: std::collections::BTreeSet::new(),
        };
        let mut bytes = 0usize;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| walk_error(e, bounds))?;
            listed.unreadable.extend(page.unreadable);
            listed.records += page.items.len();
            for record in page.items {
                if record.module_code != module {
                    self.odd_count += 1;
                    self.odd.get_or_insert(record);
                    continue;
                }
                if !weighed(&record) {
                    if record.status == RecordStatus::Completed {
                        found.devices.insert(record.device_info.device_id.clone());
                    }
                    continue;
                }
                if found.held.len() == bounds.max_records {
                    return Err(CliError::new(
                        Exit::Limit,
                        format!(
                            "{} has more than {} records a rule must weigh (--max-records); \
                             nothing was deleted. Narrow it with --device, or raise --max-records",
                            whose(module, device.as_deref()),
                            bounds.max_records
                        ),
                    ));
                }
                bytes += held_size(&record);
                if bytes > MAX_HELD_BYTES {
                    return Err(too_big(
                        &format!("{}'s records a rule must weigh", whose(module, device.as_deref())),
                        "Narrow it with --device or --module",
                    ));
                }
                found.held.push(record);
            }
        }
        Ok(found)
    }

    /// Says once how many records listed under this module report another one.
    pub(super) fn warn_odd(&self, ctx: &Context) {
        if let Some(record) = &self.odd {
            ctx.out.warn(&format!(
                "{} record(s) listed under module {} report another module (e.g. {} in {}); they \
                 are left alone",
                self.odd_count,
                self.module,
                record.record_id,
                record.module_code.code()
            ));
        }
    }
}

/// "module 102", or "device pixel-8 in module 102".
pub(super) fn whose(module: ModuleCode, device: Option<&str>) -> String {
    match device {
        Some(device) => format!("device {device} in module {module}"),
        None => format!("module {module}"),
    }
}
