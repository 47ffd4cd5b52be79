//! A session: one mounted filesystem served by N worker threads over /dev/fuse, or by one
//! io_uring queue thread per CPU (plus one /dev/fuse worker for FORGET, INTERRUPT and
//! notifications). It owns the INIT handshake, the choice of transport, the workers' lifecycle
//! and shutdown. Build it with [`Session::mount`], then
//! either [`Session::run`] (blocks until unmounted) or [`Session::spawn`] (returns a
//! [`BackgroundSession`] with `unmount()` and `join()`).

mod dispatch;
mod init;
mod readahead;
pub(crate) mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use fusekit_abi::InitFlags;
use fusekit_mount::{MountError, MountOptions, Unmounter};
use rustix::io::Errno;

use crate::conn::{Connection, Negotiated, StatsSnapshot};
use crate::lowlevel::{Filesystem, DEFAULT_MAX_WRITE};
use crate::notify::Notifier;
use crate::reply::Channel;
use crate::transport::dev::DevFd;
use crate::transport::uring::{self, RunningUring, UringCounters, UringOptions};
pub use crate::transport::uring::{RingFlags, Transport, UringStats};
use worker::{run_worker, BusyPoll, WorkerExit};

/// Bytes a read buffer needs beyond max_write: the header and the largest argument struct.
const BUFFER_HEADROOM: usize = 4096;

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
    extra_flags: InitFlags,
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
        let mut session = Self::from_fd(fs, fd);
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
            extra_flags: InitFlags::empty(),
            transport: Transport::Auto,
            uring: UringOptions::default(),
        }
    }

    /// Chooses the transport (default [`Transport::Auto`]: io_uring when the kernel offers
    /// it, /dev/fuse otherwise).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Ring entries per io_uring queue: requests one CPU's queue holds at once (default 8,
    /// clamped to 1..=1024). Each entry holds two buffers of the negotiated max_write.
    pub fn uring_queue_depth(mut self, n: usize) -> Self {
        self.uring.depth = n.clamp(1, uring::MAX_QUEUE_DEPTH);
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
        let Session {
            fs,
            master,
            conn,
            unmounter,
            mountpoint,
            workers,
            busy_poll,
            extra_flags,
            transport,
            uring: uring_opts,
        } = self;
        let fail = |e: SessionError| {
            if let Some(u) = &unmounter {
                let _ = u.unmount();
            }
            Err(e)
        };
        // Whether to ask for io_uring in INIT: only when a ring can be had at all, because
        // once INIT enables it, requests wait until every queue is registered.
        let mut fallback = None;
        let preflight = match transport {
            Transport::Dev => None,
            Transport::Auto | Transport::Uring => match uring::preflight(&uring_opts) {
                Ok(p) => Some(p),
                Err(reason) if transport == Transport::Uring => {
                    return fail(SessionError::UringUnavailable(reason))
                }
                Err(reason) => {
                    fallback = Some(reason);
                    None
                }
            },
        };
        let init_flags = if preflight.is_some() {
            extra_flags | InitFlags::OVER_IO_URING
        } else {
            extra_flags
        };
        let master_chan = Arc::new(Channel::new(master.clone(), Arc::clone(&conn)));
        let mut buf = vec![0u8; DEFAULT_MAX_WRITE as usize + BUFFER_HEADROOM];
        let negotiated =
            match init::handshake(&*fs, &master, &master_chan, &conn, &mut buf, init_flags) {
                Ok(n) => n,
                Err(e) => return fail(e),
            };
        let mut negotiated = negotiated;
        negotiated.readahead_window = apply_readahead_window(
            &negotiated,
            unmounter.as_ref().and_then(|u| u.connection_id()),
        );
        let buf_len = negotiated.max_write as usize + BUFFER_HEADROOM;
        buf.resize(buf_len, 0);

        let mut running: Option<RunningUring> = None;
        if let Some(pre) = preflight {
            let started = if negotiated.flags.contains(InitFlags::OVER_IO_URING) {
                uring::start(&fs, &master, &conn, &negotiated, pre, &uring_opts)
            } else {
                Err(uring::not_offered_reason())
            };
            match started {
                Ok(r) => running = Some(r),
                Err(reason) if transport == Transport::Uring => {
                    return fail(SessionError::UringUnavailable(reason))
                }
                Err(reason) => {
                    if negotiated.flags.contains(InitFlags::OVER_IO_URING) {
                        if let Err(e) = uring::disable_on_connection(&master) {
                            return fail(SessionError::UringUnavailable(format!(
                                "{reason}; and io_uring could not be switched off for the connection: {e}"
                            )));
                        }
                    }
                    fallback = Some(reason);
                }
            }
        }
        if let Some(reason) = &fallback {
            tracing::info!("{reason}; using /dev/fuse");
        }
        let (transport_in_use, dev_workers) = match &running {
            Some(_) => (Transport::Uring, 1),
            None => (Transport::Dev, workers),
        };

        let mut threads = Vec::with_capacity(dev_workers + 2);
        let mut uring_stats = None;
        if let Some(r) = running {
            threads.extend(r.threads);
            uring_stats = Some(UringHandle {
                counters: r.counters,
                queues: r.queues,
                depth: r.depth,
            });
        }
        // Each worker's descriptor: the master for the first, clones for the others.
        let mut devs = Vec::with_capacity(dev_workers);
        for i in 0..dev_workers {
            if i == 0 {
                devs.push((master.clone(), master_chan.clone()));
                continue;
            }
            let dev = match master.clone_session() {
                Ok(d) => Arc::new(d),
                Err(e) => {
                    // Old kernels (or a fake transport) cannot clone: share the master fd.
                    tracing::debug!(error = %e, "FUSE_DEV_IOC_CLONE failed; workers share one fd");
                    master.clone()
                }
            };
            let chan = Arc::new(Channel::new(dev.clone(), Arc::clone(&conn)));
            devs.push((dev, chan));
        }
        // Busy polling switches a descriptor's blocking mode, which belongs to the open file:
        // only when every worker has its own.
        let shared_fd = devs.iter().skip(1).any(|(d, _)| Arc::ptr_eq(d, &master));
        let busy_poll = (transport_in_use == Transport::Dev && !busy_poll.is_zero() && !shared_fd)
            .then(|| Arc::new(BusyPoll::new(busy_poll)));
        let mut inline = None;
        for (i, (dev, chan)) in devs.into_iter().enumerate() {
            let job = WorkerJob {
                fs: Arc::clone(&fs),
                dev,
                chan,
                buf_len,
                busy_poll: busy_poll.clone(),
            };
            if i == 0 && inline_first {
                inline = Some(job);
                continue;
            }
            let handle = std::thread::Builder::new()
                .name(format!("fusekit-worker-{i}"))
                .spawn(move || job.run())
                .map_err(SessionError::Spawn);
            match handle {
                Ok(h) => threads.push(h),
                Err(e) => {
                    // Queue threads already running stop once the unmount closes the connection.
                    let r = fail(e);
                    for t in threads {
                        let _ = t.join();
                    }
                    return r;
                }
            }
        }
        let background = BackgroundSession {
            threads,
            unmounter,
            mountpoint,
            conn,
            negotiated,
            transport: transport_in_use,
            uring: uring_stats,
            destroy: Some(Box::new(move || fs.destroy())),
        };
        if let Some(job) = inline {
            job.run();
        }
        Ok(background)
    }
}

/// The io_uring counters of a running session.
#[derive(Debug, Clone)]
struct UringHandle {
    counters: Arc<UringCounters>,
    queues: usize,
    depth: usize,
}

impl UringHandle {
    fn snapshot(&self) -> UringStats {
        self.counters.snapshot(self.queues, self.depth)
    }
}

struct WorkerJob<FS: Filesystem> {
    fs: Arc<FS>,
    dev: Arc<DevFd>,
    chan: Arc<Channel>,
    buf_len: usize,
    busy_poll: Option<Arc<BusyPoll>>,
}

impl<FS: Filesystem> WorkerJob<FS> {
    fn run(self) -> WorkerExit {
        let mut buf = vec![0u8; self.buf_len];
        let exit = run_worker(
            &*self.fs,
            &self.dev,
            &self.chan,
            &mut buf,
            self.busy_poll.as_deref(),
        );
        // Wake handlers blocked waiting for interrupts: nothing will answer them now.
        self.chan.conn().interrupts.close();
        exit
    }
}

/// Reads a session's counters from anywhere, for as long as it is kept.
#[derive(Debug, Clone)]
pub struct StatsHandle {
    conn: Arc<Connection>,
    uring: Option<UringHandle>,
}

impl StatsHandle {
    /// A snapshot of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.conn.stats.snapshot()
    }

    /// The io_uring transport's counters (None when the session uses /dev/fuse).
    pub fn uring(&self) -> Option<UringStats> {
        self.uring.as_ref().map(UringHandle::snapshot)
    }
}

/// A session served by background threads.
pub struct BackgroundSession {
    threads: Vec<JoinHandle<WorkerExit>>,
    unmounter: Option<Unmounter>,
    mountpoint: Option<PathBuf>,
    conn: Arc<Connection>,
    negotiated: Negotiated,
    transport: Transport,
    uring: Option<UringHandle>,
    destroy: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for BackgroundSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundSession")
            .field("mountpoint", &self.mountpoint)
            .field("threads", &self.threads.len())
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl BackgroundSession {
    /// The mount point, when the session mounted it.
    pub fn mountpoint(&self) -> Option<&Path> {
        self.mountpoint.as_deref()
    }

    /// What INIT negotiated.
    pub fn negotiated(&self) -> Negotiated {
        self.negotiated
    }

    /// A snapshot of the session's counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.conn.stats.snapshot()
    }

    /// The transport serving requests: [`Transport::Uring`] or [`Transport::Dev`] (never
    /// `Auto`: that is resolved at start).
    pub fn transport_in_use(&self) -> Transport {
        self.transport
    }

    /// The io_uring transport's counters, e.g. how many requests came over the rings (None
    /// when the session uses /dev/fuse).
    pub fn uring_stats(&self) -> Option<UringStats> {
        self.uring.as_ref().map(UringHandle::snapshot)
    }

    /// A notifier for this session.
    pub fn notifier(&self) -> Notifier {
        Notifier::new(Arc::clone(&self.conn))
    }

    /// A handle to the counters that stays valid after the session ended (replies completed
    /// late are still counted).
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            conn: Arc::clone(&self.conn),
            uring: self.uring.clone(),
        }
    }

    /// An unmounter that can be moved to another thread (e.g. a signal handler thread).
    pub fn unmounter(&self) -> Option<Unmounter> {
        self.unmounter.clone()
    }

    /// Unmounts (lazily: files still open keep the filesystem alive until closed). Workers stop
    /// once the kernel closes the connection; [`join`](Self::join) waits for that.
    pub fn unmount(&self) -> Result<(), SessionError> {
        if let Some(u) = &self.unmounter {
            u.unmount()?;
        }
        Ok(())
    }

    /// Aborts the connection: every pending and future request fails with ENOTCONN. Use when
    /// the filesystem is stuck; prefer `unmount`.
    pub fn abort(&self) -> Result<(), SessionError> {
        if let Some(u) = &self.unmounter {
            u.abort()?;
        }
        Ok(())
    }

    /// Waits until every worker has stopped, then calls `Filesystem::destroy` (once).
    pub fn join(mut self) -> Result<(), SessionError> {
        self.join_inner()
    }

    /// Unmounts and waits for the workers.
    pub fn unmount_and_join(self) -> Result<(), SessionError> {
        self.unmount()?;
        self.join()
    }

    fn join_inner(&mut self) -> Result<(), SessionError> {
        let mut result = Ok(());
        for t in self.threads.drain(..) {
            match t.join() {
                Ok(WorkerExit::Unmounted) => {}
                Ok(WorkerExit::DeviceError(e)) => {
                    result = Err(SessionError::Device {
                        during: "serving requests",
                        source: e,
                    })
                }
                Err(_) => result = Err(SessionError::WorkerPanicked),
            }
        }
        self.conn.interrupts.close();
        if let Some(destroy) = self.destroy.take() {
            if !self.conn.destroyed.swap(true, Ordering::AcqRel) {
                destroy();
            }
        }
        result
    }
}

impl Drop for BackgroundSession {
    fn drop(&mut self) {
        if self.destroy.is_none() {
            return;
        }
        let Some(u) = &self.unmounter else {
            // Served from a caller's descriptor: nothing here can make the workers' reads
            // return, so joining could wait forever. Detach them; they end when the caller
            // closes its side (call `join` first to wait for that).
            tracing::debug!("dropping a session without an unmounter; workers detached");
            self.threads.clear();
            return;
        };
        if let Err(e) = u.unmount() {
            tracing::warn!(error = %e, "unmount on drop failed");
        }
        let _ = self.join_inner();
    }
}

/// Applies a readahead window larger than INIT could negotiate (see `readahead`) and returns
/// the window in effect. Not being able to (not root, no connection id) is not an error: the
/// negotiated window stays, said once at debug level.
fn apply_readahead_window(negotiated: &Negotiated, connection_id: Option<u32>) -> u32 {
    let wanted = negotiated.readahead_window;
    if wanted <= negotiated.max_readahead {
        return negotiated.max_readahead;
    }
    let Some(id) = connection_id else {
        tracing::debug!(
            wanted,
            "readahead window stays at {} bytes: the connection id is unknown",
            negotiated.max_readahead
        );
        return negotiated.max_readahead;
    };
    match readahead::raise(id, wanted) {
        Ok(in_effect) => {
            tracing::debug!(wanted, in_effect, "readahead window raised");
            in_effect
        }
        Err(e) => {
            tracing::debug!(
                wanted,
                error = %e,
                "readahead window stays at {} bytes: cannot set it through sysfs",
                negotiated.max_readahead
            );
            negotiated.max_readahead
        }
    }
}
