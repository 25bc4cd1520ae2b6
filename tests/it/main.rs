//! The one integration-test binary (as ripgrep does it): every area is a module, and they share
//! `support` (a local server with two users, the real binary in an isolated home, the real
//! binary in a pseudo-terminal). One binary links once instead of once per file.

mod cli;
mod client;
mod house;
mod prop;
mod security;
mod server;
mod soak;
mod support;
mod tui;
