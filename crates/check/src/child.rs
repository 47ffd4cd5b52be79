//! A forked child process that performs POSIX record-lock operations (or flock), for the lock
//! and peer cases (POSIX locks belong to a process, so a second process is the only honest way
//! to see a conflict; a child is also the only blocked waiter that can be killed at a
//! deadline). Everything the child needs is prepared before `fork`; the child itself only
//! makes async-signal-safe calls (`fcntl`, `flock`, `read`, `write`, `_exit`), so forking from
//! this multi-threaded process is sound. The parent talks to it over two pipes and never waits
//! for EOF (other children may hold copies of the write ends), only for exact byte counts; a
//! child whose answers never came is killed, not waited for.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitOptions};

/// The `cmd` of a [`LockOp`] that calls `flock(fd, kind)` instead of `fcntl`.
pub const FLOCK: libc::c_int = -1;

/// One lock request: `F_SETLK`/`F_SETLKW`/`F_GETLK` with a type and byte range, or
/// [`FLOCK`] with a `LOCK_*` operation.
#[derive(Debug, Clone, Copy)]
pub struct LockOp {
    /// `libc::F_SETLK`, `libc::F_SETLKW` or `libc::F_GETLK` (or the `F_OFD_*` forms), or
    /// [`FLOCK`].
    pub cmd: libc::c_int,
    /// `libc::F_RDLCK`, `libc::F_WRLCK` or `libc::F_UNLCK` (for [`FLOCK`]: `libc::LOCK_EX`,
    /// `LOCK_SH`, `LOCK_UN`, optionally with `LOCK_NB`).
    pub kind: libc::c_int,
    /// First byte.
    pub start: i64,
    /// Length (0 = to end of file and beyond).
    pub len: i64,
}

/// What a lock call answered: `Ok` (and for `F_GETLK` the conflicting type and pid) or errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockAnswer {
    /// 0 on success, otherwise the errno.
    pub errno: i32,
    /// For `F_GETLK`: the `l_type` reported (F_UNLCK when no conflict).
    pub kind: i32,
    /// For `F_GETLK`: the `l_pid` reported.
    pub pid: i32,
}

impl LockOp {
    fn flock(&self) -> libc::flock {
        // SAFETY: `flock` is a plain C struct for which all-zero bytes are a valid value.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = self.kind as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        fl.l_start = self.start;
        fl.l_len = self.len;
        fl
    }
}

/// Performs one lock operation in this process.
pub fn lock(fd: BorrowedFd<'_>, op: LockOp) -> LockAnswer {
    let mut fl = op.flock();
    // SAFETY: `fd` is a live descriptor and `fl` a valid, exclusively borrowed flock struct
    // that outlives the call; fcntl lock commands read and (for GETLK) write only that struct.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), op.cmd, &mut fl as *mut libc::flock) };
    answer(r, &fl)
}

fn answer(r: libc::c_int, fl: &libc::flock) -> LockAnswer {
    let errno = if r < 0 {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    } else {
        0
    };
    LockAnswer {
        errno,
        kind: fl.l_type as i32,
        pid: fl.l_pid,
    }
}

/// A running child: it performs its operations (the answers are read by [`LockChild::spawn`]
/// or [`LockChild::collect`]) and then holds its locks until [`LockChild::finish`] (or drop)
/// tells it to exit.
#[derive(Debug)]
pub struct LockChild {
    pid: Option<Pid>,
    go: OwnedFd,
    res: OwnedFd,
    buf: Vec<u8>,
    got: usize,
    /// One answer per operation, in order (complete once collected).
    pub answers: Vec<LockAnswer>,
}

const ANSWER_BYTES: usize = 12;

impl LockChild {
    /// Forks a child that runs `ops` on `fd` in order, reports each answer, then waits; returns
    /// once every answer is in.
    pub fn spawn(fd: BorrowedFd<'_>, ops: &[LockOp]) -> rustix::io::Result<LockChild> {
        let mut child = LockChild::start(fd, ops)?;
        child.collect(None)?;
        Ok(child)
    }

    /// Forks the child like [`LockChild::spawn`] but returns at once, before its answers (an
    /// operation may block, e.g. `F_SETLKW`); read them with [`LockChild::collect`].
    pub fn start(fd: BorrowedFd<'_>, ops: &[LockOp]) -> rustix::io::Result<LockChild> {
        let (res_r, res_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let (go_r, go_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let mut prepared: Vec<(libc::c_int, libc::flock)> =
            ops.iter().map(|o| (o.cmd, o.flock())).collect();
        let raw = fd.as_raw_fd();
        let (rw, gr) = (res_w.as_raw_fd(), go_r.as_raw_fd());
        // SAFETY: after fork the child touches only memory prepared above (no allocation, no
        // locks) and calls only async-signal-safe functions (fcntl, flock, write, read,
        // _exit); it never returns into Rust code of the parent's threads.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(Errno::from_raw_os_error(
                std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO),
            ));
        }
        if pid == 0 {
            // SAFETY: child side, see above; `_exit` never returns.
            unsafe { child_main(raw, &mut prepared, rw, gr) }
        }
        drop(res_w);
        drop(go_r);
        Ok(LockChild {
            pid: Pid::from_raw(pid),
            go: go_w,
            res: res_r,
            buf: vec![0u8; ops.len() * ANSWER_BYTES],
            got: 0,
            answers: Vec::new(),
        })
    }

    /// Reads the child's remaining answers, waiting at most `limit` (forever with `None`).
    /// `Ok(false)` when the limit passed first (the answers stay incomplete).
    pub fn collect(&mut self, limit: Option<Duration>) -> rustix::io::Result<bool> {
        let t0 = Instant::now();
        while self.got < self.buf.len() {
            if let Some(limit) = limit {
                let Some(left) = limit.checked_sub(t0.elapsed()) else {
                    return Ok(false);
                };
                let ts = rustix::time::Timespec {
                    tv_sec: left.as_secs() as _,
                    tv_nsec: left.subsec_nanos() as _,
                };
                let mut fds = [PollFd::new(&self.res, PollFlags::IN)];
                match rustix::event::poll(&mut fds, Some(&ts)) {
                    Ok(0) => return Ok(false),
                    Ok(_) | Err(Errno::INTR) => {}
                    Err(e) => return Err(e),
                }
                if fds[0].revents().is_empty() {
                    continue;
                }
            }
            match rustix::io::read(&self.res, &mut self.buf[self.got..]) {
                Ok(0) => return Err(Errno::PIPE),
                Ok(n) => self.got += n,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            }
        }
        self.answers = self
            .buf
            .chunks(ANSWER_BYTES)
            .map(|c| {
                let word = |i: usize| i32::from_ne_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                LockAnswer {
                    errno: word(0),
                    kind: word(4),
                    pid: word(8),
                }
            })
            .collect();
        Ok(true)
    }

    /// The child's pid.
    pub fn pid(&self) -> i32 {
        self.pid.map(|p| p.as_raw_nonzero().get()).unwrap_or(0)
    }

    /// A handle that releases the child from another thread.
    pub fn go_fd(&self) -> BorrowedFd<'_> {
        self.go.as_fd()
    }

    /// Tells the child to exit (releasing its locks) and reaps it.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = rustix::io::write(&self.go, b"x");
        if let Some(pid) = self.pid.take() {
            if self.got < self.buf.len() {
                // Still inside an operation (a blocked waiter): it cannot read the go byte.
                let _ = rustix::process::kill_process(pid, Signal::KILL);
            }
            let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
        }
    }
}

impl Drop for LockChild {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Releases a child through its go pipe (usable from another thread).
pub fn release(go: BorrowedFd<'_>) {
    let _ = rustix::io::write(go, b"x");
}

/// The child's whole life.
///
/// # Safety
/// Must only be called in the child right after `fork`; touches only `ops` and raw fds.
unsafe fn child_main(
    fd: libc::c_int,
    ops: &mut [(libc::c_int, libc::flock)],
    res_w: libc::c_int,
    go_r: libc::c_int,
) -> ! {
    for (cmd, fl) in ops.iter_mut() {
        let r = if *cmd == FLOCK {
            // SAFETY: fd is inherited and open; flock takes only integers.
            unsafe { libc::flock(fd, fl.l_type as libc::c_int) }
        } else {
            // SAFETY: fd is inherited and open; fl is a valid flock owned by this loop.
            unsafe { libc::fcntl(fd, *cmd, fl as *mut libc::flock) }
        };
        // SAFETY: __errno_location is async-signal-safe and returns this thread's errno.
        let e = if r < 0 {
            unsafe { *libc::__errno_location() }
        } else {
            0
        };
        let mut out = [0u8; ANSWER_BYTES];
        out[..4].copy_from_slice(&e.to_ne_bytes());
        out[4..8].copy_from_slice(&(fl.l_type as i32).to_ne_bytes());
        out[8..].copy_from_slice(&fl.l_pid.to_ne_bytes());
        // SAFETY: writing a stack buffer to an open pipe; a 12-byte write is atomic.
        unsafe { libc::write(res_w, out.as_ptr().cast(), ANSWER_BYTES) };
    }
    let mut b = [0u8; 1];
    // SAFETY: reading into a stack buffer from an open pipe; returns on a byte or EOF.
    unsafe { libc::read(go_r, b.as_mut_ptr().cast(), 1) };
    // SAFETY: _exit ends the child without running the parent's atexit handlers or destructors.
    unsafe { libc::_exit(0) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{Mode, OFlags};

    #[test]
    fn a_blocked_waiter_is_reported_as_blocked_and_killed_on_drop() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fd = rustix::fs::open(
            dir.path().join("f"),
            OFlags::CREATE | OFlags::RDWR | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .expect("create");
        let whole = |cmd, kind| LockOp {
            cmd,
            kind,
            start: 0,
            len: 0,
        };
        let holder =
            LockChild::spawn(fd.as_fd(), &[whole(libc::F_SETLK, libc::F_WRLCK)]).expect("holder");
        assert_eq!(holder.answers[0].errno, 0);
        let mut waiter =
            LockChild::start(fd.as_fd(), &[whole(libc::F_SETLKW, libc::F_WRLCK)]).expect("waiter");
        let t0 = Instant::now();
        assert_eq!(waiter.collect(Some(Duration::from_millis(100))), Ok(false));
        assert!(t0.elapsed() >= Duration::from_millis(100));
        drop(waiter);
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "drop waited for the blocked child"
        );
        holder.finish();
    }

    #[test]
    fn flock_ops_run_in_the_child() {
        let dir = tempfile::tempdir().expect("temp dir");
        let open = || {
            rustix::fs::open(
                dir.path().join("f"),
                OFlags::CREATE | OFlags::RDWR | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o644),
            )
            .expect("open")
        };
        let (a, b) = (open(), open());
        rustix::fs::flock(&a, rustix::fs::FlockOperation::LockExclusive).expect("flock a");
        let op = LockOp {
            cmd: FLOCK,
            kind: libc::LOCK_EX | libc::LOCK_NB,
            start: 0,
            len: 0,
        };
        let ch = LockChild::spawn(b.as_fd(), &[op]).expect("child");
        assert_eq!(ch.answers[0].errno, libc::EWOULDBLOCK);
        ch.finish();
    }
}
