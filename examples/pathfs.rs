//! pathfs: a passthrough of a directory written with the path-level API
//! ([`fusekit::path`]). Every method maps a path inside the mount to the same path under the
//! backing directory and does the matching system call; open files are backing file
//! descriptors kept in a handle table, so I/O goes by handle and the filesystem works in
//! either unlink mode (pick one with [`PathPassthrough::adapter`]).
//!
//! Run as root, new nodes are handed to the caller (chown) and permission checks are left to
//! the kernel: mount with `default_permissions`.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirEntryExt, FileTypeExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fusekit::abi::InitFlags;
use fusekit::path::{
    DirEntry, Opened, PathAdapter, PathConfig, PathContext, PathFilesystem, UnlinkMode,
};
use fusekit::{Errno, FileAttr, FileType, KernelConfig, SetAttr, Statfs, TimeOrNow, Timestamp};
use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, RenameFlags, Timespec, CWD};

/// Largest extended attribute value or name list Linux allows.
const XATTR_SIZE_MAX: usize = 65536;

/// The path-based passthrough of `root`.
#[derive(Debug)]
pub struct PathPassthrough {
    root: PathBuf,
    files: Mutex<HashMap<u64, Arc<OwnedFd>>>,
    next_fh: AtomicU64,
}

impl PathPassthrough {
    /// Mirrors the directory `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        PathPassthrough {
            root: root.into(),
            files: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
        }
    }

    /// Wraps it for mounting: the backing inode numbers are shown, I/O goes by handle, and
    /// attributes are not cached (hard links are separate nodes at the path level, so a
    /// cached size or link count of one name would go stale when another changes).
    pub fn adapter(self, mode: UnlinkMode) -> PathAdapter<Self> {
        let mut config = PathConfig::new(mode).use_ino(true).io_paths(false);
        config.attr_ttl = Duration::ZERO;
        PathAdapter::new(self, config)
    }

    fn real(&self, path: &Path) -> PathBuf {
        self.root.join(path.strip_prefix("/").unwrap_or(path))
    }

    fn keep(&self, fd: OwnedFd) -> u64 {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.files.lock().unwrap().insert(fh, Arc::new(fd));
        fh
    }

    fn fd(&self, fh: u64) -> Result<Arc<OwnedFd>, Errno> {
        self.files
            .lock()
            .unwrap()
            .get(&fh)
            .cloned()
            .ok_or(Errno::BADF)
    }

    fn stat(&self, path: &Path) -> Result<FileAttr, Errno> {
        Ok(attr(&rfs::statat(
            CWD,
            self.real(path),
            AtFlags::SYMLINK_NOFOLLOW,
        )?))
    }

    /// Gives a new node to the caller: the exact mode the kernel asked for (our own umask
    /// must not apply twice) and, as root, the caller as owner — keeping the group and the
    /// setgid bit a setgid directory hands down.
    fn settle(&self, ctx: &PathContext, path: &Path, mode: Option<u32>) -> Result<FileAttr, Errno> {
        let real = self.real(path);
        let st = self.stat(path)?;
        if let Some(mode) = mode {
            // A directory made in a setgid directory inherits the bit: keep it.
            let keep_sgid = st.kind() == Some(FileType::Directory) && st.mode & 0o2000 != 0;
            let want = (mode & 0o7777) | if keep_sgid { 0o2000 } else { 0 };
            if st.mode & 0o7777 != want {
                rfs::chmodat(CWD, &real, Mode::from_raw_mode(want), AtFlags::empty())?;
            }
        }
        if rustix::process::geteuid().is_root() {
            let parent = rfs::stat(real.parent().unwrap_or(&self.root))?;
            let (uid, gid) = owner(ctx);
            let gid = (parent.st_mode & 0o2000 == 0).then_some(gid);
            rfs::chownat(CWD, &real, Some(uid), gid, AtFlags::SYMLINK_NOFOLLOW)?;
        }
        self.stat(path)
    }
}

fn owner(ctx: &PathContext) -> (rfs::Uid, rfs::Gid) {
    (rfs::Uid::from_raw(ctx.uid), rfs::Gid::from_raw(ctx.gid))
}

fn attr(st: &rfs::Stat) -> FileAttr {
    let time = |s: i64, ns: i64| Timestamp::new(s, ns as u32);
    FileAttr {
        ino: st.st_ino,
        size: st.st_size as u64,
        blocks: st.st_blocks as u64,
        atime: time(st.st_atime, st.st_atime_nsec as i64),
        mtime: time(st.st_mtime, st.st_mtime_nsec as i64),
        ctime: time(st.st_ctime, st.st_ctime_nsec as i64),
        mode: st.st_mode,
        nlink: st.st_nlink as u32,
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: st.st_rdev as u32,
        blksize: st.st_blksize as u32,
        flags: 0,
    }
}

fn timespec(t: Option<TimeOrNow>) -> Timespec {
    match t {
        None => Timespec {
            tv_sec: 0,
            tv_nsec: rfs::UTIME_OMIT,
        },
        Some(TimeOrNow::Now) => Timespec {
            tv_sec: 0,
            tv_nsec: rfs::UTIME_NOW,
        },
        Some(TimeOrNow::At(t)) => Timespec {
            tv_sec: t.secs,
            tv_nsec: t.nsecs.into(),
        },
    }
}

fn kind(t: std::fs::FileType) -> FileType {
    match () {
        _ if t.is_dir() => FileType::Directory,
        _ if t.is_symlink() => FileType::Symlink,
        _ if t.is_fifo() => FileType::NamedPipe,
        _ if t.is_socket() => FileType::Socket,
        _ if t.is_char_device() => FileType::CharDevice,
        _ if t.is_block_device() => FileType::BlockDevice,
        _ => FileType::RegularFile,
    }
}

fn io_errno(e: std::io::Error) -> Errno {
    Errno::from_io_error(&e).unwrap_or(Errno::IO)
}

/// The flags to open a backing file with for a caller's open `flags`. O_DIRECT is dropped:
/// the kernel already keeps such a caller's I/O out of its page cache, and the buffers the
/// daemon gets need not meet the backing filesystem's O_DIRECT alignment (EINVAL).
fn backing_flags(flags: i32) -> OFlags {
    OFlags::from_bits_retain(flags as u32) - OFlags::DIRECT
}

/// Whether the caller `ctx` belongs to group `gid` (its fsgid, or a supplementary group read
/// from /proc; unknown counts as "no").
fn in_group(ctx: &PathContext, gid: u32) -> bool {
    if ctx.gid == gid {
        return true;
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", ctx.pid)).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .is_some_and(|g| g.split_whitespace().any(|x| x.parse() == Ok(gid)))
}

/// Clears setuid/setgid on the regular file `fd` as a data change by `ctx` (a caller the
/// kernel says lacks CAP_FSETID) must under Linux's rule: setuid always, setgid with
/// group-exec or when the caller is outside the file's group. The daemon writes as root, so
/// the backing filesystem would keep them.
fn clear_privileges(fd: &OwnedFd, ctx: &PathContext) -> Result<(), Errno> {
    let st = rfs::fstat(fd)?;
    if st.st_mode & 0o170000 != 0o100000 {
        return Ok(());
    }
    let mode = st.st_mode & 0o7777;
    let mut kill = mode & 0o4000;
    if mode & 0o2000 != 0 && (mode & 0o010 != 0 || !in_group(ctx, st.st_gid)) {
        kill |= 0o2000;
    }
    if kill != 0 {
        let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(fd));
        rfs::chmod(&proc_path, Mode::from_raw_mode(mode & !kill))?;
    }
    Ok(())
}

impl PathFilesystem for PathPassthrough {
    fn init(&self, config: &mut KernelConfig) -> Result<(), Errno> {
        // The daemon writes as root: the backing filesystem never clears setuid/setgid for a
        // caller, so the kernel must say when (PathContext::kill_suidgid, SetAttr::kill_suidgid).
        config.enable_if_offered(InitFlags::HANDLE_KILLPRIV_V2);
        Ok(())
    }

    fn getattr(
        &self,
        _: &PathContext,
        path: Option<&Path>,
        fh: Option<u64>,
    ) -> Result<FileAttr, Errno> {
        match (fh, path) {
            (Some(fh), _) => Ok(attr(&rfs::fstat(&*self.fd(fh)?)?)),
            (None, Some(path)) => self.stat(path),
            (None, None) => Err(Errno::NOENT),
        }
    }

    fn setattr(
        &self,
        ctx: &PathContext,
        path: Option<&Path>,
        fh: Option<u64>,
        set: &SetAttr,
    ) -> Result<FileAttr, Errno> {
        // With a handle, change the open file (it may have no name); else go by path.
        let fd = match (fh, path) {
            (Some(fh), _) => self.fd(fh)?,
            (None, Some(p)) => Arc::new(rfs::open(
                self.real(p),
                OFlags::PATH | OFlags::NOFOLLOW,
                Mode::empty(),
            )?),
            (None, None) => return Err(Errno::NOENT),
        };
        let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&*fd));
        if let Some(mode) = set.mode {
            rfs::chmod(&proc_path, Mode::from_raw_mode(mode & 0o7777))?;
        }
        if set.uid.is_some() || set.gid.is_some() {
            let uid = set.uid.map(rfs::Uid::from_raw);
            let gid = set.gid.map(rfs::Gid::from_raw);
            rfs::chownat(&*fd, "", uid, gid, AtFlags::EMPTY_PATH)?;
        }
        if let Some(size) = set.size {
            match fh {
                Some(_) => rfs::ftruncate(&*fd, size)?,
                None => {
                    rfs::ftruncate(rfs::open(&proc_path, OFlags::WRONLY, Mode::empty())?, size)?
                }
            }
        }
        // The kernel flags a chown of any non-directory, by root with CAP_FSETID too (the
        // backing chown already cleared what Linux clears then); the rest only for callers
        // without CAP_FSETID.
        let chown = set.uid.is_some() || set.gid.is_some();
        if set.kill_suidgid && set.mode.is_none() && (!chown || ctx.uid != 0) {
            clear_privileges(&fd, ctx)?;
        }
        if set.atime.is_some() || set.mtime.is_some() {
            let times = rfs::Timestamps {
                last_access: timespec(set.atime),
                last_modification: timespec(set.mtime),
            };
            rfs::utimensat(CWD, &proc_path, &times, AtFlags::empty())?;
        }
        Ok(attr(&rfs::fstat(&*fd)?))
    }

    fn readlink(&self, _: &PathContext, path: &Path) -> Result<PathBuf, Errno> {
        std::fs::read_link(self.real(path)).map_err(io_errno)
    }

    fn mknod(
        &self,
        ctx: &PathContext,
        path: &Path,
        mode: u32,
        rdev: u32,
    ) -> Result<FileAttr, Errno> {
        let dev = rfs::makedev(
            (rdev >> 8) & 0xfff,
            (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
        );
        let typ = rfs::FileType::from_raw_mode(mode);
        rfs::mknodat(
            CWD,
            self.real(path),
            typ,
            Mode::from_raw_mode(mode & 0o7777),
            dev,
        )?;
        self.settle(ctx, path, Some(mode))
    }

    fn mkdir(&self, ctx: &PathContext, path: &Path, mode: u32) -> Result<FileAttr, Errno> {
        rfs::mkdir(self.real(path), Mode::from_raw_mode(mode & 0o7777))?;
        self.settle(ctx, path, Some(mode))
    }

    fn unlink(&self, _: &PathContext, path: &Path) -> Result<(), Errno> {
        rfs::unlink(self.real(path))
    }

    fn rmdir(&self, _: &PathContext, path: &Path) -> Result<(), Errno> {
        rfs::rmdir(self.real(path))
    }

    fn symlink(&self, ctx: &PathContext, target: &Path, path: &Path) -> Result<FileAttr, Errno> {
        rfs::symlink(target, self.real(path))?;
        self.settle(ctx, path, None)
    }

    fn rename(&self, _: &PathContext, from: &Path, to: &Path, flags: u32) -> Result<(), Errno> {
        let flags = RenameFlags::from_bits_retain(flags);
        rfs::renameat_with(CWD, self.real(from), CWD, self.real(to), flags)
    }

    fn link(&self, _: &PathContext, from: &Path, to: &Path) -> Result<FileAttr, Errno> {
        rfs::link(self.real(from), self.real(to))?;
        self.stat(to)
    }

    fn open(&self, _: &PathContext, path: Option<&Path>, flags: i32) -> Result<Opened, Errno> {
        let path = path.ok_or(Errno::NOENT)?;
        let flags = backing_flags(flags) | OFlags::CLOEXEC;
        let fd = rfs::open(self.real(path), flags - OFlags::CREATE, Mode::empty())?;
        Ok(Opened::new(self.keep(fd)))
    }

    fn reopen(&self, _: &PathContext, fh: u64, flags: i32) -> Result<Opened, Errno> {
        let fd = self.fd(fh)?;
        let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&*fd));
        let flags = backing_flags(flags) | OFlags::CLOEXEC;
        let fd = rfs::open(proc_path, flags - OFlags::CREATE, Mode::empty())?;
        Ok(Opened::new(self.keep(fd)))
    }

    fn create(
        &self,
        ctx: &PathContext,
        path: &Path,
        mode: u32,
        flags: i32,
    ) -> Result<(FileAttr, Opened), Errno> {
        let flags = backing_flags(flags) | OFlags::CREATE | OFlags::CLOEXEC;
        let fd = rfs::open(self.real(path), flags, Mode::from_raw_mode(mode & 0o7777))?;
        let attr = self.settle(ctx, path, Some(mode))?;
        Ok((attr, Opened::new(self.keep(fd))))
    }

    fn read(
        &self,
        _: &PathContext,
        _: Option<&Path>,
        fh: u64,
        offset: u64,
        size: u32,
    ) -> Result<Vec<u8>, Errno> {
        let fd = self.fd(fh)?;
        let mut buf = vec![0; size as usize];
        let n = rustix::io::pread(&*fd, &mut buf, offset)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn write(
        &self,
        ctx: &PathContext,
        _: Option<&Path>,
        fh: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<u32, Errno> {
        let fd = self.fd(fh)?;
        if ctx.kill_suidgid {
            clear_privileges(&fd, ctx)?;
        }
        Ok(rustix::io::pwrite(&*fd, data, offset)? as u32)
    }

    fn flush(&self, _: &PathContext, _: Option<&Path>, _fh: u64, _owner: u64) -> Result<(), Errno> {
        Ok(())
    }

    fn release(
        &self,
        _: &PathContext,
        _: Option<&Path>,
        fh: u64,
        _flags: i32,
    ) -> Result<(), Errno> {
        self.files.lock().unwrap().remove(&fh);
        Ok(())
    }

    fn fsync(
        &self,
        _: &PathContext,
        _: Option<&Path>,
        fh: u64,
        datasync: bool,
    ) -> Result<(), Errno> {
        let fd = self.fd(fh)?;
        if datasync {
            rfs::fdatasync(&*fd)
        } else {
            rfs::fsync(&*fd)
        }
    }

    fn fallocate(
        &self,
        _: &PathContext,
        _: Option<&Path>,
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
    ) -> Result<(), Errno> {
        let flags = rfs::FallocateFlags::from_bits_retain(mode as u32);
        rfs::fallocate(&*self.fd(fh)?, flags, offset, length)
    }

    fn opendir(&self, _: &PathContext, path: &Path, _flags: i32) -> Result<u64, Errno> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        Ok(self.keep(rfs::open(self.real(path), flags, Mode::empty())?))
    }

    fn releasedir(&self, _: &PathContext, _: Option<&Path>, fh: u64) -> Result<(), Errno> {
        self.files.lock().unwrap().remove(&fh);
        Ok(())
    }

    fn readdir(&self, _: &PathContext, path: &Path, _fh: u64) -> Result<Vec<DirEntry>, Errno> {
        let real = self.real(path);
        let mut out = Vec::new();
        for (dot, dir) in [(".", &*real), ("..", real.parent().unwrap_or(&real))] {
            let mut entry = DirEntry::new(dot, FileType::Directory);
            entry.ino = rfs::stat(dir)?.st_ino;
            out.push(entry);
        }
        for e in std::fs::read_dir(&real).map_err(io_errno)? {
            let e = e.map_err(io_errno)?;
            let mut entry = DirEntry::new(e.file_name(), kind(e.file_type().map_err(io_errno)?));
            entry.ino = e.ino();
            out.push(entry);
        }
        Ok(out)
    }

    fn statfs(&self, _: &PathContext, path: &Path) -> Result<Statfs, Errno> {
        let s = rfs::statvfs(self.real(path))?;
        Ok(Statfs {
            blocks: s.f_blocks,
            bfree: s.f_bfree,
            bavail: s.f_bavail,
            files: s.f_files,
            ffree: s.f_ffree,
            bsize: s.f_bsize as u32,
            namelen: s.f_namemax as u32,
            frsize: s.f_frsize as u32,
        })
    }

    fn setxattr(
        &self,
        _: &PathContext,
        path: &Path,
        name: &OsStr,
        value: &[u8],
        flags: i32,
    ) -> Result<(), Errno> {
        let flags = rfs::XattrFlags::from_bits_retain(flags as u32);
        rfs::lsetxattr(self.real(path), name, value, flags)
    }

    fn getxattr(&self, _: &PathContext, path: &Path, name: &OsStr) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; XATTR_SIZE_MAX];
        let n = rfs::lgetxattr(self.real(path), name, &mut buf[..])?;
        buf.truncate(n);
        Ok(buf)
    }

    fn listxattr(&self, _: &PathContext, path: &Path) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; XATTR_SIZE_MAX];
        let n = rfs::llistxattr(self.real(path), &mut buf[..])?;
        buf.truncate(n);
        Ok(buf)
    }

    fn removexattr(&self, _: &PathContext, path: &Path, name: &OsStr) -> Result<(), Errno> {
        rfs::lremovexattr(self.real(path), name)
    }

    fn tmpfile(
        &self,
        ctx: &PathContext,
        dir: &Path,
        mode: u32,
        flags: i32,
    ) -> Result<(FileAttr, Opened), Errno> {
        let flags = backing_flags(flags) | OFlags::CLOEXEC;
        let fd = rfs::open(self.real(dir), flags, Mode::from_raw_mode(mode & 0o7777))?;
        rfs::fchmod(&fd, Mode::from_raw_mode(mode & 0o7777))?;
        if rustix::process::geteuid().is_root() {
            let (uid, gid) = owner(ctx);
            rfs::fchown(&fd, Some(uid), Some(gid))?;
        }
        let attr = attr(&rfs::fstat(&fd)?);
        Ok((attr, Opened::new(self.keep(fd))))
    }

    fn link_tmpfile(&self, _: &PathContext, fh: u64, to: &Path) -> Result<FileAttr, Errno> {
        let fd = self.fd(fh)?;
        let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&*fd));
        rfs::linkat(CWD, proc_path, CWD, self.real(to), AtFlags::SYMLINK_FOLLOW)?;
        Ok(attr(&rfs::fstat(fd.as_fd())?))
    }
}
