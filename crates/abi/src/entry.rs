//! Directory-entry messages: the [`EntryOut`] reply of LOOKUP / MKNOD / MKDIR / SYMLINK /
//! LINK / CREATE, the forget messages, and the arguments of the name-creating and
//! renaming opcodes.

use crate::Attr;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Reply to `FUSE_LOOKUP` and the creating opcodes (`fuse_entry_out`).
///
/// `nodeid == 0` in a LOOKUP reply is a cacheable negative entry.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct EntryOut {
    /// Node id; (nodeid, generation) must be unique for the filesystem's lifetime.
    pub nodeid: u64,
    /// Inode generation.
    pub generation: u64,
    /// Name cache timeout, seconds.
    pub entry_valid: u64,
    /// Attribute cache timeout, seconds.
    pub attr_valid: u64,
    /// Name cache timeout, nanoseconds.
    pub entry_valid_nsec: u32,
    /// Attribute cache timeout, nanoseconds.
    pub attr_valid_nsec: u32,
    /// The attributes.
    pub attr: Attr,
}

/// Argument of `FUSE_FORGET` (`fuse_forget_in`); no reply is sent.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ForgetIn {
    /// Number of lookups to forget.
    pub nlookup: u64,
}

/// One element of a `FUSE_BATCH_FORGET` (`fuse_forget_one`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ForgetOne {
    /// Node to forget.
    pub nodeid: u64,
    /// Number of lookups to forget.
    pub nlookup: u64,
}

/// Argument of `FUSE_BATCH_FORGET` (`fuse_batch_forget_in`), followed by `count`
/// [`ForgetOne`] records; no reply is sent.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct BatchForgetIn {
    /// Number of `ForgetOne` records that follow.
    pub count: u32,
    /// Padding.
    pub dummy: u32,
}

/// Argument of `FUSE_MKNOD` (`fuse_mknod_in`), followed by the name.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct MknodIn {
    /// File type and permissions.
    pub mode: u32,
    /// Device number.
    pub rdev: u32,
    /// Caller's umask.
    pub umask: u32,
    /// Padding.
    pub padding: u32,
}

/// Argument of `FUSE_MKDIR` (`fuse_mkdir_in`), followed by the name.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct MkdirIn {
    /// Permissions.
    pub mode: u32,
    /// Caller's umask.
    pub umask: u32,
}

/// Argument of `FUSE_RENAME` (`fuse_rename_in`), followed by old and new names.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RenameIn {
    /// Destination directory.
    pub newdir: u64,
}

/// Argument of `FUSE_RENAME2` (`fuse_rename2_in`), followed by old and new names.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Rename2In {
    /// Destination directory.
    pub newdir: u64,
    /// `RENAME_NOREPLACE`, `RENAME_EXCHANGE`, `RENAME_WHITEOUT`.
    pub flags: u32,
    /// Padding.
    pub padding: u32,
}

/// Argument of `FUSE_LINK` (`fuse_link_in`), followed by the new name.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct LinkIn {
    /// Node to link to.
    pub oldnodeid: u64,
}
