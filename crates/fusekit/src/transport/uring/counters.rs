//! The counters the io_uring transport keeps ([`UringCounters`], shared by its queue threads)
//! and their public snapshot ([`UringStats`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the io_uring transport, shared by its queue threads and readable anywhere.
#[derive(Debug, Default)]
pub(crate) struct UringCounters {
    pub(crate) requests: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) foreign_replies: AtomicU64,
    pub(crate) wakeups: AtomicU64,
    pub(crate) submit_errors: AtomicU64,
    pub(crate) commit_errors: AtomicU64,
    pub(crate) reregistered: AtomicU64,
}

impl UringCounters {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, queues: usize, depth: usize) -> UringStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        UringStats {
            queues,
            queue_depth: depth,
            requests: get(&self.requests),
            commits: get(&self.commits),
            foreign_replies: get(&self.foreign_replies),
            wakeups: get(&self.wakeups),
            submit_errors: get(&self.submit_errors),
            commit_errors: get(&self.commit_errors),
            reregistered: get(&self.reregistered),
        }
    }
}

/// A snapshot of the io_uring transport's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UringStats {
    /// Queues (one per possible CPU).
    pub queues: usize,
    /// Ring entries per queue.
    pub queue_depth: usize,
    /// Requests received over the rings (never FORGET/INTERRUPT: those use /dev/fuse).
    pub requests: u64,
    /// COMMIT_AND_FETCH commands submitted (one per reply).
    pub commits: u64,
    /// Replies produced on a thread other than the queue's owner and handed over to it.
    pub foreign_replies: u64,
    /// Wake-ups of a queue owner by a foreign thread (eventfd writes).
    pub wakeups: u64,
    /// io_uring_enter calls that failed with anything but EINTR (e.g. EEXIST when a thread
    /// other than the owner entered a SINGLE_ISSUER ring — which must never happen).
    pub submit_errors: u64,
    /// Commands the kernel completed with an unexpected error (not the -ENOTCONN of unmount).
    pub commit_errors: u64,
    /// Entries registered again after the kernel dropped them.
    pub reregistered: u64,
}
