//! Orders lock requests after the RELEASEs the kernel queued before them.
//!
//! Why: the kernel sends RELEASE asynchronously — `close(2)` returns before the daemon has
//! handled it — but it queues the RELEASE before anything the caller does next. With several
//! workers, the caller's next request (F_SETLK or flock on another descriptor of the same
//! file) can be served by another worker before the RELEASE is, and find the closed
//! description's OFD lock or flock still held: `close(a); fcntl(b, F_OFD_SETLK)` fails with
//! EAGAIN now and then. Every multi-threaded FUSE daemon has this race; fusekit closes it.
//!
//! How: the kernel draws request ids (`unique`) from one counter, in steps of 2, in the order
//! it queues requests. Each request served stamps its id into a ring of slots (one store); a
//! RELEASE stamps `id + 1` (and its inode) until its reply is sent. Before a lock request
//! with id U reaches the filesystem, every id between the last checked one and U must have
//! been stamped (read by some worker), and no RELEASE of the same inode among them may still
//! be unanswered. An id that never shows up — a request the kernel dropped before anyone read
//! it (interrupted while queued) — is waited for at most [`GAP_WAIT`]; a RELEASE that takes
//! longer than [`RELEASE_WAIT`] is not waited for any longer (both counted and logged).
//! Cost when no lock request is served: one store per request and one load per reply.
//!
//! Limits: an earlier RELEASE still held in the kernel's background queue (max_background
//! reached) is not read within [`GAP_WAIT`], and the lock request then goes ahead of it. Over
//! io_uring the wait runs on the queue's own thread, so a RELEASE that lands on the same queue
//! later (the same background delay) stalls that queue for up to [`GAP_WAIT`] before the lock
//! request goes ahead. While a RELEASE of another inode is unanswered, the floor stays behind
//! it and each lock request rescans up to 4,095 slots (microseconds).

use std::sync::atomic::{AtomicU64, Ordering};

use fusekit_abi as abi;
use std::time::{Duration, Instant};

/// Ring size; ids further back than `2 * SLOTS` below a lock request count as seen.
const SLOTS: usize = 4096;
/// How long a lock request waits for an id that no worker has stamped.
pub(crate) const GAP_WAIT: Duration = Duration::from_millis(10);
/// How long a lock request waits for an earlier RELEASE of its inode to be answered.
pub(crate) const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// What one [`ReleaseFence::wait_before`] had to wait for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FenceWait {
    /// Earlier RELEASEs of the same inode that it waited for.
    pub(crate) releases: u64,
    /// Ids it gave up on after [`GAP_WAIT`] (never read by any worker).
    pub(crate) gaps: u64,
    /// RELEASEs it stopped waiting for after [`RELEASE_WAIT`].
    pub(crate) slow_releases: u64,
}

pub(crate) struct ReleaseFence {
    /// Per id: the id once read, `id + 1` while it is an unanswered RELEASE; 0 = never.
    slots: Box<[AtomicU64]>,
    /// Per id: the inode of a RELEASE (meaningful while its slot says pending).
    inodes: Box<[AtomicU64]>,
    /// Ids up to this one need no checking; 0 until INIT: the fence is off.
    floor: AtomicU64,
}

impl std::fmt::Debug for ReleaseFence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleaseFence")
            .field("floor", &self.floor.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for ReleaseFence {
    fn default() -> Self {
        let ring = || (0..SLOTS).map(|_| AtomicU64::new(0)).collect();
        ReleaseFence {
            slots: ring(),
            inodes: ring(),
            floor: AtomicU64::new(0),
        }
    }
}

/// Slot of `id`: consecutive ids land on different cache lines (8 slots per line), so
/// workers stamping neighbouring ids do not write the same line.
fn index(id: u64) -> usize {
    let k = (id / 2) as usize % SLOTS;
    ((k % 8) * (SLOTS / 8)) + (k / 8)
}

impl ReleaseFence {
    /// Turns the fence on: `init_unique` is the id of INIT, the first request.
    pub(crate) fn begin(&self, init_unique: u64) {
        self.floor.fetch_max(init_unique, Ordering::AcqRel);
    }

    /// Records that a worker read the request with this header (every transport, decodable
    /// or not). NOTIFY_REPLY carries the session's own retrieve cookie, not a kernel id.
    pub(crate) fn request_read(&self, header: &abi::InHeader) {
        let opcode = header.opcode;
        if opcode == abi::Opcode::NotifyReply as u32 {
            return;
        }
        let release = opcode == abi::Opcode::Release as u32;
        self.stamp(header.unique, release.then_some(header.nodeid));
    }

    /// Records that request `id` was read; `release` is the inode of a RELEASE. Odd ids
    /// (INTERRUPT: the interrupted request's id with the low bit set) are not requests of
    /// their own and are ignored: stamping one would write an old id over a newer one.
    pub(crate) fn stamp(&self, id: u64, release: Option<u64>) {
        if id & 1 == 1 {
            return;
        }
        let i = index(id);
        match release {
            Some(ino) => {
                self.inodes[i].store(ino, Ordering::Relaxed);
                self.slots[i].store(id | 1, Ordering::Release);
            }
            None => self.slots[i].store(id, Ordering::Release),
        }
    }

    /// Records that the reply to request `id` was sent (or given up).
    pub(crate) fn answered(&self, id: u64) {
        let slot = &self.slots[index(id)];
        if slot.load(Ordering::Relaxed) == id | 1 {
            let _ = slot.compare_exchange(id | 1, id & !1, Ordering::Release, Ordering::Relaxed);
        }
    }

    /// Waits until every request queued before `id` has been read by some worker and every
    /// earlier RELEASE of inode `ino` has been answered (bounded; see the module comment).
    pub(crate) fn wait_before(&self, id: u64, ino: u64) -> FenceWait {
        let mut waited = FenceWait::default();
        let floor = self.floor.load(Ordering::Acquire);
        if floor == 0 || id <= floor || id & 1 == 1 {
            return waited;
        }
        // The ids strictly between the floor and `id`, at most SLOTS - 1 of them.
        let steps = ((id - floor) / 2).saturating_sub(1).min(SLOTS as u64 - 1);
        let start = Instant::now();
        let mut spins = 0u32;
        let mut x = id - 2 * steps;
        let mut counted_release = false;
        // The floor may not pass an unanswered RELEASE of another inode: a later lock
        // request on that inode must still wait for it.
        let mut new_floor = id;
        while x < id {
            let v = self.slots[index(x)].load(Ordering::Acquire);
            let pending_release = v == x | 1;
            let done = if pending_release {
                let other = self.inodes[index(x)].load(Ordering::Relaxed) != ino;
                if other {
                    new_floor = new_floor.min(x - 2);
                }
                other
            } else {
                v >= x
            };
            if done {
                x += 2;
                counted_release = false;
                spins = 0;
                continue;
            }
            let limit = if pending_release {
                if !counted_release {
                    waited.releases += 1;
                    counted_release = true;
                }
                RELEASE_WAIT
            } else {
                GAP_WAIT
            };
            if start.elapsed() >= limit {
                if pending_release {
                    waited.slow_releases += 1;
                } else {
                    waited.gaps += 1;
                }
                x += 2;
                counted_release = false;
                spins = 0;
                continue;
            }
            backoff(&mut spins);
        }
        self.floor.fetch_max(new_floor, Ordering::AcqRel);
        waited
    }
}

/// Yields for the first rounds (the missing request is usually a few instructions away from
/// being stamped on another CPU), then sleeps in short steps.
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_micros(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn off_until_init_and_for_ids_at_or_below_the_floor() {
        let f = ReleaseFence::default();
        assert_eq!(f.wait_before(100, 1), FenceWait::default());
        f.begin(2);
        assert_eq!(f.wait_before(2, 1), FenceWait::default());
    }

    #[test]
    fn every_earlier_id_stamped_means_no_wait() {
        let f = ReleaseFence::default();
        f.begin(2);
        for id in (4..200).step_by(2) {
            f.stamp(id, None);
        }
        let t = Instant::now();
        assert_eq!(f.wait_before(200, 1), FenceWait::default());
        assert!(t.elapsed() < GAP_WAIT);
    }

    #[test]
    fn a_never_read_id_is_a_gap_after_the_gap_wait() {
        let f = ReleaseFence::default();
        f.begin(2);
        f.stamp(4, None);
        f.stamp(8, None);
        let t = Instant::now();
        let w = f.wait_before(10, 1);
        assert_eq!(w.gaps, 1, "{w:?}");
        assert!(t.elapsed() >= GAP_WAIT);
        // The floor moved past it: the next lock request does not wait again.
        f.stamp(10, None);
        let t = Instant::now();
        assert_eq!(f.wait_before(12, 1), FenceWait::default());
        assert!(t.elapsed() < GAP_WAIT);
    }

    #[test]
    fn waits_for_an_unanswered_release_of_its_inode_only() {
        let f = Arc::new(ReleaseFence::default());
        f.begin(2);
        f.stamp(4, Some(7));
        f.stamp(6, None);
        // A lock request on another inode does not wait for it (and every request is
        // stamped before it is dispatched, lock requests too).
        f.stamp(8, None);
        assert_eq!(f.wait_before(8, 9), FenceWait::default());
        let answerer = {
            let f = Arc::clone(&f);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                f.answered(4);
            })
        };
        let t = Instant::now();
        let w = f.wait_before(10, 7);
        assert!(
            t.elapsed() >= Duration::from_millis(25),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(
            w,
            FenceWait {
                releases: 1,
                ..FenceWait::default()
            }
        );
        answerer.join().unwrap();
    }

    #[test]
    fn a_request_stamped_late_by_another_worker_is_waited_for() {
        let f = Arc::new(ReleaseFence::default());
        f.begin(2);
        let late = {
            let f = Arc::clone(&f);
            std::thread::spawn(move || {
                f.stamp(4, Some(7));
                std::thread::sleep(Duration::from_millis(20));
                f.answered(4);
            })
        };
        let t = Instant::now();
        let w = f.wait_before(6, 7);
        assert!(t.elapsed() >= Duration::from_millis(20));
        assert_eq!(w.gaps, 0, "{w:?}");
        assert_eq!(w.releases, 1, "{w:?}");
        late.join().unwrap();
    }

    #[test]
    fn an_interrupt_id_does_not_overwrite_a_newer_stamp() {
        let f = ReleaseFence::default();
        f.begin(2);
        let late = 4 + 2 * SLOTS as u64;
        // An INTERRUPT for request 4 (id 5) read after `late` shares 4's slot.
        f.stamp(late, None);
        f.stamp(5, None);
        for x in (late - 2 * SLOTS as u64 + 2..late).step_by(2) {
            f.stamp(x, None);
        }
        f.stamp(late + 2, None);
        let t = Instant::now();
        assert_eq!(f.wait_before(late + 2, 1), FenceWait::default());
        assert!(t.elapsed() < GAP_WAIT);
    }

    #[test]
    fn ids_far_below_are_not_scanned() {
        let f = ReleaseFence::default();
        f.begin(2);
        let id = 2 + 2 * (SLOTS as u64) * 3;
        for x in (id - 2 * SLOTS as u64 + 2..id).step_by(2) {
            f.stamp(x, None);
        }
        assert_eq!(f.wait_before(id, 1), FenceWait::default());
    }
}
