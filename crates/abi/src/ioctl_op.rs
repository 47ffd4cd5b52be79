//! The IOCTL request that forwards a user's ioctl(2) on a FUSE file. (Ioctls on the
//! `/dev/fuse` device itself are in the `ioctl` module.)

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Argument of `FUSE_IOCTL` (`fuse_ioctl_in`), followed by `in_size` input bytes.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct IoctlIn {
    /// File handle.
    pub fh: u64,
    /// [`IoctlFlags`](crate::IoctlFlags).
    pub flags: u32,
    /// The ioctl command.
    pub cmd: u32,
    /// The ioctl argument (a user pointer or a value).
    pub arg: u64,
    /// Bytes of input that follow.
    pub in_size: u32,
    /// Maximum bytes of output accepted.
    pub out_size: u32,
}

/// One memory range of an unrestricted-ioctl retry (`fuse_ioctl_iovec`, 7.16).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct IoctlIovec {
    /// User address.
    pub base: u64,
    /// Length.
    pub len: u64,
}

/// Reply to `FUSE_IOCTL` (`fuse_ioctl_out`), followed by output data or, with
/// `IoctlFlags::RETRY`, `in_iovs + out_iovs` [`IoctlIovec`] records.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct IoctlOut {
    /// Return value of the ioctl.
    pub result: i32,
    /// [`IoctlFlags`](crate::IoctlFlags) (only `RETRY` is meaningful).
    pub flags: u32,
    /// Number of input iovecs for a retry.
    pub in_iovs: u32,
    /// Number of output iovecs for a retry.
    pub out_iovs: u32,
}
