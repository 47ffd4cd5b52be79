//! The headers that start every message ([`InHeader`] on requests from the kernel,
//! [`OutHeader`] on replies and notifications to it) and the INTERRUPT argument, which
//! names another request by its `unique`.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Header of every request the kernel sends (`fuse_in_header`).
///
/// `total_extlen` (7.38; was padding before) is the length of the request extensions
/// (see [`ExtHeader`](crate::ExtHeader)) at the end of the request, in 8-byte units.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct InHeader {
    /// Total length of the request, this header included.
    pub len: u32,
    /// Raw opcode; see [`Opcode`](crate::Opcode).
    pub opcode: u32,
    /// Request id, echoed in the reply.
    pub unique: u64,
    /// Node the request is about.
    pub nodeid: u64,
    /// Caller's fsuid.
    pub uid: u32,
    /// Caller's fsgid.
    pub gid: u32,
    /// Caller's thread group id.
    pub pid: u32,
    /// Length of the extensions in 8-byte units (7.38).
    pub total_extlen: u16,
    /// Padding.
    pub padding: u16,
}

/// Header of every reply and notification written to the kernel (`fuse_out_header`).
///
/// A notification has `unique == 0` and the [`NotifyCode`](crate::NotifyCode) in `error`.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct OutHeader {
    /// Total length of the reply, this header included.
    pub len: u32,
    /// 0 or a negated errno; the notify code for notifications.
    pub error: i32,
    /// The request id being answered; 0 for notifications.
    pub unique: u64,
}

/// Argument of `FUSE_INTERRUPT` (`fuse_interrupt_in`). The INTERRUPT request's own
/// `unique` is the interrupted one with [`INT_REQ_BIT`](crate::INT_REQ_BIT) set.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct InterruptIn {
    /// The `unique` of the request to interrupt.
    pub unique: u64,
}
