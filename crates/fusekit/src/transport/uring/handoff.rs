//! Handing committed-reply work to a queue's owner thread. Any thread that finishes a reply
//! pushes the entry's index here; only the owner drains the list and submits the
//! COMMIT_AND_FETCH. A foreign thread then wakes the owner by writing an eventfd that the owner
//! keeps a read armed for in its own ring — it never enters the ring itself (rule 6).
//!
//! Lost wake-ups cannot happen: a foreign thread pushes under the lock and then sets
//! `wake_pending`; it writes the eventfd only when it flipped the flag from false. The owner,
//! woken, first consumes the eventfd counter, *then* clears the flag, then drains. (Clearing
//! before consuming loses wake-ups: a write made in between is consumed while the flag it set
//! stays up, so no later push writes again and the owner sleeps with replies queued.) With
//! this order a push the drain misses must have seen the flag cleared, so it writes the
//! eventfd again and the armed poll fires.

use std::cell::Cell;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rustix::event::{eventfd, EventfdFlags};
use rustix::io::Errno;

thread_local! {
    /// The handoff of the queue whose owner is the current thread (null elsewhere).
    static OWNED: Cell<*const Handoff> = const { Cell::new(core::ptr::null()) };
}

#[derive(Debug, Default)]
struct Ready {
    entries: Vec<u16>,
    closed: bool,
}

/// One queue's list of entries whose reply is written and waits to be committed.
#[derive(Debug)]
pub(crate) struct Handoff {
    ready: Mutex<Ready>,
    wake_pending: AtomicBool,
    eventfd: OwnedFd,
}

/// What a push did, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Pushed by the owner itself: it drains after the handler returns.
    Local,
    /// Pushed by another thread; the owner was already due to wake.
    Foreign,
    /// Pushed by another thread, which wrote the eventfd.
    ForeignWoke,
}

impl Handoff {
    pub(crate) fn new(depth: usize) -> Result<Self, Errno> {
        Ok(Handoff {
            ready: Mutex::new(Ready {
                entries: Vec::with_capacity(depth),
                closed: false,
            }),
            wake_pending: AtomicBool::new(false),
            eventfd: eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?,
        })
    }

    /// Marks the calling thread as this queue's owner (called once, by the owner).
    pub(crate) fn claim_for_current_thread(&self) {
        OWNED.with(|c| c.set(self as *const Handoff));
    }

    pub(crate) fn is_owner_thread(&self) -> bool {
        OWNED.with(|c| core::ptr::eq(c.get(), self))
    }

    pub(crate) fn eventfd(&self) -> BorrowedFd<'_> {
        self.eventfd.as_fd()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ready> {
        // A panic while holding this lock cannot leave the list inconsistent (push/swap only).
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues entry `index` for commit. ENODEV once the queue has shut down.
    pub(crate) fn push(&self, index: u16) -> Result<Pushed, Errno> {
        {
            let mut ready = self.lock();
            if ready.closed {
                return Err(Errno::NODEV);
            }
            ready.entries.push(index);
        }
        if self.is_owner_thread() {
            return Ok(Pushed::Local);
        }
        if self.wake_pending.swap(true, Ordering::SeqCst) {
            return Ok(Pushed::Foreign);
        }
        self.wake();
        Ok(Pushed::ForeignWoke)
    }

    /// Wakes the owner (also used to tell it to stop).
    pub(crate) fn wake(&self) {
        match rustix::io::write(&self.eventfd, &1u64.to_ne_bytes()) {
            // EAGAIN: the counter is saturated, so a wake-up is pending anyway.
            Ok(_) | Err(Errno::AGAIN) => {}
            Err(e) => tracing::error!(error = %e, "waking an io_uring queue owner failed"),
        }
    }

    /// Owner, after the eventfd poll fired: consumes the counter, then lets the next foreign
    /// push wake again (this order matters, see the module docs). Drain afterwards.
    pub(crate) fn woken(&self) {
        let mut count = [0u8; 8];
        // EAGAIN: already consumed by an earlier wake; nothing to do.
        let _ = rustix::io::read(&self.eventfd, &mut count);
        self.wake_pending.store(false, Ordering::SeqCst);
    }

    /// Owner: moves every queued index into `out`.
    pub(crate) fn drain_into(&self, out: &mut Vec<u16>) {
        let mut ready = self.lock();
        out.append(&mut ready.entries);
    }

    /// Owner, at shutdown: refuses further pushes and returns what was still queued.
    pub(crate) fn close(&self) -> Vec<u16> {
        let mut ready = self.lock();
        ready.closed = true;
        std::mem::take(&mut ready.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn owner_pushes_are_local_foreign_pushes_wake_once() {
        let h = Arc::new(Handoff::new(4).unwrap());
        h.claim_for_current_thread();
        assert_eq!(h.push(1).unwrap(), Pushed::Local);
        let h2 = Arc::clone(&h);
        let pushed = std::thread::spawn(move || [h2.push(2).unwrap(), h2.push(3).unwrap()])
            .join()
            .unwrap();
        assert_eq!(pushed, [Pushed::ForeignWoke, Pushed::Foreign]);
        let mut buf = [0u8; 8];
        assert_eq!(rustix::io::read(h.eventfd(), &mut buf).unwrap(), 8);
        assert_eq!(
            u64::from_ne_bytes(buf),
            1,
            "one eventfd write for two pushes"
        );
        h.woken();
        let mut out = Vec::new();
        h.drain_into(&mut out);
        assert_eq!(out, vec![1, 2, 3]);
        let h3 = Arc::clone(&h);
        assert_eq!(
            std::thread::spawn(move || h3.push(4).unwrap())
                .join()
                .unwrap(),
            Pushed::ForeignWoke,
            "after woken() the next foreign push wakes again"
        );
        assert_eq!(h.close(), vec![4]);
        assert_eq!(h.push(5), Err(Errno::NODEV));
    }
}
