//! Plain data the filesystem hands to replies: attributes, entries, statfs, locks, times.
//! Conversions to the kernel's structs live here so replies stay thin.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fusekit_abi as abi;

/// A node id as the kernel knows it (`nodeid`; the root is [`ROOT_ID`]).
pub type Ino = u64;

/// The root directory's node id.
pub const ROOT_ID: Ino = abi::ROOT_ID;

/// Seconds and nanoseconds since the Unix epoch (may be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01 UTC.
    pub secs: i64,
    /// Nanoseconds, 0..1_000_000_000.
    pub nsecs: u32,
}

impl Timestamp {
    /// Builds a timestamp; `nsecs` is clamped below one second.
    pub const fn new(secs: i64, nsecs: u32) -> Self {
        Timestamp {
            secs,
            nsecs: if nsecs < 1_000_000_000 {
                nsecs
            } else {
                999_999_999
            },
        }
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp::new(d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => {
                let d = e.duration();
                if d.subsec_nanos() == 0 {
                    Timestamp::new(-(d.as_secs() as i64), 0)
                } else {
                    Timestamp::new(-(d.as_secs() as i64) - 1, 1_000_000_000 - d.subsec_nanos())
                }
            }
        }
    }
}

/// A time given to setattr: a value, or "now" (UTIME_NOW).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOrNow {
    /// A specific time.
    At(Timestamp),
    /// The server's current time.
    Now,
}

/// The kind of a node, from the `S_IFMT` bits of its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// Regular file.
    RegularFile,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Named pipe.
    NamedPipe,
    /// Unix socket.
    Socket,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
}

impl FileType {
    /// The type encoded in `mode`, if any.
    pub fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & libc_mode::S_IFMT {
            libc_mode::S_IFREG => FileType::RegularFile,
            libc_mode::S_IFDIR => FileType::Directory,
            libc_mode::S_IFLNK => FileType::Symlink,
            libc_mode::S_IFIFO => FileType::NamedPipe,
            libc_mode::S_IFSOCK => FileType::Socket,
            libc_mode::S_IFCHR => FileType::CharDevice,
            libc_mode::S_IFBLK => FileType::BlockDevice,
            _ => return None,
        })
    }

    /// The `S_IFMT` bits for this type.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::RegularFile => libc_mode::S_IFREG,
            FileType::Directory => libc_mode::S_IFDIR,
            FileType::Symlink => libc_mode::S_IFLNK,
            FileType::NamedPipe => libc_mode::S_IFIFO,
            FileType::Socket => libc_mode::S_IFSOCK,
            FileType::CharDevice => libc_mode::S_IFCHR,
            FileType::BlockDevice => libc_mode::S_IFBLK,
        }
    }

    /// The `d_type` value readdir reports (DT_REG, DT_DIR, ...).
    pub fn dirent_type(self) -> u32 {
        self.mode_bits() >> 12
    }
}

/// File mode constants (the kernel's values; identical on every Linux architecture).
pub mod libc_mode {
    /// Mask of the file type bits.
    pub const S_IFMT: u32 = 0o170000;
    /// Socket.
    pub const S_IFSOCK: u32 = 0o140000;
    /// Symbolic link.
    pub const S_IFLNK: u32 = 0o120000;
    /// Regular file.
    pub const S_IFREG: u32 = 0o100000;
    /// Block device.
    pub const S_IFBLK: u32 = 0o060000;
    /// Directory.
    pub const S_IFDIR: u32 = 0o040000;
    /// Character device.
    pub const S_IFCHR: u32 = 0o020000;
    /// FIFO.
    pub const S_IFIFO: u32 = 0o010000;
    /// Set-user-id.
    pub const S_ISUID: u32 = 0o4000;
    /// Set-group-id.
    pub const S_ISGID: u32 = 0o2000;
    /// Sticky.
    pub const S_ISVTX: u32 = 0o1000;
}

/// Attributes of a node, as `stat` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileAttr {
    /// Inode number reported to `stat` (usually the node id).
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Allocated 512-byte blocks.
    pub blocks: u64,
    /// Last access.
    pub atime: Timestamp,
    /// Last data modification.
    pub mtime: Timestamp,
    /// Last status change.
    pub ctime: Timestamp,
    /// Type and permission bits (`st_mode`).
    pub mode: u32,
    /// Hard link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number for device nodes (kernel `new_encode_dev` format).
    pub rdev: u32,
    /// Preferred I/O size; 0 lets the kernel choose.
    pub blksize: u32,
    /// `fuse_attr` flags (e.g. submount).
    pub flags: u32,
}

impl FileAttr {
    /// The node's type, if the mode carries one.
    pub fn kind(&self) -> Option<FileType> {
        FileType::from_mode(self.mode)
    }

    /// The permission bits: `mode & 0o7777` (rwx for owner, group, others, plus setuid,
    /// setgid and sticky).
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }

    pub(crate) fn to_abi(self) -> abi::Attr {
        abi::Attr {
            ino: self.ino,
            size: self.size,
            blocks: self.blocks,
            atime: self.atime.secs as u64,
            mtime: self.mtime.secs as u64,
            ctime: self.ctime.secs as u64,
            atimensec: self.atime.nsecs,
            mtimensec: self.mtime.nsecs,
            ctimensec: self.ctime.nsecs,
            mode: self.mode,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: self.rdev,
            blksize: self.blksize,
            flags: self.flags,
        }
    }
}

/// The answer to LOOKUP and to every call that creates a name: the node, its attributes, and
/// how long the kernel may cache each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Node id (0 means a cacheable negative entry: "no such name").
    pub ino: Ino,
    /// Generation: (ino, generation) must be unique over the filesystem's lifetime.
    pub generation: u64,
    /// Attributes.
    pub attr: FileAttr,
    /// How long the name may be cached.
    pub entry_ttl: Duration,
    /// How long the attributes may be cached.
    pub attr_ttl: Duration,
}

impl Entry {
    /// An entry for `attr` (node id taken from `attr.ino`) with one TTL for name and attributes.
    pub fn new(attr: FileAttr, ttl: Duration) -> Self {
        Entry {
            ino: attr.ino,
            generation: 0,
            attr,
            entry_ttl: ttl,
            attr_ttl: ttl,
        }
    }

    /// A negative entry: the name does not exist, and the kernel may remember that for `ttl`.
    pub fn negative(ttl: Duration) -> Self {
        Entry {
            ino: 0,
            generation: 0,
            attr: FileAttr::default(),
            entry_ttl: ttl,
            attr_ttl: Duration::ZERO,
        }
    }

    pub(crate) fn to_abi(self) -> abi::EntryOut {
        abi::EntryOut {
            nodeid: self.ino,
            generation: self.generation,
            entry_valid: self.entry_ttl.as_secs(),
            attr_valid: self.attr_ttl.as_secs(),
            entry_valid_nsec: self.entry_ttl.subsec_nanos(),
            attr_valid_nsec: self.attr_ttl.subsec_nanos(),
            attr: self.attr.to_abi(),
        }
    }
}

/// Filesystem statistics (`statfs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Statfs {
    /// Total blocks of `frsize` bytes.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks available to unprivileged users.
    pub bavail: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Preferred block size.
    pub bsize: u32,
    /// Maximum name length.
    pub namelen: u32,
    /// Fragment size (the unit of `blocks`).
    pub frsize: u32,
}

impl Statfs {
    pub(crate) fn to_abi(self) -> abi::Kstatfs {
        abi::Kstatfs {
            blocks: self.blocks,
            bfree: self.bfree,
            bavail: self.bavail,
            files: self.files,
            ffree: self.ffree,
            bsize: self.bsize,
            namelen: self.namelen,
            frsize: self.frsize,
            ..Default::default()
        }
    }
}

/// A POSIX record lock (`struct flock` in kernel form: `end` is inclusive, `u64::MAX` = EOF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lock {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive); `u64::MAX` means to the end of the file.
    pub end: u64,
    /// F_RDLCK, F_WRLCK or F_UNLCK.
    pub typ: i32,
    /// Process holding the lock (for GETLK answers).
    pub pid: u32,
}

impl Lock {
    pub(crate) fn from_abi(lk: &abi::FileLock) -> Self {
        Lock {
            start: lk.start,
            end: lk.end,
            typ: lk.r#type as i32,
            pid: lk.pid,
        }
    }

    pub(crate) fn to_abi(self) -> abi::FileLock {
        abi::FileLock {
            start: self.start,
            end: self.end,
            r#type: self.typ as u32,
            pid: self.pid,
        }
    }
}

/// Attribute changes requested by SETATTR. `None` means "leave unchanged".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetAttr {
    /// New permission bits (the kernel sends the full mode).
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size (truncate / extend).
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<TimeOrNow>,
    /// New modification time.
    pub mtime: Option<TimeOrNow>,
    /// New change time (only sent by some kernels' internal paths).
    pub ctime: Option<Timestamp>,
    /// The open file handle this came through (ftruncate, fchmod, ...).
    pub fh: Option<u64>,
    /// Lock owner of the caller (for mandatory-lock aware truncation).
    pub lock_owner: Option<u64>,
    /// The kernel asks the filesystem to clear setuid/setgid as a data change by the caller
    /// must (setuid always; setgid with group-exec, or when the caller is outside the file's
    /// group). Set for FATTR_KILL_SUIDGID (HANDLE_KILLPRIV_V2: a truncate without
    /// CAP_FSETID, any chown of a non-directory) and for an empty SETATTR: that is how the
    /// kernel's `file_remove_privs` reaches a filesystem that handles privileges itself, before
    /// a fallocate, copy_file_range or write by a caller without CAP_FSETID on a file it
    /// believes setuid/setgid (Linux 6.18 sends nothing else for fallocate and
    /// copy_file_range). Answering that SETATTR with the cleared mode also refreshes the
    /// kernel's cached mode. See docs/kernel-notes.md.
    pub kill_suidgid: bool,
}

impl SetAttr {
    pub(crate) fn from_abi(arg: &abi::SetattrIn) -> Self {
        use abi::SetattrValid as V;
        let valid = V::from_bits_retain(arg.valid);
        let time = |now: V, set: V, secs: u64, nsecs: u32| {
            if valid.contains(now) {
                Some(TimeOrNow::Now)
            } else if valid.contains(set) {
                Some(TimeOrNow::At(Timestamp::new(secs as i64, nsecs)))
            } else {
                None
            }
        };
        SetAttr {
            mode: valid.contains(V::MODE).then_some(arg.mode),
            uid: valid.contains(V::UID).then_some(arg.uid),
            gid: valid.contains(V::GID).then_some(arg.gid),
            size: valid.contains(V::SIZE).then_some(arg.size),
            atime: time(V::ATIME_NOW, V::ATIME, arg.atime, arg.atimensec),
            mtime: time(V::MTIME_NOW, V::MTIME, arg.mtime, arg.mtimensec),
            ctime: valid
                .contains(V::CTIME)
                .then_some(Timestamp::new(arg.ctime as i64, arg.ctimensec)),
            fh: valid.contains(V::FH).then_some(arg.fh),
            lock_owner: valid.contains(V::LOCKOWNER).then_some(arg.lock_owner),
            kill_suidgid: valid.contains(V::KILL_SUIDGID) || valid.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_times_round_down() {
        let t = Timestamp::from(UNIX_EPOCH - Duration::from_millis(1500));
        assert_eq!(t, Timestamp::new(-2, 500_000_000));
    }

    #[test]
    fn setattr_decodes_now_and_explicit_times() {
        use abi::SetattrValid as V;
        let arg = abi::SetattrIn {
            valid: (V::MODE | V::ATIME_NOW | V::ATIME | V::MTIME | V::SIZE).bits(),
            mode: 0o100644,
            size: 42,
            mtime: 7,
            mtimensec: 9,
            ..Default::default()
        };
        let s = SetAttr::from_abi(&arg);
        assert_eq!(s.mode, Some(0o100644));
        assert_eq!(s.size, Some(42));
        assert_eq!(s.atime, Some(TimeOrNow::Now));
        assert_eq!(s.mtime, Some(TimeOrNow::At(Timestamp::new(7, 9))));
        assert_eq!(s.uid, None);
        assert!(!s.kill_suidgid);
    }

    #[test]
    fn setattr_kill_flag_and_empty_setattr_ask_to_clear_privileges() {
        use abi::SetattrValid as V;
        let flagged = abi::SetattrIn {
            valid: (V::SIZE | V::KILL_SUIDGID).bits(),
            ..Default::default()
        };
        assert!(SetAttr::from_abi(&flagged).kill_suidgid);
        let empty = SetAttr::from_abi(&abi::SetattrIn::default());
        assert!(empty.kill_suidgid);
        assert_eq!(
            SetAttr {
                kill_suidgid: false,
                ..empty
            },
            SetAttr::default()
        );
        let times = abi::SetattrIn {
            valid: V::MTIME_NOW.bits() | V::MTIME.bits(),
            ..Default::default()
        };
        assert!(!SetAttr::from_abi(&times).kill_suidgid);
    }

    #[test]
    fn file_types_round_trip_through_mode() {
        for t in [
            FileType::RegularFile,
            FileType::Directory,
            FileType::Symlink,
            FileType::NamedPipe,
            FileType::Socket,
            FileType::CharDevice,
            FileType::BlockDevice,
        ] {
            assert_eq!(FileType::from_mode(t.mode_bits() | 0o755), Some(t));
        }
        assert_eq!(FileType::Directory.dirent_type(), 4);
        assert_eq!(FileType::RegularFile.dirent_type(), 8);
    }
}
