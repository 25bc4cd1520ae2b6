//! What the test areas share: [`server`] (a local server on a temporary database with users
//! alice and bob, and raw signed requests), [`cli`] (the real binary in an isolated home) and
//! [`pty`] (the real binary in a pseudo-terminal, read through a vt100 screen).

pub mod cli;
pub mod fake;
pub mod proxy;
pub mod pty;
pub mod server;

pub use server::*;

/// Fails a test whose pagination walk has read more pages than any test here needs: a cursor
/// chain that never ends (a broken cursor encoding) then fails instead of hanging the suite.
pub fn assert_page_cap(pages: usize) {
    assert!(
        pages <= 1000,
        "more than 1000 pages: a cursor chain that never ends"
    );
}
