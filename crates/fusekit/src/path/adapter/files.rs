//! Open files: open, create, tmpfile, I/O, flush, fsync, fallocate and release, with the open
//! counts and handle lists the node table keeps for each node.
//!
//! Release takes the node's *write* lock before calling the filesystem and holds it
//! until the open count has dropped and, if that was the last handle of a hidden file, the
//! hidden name is gone. Unlink and rename decide "open, so hide" under the same lock, so one
//! of the two always sees the other's result: the last release of a hidden file removes it,
//! and an unlink after the last release finds the file closed and removes it directly. This
//! holds whether or not release is given a path (`PathConfig::io_paths`).

use std::path::Path;

use rustix::fs::OFlags;
use rustix::io::Errno;

use super::{child_path, PathAdapter};
use crate::attr::{Entry, Ino};
use crate::path::fs::{Opened, PathContext, PathFilesystem};
use crate::path::locks::Target;

/// Tries before giving up on a hidden tmpfile name that already exists (left by a crash).
const TMPFILE_NAME_TRIES: usize = 8;

impl<F: PathFilesystem> PathAdapter<F> {
    /// Runs an I/O call with the node's path (read-locked) or, without `io_paths`, with no path
    /// and no lock.
    pub(super) fn with_io_path<T>(
        &self,
        ino: Ino,
        f: impl FnOnce(Option<&Path>) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        if !self.config.io_paths {
            return f(None);
        }
        let guard = self.shared.lock(&[ino], &[])?;
        let path = guard.path(ino);
        f(path.as_deref())
    }

    /// Records one more open handle on `ino`.
    fn opened(&self, table: &mut crate::path::table::Table, ino: Ino, fh: u64) {
        if let Some(node) = table.get_mut(ino) {
            node.open += 1;
            node.handles.push(fh);
        }
    }

    pub(super) fn do_open(&self, ctx: &PathContext, ino: Ino, flags: i32) -> Result<Opened, Errno> {
        let guard = self.shared.lock(&[ino], &[])?;
        let path = guard.path(ino);
        // A node without a name is reached through one of its handles (held open: release
        // needs this node exclusively, which our lock excludes).
        let borrowed = match &path {
            None => guard
                .table()
                .get(ino)
                .and_then(|n| n.handles.first().copied()),
            Some(_) => None,
        };
        let result = match borrowed {
            Some(fh) => self.fs.reopen(ctx, fh, flags),
            None => self.fs.open(ctx, path.as_deref(), flags),
        };
        let opened = match result {
            // The name went away between the kernel's lookup and this OPEN (a racing unlink):
            // ESTALE makes the kernel look the name up again (and create it for O_CREAT).
            Err(Errno::NOENT) if path.is_none() => Err(Errno::STALE),
            r => r,
        }?;
        self.opened(&mut guard.table(), ino, opened.fh);
        Ok(opened)
    }

    pub(super) fn do_create(
        &self,
        ctx: &PathContext,
        parent: Ino,
        name: &std::ffi::OsStr,
        mode: u32,
        flags: i32,
    ) -> Result<(Entry, Opened), Errno> {
        self.check_new_name(name)?;
        let guard = self.shared.lock(&[parent], &[])?;
        let path = child_path(guard.path(parent), name)?;
        let (attr, opened) = self.fs.create(ctx, &path, mode, flags)?;
        let ino = {
            let mut table = guard.table();
            let ino = table.child_or_insert(parent, name).ok_or(Errno::NOENT)?;
            if let Some(node) = table.get_mut(ino) {
                node.nlookup += 1;
            }
            self.opened(&mut table, ino, opened.fh);
            ino
        };
        Ok((self.entry(ino, attr, false), opened))
    }

    pub(super) fn do_tmpfile(
        &self,
        ctx: &PathContext,
        parent: Ino,
        mode: u32,
        flags: i32,
    ) -> Result<(Entry, Opened), Errno> {
        let guard = self.shared.lock(&[parent], &[])?;
        let dir = guard.path(parent).ok_or(Errno::NOENT)?;
        if !self.hide_mode() {
            let (attr, opened) = self.fs.tmpfile(ctx, &dir, mode, flags)?;
            let mut table = guard.table();
            let ino = table.insert_anonymous();
            if let Some(node) = table.get_mut(ino) {
                node.tmpfile = true;
                node.nlookup = 1;
            }
            self.opened(&mut table, ino, opened.fh);
            return Ok((self.entry(ino, attr, false), opened));
        }
        // Hide mode: a tmpfile is a file created under a hidden name, already hidden.
        let ino = guard.table().insert_anonymous();
        let create_flags = (OFlags::from_bits_retain(flags as u32) - OFlags::TMPFILE)
            | OFlags::CREATE
            | OFlags::EXCL;
        let mut result = Err(Errno::EXIST);
        for _ in 0..TMPFILE_NAME_TRIES {
            let name = self.next_hidden_name(ino);
            let path = dir.join(&name);
            result = match self.fs.create(ctx, &path, mode, create_flags.bits() as i32) {
                Ok(done) => Ok((name, done)),
                Err(Errno::NOSYS) => Err(Errno::OPNOTSUPP),
                Err(e) => Err(e),
            };
            if result != Err(Errno::EXIST) {
                break;
            }
        }
        let mut table = guard.table();
        let (name, (attr, opened)) = match result {
            Ok(v) => v,
            Err(e) => {
                table.try_remove(ino);
                return Err(e);
            }
        };
        table.attach(ino, parent, &name);
        if let Some(node) = table.get_mut(ino) {
            node.tmpfile = true;
            node.hidden = true;
            node.nlookup = 1;
        }
        self.opened(&mut table, ino, opened.fh);
        Ok((self.entry(ino, attr, true), opened))
    }

    pub(super) fn do_release(
        &self,
        ctx: &PathContext,
        ino: Ino,
        fh: u64,
        flags: i32,
    ) -> Result<(), Errno> {
        // Exclusive on the node in both modes: in hide mode this is what serializes release
        // with unlink/rename; in both it keeps getattr/setattr from borrowing this handle for
        // a nameless node while it is being closed.
        let guard = self.shared.lock(&[], &[Target::Node(ino)])?;
        let path = guard.path(ino).filter(|_| self.config.io_paths);
        let result = self.fs.release(ctx, path.as_deref(), fh, flags);
        drop_handle(&mut guard.table(), ino, fh);
        if self.hide_mode() {
            self.remove_hidden(ctx, &guard, ino);
        }
        drop(guard);
        self.shared.table().try_remove(ino);
        result
    }
}

fn drop_handle(table: &mut crate::path::table::Table, ino: Ino, fh: u64) {
    if let Some(node) = table.get_mut(ino) {
        node.open = node.open.saturating_sub(1);
        if let Some(i) = node.handles.iter().position(|&h| h == fh) {
            node.handles.swap_remove(i);
        }
    }
}
