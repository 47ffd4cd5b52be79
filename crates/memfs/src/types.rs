//! Public value types of the engine: inode numbers, attributes, setattr requests, the
//! caller's identity, directory entries, rename flags and statistics. No behaviour lives here.

use std::ffi::OsStr;

use crate::time::{TimeOrNow, Timespec};

/// An inode number as the kernel sees it (FUSE `nodeid`). Never reused while the filesystem
/// lives, so the generation is always 0.
pub type Ino = u64;
/// An open-file handle (FUSE `fh`), unique among live handles.
pub type Fh = u64;
/// The root directory's inode number (FUSE_ROOT_ID).
pub const ROOT_INO: Ino = 1;
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

/// The type of an inode (the `S_IFMT` part of its mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `S_IFREG`
    RegularFile,
    /// `S_IFDIR`
    Directory,
    /// `S_IFLNK`
    Symlink,
    /// `S_IFCHR`
    CharDevice,
    /// `S_IFBLK`
    BlockDevice,
    /// `S_IFIFO`
    NamedPipe,
    /// `S_IFSOCK`
    Socket,
}

pub(crate) const S_IFMT: u32 = 0o170000;
pub(crate) const S_ISUID: u32 = 0o4000;
pub(crate) const S_ISGID: u32 = 0o2000;
pub(crate) const S_ISVTX: u32 = 0o1000;
pub(crate) const S_IXGRP: u32 = 0o010;

impl FileType {
    /// The `S_IF*` bits of this type.
    pub const fn mode_bits(self) -> u32 {
        match self {
            FileType::RegularFile => 0o100000,
            FileType::Directory => 0o040000,
            FileType::Symlink => 0o120000,
            FileType::CharDevice => 0o020000,
            FileType::BlockDevice => 0o060000,
            FileType::NamedPipe => 0o010000,
            FileType::Socket => 0o140000,
        }
    }

    /// The type encoded in a full `st_mode`, if it is a valid one.
    pub const fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & S_IFMT {
            0o100000 => FileType::RegularFile,
            0o040000 => FileType::Directory,
            0o120000 => FileType::Symlink,
            0o020000 => FileType::CharDevice,
            0o060000 => FileType::BlockDevice,
            0o010000 => FileType::NamedPipe,
            0o140000 => FileType::Socket,
            _ => return None,
        })
    }

    /// The `d_type` value used in directory listings (`DT_*`).
    pub const fn dirent_type(self) -> u32 {
        (self.mode_bits() >> 12) & 0o17
    }
}

/// The attributes of an inode (`struct stat` plus `statx`'s birth time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Inode number.
    pub ino: Ino,
    /// Size in bytes (directories: 40 + 20 per entry, like tmpfs; symlinks: target length).
    pub size: u64,
    /// Allocated 512-byte blocks (data pages of regular files).
    pub blocks: u64,
    /// Last access.
    pub atime: Timespec,
    /// Last data modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
    /// Creation (statx `btime`).
    pub btime: Timespec,
    /// Full `st_mode`: type bits and permission bits.
    pub mode: u32,
    /// Number of hard links (directories: 2 + subdirectories; unlinked inodes: 0).
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number of character and block devices (kernel encoding).
    pub rdev: u32,
    /// Preferred I/O size ([`PAGE_SIZE`]).
    pub blksize: u32,
    /// Inode generation: always 0, inode numbers are never reused.
    pub generation: u64,
}

impl Attr {
    /// The inode's type.
    pub fn kind(&self) -> FileType {
        FileType::from_mode(self.mode).unwrap_or(FileType::RegularFile)
    }

    /// The permission bits (`mode & 0o7777`).
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// The changes a `setattr` asks for; `None` leaves a field alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// New permission bits (`chmod`); type bits are ignored.
    pub mode: Option<u32>,
    /// New owner (`chown`).
    pub uid: Option<u32>,
    /// New group (`chown`/`chgrp`).
    pub gid: Option<u32>,
    /// New size (`truncate`); regular files only.
    pub size: Option<u64>,
    /// New atime (`utimensat`).
    pub atime: Option<TimeOrNow>,
    /// New mtime (`utimensat`).
    pub mtime: Option<TimeOrNow>,
    /// Explicit ctime (FUSE `FATTR_CTIME`); otherwise any change sets ctime to now.
    pub ctime: Option<Timespec>,
    /// The handle this came through (`ftruncate`/`fchmod`), if any; checked to belong to the
    /// inode.
    pub fh: Option<Fh>,
    /// The kernel asks to clear setuid/setgid (FUSE `FATTR_KILL_SUIDGID`).
    pub kill_suidgid: bool,
}

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

/// Filesystem-wide numbers for `statfs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatFs {
    /// Total data blocks of `bsize` bytes (0 when unlimited, as tmpfs reports).
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks for unprivileged users (same as `bfree`).
    pub bavail: u64,
    /// Total inodes (0 when unlimited).
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Block size ([`PAGE_SIZE`]).
    pub bsize: u32,
    /// Longest name ([`NAME_MAX`]).
    pub namelen: u32,
    /// Fragment size ([`PAGE_SIZE`]).
    pub frsize: u32,
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
