//! Counters the filesystem keeps about the work it did itself (as opposed to the session's
//! counters): how many READ/WRITE requests reached the daemon, how many opens went to kernel
//! passthrough. Tests use them to prove passthrough bypasses the daemon.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) reads: AtomicU64,
    pub(crate) read_bytes: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) written_bytes: AtomicU64,
    pub(crate) opens: AtomicU64,
    pub(crate) passthrough_opens: AtomicU64,
    pub(crate) backing_ids: AtomicU64,
    pub(crate) backing_failures: AtomicU64,
    pub(crate) creates: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A snapshot of a [`Passthrough`](crate::Passthrough)'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PassthroughStats {
    /// READ requests served by the daemon (zero for files opened with kernel passthrough).
    pub reads: u64,
    /// Bytes returned by those READs.
    pub read_bytes: u64,
    /// WRITE requests served by the daemon.
    pub writes: u64,
    /// Bytes written by those WRITEs.
    pub written_bytes: u64,
    /// Successful OPEN, CREATE and TMPFILE requests for regular files.
    pub opens: u64,
    /// Of those, how many were answered with a kernel-passthrough backing id.
    pub passthrough_opens: u64,
    /// Backing ids registered with the kernel (one per inode while it is open).
    pub backing_ids: u64,
    /// Backing registrations the kernel refused (each fell back to READ/WRITE).
    pub backing_failures: u64,
    /// Create-like requests that made a new node (CREATE, MKNOD, MKDIR, SYMLINK, TMPFILE).
    pub creates: u64,
}

/// A handle to a filesystem's counters that stays valid after the filesystem was moved into
/// a session. Obtain it with [`Passthrough::stats_handle`](crate::Passthrough::stats_handle).
#[derive(Debug, Clone)]
pub struct StatsHandle {
    pub(crate) counters: Arc<Counters>,
}

impl StatsHandle {
    /// The counters now.
    pub fn snapshot(&self) -> PassthroughStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PassthroughStats {
            reads: get(&c.reads),
            read_bytes: get(&c.read_bytes),
            writes: get(&c.writes),
            written_bytes: get(&c.written_bytes),
            opens: get(&c.opens),
            passthrough_opens: get(&c.passthrough_opens),
            backing_ids: get(&c.backing_ids),
            backing_failures: get(&c.backing_failures),
            creates: get(&c.creates),
        }
    }
}
