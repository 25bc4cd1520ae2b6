//! COMMAND's standard error, copied to ours as it comes and its last lines kept, for the body
//! of a `--ping` (as runitor and healthchecks' own wrappers send it).
//!
//! The copy runs on a thread of its own, byte for byte and at once, so what the user sees does
//! not change (except that COMMAND's stderr is a pipe: a program that colours only a terminal
//! stops colouring). It never stops reading while COMMAND lives, even when our own stderr is gone
//! (a closed terminal): a COMMAND blocked on a full pipe would hold its backup — and its lock —
//! for nothing.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Bytes of COMMAND's stderr kept (the last ones).
const KEPT_BYTES: usize = 10 * 1024;

/// Lines of COMMAND's stderr a ping carries at most.
const KEPT_LINES: usize = 100;

/// The copy in progress.
pub struct Tee {
    kept: Arc<Mutex<Vec<u8>>>,
    ended: Receiver<()>,
}

impl Tee {
    /// Starts copying `pipe` (the read end of COMMAND's stderr) to our stderr.
    pub fn start(pipe: OwnedFd) -> Tee {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let (done, ended) = channel();
        let keep = kept.clone();
        std::thread::spawn(move || {
            let mut pipe = std::fs::File::from(pipe);
            let mut buffer = [0u8; 8192];
            loop {
                match pipe.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => {
                        let _ = std::io::stderr().lock().write_all(&buffer[..n]);
                        let mut kept = keep.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        kept.extend_from_slice(&buffer[..n]);
                        if kept.len() > 2 * KEPT_BYTES {
                            let cut = kept.len() - KEPT_BYTES;
                            kept.drain(..cut);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = done.send(());
        });
        Tee { kept, ended }
    }

    /// The last lines COMMAND wrote to stderr (at most [`KEPT_LINES`], [`KEPT_BYTES`]), after
    /// waiting up to `patience` for the stream to end (a process COMMAND left behind may hold it
    /// open).
    pub fn last_lines(&self, patience: Duration) -> String {
        let _ = self.ended.recv_timeout(patience);
        let kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        last_lines(&kept)
    }
}

/// The last [`KEPT_LINES`] lines of the last [`KEPT_BYTES`] of `bytes`, a line cut at the start
/// left out.
fn last_lines(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(KEPT_BYTES);
    let mut tail = &bytes[start..];
    if start > 0
        && let Some(newline) = tail.iter().position(|b| *b == b'\n')
    {
        tail = &tail[newline + 1..];
    }
    let text = String::from_utf8_lossy(tail);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(KEPT_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_whole_lines_are_kept() {
        let many: String = (0..500).map(|i| format!("line {i}\n")).collect();
        let kept = last_lines(many.as_bytes());
        assert_eq!(kept.lines().count(), KEPT_LINES);
        assert!(kept.ends_with("line 499"));
        let long = format!("{}\nlast", "x".repeat(3 * KEPT_BYTES));
        assert_eq!(
            last_lines(long.as_bytes()),
            "last",
            "a line cut at the start is left out"
        );
    }
}
