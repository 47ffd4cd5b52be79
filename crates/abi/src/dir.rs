//! Directory listing records: [`Dirent`] (READDIR) and [`Direntplus`] (READDIRPLUS),
//! and the 8-byte record alignment that packs them into a reply.

use crate::EntryOut;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Fixed part of one READDIR record (`fuse_dirent`). On the wire `namelen` name bytes
/// (no NUL) follow, then zero padding up to [`dirent_size`]`(namelen)`.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Dirent {
    /// Inode number.
    pub ino: u64,
    /// Cookie the kernel passes back as `ReadIn::offset` to continue after this entry.
    pub off: u64,
    /// Length of the name that follows.
    pub namelen: u32,
    /// File type, as `d_type` (`DT_*`) — that is `(mode & S_IFMT) >> 12`.
    pub r#type: u32,
}

/// Fixed part of one READDIRPLUS record (`fuse_direntplus`). On the wire the name
/// follows, then zero padding up to [`direntplus_size`]`(dirent.namelen)`.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Direntplus {
    /// Entry and attributes, as a LOOKUP reply would give (counts as a lookup unless
    /// `nodeid` is 0).
    pub entry_out: EntryOut,
    /// The directory entry.
    pub dirent: Dirent,
}

/// Offset of the name in a READDIR record (`FUSE_NAME_OFFSET`).
pub const NAME_OFFSET: usize = core::mem::size_of::<Dirent>();

/// Offset of the name in a READDIRPLUS record (`FUSE_NAME_OFFSET_DIRENTPLUS`).
pub const NAME_OFFSET_DIRENTPLUS: usize = core::mem::size_of::<Direntplus>();

/// Rounds a record length up to the next multiple of 8 (`FUSE_REC_ALIGN`,
/// `FUSE_DIRENT_ALIGN`).
pub const fn rec_align(len: usize) -> usize {
    (len + 7) & !7
}

/// Size of a READDIR record with a name of `namelen` bytes, padding included
/// (`FUSE_DIRENT_SIZE`).
pub const fn dirent_size(namelen: usize) -> usize {
    rec_align(NAME_OFFSET + namelen)
}

/// Size of a READDIRPLUS record with a name of `namelen` bytes, padding included
/// (`FUSE_DIRENTPLUS_SIZE`).
pub const fn direntplus_size(namelen: usize) -> usize {
    rec_align(NAME_OFFSET_DIRENTPLUS + namelen)
}
