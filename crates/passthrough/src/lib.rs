//! fusekit-passthrough: a filesystem that mirrors a source directory through a FUSE mount,
//! on fusekit's inode-level API, with kernel passthrough for file I/O where the kernel allows
//! it.
//!
//! ```no_run
//! use fusekit::{MountOptions, Session};
//! use fusekit_passthrough::{Passthrough, PassthroughOptions};
//! let fs = Passthrough::new("/srv/data".as_ref(), PassthroughOptions::default())?;
//! let own = fs.own_mount();
//! let opts = MountOptions::new().default_permissions(true).subtype("passthrough");
//! let session = Session::mount(fs, "/mnt/data", &opts)?;
//! // Before serving: lookups that would reach this mount itself answer EDEADLK.
//! own.set_from_mountpoint(session.mountpoint().expect("mounted by the session"))?;
//! session.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Keep the mount point outside the source: a mount inside its own source would contain
//! itself. [`OwnMount`] makes the daemon refuse (EDEADLK) any lookup that reaches its own
//! mount, e.g. through a bind mount placed in the source later, instead of deadlocking.
//!
//! # How it works
//! - Every source file the kernel knows is an inode keyed by `(st_dev, st_ino)` with an
//!   `O_PATH` descriptor; all work is `*at()` calls relative to those descriptors (reopening
//!   through `/proc/self/fd/N` when a real descriptor is needed). Where the source
//!   filesystem makes file handles (and the daemon may open them: CAP_DAC_READ_SEARCH), the
//!   descriptors are a bounded cache reopened from the handles, so directories of any size
//!   fit the open-file limit (see [`PassthroughOptions::inode_fd_budget`]); a handle whose
//!   file was deleted answers ESTALE, never another file that reused the inode number. Names from the kernel are
//!   single components (`/`, `.` and `..` are refused) and symlinks are never followed by the
//!   daemon, so it never touches anything outside the source tree. (Symlinks *through the
//!   mount* are resolved by the calling process's kernel, in its own namespace, exactly as
//!   they would be in the source directory.)
//! - Open files are real descriptors, so open-unlink-close, fstat after unlink, O_TMPFILE and
//!   `linkat` of it behave as on the source filesystem.
//! - As root, create-like requests run with the caller's uid, gid and groups.
//! - With kernel passthrough (root, Linux 6.9+, no writeback cache) the kernel reads and
//!   writes the source files itself: no READ or WRITE request reaches the daemon. When the
//!   kernel refuses, the daemon says so once and serves them itself.
//! - Locks (POSIX, OFD, flock) are taken on the source files, so they also conflict with
//!   programs working in the source directory.
//!
//! See [`PassthroughOptions`] for the cache settings and what they mean for changes made
//! directly in the source directory.
#![forbid(clippy::todo, clippy::unimplemented)]
#![warn(missing_docs)]

mod attr;
mod backing;
mod creds;
mod dir;
mod error;
mod fdstore;
mod fs;
mod handles;
mod inode;
mod io;
mod killpriv;
mod locks;
mod name;
mod namespace;
mod options;
mod own_mount;
mod stats;
mod sys;
mod xattr;

pub use error::Error;
pub use fs::Passthrough;
pub use name::check_name;
pub use options::PassthroughOptions;
pub use own_mount::{OwnMount, OwnMountError};
pub use stats::{PassthroughStats, StatsHandle};

#[cfg(test)]
mod fdstore_tests;
#[cfg(test)]
mod tests;
