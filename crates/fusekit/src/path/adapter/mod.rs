//! [`PathAdapter`]: serves a [`PathFilesystem`] as an inode-level
//! [`Filesystem`](crate::Filesystem). The pieces: `names` (lookup and everything that changes
//! names), `files` (open files, I/O, release, tmpfile), `dirs` (directory handles and
//! listings), `attrs` (attributes, xattrs, statfs) and `lowlevel` (the trait impl that turns
//! results into replies). The shared state is here.

mod attrs;
mod dirs;
mod files;
mod lowlevel;
mod names;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustix::io::Errno;

use super::fs::{PathContext, PathFilesystem};
use super::hidden::{hidden_name, is_hidden_name};
use super::locks::{PathGuard, Shared};
use super::options::{PathConfig, UnlinkMode};
use crate::attr::{Entry, FileAttr, Ino};

use dirs::DirHandle;

/// Serves a [`PathFilesystem`] through the inode-level API: mount it with
/// `Session::mount(PathAdapter::new(fs, config), ...)`.
pub struct PathAdapter<F: PathFilesystem> {
    fs: F,
    config: PathConfig,
    shared: Arc<Shared>,
    dirs: Mutex<HashMap<u64, Arc<DirHandle>>>,
    next_dir: AtomicU64,
    hide_serial: AtomicU64,
    generation: u64,
}

impl<F: PathFilesystem> std::fmt::Debug for PathAdapter<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathAdapter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<F: PathFilesystem> PathAdapter<F> {
    /// Wraps `fs` with `config`.
    pub fn new(fs: F, config: PathConfig) -> Self {
        // Node ids are never reused within a mount; the generation tells mounts apart.
        let generation = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs());
        PathAdapter {
            fs,
            config,
            shared: Arc::new(Shared::new()),
            dirs: Mutex::new(HashMap::new()),
            next_dir: AtomicU64::new(1),
            hide_serial: AtomicU64::new(1),
            generation,
        }
    }

    /// The wrapped filesystem.
    pub fn fs(&self) -> &F {
        &self.fs
    }

    /// The configuration in use.
    pub fn config(&self) -> &PathConfig {
        &self.config
    }

    /// A handle for reading the node table's counters, usable after the adapter was moved
    /// into a session.
    pub fn stats(&self) -> PathStats {
        PathStats {
            shared: Arc::clone(&self.shared),
        }
    }

    fn hide_mode(&self) -> bool {
        self.config.unlink_mode == UnlinkMode::Hide
    }

    /// Refuses names reserved for hidden files (hide mode only).
    fn check_new_name(&self, name: &OsStr) -> Result<(), Errno> {
        if self.hide_mode() && is_hidden_name(name) {
            return Err(Errno::PERM);
        }
        Ok(())
    }

    /// Attributes as the kernel should see them: the node id as inode number (unless
    /// `use_ino`), and no links for a hidden (unlinked) file.
    fn fix_attr(&self, ino: Ino, mut attr: FileAttr, hidden: bool) -> FileAttr {
        if !self.config.use_ino || attr.ino == 0 {
            attr.ino = ino;
        }
        if hidden {
            attr.nlink = 0;
        }
        attr
    }

    fn entry(&self, ino: Ino, attr: FileAttr, hidden: bool) -> Entry {
        Entry {
            ino,
            generation: self.generation,
            attr: self.fix_attr(ino, attr, hidden),
            entry_ttl: self.config.entry_ttl,
            attr_ttl: self.config.attr_ttl,
        }
    }

    /// A fresh hidden name for `ino`.
    fn next_hidden_name(&self, ino: Ino) -> std::ffi::OsString {
        hidden_name(ino, self.hide_serial.fetch_add(1, Ordering::Relaxed))
    }

    /// Moves the open node `ino` (named `path` in `parent`) to a hidden name. The caller holds
    /// the node's write lock.
    fn hide(
        &self,
        ctx: &PathContext,
        guard: &PathGuard<'_>,
        ino: Ino,
        parent: Ino,
        path: &Path,
    ) -> Result<(), Errno> {
        let hidden = self.next_hidden_name(ino);
        self.fs
            .rename(ctx, path, &path.with_file_name(&hidden), 0)?;
        let mut table = guard.table();
        table.attach(ino, parent, &hidden);
        if let Some(node) = table.get_mut(ino) {
            node.hidden = true;
        }
        tracing::debug!(ino, ?hidden, "open file hidden");
        Ok(())
    }

    /// Removes the hidden file of `ino` once it is no longer open. The caller holds the
    /// node's write lock, so no unlink, rename or release of the node runs meanwhile.
    fn remove_hidden(&self, ctx: &PathContext, guard: &PathGuard<'_>, ino: Ino) {
        let path = {
            let table = guard.table();
            match table.get(ino) {
                Some(n) if n.hidden && n.open == 0 => table.path(ino),
                _ => return,
            }
        };
        let Some(path) = path else { return };
        match self.fs.unlink(ctx, &path) {
            Ok(()) => {
                let mut table = guard.table();
                if let Some(n) = table.get_mut(ino) {
                    n.hidden = false;
                }
                table.detach(ino);
            }
            Err(e) => tracing::warn!(ino, ?path, error = %e, "removing a hidden file failed"),
        }
    }

    /// Removes hidden files still recorded (connection ended with files open).
    fn remove_all_hidden(&self) {
        let ctx = PathContext::kernel();
        let ids = self.shared.table().ids();
        for ino in ids {
            let path = {
                let table = self.shared.table();
                match table.get(ino) {
                    Some(n) if n.hidden => table.path(ino),
                    _ => None,
                }
            };
            if let Some(path) = path {
                if let Err(e) = self.fs.unlink(&ctx, &path) {
                    tracing::warn!(?path, error = %e, "removing a hidden file at shutdown failed");
                }
            }
        }
    }
}

/// Reads the node table's counters (see [`PathAdapter::stats`]).
#[derive(Debug, Clone)]
pub struct PathStats {
    shared: Arc<Shared>,
}

impl PathStats {
    /// The counters now.
    pub fn snapshot(&self) -> super::table::PathSnapshot {
        self.shared.table().snapshot()
    }
}

/// `parent/name`, or ENOENT when the parent has no name any more.
fn child_path(parent: Option<PathBuf>, name: &OsStr) -> Result<PathBuf, Errno> {
    let mut path = parent.ok_or(Errno::NOENT)?;
    path.push(name);
    Ok(path)
}
