//! Waiting for a child from async code: the pidfd registered with tokio's reactor.

use std::io;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::child::{Child, Exit};

impl Child {
    /// Waits for the process to end without blocking a runtime thread. Needs a tokio
    /// runtime with I/O enabled. Each call registers its own copy of the pidfd, so
    /// several tasks may wait for the same child.
    pub async fn wait_async(&self) -> io::Result<Exit> {
        let copy = self.pidfd().try_clone_to_owned()?;
        // SAFETY: the AsyncFd owns `copy`, an open pidfd that stays open and the same
        // for the AsyncFd's whole life.
        let fd = unsafe { AsyncFd::register_with_interest(copy, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        loop {
            if let Some(done) = self.try_wait()? {
                return Ok(done);
            }
            let mut ready = fd.readable().await?;
            ready.clear_ready();
        }
    }
}
