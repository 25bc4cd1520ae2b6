//! What the TUI benches share: the local server on 127.0.0.1 with one user and a client for it,
//! and the app's session against it.

use std::path::PathBuf;

use chrono::{FixedOffset, Utc};
use koobackup::api::{Client, ClientOptions, Credentials, Token};
use koobackup::server::{RunningServer, ServerConfig, UserCredential, start};
use koobackup::tui::{App, Session};
use ratatui::layout::Rect;
use tokio::runtime::Runtime;

pub const USER: (&str, &str) = ("alice", "alice-token");

/// The server, its database file (for filling it directly), a client without retries, and the
/// directory that holds the database for as long as the bench runs.
pub struct LocalServer {
    pub server: RunningServer,
    pub db_path: PathBuf,
    pub client: Client,
    _dir: tempfile::TempDir,
}

impl LocalServer {
    pub fn start(rt: &Runtime) -> LocalServer {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("bench.db");
        let mut config = ServerConfig::new(&db_path);
        config.users.push(UserCredential {
            user_id: USER.0.into(),
            token: USER.1.into(),
        });
        let server = rt.block_on(start(config)).expect("start server");
        let mut options = ClientOptions::new(server.base_url(), Credentials::new(USER.0, Token::new(USER.1)));
        options.retries = 0;
        let client = Client::new(options).unwrap();
        LocalServer {
            server,
            db_path,
            client,
            _dir: dir,
        }
    }
}

/// A fresh app for `USER` on a 120x40 screen.
pub fn app() -> App {
    let session = Session {
        label: "bench".into(),
        embedded: false,
        base_url: "http://127.0.0.1".into(),
        user_id: USER.0.into(),
        lock_ttl: chrono::Duration::seconds(600),
        display_offset: FixedOffset::east_opt(0).unwrap(),
        retention: None,
        delete_grace: None,
        health: koobackup::health::Rules::standard(),
        read_only: false,
    };
    App::new(
        session,
        Vec::new(),
        Vec::new(),
        Utc::now(),
        Rect::new(0, 0, 120, 40),
    )
}
