//! Attributes: GETATTR, SETATTR (chmod, chown, truncate, utimensat with UTIME_NOW/OMIT),
//! STATX, READLINK and STATFS, read from and applied to the source file through its `O_PATH`
//! descriptor (or the open handle when the kernel names one), never by path.

use std::os::fd::AsFd;

use fusekit::abi::{Statx as AbiStatx, SxTime};
use fusekit::{FileAttr, Ino, SetAttr, Statfs, TimeOrNow, Timestamp};
use rustix::fs::{AtFlags, Mode, OFlags, Stat, StatxFlags, Timespec, Timestamps};
use rustix::io::Errno;

use crate::sys::{encode_dev, reopen, stat_fd};
use crate::Passthrough;

/// FUSE attributes of a source stat.
///
/// (The casts are needed on other architectures, where `struct stat` fields have other types.) `ino` is the source inode number, so hard links look
/// alike and `stat` through the mount shows what `stat` on the source shows.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn file_attr(st: &Stat) -> FileAttr {
    let ts = |secs: i64, nsecs: u64| Timestamp::new(secs, nsecs as u32);
    FileAttr {
        ino: st.st_ino,
        size: st.st_size as u64,
        blocks: st.st_blocks as u64,
        atime: ts(st.st_atime as i64, st.st_atime_nsec as u64),
        mtime: ts(st.st_mtime as i64, st.st_mtime_nsec as u64),
        ctime: ts(st.st_ctime as i64, st.st_ctime_nsec as u64),
        mode: st.st_mode,
        nlink: st.st_nlink as u32,
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: encode_dev(st.st_rdev),
        blksize: st.st_blksize as u32,
        flags: 0,
    }
}

fn timespec(t: Option<TimeOrNow>) -> Timespec {
    match t {
        None => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        Some(TimeOrNow::Now) => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        },
        Some(TimeOrNow::At(ts)) => Timespec {
            tv_sec: ts.secs,
            tv_nsec: ts.nsecs as _,
        },
    }
}

impl Passthrough {
    pub(crate) fn do_getattr(&self, ino: Ino) -> Result<FileAttr, Errno> {
        let inode = self.inodes.get(ino)?;
        Ok(file_attr(&stat_fd(inode.fd()?.as_fd())?))
    }

    pub(crate) fn do_setattr(&self, ino: Ino, attr: &SetAttr) -> Result<FileAttr, Errno> {
        let inode = self.inodes.get(ino)?;
        // Held for the whole request: one descriptor, one file, even if the cache evicts it.
        let path_fd = inode.fd()?;
        let handle = match attr.fh {
            Some(fh) => self.files.get(fh).ok(),
            None => None,
        };
        if let Some(mode) = attr.mode {
            let mode = Mode::from_raw_mode(mode & 0o7777);
            match &handle {
                Some(h) => rustix::fs::fchmod(h.fd(), mode)?,
                None if inode.is_symlink() => return Err(Errno::OPNOTSUPP),
                None => rustix::fs::chmodat(
                    rustix::fs::CWD,
                    path_fd.proc_path().as_c_str(),
                    mode,
                    AtFlags::empty(),
                )?,
            }
        }
        if attr.uid.is_some() || attr.gid.is_some() {
            rustix::fs::chownat(
                &path_fd,
                c"",
                attr.uid.map(rustix::process::Uid::from_raw),
                attr.gid.map(rustix::process::Gid::from_raw),
                AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW,
            )?;
        }
        if let Some(size) = attr.size {
            let reopened;
            let fd = match &handle {
                Some(h) => h.fd(),
                None => {
                    reopened = reopen(path_fd.as_fd(), OFlags::WRONLY | OFlags::NONBLOCK)?;
                    reopened.as_fd()
                }
            };
            rustix::fs::ftruncate(fd, size)?;
        }
        if attr.atime.is_some() || attr.mtime.is_some() {
            let times = Timestamps {
                last_access: timespec(attr.atime),
                last_modification: timespec(attr.mtime),
            };
            match &handle {
                Some(h) => rustix::fs::futimens(h.fd(), &times)?,
                None => rustix::fs::utimensat(
                    &path_fd,
                    c"",
                    &times,
                    AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW,
                )?,
            }
        }
        Ok(file_attr(&stat_fd(path_fd.as_fd())?))
    }

    /// Clears setuid/setgid as a truncate by `req`'s caller must (HANDLE_KILLPRIV_V2), then
    /// returns the new attributes.
    pub(crate) fn kill_privs_of(
        &self,
        req: &fusekit::Request<'_>,
        ino: Ino,
    ) -> Result<FileAttr, Errno> {
        let path_fd = self.inodes.get(ino)?.fd()?;
        crate::killpriv::kill_suidgid_path(req, &path_fd)?;
        Ok(file_attr(&stat_fd(path_fd.as_fd())?))
    }

    /// ACCESS (sent only without `default_permissions`): the source filesystem's verdict for
    /// `caller` (the daemon's own when `None`).
    pub(crate) fn do_access(
        &self,
        caller: Option<&crate::creds::Caller>,
        ino: Ino,
        mask: i32,
    ) -> Result<(), Errno> {
        let inode = self.inodes.get(ino)?;
        let access = rustix::fs::Access::from_bits_truncate(mask as u32);
        if access.is_empty() {
            return Ok(());
        }
        if inode.is_symlink() {
            return Ok(());
        }
        let path_fd = inode.fd()?;
        let path = path_fd.proc_path();
        let _guard = match caller {
            Some(c) => crate::creds::CredGuard::become_caller(c)?,
            None => crate::creds::CredGuard::none(),
        };
        rustix::fs::accessat(rustix::fs::CWD, path.as_c_str(), access, AtFlags::EACCESS)
    }

    pub(crate) fn do_readlink(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let inode = self.inodes.get(ino)?;
        let target = rustix::fs::readlinkat(inode.fd()?, c"", Vec::new())?;
        Ok(target.into_bytes())
    }

    pub(crate) fn do_statfs(&self, ino: Ino) -> Result<Statfs, Errno> {
        let inode = self.inodes.get(ino)?;
        let st = rustix::fs::fstatvfs(inode.fd()?)?;
        Ok(Statfs {
            blocks: st.f_blocks,
            bfree: st.f_bfree,
            bavail: st.f_bavail,
            files: st.f_files,
            ffree: st.f_ffree,
            bsize: st.f_bsize as u32,
            namelen: st.f_namemax as u32,
            frsize: st.f_frsize as u32,
        })
    }

    pub(crate) fn do_statx(&self, ino: Ino, flags: u32, mask: u32) -> Result<AbiStatx, Errno> {
        let inode = self.inodes.get(ino)?;
        // Keep only the sync-type bits of the caller's flags; the rest describe the path.
        let sync = AtFlags::from_bits_retain(
            flags & (AtFlags::STATX_FORCE_SYNC | AtFlags::STATX_DONT_SYNC).bits(),
        );
        let sx = rustix::fs::statx(
            inode.fd()?,
            c"",
            AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW | sync,
            StatxFlags::from_bits_retain(mask),
        )?;
        let t = |t: rustix::fs::StatxTimestamp| SxTime {
            tv_sec: t.tv_sec,
            tv_nsec: t.tv_nsec,
            __reserved: 0,
        };
        Ok(AbiStatx {
            mask: sx.stx_mask,
            blksize: sx.stx_blksize,
            attributes: sx.stx_attributes.bits(),
            nlink: sx.stx_nlink,
            uid: sx.stx_uid,
            gid: sx.stx_gid,
            mode: sx.stx_mode,
            ino: sx.stx_ino,
            size: sx.stx_size,
            blocks: sx.stx_blocks,
            attributes_mask: sx.stx_attributes_mask.bits(),
            atime: t(sx.stx_atime),
            btime: t(sx.stx_btime),
            ctime: t(sx.stx_ctime),
            mtime: t(sx.stx_mtime),
            rdev_major: sx.stx_rdev_major,
            rdev_minor: sx.stx_rdev_minor,
            dev_major: sx.stx_dev_major,
            dev_minor: sx.stx_dev_minor,
            ..Default::default()
        })
    }
}
