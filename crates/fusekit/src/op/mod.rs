//! Requests decoded from kernel bytes into a borrowed, typed [`Op`]. One decoder serves every
//! transport (/dev/fuse, io_uring). Fixed argument structs are copied out (they are small, and
//! copying makes alignment irrelevant); names and data stay borrowed from the transport's buffer.
//! Decoding never panics and never does I/O.

mod decode;
mod error;
mod reader;

use std::ffi::OsStr;

use fusekit_abi as abi;

pub use decode::{decode, opcode_name, DecodeContext};
pub use error::DecodeError;

/// A decoded request: the header, the operation, and the raw extension area (7.38+, e.g.
/// supplementary groups or security contexts appended after the arguments).
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The request header as the kernel sent it.
    pub header: abi::InHeader,
    /// The typed operation.
    pub op: Op<'a>,
    /// Extension bytes (`total_extlen * 8` bytes at the end of the request).
    pub ext: &'a [u8],
}

/// Forget entries of a BATCH_FORGET, read without any alignment requirement.
#[derive(Debug, Clone, Copy)]
pub struct ForgetList<'a> {
    bytes: &'a [u8],
}

impl<'a> ForgetList<'a> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() / core::mem::size_of::<abi::ForgetOne>()
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over `(nodeid, nlookup)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = abi::ForgetOne> + 'a {
        use zerocopy::FromBytes;
        self.bytes
            .chunks_exact(core::mem::size_of::<abi::ForgetOne>())
            .filter_map(|chunk| abi::ForgetOne::read_from_bytes(chunk).ok())
    }
}

/// One FUSE operation with its arguments. The node id the operation applies to is in the
/// header (`Decoded::header.nodeid`). Fields are the kernel's arguments: `arg` is the opcode's
/// fixed struct from `fusekit_abi`, names are NUL-stripped, data is borrowed.
#[derive(Debug)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum Op<'a> {
    /// Look a name up in a directory.
    Lookup { name: &'a OsStr },
    /// Drop `nlookup` references to a node (no reply).
    Forget { arg: abi::ForgetIn },
    /// Drop references to many nodes at once (no reply).
    BatchForget { forgets: ForgetList<'a> },
    /// Read attributes.
    Getattr { arg: abi::GetattrIn },
    /// Change attributes.
    Setattr { arg: abi::SetattrIn },
    /// Read a symlink's target.
    Readlink,
    /// Create a symlink `name` pointing to `target`.
    Symlink { name: &'a OsStr, target: &'a OsStr },
    /// Create a file node.
    Mknod { arg: abi::MknodIn, name: &'a OsStr },
    /// Create a directory.
    Mkdir { arg: abi::MkdirIn, name: &'a OsStr },
    /// Remove a name.
    Unlink { name: &'a OsStr },
    /// Remove a directory.
    Rmdir { name: &'a OsStr },
    /// Rename (RENAME and RENAME2; `flags` is 0 for RENAME).
    Rename {
        newdir: u64,
        flags: u32,
        name: &'a OsStr,
        newname: &'a OsStr,
    },
    /// Make a hard link to `arg.oldnodeid` named `newname` in the header's node.
    Link {
        arg: abi::LinkIn,
        newname: &'a OsStr,
    },
    /// Open a file.
    Open { arg: abi::OpenIn },
    /// Read from an open file.
    Read { arg: abi::ReadIn },
    /// Write to an open file.
    Write { arg: abi::WriteIn, data: &'a [u8] },
    /// Filesystem statistics.
    Statfs,
    /// Close a file handle.
    Release { arg: abi::ReleaseIn },
    /// Sync a file.
    Fsync { arg: abi::FsyncIn },
    /// Set an extended attribute.
    Setxattr {
        arg: abi::SetxattrIn,
        name: &'a OsStr,
        value: &'a [u8],
    },
    /// Get an extended attribute.
    Getxattr {
        arg: abi::GetxattrIn,
        name: &'a OsStr,
    },
    /// List extended attribute names.
    Listxattr { arg: abi::GetxattrIn },
    /// Remove an extended attribute.
    Removexattr { name: &'a OsStr },
    /// Called on each close() of a file descriptor.
    Flush { arg: abi::FlushIn },
    /// Connection set-up.
    Init { arg: abi::InitIn },
    /// Open a directory.
    Opendir { arg: abi::OpenIn },
    /// Read directory entries.
    Readdir { arg: abi::ReadIn },
    /// Close a directory handle.
    Releasedir { arg: abi::ReleaseIn },
    /// Sync a directory.
    Fsyncdir { arg: abi::FsyncIn },
    /// Test for a POSIX lock.
    Getlk { arg: abi::LkIn },
    /// Acquire or release a lock without waiting.
    Setlk { arg: abi::LkIn },
    /// Acquire a lock, waiting for it.
    Setlkw { arg: abi::LkIn },
    /// Check access permissions.
    Access { arg: abi::AccessIn },
    /// Create and open a file.
    Create { arg: abi::CreateIn, name: &'a OsStr },
    /// Interrupt an earlier request (handled by the session).
    Interrupt { arg: abi::InterruptIn },
    /// Map a file block to a device block.
    Bmap { arg: abi::BmapIn },
    /// The connection is going away.
    Destroy,
    /// An ioctl on an open file.
    Ioctl { arg: abi::IoctlIn, data: &'a [u8] },
    /// Poll for I/O readiness.
    Poll { arg: abi::PollIn },
    /// Data answering an earlier RETRIEVE notification.
    NotifyReply {
        arg: abi::NotifyRetrieveIn,
        data: &'a [u8],
    },
    /// Allocate or deallocate file space.
    Fallocate { arg: abi::FallocateIn },
    /// Read directory entries with their attributes.
    Readdirplus { arg: abi::ReadIn },
    /// Find the next data or hole.
    Lseek { arg: abi::LseekIn },
    /// Copy a range between files (reply carries a 32-bit count).
    CopyFileRange { arg: abi::CopyFileRangeIn },
    /// Copy a range between files (7.45, reply carries a 64-bit count).
    CopyFileRange64 { arg: abi::CopyFileRangeIn },
    /// Sync the whole filesystem.
    Syncfs { arg: abi::SyncfsIn },
    /// Create an unnamed temporary file in a directory (O_TMPFILE).
    Tmpfile { arg: abi::CreateIn },
    /// statx(2): attributes including birth time and the fields of `sx_mask` (7.39).
    Statx { arg: abi::StatxIn },
    /// DAX mapping requests (virtio-fs only); answered ENOSYS.
    DaxMapping { opcode: abi::Opcode },
    /// CUSE set-up; answered ENOSYS by a FUSE session.
    CuseInit,
    /// An opcode this library does not know; answered ENOSYS.
    Unknown { opcode: u32 },
}
