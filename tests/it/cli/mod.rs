//! The real binary against the real local server: every subcommand, its output and exit codes.

mod cleanup;
mod cleanup_confirm;
mod delete;
mod device;
mod habits;
mod history;
mod hold;
mod lock;
mod misc;
mod notify;
mod output;
mod ownership;
mod pending;
mod record;
mod retention;
mod schemas;
mod status;
