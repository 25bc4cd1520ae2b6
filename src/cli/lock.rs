//! `koobackup lock create|renew|release|list|hold`. Every change is written to the journal, since
//! KooDrive cannot list the locks a user holds.

use chrono::Utc;

use super::exit::{CliError, Exit};
use super::output::{Failed, LockJson, Output};
use super::{Context, LockCommand, LockIds, hold};
use crate::api::LockInfo;
use crate::connect::{self, ConnectOptions};
use crate::format;
use crate::journal::HeldLock;
use crate::lease::{Owner, Purpose, Standing, describe_holder};

pub(crate) async fn run(ctx: &mut Context, command: LockCommand) -> Result<u8, CliError> {
    match command {
        LockCommand::Create {
            module,
            auto_renew,
            wait,
        } => {
            let purpose = Purpose::Kept {
                via: "`lock create`".into(),
            };
            let lock = ctx.create_lock(module, purpose, wait).await?.lock;
            if auto_renew {
                ctx.remember_renewal(&lock, true)?;
            }
            report_lock(ctx.out, "created", &lock, auto_renew)?;
            ctx.out.note(&format!(
                "note: commands use it where it is named: --lock {0}, or export \
                 KOOBACKUP_LOCK_ID={0}; release it with `koobackup lock release {0}`",
                format::escape(&lock.lock_id)
            ));
        }
        LockCommand::Renew(ids) => renew(ctx, ids).await?,
        LockCommand::Release(ids) => release(ctx, ids).await?,
        LockCommand::Hold {
            module,
            grace,
            wait,
            ping,
            ping_timeout,
            command,
        } => {
            let ping = ping
                .map(|url| crate::api::ping::Pinger::new(&url, ping_timeout))
                .transpose()
                .map_err(CliError::usage)?;
            return hold::run(
                ctx,
                hold::Hold {
                    module,
                    command,
                    grace,
                    wait,
                    ping,
                },
            )
            .await;
        }
        LockCommand::List => list_held(&ctx.held_locks()?, &ctx.connection.label, ctx.out)?,
    }
    Ok(Exit::Ok.code())
}

/// `lock list` without connecting: the journal needs only the server identity and user id.
pub(crate) fn list(options: &ConnectOptions, out: Output) -> Result<u8, CliError> {
    let target = connect::resolve(options)?;
    let journal = super::load_journal()?;
    let held: Vec<HeldLock> = journal
        .locks_for(&target.journal_key(), target.user_id())
        .into_iter()
        .cloned()
        .collect();
    let label = match &target {
        connect::Target::Remote(settings) => settings.label(),
        connect::Target::EmbeddedDemo(_) => "embedded demo server".to_string(),
    };
    list_held(&held, &label, out)?;
    Ok(Exit::Ok.code())
}

fn list_held(held: &[HeldLock], label: &str, out: Output) -> Result<(), CliError> {
    let now = Utc::now();
    if out.quiet && out.human() {
        return held.iter().try_for_each(|h| out.value(&h.lock.lock_id));
    }
    let locks: Vec<LockJson> = held.iter().map(|h| LockJson::held(h, now)).collect();
    let empty = format!("no locks held on {label} (per the lock journal)");
    out.list(&locks, &empty, || {
        let rows: Vec<Vec<String>> = held
            .iter()
            .map(|h| {
                let here = h.lock_here(None);
                vec![
                    h.lock.lock_id.clone(),
                    format::module_label(h.lock.module),
                    format::local_time(here.expires_at),
                    format::time_left(&here, now),
                    if h.auto_renew { "yes" } else { "no" }.to_string(),
                    owner_cell(h),
                ]
            })
            .collect();
        out.table(
            &["LOCK ID", "MODULE", "EXPIRES", "LEFT", "AUTO-RENEW", "OWNER"],
            &rows,
        )
    })
}

/// Who holds a journalled lock, in a table cell: "orphaned: a clean-up on web-01, pid 7, …".
fn owner_cell(held: &HeldLock) -> String {
    let standing = held.standing();
    match &held.owner {
        None => standing.label().to_string(),
        Some(owner) if standing == Standing::Orphaned => format!("orphaned: {}", owner.describe()),
        Some(owner) => owner.describe(),
    }
}

/// A lock a renew or release applies to, and whether the journal had it when it was chosen.
struct Selected {
    held: HeldLock,
    journalled: bool,
}

/// What is done to the selected locks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    Renew,
    Release,
}

/// The locks a renew or release applies to. An id the journal does not know is still accepted
/// (the lock may come from another tool); its module is read from the id. A named lock another
/// running operation holds is acted on, with a warning.
fn selected_locks(ctx: &mut Context, ids: LockIds, act: Act) -> Result<Vec<Selected>, CliError> {
    if ids.all {
        let held = ctx.held_locks()?;
        if held.is_empty() {
            ctx.out.note(&format!(
                "no locks held on {} (per the lock journal)",
                ctx.connection.label
            ));
        }
        // `--all` means your locks: those of operations still running (a `lock hold` backup, a
        // clean-up, the app) stay theirs, unless named one by one.
        let (running, yours): (Vec<HeldLock>, Vec<HeldLock>) = held.into_iter().partition(|h| {
            matches!(
                h.standing(),
                Standing::Running | Standing::Ancestor | Standing::Elsewhere
            )
        });
        for held in running {
            ctx.out.warn(&format!(
                "skipped lock {}, {}: name it to act on it anyway",
                format::escape(&held.lock.lock_id),
                describe_holder(held.owner.as_ref(), held.standing())
            ));
        }
        // Renewing an orphan would keep its module blocked for nobody.
        let (orphans, yours): (Vec<HeldLock>, Vec<HeldLock>) = yours
            .into_iter()
            .partition(|h| act == Act::Renew && h.standing() == Standing::Orphaned);
        for held in orphans {
            ctx.out.warn(&format!(
                "skipped lock {}, {}: renewing it would keep module {} blocked; release it with \
                 `koobackup lock release {}`",
                format::escape(&held.lock.lock_id),
                describe_holder(held.owner.as_ref(), Standing::Orphaned),
                held.lock.module,
                format::escape(&held.lock.lock_id)
            ));
        }
        return Ok(yours
            .into_iter()
            .map(|held| Selected {
                held,
                journalled: true,
            })
            .collect());
    }
    let doing = match act {
        Act::Renew => "renewing it because it was named",
        Act::Release => "releasing it because it was named: that operation is no longer protected",
    };
    super::unique(ids.ids)
        .into_iter()
        .map(|id| match ctx.journal()?.get(&id).cloned() {
            Some(held) => {
                ctx.check_named_lock(&id, doing);
                Ok(Selected {
                    held,
                    journalled: true,
                })
            }
            None => {
                let module = LockInfo::module_of_id(&id).ok_or_else(|| {
                    CliError::usage(format!(
                        "{id:?} is not in the lock journal and does not look like a lock id \
                         (<uuid>@<module>); see `koobackup lock list`"
                    ))
                })?;
                // Unknown expiry: "now" makes the renewed expiry count from the renewal.
                let lock = LockInfo {
                    lock_id: id,
                    module,
                    expires_at: Utc::now(),
                };
                let held = HeldLock::new(lock, ctx.connection.journal_key(), ctx.client().user_id());
                Ok(Selected {
                    held,
                    journalled: false,
                })
            }
        })
        .collect()
}

async fn renew(ctx: &mut Context, ids: LockIds) -> Result<(), CliError> {
    let mut failed = Vec::new();
    let mut renewed = Vec::new();
    for Selected { held, journalled } in selected_locks(ctx, ids, Act::Renew)? {
        match ctx.client().renew_lock(&held.lock).await {
            Ok(lock) => {
                // A journalled lock is only updated (another koobackup may have released it
                // meanwhile, and it must stay released); a lock from elsewhere is adopted.
                if journalled {
                    if !ctx.remember_renewal(&lock, held.auto_renew)? {
                        ctx.out.warn(&format!(
                            "renewed {}, but another koobackup removed it from the journal \
                             meanwhile (released it?); it is not journalled again",
                            lock.lock_id
                        ));
                    }
                } else {
                    let owner = Owner::this_process(Purpose::Kept {
                        via: "`lock renew`, adopted".into(),
                    });
                    ctx.remember(&lock, held.auto_renew, owner)?;
                }
                if ctx.out.human() && !ctx.out.quiet {
                    report_lock(ctx.out, "renewed", &lock, held.auto_renew)?;
                }
                renewed.push((lock, held.auto_renew));
            }
            Err(error) => {
                let error = CliError::from(error).about("cannot renew lock", &held.lock.lock_id);
                // Gone for good (released, or expired beyond renewal): stop remembering it.
                if matches!(error.api_code_number(), Some(404_002 | 409_002)) {
                    ctx.forget(&held.lock.lock_id)?;
                }
                ctx.out.error(&error);
                failed.push(Failed::new(&held.lock.lock_id, &error));
            }
        }
    }
    if ctx.out.is_json() {
        let now = Utc::now();
        let locks: Vec<LockJson> = renewed
            .iter()
            .map(|(lock, auto)| LockJson::new(lock, *auto, now))
            .collect();
        ctx.out
            .json(&serde_json::json!({ "ok": locks, "failed": failed }))?;
    }
    first_failure(failed)
}

async fn release(ctx: &mut Context, ids: LockIds) -> Result<(), CliError> {
    let mut failed = Vec::new();
    let mut released = Vec::new();
    for Selected { held, .. } in selected_locks(ctx, ids, Act::Release)? {
        let id = held.lock.lock_id;
        match ctx.release_lock(&id).await {
            Ok(done) => {
                if let Some(error) = &done.journal {
                    ctx.out.warn(&format!(
                        "{id} was released on the server, but it could not be removed from the lock \
                         journal ({}); `lock list` may show it until the journal can be written",
                        error.message
                    ));
                }
                ctx.out.say(&format!("released {id}"))?;
                released.push(id);
            }
            Err(error) => {
                let error = error.about("cannot release lock", &id);
                ctx.out.error(&error);
                failed.push(Failed::new(&id, &error));
            }
        }
    }
    if ctx.out.is_json() {
        ctx.out
            .json(&serde_json::json!({ "ok": released, "failed": failed }))?;
    }
    first_failure(failed)
}

/// The first failure, already reported: it only sets the exit code.
fn first_failure(failed: Vec<Failed>) -> Result<(), CliError> {
    failed.into_iter().next().map_or(Ok(()), |failed| {
        Err(CliError {
            silent: true,
            ..failed.cause
        })
    })
}

/// Prints a created or renewed lock: a sentence, the id alone with `--quiet`, or JSON.
fn report_lock(out: Output, verb: &str, lock: &LockInfo, auto_renew: bool) -> Result<(), CliError> {
    let now = Utc::now();
    if out.is_json() {
        return out.json(&LockJson::new(lock, auto_renew, now));
    }
    if out.quiet {
        return out.value(&lock.lock_id);
    }
    out.sentence(&format!(
        "{verb} lock {} for module {}; expires at {} ({} left)",
        lock.lock_id,
        lock.module,
        format::local_time(lock.expires_at),
        format::time_left(lock, now)
    ))
}
