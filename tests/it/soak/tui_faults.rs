//! Fault soak of the TUI's auto-renew (issue 6): the real binary in a pseudo-terminal against a
//! local server that keeps locks for 6 seconds, adds 300 ms to every answer and fails 30% of
//! requests with 500 / 500001.
//!
//! The app creates a lock and turns auto-renew on; for four lifetimes the test checks that the
//! lock stays live on the server, without extending it: the server's database must show a future
//! expiry, and a record created under the lock must be accepted (a 409002 or 404002 answer fails
//! the test; an injected 500 is retried, as the fault answers before the request is served).
//! Then the app is killed with SIGKILL: the journal must still list the lock, and the restarted
//! app must show it again and go on renewing it. The token must never reach the terminal.
//!
//! Prints its figures: requests, injected faults, renewals seen in the activity log, checks.

use crate::support;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::pty::{Tui, countdown_of, journal_entries};
use crate::support::{ALICE, server_time_left_ms};
use koobackup::api::client::NewRecord;
use koobackup::api::{Client, ClientOptions, Credentials, ModuleCode, Token};
use koobackup::server::Faults;

/// The server's lock lifetime, also told to the app (`KOOBACKUP_LOCK_TTL_SECS`). With 300 ms
/// latency one renew call can take ~1.5 s through its retries; at 6 s two such calls in a row
/// could let the lock lapse in about 1% of runs, at 8 s about five times less often.
const TTL: Duration = Duration::from_secs(8);
/// How long auto-renew must keep the lock live: four lifetimes and a bit.
const SOAK: Duration = Duration::from_secs(33);
/// How often a record is created under the lock to prove it live.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Generous limit for anything the app shows after a few calls through the faults.
const PATIENCE: Duration = Duration::from_secs(20);
const MODULE_ROW: &str = "102 address book";

fn faults() -> Faults {
    Faults {
        latency: Duration::from_millis(300),
        error_rate: 0.3,
        ..Faults::default()
    }
}

/// A client of alice's own, used only to create records under the app's lock.
fn checker(base_url: &str) -> Client {
    Client::new(ClientOptions::new(
        base_url,
        Credentials::new(ALICE.0, Token::new(ALICE.1)),
    ))
    .expect("client")
}

/// Proves the lock live by creating a record under it; retries injected 500s (the fault answers
/// before the request is served, so nothing was created). Returns the injected failures met.
async fn assert_live(client: &Client, lock_id: &str, when: &str) -> usize {
    let record = NewRecord {
        module: ModuleCode::AddressBook,
        device_id: "soak".into(),
        properties: None,
    };
    let mut injected = 0;
    loop {
        match client.create_record(lock_id, &record).await {
            Ok(_) => return injected,
            Err(e) if e.code() == Some(500001) && injected < 30 => injected += 1,
            Err(e) => panic!("{when}: the lock is not live: {e}"),
        }
    }
}

/// The auto-renewal calls in the activity log, gathered from every look at the screen (the log
/// pane shows only its newest lines). A line holds its time, latency and result, so the same
/// line seen twice is the same call.
#[derive(Default)]
struct RenewalLog {
    lines: BTreeSet<String>,
}

impl RenewalLog {
    fn gather(&mut self, screen: &str) {
        assert!(
            !screen.contains("gave up auto-renewing"),
            "auto-renew gave up; screen:\n{screen}"
        );
        for line in screen.lines() {
            if line.contains("auto-renew ") && line.contains(" ms ") {
                self.lines.insert(line.trim_matches(['│', '┃', ' ']).to_string());
            }
        }
    }

    fn attempts(&self) -> usize {
        self.lines.len()
    }

    fn successes(&self) -> usize {
        self.lines.iter().filter(|l| l.ends_with("success")).count()
    }
}

/// Failed creates of the test module in the activity log (the status line names the last one
/// too, but as "create lock 102:").
fn failed_creates(screen: &str) -> usize {
    screen
        .lines()
        .filter(|l| l.contains("create lock 102 ") && l.contains("500001"))
        .count()
}

/// Creates the lock from the app, asking again after each injected failure (creates are never
/// repeated by the client: a lost answer could hide a lock). Returns the lock id and attempts.
fn create_lock_through_faults(tui: &mut Tui, dir: &Path) -> (String, usize) {
    for attempt in 1..=20 {
        tui.send("n");
        tui.wait_text("Create a lock for which module?");
        tui.send("3");
        let screen = tui.wait_for("the create to be answered", PATIENCE, |s| {
            countdown_of(s, MODULE_ROW).is_some() || failed_creates(s) >= attempt
        });
        if countdown_of(&screen, MODULE_ROW).is_some() {
            let entries = wait_for_journal(dir, "the created lock", |entries| entries.len() == 1);
            let lock_id = entries[0]["lock"]["lockId"].as_str().unwrap().to_string();
            return (lock_id, attempt);
        }
    }
    panic!("20 creates in a row met an injected failure")
}

/// Waits until the journal's entries pass `check` (the app writes the journal from a thread of
/// its own, a moment after the screen shows the change); returns them.
fn wait_for_journal(
    dir: &Path,
    what: &str,
    check: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let entries = journal_entries(dir);
        if check(&entries) {
            return entries;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} in the journal: {entries:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lock's row: its module with a running countdown and auto-renew on.
fn auto_row_shown(screen: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains(MODULE_ROW) && l.contains("auto"))
        && countdown_of(screen, MODULE_ROW).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_renew_keeps_a_short_lived_lock_live_under_faults_and_sigkill_keeps_it_journalled() {
    let server = support::spawn_server_with(|c| c.lock_ttl = TTL).await;
    server.server.set_faults(faults());
    let dir = tempfile::tempdir().unwrap();
    let (base_url, dir_path, db) = (
        server.base_url(),
        dir.path().to_path_buf(),
        server.db_path.clone(),
    );
    let handle = tokio::runtime::Handle::current();

    let figures = tokio::task::spawn_blocking(move || {
        let ttl_secs = TTL.as_secs().to_string();
        let env = [("KOOBACKUP_LOCK_TTL_SECS", ttl_secs.as_str())];
        let client = checker(&base_url);
        let mut tui = Tui::start_with(&base_url, &dir_path, &env);
        tui.wait_text("No locks held");
        let (lock_id, creates) = create_lock_through_faults(&mut tui, &dir_path);

        tui.send("a");
        tui.wait_for("auto-renew on", PATIENCE, auto_row_shown);
        wait_for_journal(&dir_path, "auto-renew on", |entries| {
            entries.len() == 1 && entries[0]["autoRenew"] == true
        });

        // Four lifetimes: without renewals the lock would have expired three times over.
        let soak_start = Instant::now();
        let (mut log, mut checks, mut checker_faults) = (RenewalLog::default(), 0, 0);
        let mut least_left = i64::MAX;
        let mut last_check: Option<Instant> = None;
        while soak_start.elapsed() < SOAK {
            log.gather(&tui.contents());
            let left = server_time_left_ms(&db, &lock_id).expect("the lock vanished from the server");
            let at = soak_start.elapsed();
            assert!(
                left > 0,
                "the lock expired {} ms ago, {at:?} into the soak",
                -left
            );
            least_left = least_left.min(left);
            if last_check.is_none_or(|t| t.elapsed() >= CHECK_EVERY) {
                last_check = Some(Instant::now());
                let when = format!("{at:?} into the soak");
                checker_faults += handle.block_on(assert_live(&client, &lock_id, &when));
                checks += 1;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        log.gather(&tui.contents());
        let stats = server.server.stats();

        // Killed without warning: no chance to write anything more.
        tui.signal("KILL");
        assert!(!tui.wait_exit(PATIENCE).success());
        let entries = journal_entries(&dir_path);
        let ids: Vec<&str> = entries
            .iter()
            .map(|e| e["lock"]["lockId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [lock_id.as_str()], "the journal lost the lock");
        assert_eq!(entries[0]["autoRenew"], true);

        // Restarted: the lock is shown again and auto-renew goes on with it.
        let tui = Tui::start_with(&base_url, &dir_path, &env);
        let short_id = format!("{}…@102", &lock_id[..8]);
        tui.wait_for("the journalled lock", PATIENCE, |s| {
            s.contains(&short_id) && auto_row_shown(s)
        });
        tui.wait_for("an auto-renewal after the restart", PATIENCE, |s| {
            s.lines()
                .any(|l| l.contains("auto-renew ") && l.contains(" ms ") && l.contains("success"))
        });
        handle.block_on(assert_live(&client, &lock_id, "after the restart"));
        tui.assert_token_never_shown();
        (stats, creates, log, checks, checker_faults, least_left)
    })
    .await
    .unwrap();

    let (stats, creates, log, checks, checker_faults, least_left) = figures;
    // Everything else the server saw came from the app's renewals, the client's own retries
    // of them included.
    let renew_requests = stats.requests - (creates + checks + checker_faults) as u64;
    println!(
        "TUI fault soak (TTL {} s, 300 ms latency, 30% injected 500s), {} s of auto-renew: \
         {} requests, {} delayed, {} injected 500s; lock created after {creates} attempt(s); \
         auto-renewals in the activity log: {} attempted, {} succeeded, in {renew_requests} requests; \
         {checks} liveness checks (records created under the lock), which met {checker_faults} \
         injected 500s; least time left on the server {least_left} ms; SIGKILL kept the lock in \
         the journal and the restarted app renewed it",
        TTL.as_secs(),
        SOAK.as_secs(),
        stats.requests,
        stats.delayed,
        stats.injected_errors,
        log.attempts(),
        log.successes(),
    );
    assert!(stats.injected_errors > 0, "the soak met no fault");
    // About one renewal per half lifetime (the retries of a few failures aside): enough to
    // outlast the soak, and not one per tick.
    let expected = SOAK.as_secs_f64() / (TTL.as_secs_f64() / 2.0);
    let (attempts, successes) = (log.attempts() as f64, log.successes() as f64);
    assert!(successes >= expected / 2.0, "too few renewals: {successes}");
    assert!(attempts <= expected * 2.0, "too many renewals: {attempts}");
}
