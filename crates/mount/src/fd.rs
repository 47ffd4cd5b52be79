//! File-descriptor hygiene: keeping FUSE fds off 0–2, and the one async-signal-safe step
//! the fusermount3 child performs between fork and exec.
//!
//! Every fd this crate creates is O_CLOEXEC from birth (open, socketpair, recvmsg with
//! MSG_CMSG_CLOEXEC, F_DUPFD_CLOEXEC), so a concurrent fork+exec elsewhere in the process
//! never inherits one.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rustix::io::{fcntl_dupfd_cloexec, fcntl_setfd, FdFlags};

/// The lowest fd number we hand out: 0, 1 and 2 belong to stdio.
const FIRST_NON_STDIO: RawFd = 3;

/// Returns `fd` itself if it is above stdio, else a close-on-exec duplicate at >= 3 (the
/// original is closed). A FUSE fd on 0–2 would be clobbered by anything that re-opens stdio.
pub(crate) fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    at_least(fd, FIRST_NON_STDIO)
}

/// Returns `fd` if its number is >= `min`, else moves it to the lowest free number >= `min`
/// (close-on-exec) and closes the original.
fn at_least(fd: OwnedFd, min: RawFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() >= min {
        return Ok(fd);
    }
    let moved = fcntl_dupfd_cloexec(&fd, min)?;
    drop(fd);
    Ok(moved)
}

/// In a forked child: marks every fd >= 3 close-on-exec, so that nothing the process
/// inherited from *its* parent without O_CLOEXEC leaks into the exec'ed program either.
/// One close_range(2) system call (Linux >= 5.11), async-signal-safe; on older kernels it
/// fails with ENOSYS/EINVAL and is skipped (our own fds are close-on-exec regardless).
pub(crate) fn cloexec_all_above_stdio() {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag in this process's fd
    // table: it closes nothing, touches no memory, and is a plain system call.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            FIRST_NON_STDIO as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
}

/// Clears FD_CLOEXEC on `raw` so that it survives exec. Meant for a `pre_exec` hook: it
/// allocates nothing and makes one fcntl(2) system call, so it is async-signal-safe.
///
/// # Safety
///
/// `raw` must be an open fd for the whole call (in the forked child it is: the parent
/// keeps it open across spawn).
pub(crate) unsafe fn clear_cloexec(raw: RawFd) -> io::Result<()> {
    // SAFETY: the caller guarantees `raw` is open for the duration of this call; the
    // borrow does not outlive it.
    let fd = unsafe { BorrowedFd::borrow_raw(raw) };
    fcntl_setfd(fd, FdFlags::empty())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::io::fcntl_getfd;

    #[test]
    fn keeps_high_fds_as_they_are() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let fd = OwnedFd::from(file);
        let raw = fd.as_raw_fd();
        assert!(raw >= 3);
        assert_eq!(above_stdio(fd).unwrap().as_raw_fd(), raw);
    }

    #[test]
    fn moves_low_fds_up_with_cloexec() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let before = rustix::fs::fstat(&file).unwrap();
        let fd = OwnedFd::from(file);
        let min = fd.as_raw_fd() + 1;
        let moved = at_least(fd, min).unwrap();
        assert!(moved.as_raw_fd() >= min);
        assert!(fcntl_getfd(&moved).unwrap().contains(FdFlags::CLOEXEC));
        let after = rustix::fs::fstat(&moved).unwrap();
        assert_eq!((before.st_dev, before.st_ino), (after.st_dev, after.st_ino));
    }

    #[test]
    fn clear_cloexec_clears_the_flag() {
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(fcntl_getfd(&file).unwrap().contains(FdFlags::CLOEXEC));
        // SAFETY: `file` stays open across the call.
        unsafe { clear_cloexec(file.as_raw_fd()) }.unwrap();
        assert!(!fcntl_getfd(&file).unwrap().contains(FdFlags::CLOEXEC));
    }
}
