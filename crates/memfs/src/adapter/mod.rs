//! The FUSE face of memfs: [`MemFsAdapter`] implements `fusekit::Filesystem` by calling the
//! engine, one trait method to one engine method. It owns only what the kernel protocol adds:
//! caller identity, cache lifetimes, reply encoding, and blocking lock waits (moved off the
//! worker threads so a waiter can never starve the lock holder of a worker). The engine
//! speaks fusekit's own types (`FileAttr`, `SetAttr`, `Statfs`, `Lock`, `Xattr`), so nothing
//! is converted on the way; only STATX needs a layout of its own (`statx.rs`: the attributes
//! plus the birth time `FileAttr` does not carry).
//!
//! Cache settings: memfs changes only through this mount, and the kernel invalidates what it
//! caches on every change it makes, so names, attributes, data (`KEEP_CACHE`, and no
//! `AUTO_INVAL_DATA`), directory listings (`CACHE_DIR`) and symlinks are all cached.

mod groups;
mod lock_wait;
mod statx;

use std::cell::RefCell;
use std::ffi::OsStr;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fusekit::abi::{InitFlags, OpenOutFlags, WriteFlags};
use fusekit::{
    CopyRange, Errno, Filesystem, Ino, KernelConfig, Lock, ReplyAttr, ReplyCopy, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyLock, ReplyLseek,
    ReplyOpen, ReplyStatfs, ReplyStatx, ReplyWrite, ReplyXattr, Request,
};

use rustix::fs::OFlags;

use crate::{Caller, FileAttr, LockType, MemFs, RenameFlags};

/// The readahead window asked for in INIT (see `KernelConfig::set_max_readahead`).
const READAHEAD_WINDOW: u32 = 1 << 20;

/// How the adapter talks to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdapterOptions {
    /// How long the kernel may cache names and attributes.
    pub ttl: Duration,
    /// Use the kernel's writeback cache (buffered writes are batched; off by default).
    pub writeback_cache: bool,
    /// Ask the kernel to abort the connection when a request stays unanswered this long
    /// (FUSE_REQUEST_TIMEOUT, Linux 6.14+): callers then get ECONNABORTED/ENOTCONN instead of
    /// hanging. Whole seconds; the kernel checks every 15 s, so a stuck request may wait up to
    /// 15 s longer (with 1 s: 15-30 s; docs/kernel-notes.md). `None` or zero: no timeout (the
    /// default). When the kernel does not offer it, the mount goes on without
    /// one and says so.
    pub request_timeout: Option<Duration>,
}

impl Default for AdapterOptions {
    fn default() -> Self {
        AdapterOptions {
            ttl: Duration::from_secs(1),
            writeback_cache: false,
            request_timeout: None,
        }
    }
}

/// memfs served through fusekit.
///
/// Serve one engine through one connection at a time: when the connection ends (`destroy`),
/// the engine drops every kernel reference, handle and lock ([`MemFs::connection_ended`]).
#[derive(Debug, Clone)]
pub struct MemFsAdapter {
    fs: Arc<MemFs>,
    options: AdapterOptions,
    /// Whether the connection negotiated the writeback cache (set in `init`).
    writeback: Arc<AtomicBool>,
}

impl MemFsAdapter {
    /// Serves `fs` with `options`.
    pub fn new(fs: Arc<MemFs>, options: AdapterOptions) -> Self {
        MemFsAdapter {
            fs,
            options,
            writeback: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The open flags the engine should see. With the writeback cache the kernel owns the file
    /// size and writes dirty pages back at their real offsets through any writable handle, and
    /// it may read through a write-only one to fill a partly written page: so `O_APPEND` is
    /// the kernel's business (honouring it here would move write-backs to the end of the file)
    /// and write-only handles must also read.
    fn open_flags(&self, flags: i32) -> u32 {
        let flags = flags as u32;
        if !self.writeback.load(Ordering::Relaxed) {
            return flags;
        }
        let mut f = OFlags::from_bits_retain(flags) - OFlags::APPEND;
        if f & OFlags::RWMODE == OFlags::WRONLY {
            f = (f - OFlags::RWMODE) | OFlags::RDWR;
        }
        f.bits()
    }

    /// The engine (for statistics, or to share it with other code).
    pub fn engine(&self) -> &Arc<MemFs> {
        &self.fs
    }

    /// The mount options memfs is safe with, as `fusekit mount memfs` uses them:
    /// `default_permissions` on — the adapter checks no read/write/execute permission itself
    /// (only ACCESS answers from the modes), so without it anyone who can reach the mount
    /// opens any file whatever its mode — and `allow_other` off, so only the mounting user
    /// can reach it. fsname and subtype `memfs`. Turn `allow_other` on deliberately.
    pub fn mount_options() -> fusekit::MountOptions {
        fusekit::MountOptions::new()
            .default_permissions(true)
            .allow_other(false)
            .fsname("memfs")
            .subtype("memfs")
    }

    fn entry(&self, attr: FileAttr) -> fusekit::Entry {
        fusekit::Entry::new(attr, self.options.ttl)
    }
}

fn caller(req: &Request<'_>, umask: u32) -> Caller {
    Caller {
        uid: req.uid(),
        gid: req.gid(),
        pid: req.pid(),
        umask,
        groups: None,
    }
}

thread_local! {
    /// Read buffer reused by each worker thread: reads allocate nothing once warm.
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Filesystem for MemFsAdapter {
    fn init(&self, _req: &Request<'_>, config: &mut KernelConfig) -> Result<(), Errno> {
        // No ATOMIC_O_TRUNC: with it an O_TRUNC open truncates inside OPEN, whose reply
        // carries no attributes and no caller capabilities, so the kernel keeps showing a
        // setuid mode the truncate cleared, and root without CAP_FSETID keeps the bits.
        // Without it the kernel sends a SETATTR (size 0, FATTR_KILL_SUIDGID when the caller
        // lacks CAP_FSETID) whose reply refreshes the cached mode.
        // No FLOCK_LOCKS: flock(2) then stays in the kernel's own lock table, exact for a
        // filesystem only this mount serves, and visible in /proc/locks (lslocks) as on tmpfs;
        // delegated, the kernel keeps no record of it. (MemFs::flock serves other front ends.)
        // No AUTO_INVAL_DATA: it makes the kernel compare mtimes on every read whose cached
        // attributes expired, i.e. a GETATTR, and throw the page cache away after each write
        // of ours (without the writeback cache the kernel does not keep mtime itself, so the
        // new mtime looks like someone else's change): one GETATTR and one READ more for a
        // file read after it was written. Nobody else changes memfs's data.
        config.disable(InitFlags::AUTO_INVAL_DATA);
        config.enable_if_offered(
            InitFlags::POSIX_LOCKS
                | InitFlags::DO_READDIRPLUS
                | InitFlags::READDIRPLUS_AUTO
                | InitFlags::HANDLE_KILLPRIV_V2
                | InitFlags::EXPORT_SUPPORT
                | InitFlags::CACHE_SYMLINKS,
        );
        if self.options.writeback_cache {
            let on = !config
                .enable_if_offered(InitFlags::WRITEBACK_CACHE)
                .is_empty();
            if !on {
                tracing::warn!("the kernel does not offer writeback cache; continuing without it");
            }
            self.writeback.store(on, Ordering::Relaxed);
        }
        if let Some(timeout) = self.options.request_timeout.filter(|t| !t.is_zero()) {
            if config.set_request_timeout(timeout).is_err() {
                tracing::warn!(
                    "the kernel does not offer request timeouts; continuing without one"
                );
            }
        }
        self.fs.set_atime_policy(config.atime_policy());
        // Sequential reads come as 1 MiB READs rather than 128 KiB ones (when root).
        config.set_max_readahead(READAHEAD_WINDOW);
        config.set_time_gran(1);
        Ok(())
    }

    fn destroy(&self) {
        // The kernel's references died with the connection; FORGETs may never come.
        self.fs.connection_ended();
    }

    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        let ttl = self.options.ttl;
        reply.result(match self.fs.lookup(parent, name) {
            Ok(a) => Ok(self.entry(a)),
            // The kernel may remember the absence: only it can create the name.
            Err(Errno::NOENT) => Ok(fusekit::Entry::negative(ttl)),
            Err(e) => Err(e),
        })
    }

    fn forget(&self, _req: &Request<'_>, ino: Ino, nlookup: u64) {
        self.fs.forget(ino, nlookup);
    }

    fn batch_forget(&self, _req: &Request<'_>, nodes: &[fusekit::abi::ForgetOne]) {
        for n in nodes {
            self.fs.forget(n.nodeid, n.nlookup);
        }
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        reply.result(self.fs.getattr(ino), self.options.ttl)
    }

    fn setattr(&self, req: &Request<'_>, ino: Ino, attr: &fusekit::SetAttr, reply: ReplyAttr) {
        let mut c = caller(req, 0);
        if attr.size.is_some() || attr.kill_suidgid {
            if let Ok(a) = self.fs.getattr(ino) {
                groups::fill_for_data_change(&mut c, &a);
            }
        }
        reply.result(self.fs.setattr(&c, ino, attr), self.options.ttl)
    }

    fn readlink(&self, _req: &Request<'_>, ino: Ino, reply: ReplyData) {
        reply.result(self.fs.readlink(ino))
    }

    fn symlink(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        target: &OsStr,
        reply: ReplyEntry,
    ) {
        let made = self.fs.symlink(&caller(req, 0), parent, name, target);
        reply.result(made.map(|a| self.entry(a)))
    }

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
        let made = self.fs.mknod(&caller(req, umask), parent, name, mode, rdev);
        reply.result(made.map(|a| self.entry(a)))
    }

    fn mkdir(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let made = self.fs.mkdir(&caller(req, umask), parent, name, mode);
        reply.result(made.map(|a| self.entry(a)))
    }

    fn unlink(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.result(self.fs.unlink(&caller(req, 0), parent, name))
    }

    fn rmdir(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.result(self.fs.rmdir(&caller(req, 0), parent, name))
    }

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
        reply.result(self.fs.rename(
            &caller(req, 0),
            parent,
            name,
            newparent,
            newname,
            RenameFlags(flags),
        ))
    }

    fn link(
        &self,
        req: &Request<'_>,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let linked = self.fs.link(&caller(req, 0), ino, newparent, newname);
        reply.result(linked.map(|a| self.entry(a)))
    }

    fn open(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        let opened = self.fs.open(&caller(req, 0), ino, self.open_flags(flags));
        reply.result(opened, OpenOutFlags::KEEP_CACHE)
    }

    fn read(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        READ_BUF.with_borrow_mut(|buf| {
            buf.clear();
            let read = self.fs.read(ino, fh, offset, size, buf);
            reply.result(read.map(|()| &buf[..]))
        })
    }

    fn write(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        data: &[u8],
        write_flags: WriteFlags,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        let kill_priv = write_flags.contains(WriteFlags::KILL_SUIDGID);
        let mut c = caller(req, 0);
        if kill_priv {
            if let Ok(a) = self.fs.getattr(ino) {
                groups::fill_for_data_change(&mut c, &a);
            }
        }
        reply.result(self.fs.write(&c, ino, fh, offset, data, kill_priv))
    }

    fn flush(&self, _req: &Request<'_>, ino: Ino, fh: u64, lock_owner: u64, reply: ReplyEmpty) {
        reply.result(self.fs.flush(ino, fh, Some(lock_owner)))
    }

    fn release(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        fh: u64,
        _flags: i32,
        lock_owner: Option<u64>,
        _flush: bool,
        flock_release: bool,
        reply: ReplyEmpty,
    ) {
        let owner = if flock_release { lock_owner } else { None };
        reply.result(self.fs.release(ino, fh, owner))
    }

    fn fsync(&self, _req: &Request<'_>, ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        reply.result(self.fs.fsync(ino, fh, datasync))
    }

    fn opendir(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        reply.result(
            self.fs.opendir(&caller(req, 0), ino, flags as u32),
            OpenOutFlags::KEEP_CACHE | OpenOutFlags::CACHE_DIR,
        )
    }

    fn readdir(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let result = self.fs.readdir(ino, fh, offset, |e| {
            if reply.add(e.ino, e.offset, e.kind.dirent_type(), e.name) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        reply.result(result)
    }

    fn readdirplus(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        let ttl = self.options.ttl;
        let result = self.fs.readdirplus(ino, fh, offset, |e, attr| {
            let entry = match attr {
                Some(a) => fusekit::Entry::new(*a, ttl),
                // "." and "..": a dirent without a lookup reference (node id 0).
                None => fusekit::Entry {
                    ino: 0,
                    generation: 0,
                    attr: fusekit::FileAttr {
                        ino: e.ino,
                        mode: e.kind.mode_bits(),
                        ..Default::default()
                    },
                    entry_ttl: Duration::ZERO,
                    attr_ttl: Duration::ZERO,
                },
            };
            if reply.add(&entry, e.offset, e.name) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        reply.result(result)
    }

    fn releasedir(&self, _req: &Request<'_>, ino: Ino, fh: u64, _flags: i32, reply: ReplyEmpty) {
        reply.result(self.fs.releasedir(ino, fh))
    }

    fn fsyncdir(&self, _req: &Request<'_>, ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        reply.result(self.fs.fsyncdir(ino, fh, datasync))
    }

    fn statfs(&self, _req: &Request<'_>, _ino: Ino, reply: ReplyStatfs) {
        reply.statfs(&self.fs.statfs())
    }

    fn setxattr(
        &self,
        req: &Request<'_>,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        reply: ReplyEmpty,
    ) {
        reply.result(
            self.fs
                .setxattr(&caller(req, 0), ino, name, value, flags as u32),
        )
    }

    fn getxattr(&self, req: &Request<'_>, ino: Ino, name: &OsStr, size: u32, reply: ReplyXattr) {
        reply.result(self.fs.getxattr(&caller(req, 0), ino, name, size))
    }

    fn listxattr(&self, req: &Request<'_>, ino: Ino, size: u32, reply: ReplyXattr) {
        reply.result(self.fs.listxattr(&caller(req, 0), ino, size))
    }

    fn removexattr(&self, req: &Request<'_>, ino: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.result(self.fs.removexattr(&caller(req, 0), ino, name))
    }

    fn access(&self, req: &Request<'_>, ino: Ino, mask: i32, reply: ReplyEmpty) {
        reply.result(self.fs.access(&caller(req, 0), ino, mask as u32))
    }

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
        let created = self.fs.create(
            &caller(req, umask),
            parent,
            name,
            mode,
            self.open_flags(flags),
        );
        reply.result(
            created.map(|(a, fh)| (self.entry(a), fh)),
            OpenOutFlags::KEEP_CACHE,
        )
    }

    fn tmpfile(
        &self,
        req: &Request<'_>,
        parent: Ino,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let created = self
            .fs
            .tmpfile(&caller(req, umask), parent, mode, self.open_flags(flags));
        reply.result(
            created.map(|(a, fh)| (self.entry(a), fh)),
            OpenOutFlags::KEEP_CACHE,
        )
    }

    fn getlk(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        _fh: u64,
        lock_owner: u64,
        lock: &Lock,
        reply: ReplyLock,
    ) {
        reply.result(self.fs.getlk(ino, lock_owner, lock, false))
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
        let Some(typ) = LockType::from_raw(lock.typ) else {
            return reply.error(Errno::INVAL);
        };
        // OFD locks must die with their handle (see MemFs::lock_through); it fails only with
        // EBADF, so EAGAIN below is always the lock's.
        let through = if !flock && typ != LockType::Unlock {
            self.fs.lock_through(ino, fh, lock_owner)
        } else {
            Ok(())
        };
        match through.and_then(|()| self.fs.setlk(ino, lock_owner, lock, flock)) {
            Err(Errno::AGAIN) if sleep => lock_wait::wait_in_background(
                Arc::clone(&self.fs),
                req.interrupt_token(),
                ino,
                lock_owner,
                *lock,
                flock,
                reply,
            ),
            done => reply.result(done),
        }
    }

    fn fallocate(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        reply.result(self.fs.fallocate(ino, fh, offset, length, mode as u32))
    }

    fn lseek(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: i64,
        whence: i32,
        reply: ReplyLseek,
    ) {
        if offset < 0 {
            return reply.error(Errno::NXIO);
        }
        reply.result(self.fs.lseek(ino, fh, offset as u64, whence as u32))
    }

    fn copy_file_range(&self, req: &Request<'_>, r: &CopyRange, reply: ReplyCopy) {
        let result = self.fs.copy_file_range(
            &caller(req, 0),
            (r.ino_in, r.fh_in, r.offset_in),
            (r.ino_out, r.fh_out, r.offset_out),
            r.len,
            r.flags,
        );
        reply.result(result)
    }

    fn syncfs(&self, _req: &Request<'_>, _ino: Ino, reply: ReplyEmpty) {
        // Nothing to persist: acknowledged means "in memory" (see the crate docs).
        reply.ok()
    }

    fn statx(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        _fh: Option<u64>,
        _flags: u32,
        _mask: u32,
        reply: ReplyStatx,
    ) {
        let stat = self.fs.getattr_with_btime(ino);
        reply.result(
            stat.map(|(a, btime)| statx::statx(&a, btime)),
            self.options.ttl,
        )
    }
}
