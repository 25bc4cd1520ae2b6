//! `cleanup`'s options, and the retention policy they (or the profile) set.

use clap::Args;

use crate::api::ModuleCode;
use crate::cli::exit::CliError;
use crate::cli::record::WalkBounds;
use crate::format::parse_age;
use crate::retention::Retention;

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Module to clean; repeat for several (default: all three)
    #[arg(long, short, value_parser = ModuleCode::from_user_text, add = crate::cli::discover::module_completer())]
    pub module: Vec<ModuleCode>,
    /// Only records of this device: its id, machine code or name (see `device list`)
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
    /// A record still "new" after this long is abandoned (e.g. 24h, 90m, 7d, 1d12h)
    #[arg(long, value_name = "AGE", default_value = "24h", value_parser = parse_age)]
    pub older_than: chrono::Duration,
    /// Do not propose records marked "to be deleted"
    #[arg(long)]
    pub keep_marked: bool,
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Only list the candidates (this is the default)
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Delete the candidates
    #[arg(long)]
    pub yes: bool,
    /// With --yes, queue the candidates instead of deleting them: `koobackup pending apply`
    /// sends each once this long has passed (24h, 7d), if its rule still chooses it and it did
    /// not change. Default: the profile's delete_grace; 0 deletes at once
    #[arg(long, value_name = "DURATION", value_parser = crate::format::parse_grace)]
    pub grace: Option<chrono::Duration>,
    /// Requests in flight at most while deleting; the pace adapts below it
    #[arg(long, value_name = "N", default_value_t = crate::cli::record::DEFAULT_CONCURRENCY,
          value_parser = crate::cli::parse_concurrency)]
    pub concurrency: usize,
    #[command(flatten)]
    pub bounds: WalkBounds,
}

/// Retention rules for completed backups, per device and module (restic's `forget --keep-*`).
/// Without any, the profile's `[profiles.NAME.retention]` applies, if it has one; without
/// that, completed backups are never proposed.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Keep the N newest completed backups of each device
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest completed backup of each of the N newest days with one (UTC)
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest completed backup of each of the N newest ISO weeks with one
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest completed backup of each of the N newest months with one
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep every completed backup made within AGE before the device's newest (e.g. 30d)
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub keep_within: Option<chrono::Duration>,
    /// Let the rules delete even the newest completed backup of a device
    #[arg(long)]
    pub allow_empty: bool,
}

impl RetentionArgs {
    /// The policy to apply: the options', else the profile's; refused when it keeps nothing.
    pub(super) fn policy(&self, profile: Option<Retention>) -> Result<Option<Retention>, CliError> {
        let given = Retention {
            keep_last: self.keep_last,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_within: self.keep_within,
            allow_empty: self.allow_empty,
        };
        let policy = if given.is_set() {
            Some(given)
        } else {
            profile.map(|p| Retention {
                allow_empty: p.allow_empty || self.allow_empty,
                ..p
            })
        };
        if let Some(policy) = policy {
            policy.check().map_err(CliError::usage)?;
        } else if self.allow_empty {
            return Err(CliError::usage(
                "--allow-empty needs retention rules (--keep-last, --keep-daily, --keep-weekly, \
                 --keep-monthly or --keep-within)",
            ));
        }
        Ok(policy)
    }
}
