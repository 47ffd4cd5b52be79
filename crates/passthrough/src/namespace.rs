//! Names: LOOKUP, the create-like calls (MKNOD, MKDIR, SYMLINK, CREATE, TMPFILE), LINK,
//! UNLINK, RMDIR and RENAME. Every call is a single-component `*at()` relative to the parent's
//! `O_PATH` descriptor, with names checked by [`check_name`] and symlinks never followed
//! (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, or calls that never follow the last component), so
//! no request can make the daemon touch anything outside the source tree. Create-like calls
//! run with the caller's credentials (see `creds`). A file that loses its last name here
//! (UNLINK, RMDIR, RENAME over it) is kept open while the kernel knows its node, even when
//! its descriptor was only cached (see `fdstore`).

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use fusekit::{Entry, FileType, Ino, Request, ROOT_ID};
use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags, Stat};
use rustix::io::Errno;

use crate::creds::{Caller, CredGuard};
use crate::inode::Inode;
use crate::name::check_name;
use crate::stats::Counters;
use crate::sys::{decode_dev, reopen, stat_fd, thread_umask_zero};
use crate::Passthrough;

/// An `O_PATH` descriptor of `name` in `dir` (the name itself, never a symlink's target).
fn open_path(dir: &Inode, name: &OsStr) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(
        dir.fd()?,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

impl Passthrough {
    /// Who a create-like request should act as: the caller, when credential switching is
    /// on; `None` keeps the daemon's identity.
    /// (Also `None` when switching could change nothing: the daemon is not root, or the
    /// caller is root — so the groups are only read from `/proc` when they matter.)
    pub(crate) fn caller(&self, req: &Request<'_>) -> Option<Caller> {
        let pointless = !self.daemon_is_root || (req.uid() == 0 && req.gid() == 0);
        (self.opts.switch_credentials && !pointless).then(|| Caller::of(req))
    }

    /// Acts as `caller` until the guard is dropped (a no-op unless the daemon is root).
    fn as_caller(&self, caller: Option<&Caller>) -> Result<CredGuard, Errno> {
        thread_umask_zero();
        match caller {
            Some(c) => CredGuard::become_caller(c),
            None => Ok(CredGuard::none()),
        }
    }

    /// The entry for `inode` known as `ino` with attributes `st`.
    pub(crate) fn entry(&self, ino: Ino, inode: &Inode, st: &Stat) -> Entry {
        Entry {
            ino,
            generation: inode.generation,
            attr: crate::attr::file_attr(st),
            entry_ttl: self.opts.entry_timeout,
            attr_ttl: self.opts.attr_timeout,
        }
    }

    /// Looks `name` up in `dir` and adds one lookup reference to its node.
    pub(crate) fn lookup_in(&self, dir: &Inode, name: &OsStr) -> Result<Entry, Errno> {
        let name = check_name(name)?;
        let fd = open_path(dir, name)?;
        self.opts.own_mount.refuse_own(&fd, name)?;
        let st = stat_fd(fd.as_fd())?;
        let (ino, inode) = self.inodes.resolve(fd, &st)?;
        Ok(self.entry(ino, &inode, &st))
    }

    /// Adds one lookup reference to the node of `fd` (any descriptor of a source file).
    fn node_of_fd(&self, fd: &OwnedFd) -> Result<(Entry, Arc<Inode>), Errno> {
        let st = rustix::fs::fstat(fd)?;
        let path = reopen(fd.as_fd(), OFlags::PATH)?;
        let (ino, inode) = self.inodes.resolve(path, &st)?;
        Ok((self.entry(ino, &inode, &st), inode))
    }

    pub(crate) fn do_lookup(&self, parent: Ino, name: &OsStr) -> Result<Entry, Errno> {
        match name.as_encoded_bytes() {
            // Only the kernel's export operations ask these (open_by_handle_at): "." is the
            // node itself, maybe forgotten since; ".." a directory's parent, never above the
            // source's root.
            b"." => {
                let (inode, st) = self.inodes.revive(parent)?;
                Ok(self.entry(parent, &inode, &st))
            }
            b".." if parent == ROOT_ID => {
                let (inode, st) = self.inodes.revive(ROOT_ID)?;
                Ok(self.entry(ROOT_ID, &inode, &st))
            }
            b".." => {
                let dir = self.inodes.get(parent)?;
                let fd = rustix::fs::openat(
                    dir.fd()?,
                    "..",
                    OFlags::PATH | OFlags::NOFOLLOW | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                let st = stat_fd(fd.as_fd())?;
                let (ino, inode) = self.inodes.resolve(fd, &st)?;
                Ok(self.entry(ino, &inode, &st))
            }
            _ => {
                let dir = self.inodes.get(parent)?;
                self.lookup_in(&dir, name)
            }
        }
    }

    pub(crate) fn do_mknod(
        &self,
        caller: Option<&Caller>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        rdev: u32,
    ) -> Result<Entry, Errno> {
        let name = check_name(name)?;
        let dir = self.inodes.get(parent)?;
        let kind = FileType::from_mode(mode).unwrap_or(FileType::RegularFile);
        let file_type = rustix::fs::FileType::from_raw_mode(kind.mode_bits());
        {
            let _caller = self.as_caller(caller)?;
            rustix::fs::mknodat(
                dir.fd()?,
                name,
                file_type,
                Mode::from_raw_mode(mode & 0o7777),
                decode_dev(rdev),
            )?;
        }
        Counters::add(&self.counters.creates, 1);
        self.lookup_in(&dir, name)
    }

    pub(crate) fn do_mkdir(
        &self,
        caller: Option<&Caller>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
    ) -> Result<Entry, Errno> {
        let name = check_name(name)?;
        let dir = self.inodes.get(parent)?;
        {
            let _caller = self.as_caller(caller)?;
            rustix::fs::mkdirat(dir.fd()?, name, Mode::from_raw_mode(mode & 0o7777))?;
        }
        Counters::add(&self.counters.creates, 1);
        self.lookup_in(&dir, name)
    }

    pub(crate) fn do_symlink(
        &self,
        caller: Option<&Caller>,
        parent: Ino,
        name: &OsStr,
        target: &OsStr,
    ) -> Result<Entry, Errno> {
        let name = check_name(name)?;
        let dir = self.inodes.get(parent)?;
        {
            let _caller = self.as_caller(caller)?;
            rustix::fs::symlinkat(target, dir.fd()?, name)?;
        }
        Counters::add(&self.counters.creates, 1);
        self.lookup_in(&dir, name)
    }

    /// CREATE: makes and opens `name`; returns the entry and the open descriptor.
    pub(crate) fn create_file(
        &self,
        caller: Option<&Caller>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        flags: i32,
    ) -> Result<(Entry, Arc<Inode>, OwnedFd), Errno> {
        let name = check_name(name)?;
        let dir = self.inodes.get(parent)?;
        // O_NOFOLLOW: a symlink that appeared under this name (say, one pointing outside the
        // source tree) is refused with ELOOP instead of creating its target.
        let flags = self.open_flags(flags) | OFlags::CREATE | OFlags::NOFOLLOW;
        let fd = {
            let _caller = self.as_caller(caller)?;
            let dir_fd = dir.fd()?;
            crate::io::noatime_or_not(flags, |f| {
                rustix::fs::openat(&dir_fd, name, f, Mode::from_raw_mode(mode & 0o7777))
            })?
        };
        Counters::add(&self.counters.creates, 1);
        let (entry, inode) = self.node_of_fd(&fd)?;
        Ok((entry, inode, fd))
    }

    /// TMPFILE: an unnamed file in `parent`, open; LINK may name it later.
    pub(crate) fn create_tmpfile(
        &self,
        caller: Option<&Caller>,
        parent: Ino,
        mode: u32,
        flags: i32,
    ) -> Result<(Entry, Arc<Inode>, OwnedFd), Errno> {
        let dir = self.inodes.get(parent)?;
        let flags = (self.open_flags(flags) - OFlags::CREATE) | OFlags::TMPFILE;
        let fd = {
            let _caller = self.as_caller(caller)?;
            rustix::fs::openat(dir.fd()?, c".", flags, Mode::from_raw_mode(mode & 0o7777))?
        };
        Counters::add(&self.counters.creates, 1);
        let (entry, inode) = self.node_of_fd(&fd)?;
        Ok((entry, inode, fd))
    }

    pub(crate) fn do_link(
        &self,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
    ) -> Result<Entry, Errno> {
        let newname = check_name(newname)?;
        let inode = self.inodes.get(ino)?;
        let dir = self.inodes.get(newparent)?;
        let (fd, dir_fd) = (inode.fd()?, dir.fd()?);
        // AT_EMPTY_PATH links exactly the inode we hold (also an unlinked O_TMPFILE file);
        // without CAP_DAC_READ_SEARCH fall back to the /proc magic link, followed.
        let direct = rustix::fs::linkat(&fd, c"", &dir_fd, newname, AtFlags::EMPTY_PATH);
        match direct {
            Err(Errno::PERM) if !inode.is_symlink() => rustix::fs::linkat(
                rustix::fs::CWD,
                fd.proc_path().as_c_str(),
                &dir_fd,
                newname,
                AtFlags::SYMLINK_FOLLOW,
            )?,
            other => other?,
        }
        let st = stat_fd(fd.as_fd())?;
        let inode = self.inodes.reference_id(ino)?;
        Ok(self.entry(ino, &inode, &st))
    }

    pub(crate) fn do_unlink(&self, parent: Ino, name: &OsStr, dir_too: bool) -> Result<(), Errno> {
        let name = check_name(name)?;
        let dir = self.inodes.get(parent)?;
        let flags = if dir_too {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        let victim = open_path(&dir, name).ok();
        rustix::fs::unlinkat(dir.fd()?, name, flags)?;
        if let Some(fd) = victim {
            self.inodes.keep_if_orphaned(fd);
        }
        Ok(())
    }

    pub(crate) fn do_rename(
        &self,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        flags: u32,
    ) -> Result<(), Errno> {
        let name = check_name(name)?;
        let newname = check_name(newname)?;
        let from = self.inodes.get(parent)?;
        let to = self.inodes.get(newparent)?;
        let flags = RenameFlags::from_bits(flags).ok_or(Errno::INVAL)?;
        // A plain rename replaces (unlinks) an existing target.
        let victim = if flags.intersects(RenameFlags::EXCHANGE | RenameFlags::NOREPLACE) {
            None
        } else {
            open_path(&to, newname).ok()
        };
        if flags.is_empty() {
            rustix::fs::renameat(from.fd()?, name, to.fd()?, newname)?;
        } else {
            rustix::fs::renameat_with(from.fd()?, name, to.fd()?, newname, flags)?;
        }
        if let Some(fd) = victim {
            self.inodes.keep_if_orphaned(fd);
        }
        Ok(())
    }
}
