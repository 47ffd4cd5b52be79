//! The result of a mount: [`Mount`] (the /dev/fuse fd plus the means to unmount) and
//! [`Unmounter`] (a cloneable, thread-safe handle that unmounts or aborts later).

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::abort::abort_connection;
use crate::error::MountError;
use crate::unmount::{unmount_exact, Identity};

/// Who performed the mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountedBy {
    /// This process, with mount(2).
    Kernel,
    /// The fusermount3 helper.
    Fusermount,
}

/// A mounted FUSE filesystem: the /dev/fuse fd that serves it and its unmounter.
///
/// Nothing answers the kernel until a session reads from [`Mount::fd`]; until then any
/// access to the mountpoint blocks. Dropping a `Mount` unmounts it (lazily) and closes the
/// fd; use [`Mount::into_parts`] to keep the mount alive past this value.
pub struct Mount {
    // Declared first so that it drops first: unmount, then close the fd.
    guard: UnmountOnDrop,
    fd: OwnedFd,
}

impl Mount {
    pub(crate) fn new(fd: OwnedFd, unmounter: Unmounter) -> Self {
        Self {
            guard: UnmountOnDrop {
                unmounter,
                armed: true,
            },
            fd,
        }
    }

    /// The /dev/fuse fd of this mount.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The canonical mountpoint.
    pub fn mountpoint(&self) -> &Path {
        self.guard.unmounter.mountpoint()
    }

    /// How the mount was made.
    pub fn method(&self) -> MountedBy {
        self.guard.unmounter.method()
    }

    /// The FUSE connection id (the name under /sys/fs/fuse/connections), read from
    /// /proc/self/mountinfo right after mounting; `None` if it could not be found there.
    pub fn connection_id(&self) -> Option<u32> {
        self.guard.unmounter.connection_id()
    }

    /// A handle that can unmount or abort this mount from any thread.
    pub fn unmounter(&self) -> Unmounter {
        self.guard.unmounter.clone()
    }

    /// Splits into the fd (for the session) and the unmounter. From then on nothing
    /// unmounts automatically, except fusermount3 when `auto_unmount` was asked for and
    /// the last clone of the `Unmounter` is dropped.
    pub fn into_parts(self) -> (OwnedFd, Unmounter) {
        let Mount { guard, fd } = self;
        (fd, guard.disarm())
    }
}

impl fmt::Debug for Mount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mount")
            .field("fd", &self.fd)
            .field("unmounter", &self.guard.unmounter)
            .finish()
    }
}

/// Unmounts on drop unless disarmed.
struct UnmountOnDrop {
    unmounter: Unmounter,
    armed: bool,
}

impl UnmountOnDrop {
    fn disarm(mut self) -> Unmounter {
        self.armed = false;
        self.unmounter.clone()
    }
}

impl Drop for UnmountOnDrop {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = self.unmounter.unmount() {
                tracing::warn!(error = %e, "unmounting a dropped Mount failed");
            }
        }
    }
}

/// Unmounts (or aborts) one mount, from any thread, any number of times.
///
/// Clones share one mount. With `auto_unmount`, the clones together hold fusermount3's
/// socket: when the last one is dropped, fusermount3 checks the mount and unmounts it if
/// its connection is dead (all /dev/fuse fds closed), so close the fd first — or simply
/// exit. See [`MountOptions::auto_unmount`](crate::MountOptions::auto_unmount).
#[derive(Clone)]
pub struct Unmounter {
    inner: Arc<Inner>,
}

struct Inner {
    id: Identity,
    method: MountedBy,
    fusermount: Option<PathBuf>,
    /// Set once this handle (or a clone) has unmounted: later calls do nothing, even if
    /// a new mount with the same ids has appeared since.
    unmounted: AtomicBool,
    /// Held only so that it closes when the last clone goes.
    auto_unmount_socket: Option<OwnedFd>,
}

impl Unmounter {
    pub(crate) fn new(
        id: Identity,
        method: MountedBy,
        fusermount: Option<PathBuf>,
        auto_unmount_socket: Option<OwnedFd>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                id,
                method,
                fusermount,
                unmounted: AtomicBool::new(false),
                auto_unmount_socket,
            }),
        }
    }

    /// The canonical mountpoint.
    pub fn mountpoint(&self) -> &Path {
        &self.inner.id.mountpoint
    }

    /// How the mount was made.
    pub fn method(&self) -> MountedBy {
        self.inner.method
    }

    /// The FUSE connection id, if known.
    pub fn connection_id(&self) -> Option<u32> {
        self.inner.id.connection_id
    }

    /// Whether fusermount3 will unmount when the last clone is dropped.
    pub fn has_auto_unmount(&self) -> bool {
        self.inner.auto_unmount_socket.is_some()
    }

    /// Whether this mount is still present in /proc/self/mountinfo.
    pub fn is_mounted(&self) -> Result<bool, MountError> {
        if self.inner.unmounted.load(Ordering::Acquire) {
            return Ok(false);
        }
        self.inner.id.still_mounted()
    }

    /// Lazily unmounts: umount2(MNT_DETACH) when privileged, `fusermount3 -u -z`
    /// otherwise. Idempotent: already unmounted is `Ok`.
    ///
    /// The mount is recognised by its path, connection id and mount id. Once this handle
    /// has unmounted, it never touches that path again. If the mount was removed by
    /// someone else, a new FUSE mount on the same path is left alone unless the kernel
    /// happened to reuse both ids for it (it hands out the lowest free ones); do not keep
    /// calling a stale handle's `unmount` for a path that others remount.
    pub fn unmount(&self) -> Result<(), MountError> {
        if self.inner.unmounted.load(Ordering::Acquire) {
            return Ok(());
        }
        unmount_exact(&self.inner.id, self.inner.fusermount.as_deref())?;
        self.inner.unmounted.store(true, Ordering::Release);
        Ok(())
    }

    /// Aborts the connection through fusectl: all requests fail with ENOTCONN. The mount
    /// stays (dead) until unmounted.
    pub fn abort(&self) -> Result<(), MountError> {
        let id = self
            .inner
            .id
            .connection_id
            .ok_or_else(|| MountError::ConnectionUnknown(self.inner.id.mountpoint.clone()))?;
        abort_connection(id)
    }
}

impl fmt::Debug for Unmounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unmounter")
            .field("mountpoint", &self.inner.id.mountpoint)
            .field("method", &self.inner.method)
            .field("connection_id", &self.inner.id.connection_id)
            .field("mount_id", &self.inner.id.mount_id)
            .field("auto_unmount", &self.inner.auto_unmount_socket.is_some())
            .finish()
    }
}
