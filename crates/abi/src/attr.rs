//! File attributes and filesystem statistics: [`Attr`] and the GETATTR / SETATTR /
//! STATFS messages that carry it.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// File attributes, as in `struct stat` (`fuse_attr`). `flags` (7.32) was padding before.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Attr {
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Number of 512-byte blocks allocated.
    pub blocks: u64,
    /// Last access, seconds.
    pub atime: u64,
    /// Last modification, seconds.
    pub mtime: u64,
    /// Last status change, seconds.
    pub ctime: u64,
    /// Last access, nanoseconds.
    pub atimensec: u32,
    /// Last modification, nanoseconds.
    pub mtimensec: u32,
    /// Last status change, nanoseconds.
    pub ctimensec: u32,
    /// File type and permission bits.
    pub mode: u32,
    /// Number of hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number, for device files.
    pub rdev: u32,
    /// Preferred I/O block size.
    pub blksize: u32,
    /// [`AttrFlags`](crate::AttrFlags) (7.32).
    pub flags: u32,
}

/// Argument of `FUSE_GETATTR` (`fuse_getattr_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct GetattrIn {
    /// [`GetattrFlags`](crate::GetattrFlags).
    pub getattr_flags: u32,
    /// Padding.
    pub dummy: u32,
    /// File handle, valid with `GetattrFlags::FH`.
    pub fh: u64,
}

/// Reply to `FUSE_GETATTR` and `FUSE_SETATTR` (`fuse_attr_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct AttrOut {
    /// Attribute cache timeout, seconds.
    pub attr_valid: u64,
    /// Attribute cache timeout, nanoseconds.
    pub attr_valid_nsec: u32,
    /// Padding.
    pub dummy: u32,
    /// The attributes.
    pub attr: Attr,
}

/// Argument of `FUSE_SETATTR` (`fuse_setattr_in`); `valid` says which fields count.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SetattrIn {
    /// [`SetattrValid`](crate::SetattrValid).
    pub valid: u32,
    /// Padding.
    pub padding: u32,
    /// File handle (with `FH`).
    pub fh: u64,
    /// New size (with `SIZE`).
    pub size: u64,
    /// Lock owner (with `LOCKOWNER`).
    pub lock_owner: u64,
    /// New access time, seconds (with `ATIME`).
    pub atime: u64,
    /// New modification time, seconds (with `MTIME`).
    pub mtime: u64,
    /// New change time, seconds (with `CTIME`).
    pub ctime: u64,
    /// New access time, nanoseconds.
    pub atimensec: u32,
    /// New modification time, nanoseconds.
    pub mtimensec: u32,
    /// New change time, nanoseconds.
    pub ctimensec: u32,
    /// New mode (with `MODE`).
    pub mode: u32,
    /// Unused.
    pub unused4: u32,
    /// New owner (with `UID`).
    pub uid: u32,
    /// New group (with `GID`).
    pub gid: u32,
    /// Unused.
    pub unused5: u32,
}

/// Filesystem statistics, as in `struct statfs` (`fuse_kstatfs`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Kstatfs {
    /// Total blocks.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks available to unprivileged users.
    pub bavail: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Block size.
    pub bsize: u32,
    /// Maximum name length.
    pub namelen: u32,
    /// Fragment size.
    pub frsize: u32,
    /// Padding.
    pub padding: u32,
    /// Reserved.
    pub spare: [u32; 6],
}

/// Reply to `FUSE_STATFS` (`fuse_statfs_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct StatfsOut {
    /// The statistics.
    pub st: Kstatfs,
}
