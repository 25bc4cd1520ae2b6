//! `[profiles.NAME.hooks]`: commands run when something an operator must hear of happens —
//! `lock-lost` (a `lock hold` lost its lock while COMMAND ran), `hold-failed` (a `lock hold` ended
//! with any exit but 0), `cleanup-done` (a clean-up deleted what it was asked to, or tried),
//! `status-critical` (`status` found a backup stale).
//!
//! A hook is a shell command (`sh -c`), given the event as one JSON document on its standard
//! input and, for shell scripts, the event's name in `KOOBACKUP_EVENT` and each top-level field in
//! `KOOBACKUP_EVENT_<FIELD>` (`userId` → `KOOBACKUP_EVENT_USER_ID`). It runs in a process group
//! of its own and is killed with it after its time limit (`timeout_secs`, default 30). What it
//! prints goes to the log (`--log-file`), never to koobackup's output; a hook that fails or
//! times out is a warning and never changes what the command does or its exit code.
//!
//! Never a secret: the event is built here from ids, names, times and counts, and the hook's
//! environment loses the variables credentials are read from (`KOOBACKUP_TOKEN`,
//! `KOOBACKUP_APP_SECRET`, and a profile's `token = { env = … }`).

use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// How long a hook may run unless `timeout_secs` says otherwise.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(30);

/// What of a hook's output is kept for the log (per stream).
const MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// How long a hook's output is read after it ended (a process it left in the background may
/// hold the pipes open).
const OUTPUT_AFTER_EXIT: Duration = Duration::from_secs(1);

/// The events a hook can be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent {
    LockLost,
    HoldFailed,
    CleanupDone,
    StatusCritical,
}

impl HookEvent {
    pub const ALL: [HookEvent; 4] = [
        HookEvent::LockLost,
        HookEvent::HoldFailed,
        HookEvent::CleanupDone,
        HookEvent::StatusCritical,
    ];

    /// `lock-lost`, `hold-failed`, `cleanup-done`, `status-critical`.
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::LockLost => "lock-lost",
            HookEvent::HoldFailed => "hold-failed",
            HookEvent::CleanupDone => "cleanup-done",
            HookEvent::StatusCritical => "status-critical",
        }
    }
}

/// `[profiles.NAME.hooks]` as written in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    #[serde(rename = "lock-lost", default, skip_serializing_if = "Option::is_none")]
    pub lock_lost: Option<String>,
    #[serde(rename = "hold-failed", default, skip_serializing_if = "Option::is_none")]
    pub hold_failed: Option<String>,
    #[serde(rename = "cleanup-done", default, skip_serializing_if = "Option::is_none")]
    pub cleanup_done: Option<String>,
    #[serde(rename = "status-critical", default, skip_serializing_if = "Option::is_none")]
    pub status_critical: Option<String>,
    /// Seconds a hook may run before it is killed (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

impl Hooks {
    /// The command for `event`, if one is set.
    pub fn command(&self, event: HookEvent) -> Option<&str> {
        match event {
            HookEvent::LockLost => self.lock_lost.as_deref(),
            HookEvent::HoldFailed => self.hold_failed.as_deref(),
            HookEvent::CleanupDone => self.cleanup_done.as_deref(),
            HookEvent::StatusCritical => self.status_critical.as_deref(),
        }
    }

    /// The events that have a command.
    pub fn configured(&self) -> Vec<HookEvent> {
        HookEvent::ALL
            .into_iter()
            .filter(|event| self.command(*event).is_some())
            .collect()
    }

    pub fn time_limit(&self) -> Duration {
        self.timeout_secs.map_or(DEFAULT_TIME_LIMIT, Duration::from_secs)
    }

    /// Refuses an empty command and a time limit of 0 or over an hour.
    pub fn validate(&self) -> Result<(), String> {
        for event in HookEvent::ALL {
            if self.command(event).is_some_and(|c| c.trim().is_empty()) {
                return Err(format!("hooks.{} is empty", event.name()));
            }
        }
        if self.timeout_secs.is_some_and(|secs| !(1..=3600).contains(&secs)) {
            return Err("hooks.timeout_secs must be between 1 and 3600".into());
        }
        Ok(())
    }
}

/// Where an event happened: said in every event.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The connection's name: `profile NAME`, `command line (URL)`.
    pub connection: String,
    /// The server's base URL (it never holds credentials: the config refuses them).
    pub server: String,
    pub user_id: String,
    /// Environment variables a credential is read from, kept from the hook.
    pub secret_vars: Vec<String>,
}

/// How a hook ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    /// Killed by this signal (not by us).
    Signalled(i32),
    /// Killed at its time limit.
    TimedOut(Duration),
    NotStarted(String),
}

impl Ending {
    pub fn succeeded(&self) -> bool {
        *self == Ending::Exited(0)
    }

    /// `exit 3`, `killed by signal 9`, `stopped after 30 s`, `not started: …`.
    pub fn describe(&self) -> String {
        match self {
            Ending::Exited(code) => format!("exit {code}"),
            Ending::Signalled(signal) => format!("killed by signal {signal}"),
            Ending::TimedOut(limit) => format!(
                "stopped after its time limit of {} s",
                crate::format::seconds(*limit)
            ),
            Ending::NotStarted(why) => format!("not started: {why}"),
        }
    }
}

/// The event document: `event`, `time`, `host`, `connection`, `server`, `userId`, then `details`
/// (a JSON object; anything else is put under `details`).
pub fn document(event: HookEvent, origin: &Origin, details: Value) -> Value {
    let mut doc = Map::new();
    doc.insert("event".into(), event.name().into());
    doc.insert("time".into(), Utc::now().to_rfc3339().into());
    doc.insert(
        "host".into(),
        crate::lease::owner::Machine::current().host.clone().into(),
    );
    doc.insert("connection".into(), origin.connection.clone().into());
    doc.insert("server".into(), origin.server.clone().into());
    doc.insert("userId".into(), origin.user_id.clone().into());
    match details {
        Value::Object(fields) => doc.extend(fields),
        Value::Null => {}
        other => {
            doc.insert("details".into(), other);
        }
    }
    Value::Object(doc)
}

/// The environment a hook gets for `doc`: `KOOBACKUP_EVENT` and `KOOBACKUP_EVENT_<FIELD>` for
/// each top-level string, number or boolean (NUL bytes, which no variable can hold, dropped).
pub fn environment(doc: &Value) -> Vec<(String, String)> {
    let Value::Object(fields) = doc else {
        return Vec::new();
    };
    let mut vars = Vec::new();
    for (name, value) in fields {
        let text = match value {
            Value::String(text) => text.replace('\0', ""),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => continue,
        };
        if name == "event" {
            vars.push(("KOOBACKUP_EVENT".to_string(), text));
        } else {
            vars.push((format!("KOOBACKUP_EVENT_{}", screaming_snake(name)), text));
        }
    }
    vars
}

/// `userId` → `USER_ID`, `lock-id` → `LOCK_ID`.
fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push('_');
        }
    }
    out
}

/// Runs the hook of `event`, if there is one, to its end or its time limit; `None` when no hook
/// is set. Its output goes to the log; how it ended is returned (the caller warns on failure).
pub async fn fire(hooks: &Hooks, event: HookEvent, origin: &Origin, details: Value) -> Option<Ending> {
    let command = hooks.command(event)?;
    let doc = document(event, origin, details);
    let limit = hooks.time_limit();
    let (ending, stdout, stderr) = run(command, &doc, origin, limit).await;
    tracing::info!(
        event = event.name(),
        ending = %ending.describe(),
        stdout = %crate::format::escape(&stdout),
        stderr = %crate::format::escape(&stderr),
        "hook"
    );
    Some(ending)
}

/// A warning for a hook that did not succeed, naming where its output went.
pub fn warning(event: HookEvent, ending: &Ending) -> Option<String> {
    (!ending.succeeded()).then(|| {
        format!(
            "the {} hook did not succeed ({}); its output is in the log (--log-file)",
            event.name(),
            ending.describe()
        )
    })
}

async fn run(command: &str, doc: &Value, origin: &Origin, limit: Duration) -> (Ending, String, String) {
    let mut builder = tokio::process::Command::new("sh");
    builder
        .arg("-c")
        .arg(command)
        .envs(environment(doc))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group: the time limit stops what it started too.
        .process_group(0)
        .kill_on_drop(true);
    for var in ["KOOBACKUP_TOKEN", "KOOBACKUP_APP_SECRET"]
        .into_iter()
        .chain(origin.secret_vars.iter().map(String::as_str))
    {
        builder.env_remove(var);
    }
    let mut child = match builder.spawn() {
        Ok(child) => child,
        Err(e) => return (Ending::NotStarted(e.to_string()), String::new(), String::new()),
    };
    let group = child.id().and_then(|id| libc::pid_t::try_from(id).ok());
    // Written aside: a hook that does not read its input must not block us.
    if let Some(mut stdin) = child.stdin.take() {
        let text = doc.to_string();
        tokio::spawn(async move {
            let _ = stdin.write_all(text.as_bytes()).await;
        });
    }
    let stdout = tokio::spawn(read_capped(child.stdout.take()));
    let stderr = tokio::spawn(read_capped(child.stderr.take()));
    let ending = match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(status)) => {
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(code), _) => Ending::Exited(code),
                (None, Some(signal)) => Ending::Signalled(signal),
                (None, None) => Ending::Exited(-1),
            }
        }
        Ok(Err(e)) => Ending::NotStarted(e.to_string()),
        Err(_) => {
            if let Some(group) = group {
                // SAFETY: kill(2) on the process group our own unreaped child leads.
                unsafe {
                    libc::kill(-group, libc::SIGKILL);
                }
            }
            let _ = child.kill().await;
            Ending::TimedOut(limit)
        }
    };
    let collect = async |task: tokio::task::JoinHandle<String>| {
        tokio::time::timeout(OUTPUT_AFTER_EXIT, task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    let (stdout, stderr) = (collect(stdout).await, collect(stderr).await);
    (ending, stdout, stderr)
}

/// Everything `stream` gives until its end, the first [`MAX_OUTPUT_BYTES`] of it kept (the rest
/// read and dropped, so a chatty hook never blocks on a full pipe).
async fn read_capped(stream: Option<impl AsyncRead + Unpin>) -> String {
    let Some(mut stream) = stream else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        let room = MAX_OUTPUT_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&buffer[..n.min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            connection: "profile prod".into(),
            server: "https://drive.example".into(),
            user_id: "alice".into(),
            secret_vars: vec!["MY_SECRET".into()],
        }
    }

    #[test]
    fn the_event_is_a_document_and_flat_variables() {
        let doc = document(
            HookEvent::LockLost,
            &origin(),
            serde_json::json!({"lockId": "a@102", "moduleCode": "102", "exitCode": 4, "held": false, "list": [1]}),
        );
        assert_eq!(doc["event"], "lock-lost");
        assert_eq!(doc["userId"], "alice");
        let vars = environment(&doc);
        let get = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("KOOBACKUP_EVENT"), Some("lock-lost"));
        assert_eq!(get("KOOBACKUP_EVENT_LOCK_ID"), Some("a@102"));
        assert_eq!(get("KOOBACKUP_EVENT_USER_ID"), Some("alice"));
        assert_eq!(get("KOOBACKUP_EVENT_EXIT_CODE"), Some("4"));
        assert_eq!(get("KOOBACKUP_EVENT_HELD"), Some("false"));
        assert_eq!(get("KOOBACKUP_EVENT_LIST"), None);
    }

    #[test]
    fn empty_commands_and_absurd_limits_are_refused() {
        let hooks: Hooks = toml::from_str("lock-lost = \" \"").unwrap();
        assert!(hooks.validate().unwrap_err().contains("hooks.lock-lost"));
        let hooks: Hooks = toml::from_str("timeout_secs = 0").unwrap();
        assert!(hooks.validate().is_err());
        assert!(
            toml::from_str::<Hooks>("lock_lost = \"x\"").is_err(),
            "event names are kebab-case"
        );
        let hooks: Hooks = toml::from_str("status-critical = \"page\"\ncleanup-done = \"log\"").unwrap();
        assert_eq!(
            hooks.configured(),
            [HookEvent::CleanupDone, HookEvent::StatusCritical]
        );
    }

    #[tokio::test]
    async fn a_hook_reads_the_event_and_never_sees_a_secret() {
        // HOME stands for a variable a credential is read from: set, and kept from the hook.
        assert!(std::env::var_os("HOME").is_some());
        let origin = Origin {
            secret_vars: vec!["HOME".into()],
            ..origin()
        };
        let hooks = Hooks {
            lock_lost: Some(
                "read -r line; echo \"$KOOBACKUP_EVENT $KOOBACKUP_EVENT_USER_ID ${HOME:-none}\"; \
                 echo \"$line\" >&2; exit 3"
                    .into(),
            ),
            ..Hooks::default()
        };
        let doc = document(HookEvent::LockLost, &origin, Value::Null);
        let (ending, stdout, stderr) = run(
            hooks.lock_lost.as_deref().unwrap(),
            &doc,
            &origin,
            hooks.time_limit(),
        )
        .await;
        assert_eq!(ending, Ending::Exited(3));
        assert_eq!(stdout.trim(), "lock-lost alice none");
        let read: Value = serde_json::from_str(stderr.trim()).unwrap();
        assert_eq!(read["event"], "lock-lost");
        assert!(warning(HookEvent::LockLost, &ending).unwrap().contains("exit 3"));
    }

    #[tokio::test]
    async fn a_hook_past_its_limit_is_killed_with_its_group() {
        let started = std::time::Instant::now();
        let (ending, _, _) = run(
            "sleep 30 & sleep 30",
            &Value::Null,
            &origin(),
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(ending, Ending::TimedOut(Duration::from_millis(300)));
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
