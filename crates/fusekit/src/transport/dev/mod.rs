//! The /dev/fuse transport: one file descriptor per worker (cloned with FUSE_DEV_IOC_CLONE),
//! whole requests read with read(2), whole replies written with writev(2). A reply must be
//! written to the same descriptor its request was read from: the kernel keeps the list of
//! requests being processed per descriptor. `worker` is the read loop (with optional busy
//! polling, `busy_poll`); this module owns the descriptor.

mod busy_poll;
mod worker;

pub(crate) use busy_poll::BusyPoll;
pub(crate) use worker::{run_worker, DevCounters};

use std::io::IoSlice;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use fusekit_abi as abi;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use zerocopy::IntoBytes;

use crate::transport::{ControlPath, FrameSink};

/// An open /dev/fuse descriptor belonging to one session.
#[derive(Debug)]
pub(crate) struct DevFd {
    fd: OwnedFd,
}

impl DevFd {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        DevFd { fd }
    }

    /// Reads one whole request. Errors are returned raw: ENOENT (request gone before it was
    /// read), EINTR and EAGAIN mean "read again"; ENODEV means the filesystem was unmounted.
    pub(crate) fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        rustix::io::read(&self.fd, buf)
    }

    /// Switches reads between blocking and non-blocking (EAGAIN when no request is queued).
    /// The mode belongs to the open file: only for a descriptor one worker owns.
    pub(crate) fn set_nonblocking(&self, on: bool) -> Result<(), Errno> {
        rustix::io::ioctl_fionbio(&self.fd, on)
    }

    /// Opens a new descriptor attached to the same connection (FUSE_DEV_IOC_CLONE), so that a
    /// worker thread has its own request queue position and processing list.
    pub(crate) fn clone_session(&self) -> Result<DevFd, Errno> {
        let fd = rustix::fs::open("/dev/fuse", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())?;
        let fd = above_stdio(fd)?;
        let session_fd = rustix::fd::AsRawFd::as_raw_fd(&self.fd) as u32;
        const CLONE: rustix::ioctl::Opcode = abi::ioctl::DEV_IOC_CLONE as rustix::ioctl::Opcode;
        // SAFETY: FUSE_DEV_IOC_CLONE takes a pointer to a u32 holding the session's fd; the
        // Setter passes a pointer to `session_fd`, which outlives the call.
        unsafe { rustix::ioctl::ioctl(&fd, rustix::ioctl::Setter::<CLONE, u32>::new(session_fd)) }?;
        Ok(DevFd { fd })
    }
}

/// FUSE descriptors never occupy 0–2: a process started with stdio closed would otherwise
/// hand /dev/fuse to code that writes to "stderr".
fn above_stdio(fd: OwnedFd) -> Result<OwnedFd, Errno> {
    if rustix::fd::AsRawFd::as_raw_fd(&fd) > 2 {
        return Ok(fd);
    }
    rustix::io::fcntl_dupfd_cloexec(&fd, 3)
}

impl AsFd for DevFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Most replies are a header plus up to three slices; longer lists fall back to a Vec.
const INLINE_IOVS: usize = 8;

impl FrameSink for DevFd {
    fn send(&self, header: &abi::OutHeader, payload: &[IoSlice<'_>]) -> Result<(), Errno> {
        let written = if payload.len() < INLINE_IOVS {
            let mut iov = [IoSlice::new(&[]); INLINE_IOVS];
            iov[0] = IoSlice::new(header.as_bytes());
            iov[1..=payload.len()].copy_from_slice(payload);
            rustix::io::writev(&self.fd, &iov[..=payload.len()])?
        } else {
            let mut iov = Vec::with_capacity(payload.len() + 1);
            iov.push(IoSlice::new(header.as_bytes()));
            iov.extend_from_slice(payload);
            rustix::io::writev(&self.fd, &iov)?
        };
        // The device consumes a reply whole or fails; a short write would be a kernel bug.
        if written != header.len as usize {
            return Err(Errno::IO);
        }
        Ok(())
    }
}

impl ControlPath for DevFd {
    fn device(&self) -> Option<BorrowedFd<'_>> {
        Some(self.fd.as_fd())
    }
}
