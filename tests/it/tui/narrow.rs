//! The real binary in an 80x24 (and 60x15) pseudo-terminal, as an operator over SSH sees it:
//! the READ-ONLY badge, a stray Enter on a destructive question, and the mouse as a terminal
//! sends it (SGR sequences: clicks on tabs, rows and panes).

use std::time::Duration;

use koobackup::server::UserCredential;

use crate::support;
use crate::support::pty::{Tui, countdown_of, journal_ids, wait_journal};

/// A user id as long as the reference's examples.
const LONG_USER: &str = "1234567890123456789";

/// A left click at screen column `x`, row `y` (from 0), as an SGR mouse press and release.
fn click(tui: &mut Tui, x: usize, y: usize) {
    tui.send(&format!(
        "\x1b[<0;{};{}M\x1b[<0;{};{}m",
        x + 1,
        y + 1,
        x + 1,
        y + 1
    ));
}

/// Row and column of the first `text` on the screen (narrow characters only).
fn position_of(screen: &str, text: &str) -> (usize, usize) {
    screen
        .lines()
        .enumerate()
        .find_map(|(y, line)| line.find(text).map(|byte| (line[..byte].chars().count(), y)))
        .unwrap_or_else(|| panic!("{text:?} not on the screen:\n{screen}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_only_badge_shows_on_small_terminals() {
    let server = support::spawn_server_with(|config| {
        config.users.push(UserCredential {
            user_id: LONG_USER.into(),
            token: support::ALICE.1.into(),
        })
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config/koobackup/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "[profiles.production]\nbase_url = \"{}\"\nuser_id = \"{LONG_USER}\"\ntoken = {{ env = \"KOOBACKUP_TOKEN\" }}\nread_only = true\n",
            server.base_url()
        ),
    )
    .unwrap();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        for size in [(80, 24), (60, 15)] {
            let mut tui = Tui::run_in_pty_sized(&["--profile", "production"], &dir_path, &[], size);
            let screen = tui.wait_text("No locks held");
            let top = screen.lines().next().unwrap();
            assert!(
                top.starts_with(" koobackup │ READ-ONLY │ profile production"),
                "{size:?}:\n{screen}"
            );
            tui.send("q");
            assert!(tui.wait_exit(Duration::from_secs(10)).success());
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_enter_neither_releases_nor_deletes() {
    let server = support::spawn_server().await;
    let lock = server.lock(support::ALICE, "100").await;
    for device in ["phone-1", "phone-2", "phone-3"] {
        server.record(support::ALICE, &lock, "100", device).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (base_url, dir_path) = (server.base_url(), dir.path().to_path_buf());
    tokio::task::spawn_blocking(move || {
        let args = ["--base-url", &base_url, "--user-id", support::ALICE.0];
        let mut tui = Tui::run_in_pty_sized(&args, &dir_path, &[], (80, 24));
        tui.wait_text("No locks held");
        tui.send("n3");
        tui.wait_for("the new lock", Duration::from_secs(15), |s| {
            countdown_of(s, "102 address book").is_some()
        });
        wait_journal(&dir_path, 1);

        // Enter, then n: keys are read in order, so once the question is gone Enter was read,
        // and had it released the lock, n would have opened the module picker.
        tui.send("d");
        tui.wait_text("Release this lock?");
        tui.send("\rn");
        let screen = tui.wait_for("the question answered", Duration::from_secs(10), |s| {
            !s.contains("Release this lock?")
        });
        assert!(!screen.contains("Create a lock for which module?"), "{screen}");
        assert!(countdown_of(&screen, "102 address book").is_some(), "{screen}");
        assert_eq!(journal_ids(&dir_path).len(), 1, "the lock is still held");

        // The same with a record: Enter leaves the question open, n says nothing was deleted.
        tui.send("R1");
        tui.wait_text("row 1 of 3");
        tui.send("d");
        tui.wait_text("Its backup files are deleted too");
        tui.send("\rn");
        tui.wait_text("nothing deleted");
        tui.send("q");
        tui.wait_text("This app holds 1 live lock(s):");
        tui.send("k");
        assert!(tui.wait_exit(Duration::from_secs(15)).success());
    })
    .await
    .unwrap();
    assert_eq!(
        super::e2e::server_record_ids(&server, "100").await.len(),
        3,
        "nothing deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sgr_mouse_clicks_open_tabs_select_rows_and_focus_panes() {
    let server = support::spawn_server().await;
    let lock = server.lock(support::ALICE, "102").await;
    for device in ["phone-1", "phone-2", "phone-3"] {
        server.record(support::ALICE, &lock, "102", device).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (base_url, dir_path) = (server.base_url(), dir.path().to_path_buf());
    tokio::task::spawn_blocking(move || {
        let args = ["--base-url", &base_url, "--user-id", support::ALICE.0];
        let mut tui = Tui::run_in_pty_sized(&args, &dir_path, &[], (80, 24));
        let screen = tui.wait_text("No locks held");
        let (x, y) = position_of(&screen, "[R] Records");
        click(&mut tui, x + 1, y);
        tui.wait_text("Choose a module");
        tui.send("3");
        let screen = tui.wait_text("row 1 of 3");

        // The third row of the table (below the border and the column header).
        let (_, strip) = position_of(&screen, "[R] Records");
        click(&mut tui, 10, strip + 4);
        let screen = tui.wait_text("row 3 of 3");

        // The detail in the border is no tab: after a click there, a click on the first row
        // still selects in the records...
        let (x, y) = position_of(&screen, "row 3 of 3");
        click(&mut tui, x + 2, y);
        click(&mut tui, 10, strip + 2);
        tui.wait_text("row 1 of 3");
        // ...and a click on the Devices label, after the long Records tab, opens Devices.
        let (x, y) = position_of(&screen, "[D] Devices");
        click(&mut tui, x + "[D] Devices".len() - 1, y);
        let screen = tui.wait_text("No devices bound");

        // A click in the activity log gives it the focus (its own keys show in the footer).
        let (_, y) = position_of(&screen, "Activity");
        click(&mut tui, 10, y + 1);
        tui.wait_text("Enter open");
        let (x, y) = position_of(&screen, "[L] Locks");
        click(&mut tui, x, y);
        tui.wait_text("No locks held");

        tui.send("q");
        assert!(tui.wait_exit(Duration::from_secs(10)).success());
    })
    .await
    .unwrap();
}
