//! The set of requests the kernel asked to interrupt. Cost on the hot path when nothing is
//! interrupted: one atomic load per reply. INTERRUPT may arrive before the interrupted request
//! has been dispatched (another worker read it); recording it in this set covers that case
//! without asking the kernel to resend.
//!
//! Async handlers (feature `tokio`) register a waker per request id with [`InterruptTable::watch`]
//! once their future has had to wait; [`InterruptTable::interrupt`] and
//! [`InterruptTable::close`] wake them. Requests that never wait register nothing, and the
//! checks above stay one atomic load.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

/// Entries beyond this are stale (their requests were answered before the INTERRUPT arrived);
/// the oldest ones are dropped. Request ids grow monotonically, so the smallest are oldest.
const MAX_TRACKED: usize = 4096;

#[derive(Debug, Default)]
pub(crate) struct InterruptTable {
    count: AtomicUsize,
    closed: AtomicBool,
    set: Mutex<BTreeSet<u64>>,
    changed: Condvar,
    /// Wakers of async handlers waiting for their request's interrupt, by request id.
    wakers: Mutex<HashMap<u64, Waker>>,
}

impl InterruptTable {
    fn lock(&self) -> MutexGuard<'_, BTreeSet<u64>> {
        self.set
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records that the kernel wants `unique` interrupted and wakes waiters.
    pub(crate) fn interrupt(&self, unique: u64) {
        let mut set = self.lock();
        set.insert(unique);
        while set.len() > MAX_TRACKED {
            set.pop_first();
        }
        self.count.store(set.len(), Ordering::Release);
        drop(set);
        self.changed.notify_all();
        // Always taken (INTERRUPT is rare): a `watch` that registered before this lock sees
        // its waker woken; one that registers after it sees `unique` in the set.
        if let Some(waker) = self.lock_wakers().get(&unique) {
            waker.wake_by_ref();
        }
    }

    fn lock_wakers(&self) -> MutexGuard<'_, HashMap<u64, Waker>> {
        self.wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    /// Registers `waker` to be woken when `unique` is interrupted or the session closes
    /// (replacing an earlier waker for `unique`). Returns whether that already happened.
    /// The caller must [`unwatch`](Self::unwatch) when it stops waiting.
    pub(crate) fn watch(&self, unique: u64, waker: &Waker) -> bool {
        {
            let mut wakers = self.lock_wakers();
            match wakers.get_mut(&unique) {
                Some(old) if old.will_wake(waker) => {}
                Some(old) => old.clone_from(waker),
                None => {
                    wakers.insert(unique, waker.clone());
                }
            }
        }
        self.is_interrupted(unique)
    }

    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    /// Removes the waker `watch` registered for `unique`.
    pub(crate) fn unwatch(&self, unique: u64) {
        self.lock_wakers().remove(&unique);
    }

    /// True when `unique` was interrupted (or the session is shutting down).
    pub(crate) fn is_interrupted(&self, unique: u64) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return true;
        }
        if self.count.load(Ordering::Acquire) == 0 {
            return false;
        }
        self.lock().contains(&unique)
    }

    /// Forgets `unique` once its reply has been sent.
    pub(crate) fn finish(&self, unique: u64) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut set = self.lock();
        if set.remove(&unique) {
            self.count.store(set.len(), Ordering::Release);
        }
    }

    /// Blocks until `unique` is interrupted, the session closes, or `timeout` passes.
    /// Returns true when interrupted (or closing).
    pub(crate) fn wait(&self, unique: u64, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut set = self.lock();
        loop {
            if self.closed.load(Ordering::Acquire) || set.contains(&unique) {
                return true;
            }
            set = match deadline {
                None => self
                    .changed
                    .wait(set)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    self.changed
                        .wait_timeout(set, deadline - now)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
        }
    }

    /// Wakes every waiter for good: the session is ending.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _guard = self.lock();
        self.changed.notify_all();
        for waker in self.lock_wakers().values() {
            waker.wake_by_ref();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn interrupt_before_check_is_seen() {
        let t = InterruptTable::default();
        assert!(!t.is_interrupted(7));
        t.interrupt(7);
        assert!(t.is_interrupted(7));
        assert!(!t.is_interrupted(8));
        t.finish(7);
        assert!(!t.is_interrupted(7));
    }

    #[test]
    fn wait_wakes_on_interrupt_and_times_out_otherwise() {
        let t = Arc::new(InterruptTable::default());
        assert!(!t.wait(1, Some(Duration::from_millis(20))));
        let t2 = Arc::clone(&t);
        let waiter = std::thread::spawn(move || t2.wait(5, Some(Duration::from_secs(10))));
        std::thread::sleep(Duration::from_millis(20));
        t.interrupt(5);
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn stale_entries_are_bounded() {
        let t = InterruptTable::default();
        for u in 0..(MAX_TRACKED as u64 + 100) {
            t.interrupt(u);
        }
        assert_eq!(t.count.load(Ordering::Relaxed), MAX_TRACKED);
        assert!(!t.is_interrupted(0));
        assert!(t.is_interrupted(MAX_TRACKED as u64 + 99));
    }

    /// A waker that counts its wake-ups.
    struct CountingWaker(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref()
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn watched_request_is_woken_once_interrupted_and_others_are_not() {
        let t = InterruptTable::default();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        assert!(!t.watch(3, &waker));
        t.interrupt(4);
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            0,
            "another request's interrupt"
        );
        t.interrupt(3);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(t.watch(3, &waker), "already interrupted: watch says so");
        t.unwatch(3);
        t.interrupt(3);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "unwatched: not woken");
    }

    #[test]
    fn close_wakes_watchers() {
        let t = InterruptTable::default();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        assert!(!t.watch(11, &Waker::from(Arc::clone(&counter))));
        t.close();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn close_wakes_waiters() {
        let t = Arc::new(InterruptTable::default());
        let t2 = Arc::clone(&t);
        let waiter = std::thread::spawn(move || t2.wait(9, None));
        std::thread::sleep(Duration::from_millis(20));
        t.close();
        assert!(waiter.join().unwrap());
    }
}
