//! DAX mapping messages (virtio-fs only): SETUPMAPPING and REMOVEMAPPING.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Argument of `FUSE_SETUPMAPPING` (`fuse_setupmapping_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SetupmappingIn {
    /// An already open file handle.
    pub fh: u64,
    /// Offset in the file where the mapping starts.
    pub foffset: u64,
    /// Length of the mapping.
    pub len: u64,
    /// [`SetupmappingFlags`](crate::SetupmappingFlags).
    pub flags: u64,
    /// Offset in the DAX memory window.
    pub moffset: u64,
}

/// Argument of `FUSE_REMOVEMAPPING` (`fuse_removemapping_in`; 4 bytes, no padding),
/// followed by `count` [`RemovemappingOne`] records.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RemovemappingIn {
    /// Number of records that follow.
    pub count: u32,
}

/// One range of a `FUSE_REMOVEMAPPING` (`fuse_removemapping_one`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RemovemappingOne {
    /// Offset in the DAX window.
    pub moffset: u64,
    /// Length.
    pub len: u64,
}
