//! The terminal app: `App` with the real client and server, its changes in the history,
//! rendered frames (insta snapshots),
//! and the real binary in a pseudo-terminal.

mod e2e;
mod history;
mod narrow;
mod records;
