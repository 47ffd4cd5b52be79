//! Coherence between two mounts (`--peer DIR2`), part three: locks. A POSIX record lock (held
//! by a child process on A, tried by a child process on B), an OFD lock and a flock taken
//! through A must exclude B, release must let B in, and a blocked waiter on B (F_SETLKW or
//! flock without LOCK_NB, in a child that is killed at the deadline) must wake when A
//! releases. A filesystem whose locks answer "unsupported" on A skips with that answer.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::fs::{FlockOperation, OFlags};
use rustix::io::Errno;

use crate::child::{lock, LockChild, LockOp, FLOCK};
use crate::ctx::Ctx;
use crate::peer::Peer;
use crate::util::*;

cases! { "peer";
    peer_posix_lock_excludes ["peer"] "a POSIX write lock held by a process through A makes another process's F_SETLK through B fail, and F_GETLK report it; release lets B in";
    peer_ofd_lock_excludes ["peer"] "an OFD write lock taken through A makes F_OFD_SETLK through B fail with EAGAIN; close lets B in";
    peer_flock_excludes ["peer"] "flock LOCK_EX through A makes LOCK_NB attempts through B fail with EWOULDBLOCK; LOCK_UN lets B in";
    peer_posix_waiter_wakes ["peer"] "a process blocked in F_SETLKW through B wakes and gets the lock when A's holder exits";
    peer_flock_waiter_wakes ["peer"] "a process blocked in flock LOCK_EX through B wakes and gets the lock when A unlocks";
}

/// How long a waiter must stay blocked before A releases, to show it really waited.
const BLOCKED: Duration = Duration::from_millis(150);

fn op(cmd: libc::c_int, kind: libc::c_int) -> LockOp {
    LockOp {
        cmd,
        kind,
        start: 0,
        len: 0,
    }
}

fn errno_of(e: i32) -> String {
    if e == 0 {
        "success".into()
    } else {
        errno_name(Errno::from_raw_os_error(e))
    }
}

/// The file `f` open read-write on A and on B (once B sees it).
fn both(c: &Ctx, b: &Peer) -> R<(OwnedFd, OwnedFd)> {
    c.create("f", &[0u8; 100])?;
    b.wait_present("f created on A found on B", "f")?;
    let fa = c.open("f", OFlags::RDWR)?;
    let fb = b.try_open("f", OFlags::RDWR).must("open f on B")?;
    Ok((fa, fb))
}

/// A's own lock attempt: success goes on, "unsupported" skips, anything else fails.
fn on_a(what: &str, e: i32) -> R<()> {
    match e {
        0 => Ok(()),
        libc::ENOLCK | libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL => {
            Err(skip(format!("{what} through A answered {}", errno_of(e))))
        }
        _ => Err(fail("success", errno_of(e), format!("{what} through A"))),
    }
}

fn conflict(what: &str, e: i32, wants: &[i32]) -> R<()> {
    let names: Vec<String> = wants.iter().map(|w| errno_of(*w)).collect();
    check(what, wants.contains(&e), names.join(" or "), errno_of(e))
}

fn peer_posix_lock_excludes(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    let (fa, fb) = both(c, &b)?;
    let holder = LockChild::spawn(fa.as_fd(), &[op(libc::F_SETLK, libc::F_WRLCK)])
        .must("fork the lock holder on A")?;
    on_a("F_SETLK write lock", holder.answers[0].errno)?;
    let tries = LockChild::spawn(
        fb.as_fd(),
        &[
            op(libc::F_SETLK, libc::F_WRLCK),
            op(libc::F_GETLK, libc::F_WRLCK),
        ],
    )
    .must("fork a process on B")?;
    let answers = tries.answers.clone();
    tries.finish();
    conflict(
        "F_SETLK through B while a process holds a write lock through A",
        answers[0].errno,
        &[libc::EAGAIN, libc::EACCES],
    )?;
    check_eq("F_GETLK type through B", libc::F_WRLCK, answers[1].kind)?;
    holder.finish();
    b.wait("F_SETLK through B succeeds after A's holder exited", || {
        let ch = LockChild::spawn(fb.as_fd(), &[op(libc::F_SETLK, libc::F_WRLCK)])
            .map_err(|e| format!("fork: {}", errno_name(e)))?;
        match ch.answers[0].errno {
            0 => Ok(()),
            e => Err(format!("F_SETLK answered {}", errno_of(e))),
        }
    })
}

fn peer_ofd_lock_excludes(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    let (fa, fb) = both(c, &b)?;
    on_a(
        "F_OFD_SETLK write lock",
        lock(fa.as_fd(), op(libc::F_OFD_SETLK, libc::F_WRLCK)).errno,
    )?;
    conflict(
        "F_OFD_SETLK through B while A holds an OFD write lock",
        lock(fb.as_fd(), op(libc::F_OFD_SETLK, libc::F_WRLCK)).errno,
        &[libc::EAGAIN],
    )?;
    let r = lock(fb.as_fd(), op(libc::F_OFD_GETLK, libc::F_WRLCK));
    check_eq("F_OFD_GETLK errno through B", 0, r.errno)?;
    check_eq("F_OFD_GETLK type through B", libc::F_WRLCK, r.kind)?;
    drop(fa);
    b.wait(
        "F_OFD_SETLK through B succeeds after A closed",
        || match lock(fb.as_fd(), op(libc::F_OFD_SETLK, libc::F_WRLCK)).errno {
            0 => Ok(()),
            e => Err(format!("F_OFD_SETLK answered {}", errno_of(e))),
        },
    )
}

fn flock_errno(r: rustix::io::Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e.raw_os_error(),
    }
}

fn peer_flock_excludes(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    let (fa, fb) = both(c, &b)?;
    on_a(
        "flock LOCK_EX|LOCK_NB",
        flock_errno(rustix::fs::flock(
            &fa,
            FlockOperation::NonBlockingLockExclusive,
        )),
    )?;
    for (what, how) in [
        ("LOCK_EX|LOCK_NB", FlockOperation::NonBlockingLockExclusive),
        ("LOCK_SH|LOCK_NB", FlockOperation::NonBlockingLockShared),
    ] {
        conflict(
            &format!("flock {what} through B while A holds LOCK_EX"),
            flock_errno(rustix::fs::flock(&fb, how)),
            &[libc::EWOULDBLOCK],
        )?;
    }
    rustix::fs::flock(&fa, FlockOperation::Unlock).must("flock LOCK_UN through A")?;
    b.wait(
        "flock LOCK_EX|LOCK_NB through B succeeds after A's LOCK_UN",
        || match flock_errno(rustix::fs::flock(
            &fb,
            FlockOperation::NonBlockingLockExclusive,
        )) {
            0 => Ok(()),
            e => Err(format!("flock answered {}", errno_of(e))),
        },
    )
}

/// Starts `waiter` on B, proves it stays blocked while A holds the lock, calls `release`, and
/// waits (bounded) for the waiter to get the lock. A waiter still blocked is killed on drop.
fn blocked_then_woken(
    b: &Peer,
    fb: &OwnedFd,
    waiter: LockOp,
    what: &str,
    release: impl FnOnce() -> R<()>,
) -> R<()> {
    let mut w = LockChild::start(fb.as_fd(), &[waiter]).must("fork the waiter on B")?;
    let early = w.collect(Some(BLOCKED)).must("poll the waiter")?;
    if early {
        return Err(fail(
            "blocked while A holds the lock",
            format!("returned at once with {}", errno_of(w.answers[0].errno)),
            format!("{what} through B"),
        ));
    }
    release()?;
    b.wait(
        &format!("{what} through B woken after A released"),
        || match w.collect(Some(Duration::from_millis(20))) {
            Ok(true) => Ok(()),
            Ok(false) => Err("still blocked".into()),
            Err(e) => Err(format!("reading the waiter: {}", errno_name(e))),
        },
    )?;
    let e = w.answers[0].errno;
    w.finish();
    check(
        &format!("{what} through B after waking"),
        e == 0,
        "success",
        errno_of(e),
    )
}

fn peer_posix_waiter_wakes(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    let (fa, fb) = both(c, &b)?;
    let holder = LockChild::spawn(fa.as_fd(), &[op(libc::F_SETLK, libc::F_WRLCK)])
        .must("fork the lock holder on A")?;
    on_a("F_SETLK write lock", holder.answers[0].errno)?;
    blocked_then_woken(
        &b,
        &fb,
        op(libc::F_SETLKW, libc::F_WRLCK),
        "F_SETLKW",
        || {
            holder.finish();
            Ok(())
        },
    )
}

fn peer_flock_waiter_wakes(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    let (fa, fb) = both(c, &b)?;
    on_a(
        "flock LOCK_EX|LOCK_NB",
        flock_errno(rustix::fs::flock(
            &fa,
            FlockOperation::NonBlockingLockExclusive,
        )),
    )?;
    blocked_then_woken(&b, &fb, op(FLOCK, libc::LOCK_EX), "flock LOCK_EX", || {
        rustix::fs::flock(&fa, FlockOperation::Unlock).must("flock LOCK_UN through A")
    })
}
