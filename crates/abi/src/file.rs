//! Open-file lifecycle messages: OPEN / OPENDIR / CREATE / TMPFILE arguments and reply,
//! RELEASE, FLUSH, FSYNC / FSYNCDIR, plus ACCESS and SYNCFS.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Argument of `FUSE_OPEN` and `FUSE_OPENDIR` (`fuse_open_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct OpenIn {
    /// `open(2)` flags (`O_*`).
    pub flags: u32,
    /// [`OpenInFlags`](crate::OpenInFlags) (7.33; unused before).
    pub open_flags: u32,
}

/// Argument of `FUSE_CREATE` and `FUSE_TMPFILE` (7.37) (`fuse_create_in`). For CREATE
/// the new name follows; TMPFILE has no meaningful name (libfuse ignores any payload).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct CreateIn {
    /// `open(2)` flags (`O_*`).
    pub flags: u32,
    /// File type and permissions.
    pub mode: u32,
    /// Caller's umask.
    pub umask: u32,
    /// [`OpenInFlags`](crate::OpenInFlags) (7.33; padding before).
    pub open_flags: u32,
}

/// Reply to `FUSE_OPEN` / `FUSE_OPENDIR`, and second part of the CREATE / TMPFILE reply
/// after an [`EntryOut`](crate::EntryOut) (`fuse_open_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct OpenOut {
    /// File handle chosen by the server.
    pub fh: u64,
    /// [`OpenOutFlags`](crate::OpenOutFlags).
    pub open_flags: u32,
    /// Backing file id for `FOPEN_PASSTHROUGH` (7.40; padding before).
    pub backing_id: i32,
}

/// Argument of `FUSE_RELEASE` and `FUSE_RELEASEDIR` (`fuse_release_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ReleaseIn {
    /// File handle.
    pub fh: u64,
    /// `open(2)` flags the file was opened with.
    pub flags: u32,
    /// [`ReleaseFlags`](crate::ReleaseFlags).
    pub release_flags: u32,
    /// Lock owner.
    pub lock_owner: u64,
}

/// Argument of `FUSE_FLUSH` (`fuse_flush_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct FlushIn {
    /// File handle.
    pub fh: u64,
    /// Unused.
    pub unused: u32,
    /// Padding.
    pub padding: u32,
    /// Lock owner of the closing file descriptor.
    pub lock_owner: u64,
}

/// Argument of `FUSE_FSYNC` and `FUSE_FSYNCDIR` (`fuse_fsync_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct FsyncIn {
    /// File handle.
    pub fh: u64,
    /// [`FsyncFlags`](crate::FsyncFlags).
    pub fsync_flags: u32,
    /// Padding.
    pub padding: u32,
}

/// Argument of `FUSE_ACCESS` (`fuse_access_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct AccessIn {
    /// `access(2)` mask (`R_OK`, `W_OK`, `X_OK`, `F_OK`).
    pub mask: u32,
    /// Padding.
    pub padding: u32,
}

/// Argument of `FUSE_SYNCFS` (`fuse_syncfs_in`, 7.34).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SyncfsIn {
    /// Padding.
    pub padding: u64,
}
