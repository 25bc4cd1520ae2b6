//! What the test areas share: [`server`] (a local server on a temporary database with users
//! alice and bob, and raw signed requests), [`cli`] (the real binary in an isolated home) and
//! [`pty`] (the real binary in a pseudo-terminal, read through a vt100 screen).

pub mod cli;
pub mod disk;
pub mod fake;
pub mod prometheus;
pub mod proxy;
pub mod pty;
pub mod server;

pub use server::*;

/// Polls `ready` every 10 ms until it gives a value; fails the test, saying what never came,
/// after `within` (a deadline for a stuck run, never a sleep that stands for synchronisation).
pub async fn wait_for<T>(what: &str, within: std::time::Duration, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited {within:?} in vain for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// [`wait_for`] a condition.
pub async fn wait_until(what: &str, within: std::time::Duration, mut done: impl FnMut() -> bool) {
    wait_for(what, within, || done().then_some(())).await
}

/// Waits until the server has fewer than `n` records of `module` (a run under way).
pub async fn until_fewer(server: &TestServer, module: &str, n: usize) {
    let what = format!("fewer than {n} records of module {module}");
    wait_until(&what, std::time::Duration::from_secs(60), || {
        record_ids(&server.db_path, module).len() < n
    })
    .await
}

/// Fails a test whose pagination walk has read more pages than any test here needs: a cursor
/// chain that never ends (a broken cursor encoding) then fails instead of hanging the suite.
pub fn assert_page_cap(pages: usize) {
    assert!(
        pages <= 1000,
        "more than 1000 pages: a cursor chain that never ends"
    );
}

/// The pinned version of Debian's libfaketime the clock tests use.
const FAKETIME_DEB: &str = "libfaketime=0.9.10-2.1";
/// Where Debian's package puts the library.
const FAKETIME_LIBRARY: &str = "usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// libfaketime, for tests of clocks that jump (a clock running ahead, a suspend): the system's
/// when it is installed, else Debian's pinned package fetched with `apt-get download` and
/// unpacked under the target directory on first use (no root needed), so that `cargo test`
/// needs nothing installed by hand.
pub fn faketime() -> &'static str {
    static LIBRARY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LIBRARY.get_or_init(|| {
        let system = std::path::Path::new("/").join(FAKETIME_LIBRARY);
        if system.exists() {
            return system.to_string_lossy().into_owned();
        }
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("libfaketime");
        let library = dir.join(FAKETIME_LIBRARY);
        if !library.exists() {
            std::fs::create_dir_all(&dir).unwrap();
            let fetched = std::process::Command::new("apt-get")
                .args(["download", FAKETIME_DEB])
                .current_dir(&dir)
                .status();
            assert!(
                fetched.is_ok_and(|s| s.success()),
                "cannot fetch {FAKETIME_DEB} with apt-get download (Debian's package registry)"
            );
            let deb = std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .find(|e| e.file_name().to_string_lossy().ends_with(".deb"))
                .expect("the downloaded .deb")
                .path();
            let unpacked = std::process::Command::new("dpkg-deb")
                .arg("-x")
                .arg(&deb)
                .arg(&dir)
                .status();
            assert!(
                unpacked.is_ok_and(|s| s.success()),
                "cannot unpack {}",
                deb.display()
            );
        }
        assert!(
            library.exists(),
            "{} is missing after unpacking",
            library.display()
        );
        library.to_string_lossy().into_owned()
    })
}
