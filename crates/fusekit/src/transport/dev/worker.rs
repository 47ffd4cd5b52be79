//! One /dev/fuse worker: read a request into its own reused buffer, hand it to the serve loop
//! (`FrameHandler::handle`), repeat — until the device reports the filesystem unmounted.
//! Optionally the worker polls for the next request for a short while before it sleeps (see
//! [`BusyPoll`]).

use std::sync::atomic::{AtomicU64, Ordering};

use rustix::io::Errno;

use super::busy_poll::{BusyPoll, Poller};
use super::DevFd;
use crate::transport::{FrameHandler, TransportExit};

/// Counters of the /dev/fuse transport.
#[derive(Debug, Default)]
pub(crate) struct DevCounters {
    /// Requests a worker read while busy polling, without sleeping.
    pub(crate) polled_requests: AtomicU64,
}

/// Serves requests from `dev` until the filesystem is unmounted. `busy_poll` only when no
/// other worker reads `dev`'s open file (the blocking mode belongs to it).
pub(crate) fn run_worker<H: FrameHandler>(
    handler: &H,
    dev: &DevFd,
    path: &H::ReplyPath,
    buf: &mut [u8],
    busy_poll: Option<&BusyPoll>,
    counters: &DevCounters,
) -> TransportExit {
    let mut poller = Poller::new(dev, busy_poll);
    loop {
        let n = match dev.read(buf) {
            Ok(0) => return TransportExit::Unmounted,
            Ok(n) => {
                if poller.nonblocking {
                    counters.polled_requests.fetch_add(1, Ordering::Relaxed);
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
            Err(Errno::NODEV | Errno::CONNABORTED) => return TransportExit::Unmounted,
            Err(e) => {
                tracing::error!(error = %e, "reading /dev/fuse failed; worker stops");
                return TransportExit::DeviceError(e);
            }
        };
        handler.handle(&buf[..n], path);
        poller.after_request();
    }
}
