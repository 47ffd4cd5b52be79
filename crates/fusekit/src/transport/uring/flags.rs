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

/// The most entries per queue the session chooses by itself for a filesystem that declared
/// how many requests it serves at once (`KernelConfig::set_requests_in_flight`); a larger
/// depth must be asked for with `Session::uring_queue_depth`.
pub const AUTO_QUEUE_DEPTH_MAX: usize = 32;

/// The depth of each queue when the user did not choose one: [`DEFAULT_QUEUE_DEPTH`], or,
/// for a filesystem that serves `in_flight` requests at once (it answers them later, from
/// other threads), enough entries for that many over `queues` queues — each request holds
/// its entry until answered — within [`AUTO_QUEUE_DEPTH_MAX`].
///
/// The share is not divided evenly: requests go to the queue of the CPU their caller runs
/// on, and callers crowd one CPU often enough, so a queue gets room for twice its even share.
pub(crate) fn auto_queue_depth(in_flight: u32, queues: usize) -> usize {
    if in_flight == 0 {
        return DEFAULT_QUEUE_DEPTH;
    }
    let even_share = (in_flight as usize).div_ceil(queues.max(1));
    (even_share * 2).clamp(DEFAULT_QUEUE_DEPTH, AUTO_QUEUE_DEPTH_MAX)
}

/// Largest accepted queue depth: every entry pins two buffers of max_write size.
pub const MAX_QUEUE_DEPTH: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filesystem_that_said_nothing_gets_the_default_depth() {
        assert_eq!(auto_queue_depth(0, 2), DEFAULT_QUEUE_DEPTH);
        assert_eq!(auto_queue_depth(0, 64), DEFAULT_QUEUE_DEPTH);
    }

    #[test]
    fn concurrent_filesystems_get_room_for_twice_their_share_within_bounds() {
        // 32 requests over 2 queues: 16 each, room for 32.
        assert_eq!(auto_queue_depth(32, 2), 32);
        // A small limit never goes below the default.
        assert_eq!(auto_queue_depth(4, 2), DEFAULT_QUEUE_DEPTH);
        // Many CPUs: the share per queue is small.
        assert_eq!(auto_queue_depth(64, 64), DEFAULT_QUEUE_DEPTH);
        assert_eq!(auto_queue_depth(256, 16), 32);
        assert_eq!(auto_queue_depth(96, 16), 12);
        // The async layer's default limit (1024) is capped.
        assert_eq!(auto_queue_depth(1024, 2), AUTO_QUEUE_DEPTH_MAX);
        // Zero queues cannot divide by zero.
        assert_eq!(auto_queue_depth(10, 0), 20);
    }
}
