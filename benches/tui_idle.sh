#!/usr/bin/env bash
# Measures the terminal app while idle: time from start to first frame, CPU use, bytes written
# to the terminal per second with 3 locks counting down, and resident memory.
#
# How: tests/it/tui/e2e.rs::idle_figures runs the release binary in a pseudo-terminal (portable-pty,
# 110x30) against a local server on 127.0.0.1, creates one lock per module, waits 2 s for the
# spinner to stop, then samples /proc/PID/stat (utime+stime), the bytes read from the pty, and
# /proc/PID/status (VmRSS) over IDLE_SECONDS (default 20).
#
# Usage: benches/tui_idle.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE_SECONDS="${1:-20}" cargo test --release --test it -- --ignored --nocapture --exact tui::e2e::idle_figures 2>&1 |
    grep -E '^(time to first frame|idle with|  )'
