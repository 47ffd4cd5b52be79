//! The session handshake: `FUSE_INIT` request ([`InitIn`]) and reply ([`InitOut`]).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Argument of `FUSE_INIT` (`fuse_init_in`). `flags2` and `unused` exist since 7.36.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct InitIn {
    /// Kernel's major protocol version.
    pub major: u32,
    /// Kernel's minor protocol version.
    pub minor: u32,
    /// Maximum readahead in bytes.
    pub max_readahead: u32,
    /// Offered capabilities, low half of [`InitFlags`](crate::InitFlags).
    pub flags: u32,
    /// Offered capabilities, high half (valid with `INIT_EXT`) (7.36).
    pub flags2: u32,
    /// Reserved.
    pub unused: [u32; 11],
}

/// Reply to `FUSE_INIT` (`fuse_init_out`).
///
/// 7.36 added `flags2`, 7.40 `max_stack_depth`, 7.43 `request_timeout`. Peers older than
/// 7.23 expect only [`COMPAT_22_INIT_OUT_SIZE`](crate::COMPAT_22_INIT_OUT_SIZE) bytes.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct InitOut {
    /// Server's major protocol version.
    pub major: u32,
    /// Server's minor protocol version.
    pub minor: u32,
    /// Maximum readahead in bytes.
    pub max_readahead: u32,
    /// Accepted capabilities, low half of [`InitFlags`](crate::InitFlags).
    pub flags: u32,
    /// Maximum number of outstanding background requests.
    pub max_background: u16,
    /// Background requests at which the kernel marks the bdi congested.
    pub congestion_threshold: u16,
    /// Maximum size of one WRITE payload.
    pub max_write: u32,
    /// Timestamp granularity in nanoseconds.
    pub time_gran: u32,
    /// Maximum pages per request (with `MAX_PAGES`).
    pub max_pages: u16,
    /// log2 of the DAX mapping alignment (with `MAP_ALIGNMENT`).
    pub map_alignment: u16,
    /// Accepted capabilities, high half (with `INIT_EXT`) (7.36).
    pub flags2: u32,
    /// Maximum filesystem stacking depth for passthrough backing files (7.40).
    pub max_stack_depth: u32,
    /// Request timeout in seconds (with `REQUEST_TIMEOUT`) (7.43).
    pub request_timeout: u16,
    /// Reserved.
    pub unused: [u16; 11],
}
