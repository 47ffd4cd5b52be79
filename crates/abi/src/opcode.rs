//! The request opcodes (`enum fuse_opcode`) and their conversion from the raw `u32`
//! found in [`InHeader`](crate::InHeader)`.opcode`.

/// A FUSE request opcode (`enum fuse_opcode`), as carried in `InHeader::opcode`.
///
/// Numbers 7 and 19 are unused by the kernel. `CUSE_INIT_BSWAP_RESERVED` and
/// `FUSE_INIT_BSWAP_RESERVED` are reserved values, not opcodes (see the crate constants).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Opcode {
    /// Look up a name in a directory (`FUSE_LOOKUP`).
    Lookup = 1,
    /// Drop lookup references to a node; no reply (`FUSE_FORGET`).
    Forget = 2,
    /// Get attributes (`FUSE_GETATTR`).
    Getattr = 3,
    /// Set attributes (`FUSE_SETATTR`).
    Setattr = 4,
    /// Read a symlink's target (`FUSE_READLINK`).
    Readlink = 5,
    /// Create a symlink (`FUSE_SYMLINK`).
    Symlink = 6,
    /// Create a node of any type (`FUSE_MKNOD`).
    Mknod = 8,
    /// Create a directory (`FUSE_MKDIR`).
    Mkdir = 9,
    /// Remove a non-directory name (`FUSE_UNLINK`).
    Unlink = 10,
    /// Remove a directory (`FUSE_RMDIR`).
    Rmdir = 11,
    /// Rename without flags (`FUSE_RENAME`).
    Rename = 12,
    /// Create a hard link (`FUSE_LINK`).
    Link = 13,
    /// Open a file (`FUSE_OPEN`).
    Open = 14,
    /// Read from an open file (`FUSE_READ`).
    Read = 15,
    /// Write to an open file (`FUSE_WRITE`).
    Write = 16,
    /// Filesystem statistics (`FUSE_STATFS`).
    Statfs = 17,
    /// Last close of an open file (`FUSE_RELEASE`).
    Release = 18,
    /// Sync an open file (`FUSE_FSYNC`).
    Fsync = 20,
    /// Set an extended attribute (`FUSE_SETXATTR`).
    Setxattr = 21,
    /// Get an extended attribute (`FUSE_GETXATTR`).
    Getxattr = 22,
    /// List extended attribute names (`FUSE_LISTXATTR`).
    Listxattr = 23,
    /// Remove an extended attribute (`FUSE_REMOVEXATTR`).
    Removexattr = 24,
    /// A `close(2)` of one file descriptor (`FUSE_FLUSH`).
    Flush = 25,
    /// Session handshake (`FUSE_INIT`).
    Init = 26,
    /// Open a directory (`FUSE_OPENDIR`).
    Opendir = 27,
    /// Read directory entries (`FUSE_READDIR`).
    Readdir = 28,
    /// Last close of an open directory (`FUSE_RELEASEDIR`).
    Releasedir = 29,
    /// Sync an open directory (`FUSE_FSYNCDIR`).
    Fsyncdir = 30,
    /// Test for a POSIX lock (`FUSE_GETLK`).
    Getlk = 31,
    /// Take or release a lock without waiting (`FUSE_SETLK`).
    Setlk = 32,
    /// Take a lock, waiting for it (`FUSE_SETLKW`).
    Setlkw = 33,
    /// Permission check (`FUSE_ACCESS`).
    Access = 34,
    /// Create and open a file (`FUSE_CREATE`).
    Create = 35,
    /// Interrupt an outstanding request (`FUSE_INTERRUPT`).
    Interrupt = 36,
    /// Map a file block to a device block (`FUSE_BMAP`).
    Bmap = 37,
    /// Session teardown (`FUSE_DESTROY`).
    Destroy = 38,
    /// An ioctl on an open file (`FUSE_IOCTL`).
    Ioctl = 39,
    /// Poll an open file (`FUSE_POLL`).
    Poll = 40,
    /// Reply to a `FUSE_NOTIFY_RETRIEVE` notification (`FUSE_NOTIFY_REPLY`).
    NotifyReply = 41,
    /// Several forgets at once; no reply (`FUSE_BATCH_FORGET`).
    BatchForget = 42,
    /// Allocate or punch file space (`FUSE_FALLOCATE`).
    Fallocate = 43,
    /// Read directory entries with attributes (`FUSE_READDIRPLUS`).
    Readdirplus = 44,
    /// Rename with `RENAME_*` flags (`FUSE_RENAME2`).
    Rename2 = 45,
    /// `SEEK_DATA` / `SEEK_HOLE` (`FUSE_LSEEK`).
    Lseek = 46,
    /// Server-side copy, 32-bit result (`FUSE_COPY_FILE_RANGE`).
    CopyFileRange = 47,
    /// Set up a DAX mapping, virtio-fs only (`FUSE_SETUPMAPPING`).
    Setupmapping = 48,
    /// Remove DAX mappings, virtio-fs only (`FUSE_REMOVEMAPPING`).
    Removemapping = 49,
    /// Sync the whole filesystem (`FUSE_SYNCFS`, 7.34).
    Syncfs = 50,
    /// Create an unnamed temporary file (`FUSE_TMPFILE`, 7.37).
    Tmpfile = 51,
    /// Attributes for statx(2), birth time included (`FUSE_STATX`, 7.39).
    Statx = 52,
    /// Server-side copy with a 64-bit result (`FUSE_COPY_FILE_RANGE_64`, 7.45).
    CopyFileRange64 = 53,
    /// CUSE session handshake (`CUSE_INIT`).
    CuseInit = 4096,
}

/// A raw opcode that is not a known [`Opcode`] of protocol 7.45.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("unknown FUSE opcode {0}")]
pub struct UnknownOpcode(pub u32);

impl Opcode {
    /// Every opcode of protocol 7.45, in numeric order.
    pub const ALL: [Opcode; 52] = [
        Opcode::Lookup,
        Opcode::Forget,
        Opcode::Getattr,
        Opcode::Setattr,
        Opcode::Readlink,
        Opcode::Symlink,
        Opcode::Mknod,
        Opcode::Mkdir,
        Opcode::Unlink,
        Opcode::Rmdir,
        Opcode::Rename,
        Opcode::Link,
        Opcode::Open,
        Opcode::Read,
        Opcode::Write,
        Opcode::Statfs,
        Opcode::Release,
        Opcode::Fsync,
        Opcode::Setxattr,
        Opcode::Getxattr,
        Opcode::Listxattr,
        Opcode::Removexattr,
        Opcode::Flush,
        Opcode::Init,
        Opcode::Opendir,
        Opcode::Readdir,
        Opcode::Releasedir,
        Opcode::Fsyncdir,
        Opcode::Getlk,
        Opcode::Setlk,
        Opcode::Setlkw,
        Opcode::Access,
        Opcode::Create,
        Opcode::Interrupt,
        Opcode::Bmap,
        Opcode::Destroy,
        Opcode::Ioctl,
        Opcode::Poll,
        Opcode::NotifyReply,
        Opcode::BatchForget,
        Opcode::Fallocate,
        Opcode::Readdirplus,
        Opcode::Rename2,
        Opcode::Lseek,
        Opcode::CopyFileRange,
        Opcode::Setupmapping,
        Opcode::Removemapping,
        Opcode::Syncfs,
        Opcode::Tmpfile,
        Opcode::Statx,
        Opcode::CopyFileRange64,
        Opcode::CuseInit,
    ];

    /// The opcode's number on the wire.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// The kernel's name for the opcode (`FUSE_` dropped), for logs and errors.
    pub const fn name(self) -> &'static str {
        // Exhaustive on purpose: a new opcode does not compile until it has a name.
        match self {
            Opcode::Lookup => "LOOKUP",
            Opcode::Forget => "FORGET",
            Opcode::Getattr => "GETATTR",
            Opcode::Setattr => "SETATTR",
            Opcode::Readlink => "READLINK",
            Opcode::Symlink => "SYMLINK",
            Opcode::Mknod => "MKNOD",
            Opcode::Mkdir => "MKDIR",
            Opcode::Unlink => "UNLINK",
            Opcode::Rmdir => "RMDIR",
            Opcode::Rename => "RENAME",
            Opcode::Link => "LINK",
            Opcode::Open => "OPEN",
            Opcode::Read => "READ",
            Opcode::Write => "WRITE",
            Opcode::Statfs => "STATFS",
            Opcode::Release => "RELEASE",
            Opcode::Fsync => "FSYNC",
            Opcode::Setxattr => "SETXATTR",
            Opcode::Getxattr => "GETXATTR",
            Opcode::Listxattr => "LISTXATTR",
            Opcode::Removexattr => "REMOVEXATTR",
            Opcode::Flush => "FLUSH",
            Opcode::Init => "INIT",
            Opcode::Opendir => "OPENDIR",
            Opcode::Readdir => "READDIR",
            Opcode::Releasedir => "RELEASEDIR",
            Opcode::Fsyncdir => "FSYNCDIR",
            Opcode::Getlk => "GETLK",
            Opcode::Setlk => "SETLK",
            Opcode::Setlkw => "SETLKW",
            Opcode::Access => "ACCESS",
            Opcode::Create => "CREATE",
            Opcode::Interrupt => "INTERRUPT",
            Opcode::Bmap => "BMAP",
            Opcode::Destroy => "DESTROY",
            Opcode::Ioctl => "IOCTL",
            Opcode::Poll => "POLL",
            Opcode::NotifyReply => "NOTIFY_REPLY",
            Opcode::BatchForget => "BATCH_FORGET",
            Opcode::Fallocate => "FALLOCATE",
            Opcode::Readdirplus => "READDIRPLUS",
            Opcode::Rename2 => "RENAME2",
            Opcode::Lseek => "LSEEK",
            Opcode::CopyFileRange => "COPY_FILE_RANGE",
            Opcode::Setupmapping => "SETUPMAPPING",
            Opcode::Removemapping => "REMOVEMAPPING",
            Opcode::Syncfs => "SYNCFS",
            Opcode::Tmpfile => "TMPFILE",
            Opcode::Statx => "STATX",
            Opcode::CopyFileRange64 => "COPY_FILE_RANGE_64",
            Opcode::CuseInit => "CUSE_INIT",
        }
    }

    /// Whether the kernel waits for a reply to this opcode. FORGET, BATCH_FORGET, INTERRUPT
    /// and NOTIFY_REPLY are answered by nothing; every other request gets exactly one reply.
    pub const fn expects_reply(self) -> bool {
        // Exhaustive on purpose: a new opcode does not compile until it is sorted here.
        match self {
            Opcode::Forget | Opcode::Interrupt | Opcode::NotifyReply | Opcode::BatchForget => false,
            Opcode::Lookup
            | Opcode::Getattr
            | Opcode::Setattr
            | Opcode::Readlink
            | Opcode::Symlink
            | Opcode::Mknod
            | Opcode::Mkdir
            | Opcode::Unlink
            | Opcode::Rmdir
            | Opcode::Rename
            | Opcode::Link
            | Opcode::Open
            | Opcode::Read
            | Opcode::Write
            | Opcode::Statfs
            | Opcode::Release
            | Opcode::Fsync
            | Opcode::Setxattr
            | Opcode::Getxattr
            | Opcode::Listxattr
            | Opcode::Removexattr
            | Opcode::Flush
            | Opcode::Init
            | Opcode::Opendir
            | Opcode::Readdir
            | Opcode::Releasedir
            | Opcode::Fsyncdir
            | Opcode::Getlk
            | Opcode::Setlk
            | Opcode::Setlkw
            | Opcode::Access
            | Opcode::Create
            | Opcode::Bmap
            | Opcode::Destroy
            | Opcode::Ioctl
            | Opcode::Poll
            | Opcode::Fallocate
            | Opcode::Readdirplus
            | Opcode::Rename2
            | Opcode::Lseek
            | Opcode::CopyFileRange
            | Opcode::Setupmapping
            | Opcode::Removemapping
            | Opcode::Syncfs
            | Opcode::Tmpfile
            | Opcode::Statx
            | Opcode::CopyFileRange64
            | Opcode::CuseInit => true,
        }
    }

    /// [`expects_reply`](Self::expects_reply) for a raw opcode; an unknown opcode is answered
    /// (with an error), so it expects a reply.
    pub const fn expects_reply_to(raw: u32) -> bool {
        match Opcode::from_u32(raw) {
            Some(op) => op.expects_reply(),
            None => true,
        }
    }

    /// The opcode for a raw number, or `None` if protocol 7.45 has no such opcode.
    pub const fn from_u32(raw: u32) -> Option<Opcode> {
        Some(match raw {
            1 => Opcode::Lookup,
            2 => Opcode::Forget,
            3 => Opcode::Getattr,
            4 => Opcode::Setattr,
            5 => Opcode::Readlink,
            6 => Opcode::Symlink,
            8 => Opcode::Mknod,
            9 => Opcode::Mkdir,
            10 => Opcode::Unlink,
            11 => Opcode::Rmdir,
            12 => Opcode::Rename,
            13 => Opcode::Link,
            14 => Opcode::Open,
            15 => Opcode::Read,
            16 => Opcode::Write,
            17 => Opcode::Statfs,
            18 => Opcode::Release,
            20 => Opcode::Fsync,
            21 => Opcode::Setxattr,
            22 => Opcode::Getxattr,
            23 => Opcode::Listxattr,
            24 => Opcode::Removexattr,
            25 => Opcode::Flush,
            26 => Opcode::Init,
            27 => Opcode::Opendir,
            28 => Opcode::Readdir,
            29 => Opcode::Releasedir,
            30 => Opcode::Fsyncdir,
            31 => Opcode::Getlk,
            32 => Opcode::Setlk,
            33 => Opcode::Setlkw,
            34 => Opcode::Access,
            35 => Opcode::Create,
            36 => Opcode::Interrupt,
            37 => Opcode::Bmap,
            38 => Opcode::Destroy,
            39 => Opcode::Ioctl,
            40 => Opcode::Poll,
            41 => Opcode::NotifyReply,
            42 => Opcode::BatchForget,
            43 => Opcode::Fallocate,
            44 => Opcode::Readdirplus,
            45 => Opcode::Rename2,
            46 => Opcode::Lseek,
            47 => Opcode::CopyFileRange,
            48 => Opcode::Setupmapping,
            49 => Opcode::Removemapping,
            50 => Opcode::Syncfs,
            51 => Opcode::Tmpfile,
            52 => Opcode::Statx,
            53 => Opcode::CopyFileRange64,
            4096 => Opcode::CuseInit,
            _ => return None,
        })
    }
}

impl TryFrom<u32> for Opcode {
    type Error = UnknownOpcode;

    fn try_from(raw: u32) -> Result<Self, Self::Error> {
        Opcode::from_u32(raw).ok_or(UnknownOpcode(raw))
    }
}

impl From<Opcode> for u32 {
    fn from(op: Opcode) -> u32 {
        op.as_u32()
    }
}
