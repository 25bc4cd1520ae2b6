//! Whether the reader of standard output has gone (`koobackup record list --jsonl | head -100`):
//! a streamed listing stops fetching pages nobody will read the moment the pipe's reader closes
//! it, instead of finding out at its next write, a page later.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Standard output, watched for its reader closing it. Only a pipe is watched: a file or a
/// terminal has no reader that leaves.
pub struct ReaderWatch {
    fd: Option<AsyncFd<OwnedFd>>,
}

impl ReaderWatch {
    /// Watches standard output when it is a pipe (a copy of its descriptor, so nothing of the
    /// real one changes).
    pub fn stdout() -> ReaderWatch {
        // SAFETY: fd 1 stays open for the life of the process; it is only borrowed to be copied.
        let stdout = unsafe { BorrowedFd::borrow_raw(std::io::stdout().as_raw_fd()) };
        let Ok(copy) = stdout.try_clone_to_owned() else {
            return ReaderWatch::none();
        };
        let file = std::fs::File::from(copy);
        let is_pipe = file.metadata().is_ok_and(|meta| meta.file_type().is_fifo());
        if !is_pipe {
            return ReaderWatch::none();
        }
        // SAFETY: the OwnedFd is moved into the AsyncFd and owned by it: it stays open, and is
        // the same descriptor, for as long as the AsyncFd lives.
        let fd = unsafe { AsyncFd::register_with_interest(OwnedFd::from(file), Interest::ERROR) };
        ReaderWatch { fd: fd.ok() }
    }

    /// Watches nothing: [`ReaderWatch::gone`] never returns.
    pub fn none() -> ReaderWatch {
        ReaderWatch { fd: None }
    }

    /// Returns once the reader has closed the pipe; never when standard output is not a pipe.
    pub async fn gone(&self) {
        match &self.fd {
            Some(fd) => {
                // The error readiness of a pipe's write end is its reader closing it; it stays set.
                let _ = fd.ready(Interest::ERROR).await;
            }
            None => std::future::pending().await,
        }
    }
}
