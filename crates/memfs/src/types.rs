//! Public value types of the engine that fusekit does not already have: the caller's
//! identity, directory entries, rename flags, statistics and limits. Inode numbers,
//! attributes, setattr requests, times and statfs numbers are fusekit's own types
//! ([`FileAttr`], [`SetAttr`], [`Timestamp`], [`Statfs`], ...), re-exported here so the engine
//! and the FUSE adapter speak one vocabulary. No behaviour lives here.

use std::ffi::OsStr;

pub use fusekit::{FileAttr, FileType, Ino, SetAttr, Statfs, TimeOrNow, Timestamp, ROOT_ID};

/// An open-file handle (FUSE `fh`), unique among live handles.
pub type Fh = u64;
/// Size of a data page: the unit of allocation, `st_blksize`, and `statfs` `f_bsize`.
pub const PAGE_SIZE: u64 = 4096;
/// Longest name of a directory entry, in bytes (`NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Longest symlink target, in bytes including the terminating NUL (`PATH_MAX`).
pub const SYMLINK_MAX: usize = 4096;
/// Largest file size and largest `offset + len` of any I/O: tmpfs's `MAX_LFS_FILESIZE` on
/// 64-bit kernels (`i64::MAX`). Writes starting at or beyond it fail with `EFBIG`; writes
/// crossing it are shortened; truncate or fallocate beyond it fail with `EFBIG`.
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;
/// Largest extended attribute value (`XATTR_SIZE_MAX`); bigger values get `E2BIG`.
pub const XATTR_SIZE_MAX: usize = 65536;
/// Longest extended attribute name (`XATTR_NAME_MAX`); longer names get `ERANGE`.
pub const XATTR_NAME_MAX: usize = 255;

pub(crate) const S_IFMT: u32 = 0o170000;
pub(crate) const S_ISUID: u32 = 0o4000;
pub(crate) const S_ISGID: u32 = 0o2000;
pub(crate) const S_ISVTX: u32 = 0o1000;
pub(crate) const S_IXGRP: u32 = 0o010;

/// Who is asking: the credentials FUSE passes with every request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    /// File-system user id.
    pub uid: u32,
    /// File-system group id.
    pub gid: u32,
    /// Process id (used for lock owner pids in replies only).
    pub pid: u32,
    /// umask applied to new nodes (`mode & !umask`); 0 when the kernel already applied it.
    pub umask: u32,
    /// Supplementary groups, when known. FUSE does not send them, so this is normally `None`,
    /// meaning "unknown": the engine then trusts the kernel's `default_permissions` checks for
    /// group membership (a non-root owner may chgrp to any group the kernel let through, and
    /// setgid bits are not stripped for lack of membership). With `Some`, membership is
    /// `gid == self.gid || groups.contains(gid)` and is enforced.
    pub groups: Option<Vec<u32>>,
}

impl Caller {
    /// The superuser (uid 0, gid 0), umask 0.
    pub fn root() -> Caller {
        Caller::default()
    }

    /// An ordinary caller with unknown supplementary groups and umask 0.
    pub fn new(uid: u32, gid: u32) -> Caller {
        Caller {
            uid,
            gid,
            ..Caller::default()
        }
    }

    /// Whether the caller is the superuser (uid 0 stands in for the capabilities).
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// Whether the caller belongs to `gid`: `Some(true/false)` when known, `None` when the
    /// supplementary groups are unknown and `gid` is not the primary group.
    pub fn in_group(&self, gid: u32) -> Option<bool> {
        if gid == self.gid {
            return Some(true);
        }
        self.groups.as_ref().map(|g| g.contains(&gid))
    }
}

/// Flags of `rename2`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameFlags(pub u32);

impl RenameFlags {
    /// `RENAME_NOREPLACE`: fail with `EEXIST` when the target exists.
    pub const NOREPLACE: RenameFlags = RenameFlags(1);
    /// `RENAME_EXCHANGE`: swap the two names atomically; both must exist.
    pub const EXCHANGE: RenameFlags = RenameFlags(2);
    /// `RENAME_WHITEOUT`: leave a whiteout (character device 0:0) at the old name.
    pub const WHITEOUT: RenameFlags = RenameFlags(4);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: RenameFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for RenameFlags {
    type Output = RenameFlags;
    fn bitor(self, rhs: RenameFlags) -> RenameFlags {
        RenameFlags(self.0 | rhs.0)
    }
}

/// One directory entry as `readdir` hands it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// The entry's inode (for "." and ".." the directory and its parent).
    pub ino: Ino,
    /// The cookie to pass as `offset` to continue *after* this entry. Stable for the life of
    /// the entry: "." is 1, ".." is 2, other entries get increasing cookies from 3 when they
    /// are inserted.
    pub offset: u64,
    /// The entry's type.
    pub kind: FileType,
    /// The entry's name.
    pub name: &'a OsStr,
}

/// Engine statistics, for tests and monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Live inodes (including the root and unlinked-but-referenced ones).
    pub inodes: u64,
    /// Charged inode slots (inodes + extra hard links), what `max_inodes` limits.
    pub inode_slots: u64,
    /// Charged bytes: data pages + symlink targets + xattrs, what `max_bytes` limits.
    pub bytes_used: u64,
    /// Open file and directory handles.
    pub open_handles: u64,
}
