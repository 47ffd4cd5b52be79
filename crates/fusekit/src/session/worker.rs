//! One worker: read a request into its own reused buffer, decode, dispatch, repeat — until the
//! device reports the filesystem unmounted. Malformed requests get an error reply and a warning;
//! a panicking handler is caught (its dropped reply answers EIO) and the worker goes on.
//! Optionally one worker at a time polls for the next request for a short while before it
//! sleeps (see [`BusyPoll`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fusekit_abi as abi;
use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;
use zerocopy::FromBytes;

use super::dispatch::{dispatch, expects_no_reply};
use crate::conn::Stats;
use crate::lowlevel::Filesystem;
use crate::op;
use crate::reply::{Channel, ReplyInner};
use crate::transport::dev::DevFd;

/// Why a worker stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkerExit {
    /// The filesystem was unmounted (ENODEV) or the connection aborted.
    Unmounted,
    /// The device failed in an unexpected way.
    DeviceError(Errno),
}

/// Busy polling shared by a session's /dev/fuse workers: after serving a request, one worker
/// at a time (the one holding `token`) reads without blocking for up to `budget` before it
/// goes to sleep in a blocking read. A request arriving in that window is taken at once by a
/// running thread, so the round trip does not wait for a sleeping one to be woken (the kernel
/// still wakes a sleeping worker, but off the caller's path); that wake-up is most of a FUSE
/// round trip's cost where idle CPUs halt at once (virtual machines; docs/kernel-notes.md).
#[derive(Debug)]
pub(crate) struct BusyPoll {
    budget: Duration,
    token: AtomicBool,
}

impl BusyPoll {
    pub(crate) fn new(budget: Duration) -> Self {
        BusyPoll {
            budget,
            token: AtomicBool::new(false),
        }
    }

    /// Takes the polling role, if polling is on and no other worker has it.
    fn try_take(&self) -> bool {
        !self.budget.is_zero()
            && self
                .token
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    fn give_back(&self) {
        self.token.store(false, Ordering::Release);
    }
}

/// A worker's side of [`BusyPoll`]: whether it polls now, until when, and whether its
/// descriptor is in non-blocking mode. Gives the polling role back when dropped.
struct Poller<'a> {
    dev: &'a DevFd,
    shared: Option<&'a BusyPoll>,
    until: Option<Instant>,
    nonblocking: bool,
}

impl Poller<'_> {
    /// After a request was served: take the polling role if it is free.
    fn after_request(&mut self) {
        let Some(shared) = self.shared else { return };
        if self.until.is_none() && shared.try_take() {
            self.until = Some(Instant::now() + shared.budget);
            self.set_nonblocking(true);
        }
    }

    /// A request was read: hand the polling role to whoever finishes next.
    fn got_request(&mut self) {
        if self.until.take().is_some() {
            if let Some(shared) = self.shared {
                shared.give_back();
            }
        }
    }

    /// The non-blocking read found nothing: yield and let the caller read again while the
    /// budget lasts; after it, switch back to blocking reads.
    fn nothing_yet(&mut self) {
        match self.until {
            Some(t) if Instant::now() < t => {
                // Yield rather than spin: a runnable caller on this CPU gets it at once.
                std::thread::yield_now();
            }
            _ => {
                self.got_request();
                self.set_nonblocking(false);
                if self.nonblocking {
                    // Blocking mode could not be restored: wait for a request with poll(2)
                    // rather than spin.
                    let mut fds = [PollFd::new(self.dev, PollFlags::IN)];
                    let _ = rustix::event::poll(&mut fds, None);
                }
            }
        }
    }

    fn set_nonblocking(&mut self, on: bool) {
        if self.nonblocking == on {
            return;
        }
        match self.dev.set_nonblocking(on) {
            Ok(()) => self.nonblocking = on,
            Err(e) => {
                tracing::warn!(error = %e, "cannot switch /dev/fuse blocking mode; polling off");
                self.got_request();
                self.shared = None;
            }
        }
    }
}

impl Drop for Poller<'_> {
    fn drop(&mut self) {
        // A worker that stops (device error) must not keep the others from polling.
        self.got_request();
    }
}

/// Serves requests from `dev` until the filesystem is unmounted. `busy_poll` only when no
/// other worker reads `dev`'s open file (the blocking mode belongs to it).
pub(crate) fn run_worker<FS: Filesystem>(
    fs: &FS,
    dev: &DevFd,
    chan: &Arc<Channel>,
    buf: &mut [u8],
    busy_poll: Option<&BusyPoll>,
) -> WorkerExit {
    let conn = chan.conn();
    let mut poller = Poller {
        dev,
        shared: busy_poll,
        until: None,
        nonblocking: false,
    };
    loop {
        let n = match dev.read(buf) {
            Ok(0) => return WorkerExit::Unmounted,
            Ok(n) => {
                if poller.nonblocking {
                    Stats::bump(&conn.stats.polled_requests);
                }
                poller.got_request();
                n
            }
            Err(Errno::AGAIN) if poller.nonblocking => {
                poller.nothing_yet();
                continue;
            }
            // ENOENT: the request was interrupted/aborted between poll and read.
            Err(Errno::INTR | Errno::NOENT) => continue,
            // EAGAIN on a blocking descriptor: someone else made it non-blocking; do not spin.
            Err(Errno::AGAIN) => {
                std::thread::yield_now();
                continue;
            }
            Err(Errno::NODEV | Errno::CONNABORTED) => return WorkerExit::Unmounted,
            Err(e) => {
                tracing::error!(error = %e, "reading /dev/fuse failed; worker stops");
                return WorkerExit::DeviceError(e);
            }
        };
        Stats::bump(&conn.stats.requests);
        serve_one(fs, chan, &buf[..n]);
        poller.after_request();
    }
}

/// Decodes and serves one request buffer. Shared by every transport.
pub(crate) fn serve_one<FS: Filesystem>(fs: &FS, chan: &Arc<Channel>, bytes: &[u8]) {
    let conn = chan.conn();
    match op::decode(bytes, &conn.decode_context()) {
        Ok(decoded) => {
            conn.release_fence.request_read(&decoded.header);
            let span = tracing::debug_span!(
                "request",
                unique = decoded.header.unique,
                opcode = decoded.header.opcode,
                nodeid = decoded.header.nodeid
            );
            let _entered = span.enter();
            tracing::trace!(op = ?decoded.op, "dispatch");
            if catch_unwind(AssertUnwindSafe(|| dispatch(fs, chan, &decoded))).is_err() {
                tracing::error!(
                    unique = decoded.header.unique,
                    opcode = decoded.header.opcode,
                    "filesystem handler panicked; request answered EIO, worker continues"
                );
            }
        }
        Err(e) => {
            Stats::bump(&conn.stats.decode_errors);
            match abi::InHeader::read_from_prefix(bytes) {
                Ok((header, _)) => {
                    conn.release_fence.request_read(&header);
                    tracing::warn!(unique = header.unique, opcode = header.opcode, error = %e, "malformed request");
                    if !expects_no_reply(header.opcode) {
                        ReplyInner::new(header.unique, header.opcode, Arc::clone(chan))
                            .error(e.errno());
                    }
                }
                Err(_) => tracing::warn!(error = %e, "malformed request without a header; dropped"),
            }
        }
    }
}
