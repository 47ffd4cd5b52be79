//! Directory handles and listings. The filesystem returns a whole listing once per open (and
//! again on rewind); the adapter keeps it with the handle, adds `.` and `..`, leaves out
//! hidden files, and serves it in pieces by index, so cookies stay valid while entries come
//! and go.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use rustix::io::Errno;

use super::PathAdapter;
use crate::attr::{FileType, Ino};
use crate::path::fs::{PathContext, PathFilesystem};
use crate::path::hidden::is_hidden_name;
use crate::path::locks::Target;
use crate::reply::ReplyDirectory;

/// Inode number reported for entries the adapter has no node for (as libfuse does).
const UNKNOWN_INO: u64 = 0xffff_ffff;

/// One listed entry, ready for the kernel.
#[derive(Debug)]
struct Listed {
    name: OsString,
    typ: u32,
    ino: u64,
}

/// An open directory: the filesystem's handle and the listing being read.
#[derive(Debug)]
pub(super) struct DirHandle {
    ino: Ino,
    fh: u64,
    listing: Mutex<Option<Arc<Vec<Listed>>>>,
}

impl<F: PathFilesystem> PathAdapter<F> {
    pub(super) fn do_opendir(&self, ctx: &PathContext, ino: Ino, flags: i32) -> Result<u64, Errno> {
        let guard = self.shared.lock(&[ino], &[])?;
        let path = guard.path(ino).ok_or(Errno::NOENT)?;
        let fh = self.fs.opendir(ctx, &path, flags)?;
        if let Some(node) = guard.table().get_mut(ino) {
            // Lets getattr reach a directory that was removed while open (fstat).
            node.handles.push(fh);
        }
        let id = self.next_dir.fetch_add(1, Ordering::Relaxed);
        let handle = DirHandle {
            ino,
            fh,
            listing: Mutex::new(None),
        };
        self.dirs().insert(id, Arc::new(handle));
        Ok(id)
    }

    fn dirs(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, Arc<DirHandle>>> {
        self.dirs.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn do_readdir(
        &self,
        ctx: &PathContext,
        id: u64,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let filled = self.listing(ctx, id, offset).map(|listing| {
            let start = usize::try_from(offset).unwrap_or(usize::MAX);
            for (i, e) in listing.iter().enumerate().skip(start) {
                if reply.add(e.ino, i as u64 + 1, e.typ, &e.name) {
                    break;
                }
            }
        });
        reply.result(filled);
    }

    /// The listing of open directory `id`: read afresh when a listing starts (offset 0) or
    /// none was read yet, else the one cached on the handle.
    fn listing(&self, ctx: &PathContext, id: u64, offset: u64) -> Result<Arc<Vec<Listed>>, Errno> {
        let handle = self.dirs().get(&id).cloned().ok_or(Errno::BADF)?;
        let mut cached = handle.listing.lock().unwrap_or_else(|e| e.into_inner());
        if offset == 0 || cached.is_none() {
            *cached = Some(Arc::new(self.list(ctx, &handle)?));
        }
        Ok(Arc::clone(cached.as_ref().expect("just filled")))
    }

    fn list(&self, ctx: &PathContext, handle: &DirHandle) -> Result<Vec<Listed>, Errno> {
        let ino = handle.ino;
        let guard = self.shared.lock(&[ino], &[])?;
        let path = guard.path(ino).ok_or(Errno::NOENT)?;
        let entries = self.fs.readdir(ctx, &path, handle.fh)?;
        let table = guard.table();
        let parent = table
            .get(ino)
            .filter(|n| n.name.is_some())
            .map_or(ino, |n| n.parent);
        // `.` and `..` always come first; their inode numbers are the filesystem's when it
        // listed them itself and `use_ino` is on.
        let own = |dot: &str, fallback: u64| {
            entries
                .iter()
                .find(|e| e.name == OsStr::new(dot) && e.ino != 0 && self.config.use_ino)
                .map_or(fallback, |e| e.ino)
        };
        let dir = FileType::Directory.dirent_type();
        let mut out = Vec::with_capacity(entries.len() + 2);
        out.push(Listed {
            name: ".".into(),
            typ: dir,
            ino: own(".", ino),
        });
        out.push(Listed {
            name: "..".into(),
            typ: dir,
            ino: own("..", parent),
        });
        for e in entries {
            let name = e.name.as_os_str();
            if name == OsStr::new(".")
                || name == OsStr::new("..")
                || name.as_bytes().contains(&b'/')
            {
                continue;
            }
            if self.hide_mode() && is_hidden_name(name) {
                continue;
            }
            let node = table.child(ino, name);
            let shown = match (self.config.use_ino && e.ino != 0, node) {
                (true, _) => e.ino,
                (false, Some(n)) => n,
                (false, None) => UNKNOWN_INO,
            };
            out.push(Listed {
                typ: e.kind.dirent_type(),
                name: e.name,
                ino: shown,
            });
        }
        Ok(out)
    }

    pub(super) fn do_releasedir(&self, ctx: &PathContext, id: u64) -> Result<(), Errno> {
        let Some(handle) = self.dirs().remove(&id) else {
            return Err(Errno::BADF);
        };
        // Exclusive, so getattr cannot borrow this handle while it is being closed.
        let guard = self.shared.lock(&[], &[Target::Node(handle.ino)])?;
        let path = guard.path(handle.ino);
        let result = self.fs.releasedir(ctx, path.as_deref(), handle.fh);
        if let Some(node) = guard.table().get_mut(handle.ino) {
            if let Some(i) = node.handles.iter().position(|&h| h == handle.fh) {
                node.handles.swap_remove(i);
            }
        }
        result
    }

    pub(super) fn do_fsyncdir(
        &self,
        ctx: &PathContext,
        ino: Ino,
        id: u64,
        datasync: bool,
    ) -> Result<(), Errno> {
        let fh = self.dirs().get(&id).map_or(0, |h| h.fh);
        let guard = self.shared.lock(&[ino], &[])?;
        let path = guard.path(ino).ok_or(Errno::NOENT)?;
        self.fs.fsyncdir(ctx, &path, fh, datasync)
    }
}
