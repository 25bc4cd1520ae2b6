//! What the operating system tells about processes on this machine, for deciding whether the
//! owner of a lock still runs: Linux's `/proc` (a process's state, parent, group and start time;
//! the PID namespace; the boot), else `kill(2)` with signal 0, which says only whether a pid
//! exists. Reading, never changing: signalling belongs to the callers.

use chrono::{DateTime, Utc};

/// Whether `/proc` describes processes here (Linux); elsewhere the functions below fall back to
/// `kill(2)` or know nothing.
pub fn has_proc() -> bool {
    std::path::Path::new("/proc/self/stat").exists()
}

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces and
/// parentheses, so the count starts after its last `)`): `[0]` state, `[1]` parent, `[2]`
/// process group, `[19]` start time.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    fields_of(&stat)
}

fn fields_of(stat: &str) -> Option<Vec<String>> {
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn is_zombie(state: Option<&String>) -> bool {
    matches!(state.map(String::as_str), Some("Z" | "X"))
}

/// When process `pid` started, in the kernel's clock ticks since boot (Linux).
pub fn start_time(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// The parent of process `pid` (Linux).
pub fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Whether process `pid` is stopped (Ctrl-Z, SIGSTOP); `false` where `/proc` cannot tell.
pub fn is_stopped(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|fields| fields.first().is_some_and(|state| state == "T"))
}

/// Whether process `pid` runs, not as a zombie, and (when `started` is known and `/proc` can
/// tell) is the process that started then rather than a later one given the same pid. Without
/// `/proc`, whether the pid exists at all.
pub fn is_running(pid: u32, started: Option<u64>) -> bool {
    if has_proc() {
        return match stat_fields(pid) {
            None => false,
            Some(fields) => {
                let now = fields.get(19).and_then(|s| s.parse::<u64>().ok());
                let same = match (started, now) {
                    (Some(recorded), Some(now)) => recorded == now,
                    _ => true,
                };
                !is_zombie(fields.first()) && same
            }
        };
    }
    exists(pid.try_into().ok())
}

/// Whether process group `group` has a process that is not a zombie. Where `/proc` is
/// readable, zombies do not count: an orphan that exited stays a zombie until its new parent
/// reaps it, and some init processes (container runtimes) never do. Elsewhere, whether the group
/// can be signalled at all.
pub fn group_alive(group: u32) -> bool {
    let Ok(group) = libc::pid_t::try_from(group) else {
        return false;
    };
    if group <= 1 {
        return false;
    }
    match std::fs::read_dir("/proc") {
        Ok(entries) => entries.flatten().any(|entry| {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                return false;
            };
            fields_of(&stat).is_some_and(|fields| {
                fields.get(2).and_then(|g| g.parse::<libc::pid_t>().ok()) == Some(group)
                    && !is_zombie(fields.first())
            })
        }),
        Err(_) => exists(Some(-group)),
    }
}

/// kill(2) with signal 0: whether `target` (a pid, or a group as its negative) exists; EPERM
/// means it does, owned by someone else.
fn exists(target: Option<libc::pid_t>) -> bool {
    let Some(target) = target.filter(|t| *t != 0 && *t != -1) else {
        return false;
    };
    // SAFETY: signal 0 only asks whether the target exists.
    let found = unsafe { libc::kill(target, 0) } == 0;
    found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The pids this process runs under, parent first, up to init (only the parent without `/proc`).
pub fn ancestors() -> Vec<u32> {
    let mut chain = Vec::new();
    // SAFETY: getppid(2) cannot fail.
    let mut pid = u32::try_from(unsafe { libc::getppid() }).unwrap_or(0);
    while pid > 1 && chain.len() < 64 {
        chain.push(pid);
        pid = parent_of(pid).unwrap_or(0);
    }
    chain
}

/// The PID namespace this process lives in (the inode of `/proc/self/ns/pid`, Linux): pids of
/// another namespace (a container, a sandbox) mean other processes than the same pids here.
pub fn pid_namespace() -> Option<u64> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    namespace_inode(&link.to_string_lossy())
}

/// `pid:[4026531836]` → 4026531836.
fn namespace_inode(link: &str) -> Option<u64> {
    link.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}

/// This boot's id (Linux): after a reboot every pid is someone else's.
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}

/// When this machine booted, by its wall clock (`btime` of `/proc/stat`, Linux).
pub fn boot_time() -> Option<DateTime<Utc>> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    boot_time_of(&stat)
}

fn boot_time_of(stat: &str) -> Option<DateTime<Utc>> {
    let secs = stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    DateTime::from_timestamp(secs, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_from_its_last_parenthesis() {
        let fields = fields_of("4242 (my (odd) prog) T 1 4242 4242 34816 4242 4194560").unwrap();
        assert_eq!(fields[0], "T");
        assert_eq!(fields[2], "4242");
        assert_eq!(fields_of("garbage"), None);
    }

    #[test]
    fn namespaces_and_boot_time_are_read_from_their_text() {
        assert_eq!(namespace_inode("pid:[4026531836]"), Some(4_026_531_836));
        assert_eq!(namespace_inode("net:[1]"), None);
        let stat = "cpu  1 2 3\nintr 5\nbtime 1764900000\nprocesses 9\n";
        assert_eq!(boot_time_of(stat), DateTime::from_timestamp(1_764_900_000, 0));
        assert_eq!(boot_time_of("cpu 1\n"), None);
    }

    #[test]
    fn a_child_runs_until_it_is_reaped_and_its_group_with_it() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(is_running(pid, start_time(pid)));
        assert!(!is_running(pid, start_time(pid).map(|t| t + 1)), "a reused pid");
        assert!(group_alive(pid));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_running(pid, None));
        assert!(!group_alive(pid));
    }

    #[test]
    fn this_machine_is_described_where_proc_tells() {
        if has_proc() {
            assert!(pid_namespace().is_some());
            assert!(boot_time().is_some_and(|booted| booted < Utc::now()));
            // SAFETY: getppid(2) cannot fail.
            let parent = u32::try_from(unsafe { libc::getppid() }).unwrap();
            assert_eq!(ancestors().first(), Some(&parent));
        }
    }
}
