//! Faults over time: latency and error rates for the CLI and the TUI, and the server killed
//! mid-write.

mod cli_faults;
mod crash;
mod tui_faults;
