//! Async filesystems (feature `tokio`): write the inode-level API as `async fn`s returning
//! `Result<_, Errno>`, and serve it on a tokio runtime — one you pass in, or one fusekit
//! builds. Made for handlers that wait on the network.
//!
//! Implement [`AsyncFilesystem`], wrap it in an [`AsyncAdapter`] (which is a
//! [`Filesystem`](crate::Filesystem)) and mount that:
//!
//! ```no_run
//! use std::ffi::OsStr;
//! use std::time::Duration;
//! use fusekit::asyncfs::{AsyncAdapter, AsyncConfig, AsyncFilesystem, RequestContext};
//! use fusekit::{Errno, FileAttr, FileType, Ino, MountOptions, Session, ROOT_ID};
//!
//! struct Remote;
//!
//! impl AsyncFilesystem for Remote {
//!     async fn getattr(
//!         &self,
//!         _ctx: &RequestContext,
//!         ino: Ino,
//!         _fh: Option<u64>,
//!     ) -> Result<(FileAttr, Duration), Errno> {
//!         if ino != ROOT_ID {
//!             return Err(Errno::NOENT);
//!         }
//!         // Wait on the network here; the /dev/fuse worker is not held meanwhile.
//!         tokio::time::sleep(Duration::from_millis(1)).await;
//!         let attr = FileAttr {
//!             ino,
//!             mode: FileType::Directory.mode_bits() | 0o755,
//!             nlink: 2,
//!             ..Default::default()
//!         };
//!         Ok((attr, Duration::from_secs(1)))
//!     }
//!
//!     async fn lookup(&self, _ctx: &RequestContext, _parent: Ino, _name: &OsStr)
//!         -> Result<fusekit::Entry, Errno> {
//!         Err(Errno::NOENT)
//!     }
//! }
//!
//! let config = AsyncConfig::new()
//!     .max_in_flight(256)
//!     .deadline(Duration::from_secs(30));
//! let fs = AsyncAdapter::new(Remote, config)?;
//! Session::mount(fs, "/mnt/remote", &MountOptions::default())?.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where the code runs
//! The thread that read a request (a /dev/fuse worker or an io_uring queue thread) copies
//! what the request borrows (names, write data) into a task, polls it once — with the
//! runtime's context entered — and, if it is not finished, spawns it on the runtime and goes
//! back to reading. It never waits for a handler. A handler that answers at once (a cache
//! hit) is thus answered from the reading thread, with no thread hand-off; one that waits is
//! answered from the runtime thread its future completes on. [`AsyncConfig::poll_inline`]
//! turns the inline first poll off.
//!
//! # Interrupts and deadlines
//! When the kernel sends INTERRUPT for a request (its caller got a signal), the request's
//! future is dropped at the `.await` it waits on and the caller gets EINTR. The session
//! records INTERRUPT itself (it never reaches a `Filesystem`); a future registers a waker
//! with the session's interrupt table only once it has had to wait, so a request that does
//! not wait costs no registration. With [`AsyncConfig::deadline`], a future still running
//! that long after dispatch is dropped too, answered EIO (or
//! [`AsyncConfig::deadline_errno`]) and logged once at warn level with its opcode and the
//! time it waited. When the session ends, futures still waiting are dropped (answered EINTR
//! to a connection that is gone).
//!
//! # The in-flight limit
//! At most [`AsyncConfig::max_in_flight`] handler futures exist at once. A request that
//! finds the limit reached makes its reading thread wait for room — the kernel then keeps
//! further requests queued on its side, callers wait in their syscalls, and no memory grows
//! here — as long as fewer than [`AsyncConfig::waiting_workers`] threads wait already.
//! Beyond that it waits for room as a task on the runtime (holding only its copied
//! arguments, not a started future), so some thread keeps reading /dev/fuse: INTERRUPT
//! and FORGET arrive there, and so may the request that lets a waiting handler finish (the
//! unlock a SETLKW waits for). Such a queued request can still be interrupted or expire.
//! Over io_uring, INTERRUPT and FORGET come to a /dev/fuse thread of their own that never
//! waits: FORGET takes no room and INTERRUPT is handled by the session.
//!
//! # Deadlock hazards
//! - Those of the sync API (see [`lowlevel`](crate::lowlevel)): a handler must not access its
//!   own mount point, and a notification about the node being served may wait on kernel locks
//!   the request holds — send it from another task.
//! - A handler must not block its thread (a blocking syscall, `std::thread::sleep`, a long
//!   wait for a `std` lock): it would stall a runtime thread or, before its first `.await`,
//!   the thread that reads requests.
//! - Room under the limit is held for a future's whole life. If every room is taken by
//!   handlers that wait for another request of the same mount (a SETLKW waiting for the
//!   unlock), that request can only run when one of them gives up: set a deadline, or a limit
//!   above the number of such waiters.
//! - A request waiting for room still holds the kernel locks its syscall took (a LOOKUP holds
//!   its directory's lock); an entry invalidation in that directory waits until it is served.
//!
//! # INIT, DESTROY, FORGET
//! - `init` is async but runs to completion (on the runtime) before the session serves
//!   anything: the thread that starts the session blocks on it.
//! - `destroy` is async and the thread that ends the session blocks on it; futures still in
//!   flight are not waited for.
//! - `forget`, `batch_forget` and `retrieve_reply` are synchronous and fire-and-forget: they
//!   have no reply, run on the reading thread with the runtime entered (so they may
//!   `tokio::spawn`), take no room under the limit, and must not block.

mod adapter;
mod admit;
mod answer;
mod config;
mod context;
mod dir;
mod filesystem;
mod ops;
mod task;

pub use adapter::AsyncAdapter;
pub use admit::{AsyncStats, AsyncStatsHandle};
pub use config::{AsyncConfig, AsyncError, DEFAULT_MAX_IN_FLIGHT};
pub use context::RequestContext;
pub use dir::{DirBuffer, DirPlusBuffer};
pub use filesystem::{AsyncFilesystem, Created, IoctlRequest, Opened};
/// The tokio crate this module runs on (features `rt`, `rt-multi-thread`, `sync`, `time`),
/// re-exported so handlers can use its timers and tasks without a second dependency line.
pub use tokio;
