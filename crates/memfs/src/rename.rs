//! rename and rename2 (NOREPLACE, EXCHANGE, WHITEOUT) with tmpfs semantics.
//!
//! Concurrency: a cross-directory rename first takes the filesystem's rename lock, so no
//! directory can change parent while it walks up from the target directory looking for the
//! source (moving a directory into its own subtree is `EINVAL`). It then reads both entries
//! without holding locks, locks the (up to four) inodes in ascending inode order, checks
//! the entries still name the same inodes, and retries from the start if they changed.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use rustix::io::Errno;

use crate::fs::{MemFs, BOGO_DIRENT_SIZE};
use crate::namespace::check_new_name;
use crate::perm;
use crate::table::{lock_ordered, Content, State};
use crate::types::{Caller, FileType, Ino, RenameFlags, Timestamp, ROOT_ID};

/// The two parent directories of a rename: one state when they are the same inode.
struct Parents<'a> {
    old: &'a mut State,
    new: Option<&'a mut State>,
}

impl Parents<'_> {
    fn src_dir(&mut self) -> &mut State {
        self.old
    }

    fn dst_dir(&mut self) -> &mut State {
        match &mut self.new {
            Some(n) => n,
            None => self.old,
        }
    }
}

impl MemFs {
    /// Renames `parent/name` to `newparent/newname` (FUSE RENAME and RENAME2).
    ///
    /// Errors: `ENOENT` (no source; EXCHANGE without target), `EEXIST` (NOREPLACE and the
    /// target exists), `ENOTDIR`/`EISDIR` (directory over non-directory and vice versa),
    /// `ENOTEMPTY` (over a non-empty directory), `EINVAL` (into its own subtree; bad flag
    /// combination), `EPERM` (sticky directory). Renaming a name onto itself, or onto another
    /// hard link of the same inode, succeeds without doing anything. Never `EXDEV`.
    pub fn rename(
        &self,
        c: &Caller,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        flags: RenameFlags,
    ) -> Result<(), Errno> {
        let (name, newname) = (name.as_bytes(), newname.as_bytes());
        let exchange = flags.contains(RenameFlags::EXCHANGE);
        let noreplace = flags.contains(RenameFlags::NOREPLACE);
        let whiteout = flags.contains(RenameFlags::WHITEOUT);
        if flags.0 & !7 != 0 || (exchange && (noreplace || whiteout)) {
            return Err(Errno::INVAL);
        }
        check_new_name(name)?;
        check_new_name(newname)?;
        let _cross = (parent != newparent).then(|| self.rename_lock.lock());
        loop {
            let pd = self.table.get(parent)?;
            let npd = self.table.get(newparent)?;
            let (src_ino, src_kind) = {
                let st = pd.state.read();
                st.check_live()?;
                let e = st.dir()?.get(name).ok_or(Errno::NOENT)?;
                (e.ino(), e.kind())
            };
            let dst = {
                let st = npd.state.read();
                st.check_live()?;
                st.dir()?.get(newname).map(|e| (e.ino(), e.kind()))
            };
            if exchange && dst.is_none() {
                return Err(Errno::NOENT);
            }
            if noreplace && dst.is_some() {
                return Err(Errno::EXIST);
            }
            if dst.is_some_and(|(d, _)| d == src_ino) {
                return Ok(());
            }
            let src_dir = src_kind == FileType::Directory;
            if let (Some((_, dk)), false) = (dst, exchange) {
                match (src_dir, dk == FileType::Directory) {
                    (true, false) => return Err(Errno::NOTDIR),
                    (false, true) => return Err(Errno::ISDIR),
                    _ => {}
                }
            }
            if parent != newparent {
                if src_dir {
                    self.check_not_ancestor(src_ino, newparent)?;
                }
                if let (true, Some((d, FileType::Directory))) = (exchange, dst) {
                    self.check_not_ancestor(d, parent)?;
                }
            }
            if dst.is_some_and(|(d, _)| d == parent) {
                return Err(Errno::NOTEMPTY);
            }
            // An inode that vanished between the read and now: the entries changed, retry.
            let Ok(src) = self.table.get(src_ino) else {
                continue;
            };
            let dsti = match dst {
                Some((d, _)) => match self.table.get(d) {
                    Ok(i) => Some(i),
                    Err(_) => continue,
                },
                None => None,
            };
            let mut items = vec![(parent, &*pd), (newparent, &*npd), (src_ino, &*src)];
            if let (Some((d, _)), Some(di)) = (dst, dsti.as_ref()) {
                items.push((d, &**di));
            }
            let mut g = lock_ordered(&items);
            let (old, rest) = g.split_at_mut(1);
            let (new, rest) = rest.split_at_mut(1);
            let (srcg, dstg) = rest.split_at_mut(1);
            let (Some(old), Some(sst)) = (old[0].as_deref_mut(), srcg[0].as_deref_mut()) else {
                return Err(Errno::INVAL);
            };
            let mut parents = Parents {
                old,
                new: new[0].as_deref_mut(),
            };
            let dst_st = dstg.first_mut().and_then(|d| d.as_deref_mut());
            if dst.is_some() && dst_st.is_none() {
                return Err(Errno::INVAL);
            }
            // Re-validate what was read without locks.
            let still = parents.src_dir().check_live().is_ok()
                && parents.src_dir().dir()?.get(name).map(|e| e.ino()) == Some(src_ino)
                && parents.dst_dir().check_live().is_ok()
                && parents.dst_dir().dir()?.get(newname).map(|e| e.ino()) == dst.map(|(d, _)| d);
            if !still {
                continue;
            }
            if parents.dst_dir().nlink == 0 {
                return Err(Errno::NOENT);
            }
            if !perm::sticky_allows(c, parents.src_dir(), sst) {
                return Err(Errno::PERM);
            }
            if let Some(d) = dst_st.as_deref() {
                if !perm::sticky_allows(c, parents.dst_dir(), d) {
                    return Err(Errno::PERM);
                }
                if !exchange && d.dir().is_ok_and(|dir| !dir.is_empty()) {
                    return Err(Errno::NOTEMPTY);
                }
            }
            let whiteout_state = if whiteout {
                self.usage.charge_inode()?;
                let mut w = self.new_state(
                    c,
                    parents.src_dir(),
                    FileType::CharDevice,
                    0,
                    Content::Special(0),
                );
                w.set_perm(0);
                Some(w)
            } else {
                None
            };
            let now = Timestamp::now();
            let cross = parent != newparent;
            match (dst, dst_st) {
                (Some((dst_ino, dst_kind)), Some(d)) if exchange => {
                    parents
                        .src_dir()
                        .dir_mut()?
                        .retarget(name, dst_ino, dst_kind);
                    parents
                        .dst_dir()
                        .dir_mut()?
                        .retarget(newname, src_ino, src_kind);
                    if cross {
                        if src_dir {
                            sst.dir_mut()?.parent = newparent;
                            parents.src_dir().nlink -= 1;
                            parents.dst_dir().nlink += 1;
                        }
                        if dst_kind == FileType::Directory {
                            d.dir_mut()?.parent = parent;
                            parents.dst_dir().nlink -= 1;
                            parents.src_dir().nlink += 1;
                        }
                    }
                    d.touch_c(now);
                }
                (Some((dst_ino, dst_kind)), Some(d)) => {
                    parents
                        .dst_dir()
                        .dir_mut()?
                        .retarget(newname, src_ino, src_kind);
                    parents.src_dir().dir_mut()?.remove(name);
                    parents.src_dir().size -= BOGO_DIRENT_SIZE;
                    if dst_kind == FileType::Directory {
                        d.nlink = 0;
                        parents.dst_dir().nlink -= 1;
                    } else {
                        if d.nlink > 1 {
                            self.usage.uncharge_inode();
                        }
                        d.nlink -= 1;
                    }
                    d.touch_c(now);
                    self.move_dir_link(&mut parents, sst, src_dir && cross, newparent)?;
                    self.free_if_unused(dst_ino, d);
                }
                _ => {
                    parents
                        .dst_dir()
                        .dir_mut()?
                        .insert(newname, src_ino, src_kind);
                    parents.dst_dir().size += BOGO_DIRENT_SIZE;
                    parents.src_dir().dir_mut()?.remove(name);
                    parents.src_dir().size -= BOGO_DIRENT_SIZE;
                    self.move_dir_link(&mut parents, sst, src_dir && cross, newparent)?;
                }
            }
            sst.touch_c(now);
            parents.src_dir().touch_mc(now);
            parents.dst_dir().touch_mc(now);
            if let Some(w) = whiteout_state {
                let wino = self.table.alloc_ino();
                self.table.insert(wino, w);
                parents
                    .src_dir()
                    .dir_mut()?
                    .insert(name, wino, FileType::CharDevice);
                parents.src_dir().size += BOGO_DIRENT_SIZE;
            }
            return Ok(());
        }
    }

    /// A directory moving from the old to the new parent takes its ".." link along.
    fn move_dir_link(
        &self,
        parents: &mut Parents<'_>,
        sst: &mut State,
        moving_dir: bool,
        newparent: Ino,
    ) -> Result<(), Errno> {
        if moving_dir {
            sst.dir_mut()?.parent = newparent;
            parents.src_dir().nlink -= 1;
            parents.dst_dir().nlink += 1;
        }
        Ok(())
    }

    /// `EINVAL` if directory `dir` is `start` or one of its ancestors. Needs the rename lock
    /// (parent pointers are then stable) and no inode lock held.
    fn check_not_ancestor(&self, dir: Ino, start: Ino) -> Result<(), Errno> {
        let mut cur = start;
        loop {
            if cur == dir {
                return Err(Errno::INVAL);
            }
            if cur == ROOT_ID {
                return Ok(());
            }
            let inode = self.table.get(cur)?;
            let next = inode.state.read().dir()?.parent;
            cur = next;
        }
    }
}
