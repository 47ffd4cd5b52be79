//! Node-level queries and changes that are neither names nor I/O: getattr, setattr,
//! readlink, statfs, access and extended attributes. A node without a name is reached through
//! one of its open handles when the kernel does not pass one (fstat of an unlinked file); a
//! node with neither a name nor a handle answers ESTALE so the kernel looks its name up again.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use rustix::io::Errno;

use super::PathAdapter;
use crate::attr::{FileAttr, Ino, SetAttr, Statfs};
use crate::path::fs::{PathContext, PathFilesystem};

impl<F: PathFilesystem> PathAdapter<F> {
    /// Runs `f` with the node's path and a handle (the given one, or — for a node without a
    /// name — any open handle), then fixes up the attributes it returns.
    fn with_node_attr(
        &self,
        ino: Ino,
        fh: Option<u64>,
        f: impl FnOnce(Option<&Path>, Option<u64>) -> Result<FileAttr, Errno>,
    ) -> Result<FileAttr, Errno> {
        let guard = self.shared.lock(&[ino], &[])?;
        let path = guard.path(ino);
        let (hidden, borrowed) = {
            let table = guard.table();
            let node = table.get(ino).ok_or(Errno::NOENT)?;
            let fallback = match (fh, &path) {
                (None, None) => node.handles.first().copied(),
                _ => None,
            };
            (node.hidden, fallback)
        };
        if path.is_none() && fh.is_none() && borrowed.is_none() {
            // Unlinked and not open: the kernel raced an unlink (e.g. a permission check on a
            // name being removed). ESTALE makes it look the name up again.
            return Err(Errno::STALE);
        }
        let attr = match f(path.as_deref(), fh.or(borrowed)) {
            // A borrowed handle that is already closed leaves no way to the node either.
            Err(Errno::BADF) if borrowed.is_some() => Err(Errno::STALE),
            r => r,
        }?;
        Ok(self.fix_attr(ino, attr, hidden))
    }

    /// Runs `f` with the node's path; ENOENT when it has none.
    fn with_path<T>(
        &self,
        ino: Ino,
        f: impl FnOnce(&Path) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let guard = self.shared.lock(&[ino], &[])?;
        let path = guard.path(ino).ok_or(Errno::NOENT)?;
        f(&path)
    }

    pub(super) fn do_getattr(
        &self,
        ctx: &PathContext,
        ino: Ino,
        fh: Option<u64>,
    ) -> Result<FileAttr, Errno> {
        self.with_node_attr(ino, fh, |path, fh| self.fs.getattr(ctx, path, fh))
    }

    pub(super) fn do_setattr(
        &self,
        ctx: &PathContext,
        ino: Ino,
        attr: &SetAttr,
    ) -> Result<FileAttr, Errno> {
        self.with_node_attr(ino, attr.fh, |path, fh| {
            self.fs.setattr(ctx, path, fh, &SetAttr { fh, ..*attr })
        })
    }

    pub(super) fn do_readlink(&self, ctx: &PathContext, ino: Ino) -> Result<PathBuf, Errno> {
        self.with_path(ino, |path| self.fs.readlink(ctx, path))
    }

    pub(super) fn do_statfs(&self, ctx: &PathContext, ino: Ino) -> Result<Statfs, Errno> {
        let guard = self.shared.lock(&[ino], &[])?;
        let path = guard.path(ino).unwrap_or_else(|| PathBuf::from("/"));
        self.fs.statfs(ctx, &path)
    }

    pub(super) fn do_access(&self, ctx: &PathContext, ino: Ino, mask: i32) -> Result<(), Errno> {
        self.with_path(ino, |path| self.fs.access(ctx, path, mask))
    }

    pub(super) fn do_setxattr(
        &self,
        ctx: &PathContext,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        flags: i32,
    ) -> Result<(), Errno> {
        self.with_path(ino, |path| self.fs.setxattr(ctx, path, name, value, flags))
    }

    pub(super) fn do_getxattr(
        &self,
        ctx: &PathContext,
        ino: Ino,
        name: &OsStr,
    ) -> Result<Vec<u8>, Errno> {
        self.with_path(ino, |path| self.fs.getxattr(ctx, path, name))
    }

    pub(super) fn do_listxattr(&self, ctx: &PathContext, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.with_path(ino, |path| self.fs.listxattr(ctx, path))
    }

    pub(super) fn do_removexattr(
        &self,
        ctx: &PathContext,
        ino: Ino,
        name: &OsStr,
    ) -> Result<(), Errno> {
        self.with_path(ino, |path| self.fs.removexattr(ctx, path, name))
    }
}
