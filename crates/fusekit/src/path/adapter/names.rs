//! Lookup and every operation that creates, removes or moves a name: mknod, mkdir, symlink,
//! unlink, rmdir, rename and link (including naming a tmpfile). Unlink and rename-over of an
//! open file follow the unlink mode; in hide mode the decision "open, so hide" is taken under
//! the node's write lock, the same lock hide-mode release takes before dropping the last open
//! count, so the two cannot interleave.

use std::ffi::OsStr;
use std::path::Path;

use rustix::fs::RenameFlags;
use rustix::io::Errno;

use super::{child_path, PathAdapter};
use crate::attr::{Entry, FileAttr, Ino};
use crate::path::fs::{PathContext, PathFilesystem};
use crate::path::hidden::is_hidden_name;
use crate::path::locks::Target;

impl<F: PathFilesystem> PathAdapter<F> {
    pub(super) fn do_lookup(
        &self,
        ctx: &PathContext,
        parent: Ino,
        name: &OsStr,
    ) -> Result<Entry, Errno> {
        if self.hide_mode() && is_hidden_name(name) {
            return Err(Errno::NOENT);
        }
        let guard = self.shared.lock(&[parent], &[])?;
        let path = child_path(guard.path(parent), name)?;
        let attr = self.fs.getattr(ctx, Some(&path), None)?;
        let ino = {
            let mut table = guard.table();
            let ino = table.child_or_insert(parent, name).ok_or(Errno::NOENT)?;
            if let Some(node) = table.get_mut(ino) {
                node.nlookup += 1;
            }
            ino
        };
        Ok(self.entry(ino, attr, false))
    }

    /// Creates `name` in `parent` with `make` and records the new node (one lookup).
    pub(super) fn do_make(
        &self,
        parent: Ino,
        name: &OsStr,
        make: impl FnOnce(&Path) -> Result<FileAttr, Errno>,
    ) -> Result<Entry, Errno> {
        self.check_new_name(name)?;
        let guard = self.shared.lock(&[parent], &[])?;
        let path = child_path(guard.path(parent), name)?;
        let attr = make(&path)?;
        let ino = {
            let mut table = guard.table();
            let ino = table.child_or_insert(parent, name).ok_or(Errno::NOENT)?;
            if let Some(node) = table.get_mut(ino) {
                node.nlookup += 1;
            }
            ino
        };
        Ok(self.entry(ino, attr, false))
    }

    pub(super) fn do_unlink(
        &self,
        ctx: &PathContext,
        parent: Ino,
        name: &OsStr,
    ) -> Result<(), Errno> {
        if self.hide_mode() && is_hidden_name(name) {
            return Err(Errno::NOENT);
        }
        let guard = self.shared.lock(&[], &[Target::Child(parent, name)])?;
        let path = child_path(guard.path(parent), name)?;
        let target = guard.locked_child(parent, name);
        let open = target.is_some_and(|t| guard.table().get(t).is_some_and(|n| n.open > 0));
        if self.hide_mode() && open {
            let target = target.expect("open implies a node");
            return self.hide(ctx, &guard, target, parent, &path);
        }
        self.fs.unlink(ctx, &path)?;
        if let Some(t) = target {
            guard.table().detach(t);
        }
        Ok(())
    }

    pub(super) fn do_rmdir(
        &self,
        ctx: &PathContext,
        parent: Ino,
        name: &OsStr,
    ) -> Result<(), Errno> {
        if self.hide_mode() && is_hidden_name(name) {
            return Err(Errno::NOENT);
        }
        let guard = self.shared.lock(
            &[],
            &[Target::Child(parent, name), Target::HiddenIn(parent, name)],
        )?;
        let path = child_path(guard.path(parent), name)?;
        let target = guard.locked_child(parent, name);
        match self.fs.rmdir(ctx, &path) {
            Err(Errno::NOTEMPTY) if self.hide_mode() => {
                // Hidden files of still-open unlinked files would keep the directory from
                // going: move them to the root (still hidden, still removed at their last
                // release) and try once more.
                if let Some(dir) = target {
                    self.evict_hidden(ctx, &guard, dir)?;
                }
                self.fs.rmdir(ctx, &path)?;
            }
            r => r?,
        }
        if let Some(t) = target {
            guard.table().detach(t);
        }
        Ok(())
    }

    /// Moves the hidden files directly inside `dir` to the root directory. The caller holds
    /// them (and `dir`) exclusively. Returns the first error, with nothing more moved.
    fn evict_hidden(
        &self,
        ctx: &PathContext,
        guard: &crate::path::locks::PathGuard<'_>,
        dir: Ino,
    ) -> Result<(), Errno> {
        let hidden: Vec<Ino> = {
            let table = guard.table();
            let Some(d) = table.get(dir) else {
                return Ok(());
            };
            d.children
                .values()
                .copied()
                .filter(|c| guard.holds_write(*c) && table.get(*c).is_some_and(|n| n.hidden))
                .collect()
        };
        for ino in hidden {
            let Some(from) = guard.path(ino) else {
                continue;
            };
            let new_name = self.next_hidden_name(ino);
            let to = Path::new("/").join(&new_name);
            self.fs.rename(ctx, &from, &to, 0)?;
            guard.table().attach(ino, crate::attr::ROOT_ID, &new_name);
        }
        Ok(())
    }

    pub(super) fn do_rename(
        &self,
        ctx: &PathContext,
        (parent, name): (Ino, &OsStr),
        (newparent, newname): (Ino, &OsStr),
        flags: u32,
    ) -> Result<(), Errno> {
        if self.hide_mode() && is_hidden_name(name) {
            return Err(Errno::NOENT);
        }
        self.check_new_name(newname)?;
        let guard = self.shared.lock(
            &[],
            &[
                Target::Child(parent, name),
                Target::Child(newparent, newname),
                Target::HiddenIn(newparent, newname),
            ],
        )?;
        let from = child_path(guard.path(parent), name)?;
        let to = child_path(guard.path(newparent), newname)?;
        let src = guard.locked_child(parent, name);
        let dst = guard.locked_child(newparent, newname);
        let rflags = RenameFlags::from_bits_retain(flags);

        if rflags.contains(RenameFlags::EXCHANGE) {
            self.fs.rename(ctx, &from, &to, flags)?;
            let mut table = guard.table();
            match (src, dst) {
                (Some(a), Some(b)) => table.exchange(a, b),
                (Some(a), None) => {
                    table.attach(a, newparent, newname);
                }
                (None, Some(b)) => {
                    table.attach(b, parent, name);
                }
                (None, None) => {}
            }
            return Ok(());
        }

        // Renaming over an open file in hide mode: hide the victim first, under its lock.
        let dst_open = dst.is_some_and(|d| guard.table().get(d).is_some_and(|n| n.open > 0));
        let hidden = match dst {
            Some(d)
                if self.hide_mode()
                    && dst_open
                    && src != Some(d)
                    && !rflags.contains(RenameFlags::NOREPLACE) =>
            {
                self.hide(ctx, &guard, d, newparent, &to)?;
                Some(d)
            }
            _ => None,
        };
        let mut result = self.fs.rename(ctx, &from, &to, flags);
        if let (Err(Errno::NOTEMPTY), Some(d), true) = (result, dst, self.hide_mode()) {
            // A directory renamed over one that holds only hidden files: move those out of
            // the way (as rmdir does) and try once more.
            self.evict_hidden(ctx, &guard, d)?;
            result = self.fs.rename(ctx, &from, &to, flags);
        }
        if let Err(e) = result {
            if let Some(d) = hidden {
                self.unhide(ctx, &guard, d, newparent, newname, &to);
            }
            return Err(e);
        }
        let mut table = guard.table();
        match (src, dst) {
            (Some(a), _) => {
                table.attach(a, newparent, newname);
            }
            (None, Some(d)) if hidden.is_none() => table.detach(d),
            _ => {}
        }
        Ok(())
    }

    /// Puts a node hidden by a failed rename back under its name.
    fn unhide(
        &self,
        ctx: &PathContext,
        guard: &crate::path::locks::PathGuard<'_>,
        ino: Ino,
        parent: Ino,
        name: &OsStr,
        to: &Path,
    ) {
        let Some(hidden_path) = guard.path(ino) else {
            return;
        };
        match self.fs.rename(ctx, &hidden_path, to, 0) {
            Ok(()) => {
                let mut table = guard.table();
                table.attach(ino, parent, name);
                if let Some(n) = table.get_mut(ino) {
                    n.hidden = false;
                }
            }
            Err(e) => {
                tracing::warn!(ino, error = %e, "could not restore a file hidden by a failed rename")
            }
        }
    }

    pub(super) fn do_link(
        &self,
        ctx: &PathContext,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
    ) -> Result<Entry, Errno> {
        self.check_new_name(newname)?;
        let guard = self
            .shared
            .lock(&[], &[Target::Node(ino), Target::Child(newparent, newname)])?;
        let to = child_path(guard.path(newparent), newname)?;
        let (tmpfile, handle) = {
            let table = guard.table();
            let node = table.get(ino).ok_or(Errno::NOENT)?;
            (node.tmpfile, node.handles.first().copied())
        };
        if !tmpfile {
            let from = guard.path(ino).ok_or(Errno::NOENT)?;
            let attr = self.fs.link(ctx, &from, &to)?;
            let mut table = guard.table();
            let new = table
                .child_or_insert(newparent, newname)
                .ok_or(Errno::NOENT)?;
            if let Some(node) = table.get_mut(new) {
                node.nlookup += 1;
            }
            return Ok(self.entry(new, attr, false));
        }
        let attr = if self.hide_mode() {
            let from = guard.path(ino).ok_or(Errno::NOENT)?;
            self.name_hidden_tmpfile(ctx, &from, &to)?
        } else {
            let fh = handle.ok_or(Errno::NOENT)?;
            self.fs.link_tmpfile(ctx, fh, &to)?
        };
        let mut table = guard.table();
        table.attach(ino, newparent, newname);
        if let Some(node) = table.get_mut(ino) {
            node.tmpfile = false;
            node.hidden = false;
            node.nlookup += 1;
        }
        Ok(self.entry(ino, attr, false))
    }

    /// Hide mode: a tmpfile is a hidden file; naming it is a rename that must not replace.
    fn name_hidden_tmpfile(
        &self,
        ctx: &PathContext,
        from: &Path,
        to: &Path,
    ) -> Result<FileAttr, Errno> {
        match self.fs.rename(ctx, from, to, RenameFlags::NOREPLACE.bits()) {
            Ok(()) => {}
            Err(Errno::INVAL) | Err(Errno::NOSYS) => {
                // No RENAME_NOREPLACE here: check, then rename. The kernel holds the target
                // directory's lock during LINK, so only changes made outside the mount could
                // slip in between.
                if self.fs.getattr(ctx, Some(to), None).is_ok() {
                    return Err(Errno::EXIST);
                }
                self.fs.rename(ctx, from, to, 0)?;
            }
            Err(e) => return Err(e),
        }
        self.fs.getattr(ctx, Some(to), None)
    }
}
