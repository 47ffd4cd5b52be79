//! Data-path messages: READ / WRITE, FALLOCATE, LSEEK, COPY_FILE_RANGE(_64) and BMAP.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Argument of `FUSE_READ`, `FUSE_READDIR` and `FUSE_READDIRPLUS` (`fuse_read_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ReadIn {
    /// File handle.
    pub fh: u64,
    /// Offset (for directories, the `off` cookie of the last entry returned).
    pub offset: u64,
    /// Maximum bytes to return.
    pub size: u32,
    /// [`ReadFlags`](crate::ReadFlags).
    pub read_flags: u32,
    /// Lock owner (with `ReadFlags::LOCKOWNER`).
    pub lock_owner: u64,
    /// `open(2)` flags of the file.
    pub flags: u32,
    /// Padding.
    pub padding: u32,
}

/// Argument of `FUSE_WRITE` (`fuse_write_in`), followed by `size` bytes of data.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct WriteIn {
    /// File handle.
    pub fh: u64,
    /// Offset.
    pub offset: u64,
    /// Number of data bytes that follow.
    pub size: u32,
    /// [`WriteFlags`](crate::WriteFlags).
    pub write_flags: u32,
    /// Lock owner (with `WriteFlags::LOCKOWNER`).
    pub lock_owner: u64,
    /// `open(2)` flags of the file.
    pub flags: u32,
    /// Padding.
    pub padding: u32,
}

/// Reply to `FUSE_WRITE` and `FUSE_COPY_FILE_RANGE` (`fuse_write_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct WriteOut {
    /// Bytes written.
    pub size: u32,
    /// Padding.
    pub padding: u32,
}

/// Argument of `FUSE_FALLOCATE` (`fuse_fallocate_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct FallocateIn {
    /// File handle.
    pub fh: u64,
    /// Start of the range.
    pub offset: u64,
    /// Length of the range.
    pub length: u64,
    /// `fallocate(2)` mode (`FALLOC_FL_*`).
    pub mode: u32,
    /// Padding.
    pub padding: u32,
}

/// Argument of `FUSE_LSEEK` (`fuse_lseek_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct LseekIn {
    /// File handle.
    pub fh: u64,
    /// Starting offset.
    pub offset: u64,
    /// `SEEK_DATA` or `SEEK_HOLE` (others are handled by the kernel).
    pub whence: u32,
    /// Padding.
    pub padding: u32,
}

/// Reply to `FUSE_LSEEK` (`fuse_lseek_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct LseekOut {
    /// Resulting offset.
    pub offset: u64,
}

/// Argument of `FUSE_COPY_FILE_RANGE` and `FUSE_COPY_FILE_RANGE_64`
/// (`fuse_copy_file_range_in`); the source node is `InHeader::nodeid`.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct CopyFileRangeIn {
    /// Source file handle.
    pub fh_in: u64,
    /// Source offset.
    pub off_in: u64,
    /// Destination node.
    pub nodeid_out: u64,
    /// Destination file handle.
    pub fh_out: u64,
    /// Destination offset.
    pub off_out: u64,
    /// Bytes to copy.
    pub len: u64,
    /// `copy_file_range(2)` flags.
    pub flags: u64,
}

/// Reply to `FUSE_COPY_FILE_RANGE_64` (`fuse_copy_file_range_out`, 7.45).
/// (`FUSE_COPY_FILE_RANGE` replies with a [`WriteOut`].)
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct CopyFileRangeOut {
    /// Bytes copied.
    pub bytes_copied: u64,
}

/// Argument of `FUSE_BMAP` (`fuse_bmap_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct BmapIn {
    /// Block number in the file.
    pub block: u64,
    /// Block size.
    pub blocksize: u32,
    /// Padding.
    pub padding: u32,
}

/// Reply to `FUSE_BMAP` (`fuse_bmap_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct BmapOut {
    /// Block number on the device.
    pub block: u64,
}
