//! Busy polling of /dev/fuse (`Session::busy_poll`): after serving a request, one worker at a
//! time keeps asking for the next one without sleeping, for a short budget. A worker's side of
//! it is a [`Poller`], which switches its descriptor between blocking and non-blocking reads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};

use super::DevFd;

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
pub(super) struct Poller<'a> {
    dev: &'a DevFd,
    shared: Option<&'a BusyPoll>,
    until: Option<Instant>,
    pub(super) nonblocking: bool,
}

impl<'a> Poller<'a> {
    pub(super) fn new(dev: &'a DevFd, shared: Option<&'a BusyPoll>) -> Self {
        Poller {
            dev,
            shared,
            until: None,
            nonblocking: false,
        }
    }

    /// After a request was served: take the polling role if it is free.
    pub(super) fn after_request(&mut self) {
        let Some(shared) = self.shared else { return };
        if self.until.is_none() && shared.try_take() {
            self.until = Some(Instant::now() + shared.budget);
            self.set_nonblocking(true);
        }
    }

    /// A request was read: hand the polling role to whoever finishes next.
    pub(super) fn got_request(&mut self) {
        if self.until.take().is_some() {
            if let Some(shared) = self.shared {
                shared.give_back();
            }
        }
    }

    /// The non-blocking read found nothing: yield and let the caller read again while the
    /// budget lasts; after it, switch back to blocking reads.
    pub(super) fn nothing_yet(&mut self) {
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
