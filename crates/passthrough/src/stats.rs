//! Counters the filesystem keeps about the work it did itself (as opposed to the session's
//! counters): how many READ/WRITE requests reached the daemon, how many opens went to kernel
//! passthrough, how many inodes are known and how many of their descriptors are open.
//! Tests use them to prove passthrough bypasses the daemon and that big trees stay within
//! the descriptor budget.

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
    pub(crate) inodes: AtomicU64,
    pub(crate) fd_budget: AtomicU64,
    pub(crate) pinned_fds: AtomicU64,
    pub(crate) cached_fds: AtomicU64,
    pub(crate) fd_reopens: AtomicU64,
    pub(crate) fd_evictions: AtomicU64,
    pub(crate) stale_handles: AtomicU64,
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
    /// Node ids known to the kernel now (the root included).
    pub inodes: u64,
    /// The most inode descriptors (pinned plus cached) kept open at once.
    pub fd_budget: u64,
    /// Inode descriptors open for the inode's whole life now (the root, and inodes whose
    /// source filesystem gives no usable file handle).
    pub pinned_fds: u64,
    /// Inode descriptors open in the cache now (reopened from file handles when evicted).
    pub cached_fds: u64,
    /// Evicted descriptors reopened from their file handle.
    pub fd_reopens: u64,
    /// Cached descriptors closed to stay within the budget.
    pub fd_evictions: u64,
    /// Reopens that found the file gone (answered ESTALE).
    pub stale_handles: u64,
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
            inodes: get(&c.inodes),
            fd_budget: get(&c.fd_budget),
            pinned_fds: get(&c.pinned_fds),
            cached_fds: get(&c.cached_fds),
            fd_reopens: get(&c.fd_reopens),
            fd_evictions: get(&c.fd_evictions),
            stale_handles: get(&c.stale_handles),
        }
    }
}
