//! The [`Passthrough`] filesystem: its state, its construction, INIT negotiation, and the
//! `fusekit::Filesystem` implementation — a thin layer that turns each request into a call
//! of the concern modules (`namespace`, `attr`, `io`, `dir`, `xattr`, `locks`) and their
//! results into replies.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use fusekit::abi::{self, InitFlags, OpenOutFlags};
use fusekit::{
    CopyRange, Entry, Errno, Filesystem, Ino, KernelConfig, Lock, ReplyAttr, ReplyCopy,
    ReplyCreate, ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyLock,
    ReplyLseek, ReplyOpen, ReplyStatfs, ReplyStatx, ReplyWrite, ReplyXattr, Request, SetAttr,
};
use rustix::fs::{Mode, OFlags};

use crate::backing::BackingState;
use crate::handles::{DirHandle, FileHandle, HandleTable, DIR_BASE, FILE_BASE};
use crate::inode::InodeTable;
use crate::stats::{Counters, PassthroughStats, StatsHandle};
use crate::{Error, PassthroughOptions};

/// The readahead window asked for in INIT (see `KernelConfig::set_max_readahead`).
const READAHEAD_WINDOW: u32 = 1 << 20;

/// A filesystem mirroring a source directory. See the crate docs.
#[derive(Debug)]
pub struct Passthrough {
    pub(crate) src: PathBuf,
    pub(crate) opts: PassthroughOptions,
    pub(crate) inodes: InodeTable,
    pub(crate) files: HandleTable<FileHandle>,
    pub(crate) dirs: HandleTable<DirHandle>,
    pub(crate) backing: BackingState,
    pub(crate) counters: Arc<Counters>,
    pub(crate) daemon_is_root: bool,
    writeback: AtomicBool,
    /// The mount is `noatime`: source files and directories are opened with O_NOATIME, so
    /// reads (by the daemon or through kernel passthrough) leave the source's atime alone
    /// whatever the source's own mount options say.
    noatime: AtomicBool,
}

impl Passthrough {
    /// Opens `src` (which must be a directory) as the root of a new passthrough filesystem.
    pub fn new(src: &Path, opts: PassthroughOptions) -> Result<Passthrough, Error> {
        let fd = rustix::fs::open(
            src,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|source| match source {
            Errno::NOTDIR => Error::NotADirectory(src.to_path_buf()),
            source => Error::OpenSource {
                path: src.to_path_buf(),
                source,
            },
        })?;
        let st = crate::sys::stat_fd(fd.as_fd()).map_err(|source| Error::StatSource {
            path: src.to_path_buf(),
            source,
        })?;
        let counters = Arc::new(Counters::default());
        let budget = opts
            .inode_fd_budget
            .unwrap_or_else(crate::fdstore::default_budget);
        Ok(Passthrough {
            src: src.to_path_buf(),
            opts,
            inodes: InodeTable::new(fd, &st, budget, Arc::clone(&counters)),
            files: HandleTable::new(FILE_BASE),
            dirs: HandleTable::new(DIR_BASE),
            backing: BackingState::default(),
            counters,
            daemon_is_root: rustix::process::geteuid().is_root(),
            writeback: AtomicBool::new(false),
            noatime: AtomicBool::new(false),
        })
    }

    /// The mount options passthrough is safe with, as `fusekit mount passthrough` uses them:
    /// `default_permissions` on (the kernel checks every access against the source's modes
    /// and owners; see [`PassthroughOptions`] for what a root daemon does without it) and
    /// `allow_other` off, so only the mounting user can reach the mount. fsname and subtype
    /// `passthrough`. Turn `allow_other` on deliberately.
    pub fn mount_options() -> fusekit::MountOptions {
        fusekit::MountOptions::new()
            .default_permissions(true)
            .allow_other(false)
            .fsname("passthrough")
            .subtype("passthrough")
    }

    /// The source directory.
    pub fn source(&self) -> &Path {
        &self.src
    }

    /// The options in effect.
    pub fn options(&self) -> &PassthroughOptions {
        &self.opts
    }

    /// The counters now.
    pub fn stats(&self) -> PassthroughStats {
        self.stats_handle().snapshot()
    }

    /// A handle to the counters, to keep after the filesystem moved into a session.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            counters: Arc::clone(&self.counters),
        }
    }

    /// Node ids currently known to the kernel (the root included) — for leak checks.
    pub fn live_inodes(&self) -> usize {
        self.inodes.len()
    }

    /// Open file and directory handles.
    pub fn open_handles(&self) -> usize {
        self.files.len() + self.dirs.len()
    }

    pub(crate) fn writeback(&self) -> bool {
        self.writeback.load(Ordering::Relaxed)
    }

    pub(crate) fn noatime(&self) -> bool {
        self.noatime.load(Ordering::Relaxed)
    }

    /// Whether the source directory's own mount is `noatime`.
    fn source_is_noatime(&self) -> bool {
        let root = self.inodes.get(fusekit::ROOT_ID).and_then(|i| i.fd());
        root.and_then(|fd| rustix::fs::fstatvfs(fd.as_fd()))
            .is_ok_and(|st| st.f_flag.contains(rustix::fs::StatVfsMountFlags::NOATIME))
    }
}

impl Filesystem for Passthrough {
    fn init(&self, _req: &Request<'_>, config: &mut KernelConfig) -> Result<(), Errno> {
        // EXPORT_SUPPORT: file handles of the mount keep working after the kernel dropped the
        // inode (LOOKUP of "." and ".." by node id, see `inode`).
        config.enable_if_offered(
            InitFlags::DO_READDIRPLUS | InitFlags::READDIRPLUS_AUTO | InitFlags::EXPORT_SUPPORT,
        );
        // Sequential reads served by the daemon come as 1 MiB READs rather than 128 KiB ones
        // (applied when the daemon is root; kernel-passthrough reads use the source's own).
        config.set_max_readahead(READAHEAD_WINDOW);
        // The few direct-I/O handles (see `io::new_handle`) may still be mmapped.
        config.enable_if_offered(InitFlags::DIRECT_IO_ALLOW_MMAP);
        if self.opts.delegate_locks {
            config.enable_if_offered(InitFlags::POSIX_LOCKS | InitFlags::FLOCK_LOCKS);
        }
        if self.opts.switch_credentials {
            config.enable_if_offered(InitFlags::CREATE_SUPP_GROUP);
        }
        let writeback = self.opts.writeback_cache
            && !config
                .enable_if_offered(InitFlags::WRITEBACK_CACHE)
                .is_empty();
        self.writeback.store(writeback, Ordering::Relaxed);
        let noatime = config.atime_policy() == fusekit::AtimePolicy::NoAtime;
        self.noatime.store(noatime, Ordering::Relaxed);
        // The kernel flags the WRITEs and truncating SETATTRs that must clear setuid/setgid
        // instead of clearing anything itself (written-back pages carry no writer; see
        // `killpriv`), and marks the superblock SB_NOSEC: without this it asks GETXATTR
        // `security.capability` before every write (one more round trip per WRITE).
        config.enable_if_offered(InitFlags::HANDLE_KILLPRIV_V2);
        let mut passthrough = false;
        if self.opts.kernel_passthrough {
            if writeback {
                tracing::info!("kernel passthrough off: the writeback cache is on");
            } else if noatime && !self.source_is_noatime() {
                // The kernel opens each passthrough file with the caller's flags (no
                // O_NOATIME), so reads through it would move the source's atime.
                tracing::info!(
                    "kernel passthrough off: the mount is noatime and the source is not"
                );
            } else if config.enable_passthrough(1).is_ok() {
                passthrough = true;
            } else {
                tracing::warn!(
                    "kernel passthrough unavailable: the kernel does not offer FUSE_PASSTHROUGH; \
                     serving reads and writes through the daemon"
                );
            }
        }
        self.backing.set_enabled(passthrough);
        if let Some(timeout) = self.opts.request_timeout.filter(|t| !t.is_zero()) {
            if config.set_request_timeout(timeout).is_err() {
                tracing::warn!(
                    "the kernel does not offer request timeouts; continuing without one"
                );
            }
        }
        tracing::debug!(src = %self.src.display(), writeback, passthrough, "passthrough initialized");
        Ok(())
    }

    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        let ttl = self.opts.entry_timeout;
        reply.result(self.do_lookup(parent, name).or_else(|e| match e {
            // The kernel may remember the absence for the entry timeout.
            Errno::NOENT if !ttl.is_zero() => Ok(Entry::negative(ttl)),
            e => Err(e),
        }))
    }

    fn forget(&self, _req: &Request<'_>, ino: Ino, nlookup: u64) {
        self.inodes.forget(ino, nlookup);
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        reply.result(self.do_getattr(ino), self.opts.attr_timeout)
    }

    fn setattr(&self, req: &Request<'_>, ino: Ino, attr: &SetAttr, reply: ReplyAttr) {
        // The kernel flags a chown of any non-directory, by root with CAP_FSETID too (where
        // the source's own chown already cleared what Linux clears); a truncate or the empty
        // remove-privileges SETATTR only for a caller without CAP_FSETID, root included.
        let chown = attr.uid.is_some() || attr.gid.is_some();
        let result = self.do_setattr(ino, attr).and_then(|a| {
            if attr.kill_suidgid && attr.mode.is_none() && (!chown || req.uid() != 0) {
                self.kill_privs_of(req, ino)
            } else {
                Ok(a)
            }
        });
        reply.result(result, self.opts.attr_timeout)
    }

    fn readlink(&self, _req: &Request<'_>, ino: Ino, reply: ReplyData) {
        reply.result(self.do_readlink(ino))
    }

    fn symlink(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        target: &OsStr,
        reply: ReplyEntry,
    ) {
        reply.result(self.do_symlink(self.caller(req).as_ref(), parent, name, target))
    }

    fn mknod(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        reply.result(self.do_mknod(self.caller(req).as_ref(), parent, name, mode, rdev))
    }

    fn mkdir(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        reply.result(self.do_mkdir(self.caller(req).as_ref(), parent, name, mode))
    }

    fn unlink(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.result(self.do_unlink(parent, name, false))
    }

    fn rmdir(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.result(self.do_unlink(parent, name, true))
    }

    fn rename(
        &self,
        _req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        flags: u32,
        reply: ReplyEmpty,
    ) {
        reply.result(self.do_rename(parent, name, newparent, newname, flags))
    }

    fn link(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply.result(self.do_link(ino, newparent, newname))
    }

    fn open(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        reply.result_with(self.do_open(req, ino, flags))
    }

    fn read(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        fh: u64,
        offset: u64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        self.do_read(fh, offset, size, reply)
    }

    fn write(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        data: &[u8],
        write_flags: abi::WriteFlags,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        reply.result(self.do_write(req, ino, fh, offset, data, write_flags))
    }

    fn flush(&self, _req: &Request<'_>, _ino: Ino, fh: u64, lock_owner: u64, reply: ReplyEmpty) {
        reply.result(self.do_flush(fh, lock_owner))
    }

    fn release(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        _flock_release: bool,
        reply: ReplyEmpty,
    ) {
        // Closing the handle's descriptor drops its flock and its OFD locks.
        self.do_release(fh);
        reply.ok()
    }

    fn fsync(&self, _req: &Request<'_>, _ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        reply.result(self.do_fsync(fh, datasync))
    }

    fn opendir(&self, _req: &Request<'_>, ino: Ino, _flags: i32, reply: ReplyOpen) {
        reply.result(self.do_opendir(ino), OpenOutFlags::empty())
    }

    fn readdir(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        fh: u64,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let filled = self.do_readdir(fh, offset, &mut reply);
        reply.result(filled)
    }

    fn readdirplus(
        &self,
        req: &Request<'_>,
        _ino: Ino,
        fh: u64,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        let filled = self.do_readdirplus(req, fh, offset, &mut reply);
        reply.result(filled)
    }

    fn releasedir(&self, _req: &Request<'_>, _ino: Ino, fh: u64, _flags: i32, reply: ReplyEmpty) {
        self.dirs.remove(fh);
        reply.ok()
    }

    fn fsyncdir(&self, _req: &Request<'_>, _ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        reply.result(self.do_fsyncdir(fh, datasync))
    }

    fn statfs(&self, _req: &Request<'_>, ino: Ino, reply: ReplyStatfs) {
        reply.result(self.do_statfs(ino))
    }

    fn setxattr(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        reply: ReplyEmpty,
    ) {
        reply.result(self.do_setxattr(ino, name, value, flags))
    }

    fn getxattr(&self, _req: &Request<'_>, ino: Ino, name: &OsStr, size: u32, reply: ReplyXattr) {
        reply.result(self.do_getxattr(ino, name, size))
    }

    fn listxattr(&self, _req: &Request<'_>, ino: Ino, size: u32, reply: ReplyXattr) {
        reply.result(self.do_listxattr(ino, size))
    }

    fn removexattr(&self, _req: &Request<'_>, ino: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.result(self.do_removexattr(ino, name))
    }

    fn access(&self, req: &Request<'_>, ino: Ino, mask: i32, reply: ReplyEmpty) {
        reply.result(self.do_access(self.caller(req).as_ref(), ino, mask))
    }

    fn create(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let created = self.create_file(self.caller(req).as_ref(), parent, name, mode, flags);
        reply.result_with(created.map(|(entry, inode, fd)| {
            let (fh, options) = self.new_handle(req, inode, fd);
            (entry, fh, options)
        }))
    }

    fn getlk(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        fh: u64,
        lock_owner: u64,
        lock: &Lock,
        reply: ReplyLock,
    ) {
        reply.result(self.do_getlk(ino, fh, lock_owner, lock))
    }

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
        let attempt = if flock {
            self.flock_attempt(fh, lock.typ)
        } else {
            self.record_lock_attempt(ino, fh, lock_owner, lock)
        };
        match attempt {
            Ok(Some(attempt)) => crate::locks::lock_with(req, attempt, sleep, reply),
            // Nothing to wait for (e.g. an unlock): done, or failed before trying.
            other => reply.result(other.map(|_| ())),
        }
    }

    fn fallocate(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        reply.result(self.do_fallocate(fh, offset, length, mode))
    }

    fn lseek(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        fh: u64,
        offset: i64,
        whence: i32,
        reply: ReplyLseek,
    ) {
        reply.result(self.do_lseek(fh, offset, whence))
    }

    fn copy_file_range(&self, _req: &Request<'_>, range: &CopyRange, reply: ReplyCopy) {
        reply.result(self.do_copy_file_range(range))
    }

    fn syncfs(&self, _req: &Request<'_>, ino: Ino, reply: ReplyEmpty) {
        reply.result(self.do_syncfs(ino))
    }

    fn tmpfile(
        &self,
        req: &Request<'_>,
        parent: Ino,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let created = self.create_tmpfile(self.caller(req).as_ref(), parent, mode, flags);
        reply.result_with(created.map(|(entry, inode, fd)| {
            let (fh, options) = self.new_handle(req, inode, fd);
            (entry, fh, options)
        }))
    }

    fn statx(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        _fh: Option<u64>,
        flags: u32,
        mask: u32,
        reply: ReplyStatx,
    ) {
        reply.result(self.do_statx(ino, flags, mask), self.opts.attr_timeout)
    }
}
