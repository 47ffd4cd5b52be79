//! A session served by background threads ([`BackgroundSession`]): unmounting, aborting,
//! joining (then `Filesystem::destroy`, once), and reading the counters of the connection and
//! of each transport, also after the session ended ([`StatsHandle`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use fusekit_mount::Unmounter;

use super::{SessionError, Transport};
use crate::conn::{Connection, Negotiated, StatsSnapshot};
use crate::notify::Notifier;
use crate::transport::dev::DevCounters;
use crate::transport::uring::{UringCounters, UringStats};
use crate::transport::TransportExit;

/// The io_uring counters of a running session.
#[derive(Debug, Clone)]
pub(super) struct UringHandle {
    pub(super) counters: Arc<UringCounters>,
    pub(super) queues: usize,
    pub(super) depth: usize,
}

/// Every counter of a session: the connection's, and each transport's.
#[derive(Debug, Clone)]
pub(super) struct Counters {
    pub(super) conn: Arc<Connection>,
    pub(super) dev: Arc<DevCounters>,
    pub(super) uring: Option<UringHandle>,
}

impl Counters {
    fn snapshot(&self) -> StatsSnapshot {
        let mut s = self.conn.stats.snapshot();
        s.polled_requests = self.dev.polled_requests.load(Ordering::Relaxed);
        s
    }
}

impl UringHandle {
    fn snapshot(&self) -> UringStats {
        self.counters.snapshot(self.queues, self.depth)
    }
}

/// Reads a session's counters from anywhere, for as long as it is kept.
#[derive(Debug, Clone)]
pub struct StatsHandle {
    counters: Counters,
}

impl StatsHandle {
    /// A snapshot of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.counters.snapshot()
    }

    /// The io_uring transport's counters (None when the session uses /dev/fuse).
    pub fn uring(&self) -> Option<UringStats> {
        self.counters.uring.as_ref().map(UringHandle::snapshot)
    }
}

/// A session served by background threads.
pub struct BackgroundSession {
    pub(super) threads: Vec<JoinHandle<TransportExit>>,
    pub(super) unmounter: Option<Unmounter>,
    pub(super) mountpoint: Option<PathBuf>,
    pub(super) counters: Counters,
    pub(super) negotiated: Negotiated,
    pub(super) transport: Transport,
    pub(super) destroy: Option<Box<dyn FnOnce() + Send>>,
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
        self.counters.snapshot()
    }

    /// The transport serving requests: [`Transport::Uring`] or [`Transport::Dev`] (never
    /// `Auto`: that is resolved at start).
    pub fn transport_in_use(&self) -> Transport {
        self.transport
    }

    /// The io_uring transport's counters, e.g. how many requests came over the rings (None
    /// when the session uses /dev/fuse).
    pub fn uring_stats(&self) -> Option<UringStats> {
        self.counters.uring.as_ref().map(UringHandle::snapshot)
    }

    /// A notifier for this session.
    pub fn notifier(&self) -> Notifier {
        Notifier::new(Arc::clone(&self.counters.conn))
    }

    /// A handle to the counters that stays valid after the session ended (replies completed
    /// late are still counted).
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            counters: self.counters.clone(),
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
                Ok(TransportExit::Unmounted) => {}
                Ok(TransportExit::DeviceError(e)) => {
                    result = Err(SessionError::Device {
                        during: "serving requests",
                        source: e,
                    })
                }
                Err(_) => result = Err(SessionError::WorkerPanicked),
            }
        }
        let conn = &self.counters.conn;
        conn.interrupts.close();
        if let Some(destroy) = self.destroy.take() {
            if !conn.destroyed.swap(true, Ordering::AcqRel) {
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
