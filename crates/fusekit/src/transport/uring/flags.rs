//! The knobs a user sets for the io_uring transport: ring setup flags ([`RingFlags`]) and the
//! queue depth bounds. No I/O here.

bitflags::bitflags! {
    /// io_uring setup flags for the per-CPU rings. Whatever is chosen, a ring is only ever
    /// entered by the thread that created it (replies from other threads are handed over).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct RingFlags: u8 {
        /// IORING_SETUP_SINGLE_ISSUER: the kernel may skip locking because one task submits.
        const SINGLE_ISSUER = 1 << 0;
        /// IORING_SETUP_DEFER_TASKRUN: completion work runs only when the owner waits
        /// (implies SINGLE_ISSUER, which is added automatically).
        const DEFER_TASKRUN = 1 << 1;
        /// IORING_SETUP_COOP_TASKRUN: no IPI to interrupt the owner for completion work.
        const COOP_TASKRUN = 1 << 2;
    }
}

impl RingFlags {
    /// The flags the session uses unless told otherwise (chosen by measurement; see the
    /// module documentation of the io_uring transport).
    pub const fn default_flags() -> RingFlags {
        RingFlags::SINGLE_ISSUER.union(RingFlags::DEFER_TASKRUN)
    }
}

impl Default for RingFlags {
    fn default() -> Self {
        Self::default_flags()
    }
}

/// Default number of ring entries per queue (requests one CPU's queue can hold at once).
pub const DEFAULT_QUEUE_DEPTH: usize = 8;

/// Largest accepted queue depth: every entry pins two buffers of max_write size.
pub const MAX_QUEUE_DEPTH: usize = 1024;
