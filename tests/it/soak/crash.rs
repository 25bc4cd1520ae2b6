//! Crash safety of the local server: `koobackup serve` is killed with SIGKILL in the middle of a
//! burst of concurrent record creates, several times over, and restarted on the same database.
//! Every record the client was told exists must exist afterwards, unchanged; the database must
//! pass SQLite's integrity check and open cleanly; listing must work.
//!
//! Records whose answer was lost in the kill may or may not exist (the commit may have happened
//! just before the kill): they are counted, not judged.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use koobackup::api::client::{NewRecord, RecordQuery};
use koobackup::api::{BackupRecord, Client, ClientOptions, Credentials, ModuleCode, Token};

const USER: &str = "crash-user";
const TOKEN: &str = "crash-token-9b1e";
const ROUNDS: usize = 8;
/// Concurrent creators per module.
const WRITERS: usize = 6;
/// Acknowledged creates per round before the kill (the kill lands while the burst goes on).
const ACKS_BEFORE_KILL: usize = 100;

/// `koobackup serve` as a child process.
struct ServerProcess {
    child: Child,
    base_url: String,
}

impl ServerProcess {
    fn start(dir: &Path) -> ServerProcess {
        let users = dir.join("users");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("serve.log"))
            .expect("server log");
        std::fs::write(&users, format!("{USER}:{TOKEN}\n")).expect("users file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_koobackup"))
            .args(["serve", "--json", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.join("server.sqlite"))
            .arg("--users-file")
            .arg(&users)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start koobackup serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address line");
        let started: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("serve printed {line:?}: {e}"));
        let base_url = started["baseUrl"].as_str().expect("baseUrl").to_owned();
        ServerProcess { child, base_url }
    }

    fn kill(mut self) {
        // SAFETY: kill(2) on our own, not yet reaped child.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGKILL) };
        assert_eq!(sent, 0, "SIGKILL failed");
        let status = self.child.wait().expect("wait for the killed server");
        assert!(
            !status.success(),
            "the server was killed, not stopped: {status:?}"
        );
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(base_url: &str) -> Client {
    let mut options = ClientOptions::new(base_url, Credentials::new(USER, Token::new(TOKEN)));
    options.timeout = Duration::from_secs(10);
    Client::new(options).expect("client")
}

/// What the burst saw.
#[derive(Default)]
struct Tally {
    attempted: usize,
    /// Creates answered with success: these records must exist.
    acknowledged: BTreeMap<String, BackupRecord>,
    failed: usize,
}

/// Creates records from `WRITERS` tasks per module until the server stops answering.
async fn burst(client: Client, locks: Vec<(ModuleCode, String)>, round: usize, tally: Arc<Mutex<Tally>>) {
    let mut writers = Vec::new();
    for (module, lock_id) in locks {
        for writer in 0..WRITERS {
            let (client, lock_id, tally) = (client.clone(), lock_id.clone(), tally.clone());
            writers.push(tokio::spawn(async move {
                for n in 0.. {
                    let record = NewRecord {
                        module,
                        device_id: format!("crash-{round}-{writer}"),
                        properties: Some(format!("{{\"round\":{round},\"writer\":{writer},\"n\":{n}}}")),
                    };
                    tally.lock().unwrap().attempted += 1;
                    match client.create_record(&lock_id, &record).await {
                        Ok(created) => {
                            tally
                                .lock()
                                .unwrap()
                                .acknowledged
                                .insert(created.record_id.clone(), created);
                        }
                        Err(_) => {
                            tally.lock().unwrap().failed += 1;
                            return;
                        }
                    }
                }
            }));
        }
    }
    for writer in writers {
        writer.await.expect("writer task");
    }
}

fn integrity_check(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("the database opens after the crash");
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(result, "ok", "integrity check after SIGKILL");
}

async fn all_record_ids(client: &Client) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for module in ModuleCode::ALL {
        let query = RecordQuery {
            module,
            page_size: 100,
            device_id: None,
        };
        let pages: Vec<_> = client
            .record_pages(query, koobackup::api::DEFAULT_MAX_PAGES)
            .try_collect()
            .await
            .expect("list after restart");
        ids.extend(pages.into_iter().flat_map(|p| p.items).map(|r| r.record_id));
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_a_create_burst_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("server.sqlite");
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();

    // Taken once: every later round writes under the same locks, so they must survive the
    // crashes too.
    let mut locks = Vec::new();
    for round in 0..ROUNDS {
        let server = ServerProcess::start(dir.path());
        let client = client(&server.base_url);
        if round == 0 {
            for module in ModuleCode::ALL {
                locks.push((module, client.create_lock(module).await.expect("lock").lock_id));
            }
        }
        let burst = tokio::spawn(burst(client, locks.clone(), round, tally.clone()));
        let acks_at_start = tally.lock().unwrap().acknowledged.len();
        let deadline = Instant::now() + Duration::from_secs(60);
        while tally.lock().unwrap().acknowledged.len() < acks_at_start + ACKS_BEFORE_KILL {
            assert!(
                Instant::now() < deadline,
                "round {round}: the burst made no progress"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.kill();
        burst.await.expect("burst");
        integrity_check(&db);
    }

    // A last restart: everything acknowledged is there, exactly as it was acknowledged.
    let server = ServerProcess::start(dir.path());
    let client = client(&server.base_url);
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    for (id, acknowledged) in &tally.acknowledged {
        let stored = client
            .get_record(id)
            .await
            .unwrap_or_else(|e| panic!("record {id} was lost: {e}"));
        assert_eq!(&stored, acknowledged, "record {id} changed");
    }
    let listed = all_record_ids(&client).await;
    let missing: Vec<_> = tally
        .acknowledged
        .keys()
        .filter(|id| !listed.contains(*id))
        .collect();
    assert!(missing.is_empty(), "acknowledged but not listed: {missing:?}");
    let unacknowledged_but_stored = listed.len() - tally.acknowledged.len();
    assert!(
        unacknowledged_but_stored <= tally.failed,
        "{unacknowledged_but_stored} records nobody created"
    );
    drop(server);
    integrity_check(&db);
    let log = std::fs::read_to_string(dir.path().join("serve.log")).expect("server log");
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    assert!(!log.contains(TOKEN), "the server logged the token:\n{log}");

    println!(
        "crash safety: {ROUNDS} SIGKILLs; {} creates tried, {} acknowledged, {} cut off by the kills \
         ({} of those committed anyway); acknowledged records lost: 0; {:.1} s",
        tally.attempted,
        tally.acknowledged.len(),
        tally.failed,
        unacknowledged_but_stored,
        started.elapsed().as_secs_f32()
    );
}
