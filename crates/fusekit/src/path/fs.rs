//! The [`PathFilesystem`] trait and the small types its methods take and return.
//!
//! Methods take `&self` and are called from several worker threads at once. Each returns a
//! plain `Result`; the adapter turns it into the kernel's reply. A path given to a method
//! stays true for the whole call: no rename or unlink that would change it runs meanwhile
//! (see [`crate::path`] for the locking). Paths are absolute within the mount (`/` is the
//! root).
//!
//! # Deadlock hazards
//! - A method must not access its own mount point: the kernel would send a request that may
//!   wait for the path locks the method holds.
//! - A method that blocks for long (network, a sleeping lock) delays renames and unlinks of
//!   every directory above its path. Lock requests (`getlk`/`setlk`) therefore get no path
//!   and hold no path lock.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use fusekit_abi::OpenOutFlags;
use rustix::io::Errno;

use crate::attr::{FileAttr, FileType, Lock, SetAttr, Statfs};
use crate::lowlevel::KernelConfig;
use crate::request::Request;

/// Who is asking: the caller's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathContext {
    /// The caller's filesystem uid.
    pub uid: u32,
    /// The caller's filesystem gid.
    pub gid: u32,
    /// The caller's thread group id (0 for the kernel's own requests).
    pub pid: u32,
    /// Only in [`PathFilesystem::write`]: the kernel asks the filesystem to clear setuid (and
    /// setgid with group-exec, or when the caller is outside the file's group) because the
    /// writer lacks CAP_FSETID (FUSE_WRITE_KILL_SUIDGID). Sent only once the filesystem
    /// negotiated `InitFlags::HANDLE_KILLPRIV_V2` in [`PathFilesystem::init`]; the kernel then
    /// clears nothing itself, and truncates, chowns and fallocates come as
    /// [`SetAttr::kill_suidgid`] instead. Without it the kernel clears the bits by its older
    /// rule (setgid only with group-exec).
    pub kill_suidgid: bool,
}

impl PathContext {
    /// The kernel's own identity (uid 0, pid 0), for work no caller asked for.
    pub fn kernel() -> Self {
        PathContext {
            uid: 0,
            gid: 0,
            pid: 0,
            kill_suidgid: false,
        }
    }

    pub(crate) fn from_request(req: &Request<'_>) -> Self {
        PathContext {
            uid: req.uid(),
            gid: req.gid(),
            pid: req.pid(),
            kill_suidgid: false,
        }
    }
}

/// An open file handle and how the kernel should treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Opened {
    /// The filesystem's handle, passed back to every later call on this open file.
    pub fh: u64,
    /// FOPEN_* flags (direct I/O, keep cache, ...).
    pub flags: OpenOutFlags,
}

impl Opened {
    /// A handle with no flags.
    pub fn new(fh: u64) -> Self {
        Opened {
            fh,
            flags: OpenOutFlags::empty(),
        }
    }
}

/// One directory entry returned by [`PathFilesystem::readdir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name (without `/`). `.` and `..` are always added by the adapter; list them only
    /// to give their inode numbers (used with `PathConfig::use_ino`).
    pub name: OsString,
    /// The entry's type.
    pub kind: FileType,
    /// Inode number to report; 0 lets the adapter choose (see `PathConfig::use_ino`).
    pub ino: u64,
}

impl DirEntry {
    /// An entry with no inode number of its own.
    pub fn new(name: impl Into<OsString>, kind: FileType) -> Self {
        DirEntry {
            name: name.into(),
            kind,
            ino: 0,
        }
    }
}

/// A filesystem written in terms of paths. Wrap it in a
/// [`PathAdapter`](super::PathAdapter) to mount it. Every method has a default, documented per
/// method; most answer ENOSYS (which the kernel may remember, as for the inode-level
/// [`Filesystem`](crate::Filesystem)).
///
/// `path: Option<&Path>` is `None` when the node has no name: it was unlinked while open (in
/// [`UnlinkMode::HandleBased`](super::UnlinkMode)), it is an anonymous tmpfile, or
/// `PathConfig::io_paths` is off for I/O calls. Such calls come with a handle whenever the
/// node has one open.
#[allow(unused_variables)]
pub trait PathFilesystem: Send + Sync + 'static {
    /// Connection set-up (see `Filesystem::init`). Default: accept the defaults.
    fn init(&self, config: &mut KernelConfig) -> Result<(), Errno> {
        Ok(())
    }

    /// The session ended. Called once, after hidden files still left were removed.
    fn destroy(&self) {}

    /// Attributes of `path`, or of the open file `fh` (fstat, or a node without a name).
    /// Also serves LOOKUP: ENOENT there means "no such name". Default: ENOSYS.
    fn getattr(
        &self,
        ctx: &PathContext,
        path: Option<&Path>,
        fh: Option<u64>,
    ) -> Result<FileAttr, Errno> {
        Err(Errno::NOSYS)
    }

    /// Changes attributes (chmod, chown, truncate, utimensat) and returns the new ones.
    /// Default: ENOSYS.
    fn setattr(
        &self,
        ctx: &PathContext,
        path: Option<&Path>,
        fh: Option<u64>,
        attr: &SetAttr,
    ) -> Result<FileAttr, Errno> {
        Err(Errno::NOSYS)
    }

    /// Target of the symlink `path`. Default: ENOSYS.
    fn readlink(&self, ctx: &PathContext, path: &Path) -> Result<PathBuf, Errno> {
        Err(Errno::NOSYS)
    }

    /// Creates a file node (`mode` includes the type bits). Default: ENOSYS.
    fn mknod(
        &self,
        ctx: &PathContext,
        path: &Path,
        mode: u32,
        rdev: u32,
    ) -> Result<FileAttr, Errno> {
        Err(Errno::NOSYS)
    }

    /// Creates a directory. Default: ENOSYS.
    fn mkdir(&self, ctx: &PathContext, path: &Path, mode: u32) -> Result<FileAttr, Errno> {
        Err(Errno::NOSYS)
    }

    /// Removes a non-directory. In hide mode this is also how hidden files are removed at
    /// their last release. Default: ENOSYS.
    fn unlink(&self, ctx: &PathContext, path: &Path) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }

    /// Removes an empty directory. Default: ENOSYS.
    fn rmdir(&self, ctx: &PathContext, path: &Path) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }

    /// Creates the symlink `path` pointing at `target`. Default: ENOSYS.
    fn symlink(&self, ctx: &PathContext, target: &Path, path: &Path) -> Result<FileAttr, Errno> {
        Err(Errno::NOSYS)
    }

    /// Renames `from` to `to`. `flags`: RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT.
    /// In hide mode this also moves open files to their hidden names (flags 0) and names
    /// hide-mode tmpfiles (RENAME_NOREPLACE). Default: ENOSYS.
    fn rename(&self, ctx: &PathContext, from: &Path, to: &Path, flags: u32) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }

    /// Creates the hard link `to` for `from`; returns the attributes of the linked file.
    /// Default: ENOSYS.
    fn link(&self, ctx: &PathContext, from: &Path, to: &Path) -> Result<FileAttr, Errno> {
        Err(Errno::NOSYS)
    }

    /// Opens a file (`flags` are open(2) flags). `path` is `None` for a node without a name
    /// (reopened through `/proc/PID/fd`). Default: success with handle 0 — the adapter always
    /// answers OPEN so that it can count open files.
    fn open(&self, ctx: &PathContext, path: Option<&Path>, flags: i32) -> Result<Opened, Errno> {
        Ok(Opened::new(0))
    }

    /// Opens a node that has no name through `fh`, one of its open handles: a reopen of
    /// `/proc/PID/fd/N` after unlink, or of an unnamed tmpfile (handle-based mode; in hide
    /// mode such nodes keep a hidden path and go through `open`). Default: ENOENT, which the
    /// adapter answers as ESTALE.
    fn reopen(&self, ctx: &PathContext, fh: u64, flags: i32) -> Result<Opened, Errno> {
        Err(Errno::NOENT)
    }

    /// Creates and opens a file. Default: ENOSYS — the kernel then uses MKNOD + OPEN for the
    /// rest of the mount.
    fn create(
        &self,
        ctx: &PathContext,
        path: &Path,
        mode: u32,
        flags: i32,
    ) -> Result<(FileAttr, Opened), Errno> {
        Err(Errno::NOSYS)
    }

    /// Reads up to `size` bytes at `offset` (fewer only at end of file). Default: ENOSYS.
    fn read(
        &self,
        ctx: &PathContext,
        path: Option<&Path>,
        fh: u64,
        offset: u64,
        size: u32,
    ) -> Result<Vec<u8>, Errno> {
        Err(Errno::NOSYS)
    }

    /// Writes `data` at `offset`; returns the bytes written. Default: ENOSYS.
    fn write(
        &self,
        ctx: &PathContext,
        path: Option<&Path>,
        fh: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<u32, Errno> {
        Err(Errno::NOSYS)
    }

    /// A descriptor of the open file was closed (maybe one of several). Default: ENOSYS — the
    /// kernel then stops sending FLUSH.
    fn flush(
        &self,
        ctx: &PathContext,
        path: Option<&Path>,
        fh: u64,
        lock_owner: u64,
    ) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }

    /// The last reference to the open file `fh` is gone. In hide mode the adapter removes a
    /// hidden file after the release of its last handle returns. Default: success.
    fn release(
        &self,
        ctx: &PathContext,
        path: Option<&Path>,
        fh: u64,
        flags: i32,
    ) -> Result<(), Errno> {
        Ok(())
    }

    /// Persists data (and metadata unless `datasync`). Default: ENOSYS — later fsyncs succeed
    /// without asking.
    fn fsync(
        &self,
        ctx: &PathContext,
        path: Option<&Path>,
        fh: u64,
        datasync: bool,
    ) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }

    /// Allocates or deallocates space (fallocate(2) `mode`). Default: ENOSYS — then
    /// EOPNOTSUPP forever.
    fn fallocate(
        &self,
        ctx: &PathContext,
        path: Option<&Path>,
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
    ) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }

    /// Opens a directory; the handle goes to `readdir` and `releasedir`. Default: handle 0.
    fn opendir(&self, ctx: &PathContext, path: &Path, flags: i32) -> Result<u64, Errno> {
        Ok(0)
    }

    /// All entries of the directory (the adapter adds `.` and `..`, leaves out hidden files,
    /// and serves the listing in pieces). Called again when a reader rewinds. Default: ENOSYS.
    /// `fh` is the handle from `opendir`; it also reaches `getattr` for a directory removed
    /// while open.
    fn readdir(&self, ctx: &PathContext, path: &Path, fh: u64) -> Result<Vec<DirEntry>, Errno> {
        Err(Errno::NOSYS)
    }

    /// Closes a directory handle. Default: success.
    fn releasedir(&self, ctx: &PathContext, path: Option<&Path>, fh: u64) -> Result<(), Errno> {
        Ok(())
    }

    /// Syncs a directory. Default: ENOSYS — later calls succeed without asking.
    fn fsyncdir(
        &self,
        ctx: &PathContext,
        path: &Path,
        fh: u64,
        datasync: bool,
    ) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }

    /// Filesystem statistics. Default: zeros with a 255-byte name limit.
    fn statfs(&self, ctx: &PathContext, path: &Path) -> Result<Statfs, Errno> {
        Ok(Statfs {
            bsize: 512,
            frsize: 512,
            namelen: 255,
            ..Default::default()
        })
    }

    /// Sets an extended attribute (`flags`: XATTR_CREATE / XATTR_REPLACE). Default: ENOSYS —
    /// then EOPNOTSUPP forever.
    fn setxattr(
        &self,
        ctx: &PathContext,
        path: &Path,
        name: &OsStr,
        value: &[u8],
        flags: i32,
    ) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }

    /// The value of an extended attribute (ENODATA when absent); the adapter handles the
    /// size protocol. Default: ENOSYS — then EOPNOTSUPP forever.
    fn getxattr(&self, ctx: &PathContext, path: &Path, name: &OsStr) -> Result<Vec<u8>, Errno> {
        Err(Errno::NOSYS)
    }

    /// Extended attribute names, each followed by a NUL byte. Default: ENOSYS.
    fn listxattr(&self, ctx: &PathContext, path: &Path) -> Result<Vec<u8>, Errno> {
        Err(Errno::NOSYS)
    }

    /// Removes an extended attribute. Default: ENOSYS.
    fn removexattr(&self, ctx: &PathContext, path: &Path, name: &OsStr) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }

    /// access(2) check (sent only without `default_permissions`). Default: ENOSYS — the
    /// kernel then allows every later check.
    fn access(&self, ctx: &PathContext, path: &Path, mask: i32) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }

    /// [`UnlinkMode::HandleBased`](super::UnlinkMode) only: creates an unnamed, open file in
    /// directory `dir` (O_TMPFILE). The adapter gives it a node with no name and open count 1.
    /// In hide mode the adapter makes tmpfiles itself from `create` + `rename` and never
    /// calls this. Default: EOPNOTSUPP, which programs understand as "no O_TMPFILE here".
    fn tmpfile(
        &self,
        ctx: &PathContext,
        dir: &Path,
        mode: u32,
        flags: i32,
    ) -> Result<(FileAttr, Opened), Errno> {
        Err(Errno::OPNOTSUPP)
    }

    /// [`UnlinkMode::HandleBased`](super::UnlinkMode) only: gives the tmpfile open as `fh`
    /// the name `to` (linkat of an O_TMPFILE file). Default: EOPNOTSUPP.
    fn link_tmpfile(&self, ctx: &PathContext, fh: u64, to: &Path) -> Result<FileAttr, Errno> {
        Err(Errno::OPNOTSUPP)
    }

    /// Tests for a conflicting POSIX lock (only with POSIX_LOCKS enabled in `init`). No path
    /// and no path lock (it may block). Default: ENOSYS.
    fn getlk(
        &self,
        ctx: &PathContext,
        fh: u64,
        lock_owner: u64,
        lock: &Lock,
    ) -> Result<Lock, Errno> {
        Err(Errno::NOSYS)
    }

    /// Takes or releases a POSIX (or, with `flock`, BSD) lock, waiting when `sleep`. No path
    /// and no path lock. Default: ENOSYS.
    fn setlk(
        &self,
        ctx: &PathContext,
        fh: u64,
        lock_owner: u64,
        lock: &Lock,
        sleep: bool,
        flock: bool,
    ) -> Result<(), Errno> {
        Err(Errno::NOSYS)
    }
}
