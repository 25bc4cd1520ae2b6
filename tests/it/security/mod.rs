//! Isolation between users, listening addresses, and the token kept off every screen and log.

mod app_signing;
mod config_permissions;
mod hostile;
mod isolation;
mod listen;
mod odd_answers;
mod paths;
mod tls;
mod token;
