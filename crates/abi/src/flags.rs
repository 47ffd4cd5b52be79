//! Every flag group of the header as a `bitflags` type. Struct fields stay raw
//! integers (the wire may carry bits this crate does not know); convert with
//! `from_bits_retain` to keep unknown bits or `from_bits_truncate` to drop them.

use bitflags::bitflags;

bitflags! {
    /// INIT request/reply capability flags, both halves (`FUSE_*` in `fuse_init_in.flags`
    /// and, shifted down by 32, `flags2`; the upper half needs [`InitFlags::INIT_EXT`]).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct InitFlags: u64 {
        /// Asynchronous read requests.
        const ASYNC_READ = 1 << 0;
        /// Remote POSIX file locks.
        const POSIX_LOCKS = 1 << 1;
        /// Kernel sends file handle for fstat etc. (never implemented by the kernel).
        const FILE_OPS = 1 << 2;
        /// Filesystem handles `O_TRUNC` in open.
        const ATOMIC_O_TRUNC = 1 << 3;
        /// Filesystem handles lookups of "." and "..".
        const EXPORT_SUPPORT = 1 << 4;
        /// Writes larger than 4 KiB.
        const BIG_WRITES = 1 << 5;
        /// Don't apply umask to the mode of created files.
        const DONT_MASK = 1 << 6;
        /// Kernel supports splice write on the device.
        const SPLICE_WRITE = 1 << 7;
        /// Kernel supports splice move on the device.
        const SPLICE_MOVE = 1 << 8;
        /// Kernel supports splice read on the device.
        const SPLICE_READ = 1 << 9;
        /// Remote BSD (flock) locks.
        const FLOCK_LOCKS = 1 << 10;
        /// Kernel supports ioctl on directories.
        const HAS_IOCTL_DIR = 1 << 11;
        /// Automatically invalidate cached pages on attribute change.
        const AUTO_INVAL_DATA = 1 << 12;
        /// Use READDIRPLUS.
        const DO_READDIRPLUS = 1 << 13;
        /// Adaptive READDIRPLUS.
        const READDIRPLUS_AUTO = 1 << 14;
        /// Asynchronous direct I/O submission.
        const ASYNC_DIO = 1 << 15;
        /// Writeback cache for buffered writes.
        const WRITEBACK_CACHE = 1 << 16;
        /// Kernel supports zero-message opens (ENOSYS from OPEN means "no open needed").
        const NO_OPEN_SUPPORT = 1 << 17;
        /// Allow parallel lookups and readdir.
        const PARALLEL_DIROPS = 1 << 18;
        /// Filesystem kills suid/sgid/caps on write/chown/truncate.
        const HANDLE_KILLPRIV = 1 << 19;
        /// Filesystem supports POSIX ACLs.
        const POSIX_ACL = 1 << 20;
        /// Reading the device after abort returns ECONNABORTED.
        const ABORT_ERROR = 1 << 21;
        /// `InitOut::max_pages` is valid.
        const MAX_PAGES = 1 << 22;
        /// Cache READLINK replies.
        const CACHE_SYMLINKS = 1 << 23;
        /// Kernel supports zero-message opendir.
        const NO_OPENDIR_SUPPORT = 1 << 24;
        /// Only invalidate cached pages on explicit request.
        const EXPLICIT_INVAL_DATA = 1 << 25;
        /// `InitOut::map_alignment` is valid (DAX).
        const MAP_ALIGNMENT = 1 << 26;
        /// Kernel supports auto-mounting submounts.
        const SUBMOUNTS = 1 << 27;
        /// Filesystem kills suid/sgid/caps, v2 semantics (7.33).
        const HANDLE_KILLPRIV_V2 = 1 << 28;
        /// Extended `SetxattrIn` (7.33).
        const SETXATTR_EXT = 1 << 29;
        /// Extended `InitIn`/`InitOut`: `flags2` is valid (7.36).
        const INIT_EXT = 1 << 30;
        /// Reserved, do not use.
        const INIT_RESERVED = 1 << 31;
        /// Security context on create, mkdir, symlink, mknod (7.36).
        const SECURITY_CTX = 1 << 32;
        /// Per-inode DAX (7.36).
        const HAS_INODE_DAX = 1 << 33;
        /// Supplementary group extension on create, mkdir, symlink, mknod (7.38).
        const CREATE_SUPP_GROUP = 1 << 34;
        /// Kernel supports expire-only entry invalidation (7.38).
        const HAS_EXPIRE_ONLY = 1 << 35;
        /// Allow shared mmap in `FOPEN_DIRECT_IO` mode (7.39).
        const DIRECT_IO_ALLOW_MMAP = 1 << 36;
        /// Obsolete alias of [`InitFlags::DIRECT_IO_ALLOW_MMAP`].
        const DIRECT_IO_RELAX = 1 << 36;
        /// Kernel passthrough of read/write to a backing file (7.40).
        const PASSTHROUGH = 1 << 37;
        /// Explicitly disable export support (7.40).
        const NO_EXPORT_SUPPORT = 1 << 38;
        /// Kernel can resend pending requests (`UNIQUE_RESEND` bit) (7.40).
        const HAS_RESEND = 1 << 39;
        /// Allow idmapped mounts (7.41).
        const ALLOW_IDMAP = 1 << 40;
        /// FUSE over io_uring (7.42).
        const OVER_IO_URING = 1 << 41;
        /// Kernel times out requests; `InitOut::request_timeout` is valid (7.43).
        const REQUEST_TIMEOUT = 1 << 42;
    }
}

impl InitFlags {
    /// The two 32-bit halves as sent on the wire: `(flags, flags2)`.
    pub const fn split(self) -> (u32, u32) {
        let bits = self.bits();
        (bits as u32, (bits >> 32) as u32)
    }

    /// Joins `flags` and `flags2` into one value, keeping unknown bits.
    pub const fn from_halves(flags: u32, flags2: u32) -> Self {
        Self::from_bits_retain(((flags2 as u64) << 32) | flags as u64)
    }
}

bitflags! {
    /// Which fields of a `SetattrIn` are valid (`FATTR_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct SetattrValid: u32 {
        /// `mode` is set.
        const MODE = 1 << 0;
        /// `uid` is set.
        const UID = 1 << 1;
        /// `gid` is set.
        const GID = 1 << 2;
        /// `size` is set (truncate).
        const SIZE = 1 << 3;
        /// `atime` is set.
        const ATIME = 1 << 4;
        /// `mtime` is set.
        const MTIME = 1 << 5;
        /// `fh` is valid.
        const FH = 1 << 6;
        /// Set atime to now.
        const ATIME_NOW = 1 << 7;
        /// Set mtime to now.
        const MTIME_NOW = 1 << 8;
        /// `lock_owner` is valid.
        const LOCKOWNER = 1 << 9;
        /// `ctime` is set.
        const CTIME = 1 << 10;
        /// Kill suid/sgid (7.33).
        const KILL_SUIDGID = 1 << 11;
    }
}

bitflags! {
    /// Flags in `OpenOut::open_flags` (`FOPEN_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct OpenOutFlags: u32 {
        /// Bypass the page cache for this open file.
        const DIRECT_IO = 1 << 0;
        /// Don't invalidate the data cache on open.
        const KEEP_CACHE = 1 << 1;
        /// The file is not seekable.
        const NONSEEKABLE = 1 << 2;
        /// Allow caching this directory.
        const CACHE_DIR = 1 << 3;
        /// The file is stream-like (no file position at all).
        const STREAM = 1 << 4;
        /// Don't flush the data cache on close (7.35).
        const NOFLUSH = 1 << 5;
        /// Allow concurrent direct writes on the same inode (7.38).
        const PARALLEL_DIRECT_WRITES = 1 << 6;
        /// Kernel passthrough to `OpenOut::backing_id` (7.40).
        const PASSTHROUGH = 1 << 7;
    }
}

bitflags! {
    /// Flags in `OpenIn::open_flags` / `CreateIn::open_flags` (`FUSE_OPEN_*`, 7.33).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct OpenInFlags: u32 {
        /// Kill suid and sgid if the file is executable.
        const KILL_SUIDGID = 1 << 0;
    }
}

bitflags! {
    /// Flags in `ReleaseIn::release_flags` (`FUSE_RELEASE_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ReleaseFlags: u32 {
        /// Flush before release.
        const FLUSH = 1 << 0;
        /// Release flock locks held through this file.
        const FLOCK_UNLOCK = 1 << 1;
    }
}

bitflags! {
    /// Flags in `GetattrIn::getattr_flags` (`FUSE_GETATTR_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct GetattrFlags: u32 {
        /// `fh` is valid.
        const FH = 1 << 0;
    }
}

bitflags! {
    /// Flags in `LkIn::lk_flags` (`FUSE_LK_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct LkFlags: u32 {
        /// The lock is a BSD flock, not a POSIX lock.
        const FLOCK = 1 << 0;
    }
}

bitflags! {
    /// Flags in `WriteIn::write_flags` (`FUSE_WRITE_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct WriteFlags: u32 {
        /// Delayed write from the page cache; the file handle is guessed.
        const CACHE = 1 << 0;
        /// `lock_owner` is valid.
        const LOCKOWNER = 1 << 1;
        /// Kill suid and sgid bits (7.33).
        const KILL_SUIDGID = 1 << 2;
        /// Obsolete alias of [`WriteFlags::KILL_SUIDGID`].
        const KILL_PRIV = 1 << 2;
    }
}

bitflags! {
    /// Flags in `ReadIn::read_flags` (`FUSE_READ_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ReadFlags: u32 {
        /// `lock_owner` is valid.
        const LOCKOWNER = 1 << 1;
    }
}

bitflags! {
    /// Flags in `IoctlIn::flags` / `IoctlOut::flags` (`FUSE_IOCTL_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct IoctlFlags: u32 {
        /// 32-bit compat ioctl on a 64-bit machine.
        const COMPAT = 1 << 0;
        /// Not restricted to well-formed ioctls; retry allowed.
        const UNRESTRICTED = 1 << 1;
        /// Retry with new iovecs.
        const RETRY = 1 << 2;
        /// 32-bit ioctl (`FUSE_IOCTL_32BIT`).
        const _32BIT = 1 << 3;
        /// The file is a directory.
        const DIR = 1 << 4;
        /// x32 compat ioctl on a 64-bit machine (64-bit `time_t`).
        const COMPAT_X32 = 1 << 5;
    }
}

bitflags! {
    /// Flags in `PollIn::flags` (`FUSE_POLL_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct PollFlags: u32 {
        /// The kernel wants a poll wake-up notification for `kh`.
        const SCHEDULE_NOTIFY = 1 << 0;
    }
}

bitflags! {
    /// Flags in `FsyncIn::fsync_flags` (`FUSE_FSYNC_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct FsyncFlags: u32 {
        /// Sync data only, not metadata.
        const FDATASYNC = 1 << 0;
    }
}

bitflags! {
    /// Flags in `Attr::flags` (`FUSE_ATTR_*`, 7.32).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct AttrFlags: u32 {
        /// The object is a submount root.
        const SUBMOUNT = 1 << 0;
        /// Enable DAX for this file in per-inode DAX mode (7.36).
        const DAX = 1 << 1;
    }
}

bitflags! {
    /// Flags in `SetxattrIn::setxattr_flags` (`FUSE_SETXATTR_*`, 7.33).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct SetxattrFlags: u32 {
        /// Clear SGID when `system.posix_acl_access` is set.
        const ACL_KILL_SGID = 1 << 0;
    }
}

bitflags! {
    /// Flags in `NotifyInvalEntryOut::flags` (7.38).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct NotifyInvalEntryFlags: u32 {
        /// Only expire the entry, don't drop it (`FUSE_EXPIRE_ONLY`).
        const EXPIRE_ONLY = 1 << 0;
    }
}

bitflags! {
    /// Flags in `CuseInitIn::flags` / `CuseInitOut::flags` (`CUSE_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct CuseInitFlags: u32 {
        /// Use unrestricted ioctl.
        const UNRESTRICTED_IOCTL = 1 << 0;
    }
}

bitflags! {
    /// Flags in `SetupmappingIn::flags` (`FUSE_SETUPMAPPING_FLAG_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct SetupmappingFlags: u64 {
        /// Map for writing.
        const WRITE = 1 << 0;
        /// Map for reading.
        const READ = 1 << 1;
    }
}
