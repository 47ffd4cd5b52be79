//! Where inodes get their `O_PATH` descriptors from, within a bounded number of open files.
//!
//! An inode whose source filesystem makes file handles (ext4, xfs, btrfs, tmpfs, ...; and
//! `open_by_handle_at` works, i.e. the daemon has CAP_DAC_READ_SEARCH) keeps its handle and
//! only a *cached* descriptor: at most `budget` descriptors (cached and pinned together) stay
//! open, and a clock (second chance: a descriptor used since the hand last passed is spared
//! once) closes the coldest when a new one comes in. An evicted descriptor is reopened from
//! the handle on the next use. Inodes without a usable handle (the root, filesystems that
//! make none, an unprivileged daemon) are *pinned*: their descriptor stays open for the
//! inode's life, as before, and when pinned descriptors alone would exceed the budget, new
//! inodes are refused with EMFILE (logged once).
//!
//! A descriptor is handed out as an [`InodeFd`] guard holding a reference: eviction only
//! drops the cache's reference, so a descriptor in use is never closed (nor its number
//! reused) under its user.
//!
//! Identity: the handle carries the inode's generation, so the handle of a deleted file
//! reopens nothing (ESTALE), even when another file got its inode number meanwhile. The
//! reopened descriptor is also checked to be `(st_dev, st_ino)` of the inode.
//!
//! This module owns the descriptors, the handles, one real descriptor per source mount (what
//! `open_by_handle_at` resolves handles against) and the cache counters; the inode table
//! (`inode`) owns node ids and lookup counts.

use std::collections::{HashMap, VecDeque};
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::inode::Key;
use crate::stats::Counters;
use crate::sys::{handle_of, open_by_handle, proc_path, reopen, stat_fd, FileHandle};

/// The smallest budget ever used, whatever the open-file limit says.
pub(crate) const MIN_BUDGET: usize = 64;

/// The default budget for a soft `RLIMIT_NOFILE` of `soft`: the limit minus a reserve for
/// everything else the daemon opens (open files and directories of the callers, the
/// session's `/dev/fuse` clones and rings, descriptors a request holds for a moment) —
/// a quarter of the limit, at least 128 and at most 4096 — and never below [`MIN_BUDGET`].
/// (So 20000 gives 15904, the usual 1024 gives 768.)
pub(crate) fn budget_for(soft: u64) -> usize {
    let soft = usize::try_from(soft).unwrap_or(usize::MAX).min(1 << 24);
    let reserve = (soft / 4).clamp(128, 4096);
    soft.saturating_sub(reserve).max(MIN_BUDGET)
}

/// [`budget_for`] the process's current soft open-file limit.
pub(crate) fn default_budget() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    budget_for(limit.current.unwrap_or(1 << 20))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A borrowed use of an inode's `O_PATH` descriptor. The descriptor stays open (and its
/// number stays this file's) while the guard lives, even if the cache evicts it meanwhile.
#[derive(Debug, Clone)]
pub(crate) struct InodeFd(Arc<OwnedFd>);

impl AsFd for InodeFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl InodeFd {
    /// `/proc/self/fd/N` of this descriptor; valid only while `self` lives.
    pub(crate) fn proc_path(&self) -> CString {
        proc_path(self.as_fd())
    }
}

#[derive(Debug)]
enum Source {
    /// Open for the inode's whole life.
    Pinned(Arc<OwnedFd>),
    /// Cached; reopened from `handle` relative to `mount_fd` when evicted.
    Handle {
        handle: FileHandle,
        mount_fd: Arc<OwnedFd>,
        cached: Mutex<Option<Arc<OwnedFd>>>,
        used: AtomicBool,
    },
}

/// How one inode gets its descriptor.
#[derive(Debug)]
pub(crate) struct FdSlot {
    key: Key,
    source: Source,
    /// A descriptor pinned after the file lost its last name through the mount (see
    /// [`keep_alive`](Self::keep_alive)); counted as pinned.
    kept: Mutex<Option<Arc<OwnedFd>>>,
    store: Arc<FdStore>,
}

impl FdSlot {
    /// The inode's `O_PATH` descriptor, reopened from its handle when it was evicted:
    /// ESTALE when the file no longer exists (or the handle now names another file).
    pub(crate) fn fd(self: &Arc<Self>) -> Result<InodeFd, Errno> {
        if let Some(fd) = &*lock(&self.kept) {
            return Ok(InodeFd(Arc::clone(fd)));
        }
        let (handle, mount_fd, cached, used) = match &self.source {
            Source::Pinned(fd) => return Ok(InodeFd(Arc::clone(fd))),
            Source::Handle {
                handle,
                mount_fd,
                cached,
                used,
            } => (handle, mount_fd, cached, used),
        };
        if let Some(fd) = &*lock(cached) {
            used.store(true, Ordering::Relaxed);
            return Ok(InodeFd(Arc::clone(fd)));
        }
        // Reopen without holding the slot's lock (the store may have to evict to make room,
        // and eviction takes slot locks); a concurrent reopen of the same slot may win.
        let fresh = Arc::new(self.store.reopen(self.key, mount_fd, handle)?);
        let mut slot = lock(cached);
        if let Some(fd) = &*slot {
            used.store(true, Ordering::Relaxed);
            return Ok(InodeFd(Arc::clone(fd)));
        }
        *slot = Some(Arc::clone(&fresh));
        used.store(true, Ordering::Relaxed);
        Counters::add(&self.store.counters.cached_fds, 1);
        drop(slot);
        self.store.admit(Arc::downgrade(self));
        Ok(InodeFd(fresh))
    }

    /// True while the descriptor is open (pinned, or cached now): the source inode cannot
    /// have been freed, so a file with the same `(st_dev, st_ino)` is this one.
    pub(crate) fn is_open(&self) -> bool {
        match &self.source {
            Source::Pinned(_) => true,
            Source::Handle { cached, .. } => lock(cached).is_some() || lock(&self.kept).is_some(),
        }
    }

    /// Keeps `fd` (a descriptor of this inode's file, which has just lost its last name
    /// through the mount) open until the inode is forgotten, as the kernel may still send
    /// requests about it (with the writeback cache, SETATTR of its times after the last
    /// close), and its handle cannot be reopened once the file is gone. Within the budget
    /// for pinned descriptors only; beyond it such requests answer ESTALE.
    pub(crate) fn keep_alive(&self, fd: OwnedFd) {
        let Source::Handle { .. } = &self.source else {
            return;
        };
        let mut kept = lock(&self.kept);
        if kept.is_some() || !self.store.reserve_pinned() {
            return;
        }
        *kept = Some(Arc::new(fd));
    }

    /// True while [`FdSlot::keep_alive`] holds a descriptor (the file lost its last name).
    pub(crate) fn is_kept_alive(&self) -> bool {
        lock(&self.kept).is_some()
    }

    /// The file handle, when the descriptor is cached rather than pinned.
    pub(crate) fn handle(&self) -> Option<&FileHandle> {
        match &self.source {
            Source::Pinned(_) => None,
            Source::Handle { handle, .. } => Some(handle),
        }
    }

    /// Gives an evicted slot `fd`, a fresh `O_PATH` descriptor of the same file (saves the
    /// reopen a lookup would otherwise cause next). Dropped when not needed.
    pub(crate) fn refill(self: &Arc<Self>, fd: OwnedFd) {
        let Source::Handle { cached, used, .. } = &self.source else {
            return;
        };
        let mut slot = lock(cached);
        if slot.is_some() {
            return;
        }
        *slot = Some(Arc::new(fd));
        used.store(true, Ordering::Relaxed);
        Counters::add(&self.store.counters.cached_fds, 1);
        drop(slot);
        self.store.admit(Arc::downgrade(self));
    }

    /// Drops the cached descriptor unless it was used since the last call (or `force`).
    /// True when one was dropped.
    fn evict(&self, force: bool) -> bool {
        let Source::Handle { cached, used, .. } = &self.source else {
            return false;
        };
        let mut slot = lock(cached);
        let Some(fd) = &*slot else {
            return false;
        };
        let busy = Arc::strong_count(fd) > 1;
        if !force && (used.swap(false, Ordering::Relaxed) || busy) {
            return false;
        }
        *slot = None;
        self.store
            .counters
            .cached_fds
            .fetch_sub(1, Ordering::Relaxed);
        Counters::add(&self.store.counters.fd_evictions, 1);
        true
    }
}

impl Drop for FdSlot {
    fn drop(&mut self) {
        let c = &self.store.counters;
        let kept = self.kept.get_mut().unwrap_or_else(|p| p.into_inner());
        if kept.take().is_some() {
            c.pinned_fds.fetch_sub(1, Ordering::Relaxed);
        }
        match &mut self.source {
            Source::Pinned(_) => {
                c.pinned_fds.fetch_sub(1, Ordering::Relaxed);
            }
            Source::Handle { cached, .. } => {
                let cached = cached.get_mut().unwrap_or_else(|p| p.into_inner());
                if cached.take().is_some() {
                    c.cached_fds.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// The descriptor budget of one filesystem and everything it needs to keep it.
#[derive(Debug)]
pub(crate) struct FdStore {
    budget: usize,
    /// Per source mount id: a real descriptor of a directory on it (`open_by_handle_at`
    /// refuses `O_PATH` ones), or `None` when handles do not work there.
    mounts: Mutex<HashMap<i32, Option<Arc<OwnedFd>>>>,
    /// Cached slots in clock order (front: where the hand stands). May hold slots that are
    /// gone or were evicted by [`shrink`](Self::shrink); the hand skips them.
    clock: Mutex<VecDeque<Weak<FdSlot>>>,
    counters: Arc<Counters>,
    warned_pinned: AtomicBool,
    warned_handles: AtomicBool,
}

impl FdStore {
    pub(crate) fn new(budget: usize, counters: Arc<Counters>) -> Arc<FdStore> {
        let budget = budget.max(MIN_BUDGET);
        counters.fd_budget.store(budget as u64, Ordering::Relaxed);
        Arc::new(FdStore {
            budget,
            mounts: Mutex::new(HashMap::new()),
            clock: Mutex::new(VecDeque::new()),
            counters,
            warned_pinned: AtomicBool::new(false),
            warned_handles: AtomicBool::new(false),
        })
    }

    fn open_count(&self) -> usize {
        let c = &self.counters;
        (c.pinned_fds.load(Ordering::Relaxed) + c.cached_fds.load(Ordering::Relaxed)) as usize
    }

    /// A pinned slot for `fd` regardless of the budget (the root).
    pub(crate) fn pin_always(self: &Arc<Self>, fd: OwnedFd, key: Key) -> Arc<FdSlot> {
        Counters::add(&self.counters.pinned_fds, 1);
        self.shrink_to_budget();
        Arc::new(FdSlot {
            key,
            source: Source::Pinned(Arc::new(fd)),
            kept: Mutex::new(None),
            store: Arc::clone(self),
        })
    }

    /// Counts one more pinned descriptor when the budget has room for it (making room by
    /// evicting cached ones).
    fn reserve_pinned(&self) -> bool {
        if self.counters.pinned_fds.load(Ordering::Relaxed) as usize >= self.budget {
            return false;
        }
        Counters::add(&self.counters.pinned_fds, 1);
        self.shrink_to_budget();
        true
    }

    fn pin(self: &Arc<Self>, fd: OwnedFd, key: Key) -> Result<Arc<FdSlot>, Errno> {
        if self.counters.pinned_fds.load(Ordering::Relaxed) as usize >= self.budget {
            if !self.warned_pinned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    budget = self.budget,
                    "too many inodes without usable file handles: each keeps a descriptor \
                     open, and the descriptor budget is spent; new ones fail with EMFILE"
                );
            }
            return Err(Errno::MFILE);
        }
        Ok(self.pin_always(fd, key))
    }

    /// Learns the mount `dir` (an `O_PATH` descriptor of a directory) is on, so that inodes
    /// there can be reopened from handles. Returns whether handles work there.
    pub(crate) fn learn_mount(&self, dir: BorrowedFd<'_>) -> bool {
        match handle_of(dir) {
            Ok((handle, mount_id)) => self.mount_fd(mount_id, dir, &handle, true).is_some(),
            Err(e) => {
                self.handles_unusable(e);
                false
            }
        }
    }

    /// The slot for a new inode whose `O_PATH` descriptor is `fd`: cached when `probe` (the
    /// result of [`handle_of`] on `fd`) gave a handle that works, else pinned.
    pub(crate) fn slot(
        self: &Arc<Self>,
        fd: OwnedFd,
        key: Key,
        probe: Result<(FileHandle, i32), Errno>,
        is_dir: bool,
    ) -> Result<Arc<FdSlot>, Errno> {
        let (handle, mount_id) = match probe {
            Ok(found) => found,
            Err(e) => {
                self.handles_unusable(e);
                return self.pin(fd, key);
            }
        };
        let Some(mount_fd) = self.mount_fd(mount_id, fd.as_fd(), &handle, is_dir) else {
            return self.pin(fd, key);
        };
        let slot = Arc::new(FdSlot {
            key,
            source: Source::Handle {
                handle,
                mount_fd,
                cached: Mutex::new(Some(Arc::new(fd))),
                used: AtomicBool::new(true),
            },
            kept: Mutex::new(None),
            store: Arc::clone(self),
        });
        Counters::add(&self.counters.cached_fds, 1);
        self.admit(Arc::downgrade(&slot));
        Ok(slot)
    }

    /// The real descriptor handles on `mount_id` are opened against; made (and tested with
    /// `handle`) from `fd` when it is a directory and the mount is new. `None`: handles do
    /// not work there, or the mount is not known yet and `fd` cannot teach it.
    fn mount_fd(
        &self,
        mount_id: i32,
        fd: BorrowedFd<'_>,
        handle: &FileHandle,
        is_dir: bool,
    ) -> Option<Arc<OwnedFd>> {
        let mut mounts = lock(&self.mounts);
        if let Some(known) = mounts.get(&mount_id) {
            return known.clone();
        }
        if !is_dir {
            return None;
        }
        let dir = reopen(fd, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NONBLOCK).ok()?;
        let works = match open_by_handle(dir.as_fd(), handle, OFlags::PATH | OFlags::NOFOLLOW) {
            Ok(_) => Some(Arc::new(dir)),
            Err(e) => {
                self.handles_unusable(e);
                None
            }
        };
        tracing::debug!(mount_id, handles = works.is_some(), "source mount seen");
        mounts.insert(mount_id, works.clone());
        works
    }

    fn handles_unusable(&self, e: Errno) {
        if !self.warned_handles.swap(true, Ordering::Relaxed) {
            let why = match e {
                Errno::PERM => "the daemon lacks CAP_DAC_READ_SEARCH for open_by_handle_at",
                Errno::OPNOTSUPP => "the source filesystem makes no file handles",
                _ => "file handles do not work here",
            };
            tracing::warn!(
                error = %e,
                reason = why,
                budget = self.budget,
                "some inodes keep a descriptor open for their whole life; very large trees \
                 can run out of descriptors (EMFILE)"
            );
        }
    }

    /// Opens `handle` again (after an eviction), making room first when the process is out
    /// of descriptors.
    fn reopen(&self, key: Key, mount_fd: &OwnedFd, handle: &FileHandle) -> Result<OwnedFd, Errno> {
        let flags = OFlags::PATH | OFlags::NOFOLLOW;
        let fd = match open_by_handle(mount_fd.as_fd(), handle, flags) {
            Err(Errno::MFILE | Errno::NFILE) => {
                self.shrink(self.budget / 8 + 1);
                open_by_handle(mount_fd.as_fd(), handle, flags)
            }
            other => other,
        };
        let fd = fd.inspect_err(|e| {
            if *e == Errno::STALE {
                Counters::add(&self.counters.stale_handles, 1);
            }
        })?;
        Counters::add(&self.counters.fd_reopens, 1);
        let st = stat_fd(fd.as_fd())?;
        if (st.st_dev, st.st_ino) != key {
            // A filesystem whose handles name inode numbers without generations.
            Counters::add(&self.counters.stale_handles, 1);
            return Err(Errno::STALE);
        }
        Ok(fd)
    }

    /// Enters a newly cached slot into the clock and evicts down to the budget.
    fn admit(&self, slot: Weak<FdSlot>) {
        let mut clock = lock(&self.clock);
        clock.push_back(slot);
        self.evict_locked(&mut clock, 0);
        // Slots that went away while cached leave dead entries behind: sweep them out
        // before they outnumber the live ones.
        let live = self.counters.cached_fds.load(Ordering::Relaxed) as usize;
        if clock.len() > 2 * live + 1024 {
            clock.retain(|w| w.upgrade().is_some_and(|s| s.is_open()));
        }
    }

    fn shrink_to_budget(&self) {
        let mut clock = lock(&self.clock);
        self.evict_locked(&mut clock, 0);
    }

    /// Closes `n` cached descriptors beyond what the budget asks (EMFILE relief).
    fn shrink(&self, n: usize) {
        let mut clock = lock(&self.clock);
        self.evict_locked(&mut clock, n);
    }

    /// Runs the clock hand until the open descriptors fit the budget less `extra`, or
    /// nothing cached is left. A slot used since the hand's last visit (or in use right now)
    /// is spared for one more round; after two full rounds the hand takes whatever it finds.
    fn evict_locked(&self, clock: &mut VecDeque<Weak<FdSlot>>, extra: usize) {
        let target = self.budget.saturating_sub(extra);
        let mut visits = 0usize;
        while self.open_count() > target {
            let Some(weak) = clock.pop_front() else {
                break;
            };
            // (Dropping the last reference to a slot here is fine: its drop takes no lock.)
            let Some(slot) = weak.upgrade() else {
                continue;
            };
            visits += 1;
            let force = visits > 2 * (clock.len() + 1);
            if !slot.evict(force) && slot.is_open() {
                clock.push_back(weak);
            }
        }
    }
}
