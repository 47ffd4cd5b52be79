//! Admission: the limit on handler futures in flight, and what a request does when it finds
//! the limit reached — its reading thread waits (backpressure on the kernel), or, when enough
//! threads already wait, it waits as a task on the runtime so that some thread keeps reading
//! /dev/fuse (INTERRUPT and FORGET arrive there). Also the adapter's counters.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Room for one handler future; given back when dropped.
pub(crate) type Permit = OwnedSemaphorePermit;

/// How a request was admitted.
#[derive(Debug)]
pub(crate) enum Ticket {
    /// It has room now.
    Now(Permit),
    /// It waits for room on the runtime.
    Later(Arc<Semaphore>),
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) started: AtomicU64,
    pub(crate) finished_inline: AtomicU64,
    pub(crate) interrupted: AtomicU64,
    pub(crate) expired: AtomicU64,
    pub(crate) limit_reached: AtomicU64,
    pub(crate) worker_waits: AtomicU64,
    pub(crate) queued: AtomicU64,
    pub(crate) peak_in_flight: AtomicUsize,
}

/// The in-flight limit of one adapter.
#[derive(Debug)]
pub(crate) struct Admission {
    limit: usize,
    room: Arc<Semaphore>,
    waiting_allowed: usize,
    waiting_now: AtomicUsize,
    pub(crate) counters: Counters,
}

impl Admission {
    pub(crate) fn new(limit: usize, waiting_allowed: usize) -> Self {
        Admission {
            limit,
            room: Arc::new(Semaphore::new(limit)),
            waiting_allowed,
            waiting_now: AtomicUsize::new(0),
            counters: Counters::default(),
        }
    }

    /// Admits one request, waiting on this thread if the limit is reached and fewer than
    /// `waiting_allowed` threads wait already.
    pub(crate) fn admit(&self) -> Ticket {
        if let Ok(permit) = Arc::clone(&self.room).try_acquire_owned() {
            self.note_in_flight();
            return Ticket::Now(permit);
        }
        self.counters.limit_reached.fetch_add(1, Ordering::Relaxed);
        if self.waiting_now.fetch_add(1, Ordering::AcqRel) < self.waiting_allowed {
            self.counters.worker_waits.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("async in-flight limit reached; this worker waits for room");
            let permit = block_on(Arc::clone(&self.room).acquire_owned());
            self.waiting_now.fetch_sub(1, Ordering::AcqRel);
            // The semaphore is never closed, so acquiring cannot fail; if it ever did, the
            // request still gets served by waiting on the runtime.
            if let Ok(permit) = permit {
                self.note_in_flight();
                return Ticket::Now(permit);
            }
        } else {
            self.waiting_now.fetch_sub(1, Ordering::AcqRel);
        }
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        Ticket::Later(Arc::clone(&self.room))
    }

    /// Records the number in flight after an admission, for the peak.
    pub(crate) fn note_in_flight(&self) {
        let now = self.limit - self.room.available_permits();
        if now > self.counters.peak_in_flight.load(Ordering::Relaxed) {
            self.counters
                .peak_in_flight
                .fetch_max(now, Ordering::Relaxed);
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.limit - self.room.available_permits()
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark()
    }
}

/// Runs `fut` to completion on this thread, parking between polls. For futures that need no
/// runtime (a semaphore acquire): unlike `Handle::block_on` it also works on a thread that is
/// inside a runtime's context.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// A snapshot of an adapter's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AsyncStats {
    /// Requests handed to a handler (FORGET and NOTIFY_REPLY excluded: they run inline).
    pub started: u64,
    /// Of those, answered during the inline first poll (no hand-off to the runtime).
    pub finished_inline: u64,
    /// Futures dropped because the kernel interrupted their request (answered EINTR).
    pub interrupted: u64,
    /// Futures dropped at their deadline.
    pub expired: u64,
    /// Requests that found the in-flight limit reached.
    pub limit_reached: u64,
    /// Of those, how many made their reading thread wait.
    pub worker_waits: u64,
    /// Of those, how many waited as a task on the runtime instead.
    pub queued: u64,
    /// Handler futures in flight now.
    pub in_flight: usize,
    /// The most ever in flight at once.
    pub peak_in_flight: usize,
    /// The configured limit.
    pub max_in_flight: usize,
}

/// Reads an adapter's counters from anywhere.
#[derive(Debug, Clone)]
pub struct AsyncStatsHandle(pub(crate) Arc<Admission>);

impl AsyncStatsHandle {
    /// The counters now.
    pub fn snapshot(&self) -> AsyncStats {
        let a = &self.0;
        let c = &a.counters;
        let get = |x: &AtomicU64| x.load(Ordering::Relaxed);
        AsyncStats {
            started: get(&c.started),
            finished_inline: get(&c.finished_inline),
            interrupted: get(&c.interrupted),
            expired: get(&c.expired),
            limit_reached: get(&c.limit_reached),
            worker_waits: get(&c.worker_waits),
            queued: get(&c.queued),
            in_flight: a.in_flight(),
            peak_in_flight: c.peak_in_flight.load(Ordering::Relaxed),
            max_in_flight: a.limit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn second_waiter_is_queued_while_first_blocks() {
        let adm = Arc::new(Admission::new(1, 1));
        let Ticket::Now(first) = adm.admit() else {
            panic!("room for the first")
        };
        let adm2 = Arc::clone(&adm);
        let blocked = std::thread::spawn(move || matches!(adm2.admit(), Ticket::Now(_)));
        while adm.counters.worker_waits.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(
            matches!(adm.admit(), Ticket::Later(_)),
            "one thread waits already: the next request is queued"
        );
        drop(first);
        assert!(blocked.join().unwrap(), "the waiting thread got the room");
        let s = AsyncStatsHandle(Arc::clone(&adm)).snapshot();
        assert_eq!((s.limit_reached, s.worker_waits, s.queued), (2, 1, 1));
        assert_eq!(s.peak_in_flight, 1);
    }
}
