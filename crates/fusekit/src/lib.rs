//! fusekit: a framework for Linux FUSE filesystems.
//!
//! # Where to start
//!
//! - **Paths** — most filesystems (an archive browser, an object-store mount, a path-based
//!   passthrough) are easiest to write with the path-level API in [`path`]: implement
//!   [`path::PathFilesystem`] with plain `Result`-returning methods that take paths, and mount
//!   it through [`path::PathAdapter`], which keeps the node table for you.
//! - **Inodes** — for full control (your own node ids, lookup counts, kernel passthrough,
//!   notifications), implement [`Filesystem`]: one method per FUSE opcode, each with a
//!   documented default.
//! - **Examples to copy**, in the repository's `examples/` directory (package
//!   `fusekit-examples`): `hello.rs`, a read-only filesystem with one file, and `pathfs.rs`, a
//!   passthrough written with the path API; `foreground.rs` shows how to serve in the
//!   foreground and unmount cleanly on Ctrl-C. Run them with
//!   `cargo run -p fusekit-examples --example hello -- MOUNTPOINT` or
//!   `cargo run -p fusekit-examples --example pathfs -- SOURCE MOUNTPOINT`.
//! - **Full-size models**: `fusekit-memfs` (`crates/memfs`, the in-memory reference for
//!   POSIX semantics) and `fusekit-passthrough` (`crates/passthrough`, a directory mirror on
//!   the inode API with kernel passthrough for I/O).
//!
//! Either way, mount with [`Session::mount`] and serve with [`Session::run`] or
//! [`Session::spawn`]. Replies are typed handles that may be completed later from any thread.
//!
//! ```no_run
//! use fusekit::{Filesystem, MountOptions, Session};
//! struct Empty;
//! impl Filesystem for Empty {}
//! let session = Session::mount(Empty, "/mnt/empty", &MountOptions::default())?;
//! session.run()?;
//! # Ok::<(), fusekit::SessionError>(())
//! ```
#![forbid(clippy::todo, clippy::unimplemented)]
#![warn(missing_docs)]

#[cfg(feature = "tokio")]
pub mod asyncfs;
mod attr;
mod backing;
mod conn;
mod ext;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod lowlevel;
mod notify;
pub mod op;
pub mod path;
pub mod reply;
mod request;
mod serve;
mod session;
mod transport;

pub use fusekit_abi as abi;
/// Mounting and unmounting (re-exported from `fusekit-mount`).
pub use fusekit_mount as mount;
pub use fusekit_mount::{MountError, MountOptions};
pub use rustix::io::Errno;

pub use attr::{
    libc_mode, Entry, FileAttr, FileType, Ino, Lock, SetAttr, Statfs, TimeOrNow, Timestamp, ROOT_ID,
};
pub use backing::{Backing, BackingId};
pub use conn::{Negotiated, RequestCounts, StatsSnapshot};
pub use lowlevel::{AtimePolicy, CopyRange, Filesystem, IoctlArgs, KernelConfig};
pub use notify::{Notifier, PollHandle};
pub use reply::{
    OpenOptions, ReplyAttr, ReplyBmap, ReplyCopy, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyIoctl, ReplyLock, ReplyLseek, ReplyOpen,
    ReplyPoll, ReplyStatfs, ReplyStatx, ReplyWrite, ReplyXattr, Xattr,
};
pub use request::{InterruptToken, Request};
pub use session::{
    default_workers, BackgroundSession, RingFlags, Session, SessionError, StatsHandle, Transport,
    UringStats, DEFAULT_BUSY_POLL,
};
