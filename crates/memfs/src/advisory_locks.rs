//! Advisory locks: POSIX record locks (`fcntl` F_GETLK/F_SETLK/F_SETLKW, per lock owner,
//! byte ranges split and merged as POSIX requires) and BSD `flock` locks (whole file, per
//! open file description, the FUSE `LK_FLOCK` flag). The two kinds do not interact, as on
//! Linux.
//!
//! Waiting (F_SETLKW) is offered two ways so an adapter can support interruption:
//! - [`MemFs::setlk_wait`] blocks the calling thread, polling an `interrupted` callback (at
//!   least every 50 ms) and failing with `EINTR` when it says so; POSIX waits that would
//!   close a cycle of owners waiting for each other fail with `EDEADLK`.
//! - or, for an adapter that does not want to block a thread: read
//!   [`MemFs::lock_generation`], try [`MemFs::setlk`] (`EAGAIN` on conflict), then
//!   [`MemFs::wait_lock_change`] until the generation moves, and try again.
//!
//! Requests and answers are fusekit's [`Lock`]; [`LockType`] is only the typed form of its
//! raw `typ` field (fusekit keeps the kernel's `F_*LCK` value), checked once on the way in.
//! The blocking-wait thread the FUSE adapter uses lives in `adapter/lock_wait.rs`.
//!
//! All state sits behind one mutex, a leaf lock: while it is held only an inode-table shard
//! may be taken (to check that the inode still exists), and no callback runs.

use std::time::Duration;

use fusekit::Lock;
use hashbrown::HashMap;
use parking_lot::{Condvar, Mutex};
use rustix::io::Errno;

use crate::fs::MemFs;
use crate::types::{Fh, Ino};

/// The type of a lock request or of a lock found by `getlk`: the typed form of
/// [`fusekit::Lock::typ`], which keeps the kernel's raw `F_RDLCK`/`F_WRLCK`/`F_UNLCK` value
/// (the discriminants here are those values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum LockType {
    /// Shared (`F_RDLCK`).
    Read = 0,
    /// Exclusive (`F_WRLCK`).
    Write = 1,
    /// No lock / remove (`F_UNLCK`).
    Unlock = 2,
}

impl LockType {
    /// The type a raw `l_type` names, if any.
    pub const fn from_raw(typ: i32) -> Option<LockType> {
        match typ {
            0 => Some(LockType::Read),
            1 => Some(LockType::Write),
            2 => Some(LockType::Unlock),
            _ => None,
        }
    }

    /// The raw `l_type` value (for [`fusekit::Lock::typ`]).
    pub const fn raw(self) -> i32 {
        self as i32
    }
}

/// A [`Lock`] whose type has been checked: what the lock table works with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Request {
    start: u64,
    end: u64,
    typ: LockType,
    pid: u32,
}

impl Request {
    /// `EINVAL` for a type that is not `F_RDLCK`, `F_WRLCK` or `F_UNLCK`.
    fn parse(lock: &Lock) -> Result<Request, Errno> {
        Ok(Request {
            start: lock.start,
            end: lock.end,
            typ: LockType::from_raw(lock.typ).ok_or(Errno::INVAL)?,
            pid: lock.pid,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rec {
    owner: u64,
    start: u64,
    end: u64,
    write: bool,
    pid: u32,
}

impl Rec {
    fn conflicts(&self, owner: u64, start: u64, end: u64, write: bool) -> bool {
        self.owner != owner && self.start <= end && start <= self.end && (self.write || write)
    }

    fn as_lock(&self) -> Lock {
        let typ = if self.write {
            LockType::Write
        } else {
            LockType::Read
        };
        Lock {
            start: self.start,
            end: self.end,
            typ: typ.raw(),
            pid: self.pid,
        }
    }
}

#[derive(Debug, Default)]
struct InodeLocks {
    posix: Vec<Rec>,
    flock: Vec<Rec>,
}

impl InodeLocks {
    fn list(&mut self, flock: bool) -> &mut Vec<Rec> {
        if flock {
            &mut self.flock
        } else {
            &mut self.posix
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    inodes: HashMap<Ino, InodeLocks>,
    /// POSIX owners currently blocked in `setlk_wait`, and the owners blocking them.
    waits: HashMap<u64, Vec<u64>>,
    /// Per inode: which POSIX lock owners set locks through which open handle (see
    /// [`MemFs::lock_through`]).
    via: HashMap<Ino, Vec<(Fh, u64)>>,
    generation: u64,
}

/// The lock tables of a filesystem.
#[derive(Debug, Default)]
pub(crate) struct LockManager {
    inner: Mutex<Inner>,
    changed: Condvar,
}

const POLL: Duration = Duration::from_millis(50);

/// Replaces `owner`'s locks in `start..=end` with `new` (None: unlock), splitting and merging
/// ranges as POSIX requires.
fn apply_posix(list: &mut Vec<Rec>, owner: u64, start: u64, end: u64, new: Option<(bool, u32)>) {
    let mut out = Vec::with_capacity(list.len() + 2);
    for r in list.drain(..) {
        if r.owner != owner || r.end < start || r.start > end {
            out.push(r);
            continue;
        }
        if r.start < start {
            out.push(Rec {
                end: start - 1,
                ..r
            });
        }
        if r.end > end {
            out.push(Rec {
                start: end + 1,
                ..r
            });
        }
    }
    if let Some((write, pid)) = new {
        out.push(Rec {
            owner,
            start,
            end,
            write,
            pid,
        });
    }
    out.sort_by_key(|r| (r.owner, r.start));
    let mut merged: Vec<Rec> = Vec::with_capacity(out.len());
    for r in out {
        match merged.last_mut() {
            Some(p)
                if p.owner == r.owner
                    && p.write == r.write
                    && r.start <= p.end.saturating_add(1) =>
            {
                p.end = p.end.max(r.end);
            }
            _ => merged.push(r),
        }
    }
    *list = merged;
}

impl Inner {
    fn conflict(&self, ino: Ino, owner: u64, lock: &Request, flock: bool) -> Option<Rec> {
        let locks = self.inodes.get(&ino)?;
        let write = lock.typ == LockType::Write;
        let (start, end) = if flock {
            (0, u64::MAX)
        } else {
            (lock.start, lock.end)
        };
        let list = if flock { &locks.flock } else { &locks.posix };
        list.iter()
            .find(|r| r.conflicts(owner, start, end, write))
            .copied()
    }

    fn blockers(&self, ino: Ino, owner: u64, lock: &Request) -> Vec<u64> {
        let Some(locks) = self.inodes.get(&ino) else {
            return Vec::new();
        };
        let write = lock.typ == LockType::Write;
        let mut b: Vec<u64> = locks
            .posix
            .iter()
            .filter(|r| r.conflicts(owner, lock.start, lock.end, write))
            .map(|r| r.owner)
            .collect();
        b.sort_unstable();
        b.dedup();
        b
    }

    /// Whether `owner` waiting for `blockers` would close a cycle in the waits-for graph.
    fn would_deadlock(&self, owner: u64, blockers: &[u64]) -> bool {
        let mut stack: Vec<u64> = blockers.to_vec();
        let mut seen: Vec<u64> = Vec::new();
        while let Some(o) = stack.pop() {
            if o == owner {
                return true;
            }
            if seen.contains(&o) {
                continue;
            }
            seen.push(o);
            if let Some(next) = self.waits.get(&o) {
                stack.extend_from_slice(next);
            }
        }
        false
    }

    /// Tries to take or release `lock`; `EAGAIN` on conflict.
    fn try_set(&mut self, ino: Ino, owner: u64, lock: &Request, flock: bool) -> Result<(), Errno> {
        if lock.typ != LockType::Unlock {
            if lock.start > lock.end && !flock {
                return Err(Errno::INVAL);
            }
            if self.conflict(ino, owner, lock, flock).is_some() {
                return Err(Errno::AGAIN);
            }
        }
        let new = match lock.typ {
            LockType::Unlock => None,
            t => Some((t == LockType::Write, lock.pid)),
        };
        if new.is_none() && !self.inodes.contains_key(&ino) {
            return Ok(());
        }
        let locks = self.inodes.entry(ino).or_default();
        if flock {
            apply_posix(locks.list(true), owner, 0, u64::MAX, new);
        } else {
            apply_posix(locks.list(false), owner, lock.start, lock.end, new);
        }
        if locks.posix.is_empty() && locks.flock.is_empty() {
            self.inodes.remove(&ino);
        }
        self.generation += 1;
        Ok(())
    }
}

impl LockManager {
    /// Drops `owner`'s POSIX locks on `ino` (and its flock locks when `flock_too`).
    pub(crate) fn release_owner(&self, ino: Ino, owner: u64, flock_too: bool) {
        let mut g = self.inner.lock();
        let Some(locks) = g.inodes.get_mut(&ino) else {
            return;
        };
        let before = locks.posix.len() + locks.flock.len();
        locks.posix.retain(|r| r.owner != owner);
        if flock_too {
            locks.flock.retain(|r| r.owner != owner);
        }
        let after = locks.posix.len() + locks.flock.len();
        if after == 0 {
            g.inodes.remove(&ino);
        }
        if after != before {
            g.generation += 1;
            self.changed.notify_all();
        }
    }

    /// Handle `fh` of `ino` is closed: drops the POSIX locks of every owner that set locks
    /// through it and through no other open handle of `ino` (see [`MemFs::lock_through`]).
    pub(crate) fn release_handle(&self, ino: Ino, fh: Fh) {
        let orphans: Vec<u64> = {
            let mut g = self.inner.lock();
            let Some(via) = g.via.get_mut(&ino) else {
                return;
            };
            let mine: Vec<u64> = via.iter().filter(|v| v.0 == fh).map(|v| v.1).collect();
            via.retain(|v| v.0 != fh);
            let orphans = mine
                .into_iter()
                .filter(|o| !via.iter().any(|v| v.1 == *o))
                .collect();
            if via.is_empty() {
                g.via.remove(&ino);
            }
            orphans
        };
        for owner in orphans {
            self.release_owner(ino, owner, false);
        }
    }

    /// Drops every lock and every handle record (the connection that owned them is gone).
    pub(crate) fn clear(&self) {
        let mut g = self.inner.lock();
        g.inodes.clear();
        g.via.clear();
        g.generation += 1;
        self.changed.notify_all();
    }

    /// Drops every lock on a freed inode.
    pub(crate) fn forget_inode(&self, ino: Ino) {
        let mut g = self.inner.lock();
        g.via.remove(&ino);
        if g.inodes.remove(&ino).is_some() {
            g.generation += 1;
            self.changed.notify_all();
        }
    }
}

impl MemFs {
    /// Records that POSIX lock `owner` sets locks on `ino` through open handle `fh` (FUSE
    /// SETLK carries the handle). When `fh` is released, the POSIX locks of each owner
    /// recorded on it and on no other open handle of `ino` are dropped.
    ///
    /// Why: over FUSE the kernel never unlocks open-file-description (OFD) locks on close —
    /// their owner is the `struct file`, FLUSH carries the closing process's owner instead,
    /// and RELEASE carries an owner only for flock. An OFD owner only ever uses one handle,
    /// so its locks die with that handle. A process's own POSIX locks were already dropped
    /// by the FLUSH of every close; if the process took new ones through another open
    /// handle, that handle keeps them.
    /// `EBADF` when `fh` is not an open file handle of `ino`.
    pub fn lock_through(&self, ino: Ino, fh: Fh, owner: u64) -> Result<(), Errno> {
        self.handles.get(fh, ino, false)?;
        let mut g = self.locks.inner.lock();
        let via = g.via.entry(ino).or_default();
        if !via.contains(&(fh, owner)) {
            via.push((fh, owner));
        }
        Ok(())
    }

    /// F_GETLK: the first lock of another owner that conflicts with `lock`, or `lock` itself
    /// with type [`LockType::Unlock`] when it could be taken. `flock` selects flock locks.
    /// `EINVAL` when `lock.typ` is not a [`LockType`].
    pub fn getlk(&self, ino: Ino, owner: u64, lock: &Lock, flock: bool) -> Result<Lock, Errno> {
        let req = Request::parse(lock)?;
        self.table.get(ino)?;
        let g = self.locks.inner.lock();
        Ok(match g.conflict(ino, owner, &req, flock) {
            Some(r) => r.as_lock(),
            None => Lock {
                typ: LockType::Unlock.raw(),
                ..*lock
            },
        })
    }

    /// F_SETLK (or non-blocking flock): takes, changes or releases `owner`'s lock without
    /// waiting; `EAGAIN` when another owner holds a conflicting lock, `EINVAL` when
    /// `lock.typ` is not a [`LockType`].
    pub fn setlk(&self, ino: Ino, owner: u64, lock: &Lock, flock: bool) -> Result<(), Errno> {
        let req = Request::parse(lock)?;
        self.table.get(ino)?;
        let mut g = self.locks.inner.lock();
        let r = g.try_set(ino, owner, &req, flock);
        if r.is_ok() {
            self.locks.changed.notify_all();
        }
        r
    }

    /// F_SETLKW (or blocking flock): like [`MemFs::setlk`] but waits for conflicting locks to
    /// go. Fails with `EINTR` once `interrupted()` returns true (polled at least every 50 ms),
    /// with `EDEADLK` when a POSIX wait would deadlock, with `ENOENT` if the inode is freed.
    pub fn setlk_wait(
        &self,
        ino: Ino,
        owner: u64,
        lock: &Lock,
        flock: bool,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<(), Errno> {
        let req = Request::parse(lock)?;
        let lock = &req;
        self.table.get(ino)?;
        let mut g = self.locks.inner.lock();
        let result = loop {
            match g.try_set(ino, owner, lock, flock) {
                Err(Errno::AGAIN) => {}
                other => break other,
            }
            if !flock {
                let blockers = g.blockers(ino, owner, lock);
                if g.would_deadlock(owner, &blockers) {
                    break Err(Errno::DEADLK);
                }
                g.waits.insert(owner, blockers);
            }
            // The callback runs without the lock table's mutex held.
            if parking_lot::MutexGuard::unlocked(&mut g, interrupted) {
                break Err(Errno::INTR);
            }
            self.locks.changed.wait_for(&mut g, POLL);
            if self.table.get(ino).is_err() {
                break Err(Errno::NOENT);
            }
        };
        if !flock {
            g.waits.remove(&owner);
        }
        if result.is_ok() {
            self.locks.changed.notify_all();
        }
        result
    }

    /// A counter that moves whenever any lock is released or changed; see
    /// [`MemFs::wait_lock_change`].
    pub fn lock_generation(&self) -> u64 {
        self.locks.inner.lock().generation
    }

    /// Waits until [`MemFs::lock_generation`] differs from `seen` or `timeout` passes; returns
    /// whether it changed.
    pub fn wait_lock_change(&self, seen: u64, timeout: Duration) -> bool {
        let mut g = self.locks.inner.lock();
        if g.generation != seen {
            return true;
        }
        self.locks.changed.wait_for(&mut g, timeout);
        g.generation != seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(owner: u64, start: u64, end: u64, write: bool) -> Rec {
        Rec {
            owner,
            start,
            end,
            write,
            pid: 0,
        }
    }

    #[test]
    fn split_and_merge() {
        let mut l = vec![rec(1, 0, 99, true)];
        apply_posix(&mut l, 1, 10, 19, None);
        assert_eq!(l, vec![rec(1, 0, 9, true), rec(1, 20, 99, true)]);
        apply_posix(&mut l, 1, 10, 19, Some((true, 0)));
        assert_eq!(l, vec![rec(1, 0, 99, true)]);
        apply_posix(&mut l, 1, 50, u64::MAX, Some((false, 0)));
        assert_eq!(l, vec![rec(1, 0, 49, true), rec(1, 50, u64::MAX, false)]);
        apply_posix(&mut l, 2, 0, 5, Some((false, 0)));
        assert_eq!(l.len(), 3, "other owners untouched");
    }
}
