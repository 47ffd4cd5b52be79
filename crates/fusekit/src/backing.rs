//! Kernel passthrough (7.40+, FUSE_PASSTHROUGH): registering a backing file with the kernel
//! (FUSE_DEV_IOC_BACKING_OPEN) yields an id an OPEN/CREATE reply can carry, after which the
//! kernel does read/write/mmap on the backing file itself. The id is released
//! (FUSE_DEV_IOC_BACKING_CLOSE) when the last [`BackingId`] clone is dropped — keep it while
//! any handle opened with it is open.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Arc;

use fusekit_abi as abi;
use rustix::io::Errno;

use crate::transport::ControlPath;

struct BackingOpen(abi::BackingMap);

// SAFETY: FUSE_DEV_IOC_BACKING_OPEN reads a `fuse_backing_map` through the pointer and
// returns the new id as the ioctl's return value; it writes nothing to user memory.
unsafe impl rustix::ioctl::Ioctl for BackingOpen {
    type Output = i32;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> rustix::ioctl::Opcode {
        abi::ioctl::DEV_IOC_BACKING_OPEN as rustix::ioctl::Opcode
    }

    fn as_ptr(&mut self) -> *mut core::ffi::c_void {
        (&mut self.0 as *mut abi::BackingMap).cast()
    }

    unsafe fn output_from_ptr(
        out: rustix::ioctl::IoctlOutput,
        _: *mut core::ffi::c_void,
    ) -> rustix::io::Result<i32> {
        Ok(out)
    }
}

struct BackingIdInner {
    id: i32,
    control: Arc<dyn ControlPath>,
}

impl Drop for BackingIdInner {
    fn drop(&mut self) {
        const CLOSE: rustix::ioctl::Opcode =
            abi::ioctl::DEV_IOC_BACKING_CLOSE as rustix::ioctl::Opcode;
        let id = self.id as u32;
        let Some(dev) = self.control.device() else {
            return;
        };
        // SAFETY: FUSE_DEV_IOC_BACKING_CLOSE reads one u32 (the id) through the pointer that
        // Setter passes; `id` outlives the call.
        let result =
            unsafe { rustix::ioctl::ioctl(dev, rustix::ioctl::Setter::<CLOSE, u32>::new(id)) };
        if let Err(e) = result {
            // ENOTCONN/ENODEV after unmount: the kernel already dropped every id.
            tracing::debug!(id = self.id, error = %e, "closing a backing id failed");
        }
    }
}

/// A backing file registered with the kernel. Clones share the id; the kernel releases it when
/// the last clone is dropped.
#[derive(Clone)]
pub struct BackingId {
    inner: Arc<BackingIdInner>,
}

impl std::fmt::Debug for BackingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BackingId").field(&self.inner.id).finish()
    }
}

impl BackingId {
    /// The id to put in an open reply (`OpenOptions::backing_id`).
    pub fn id(&self) -> i32 {
        self.inner.id
    }
}

/// Registers backing files for one session. Obtain it from `Request::backing()`.
#[derive(Debug, Clone)]
pub struct Backing {
    control: Arc<dyn ControlPath>,
}

impl Backing {
    pub(crate) fn new(control: Arc<dyn ControlPath>) -> Self {
        Backing { control }
    }

    /// Registers `file` (opened for the I/O the kernel should do on it). Fails with EPERM
    /// without CAP_SYS_ADMIN or when writeback cache is on, EOPNOTSUPP/EINVAL when
    /// passthrough was not negotiated, ENOTTY on kernels without it.
    pub fn open(&self, file: BorrowedFd<'_>) -> Result<BackingId, Errno> {
        let map = abi::BackingMap {
            fd: file.as_raw_fd(),
            flags: 0,
            padding: 0,
        };
        // A transport without a FUSE device has no kernel passthrough.
        let dev = self.control.device().ok_or(Errno::OPNOTSUPP)?;
        // SAFETY: BackingOpen's Ioctl impl matches the kernel's contract (see above), and
        // the map lives across the call.
        let id = unsafe { rustix::ioctl::ioctl(dev, BackingOpen(map)) }?;
        Ok(BackingId {
            inner: Arc::new(BackingIdInner {
                id,
                control: Arc::clone(&self.control),
            }),
        })
    }
}
