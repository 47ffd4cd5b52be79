//! The async inode-level trait: the same opcodes as [`Filesystem`](crate::Filesystem), each an
//! `async fn` that returns what the sync reply's success method would take, or an `Errno`.

use std::ffi::OsStr;
use std::future::Future;
use std::time::Duration;

use fusekit_abi as abi;
use rustix::io::Errno;

use super::context::RequestContext;
use super::dir::{DirBuffer, DirPlusBuffer};
use crate::attr::{Entry, FileAttr, Ino, Lock, SetAttr, Statfs};
use crate::lowlevel::{CopyRange, KernelConfig};
use crate::notify::PollHandle;
use crate::reply::OpenOptions;

/// Arguments of IOCTL, owned (the request buffer is reused once the request is dispatched).
#[derive(Debug, Clone)]
pub struct IoctlRequest {
    /// Open handle.
    pub fh: u64,
    /// FUSE_IOCTL_* flags.
    pub flags: abi::IoctlFlags,
    /// The ioctl command.
    pub cmd: u32,
    /// The raw argument (a user-space address for pointer ioctls).
    pub arg: u64,
    /// Input bytes the kernel copied in.
    pub in_data: Vec<u8>,
    /// Room for output bytes.
    pub out_size: u32,
}

/// An open handle and its options, as OPEN, OPENDIR answer ([`ReplyOpen::opened_with`](crate::ReplyOpen::opened_with)).
pub type Opened = (u64, OpenOptions);

/// A new entry, its open handle and options, as CREATE and TMPFILE answer.
pub type Created = (Entry, u64, OpenOptions);

/// A FUSE filesystem at the inode level, written with `async fn`s. Serve it by wrapping it in
/// an [`AsyncAdapter`](super::AsyncAdapter), which is a [`Filesystem`](crate::Filesystem).
///
/// Each method mirrors the sync trait's method of the same name (read its docs for the
/// protocol and for what the kernel does after ENOSYS); the defaults are the same. Instead of
/// a reply handle, the method returns the answer: `Ok(value)` is what the reply's success
/// method takes, `Err(errno)` an error. Borrowed request data (names, write data) lives in
/// the task, so a method may hold it across `.await`. Methods are called on `&self` from many
/// tasks at once; their futures must be `Send`. Implement them as `async fn`.
///
/// A request's future is dropped — at whatever `.await` it waits — when the kernel interrupts
/// the request (the caller gets EINTR) or when the adapter's deadline passes. Keep state that
/// must not be half-changed behind one non-cancellable step, or finish it on a spawned task.
// The argument lists mirror the sync trait one to one.
#[allow(unused_variables, clippy::too_many_arguments)]
pub trait AsyncFilesystem: Send + Sync + 'static {
    /// Connection set-up; runs on the thread that starts the session, blocking it until the
    /// future finishes (on the adapter's runtime). An error fails the mount.
    fn init(
        &self,
        ctx: &RequestContext,
        config: &mut KernelConfig,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Ok(()) }
    }

    /// The session is ending; called once, blocking the thread that ends the session until
    /// the future finishes. Futures of requests still in flight are not waited for.
    fn destroy(&self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The kernel dropped `nlookup` references to `ino`. Synchronous and fire-and-forget: it
    /// runs on the thread that read the FORGET, never waits for room under the in-flight
    /// limit, and must not block (spawn a task with `tokio::spawn` for slow work: the
    /// runtime's context is entered).
    fn forget(&self, ino: Ino, nlookup: u64) {}

    /// Several forgets at once (same rules as [`forget`](Self::forget)). Default: calls
    /// `forget` for each.
    fn batch_forget(&self, nodes: &[abi::ForgetOne]) {
        for node in nodes {
            self.forget(node.nodeid, node.nlookup);
        }
    }

    /// Look up `name` in `parent`. Default: ENOSYS.
    fn lookup(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
    ) -> impl Future<Output = Result<Entry, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Attributes and how long they may be cached. Default: ENOSYS.
    fn getattr(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: Option<u64>,
    ) -> impl Future<Output = Result<(FileAttr, Duration), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Change attributes. Default: ENOSYS.
    fn setattr(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        attr: SetAttr,
    ) -> impl Future<Output = Result<(FileAttr, Duration), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Target of a symlink. Default: ENOSYS.
    fn readlink(
        &self,
        ctx: &RequestContext,
        ino: Ino,
    ) -> impl Future<Output = Result<Vec<u8>, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Create a symlink. Default: ENOSYS.
    fn symlink(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        target: &OsStr,
    ) -> impl Future<Output = Result<Entry, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Create a file node. Default: ENOSYS.
    fn mknod(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
    ) -> impl Future<Output = Result<Entry, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Create a directory. Default: ENOSYS.
    fn mkdir(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        umask: u32,
    ) -> impl Future<Output = Result<Entry, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Remove a non-directory name. Default: ENOSYS.
    fn unlink(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Remove an empty directory. Default: ENOSYS.
    fn rmdir(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Rename (RENAME and RENAME2). Default: ENOSYS.
    fn rename(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        flags: u32,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Create a hard link. Default: ENOSYS.
    fn link(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
    ) -> impl Future<Output = Result<Entry, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Open a file. Default: ENOSYS (opens then always succeed, see the sync trait).
    fn open(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        flags: i32,
    ) -> impl Future<Output = Result<Opened, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Read up to `size` bytes at `offset`. Default: ENOSYS.
    fn read(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        offset: u64,
        size: u32,
        flags: i32,
        lock_owner: Option<u64>,
    ) -> impl Future<Output = Result<Vec<u8>, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Write `data` at `offset`; answers the number of bytes written. `data` is owned (copied
    /// out of the request buffer at dispatch). Default: ENOSYS.
    fn write(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        offset: u64,
        data: Vec<u8>,
        write_flags: abi::WriteFlags,
        flags: i32,
        lock_owner: Option<u64>,
    ) -> impl Future<Output = Result<u32, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// A close(2) of a descriptor. Default: ENOSYS.
    fn flush(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        lock_owner: u64,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// The last reference to an open file is gone. Default: success.
    fn release(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        flags: i32,
        lock_owner: Option<u64>,
        flush: bool,
        flock_release: bool,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Ok(()) }
    }

    /// Persist a file. Default: ENOSYS.
    fn fsync(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        datasync: bool,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Open a directory. Default: ENOSYS.
    fn opendir(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        flags: i32,
    ) -> impl Future<Output = Result<Opened, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// List entries after cookie `offset` into `buf` until it is full or the directory ends
    /// (nothing added means end of directory). Default: ENOSYS.
    fn readdir(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        offset: u64,
        buf: &mut DirBuffer,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Like `readdir` with attributes. Default: ENOSYS.
    fn readdirplus(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        offset: u64,
        buf: &mut DirPlusBuffer,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Close a directory handle. Default: success.
    fn releasedir(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        flags: i32,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Ok(()) }
    }

    /// Sync a directory. Default: ENOSYS.
    fn fsyncdir(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        datasync: bool,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Filesystem statistics. Default: zeros with a 255-byte name limit.
    fn statfs(
        &self,
        ctx: &RequestContext,
        ino: Ino,
    ) -> impl Future<Output = Result<Statfs, Errno>> + Send {
        async {
            Ok(Statfs {
                bsize: 512,
                frsize: 512,
                namelen: 255,
                ..Default::default()
            })
        }
    }

    /// Set an extended attribute. Default: ENOSYS.
    fn setxattr(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        flags: i32,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// The whole value of an extended attribute. The adapter applies the size protocol (a
    /// size query gets the length, a value larger than the caller's buffer gets ERANGE).
    /// Default: ENOSYS.
    fn getxattr(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        name: &OsStr,
    ) -> impl Future<Output = Result<Vec<u8>, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// The NUL-separated list of extended attribute names (each name followed by a NUL);
    /// size protocol as for `getxattr`. Default: ENOSYS.
    fn listxattr(
        &self,
        ctx: &RequestContext,
        ino: Ino,
    ) -> impl Future<Output = Result<Vec<u8>, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Remove an extended attribute. Default: ENOSYS.
    fn removexattr(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        name: &OsStr,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// access(2) check. Default: ENOSYS.
    fn access(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        mask: i32,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Create and open a file. Default: ENOSYS.
    fn create(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
    ) -> impl Future<Output = Result<Created, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Test for a conflicting POSIX lock. Default: ENOSYS.
    fn getlk(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        lock_owner: u64,
        lock: Lock,
    ) -> impl Future<Output = Result<Lock, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Acquire or release a lock. With `sleep`, wait for it: an interrupt drops the future
    /// and answers EINTR by itself. Default: ENOSYS.
    fn setlk(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        lock_owner: u64,
        lock: Lock,
        sleep: bool,
        flock: bool,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Map a block. Default: ENOSYS.
    fn bmap(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        blocksize: u32,
        block: u64,
    ) -> impl Future<Output = Result<u64, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// An ioctl: its return value and output bytes. Default: ENOSYS.
    fn ioctl(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        args: &IoctlRequest,
    ) -> impl Future<Output = Result<(i32, Vec<u8>), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Poll for readiness: the ready events. Default: ENOSYS.
    fn poll(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        handle: Option<PollHandle>,
        events: u32,
        flags: u32,
    ) -> impl Future<Output = Result<u32, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Allocate or deallocate space. Default: ENOSYS.
    fn fallocate(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// SEEK_DATA / SEEK_HOLE: the resulting offset. Default: ENOSYS.
    fn lseek(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        offset: i64,
        whence: i32,
    ) -> impl Future<Output = Result<u64, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Copy a range between open files: the bytes copied. Default: ENOSYS.
    fn copy_file_range(
        &self,
        ctx: &RequestContext,
        range: CopyRange,
    ) -> impl Future<Output = Result<u64, Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Sync the whole filesystem. Default: ENOSYS.
    fn syncfs(
        &self,
        ctx: &RequestContext,
        ino: Ino,
    ) -> impl Future<Output = Result<(), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Create an unnamed file (O_TMPFILE). Default: EOPNOTSUPP.
    fn tmpfile(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        mode: u32,
        umask: u32,
        flags: i32,
    ) -> impl Future<Output = Result<Created, Errno>> + Send {
        async { Err(Errno::OPNOTSUPP) }
    }

    /// statx(2): the result and how long it may be cached. Default: ENOSYS.
    fn statx(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        fh: Option<u64>,
        flags: u32,
        mask: u32,
    ) -> impl Future<Output = Result<(abi::Statx, Duration), Errno>> + Send {
        async { Err(Errno::NOSYS) }
    }

    /// Data the kernel sent back for a `Notifier::retrieve`. Synchronous, like
    /// [`forget`](Self::forget): no reply, runs on the reading thread, must not block.
    fn retrieve_reply(
        &self,
        ctx: &RequestContext,
        cookie: u64,
        ino: Ino,
        offset: u64,
        data: &[u8],
    ) {
    }
}
