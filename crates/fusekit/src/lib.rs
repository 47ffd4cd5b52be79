//! fusekit: a framework for Linux FUSE filesystems.
//!
//! Implement [`Filesystem`] (one method per FUSE opcode, each with a documented default),
//! mount it with [`Session::mount`], and serve it with [`Session::run`] or
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
mod conn;
mod ext;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod lowlevel;
mod notify;
pub mod op;
pub mod path;
pub mod reply;
mod request;
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
pub use conn::{Negotiated, StatsSnapshot};
pub use lowlevel::{CopyRange, Filesystem, IoctlArgs, KernelConfig};
pub use notify::{Notifier, PollHandle};
pub use reply::{
    OpenOptions, ReplyAttr, ReplyBmap, ReplyCopy, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyIoctl, ReplyLock, ReplyLseek, ReplyOpen,
    ReplyPoll, ReplyStatfs, ReplyStatx, ReplyWrite, ReplyXattr,
};
pub use request::{InterruptToken, Request};
pub use session::{
    default_workers, BackgroundSession, RingFlags, Session, SessionError, StatsHandle, Transport,
    UringStats, DEFAULT_BUSY_POLL,
};
pub use transport::backing::{Backing, BackingId};
