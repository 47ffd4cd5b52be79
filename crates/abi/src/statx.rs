//! The STATX request (7.39): argument, reply, and the statx(2)-compatible
//! [`Statx`] / [`SxTime`] records.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A timestamp, bit-for-bit `struct statx_timestamp` (`fuse_sx_time`, 7.39).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SxTime {
    /// Seconds since the epoch.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: u32,
    /// Reserved.
    pub __reserved: i32,
}

/// Extended attributes, bit-for-bit `struct statx` (`fuse_statx`, 7.39).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Statx {
    /// Which fields are filled (`STATX_*`).
    pub mask: u32,
    /// Preferred I/O block size.
    pub blksize: u32,
    /// File attributes (`STATX_ATTR_*`).
    pub attributes: u64,
    /// Number of hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// File type and permissions.
    pub mode: u16,
    /// Reserved.
    pub __spare0: [u16; 1],
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Number of 512-byte blocks allocated.
    pub blocks: u64,
    /// Which `attributes` bits are supported.
    pub attributes_mask: u64,
    /// Last access.
    pub atime: SxTime,
    /// Creation.
    pub btime: SxTime,
    /// Last status change.
    pub ctime: SxTime,
    /// Last modification.
    pub mtime: SxTime,
    /// Device major, for device files.
    pub rdev_major: u32,
    /// Device minor, for device files.
    pub rdev_minor: u32,
    /// Major of the device holding the file.
    pub dev_major: u32,
    /// Minor of the device holding the file.
    pub dev_minor: u32,
    /// Reserved.
    pub __spare2: [u64; 14],
}

/// Argument of `FUSE_STATX` (`fuse_statx_in`, 7.39).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct StatxIn {
    /// [`GetattrFlags`](crate::GetattrFlags).
    pub getattr_flags: u32,
    /// Reserved.
    pub reserved: u32,
    /// File handle (with `GetattrFlags::FH`).
    pub fh: u64,
    /// statx(2) `flags` (`AT_STATX_*`).
    pub sx_flags: u32,
    /// statx(2) `mask` (`STATX_*`).
    pub sx_mask: u32,
}

/// Reply to `FUSE_STATX` (`fuse_statx_out`, 7.39).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct StatxOut {
    /// Attribute cache timeout, seconds.
    pub attr_valid: u64,
    /// Attribute cache timeout, nanoseconds.
    pub attr_valid_nsec: u32,
    /// Flags (none defined in 7.45).
    pub flags: u32,
    /// Reserved.
    pub spare: [u64; 2],
    /// The attributes.
    pub stat: Statx,
}
