//! POLL request and reply. (The wake-up notification is in the notify module.)

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Argument of `FUSE_POLL` (`fuse_poll_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct PollIn {
    /// File handle.
    pub fh: u64,
    /// Kernel handle to name in a poll wake-up notification.
    pub kh: u64,
    /// [`PollFlags`](crate::PollFlags).
    pub flags: u32,
    /// Requested `poll(2)` events.
    pub events: u32,
}

/// Reply to `FUSE_POLL` (`fuse_poll_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct PollOut {
    /// Ready `poll(2)` events.
    pub revents: u32,
    /// Padding.
    pub padding: u32,
}
