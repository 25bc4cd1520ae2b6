//! The terminal app: `App` with the real client and server, rendered frames (insta snapshots),
//! and the real binary in a pseudo-terminal.

mod e2e;
mod narrow;
mod records;
