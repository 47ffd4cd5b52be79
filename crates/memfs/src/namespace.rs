//! Names: lookup, creating nodes (mknod, mkdir, symlink, create, tmpfile), hard links,
//! unlink, rmdir and readlink. Rename lives in `rename.rs`.
//!
//! New nodes get the caller's uid and either the caller's gid or, under a setgid directory,
//! the directory's gid (new subdirectories then inherit the setgid bit). Permission bits are
//! `mode & !umask`. Every operation that creates a name also takes one kernel lookup
//! reference on the inode (as the FUSE entry reply does).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::data::Pages;
use crate::dir::Dir;
use crate::fs::{MemFs, BOGO_DIRENT_SIZE};
use crate::handles::Handle;
use crate::perm;
use crate::table::{lock_ordered, Content, State, LINKABLE};
use crate::types::{
    Caller, Fh, FileAttr, FileType, Ino, Timestamp, NAME_MAX, SYMLINK_MAX, S_ISGID, S_IXGRP,
};

/// Checks a name that is about to be created or removed: not empty, no '/', no NUL, not "."
/// or "..", at most [`NAME_MAX`] bytes.
pub(crate) fn check_new_name(name: &[u8]) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::NAMETOOLONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&b| b == b'/' || b == 0)
    {
        return Err(Errno::INVAL);
    }
    Ok(())
}

/// What kind of node to create.
pub(crate) enum NewKind<'a> {
    File,
    Dir,
    Symlink(&'a [u8]),
    Special(FileType, u32),
}

impl MemFs {
    /// Looks `name` up in directory `parent` and takes one lookup reference on the result.
    /// "." resolves to the node itself (of any type), ".." to a directory's parent.
    pub fn lookup(&self, parent: Ino, name: &OsStr) -> Result<FileAttr, Errno> {
        let name = name.as_bytes();
        if name.len() > NAME_MAX {
            return Err(Errno::NAMETOOLONG);
        }
        loop {
            let pd = self.table.get(parent)?;
            let ino = {
                let st = pd.state.read();
                st.check_live()?;
                match name {
                    // "." of any node and ".." of a directory come from the kernel's export
                    // operations (open_by_handle_at after the node left its cache): a node
                    // with no name left answers ENOENT, which the kernel turns into ESTALE.
                    b"." => parent,
                    b".." => st.dir()?.parent,
                    _ => st.dir()?.get(name).ok_or(Errno::NOENT)?.ino(),
                }
            };
            // The parent's lock is released before the child's is taken (lock order); if the
            // child lost its name meanwhile, look again.
            let Ok(child) = self.table.get(ino) else {
                continue;
            };
            if let Some(attr) = self.take_lookup(ino, &child) {
                return Ok(attr);
            }
            if ino == parent {
                return Err(Errno::NOENT);
            }
        }
    }

    /// The target of symlink `ino`.
    pub fn readlink(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let inode = self.table.get(ino)?;
        let st = inode.state.read();
        st.check_live()?;
        match &st.content {
            Content::Symlink(t) => Ok(t.to_vec()),
            _ => Err(Errno::INVAL),
        }
    }

    /// Creates a regular file, device, FIFO or socket (`mode` carries the type; type 0 means
    /// a regular file). Directories get `EPERM` (use mkdir), unknown types `EINVAL`.
    pub fn mknod(
        &self,
        c: &Caller,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        rdev: u32,
    ) -> Result<FileAttr, Errno> {
        let kind = match mode & crate::types::S_IFMT {
            0 => FileType::RegularFile,
            m => FileType::from_mode(m).ok_or(Errno::INVAL)?,
        };
        let new = match kind {
            FileType::RegularFile => NewKind::File,
            FileType::Directory => return Err(Errno::PERM),
            FileType::Symlink => return Err(Errno::INVAL),
            k => NewKind::Special(k, rdev),
        };
        self.new_node(c, parent, name.as_bytes(), new, mode, None)
            .map(|(a, _)| a)
    }

    /// Creates a directory.
    pub fn mkdir(
        &self,
        c: &Caller,
        parent: Ino,
        name: &OsStr,
        mode: u32,
    ) -> Result<FileAttr, Errno> {
        self.new_node(c, parent, name.as_bytes(), NewKind::Dir, mode, None)
            .map(|(a, _)| a)
    }

    /// Creates a symlink `name` → `target` (mode 0777). Empty targets get `ENOENT`, targets of
    /// [`SYMLINK_MAX`] bytes or more `ENAMETOOLONG`.
    pub fn symlink(
        &self,
        c: &Caller,
        parent: Ino,
        name: &OsStr,
        target: &OsStr,
    ) -> Result<FileAttr, Errno> {
        let target = target.as_bytes();
        if target.is_empty() {
            return Err(Errno::NOENT);
        }
        if target.len() >= SYMLINK_MAX {
            return Err(Errno::NAMETOOLONG);
        }
        self.new_node(
            c,
            parent,
            name.as_bytes(),
            NewKind::Symlink(target),
            0o777,
            None,
        )
        .map(|(a, _)| a)
    }

    /// Creates and opens a regular file (FUSE CREATE). If `name` exists and `flags` lacks
    /// `O_EXCL`, opens the existing node instead (as `openat(O_CREAT)` does).
    pub fn create(
        &self,
        c: &Caller,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        flags: u32,
    ) -> Result<(FileAttr, Fh), Errno> {
        match self.new_node(c, parent, name.as_bytes(), NewKind::File, mode, Some(flags)) {
            Ok((attr, fh)) => Ok((attr, fh.unwrap_or_default())),
            Err(Errno::EXIST) if flags & OFlags::EXCL.bits() == 0 => {
                let attr = self.lookup(parent, name)?;
                match self.open(c, attr.ino, flags & !OFlags::CREATE.bits()) {
                    Ok(fh) => Ok((self.getattr(attr.ino).unwrap_or(attr), fh)),
                    Err(e) => {
                        self.forget(attr.ino, 1);
                        Err(e)
                    }
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Creates an unnamed, open regular file (O_TMPFILE): nlink 0, one lookup reference, one
    /// open handle. Unless `flags` has `O_EXCL`, [`MemFs::link`] can give it a name later.
    pub fn tmpfile(
        &self,
        c: &Caller,
        parent: Ino,
        mode: u32,
        flags: u32,
    ) -> Result<(FileAttr, Fh), Errno> {
        self.usage.charge_inode()?;
        let pd = self
            .table
            .get(parent)
            .inspect_err(|_| self.usage.uncharge_inode())?;
        let (mut st, ino) = {
            let pst = pd.state.read();
            let ok = pst.check_live().and_then(|_| pst.dir().map(|_| ()));
            if let Err(e) = ok.and(if pst.nlink == 0 {
                Err(Errno::NOENT)
            } else {
                Ok(())
            }) {
                self.usage.uncharge_inode();
                return Err(e);
            }
            (
                self.new_state(
                    c,
                    &pst,
                    FileType::RegularFile,
                    mode,
                    Content::File(Pages::default()),
                ),
                self.table.alloc_ino(),
            )
        };
        st.nlink = 0;
        st.lookups = 1;
        st.opens = 1;
        if flags & OFlags::EXCL.bits() == 0 {
            st.flags |= LINKABLE;
        }
        let attr = st.attr(ino);
        self.table.insert(ino, st);
        let fh = self.handles.insert(Handle {
            ino,
            flags,
            dir: false,
            end: 0,
        });
        Ok((attr, fh))
    }

    /// The initial state of a node created by `c` in the directory whose state is `pst`.
    pub(crate) fn new_state(
        &self,
        c: &Caller,
        pst: &State,
        kind: FileType,
        mode: u32,
        content: Content,
    ) -> State {
        let mut perm = if kind == FileType::Symlink {
            0o777
        } else {
            mode & 0o7777 & !c.umask
        };
        let gid = if pst.mode & S_ISGID != 0 {
            if kind == FileType::Directory {
                perm |= S_ISGID;
            } else if perm & S_ISGID != 0
                && perm & S_IXGRP != 0
                && !c.is_root()
                && c.in_group(pst.gid) == Some(false)
            {
                perm &= !S_ISGID;
            }
            pst.gid
        } else {
            c.gid
        };
        State::new(
            kind.mode_bits() | perm,
            c.uid,
            gid,
            content,
            Timestamp::now(),
        )
    }

    /// Creates `name` in `parent`: charges an inode (and symlink bytes), inserts the entry and
    /// the inode, takes one lookup reference, and opens it when `open_flags` is given.
    fn new_node(
        &self,
        c: &Caller,
        parent: Ino,
        name: &[u8],
        kind: NewKind<'_>,
        mode: u32,
        open_flags: Option<u32>,
    ) -> Result<(FileAttr, Option<Fh>), Errno> {
        check_new_name(name)?;
        let extra_bytes = match kind {
            NewKind::Symlink(t) => t.len() as u64,
            _ => 0,
        };
        self.usage.charge_inode()?;
        if let Err(e) = self.usage.charge_bytes(extra_bytes) {
            self.usage.uncharge_inode();
            return Err(e);
        }
        let result = self.insert_new_node(c, parent, name, kind, mode, open_flags);
        if result.is_err() {
            self.usage.uncharge_inode();
            self.usage.uncharge_bytes(extra_bytes);
        }
        result
    }

    fn insert_new_node(
        &self,
        c: &Caller,
        parent: Ino,
        name: &[u8],
        kind: NewKind<'_>,
        mode: u32,
        open_flags: Option<u32>,
    ) -> Result<(FileAttr, Option<Fh>), Errno> {
        let pd = self.table.get(parent)?;
        let mut pst = pd.state.write();
        if pst.dir_for_insert()?.get(name).is_some() {
            return Err(Errno::EXIST);
        }
        let ino = self.table.alloc_ino();
        let (ftype, content, _rdev) = match kind {
            NewKind::File => (FileType::RegularFile, Content::File(Pages::default()), 0),
            NewKind::Dir => (
                FileType::Directory,
                Content::Dir(Box::new(Dir::new(parent))),
                0u32,
            ),
            NewKind::Symlink(t) => (FileType::Symlink, Content::Symlink(Box::new(t.into())), 0),
            NewKind::Special(k, rdev) => (k, Content::Special(rdev), rdev),
        };
        let mut st = self.new_state(c, &pst, ftype, mode, content);
        st.lookups = 1;
        match &st.content {
            Content::Dir(_) => {
                st.nlink = 2;
                st.size = 2 * BOGO_DIRENT_SIZE;
            }
            Content::Symlink(t) => st.size = t.len() as u64,
            _ => {}
        }
        let fh = open_flags.map(|flags| {
            st.opens = 1;
            self.handles.insert(Handle {
                ino,
                flags,
                dir: false,
                end: 0,
            })
        });
        let now = st.time(crate::table::Time::C);
        let attr = st.attr(ino);
        self.table.insert(ino, st);
        let dir = pst.dir_mut()?;
        dir.insert(name, ino, ftype);
        if ftype == FileType::Directory {
            pst.nlink += 1;
        }
        pst.size += BOGO_DIRENT_SIZE;
        pst.touch_mc(now);
        Ok((attr, fh))
    }

    /// Gives inode `ino` the additional name `newname` in `newparent` and takes one lookup
    /// reference. Directories get `EPERM`; an unlinked inode gets `ENOENT` unless it is a
    /// linkable O_TMPFILE inode.
    pub fn link(
        &self,
        c: &Caller,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
    ) -> Result<FileAttr, Errno> {
        let _ = c;
        let newname = newname.as_bytes();
        check_new_name(newname)?;
        let node = self.table.get(ino)?;
        let pd = self.table.get(newparent)?;
        if ino == newparent {
            return Err(Errno::PERM);
        }
        let mut g = lock_ordered(&[(ino, &node), (newparent, &pd)]);
        let [Some(st), Some(pst)] = &mut g[..] else {
            return Err(Errno::PERM);
        };
        st.check_live()?;
        if st.kind() == FileType::Directory {
            return Err(Errno::PERM);
        }
        if st.nlink == 0 && st.flags & LINKABLE == 0 {
            return Err(Errno::NOENT);
        }
        if st.nlink == u32::MAX {
            return Err(Errno::MLINK);
        }
        if pst.dir_for_insert()?.get(newname).is_some() {
            return Err(Errno::EXIST);
        }
        // tmpfs charges an inode slot for every extra name of a file.
        let extra = st.nlink > 0;
        if extra {
            self.usage.charge_inode()?;
        }
        let kind = st.kind();
        pst.dir_mut()?.insert(newname, ino, kind);
        pst.size += BOGO_DIRENT_SIZE;
        let now = Timestamp::now();
        pst.touch_mc(now);
        st.nlink += 1;
        st.flags &= !LINKABLE;
        st.lookups += 1;
        st.touch_c(now);
        Ok(st.attr(ino))
    }

    /// Removes the non-directory entry `name` from `parent` (`EISDIR` for directories).
    /// The inode lives on while it has other names, lookup references or open handles.
    pub fn unlink(&self, c: &Caller, parent: Ino, name: &OsStr) -> Result<(), Errno> {
        self.remove_entry(c, parent, name.as_bytes(), false)
    }

    /// Removes the empty directory `name` from `parent` (`ENOTDIR`, `ENOTEMPTY`).
    pub fn rmdir(&self, c: &Caller, parent: Ino, name: &OsStr) -> Result<(), Errno> {
        self.remove_entry(c, parent, name.as_bytes(), true)
    }

    fn remove_entry(
        &self,
        c: &Caller,
        parent: Ino,
        name: &[u8],
        want_dir: bool,
    ) -> Result<(), Errno> {
        match (name, want_dir) {
            (b".", true) => return Err(Errno::INVAL),
            (b"..", true) => return Err(Errno::NOTEMPTY),
            (b"." | b"..", false) => return Err(Errno::ISDIR),
            _ => check_new_name(name)?,
        }
        loop {
            let pd = self.table.get(parent)?;
            let (ino, kind) = {
                let pst = pd.state.read();
                pst.check_live()?;
                let e = pst.dir()?.get(name).ok_or(Errno::NOENT)?;
                (e.ino(), e.kind())
            };
            match (kind == FileType::Directory, want_dir) {
                (true, false) => return Err(Errno::ISDIR),
                (false, true) => return Err(Errno::NOTDIR),
                _ => {}
            }
            let Ok(child) = self.table.get(ino) else {
                continue;
            };
            let mut g = lock_ordered(&[(parent, &pd), (ino, &child)]);
            let [Some(pst), Some(st)] = &mut g[..] else {
                return Err(Errno::INVAL);
            };
            let still =
                pst.check_live().is_ok() && pst.dir()?.get(name).map(|e| e.ino()) == Some(ino);
            if !still {
                continue;
            }
            if !perm::sticky_allows(c, pst, st) {
                return Err(Errno::PERM);
            }
            if want_dir && !st.dir()?.is_empty() {
                return Err(Errno::NOTEMPTY);
            }
            pst.dir_mut()?.remove(name);
            pst.size -= BOGO_DIRENT_SIZE;
            let now = Timestamp::now();
            pst.touch_mc(now);
            if want_dir {
                pst.nlink -= 1;
                st.nlink = 0;
            } else {
                if st.nlink > 1 {
                    self.usage.uncharge_inode();
                }
                st.nlink -= 1;
            }
            st.touch_c(now);
            self.free_if_unused(ino, st);
            return Ok(());
        }
    }
}
