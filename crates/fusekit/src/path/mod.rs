//! The path-level API: filesystems written in terms of paths (an archive browser, an
//! object-store mount, a path-based passthrough) on top of the inode-level [`Filesystem`].
//!
//! Implement [`PathFilesystem`] — plain `Result`-returning methods that take absolute paths
//! inside the mount — and mount [`PathAdapter::new(fs, config)`](PathAdapter::new) like any
//! other filesystem. The adapter keeps the node table the kernel's node ids refer to, turns
//! node ids into paths, and answers the kernel.
//!
//! ```no_run
//! use std::path::Path;
//! use fusekit::path::{PathAdapter, PathConfig, PathContext, PathFilesystem, UnlinkMode};
//! use fusekit::{Errno, FileAttr, FileType, MountOptions, Session};
//! struct Empty;
//! impl PathFilesystem for Empty {
//!     fn getattr(&self, _: &PathContext, path: Option<&Path>, _: Option<u64>)
//!         -> Result<FileAttr, Errno> {
//!         match path {
//!             Some(p) if p == Path::new("/") => Ok(FileAttr {
//!                 mode: FileType::Directory.mode_bits() | 0o755, nlink: 2, ..Default::default()
//!             }),
//!             _ => Err(Errno::NOENT),
//!         }
//!     }
//! }
//! let fs = PathAdapter::new(Empty, PathConfig::new(UnlinkMode::HandleBased));
//! Session::mount(fs, "/mnt/empty", &MountOptions::default())?.run()?;
//! # Ok::<(), fusekit::SessionError>(())
//! ```
//!
//! # The node table
//! Each name the kernel has looked up is a node: (parent node, name), a lookup count, an open
//! count with the open handles, and flags (hidden, tmpfile). Hard links are separate nodes,
//! as in libfuse's high-level API. Node ids are never reused within a mount (the generation
//! number tells mounts apart). A node lives while the kernel holds a lookup on it, a handle is
//! open, an operation holds it locked, or it has cached children — whatever happened to its
//! name.
//!
//! # Path locks
//! A path handed to a method stays true for the whole call. Each operation locks, all at
//! once, the nodes along the paths it uses (shared) and the nodes whose names it changes
//! (exclusive); the table mutex is held only to check and update those counters, never across
//! a call into the filesystem, and no operation waits while holding a lock, so there is no
//! deadlock. Waiting writers hold back new readers, so a rename of a busy directory is not
//! starved. Reads and writes of different files proceed in parallel; with
//! [`PathConfig::io_paths`] off, I/O takes no path lock at all.
//!
//! # Unlinking or renaming over an open file: the two modes
//! - [`UnlinkMode::HandleBased`] — for filesystems whose handles work without a name (a
//!   passthrough holding file descriptors, an object store holding object ids). Unlink and
//!   rename pass straight through. I/O on an open file whose name is gone gets `path = None`
//!   and its handle; getattr/setattr on such a node get one of its open handles. O_TMPFILE
//!   calls [`PathFilesystem::tmpfile`] (an anonymous node: no name, open count 1) and linkat
//!   calls [`PathFilesystem::link_tmpfile`]. Pick this whenever your handles can outlive
//!   names: nothing is renamed behind the user's back and unlink costs one call.
//! - [`UnlinkMode::Hide`] — for filesystems that can only do I/O by path (an archive or a
//!   remote store addressed by key). An open file that is unlinked or renamed over is renamed
//!   to `.fusekit_hidden<node>_<n>` in its directory and removed after its last release;
//!   hidden names never show in readdir or lookup, and getattr reports `nlink = 0` for them.
//!   O_TMPFILE is made from `create` under a hidden name, and linkat renames it into place
//!   (`RENAME_NOREPLACE`). When `rmdir` (or a rename over a directory) finds only hidden files
//!   left in the directory it moves them to the root (still hidden) and tries again. Costs: an extra rename per
//!   unlink of an open file (two for rmdir of such a directory), hidden names the backing
//!   store can see while the files are open, and leftovers if the process dies with files
//!   open (a clean unmount removes them).
//!
//! # Why no hidden file is left behind (libfuse issue 746)
//! libfuse decides "open, so hide" in unlink and decrements the open count in release under
//! its table mutex but renames in between without holding it: a release that drops the last
//! handle after unlink's check and before the rename completes sees a file that is not hidden
//! yet, and nobody ever removes the hidden file (always so when release gets no path). Here
//! unlink, rename and hide-mode release all take the node's *exclusive* path lock for their
//! whole duration: release calls the filesystem, drops the open count and removes a hidden
//! file while holding it, and unlink/rename check the open count and hide while holding it.
//! Either order leaves no hidden file, with or without paths in release. At unmount
//! ([`Filesystem::destroy`]) hidden files still recorded are removed too.
//!
//! # Known limits
//! - Hard links are separate nodes (one per name), so the kernel caches attributes and pages
//!   per name: lower `attr_ttl` (pathfs uses 0) if another name's changes must show at once.
//! - A node whose name was removed and which has no open handle cannot be reached: OPEN and
//!   GETATTR on it answer ESTALE, and the kernel looks the name up again (once).
//! - If the kernel drops an OPEN/CREATE reply (the caller was killed while waiting), no
//!   RELEASE follows and the node's open count stays up: in hide mode an unlinked file then
//!   stays hidden until unmount, when [`Filesystem::destroy`] removes it. (The reply types do
//!   not yet report whether the kernel took the reply.)
//! - Of the write flags only WRITE_KILL_SUIDGID reaches the filesystem
//!   ([`PathContext::kill_suidgid`]); lock owners and `lseek`, `copy_file_range`, `ioctl`,
//!   `poll`, `statx` are not part of the path API; the kernel falls back for each.
//!
//! [`Filesystem`]: crate::Filesystem
//! [`Filesystem::destroy`]: crate::Filesystem::destroy

mod adapter;
mod fs;
mod hidden;
mod locks;
mod options;
mod table;

pub use adapter::{PathAdapter, PathStats};
pub use fs::{DirEntry, Opened, PathContext, PathFilesystem};
pub use hidden::{is_hidden_name, HIDDEN_PREFIX};
pub use options::{PathConfig, UnlinkMode};
pub use table::PathSnapshot;
