//! A clean-up that asks deletes only what it listed: a record that became a candidate while the
//! question was on the screen is not deleted with the others (the user never saw it).

use std::sync::Arc;
use std::time::Duration;

use crate::support::pty::Tui;
use crate::support::{ALICE, old_records, record_ids, spawn_server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_up_that_asked_deletes_only_the_records_it_listed() {
    let server = Arc::new(spawn_server().await);
    old_records(&server, "102", 12).await;
    let listed = record_ids(&server.db_path, "102");
    let dir = tempfile::tempdir().unwrap();
    let url = server.base_url();
    let in_thread = server.clone();
    let handle = tokio::runtime::Handle::current();
    let (code, question) = tokio::task::spawn_blocking(move || {
        let args = [
            "cleanup",
            "--yes",
            "-m",
            "102",
            "--base-url",
            &url,
            "--user-id",
            ALICE.0,
        ];
        let mut tty = Tui::run_in_pty(&args, dir.path(), &[]);
        let question = tty.wait_text("[y/N]");
        // Three more become candidates while the question waits.
        handle.block_on(old_records(&in_thread, "102", 3));
        tty.send("y\r");
        (tty.wait_exit(Duration::from_secs(30)).exit_code(), question)
    })
    .await
    .unwrap();
    assert!(
        question.contains("12"),
        "it asked about the 12 it found:\n{question}"
    );
    assert_eq!(code, 0);
    let left = record_ids(&server.db_path, "102");
    assert_eq!(left.len(), 3, "the late ones stay: {left:?}");
    assert!(left.is_disjoint(&listed), "every listed record went");
}
