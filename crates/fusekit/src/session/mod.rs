//! A session: one mounted filesystem served by N worker threads over /dev/fuse, or by one
//! io_uring queue thread per CPU (plus one /dev/fuse worker for FORGET, INTERRUPT and
//! notifications). Build it with [`Session::mount`] and the builder methods here, then either
//! [`Session::run`] (blocks until unmounted) or [`Session::spawn`] (returns a
//! [`BackgroundSession`] with `unmount()` and `join()`).
//!
//! Shape: this module is the builder and the errors; `start` chooses and starts the transport
//! (the one place transports are registered); `init` is the INIT handshake; `readahead` the
//! window beyond INIT; `background` the running session and its counters;
//! `transport_choice` the public [`Transport`] choice.

mod background;
mod init;
mod readahead;
mod start;
mod transport_choice;
#[cfg(test)]
mod uring_start_tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fusekit_mount::{MountError, MountOptions, Unmounter};
use rustix::io::Errno;

use crate::conn::Connection;
use crate::lowlevel::{AtimePolicy, Filesystem};
use crate::notify::Notifier;
use crate::transport::dev::DevFd;
use crate::transport::uring::{self, UringOptions};
pub use crate::transport::uring::{RingFlags, UringStats};
pub use background::{BackgroundSession, StatsHandle};
pub use transport_choice::Transport;

/// Why a session could not start or ended badly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Mounting failed.
    #[error(transparent)]
    Mount(#[from] MountError),
    /// The device failed.
    #[error("/dev/fuse failed while {during}: {source}")]
    Device {
        /// What the session was doing.
        during: &'static str,
        /// The error.
        source: Errno,
    },
    /// The kernel speaks a protocol this library does not.
    #[error("kernel FUSE protocol {major}.{minor} is not supported (need 7.12 or later)")]
    Protocol {
        /// Kernel major.
        major: u32,
        /// Kernel minor.
        minor: u32,
    },
    /// The filesystem's `init` returned an error.
    #[error("the filesystem refused to initialize: {0}")]
    InitRefused(Errno),
    /// A worker thread could not be started.
    #[error("could not start a worker thread: {0}")]
    Spawn(std::io::Error),
    /// A worker thread panicked outside any handler.
    #[error("a worker thread panicked")]
    WorkerPanicked,
    /// [`Transport::Uring`] was required but cannot be had; the text says why (module
    /// parameter off, kernel too old, ring creation or REGISTER refused). The mount was undone.
    #[error("{0}")]
    UringUnavailable(String),
}

/// The default of [`Session::busy_poll`]: off. Measured on a 2-vCPU VM (docs/kernel-notes.md,
/// "busy polling"), 50 µs lifted single-threaded round trips 1.5–2.5x but cost up to half the
/// throughput when two callers kept both CPUs busy, so it is for the filesystem to choose.
pub const DEFAULT_BUSY_POLL: Duration = Duration::ZERO;

/// Default number of /dev/fuse worker threads: one per CPU, at least 2, at most 16.
///
/// Why not more: the kernel hands each /dev/fuse request to the worker that has waited longest,
/// so with more workers than CPUs every request wakes a cold thread on another CPU. On the
/// virtual machines this was measured on (docs/kernel-notes.md, "worker count"), 4 workers on
/// 2 CPUs served the 2-thread `parallel-metadata` benchmark at 7.6k files/s, 2 workers at
/// 12.7k (single-threaded `metadata`: equal). At least
/// 2 so that one blocked handler never stops the session from reading INTERRUPT. Filesystems
/// whose handlers block (network, long locks) should raise [`Session::workers`] or, better,
/// complete their replies later from their own threads.
pub fn default_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    cpus.clamp(2, 16)
}

/// A mounted filesystem that is not being served yet.
pub struct Session<FS: Filesystem> {
    fs: Arc<FS>,
    master: Arc<DevFd>,
    conn: Arc<Connection>,
    unmounter: Option<Unmounter>,
    mountpoint: Option<PathBuf>,
    workers: usize,
    busy_poll: Duration,
    transport: Transport,
    uring: UringOptions,
}

impl<FS: Filesystem> std::fmt::Debug for Session<FS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("mountpoint", &self.mountpoint)
            .field("workers", &self.workers)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl<FS: Filesystem> Session<FS> {
    /// Mounts `fs` at `mountpoint`. The kernel queues INIT at once; it is answered when the
    /// session starts (`run` or `spawn`).
    pub fn mount(
        fs: FS,
        mountpoint: impl AsRef<Path>,
        options: &MountOptions,
    ) -> Result<Self, SessionError> {
        let mount = fusekit_mount::mount(mountpoint.as_ref(), options)?;
        let path = mount.mountpoint().to_path_buf();
        let (fd, unmounter) = mount.into_parts();
        let mut session = Self::from_fd(fs, fd).atime_policy(AtimePolicy::from_options(
            options.extra.iter().map(String::as_str),
        ));
        session.unmounter = Some(unmounter);
        session.mountpoint = Some(path);
        Ok(session)
    }

    /// Serves an already-open FUSE descriptor (mounted elsewhere, or a test transport that
    /// behaves like /dev/fuse). Unmounting is then the caller's business.
    pub fn from_fd(fs: FS, fd: std::os::fd::OwnedFd) -> Self {
        let master = Arc::new(DevFd::new(fd));
        let conn = Arc::new(Connection::new(master.clone()));
        Session {
            fs: Arc::new(fs),
            master,
            conn,
            unmounter: None,
            mountpoint: None,
            workers: default_workers(),
            busy_poll: DEFAULT_BUSY_POLL,
            transport: Transport::Auto,
            uring: UringOptions::default(),
        }
    }

    /// The mount's atime policy handed to `Filesystem::init`
    /// ([`KernelConfig::atime_policy`](crate::KernelConfig::atime_policy)). [`Session::mount`]
    /// sets it from the mount options; set it for a descriptor mounted elsewhere.
    pub fn atime_policy(self, policy: AtimePolicy) -> Self {
        self.conn.set_atime(policy);
        self
    }

    /// Chooses the transport (default [`Transport::Auto`]: io_uring when the kernel offers
    /// it, /dev/fuse otherwise).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Ring entries per io_uring queue: requests one CPU's queue holds at once (clamped to
    /// 1..=1024). By default 8, or, for a filesystem that said in INIT how many requests it
    /// serves at once
    /// ([`KernelConfig::set_requests_in_flight`](crate::KernelConfig::set_requests_in_flight),
    /// as every `asyncfs` filesystem does), room for twice each queue's share of them, at
    /// most 32. Each entry holds two buffers of the negotiated max_write (allocated zeroed:
    /// their pages count towards memory once a request that large has used them).
    pub fn uring_queue_depth(mut self, n: usize) -> Self {
        self.uring.depth = Some(n.clamp(1, uring::MAX_QUEUE_DEPTH));
        self
    }

    /// io_uring setup flags of the queue rings (default [`RingFlags::default_flags`]).
    pub fn uring_ring_flags(mut self, flags: RingFlags) -> Self {
        self.uring.flags = flags;
        self
    }

    /// Tests only: the io_uring options, for fault injection.
    #[cfg(test)]
    pub(crate) fn uring_options_mut(&mut self) -> &mut UringOptions {
        &mut self.uring
    }

    /// Whether each io_uring queue thread is pinned to its CPU (default: yes).
    pub fn uring_pin_threads(mut self, pin: bool) -> Self {
        self.uring.pin = pin;
        self
    }

    /// Sets the number of /dev/fuse worker threads (at least 1). Over io_uring one /dev/fuse
    /// worker serves FORGET and INTERRUPT; the queue threads serve the rest.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// How long a /dev/fuse worker keeps asking for the next request without sleeping after
    /// it served one (one worker at a time; zero: never). A request that arrives meanwhile is
    /// taken at once by a running thread: the round trip no longer waits for a sleeping
    /// thread to be woken, which is most of its cost where idle CPUs halt at once (virtual
    /// machines). Costs up to this much CPU time after each burst of requests, and
    /// throughput when the callers already keep every CPU busy. Not used over io_uring, nor
    /// when the workers share one descriptor (FUSE_DEV_IOC_CLONE unavailable).
    /// Default: [`DEFAULT_BUSY_POLL`].
    pub fn busy_poll(mut self, budget: Duration) -> Self {
        self.busy_poll = budget;
        self
    }

    /// A notifier for this session (usable once the session runs).
    pub fn notifier(&self) -> Notifier {
        Notifier::new(Arc::clone(&self.conn))
    }

    /// The mount point, when this session mounted it.
    pub fn mountpoint(&self) -> Option<&Path> {
        self.mountpoint.as_deref()
    }

    /// Serves requests on the calling thread (plus `workers - 1` threads) until the filesystem
    /// is unmounted. Unmount with `fusekit unmount`, `umount`, or an `Unmounter`.
    pub fn run(self) -> Result<(), SessionError> {
        self.spawn_inner(true)?.join()
    }

    /// Answers INIT, then serves requests on background threads. When this returns, the mount
    /// is ready for use.
    pub fn spawn(self) -> Result<BackgroundSession, SessionError> {
        self.spawn_inner(false)
    }

    fn spawn_inner(self, inline_first: bool) -> Result<BackgroundSession, SessionError> {
        start::start(self, inline_first)
    }
}
