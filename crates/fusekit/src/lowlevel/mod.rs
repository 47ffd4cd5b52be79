//! The inode-level API: one [`Filesystem`] method per FUSE opcode of protocol 7.45 (DAX
//! mappings excepted). Methods take `&self` — a session calls them from several worker threads
//! at once — the caller's [`Request`], the decoded arguments, and a reply handle to answer
//! now or later from any thread.
//!
//! Every method has a default. Most answer ENOSYS, and for many opcodes the kernel then
//! remembers "not implemented" for the rest of the mount and stops asking (noted per method):
//! ENOSYS is a promise, not a shrug.
//!
//! # Deadlock hazards
//! - A handler must not access its own mount point (stat, open, ...): the kernel would send a
//!   request that may need the very worker thread that is waiting.
//! - Notifications (`Notifier::inval_*`, `store`, `delete`) called from inside a handler may
//!   block on kernel locks held by the request being served (for example invalidating the
//!   directory a LOOKUP is in). Send them from another thread, or after replying.
//! - A handler that blocks (waits for a lock, a network reply) holds a worker: keep the reply
//!   and finish on another thread instead, or raise the worker count.

mod kernel_config;

use std::ffi::OsStr;

use fusekit_abi as abi;
use rustix::io::Errno;

pub use kernel_config::{default_capabilities, AtimePolicy, KernelConfig, DEFAULT_MAX_WRITE};

use crate::attr::{Ino, Lock, SetAttr};
use crate::notify::PollHandle;
use crate::reply::{
    ReplyAttr, ReplyBmap, ReplyCopy, ReplyCreate, ReplyData, ReplyDirectory, ReplyDirectoryPlus,
    ReplyEmpty, ReplyEntry, ReplyIoctl, ReplyLock, ReplyLseek, ReplyOpen, ReplyPoll, ReplyStatfs,
    ReplyStatx, ReplyWrite, ReplyXattr,
};
use crate::request::Request;

/// Arguments of COPY_FILE_RANGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyRange {
    /// Source node.
    pub ino_in: Ino,
    /// Source handle.
    pub fh_in: u64,
    /// Source offset.
    pub offset_in: u64,
    /// Destination node.
    pub ino_out: Ino,
    /// Destination handle.
    pub fh_out: u64,
    /// Destination offset.
    pub offset_out: u64,
    /// Bytes to copy.
    pub len: u64,
    /// copy_file_range flags (currently always 0).
    pub flags: u64,
}

/// Arguments of IOCTL.
#[derive(Debug, Clone, Copy)]
pub struct IoctlArgs<'a> {
    /// Open handle.
    pub fh: u64,
    /// FUSE_IOCTL_* flags.
    pub flags: abi::IoctlFlags,
    /// The ioctl command.
    pub cmd: u32,
    /// The raw argument (a user-space address for pointer ioctls).
    pub arg: u64,
    /// Input bytes the kernel copied in.
    pub in_data: &'a [u8],
    /// Room for output bytes.
    pub out_size: u32,
}

/// A FUSE filesystem at the inode level. See the module docs for the threading model.
///
/// Node ids: the kernel refers to nodes by the `ino` the filesystem returned in an
/// [`Entry`](crate::Entry); the root is [`ROOT_ID`](crate::ROOT_ID). Every successful LOOKUP,
/// create-like call and READDIRPLUS entry adds one to a node's lookup count; FORGET subtracts.
/// A node must stay valid while its lookup count is above zero or any handle is open, whatever
/// happened to its names.
// The methods mirror the protocol's argument lists one to one, so users can read the kernel's
// documentation next to them; grouping them into structs would hide that.
#[allow(unused_variables, clippy::too_many_arguments)]
pub trait Filesystem: Send + Sync + 'static {
    /// Connection set-up, before any other request. Adjust `config` to request capabilities
    /// (e.g. readdirplus, POSIX locks, writeback cache). An error fails the mount.
    fn init(&self, req: &Request<'_>, config: &mut KernelConfig) -> Result<(), Errno> {
        Ok(())
    }

    /// The session is ending (unmount). Called exactly once, after the last request.
    fn destroy(&self) {}

    /// Look up `name` in directory `parent`. Default: ENOSYS (every lookup fails).
    ///
    /// File handles: with `InitFlags::EXPORT_SUPPORT` negotiated, `open_by_handle_at` of a
    /// handle whose inode the kernel no longer caches arrives as a lookup of `"."` in the
    /// handle's node id — of any file type, possibly one already FORGOTten — and a directory
    /// handle is reconnected with lookups of `".."` (its parent). Answer the node itself (same
    /// node id and generation, one more lookup reference) while the file exists, and ENOENT or
    /// ESTALE once it is gone: the kernel answers ESTALE then. Without EXPORT_SUPPORT such
    /// handles answer ESTALE once the inode left the cache (the path API does not negotiate it).
    fn lookup(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        reply.error(Errno::NOSYS);
    }

    /// The kernel dropped `nlookup` references to `ino`. No reply. Default: nothing.
    fn forget(&self, req: &Request<'_>, ino: Ino, nlookup: u64) {}

    /// Several forgets at once. Default: calls [`forget`](Self::forget) for each.
    fn batch_forget(&self, req: &Request<'_>, nodes: &[abi::ForgetOne]) {
        for node in nodes {
            self.forget(req, node.nodeid, node.nlookup);
        }
    }

    /// Attributes of `ino` (`fh` is set when the caller holds an open file, e.g. fstat).
    /// Default: ENOSYS.
    fn getattr(&self, req: &Request<'_>, ino: Ino, fh: Option<u64>, reply: ReplyAttr) {
        reply.error(Errno::NOSYS);
    }

    /// Change attributes (chmod, chown, truncate, utimensat). Default: ENOSYS.
    fn setattr(&self, req: &Request<'_>, ino: Ino, attr: &SetAttr, reply: ReplyAttr) {
        reply.error(Errno::NOSYS);
    }

    /// Target of a symlink. Default: ENOSYS.
    fn readlink(&self, req: &Request<'_>, ino: Ino, reply: ReplyData) {
        reply.error(Errno::NOSYS);
    }

    /// Create a symlink `name` in `parent` pointing at `target`. Default: ENOSYS.
    fn symlink(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        target: &OsStr,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Create a file node (regular, fifo, socket, device). `mode` includes the type bits;
    /// `umask` is the caller's umask (already applied to `mode` unless DONT_MASK was
    /// negotiated). Default: ENOSYS.
    fn mknod(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Create a directory. Default: ENOSYS.
    fn mkdir(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Remove a non-directory name. The node lives on while it is looked up or open.
    /// Default: ENOSYS.
    fn unlink(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::NOSYS);
    }

    /// Remove an empty directory. Default: ENOSYS.
    fn rmdir(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::NOSYS);
    }

    /// Rename (RENAME and RENAME2). `flags`: RENAME_NOREPLACE, RENAME_EXCHANGE,
    /// RENAME_WHITEOUT. Default: ENOSYS; after ENOSYS with non-zero flags the kernel answers
    /// EINVAL to every later rename2 with flags on this mount.
    fn rename(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        flags: u32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Create a hard link to `ino` named `newname` in `newparent`. Default: ENOSYS.
    fn link(
        &self,
        req: &Request<'_>,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Open a file; `flags` are the open(2) flags (O_CREAT, O_EXCL, O_NOCTTY removed by the
    /// kernel; O_TRUNC only with ATOMIC_O_TRUNC). Default: ENOSYS, which the kernel (7.23+)
    /// takes as "opens always succeed": it stops sending OPEN and RELEASE for this mount.
    fn open(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        reply.error(Errno::NOSYS);
    }

    /// Read up to `size` bytes at `offset`. Answer fewer bytes only at end of file (unless
    /// the file was opened with direct I/O). Default: ENOSYS.
    fn read(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        size: u32,
        flags: i32,
        lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Write `data` at `offset`. `write_flags` tells whether this came from the page cache
    /// (WRITE_CACHE) and whether to clear setuid/setgid (WRITE_KILL_SUIDGID). Default: ENOSYS.
    fn write(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        data: &[u8],
        write_flags: abi::WriteFlags,
        flags: i32,
        lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Called on every close(2) of a descriptor of this open file (may be several per open).
    /// Default: ENOSYS — the kernel then stops sending FLUSH and close() succeeds.
    fn flush(&self, req: &Request<'_>, ino: Ino, fh: u64, lock_owner: u64, reply: ReplyEmpty) {
        reply.error(Errno::NOSYS);
    }

    /// The last reference to an open file is gone. Errors are not seen by anyone.
    /// `flock_release` asks to drop flock locks held by `lock_owner`. Default: success.
    fn release(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        flags: i32,
        lock_owner: Option<u64>,
        flush: bool,
        flock_release: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    /// Persist a file's data (and metadata unless `datasync`). Default: ENOSYS — the kernel
    /// then treats every later fsync as successful without asking.
    fn fsync(&self, req: &Request<'_>, ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        reply.error(Errno::NOSYS);
    }

    /// Open a directory. Default: ENOSYS — like `open`, the kernel then stops sending OPENDIR
    /// and RELEASEDIR (7.29+) and passes fh 0.
    fn opendir(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        reply.error(Errno::NOSYS);
    }

    /// List entries starting after the entry whose cookie is `offset` (0 = from the start).
    /// Default: ENOSYS.
    fn readdir(&self, req: &Request<'_>, ino: Ino, fh: u64, offset: u64, reply: ReplyDirectory) {
        reply.error(Errno::NOSYS);
    }

    /// Like `readdir` with attributes (only sent when READDIRPLUS was requested in `init`).
    /// Default: ENOSYS.
    fn readdirplus(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        reply: ReplyDirectoryPlus,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Close a directory handle. Default: success.
    fn releasedir(&self, req: &Request<'_>, ino: Ino, fh: u64, flags: i32, reply: ReplyEmpty) {
        reply.ok();
    }

    /// Sync a directory. Default: ENOSYS — never asked again; fsync on directories succeeds.
    fn fsyncdir(&self, req: &Request<'_>, ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        reply.error(Errno::NOSYS);
    }

    /// Filesystem statistics. Default: zeros with a 255-byte name limit (what `df` shows for
    /// a filesystem that does not say).
    fn statfs(&self, req: &Request<'_>, ino: Ino, reply: ReplyStatfs) {
        reply.statfs(&crate::Statfs {
            bsize: 512,
            frsize: 512,
            namelen: 255,
            ..Default::default()
        });
    }

    /// Set an extended attribute. `flags`: XATTR_CREATE / XATTR_REPLACE. Default: ENOSYS —
    /// the kernel then answers EOPNOTSUPP to every later setxattr on this mount.
    fn setxattr(
        &self,
        req: &Request<'_>,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Get an extended attribute: `size == 0` asks for the size (`reply.size`), otherwise the
    /// value (ERANGE if it does not fit). Default: ENOSYS — then EOPNOTSUPP forever.
    fn getxattr(&self, req: &Request<'_>, ino: Ino, name: &OsStr, size: u32, reply: ReplyXattr) {
        reply.error(Errno::NOSYS);
    }

    /// List extended attribute names (NUL-separated), same size protocol as getxattr.
    /// Default: ENOSYS — then EOPNOTSUPP forever.
    fn listxattr(&self, req: &Request<'_>, ino: Ino, size: u32, reply: ReplyXattr) {
        reply.error(Errno::NOSYS);
    }

    /// Remove an extended attribute. Default: ENOSYS — then EOPNOTSUPP forever.
    fn removexattr(&self, req: &Request<'_>, ino: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::NOSYS);
    }

    /// access(2) check (only sent without `default_permissions`). Default: ENOSYS — the
    /// kernel then allows every later access check.
    fn access(&self, req: &Request<'_>, ino: Ino, mask: i32, reply: ReplyEmpty) {
        reply.error(Errno::NOSYS);
    }

    /// Create and open a file atomically. Default: ENOSYS — the kernel then falls back to
    /// MKNOD + OPEN for the rest of the mount.
    fn create(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Test for a conflicting POSIX lock (only sent when POSIX_LOCKS was requested).
    /// Default: ENOSYS.
    fn getlk(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        lock_owner: u64,
        lock: &Lock,
        reply: ReplyLock,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Acquire or release a POSIX lock (or a flock lock when `flock`; sent when FLOCK_LOCKS
    /// was requested). With `sleep` the call should wait for the lock, ending with EINTR when
    /// the request is interrupted (see [`Request::wait_interrupted`]). Default: ENOSYS.
    fn setlk(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        lock_owner: u64,
        lock: &Lock,
        sleep: bool,
        flock: bool,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Map a block (only for block-device-backed filesystems). Default: ENOSYS.
    fn bmap(&self, req: &Request<'_>, ino: Ino, blocksize: u32, block: u64, reply: ReplyBmap) {
        reply.error(Errno::NOSYS);
    }

    /// An ioctl on an open file. Default: ENOSYS (the caller sees ENOSYS... use ENOTTY for
    /// "no such ioctl").
    fn ioctl(&self, req: &Request<'_>, ino: Ino, args: &IoctlArgs<'_>, reply: ReplyIoctl) {
        reply.error(Errno::NOSYS);
    }

    /// Poll for readiness. `handle` is set when the kernel wants a wake-up later.
    /// Default: ENOSYS — the kernel then reports the file always ready (DEFAULT_POLLMASK) and
    /// stops asking.
    fn poll(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        handle: Option<PollHandle>,
        events: u32,
        flags: u32,
        reply: ReplyPoll,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Allocate or deallocate space (fallocate(2) modes). Default: ENOSYS — then EOPNOTSUPP
    /// forever.
    fn fallocate(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// SEEK_DATA / SEEK_HOLE (and others). Default: ENOSYS — the kernel then uses its generic
    /// seek (the whole file is data) forever.
    fn lseek(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: i64,
        whence: i32,
        reply: ReplyLseek,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Copy a range between two open files (both COPY_FILE_RANGE opcodes). Default: ENOSYS —
    /// the kernel then copies through READ and WRITE forever.
    fn copy_file_range(&self, req: &Request<'_>, range: &CopyRange, reply: ReplyCopy) {
        reply.error(Errno::NOSYS);
    }

    /// Sync the whole filesystem (syncfs(2)). Default: ENOSYS — never asked again.
    fn syncfs(&self, req: &Request<'_>, ino: Ino, reply: ReplyEmpty) {
        reply.error(Errno::NOSYS);
    }

    /// Create an unnamed file in `parent` (O_TMPFILE) and open it; it may later get a name
    /// through `link`. Default: EOPNOTSUPP, which programs understand as "no O_TMPFILE here"
    /// and fall back (Python's tempfile does); ENOSYS would be cached by the kernel as
    /// EOPNOTSUPP too, but only after confusing the first caller.
    fn tmpfile(
        &self,
        req: &Request<'_>,
        parent: Ino,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        reply.error(Errno::OPNOTSUPP);
    }

    /// statx(2) with the fields in `mask`. Default: ENOSYS — the kernel then uses GETATTR
    /// for every later statx.
    fn statx(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: Option<u64>,
        flags: u32,
        mask: u32,
        reply: ReplyStatx,
    ) {
        reply.error(Errno::NOSYS);
    }

    /// Data the kernel sent back for a `Notifier::retrieve` identified by `cookie`. No reply.
    fn retrieve_reply(&self, req: &Request<'_>, cookie: u64, ino: Ino, offset: u64, data: &[u8]) {}
}
