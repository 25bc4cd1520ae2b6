//! Who holds a lock: what it is for, on which host, in which process (pid and the process's
//! start time, so a reused pid is not taken for the owner; its PID namespace and boot, so a
//! container's or another boot's pids are not taken for ours), and since when. Written into
//! every journal entry, and read back to tell a lock of this process from one of a running
//! backup, one kept on purpose, and one whose process is gone (orphaned).
//!
//! Orphaned is said only when this machine can tell: the same host, PID namespace and boot, and
//! neither the owner nor the command it runs (`lock hold`'s process group) is alive. Anything
//! it cannot see into is elsewhere, and never released on its own.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::format::escape;
use crate::process;

/// What a lock was taken for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Purpose {
    /// `lock hold` running COMMAND (its program and arguments, shortened).
    Hold { command: String },
    /// A clean-up: `cleanup --yes`, the app's clean-up, `pending apply`.
    Cleanup,
    /// One operation of the command line or the app (`record delete`, `record complete
    /// --auto-lock`, a delete in the app): released when it ends.
    Operation { what: String },
    /// Held by the app for as long as it runs: created there on purpose, or adopted.
    App {
        #[serde(default)]
        adopted: bool,
    },
    /// Taken on purpose by the user and kept until released (`lock create`, kept when the app
    /// quit, adopted by `lock renew`): bound to no process, and used only where it is named.
    /// `via` says how, in words: "`lock create`".
    Kept { via: String },
    /// A purpose a newer koobackup wrote, kept as written (a journal is shared between versions:
    /// an entry this version does not know must neither stop it nor be rewritten by it).
    #[serde(skip)]
    Unrecognised(serde_json::Value),
}

impl Purpose {
    /// Whether the lock lives and dies with its process: when that process is gone, the lock
    /// is orphaned. A lock kept on purpose outlives the command that made it.
    pub fn is_process_bound(&self) -> bool {
        !matches!(self, Purpose::Kept { .. })
    }

    /// "`lock hold` of `restic backup`", "a clean-up", "the koobackup app": for a terminal, so
    /// what came from a journal file is escaped.
    pub fn describe(&self) -> String {
        match self {
            Purpose::Hold { command } => format!("`lock hold` of `{}`", escape(command)),
            Purpose::Cleanup => "a clean-up".into(),
            Purpose::Operation { what } => format!("`{}`", escape(what)),
            Purpose::App { adopted: false } => "the koobackup app".into(),
            Purpose::App { adopted: true } => "the koobackup app (adopted)".into(),
            Purpose::Kept { via } => format!("you, with {}", escape(via)),
            Purpose::Unrecognised(written) => {
                let kind = written.get("kind").and_then(|k| k.as_str()).unwrap_or("?");
                format!("an operation of a newer koobackup (`{}`)", escape(kind))
            }
        }
    }
}

/// A [`Purpose`] as the journal holds it: a kind this version does not know is read as
/// [`Purpose::Unrecognised`] and written back exactly.
mod purpose_as_written {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Purpose;

    pub fn serialize<S: Serializer>(purpose: &Purpose, serializer: S) -> Result<S::Ok, S::Error> {
        match purpose {
            Purpose::Unrecognised(written) => written.serialize(serializer),
            known => known.serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Purpose, D::Error> {
        let written = serde_json::Value::deserialize(deserializer)?;
        Ok(Purpose::deserialize(&written).unwrap_or(Purpose::Unrecognised(written)))
    }
}

/// The owner of a journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    #[serde(with = "purpose_as_written")]
    pub purpose: Purpose,
    pub host: String,
    pub pid: u32,
    /// When the process started, in the kernel's clock ticks since boot (Linux); absent where
    /// it cannot be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_start: Option<u64>,
    /// The boot the process belongs to (Linux): after a reboot every pid is someone else's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// The PID namespace of the process (Linux): a container's pid 1 is not the host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_namespace: Option<u64>,
    /// The process group of the command a `lock hold` runs: while it lives the lock is in use,
    /// even when the hold itself was killed (its watchdog ends the command at the lock's expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_group: Option<u32>,
    /// The process group of a `lock hold`'s watchdog (its pid), written before COMMAND starts:
    /// while it lives, COMMAND may still run (the watchdog ends it at the lock's expiry, or after
    /// the grace once the hold is gone), so the lock is in use even before `command_group` is
    /// known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watchdog: Option<u32>,
    pub since: DateTime<Utc>,
}

/// Where an owner stands, seen from this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// This very process.
    Mine,
    /// A process this one runs under (COMMAND of a `lock hold`, using the hold's lock).
    Ancestor,
    /// Another process on this machine, still running.
    Running,
    /// Its process is gone (or its pid now belongs to another process), and so is the command
    /// it ran: nobody renews or releases the lock, which may be released by whoever needs the
    /// module.
    Orphaned,
    /// A process on another host, in another PID namespace (a container) or another machine's
    /// boot: whether it still runs cannot be told from here.
    Elsewhere,
    /// Kept on purpose by the user, bound to no process.
    Kept,
    /// Written by an older koobackup, which recorded no owner.
    Unknown,
}

impl Standing {
    /// The standing of an entry with `owner` (none for entries older koobackups wrote).
    pub fn of(owner: Option<&Owner>) -> Standing {
        let Some(owner) = owner else {
            return Standing::Unknown;
        };
        if !owner.purpose.is_process_bound() {
            return Standing::Kept;
        }
        let here = Machine::current();
        if owner.host != here.host {
            return Standing::Elsewhere;
        }
        if let (Some(theirs), Some(ours)) = (owner.pid_namespace, here.pid_namespace)
            && theirs != ours
        {
            return Standing::Elsewhere;
        }
        if let (Some(theirs), Some(ours)) = (&owner.boot_id, &here.boot_id)
            && theirs != ours
        {
            // An earlier boot of this machine when the entry is older than this boot (all its
            // processes are gone); otherwise another machine of the same name sharing the
            // journal (a shared home directory).
            return match here.booted_at {
                Some(booted) if owner.since < booted => Standing::Orphaned,
                _ => Standing::Elsewhere,
            };
        }
        if owner.pid == std::process::id() && process::is_running(owner.pid, owner.process_start) {
            return Standing::Mine;
        }
        if !process::is_running(owner.pid, owner.process_start) {
            let guarded = [owner.command_group, owner.watchdog]
                .into_iter()
                .flatten()
                .any(process::group_alive);
            return if guarded {
                Standing::Running
            } else {
                Standing::Orphaned
            };
        }
        if process::ancestors().contains(&owner.pid) {
            Standing::Ancestor
        } else {
            Standing::Running
        }
    }

    /// Whether this process may use the lock without it being named: only its own.
    pub fn is_mine(self) -> bool {
        self == Standing::Mine
    }

    /// A stable name for scripts (`--json`).
    pub fn code(self) -> &'static str {
        match self {
            Standing::Mine => "this-process",
            Standing::Ancestor => "parent-process",
            Standing::Running => "running",
            Standing::Orphaned => "orphaned",
            Standing::Elsewhere => "another-host",
            Standing::Kept => "kept",
            Standing::Unknown => "unknown",
        }
    }

    /// A few words for tables: "this process", "running", "orphaned"…
    pub fn label(self) -> &'static str {
        match self {
            Standing::Mine => "this process",
            Standing::Ancestor => "running (parent)",
            Standing::Running => "running",
            Standing::Orphaned => "orphaned",
            Standing::Elsewhere => "another host",
            Standing::Kept => "kept",
            Standing::Unknown => "owner unknown",
        }
    }
}

impl Owner {
    /// This process, taking a lock for `purpose` now.
    pub fn this_process(purpose: Purpose) -> Owner {
        let here = Machine::current();
        let pid = std::process::id();
        Owner {
            purpose,
            host: here.host.clone(),
            pid,
            process_start: process::start_time(pid),
            boot_id: here.boot_id.clone(),
            pid_namespace: here.pid_namespace,
            command_group: None,
            watchdog: None,
            since: Utc::now(),
        }
    }

    /// The same owner, now for `purpose` (a lock the app kept when it quit).
    pub fn with_purpose(&self, purpose: Purpose) -> Owner {
        Owner {
            purpose,
            ..self.clone()
        }
    }

    /// "`lock hold` of `restic backup` on web-01, pid 4711, since 02:10".
    pub fn describe(&self) -> String {
        let since = crate::format::local_time(self.since);
        let host = escape(&self.host);
        if self.purpose.is_process_bound() {
            format!(
                "{} on {host}, pid {}, since {since}",
                self.purpose.describe(),
                self.pid
            )
        } else {
            format!(
                "{} on {host}, since {since} (kept until released)",
                self.purpose.describe()
            )
        }
    }
}

/// A holder of a lock as people read it, with what can be done about it: "held by `lock hold`
/// of `restic backup` on web-01, pid 4711, since 02:10".
pub fn describe_holder(owner: Option<&Owner>, standing: Standing) -> String {
    match (owner, standing) {
        (None, _) => "held by a koobackup that did not record its owner (an older version)".into(),
        (Some(owner), Standing::Orphaned) => {
            format!("held by {} — orphaned: that process is gone", owner.describe())
        }
        (Some(owner), Standing::Mine) => format!("held by this process ({})", owner.purpose.describe()),
        (Some(owner), _) => format!("held by {}", owner.describe()),
    }
}

/// This machine, as owners name it.
#[derive(Debug, Clone)]
pub struct Machine {
    pub host: String,
    pub boot_id: Option<String>,
    pub booted_at: Option<DateTime<Utc>>,
    pub pid_namespace: Option<u64>,
}

impl Machine {
    pub fn current() -> &'static Machine {
        static MACHINE: OnceLock<Machine> = OnceLock::new();
        MACHINE.get_or_init(|| Machine {
            host: host_name(),
            boot_id: process::boot_id(),
            booted_at: process::boot_time(),
            pid_namespace: process::pid_namespace(),
        })
    }
}

/// The host name, or "localhost" when it cannot be read.
pub fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname(2) writes at most `len` bytes into the buffer we own.
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    let name = String::from_utf8_lossy(&buffer[..end]).trim().to_string();
    if ok && !name.is_empty() {
        name
    } else {
        "localhost".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(purpose: Purpose) -> Owner {
        Owner::this_process(purpose)
    }

    #[test]
    fn this_process_is_mine_and_names_its_purpose() {
        let me = owner(Purpose::Cleanup);
        assert_eq!(Standing::of(Some(&me)), Standing::Mine);
        assert!(me.describe().starts_with("a clean-up on "), "{}", me.describe());
        assert!(me.describe().contains(&format!("pid {}", std::process::id())));
    }

    #[test]
    fn a_kept_lock_is_bound_to_no_process() {
        let mut kept = owner(Purpose::Kept {
            via: "lock create".into(),
        });
        kept.pid = u32::MAX;
        assert_eq!(Standing::of(Some(&kept)), Standing::Kept);
        assert_eq!(Standing::of(None), Standing::Unknown);
    }

    #[test]
    fn a_gone_or_reused_pid_is_orphaned() {
        let mut gone = owner(Purpose::Hold {
            command: "sleep 1".into(),
        });
        gone.pid = u32::MAX - 1;
        assert_eq!(Standing::of(Some(&gone)), Standing::Orphaned);
        let mut reused = owner(Purpose::Cleanup);
        if let Some(start) = reused.process_start.as_mut() {
            *start += 1;
            assert_eq!(Standing::of(Some(&reused)), Standing::Orphaned);
        }
        let mut rebooted = owner(Purpose::Cleanup);
        if rebooted.boot_id.is_some() {
            rebooted.boot_id = Some("another-boot".into());
            rebooted.since = Utc::now() - chrono::Duration::days(3650);
            assert_eq!(Standing::of(Some(&rebooted)), Standing::Orphaned);
        }
    }

    #[test]
    fn what_this_machine_cannot_see_into_is_elsewhere_never_orphaned() {
        // Another boot id on an entry newer than this boot: another machine of the same name
        // (a shared home directory), not this machine before a reboot.
        let mut twin = owner(Purpose::Cleanup);
        if twin.boot_id.is_some() {
            twin.boot_id = Some("another-machine".into());
            twin.pid = u32::MAX - 1;
            assert_eq!(Standing::of(Some(&twin)), Standing::Elsewhere);
        }
        // Another PID namespace (a container sharing the host name): its pid 1 is not ours.
        let mut contained = owner(Purpose::Hold {
            command: "backup".into(),
        });
        if let Some(ours) = contained.pid_namespace {
            contained.pid_namespace = Some(ours + 1);
            contained.pid = 1;
            contained.process_start = Some(0);
            assert_eq!(Standing::of(Some(&contained)), Standing::Elsewhere);
        }
    }

    /// A dead hold's lock, with a live process group named by `name` (its command's or its
    /// watchdog's): running while the group lives, orphaned once it is gone.
    fn running_while_its_group_lives(name: impl Fn(&mut Owner, u32)) {
        use std::os::unix::process::CommandExt;
        let mut group = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let mut hold = owner(Purpose::Hold {
            command: "sleep 30".into(),
        });
        hold.pid = u32::MAX - 1;
        name(&mut hold, group.id());
        assert_eq!(Standing::of(Some(&hold)), Standing::Running);
        group.kill().unwrap();
        group.wait().unwrap();
        assert_eq!(Standing::of(Some(&hold)), Standing::Orphaned);
    }

    #[test]
    fn a_killed_hold_whose_command_still_runs_is_running() {
        running_while_its_group_lives(|hold, group| hold.command_group = Some(group));
    }

    #[test]
    fn a_killed_hold_whose_watchdog_still_runs_is_running_before_its_command_is_known() {
        // Killed after its watchdog was journalled, before COMMAND's group was: the watchdog
        // may still have COMMAND to stop, so the lock is in use until it is gone.
        running_while_its_group_lives(|hold, watchdog| hold.watchdog = Some(watchdog));
    }

    #[test]
    fn another_running_process_and_another_host() {
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let mut running = owner(Purpose::Cleanup);
        running.pid = child.id();
        running.process_start = process::start_time(child.id());
        assert_eq!(Standing::of(Some(&running)), Standing::Running);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(Standing::of(Some(&running)), Standing::Orphaned);

        let mut remote = owner(Purpose::Cleanup);
        remote.host = format!("{}-elsewhere", remote.host);
        assert_eq!(Standing::of(Some(&remote)), Standing::Elsewhere);
    }

    #[test]
    fn the_parent_process_is_an_ancestor() {
        // SAFETY: getppid(2) cannot fail.
        let parent = u32::try_from(unsafe { libc::getppid() }).unwrap();
        let mut hold = owner(Purpose::Hold {
            command: "backup".into(),
        });
        hold.pid = parent;
        hold.process_start = process::start_time(parent);
        assert_eq!(Standing::of(Some(&hold)), Standing::Ancestor);
    }

    #[test]
    fn old_entries_and_new_fields_read_back() {
        let json = r#"{"purpose":{"kind":"hold","command":"restic backup"},"host":"web-01","pid":4711,"since":"2026-12-05T02:10:00Z"}"#;
        let read: Owner = serde_json::from_str(json).unwrap();
        assert_eq!(read.process_start, None);
        assert_eq!(
            read.purpose,
            Purpose::Hold {
                command: "restic backup".into()
            }
        );
        let text = describe_holder(Some(&read), Standing::Elsewhere);
        assert!(
            text.starts_with("held by `lock hold` of `restic backup` on web-01, pid 4711, since 2026-12-05"),
            "{text}"
        );
        let app: Purpose = serde_json::from_str(r#"{"kind":"app"}"#).unwrap();
        assert_eq!(app, Purpose::App { adopted: false });
    }

    #[test]
    fn a_purpose_of_a_newer_version_is_read_and_written_back_as_it_was() {
        let json = r#"{"purpose":{"kind":"pending-apply","batch":7},"host":"web-01","pid":4711,"since":"2026-12-05T02:10:00Z"}"#;
        let read: Owner = serde_json::from_str(json).unwrap();
        assert!(matches!(read.purpose, Purpose::Unrecognised(_)));
        assert!(read.purpose.is_process_bound(), "judged by its process");
        assert!(
            read.purpose
                .describe()
                .contains("newer koobackup (`pending-apply`)"),
            "{}",
            read.purpose.describe()
        );
        let written = serde_json::to_value(&read).unwrap();
        assert_eq!(
            written["purpose"],
            serde_json::json!({"kind": "pending-apply", "batch": 7})
        );
        let known = serde_json::to_value(Owner::this_process(Purpose::Cleanup)).unwrap();
        assert_eq!(known["purpose"], serde_json::json!({"kind": "cleanup"}));
    }
}
