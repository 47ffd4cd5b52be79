//! Locks: POSIX record locks between processes (a forked child, see `child.rs`), OFD locks
//! between open file descriptions of one process, and flock(2). Conflicts, sharing, release on
//! exit/close (including POSIX's release-on-any-close), F_GETLK reports and blocking waits.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, OFlags};
use rustix::io::Errno;

use crate::child::{lock, release, LockChild, LockOp};
use crate::ctx::Ctx;
use crate::util::*;

cases! { "lock";
    posix_lock_conflict_across_processes [] "a POSIX write lock held by another process makes F_SETLK fail with EAGAIN/EACCES";
    posix_getlk_reports_owner [] "F_GETLK reports the conflicting lock's type and the holder's pid";
    posix_getlk_unlocked_reports_unlck [] "F_GETLK on an unlocked range reports F_UNLCK";
    posix_lock_released_on_child_exit [] "a process's POSIX locks go away when it exits";
    posix_lock_disjoint_ranges_ok [] "POSIX write locks on disjoint ranges do not conflict";
    posix_read_locks_shared [] "POSIX read locks are shared but block a write lock";
    posix_lock_released_on_any_close [] "closing any descriptor of the file drops the process's POSIX locks";
    posix_relock_own_range_ok [] "a process can re-lock and downgrade its own range without conflict";
    posix_setlkw_waits_for_release [] "F_SETLKW blocks until the other process releases, then succeeds";
    ofd_lock_conflict_between_descriptions [] "OFD write locks on two open descriptions conflict (EAGAIN)";
    ofd_read_locks_shared [] "OFD read locks on two descriptions are shared";
    ofd_lock_released_on_close [] "closing the description releases its OFD lock";
    ofd_conflicts_with_posix_lock [] "an OFD lock conflicts with a POSIX lock of the same process";
    ofd_getlk_reports_pid_minus_one [] "F_OFD_GETLK reports a conflicting OFD lock with l_pid -1";
    flock_exclusive_conflict [] "flock LOCK_EX on a second description fails with EWOULDBLOCK under LOCK_NB";
    flock_shared_ok [] "flock LOCK_SH on two descriptions both succeed";
    flock_unlock_allows_other [] "after LOCK_UN, another description can take LOCK_EX";
    flock_close_releases [] "closing the description releases its flock";
    flock_independent_of_posix [] "flock and POSIX locks do not conflict with each other on Linux";
    flock_listed_in_proc_locks [] "a held flock shows in /proc/locks (what lslocks reads) as a FLOCK WRITE lock of the file's inode, and is gone after LOCK_UN";
    posix_unlock_middle_splits_lock [] "unlocking the middle of a POSIX lock splits it: the middle is free, the ends stay locked";
    posix_lock_beyond_eof_ok [] "POSIX locks may cover bytes beyond end of file and still conflict there";
}

fn op(cmd: libc::c_int, kind: libc::c_int, start: i64, len: i64) -> LockOp {
    LockOp {
        cmd,
        kind,
        start,
        len,
    }
}

fn file(c: &Ctx) -> R<std::os::fd::OwnedFd> {
    c.create("f", &[0u8; 1000])?;
    c.open("f", OFlags::RDWR)
}

fn errno_of(e: i32) -> String {
    if e == 0 {
        "success".into()
    } else {
        errno_name(Errno::from_raw_os_error(e))
    }
}

fn want_ok(what: &str, e: i32) -> R<()> {
    check(what, e == 0, "success", errno_of(e))
}

fn want_conflict(what: &str, e: i32) -> R<()> {
    check(
        what,
        e == libc::EAGAIN || e == libc::EACCES,
        "EAGAIN or EACCES",
        errno_of(e),
    )
}

fn child_holding(fd: &std::os::fd::OwnedFd, o: LockOp) -> R<LockChild> {
    let ch = LockChild::spawn(fd.as_fd(), &[o]).must("fork lock child")?;
    want_ok("child's lock", ch.answers[0].errno)?;
    Ok(ch)
}

fn posix_lock_conflict_across_processes(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    let ch = child_holding(&fd, op(libc::F_SETLK, libc::F_WRLCK, 0, 0))?;
    want_conflict(
        "F_SETLK write lock while the child holds one",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 10, 10)).errno,
    )?;
    ch.finish();
    Ok(())
}

fn posix_getlk_reports_owner(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    let ch = child_holding(&fd, op(libc::F_SETLK, libc::F_WRLCK, 10, 20))?;
    let a = lock(fd.as_fd(), op(libc::F_GETLK, libc::F_WRLCK, 0, 100));
    want_ok("F_GETLK", a.errno)?;
    check_eq("l_type reported", libc::F_WRLCK, a.kind)?;
    check_eq("l_pid reported", ch.pid(), a.pid)?;
    ch.finish();
    Ok(())
}

fn posix_getlk_unlocked_reports_unlck(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    let a = lock(fd.as_fd(), op(libc::F_GETLK, libc::F_WRLCK, 0, 0));
    want_ok("F_GETLK", a.errno)?;
    check_eq("l_type reported", libc::F_UNLCK, a.kind)
}

fn posix_lock_released_on_child_exit(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    let ch = child_holding(&fd, op(libc::F_SETLK, libc::F_WRLCK, 0, 0))?;
    want_conflict(
        "lock while the child lives",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )?;
    ch.finish();
    want_ok(
        "lock after the child exited",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )
}

fn posix_lock_disjoint_ranges_ok(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    let ch = child_holding(&fd, op(libc::F_SETLK, libc::F_WRLCK, 0, 100))?;
    want_ok(
        "lock 100..200 while the child holds 0..100",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 100, 100)).errno,
    )?;
    want_conflict(
        "lock 99..101",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 99, 2)).errno,
    )?;
    ch.finish();
    Ok(())
}

fn posix_read_locks_shared(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    let ch = child_holding(&fd, op(libc::F_SETLK, libc::F_RDLCK, 0, 0))?;
    want_ok(
        "read lock beside the child's read lock",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_RDLCK, 0, 0)).errno,
    )?;
    want_conflict(
        "write lock over the child's read lock",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )?;
    ch.finish();
    Ok(())
}

fn posix_lock_released_on_any_close(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    want_ok(
        "parent's lock",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )?;
    let probe =
        LockChild::spawn(fd.as_fd(), &[op(libc::F_SETLK, libc::F_WRLCK, 0, 0)]).must("fork")?;
    want_conflict(
        "child's lock while the parent holds one",
        probe.answers[0].errno,
    )?;
    probe.finish();
    let other = c.open("f", OFlags::RDONLY)?;
    drop(other);
    let ch =
        LockChild::spawn(fd.as_fd(), &[op(libc::F_SETLK, libc::F_WRLCK, 0, 0)]).must("fork")?;
    want_ok(
        "child's lock after the parent closed another fd of the file",
        ch.answers[0].errno,
    )?;
    ch.finish();
    Ok(())
}

fn posix_relock_own_range_ok(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    want_ok(
        "write lock 0..100",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 0, 100)).errno,
    )?;
    want_ok(
        "write lock 50..150 (own overlap)",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 50, 100)).errno,
    )?;
    want_ok(
        "downgrade 0..150 to read",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_RDLCK, 0, 150)).errno,
    )?;
    let ch = LockChild::spawn(
        fd.as_fd(),
        &[
            op(libc::F_GETLK, libc::F_WRLCK, 0, 0),
            op(libc::F_SETLK, libc::F_RDLCK, 0, 10),
        ],
    )
    .must("fork")?;
    check_eq("child's F_GETLK type", libc::F_RDLCK, ch.answers[0].kind)?;
    check_eq(
        "child's F_GETLK pid",
        std::process::id() as i32,
        ch.answers[0].pid,
    )?;
    want_ok(
        "child's read lock beside the downgraded lock",
        ch.answers[1].errno,
    )?;
    ch.finish();
    Ok(())
}

fn posix_setlkw_waits_for_release(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    let ch = child_holding(&fd, op(libc::F_SETLK, libc::F_WRLCK, 0, 0))?;
    let t0 = Instant::now();
    let got = std::thread::scope(|s| {
        let go = ch.go_fd();
        s.spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            release(go);
        });
        lock(fd.as_fd(), op(libc::F_SETLKW, libc::F_WRLCK, 0, 0))
    });
    let waited = t0.elapsed();
    ch.finish();
    want_ok("F_SETLKW", got.errno)?;
    check(
        "time blocked in F_SETLKW",
        waited >= Duration::from_millis(100),
        ">= 100 ms",
        format!("{waited:?}"),
    )
}

fn ofd(c: &Ctx) -> R<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    let a = file(c)?;
    let b = c.open("f", OFlags::RDWR)?;
    Ok((a, b))
}

fn ofd_lock_conflict_between_descriptions(c: &Ctx) -> R<()> {
    let (a, b) = ofd(c)?;
    want_ok(
        "OFD write lock on a",
        lock(a.as_fd(), op(libc::F_OFD_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )?;
    let e = lock(b.as_fd(), op(libc::F_OFD_SETLK, libc::F_WRLCK, 0, 10)).errno;
    check(
        "OFD write lock on b",
        e == libc::EAGAIN,
        "EAGAIN",
        errno_of(e),
    )
}

fn ofd_read_locks_shared(c: &Ctx) -> R<()> {
    let (a, b) = ofd(c)?;
    want_ok(
        "OFD read lock on a",
        lock(a.as_fd(), op(libc::F_OFD_SETLK, libc::F_RDLCK, 0, 0)).errno,
    )?;
    want_ok(
        "OFD read lock on b",
        lock(b.as_fd(), op(libc::F_OFD_SETLK, libc::F_RDLCK, 0, 0)).errno,
    )?;
    want_conflict(
        "OFD write lock on b",
        lock(b.as_fd(), op(libc::F_OFD_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )
}

fn ofd_lock_released_on_close(c: &Ctx) -> R<()> {
    let (a, b) = ofd(c)?;
    want_ok(
        "OFD write lock on a",
        lock(a.as_fd(), op(libc::F_OFD_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )?;
    drop(a);
    want_ok(
        "OFD write lock on b after closing a",
        lock(b.as_fd(), op(libc::F_OFD_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )
}

fn ofd_conflicts_with_posix_lock(c: &Ctx) -> R<()> {
    let (a, b) = ofd(c)?;
    want_ok(
        "OFD write lock on a",
        lock(a.as_fd(), op(libc::F_OFD_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )?;
    want_conflict(
        "POSIX write lock on b in the same process",
        lock(b.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )
}

fn ofd_getlk_reports_pid_minus_one(c: &Ctx) -> R<()> {
    let (a, b) = ofd(c)?;
    want_ok(
        "OFD write lock on a",
        lock(a.as_fd(), op(libc::F_OFD_SETLK, libc::F_WRLCK, 5, 5)).errno,
    )?;
    let r = lock(b.as_fd(), op(libc::F_OFD_GETLK, libc::F_WRLCK, 0, 0));
    want_ok("F_OFD_GETLK", r.errno)?;
    check_eq("l_type", libc::F_WRLCK, r.kind)?;
    check_eq("l_pid", -1, r.pid)
}

fn flock_pair(c: &Ctx) -> R<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    ofd(c)
}

fn flock_exclusive_conflict(c: &Ctx) -> R<()> {
    let (a, b) = flock_pair(c)?;
    rustix::fs::flock(&a, FlockOperation::LockExclusive).must("flock a LOCK_EX")?;
    expect_errno(
        "flock b LOCK_EX|LOCK_NB",
        rustix::fs::flock(&b, FlockOperation::NonBlockingLockExclusive),
        Errno::WOULDBLOCK,
    )?;
    expect_errno(
        "flock b LOCK_SH|LOCK_NB",
        rustix::fs::flock(&b, FlockOperation::NonBlockingLockShared),
        Errno::WOULDBLOCK,
    )
}

fn flock_shared_ok(c: &Ctx) -> R<()> {
    let (a, b) = flock_pair(c)?;
    rustix::fs::flock(&a, FlockOperation::NonBlockingLockShared).must("flock a LOCK_SH")?;
    rustix::fs::flock(&b, FlockOperation::NonBlockingLockShared).must("flock b LOCK_SH")?;
    expect_errno(
        "flock b upgrade to LOCK_EX|LOCK_NB",
        rustix::fs::flock(&b, FlockOperation::NonBlockingLockExclusive),
        Errno::WOULDBLOCK,
    )
}

fn flock_unlock_allows_other(c: &Ctx) -> R<()> {
    let (a, b) = flock_pair(c)?;
    rustix::fs::flock(&a, FlockOperation::LockExclusive).must("flock a LOCK_EX")?;
    rustix::fs::flock(&a, FlockOperation::Unlock).must("flock a LOCK_UN")?;
    rustix::fs::flock(&b, FlockOperation::NonBlockingLockExclusive)
        .must("flock b LOCK_EX|LOCK_NB after unlock")
}

fn flock_close_releases(c: &Ctx) -> R<()> {
    let (a, b) = flock_pair(c)?;
    rustix::fs::flock(&a, FlockOperation::LockExclusive).must("flock a LOCK_EX")?;
    drop(a);
    rustix::fs::flock(&b, FlockOperation::NonBlockingLockExclusive)
        .must("flock b LOCK_EX|LOCK_NB after closing a")
}

fn flock_independent_of_posix(c: &Ctx) -> R<()> {
    let (a, b) = flock_pair(c)?;
    rustix::fs::flock(&a, FlockOperation::LockExclusive).must("flock a LOCK_EX")?;
    want_ok(
        "POSIX write lock on b",
        lock(b.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 0, 0)).errno,
    )
}

fn posix_unlock_middle_splits_lock(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    let ch = LockChild::spawn(
        fd.as_fd(),
        &[
            op(libc::F_SETLK, libc::F_WRLCK, 0, 100),
            op(libc::F_SETLK, libc::F_UNLCK, 40, 20),
        ],
    )
    .must("fork")?;
    want_ok("child's lock 0..100", ch.answers[0].errno)?;
    want_ok("child's unlock 40..60", ch.answers[1].errno)?;
    want_ok(
        "lock 45..55 (the freed middle)",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 45, 10)).errno,
    )?;
    want_conflict(
        "lock 10..20",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 10, 10)).errno,
    )?;
    want_conflict(
        "lock 70..80",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 70, 10)).errno,
    )?;
    ch.finish();
    Ok(())
}

fn posix_lock_beyond_eof_ok(c: &Ctx) -> R<()> {
    let fd = file(c)?;
    let ch = child_holding(&fd, op(libc::F_SETLK, libc::F_WRLCK, 1_000_000, 100))?;
    want_conflict(
        "lock at 1000050 (beyond EOF)",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 1_000_050, 1)).errno,
    )?;
    want_ok(
        "lock 0..1000",
        lock(fd.as_fd(), op(libc::F_SETLK, libc::F_WRLCK, 0, 1000)).errno,
    )?;
    ch.finish();
    Ok(())
}

/// The /proc/locks lines of FLOCK locks on inode number `ino`.
fn proc_flocks(ino: u64) -> R<Vec<String>> {
    let text = std::fs::read_to_string("/proc/locks").must("read /proc/locks")?;
    let tail = format!(":{ino} ");
    Ok(text
        .lines()
        .filter(|l| l.contains(" FLOCK ") && l.contains(&tail))
        .map(str::to_owned)
        .collect())
}

fn flock_listed_in_proc_locks(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let fd = c.open("f", OFlags::RDWR)?;
    let ino = c.stat("f")?.ino;
    rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).must("flock LOCK_EX")?;
    let held = proc_flocks(ino)?;
    check(
        "/proc/locks while the flock is held",
        held.iter().any(|l| l.contains(" WRITE ")),
        format!("a FLOCK WRITE line for inode {ino}"),
        if held.is_empty() {
            "none".to_string()
        } else {
            held.join(" | ")
        },
    )?;
    rustix::fs::flock(&fd, FlockOperation::Unlock).must("flock LOCK_UN")?;
    check_eq("FLOCK lines after LOCK_UN", 0, proc_flocks(ino)?.len())
}
