//! Counters a session keeps about itself, readable from any thread (tests and monitoring).

use std::sync::atomic::{AtomicU64, Ordering};

use super::opcode_counts::{OpcodeCounters, RequestCounts};

/// Live counters of one session. All counts are since the session started.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) replies: AtomicU64,
    pub(crate) replies_forgotten: AtomicU64,
    pub(crate) replies_after_unmount: AtomicU64,
    pub(crate) reply_errors: AtomicU64,
    pub(crate) decode_errors: AtomicU64,
    pub(crate) dropped_replies: AtomicU64,
    pub(crate) interrupts: AtomicU64,
    pub(crate) notify_errors: AtomicU64,
    pub(crate) polled_requests: AtomicU64,
    pub(crate) locks_after_release: AtomicU64,
    pub(crate) request_id_gaps: AtomicU64,
    pub(crate) by_opcode: OpcodeCounters,
}

/// A snapshot of a session's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// The requests served, by opcode (what `requests` counts, INTERRUPT and FORGET
    /// included, by kind).
    pub by_opcode: RequestCounts,
    /// Requests read from the kernel (including FORGET and INTERRUPT).
    pub requests: u64,
    /// Replies written successfully.
    pub replies: u64,
    /// Replies the kernel refused with ENOENT: the request was interrupted or the connection
    /// was tearing down (e.g. a RELEASE answered right after unmount). Not an error.
    pub replies_forgotten: u64,
    /// Replies that found the connection gone (ENODEV). Not an error.
    pub replies_after_unmount: u64,
    /// Replies that failed for any other reason (each one logged at error level).
    pub reply_errors: u64,
    /// Requests that could not be decoded (each answered with an error and logged).
    pub decode_errors: u64,
    /// Reply handles dropped without an answer (each answered EIO and logged).
    pub dropped_replies: u64,
    /// INTERRUPT requests received.
    pub interrupts: u64,
    /// Notifications the kernel refused.
    pub notify_errors: u64,
    /// Requests a /dev/fuse worker picked up while busy polling (`Session::busy_poll`),
    /// without sleeping.
    pub polled_requests: u64,
    /// Lock requests (GETLK, SETLK, SETLKW) that waited for an earlier RELEASE of their
    /// inode to be answered first. RELEASE is asynchronous (`close` does not wait for it);
    /// the session still serves a lock request only after the RELEASEs the kernel queued
    /// before it, so locking right after closing the holder's descriptor succeeds.
    pub locks_after_release: u64,
    /// Request ids a lock request waited for in vain: requests the kernel dropped before
    /// any worker read them. Each cost that lock request up to 10 ms.
    pub request_id_gaps: u64,
}

impl Stats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let by_opcode = self.by_opcode.snapshot();
        StatsSnapshot {
            requests: by_opcode.total(),
            replies: get(&self.replies),
            replies_forgotten: get(&self.replies_forgotten),
            replies_after_unmount: get(&self.replies_after_unmount),
            reply_errors: get(&self.reply_errors),
            decode_errors: get(&self.decode_errors),
            dropped_replies: get(&self.dropped_replies),
            interrupts: get(&self.interrupts),
            notify_errors: get(&self.notify_errors),
            polled_requests: get(&self.polled_requests),
            locks_after_release: get(&self.locks_after_release),
            request_id_gaps: get(&self.request_id_gaps),
            by_opcode,
        }
    }
}
