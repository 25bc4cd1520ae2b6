//! What the TUI's tests share: a fixed clock, factories for sessions, locks and records, and
//! the harness: functions that press keys, type, answer calls and draw the screen as text.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::style::Color;

use super::action::{Action, ApiCall, ApiOutcome, ApiReply, Effect, RequestId};
use super::app::App;
use super::draw;
use super::feature::Session;
use super::theme::{ColorSupport, Theme};
use crate::api::{ApiError, BackupRecord, DeviceEntity, LockInfo, ModuleCode, RecordStatus};
use crate::lease::{Owner, Purpose, Standing};
use crate::tui::action::Journalled;

/// The tests' "now": 2025-11-03 07:00:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 3, 7, 0, 0).unwrap()
}

/// `t0` plus `secs` seconds.
pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

/// `t0` plus `n` milliseconds.
pub fn ms(n: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::milliseconds(n)
}

/// A session of `label` with 10-minute locks, times shown in UTC.
pub fn session_named(label: &str, embedded: bool) -> Session {
    Session {
        label: label.into(),
        embedded,
        base_url: "http://127.0.0.1:4000".into(),
        user_id: "demo".into(),
        lock_ttl: chrono::Duration::seconds(600),
        display_offset: FixedOffset::east_opt(0).unwrap(),
        retention: None,
        delete_grace: None,
        health: crate::health::Rules::standard(),
        read_only: false,
    }
}

/// The embedded demo server's session.
pub fn session() -> Session {
    session_named("embedded demo server", true)
}

/// A lock `id` (its module from the id) expiring `expires_in` seconds after `t0`.
pub fn lock(id: &str, expires_in: i64) -> LockInfo {
    LockInfo {
        lock_id: id.into(),
        module: LockInfo::module_of_id(id).unwrap_or(ModuleCode::Folder),
        expires_at: at(expires_in),
    }
}

/// Record `n` of module 102: id `9000000 - n` (newer records have larger ids, as the server
/// lists them), created `n` hours before `t0`, on device `dev-{n % 3}`.
pub fn record(n: usize, status: RecordStatus) -> BackupRecord {
    BackupRecord {
        record_id: format!("{}", 9_000_000 - n),
        module_code: ModuleCode::AddressBook.into(),
        status,
        properties: r#"{"n":1}"#.into(),
        version: 1,
        create_time: t0() - chrono::Duration::hours(n as i64),
        end_time: None,
        device_info: DeviceEntity {
            device_id: format!("dev-{}", n % 3),
            device_name: format!("phone {}", n % 3),
            device_os: "Android 14".into(),
            ..DeviceEntity::default()
        },
    }
}

/// Bound device `n`: id `dev-{n}`, which [`record`] `n % 3` uses.
pub fn device(n: usize) -> DeviceEntity {
    DeviceEntity {
        device_id: format!("dev-{n}"),
        machine_code: format!("MC_{n}"),
        device_name: ["Pixel 7", "iPad Air", "Home NAS"][n % 3].into(),
        device_os: ["Android 14", "iPadOS 18", "DSM 7"][n % 3].into(),
        create_time: Some(t0() - chrono::Duration::days(30)),
    }
}

/// A KooDrive error answer.
pub fn api_error(status: u16, code: i64, msg: &str) -> ApiError {
    ApiError::Api {
        status,
        code: code.to_string(),
        msg: msg.into(),
    }
}

pub fn timeout() -> ApiError {
    ApiError::Timeout {
        after: Duration::from_secs(10),
    }
}

/// A journal entry of a lock this app holds (created in it on purpose), with its auto-renew
/// setting.
pub fn own(lock: LockInfo, auto_renew: bool) -> Journalled {
    let mut owner = Owner::this_process(Purpose::App { adopted: false });
    owner.since = t0();
    Journalled {
        lock,
        auto_renew,
        owner: Some(owner),
        standing: Standing::Mine,
    }
}

/// A journal entry of a lock someone else holds, their owner standing as `standing` from here.
pub fn foreign(lock: LockInfo, purpose: Purpose, standing: Standing) -> Journalled {
    let mut owner = Owner::this_process(purpose);
    owner.pid = 4711;
    owner.host = "web-01".into();
    owner.since = t0() - chrono::Duration::minutes(5);
    Journalled {
        lock,
        auto_renew: false,
        owner: Some(owner),
        standing,
    }
}

/// An app on a `width` x `height` screen holding `held` (its own locks, with their auto-renew
/// setting), at `t0`.
pub fn app_holding(session: Session, held: Vec<(LockInfo, bool)>, width: u16, height: u16) -> App {
    let held = held.into_iter().map(|(lock, auto)| own(lock, auto)).collect();
    App::new(session, held, Vec::new(), t0(), Rect::new(0, 0, width, height))
}

/// The API calls among `effects`.
pub fn calls(effects: &[Effect]) -> Vec<(RequestId, ApiCall)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Api { request, call } => Some((*request, call.clone())),
            _ => None,
        })
        .collect()
}

/// The single API call among `effects`.
pub fn only_call(effects: &[Effect]) -> (RequestId, ApiCall) {
    let calls = calls(effects);
    assert_eq!(calls.len(), 1, "expected one call in {effects:?}");
    calls[0].clone()
}

/// The answer to `request`, finished at `finished`, after 42 ms, with a server clock 1.5 s
/// ahead.
pub fn reply(request: RequestId, outcome: ApiOutcome, finished: DateTime<Utc>) -> Action {
    reply_measured(request, outcome, finished, 42, 1500)
}

/// The answer to `request`, finished at `finished`, after `latency_ms`, with the server's clock
/// `offset_ms` ahead of ours.
pub fn reply_measured(
    request: RequestId,
    outcome: ApiOutcome,
    finished: DateTime<Utc>,
    latency_ms: u64,
    offset_ms: i64,
) -> Action {
    Action::ApiDone(Box::new(ApiReply {
        request,
        outcome,
        latency: Duration::from_millis(latency_ms),
        finished_at: finished,
        clock_offset: Some(chrono::Duration::milliseconds(offset_ms)),
    }))
}

// Driving an app the way a user and the runtime do. Free functions over `&mut App` rather than a
// wrapper, because the tests read the app's state between every step.

pub fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn ch(app: &mut App, c: char) -> Vec<Effect> {
    press(app, KeyCode::Char(c))
}

pub fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

/// Types `text` key by key into a field: no key may do anything but edit it.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(ch(app, c).is_empty(), "typing {c:?} must not do anything else");
    }
}

/// `app` drawn on a `width` x `height` TestBackend with `theme`.
pub fn drawn(app: &App, theme: &Theme, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw::draw(frame, app, theme)).unwrap();
    terminal
}

/// `app` drawn on a `width` x `height` screen, as text: each row without its trailing blanks,
/// ending in a newline (the form of the committed snapshots).
pub fn screen_of(app: &App, width: u16, height: u16) -> String {
    let terminal = drawn(app, &Theme::new(ColorSupport::Ansi16), width, height);
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..height {
        // A wide character's second cell is drawn over by it: left out, so that CJK text reads
        // as on a terminal.
        let mut row = String::new();
        let mut covered = 0;
        for x in 0..width {
            let symbol = buffer[(x, y)].symbol();
            if covered > 0 {
                covered -= 1;
                continue;
            }
            covered = crate::format::width(symbol).saturating_sub(1);
            row.push_str(symbol);
        }
        text.push_str(row.trim_end());
        text.push('\n');
    }
    text
}

// The frame tests' scene.

/// The screen of the frame tests.
pub const WIDTH: u16 = 100;
pub const HEIGHT: u16 = 24;
pub const FRAME_A: &str = "0b6e7a1c-5c1f-4a8e-9d59-2f0f0c7d9e11@100";
pub const FRAME_B: &str = "7c1d2e3f-6a5b-4c3d-8e9f-a0b1c2d3e4f5@101";
pub const FRAME_C: &str = "d4c3b2a1-9f8e-4d7c-b6a5-f4e3d2c1b0a9@102";

/// Three locks on the frame tests' screen: one with plenty of time (auto-renewed), one in
/// warning, one critical.
pub fn three_locks() -> App {
    let held = vec![
        (lock(FRAME_A, 545), true),
        (lock(FRAME_B, 95), false),
        (lock(FRAME_C, 17), false),
    ];
    app_holding(session(), held, WIDTH, HEIGHT)
}

/// Foreground colour of the first cell of `text` on screen row `row`.
pub fn colour_of(terminal: &Terminal<TestBackend>, row: u16, text: &str) -> Option<Color> {
    let buffer = terminal.backend().buffer();
    let line: String = (0..buffer.area.width)
        .map(|x| buffer[(x, row)].symbol())
        .collect();
    Some(buffer[(column_of(&line, text)?, row)].fg)
}

/// The screen column where `text` starts in `line`, a row of [`screen_of`] (narrow characters).
pub fn column_of(line: &str, text: &str) -> Option<u16> {
    line.find(text).map(|byte| line[..byte].chars().count() as u16)
}

/// A left click at `column`, `row`.
pub fn click(app: &mut App, column: u16, row: u16) -> Vec<Effect> {
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }))
}
