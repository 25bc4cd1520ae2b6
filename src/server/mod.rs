//! The local KooDrive-compatible server (axum + SQLite), used by `koobackup serve`, by the TUI's
//! embedded default and by the integration tests.
//!
//! It follows the rules and error-code table of `koodrive-api.md`; `assets/openapi.yaml`
//! describes exactly what it serves. Layout: `routes` (HTTP), `rules` (lock and record
//! semantics), `store` (SQLite), `faults` (injected latency, errors, clock skew, rate limit),
//! `demo` (demo data).
//!
//! ```no_run
//! # async fn run() -> Result<(), koobackup::server::ServerError> {
//! use koobackup::server::{ServerConfig, UserCredential, start};
//! let mut config = ServerConfig::new("/tmp/koodrive.db");
//! config.users.push(UserCredential { user_id: "alice".into(), token: "secret".into() });
//! let server = start(config).await?;
//! println!("listening on {}", server.base_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod demo;
mod device_routes;
mod device_store;
mod devices;
mod error;
mod faults;
mod routes;
mod rules;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::BODY_LIMIT;
pub use demo::{DEMO_TOKEN, DEMO_USER_ID};
pub use faults::{Faults, ServerStats};

use crate::api::model::LOCK_TTL;

/// A user the server accepts: `Authorization: Bearer <token>` with `X-User-Id: <user_id>`.
/// Its Debug output (and so that of [`ServerConfig`]) hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCredential {
    pub user_id: String,
    pub token: String,
}

impl std::fmt::Debug for UserCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredential")
            .field("user_id", &self.user_id)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// An app the server accepts: requests signed with HMAC-SHA256 under `secret`, acting for any
/// `X-User-Id` (our rule, the carrier model). Debug hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AppCredential {
    pub app_id: String,
    pub secret: String,
}

impl std::fmt::Debug for AppCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredential")
            .field("app_id", &self.app_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port. Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// SQLite database file, created if missing.
    pub db_path: PathBuf,
    pub users: Vec<UserCredential>,
    pub apps: Vec<AppCredential>,
    /// Add the demo user ([`DEMO_USER_ID`] / [`DEMO_TOKEN`]) and, if it has no records yet,
    /// demo records.
    pub seed_demo: bool,
    pub faults: Faults,
    /// Lock lifetime; [`LOCK_TTL`] (10 minutes) unless a test shortens it.
    pub lock_ttl: Duration,
    /// Allow listening on an address other than loopback. The server has no TLS, so off by default.
    pub allow_non_loopback: bool,
}

impl ServerConfig {
    /// Defaults: `127.0.0.1:0`, no users, no demo data, no faults, 10-minute locks, loopback only.
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db_path: db_path.into(),
            users: Vec::new(),
            apps: Vec::new(),
            seed_demo: false,
            faults: Faults::default(),
            lock_ttl: LOCK_TTL,
            allow_non_loopback: false,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "refusing to listen on {0}: not a loopback address; pass --allow-remote to allow it \
         (the server has no TLS and tokens travel in clear text)"
    )]
    NotLoopback(SocketAddr),
    #[error("{0}")]
    Database(#[from] store::OpenError),
    #[error("cannot seed demo data into {}: {source}", path.display())]
    Seed { path: PathBuf, source: rusqlite::Error },
    #[error("cannot listen on {addr}: {source} (is another server using the port? try port 0)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server start-up failed: {0}")]
    Startup(String),
    #[error("lock ttl {0:?} is out of range: use between 1 ms and a few days")]
    LockTtl(Duration),
    /// The users or apps contradict each other; the message says how (never with a secret).
    #[error("{0}")]
    Credentials(String),
}

/// A server running on the current tokio runtime. [`RunningServer::shutdown`] stops it and
/// waits; dropping it also stops it, without waiting.
pub struct RunningServer {
    addr: SocketAddr,
    faults: Arc<faults::FaultState>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    /// Why the server stopped serving on its own, when it does. The server prints nothing: its
    /// owner (`serve`, or the TUI's activity log) says it.
    failed: Option<oneshot::Receiver<String>>,
}

impl RunningServer {
    /// The address actually bound (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the faults; applies to requests that arrive afterwards.
    pub fn set_faults(&self, faults: Faults) {
        self.faults.set(faults);
    }

    /// The server's clock: real time plus the clock-offset fault.
    pub fn clock(&self) -> chrono::DateTime<chrono::Utc> {
        self.faults.now()
    }

    /// Requests received and faults injected since the server started.
    pub fn stats(&self) -> ServerStats {
        self.faults.stats()
    }

    /// A future that resolves, with the reason, if the server stops serving on its own. Can be
    /// taken once.
    pub fn take_failure(&mut self) -> Option<oneshot::Receiver<String>> {
        self.failed.take()
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the server
    /// task to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Opens the database, seeds demo data if asked, binds, and serves in a task on the current
/// runtime. Returns once the socket is listening.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    if !config.listen.ip().is_loopback() && !config.allow_non_loopback {
        return Err(ServerError::NotLoopback(config.listen));
    }
    let lock_ttl = chrono::Duration::from_std(config.lock_ttl)
        .ok()
        .filter(|t| *t > chrono::Duration::zero() && *t < chrono::Duration::days(365))
        .ok_or(ServerError::LockTtl(config.lock_ttl))?;
    let accepted = accepted_credentials(&config)?;
    let faults = Arc::new(faults::FaultState::new(config.faults.clone()));

    let db_path = config.db_path.clone();
    let seed_demo = config.seed_demo;
    let now = faults.now();
    // Opening may create the file and run the schema: blocking work, off the async workers.
    let store = tokio::task::spawn_blocking(move || -> Result<store::Store, ServerError> {
        let store = store::Store::open(&db_path)?;
        if seed_demo {
            demo::seed(&mut store.conn(), now).map_err(|source| ServerError::Seed {
                path: db_path.clone(),
                source,
            })?;
        }
        Ok(store)
    })
    .await
    .map_err(|e| ServerError::Startup(format!("opening {} failed: {e}", config.db_path.display())))??;

    let state = routes::AppState {
        store: Arc::new(store),
        faults: faults.clone(),
        accepted: Arc::new(accepted),
        lock_ttl,
    };

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let (report_failure, failed) = oneshot::channel::<String>();
    let app = routes::router(state);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            let _ = report_failure.send(format!("the server on {addr} stopped: {e}"));
        }
    });
    Ok(RunningServer {
        addr,
        faults,
        stop,
        task,
        failed: Some(failed),
    })
}

/// The users and apps to accept, refusing contradictions instead of silently keeping one side:
/// a user or app given twice, or the demo user also given by the operator.
fn accepted_credentials(config: &ServerConfig) -> Result<auth::Accepted, ServerError> {
    let mut accepted = auth::Accepted::default();
    for user in &config.users {
        if config.seed_demo && user.user_id == DEMO_USER_ID {
            return Err(ServerError::Credentials(format!(
                "user {DEMO_USER_ID:?} is given, and demo data (which adds that user with its own \
                 token) is asked for too: drop one of them"
            )));
        }
        if accepted
            .users
            .insert(user.user_id.clone(), user.token.clone())
            .is_some()
        {
            return Err(ServerError::Credentials(format!(
                "user {:?} is given twice; give each user once",
                user.user_id
            )));
        }
    }
    for app in &config.apps {
        if accepted
            .apps
            .insert(app.app_id.clone(), app.secret.clone())
            .is_some()
        {
            return Err(ServerError::Credentials(format!(
                "app {:?} is given twice; give each app once",
                app.app_id
            )));
        }
    }
    if config.seed_demo {
        accepted.users.insert(DEMO_USER_ID.into(), DEMO_TOKEN.into());
    }
    Ok(accepted)
}
