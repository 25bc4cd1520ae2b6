//! What the test areas share: [`server`] (a local server on a temporary database with users
//! alice and bob, and raw signed requests), [`cli`] (the real binary in an isolated home) and
//! [`pty`] (the real binary in a pseudo-terminal, read through a vt100 screen).

pub mod cli;
pub mod fake;
pub mod proxy;
pub mod pty;
pub mod server;

pub use server::*;
