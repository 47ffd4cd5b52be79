//! POSIX record locks and flock(2), done on the source filesystem so they also conflict with
//! programs that use the source directory directly.
//!
//! flock: on the handle's own descriptor — one FUSE handle is one open file description, which
//! is exactly flock's unit. POSIX (and OFD) locks: the kernel names a lock owner per request
//! (a process for POSIX locks, an open file for OFD locks); each (inode, owner) gets its own
//! descriptor in the daemon carrying OFD locks, so owners conflict with each other and never
//! with themselves, and ranges merge and split per owner as POSIX says. An owner's locks go
//! when FLUSH names it (POSIX: any close drops the process's locks) and when the last handle
//! it used is released (OFD: the description is gone). A waiting request (SETLKW, blocking
//! flock) that meets a conflict waits on a thread of its own and replies from there, polling
//! so that an interrupted caller gets EINTR: the request thread goes back to serving at once,
//! which matters because the FLUSH or RELEASE that ends the conflict may be queued behind it
//! (over io_uring, on the same CPU's queue). A non-blocking request that meets a conflict
//! retries briefly (see [`RELEASE_GRACE`]).

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use fusekit::{Ino, InterruptToken, Lock, ReplyEmpty, Request};
use rustix::fs::{FlockOperation, OFlags};
use rustix::io::Errno;

use crate::inode::Inode;
use crate::sys::{ofd_lock, reopen, LockCmd, RecordLock};
use crate::Passthrough;

/// How long a waiting lock request sleeps between attempts.
const RETRY: Duration = Duration::from_millis(5);

/// How long a non-blocking request that met a conflict keeps trying before it answers
/// EAGAIN. The kernel sends RELEASE asynchronously after the last close, so a lock that a
/// program has already let go of (by closing its descriptor) may still be held here for a
/// moment; without this grace a program that closes and immediately relocks from another
/// description would see a conflict that no longer exists.
const RELEASE_GRACE: Duration = Duration::from_millis(20);

/// One attempt to take a lock without waiting: EAGAIN/EACCES mean a conflict.
pub(crate) type Attempt = Box<dyn FnMut() -> Result<(), Errno> + Send>;

fn is_conflict(r: &Result<(), Errno>) -> bool {
    matches!(r, Err(Errno::AGAIN | Errno::ACCESS))
}

/// A non-blocking request: retries `attempt` for [`RELEASE_GRACE`] while it conflicts.
fn retry_briefly(req: &Request<'_>, attempt: &mut Attempt) -> Result<(), Errno> {
    let deadline = std::time::Instant::now() + RELEASE_GRACE;
    loop {
        let r = attempt();
        if !is_conflict(&r) {
            return r;
        }
        if std::time::Instant::now() >= deadline {
            return Err(Errno::AGAIN);
        }
        if req.wait_interrupted(Some(RETRY)) {
            return Err(Errno::INTR);
        }
    }
}

/// A waiting request: answers at once unless the first attempt conflicts; then a thread of
/// its own retries until the lock is taken or the request is interrupted, and replies.
fn take_or_wait(req: &Request<'_>, mut attempt: Attempt, reply: ReplyEmpty) {
    let first = attempt();
    if !is_conflict(&first) {
        return reply.result(first);
    }
    let interrupt = req.interrupt_token();
    let spawned = std::thread::Builder::new()
        .name("passthrough-lock-wait".into())
        .spawn(move || reply.result(wait_for_lock(&interrupt, &mut attempt)));
    if let Err(e) = spawned {
        // The reply moved into the closure is dropped with it: the caller gets EIO.
        tracing::error!(error = %e, "cannot start a lock-wait thread");
    }
}

fn wait_for_lock(interrupt: &InterruptToken, attempt: &mut Attempt) -> Result<(), Errno> {
    loop {
        if interrupt.wait_interrupted(Some(RETRY)) {
            return Err(Errno::INTR);
        }
        let r = attempt();
        if !is_conflict(&r) {
            return r;
        }
    }
}

/// Takes a lock with `attempt` and answers `reply`: a waiting request (`sleep`) that meets a
/// conflict waits on a thread of its own; a non-blocking one retries briefly.
pub(crate) fn lock_with(req: &Request<'_>, mut attempt: Attempt, sleep: bool, reply: ReplyEmpty) {
    if sleep {
        take_or_wait(req, attempt, reply)
    } else {
        reply.result(retry_briefly(req, &mut attempt))
    }
}

/// The kernel's "to end of file" (`OFFSET_MAX`): a GETLK answer must not exceed it.
const OFFSET_MAX: u64 = i64::MAX as u64;

#[derive(Debug)]
struct Owner {
    fd: Arc<OwnedFd>,
    pid: u32,
    handles: Vec<u64>,
}

/// The lock owners of one inode.
#[derive(Debug, Default)]
pub(crate) struct LockOwners {
    owners: HashMap<u64, Owner>,
}

fn to_record(lock: &Lock) -> RecordLock {
    let start = lock.start.min(OFFSET_MAX);
    let len = if lock.end >= OFFSET_MAX {
        0
    } else {
        lock.end.saturating_sub(start) + 1
    };
    RecordLock {
        typ: lock.typ,
        start: start as i64,
        len: len as i64,
        pid: 0,
    }
}

fn to_lock(r: &RecordLock, pid: u32) -> Lock {
    let start = r.start.max(0) as u64;
    let end = if r.len <= 0 {
        OFFSET_MAX
    } else {
        (start + r.len as u64 - 1).min(OFFSET_MAX)
    };
    Lock {
        start,
        end,
        typ: r.typ,
        pid,
    }
}

/// A descriptor of `inode` to carry an owner's OFD locks (read-write when possible, so both
/// lock types work).
fn lock_fd(inode: &Inode) -> Result<OwnedFd, Errno> {
    let base = OFlags::NONBLOCK | OFlags::NOCTTY;
    let path_fd = inode.fd()?;
    let path_fd = path_fd.as_fd();
    reopen(path_fd, OFlags::RDWR | base)
        .or_else(|_| reopen(path_fd, OFlags::RDONLY | base))
        .or_else(|_| reopen(path_fd, OFlags::WRONLY | base))
}

impl Passthrough {
    fn owner_fd(
        &self,
        inode: &Inode,
        owner: u64,
        pid: u32,
        fh: u64,
    ) -> Result<Arc<OwnedFd>, Errno> {
        let mut owners = inode.locks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = owners.owners.get_mut(&owner) {
            if pid != 0 {
                o.pid = pid;
            }
            if !o.handles.contains(&fh) {
                o.handles.push(fh);
            }
            return Ok(Arc::clone(&o.fd));
        }
        let fd = Arc::new(lock_fd(inode)?);
        owners.owners.insert(
            owner,
            Owner {
                fd: Arc::clone(&fd),
                pid,
                handles: vec![fh],
            },
        );
        Ok(fd)
    }

    pub(crate) fn do_getlk(
        &self,
        ino: Ino,
        fh: u64,
        owner: u64,
        lock: &Lock,
    ) -> Result<Lock, Errno> {
        let inode = self.inodes.get(ino)?;
        let fd = self.owner_fd(&inode, owner, 0, fh)?;
        let mut r = to_record(lock);
        ofd_lock(fd.as_fd(), LockCmd::Get, &mut r)?;
        if r.typ == libc::F_UNLCK {
            return Ok(Lock {
                typ: libc::F_UNLCK,
                ..*lock
            });
        }
        // Which owner holds it? The holder's own view of the same range does not see it.
        let others: Vec<(u32, Arc<OwnedFd>)> = {
            let owners = inode.locks.lock().unwrap_or_else(|p| p.into_inner());
            owners
                .owners
                .iter()
                .filter(|(k, _)| **k != owner)
                .map(|(_, o)| (o.pid, Arc::clone(&o.fd)))
                .collect()
        };
        let mut pid = 0;
        for (p, other) in others {
            let mut probe = RecordLock {
                typ: libc::F_WRLCK,
                pid: 0,
                ..r
            };
            if ofd_lock(other.as_fd(), LockCmd::Get, &mut probe).is_ok()
                && (probe.typ == libc::F_UNLCK || probe.start != r.start || probe.len != r.len)
            {
                pid = p;
                break;
            }
        }
        Ok(to_lock(&r, pid))
    }

    /// The attempt that sets `lock` for `owner`; `None` when it was an unlock, already done.
    pub(crate) fn record_lock_attempt(
        &self,
        ino: Ino,
        fh: u64,
        owner: u64,
        lock: &Lock,
    ) -> Result<Option<Attempt>, Errno> {
        let inode = self.inodes.get(ino)?;
        if lock.typ == libc::F_UNLCK {
            let fd = {
                let owners = inode.locks.lock().unwrap_or_else(|p| p.into_inner());
                owners.owners.get(&owner).map(|o| Arc::clone(&o.fd))
            };
            if let Some(fd) = fd {
                ofd_lock(fd.as_fd(), LockCmd::Set, &mut to_record(lock))?;
            }
            return Ok(None);
        }
        let fd = self.owner_fd(&inode, owner, lock.pid, fh)?;
        let record = to_record(lock);
        Ok(Some(Box::new(move || {
            let mut record = record;
            ofd_lock(fd.as_fd(), LockCmd::Set, &mut record)
        })))
    }

    /// The attempt that applies flock(2) operation `typ` to handle `fh`.
    pub(crate) fn flock_attempt(&self, fh: u64, typ: i32) -> Result<Option<Attempt>, Errno> {
        let handle = self.files.get(fh)?;
        let op = match typ {
            libc::F_RDLCK => FlockOperation::NonBlockingLockShared,
            libc::F_WRLCK => FlockOperation::NonBlockingLockExclusive,
            libc::F_UNLCK => FlockOperation::Unlock,
            _ => return Err(Errno::INVAL),
        };
        Ok(Some(Box::new(move || rustix::fs::flock(handle.fd(), op))))
    }

    /// FLUSH: the owner closed a descriptor of the file, which drops its POSIX locks.
    pub(crate) fn drop_lock_owner(&self, inode: &Inode, owner: u64) {
        let mut owners = inode.locks.lock().unwrap_or_else(|p| p.into_inner());
        owners.owners.remove(&owner);
    }

    /// RELEASE: owners that only used this handle are gone (OFD locks die with their open
    /// file description).
    pub(crate) fn drop_lock_handle(&self, inode: &Inode, fh: u64) {
        let mut owners = inode.locks.lock().unwrap_or_else(|p| p.into_inner());
        owners.owners.retain(|_, o| {
            o.handles.retain(|&h| h != fh);
            !o.handles.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_convert_both_ways() {
        let whole = Lock {
            start: 0,
            end: OFFSET_MAX,
            typ: libc::F_WRLCK,
            pid: 1,
        };
        let r = to_record(&whole);
        assert_eq!((r.start, r.len), (0, 0));
        assert_eq!(to_lock(&r, 1), whole);
        let part = Lock {
            start: 10,
            end: 29,
            typ: libc::F_RDLCK,
            pid: 7,
        };
        let r = to_record(&part);
        assert_eq!((r.start, r.len), (10, 20));
        assert_eq!(to_lock(&r, 7), part);
        // u64::MAX also means "to end of file", and answers never exceed OFFSET_MAX.
        let r = to_record(&Lock {
            end: u64::MAX,
            ..part
        });
        assert_eq!(r.len, 0);
        assert_eq!(to_lock(&r, 0).end, OFFSET_MAX);
    }
}
