//! Typed reply handles. Each request gets exactly one handle; it is `Send`, so a filesystem
//! may keep it and answer later from any thread. A handle dropped without an answer replies
//! EIO and logs a warning, so the caller never hangs. Sending never takes a session lock: the
//! handle owns the request id and a reference to the channel its request came from.
//!
//! Failed writes are classified once, here (rule 1 of ARCHITECTURE.md): ENOENT means the kernel
//! forgot the request (interrupted, or the connection is tearing down) and is counted and
//! logged at debug level; ENODEV means the mount is gone; anything else is an error.

mod dir;
mod handle;
mod types;

use std::io::IoSlice;
use std::sync::Arc;

use fusekit_abi as abi;
use rustix::io::Errno;

use crate::conn::{Connection, Stats};
use crate::transport::FrameSink;

pub use dir::{ReplyDirectory, ReplyDirectoryPlus};
pub(crate) use handle::ReplyInner;
pub use types::*;

/// The path back to the kernel for the requests that came through one sink (a /dev/fuse
/// worker's descriptor, an io_uring entry): the sink plus the connection's bookkeeping.
#[derive(Debug)]
pub(crate) struct Channel {
    sink: Arc<dyn FrameSink>,
    conn: Arc<Connection>,
}

impl Channel {
    pub(crate) fn new(sink: Arc<dyn FrameSink>, conn: Arc<Connection>) -> Self {
        Channel { sink, conn }
    }

    pub(crate) fn conn(&self) -> &Arc<Connection> {
        &self.conn
    }

    /// Sends one reply and classifies the outcome. Returns whether the kernel took it.
    pub(crate) fn send(&self, unique: u64, error: i32, payload: &[IoSlice<'_>]) -> bool {
        let len =
            core::mem::size_of::<abi::OutHeader>() + payload.iter().map(|s| s.len()).sum::<usize>();
        let header = abi::OutHeader {
            len: len as u32,
            error,
            unique,
        };
        let result = self.sink.send(&header, payload);
        self.conn.interrupts.finish(unique);
        self.conn.release_fence.answered(unique);
        let stats = &self.conn.stats;
        match result {
            Ok(()) => {
                Stats::bump(&stats.replies);
                true
            }
            Err(Errno::NOENT) => {
                Stats::bump(&stats.replies_forgotten);
                tracing::debug!(unique, "reply to a request the kernel no longer waits for");
                false
            }
            Err(Errno::NODEV) => {
                Stats::bump(&stats.replies_after_unmount);
                tracing::debug!(unique, "reply after the connection was closed");
                false
            }
            Err(e) => {
                Stats::bump(&stats.reply_errors);
                tracing::error!(unique, error = %e, "writing a reply failed");
                false
            }
        }
    }
}
