//! File locking messages: GETLK, SETLK, SETLKW (POSIX locks and, with `LkFlags::FLOCK`,
//! BSD flocks).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A lock range (`fuse_file_lock`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct FileLock {
    /// First byte of the range.
    pub start: u64,
    /// Last byte of the range (inclusive; `OFFSET_MAX` for "to the end").
    pub end: u64,
    /// `F_RDLCK`, `F_WRLCK` or `F_UNLCK`.
    pub r#type: u32,
    /// Thread group id of the lock holder.
    pub pid: u32,
}

/// Argument of `FUSE_GETLK`, `FUSE_SETLK` and `FUSE_SETLKW` (`fuse_lk_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct LkIn {
    /// File handle.
    pub fh: u64,
    /// Lock owner.
    pub owner: u64,
    /// The lock.
    pub lk: FileLock,
    /// [`LkFlags`](crate::LkFlags).
    pub lk_flags: u32,
    /// Padding.
    pub padding: u32,
}

/// Reply to `FUSE_GETLK` (`fuse_lk_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct LkOut {
    /// The conflicting lock, or the request's range with type `F_UNLCK`.
    pub lk: FileLock,
}
