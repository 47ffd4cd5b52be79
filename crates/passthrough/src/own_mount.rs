//! Keeping the daemon out of its own mount. When the source tree reaches the mount it serves
//! (the mount point inside the source, or a bind mount of the mount placed in the source
//! later), a LOOKUP of that object would make the daemon stat or open a file of its own
//! mount: a request that waits for a request it has to serve itself. Once all workers wait
//! like that the mount deadlocks and every caller hangs in D state. This module owns the
//! guard: the mount's device number, set once the mount exists, and the check that refuses
//! (EDEADLK, "resource deadlock avoided") any looked-up object on that device.
//!
//! The check is one `statx(AT_STATX_DONT_SYNC)` on the `O_PATH` descriptor just opened:
//! crossing into a mount's root and a "don't sync" statx never send a request to a FUSE
//! server, so the check itself cannot wait on the mount. It only runs once a device is set.

use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use rustix::fs::{AtFlags, StatxFlags};
use rustix::io::Errno;

use crate::Passthrough;

/// The device number of the mount a [`Passthrough`] serves, shared between the filesystem
/// and whoever mounts it. Get it with [`Passthrough::own_mount`] before handing the
/// filesystem to a session, and set it (e.g. with [`OwnMount::set_from_mountpoint`]) after
/// mounting and before serving: from then on a lookup that would reach the mount itself
/// answers EDEADLK instead of deadlocking the daemon. The CLI always does this.
#[derive(Debug, Clone, Default)]
pub struct OwnMount {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// `st_dev` of the mount; 0 = not known yet (no anonymous device is 0:0).
    dev: AtomicU64,
    /// Whether a refusal has been logged (once at warn, later ones at debug).
    warned: AtomicBool,
}

/// Why the mount's device could not be found.
#[derive(Debug, thiserror::Error)]
pub enum OwnMountError {
    /// /proc/self/mountinfo could not be read.
    #[error("cannot read /proc/self/mountinfo: {0}")]
    Mountinfo(#[from] fusekit::MountError),
    /// No FUSE mount on that path.
    #[error("no FUSE mount on {0}")]
    NotMounted(std::path::PathBuf),
}

impl PartialEq for OwnMount {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for OwnMount {}

impl OwnMount {
    /// Sets the mount's device number (`st_dev`).
    pub fn set_device(&self, dev: u64) {
        self.inner.dev.store(dev, Ordering::Release);
    }

    /// The device number set, if any.
    pub fn device(&self) -> Option<u64> {
        match self.inner.dev.load(Ordering::Acquire) {
            0 => None,
            dev => Some(dev),
        }
    }

    /// Sets the device of the topmost FUSE mount on `mountpoint` (an absolute path as
    /// /proc/self/mountinfo shows it, e.g. canonicalized before mounting), read from
    /// mountinfo: the mount point itself is never touched (its root may not be served yet).
    pub fn set_from_mountpoint(&self, mountpoint: &Path) -> Result<u64, OwnMountError> {
        let mounts = fusekit::mount::mountinfo::read()?;
        let m = mounts
            .iter()
            .rev()
            .find(|m| m.is_fuse() && m.mount_point == mountpoint)
            .ok_or_else(|| OwnMountError::NotMounted(mountpoint.to_path_buf()))?;
        let dev = rustix::fs::makedev(m.major, m.minor);
        self.set_device(dev);
        Ok(dev)
    }

    /// EDEADLK when `fd` (just opened by a lookup) is on the mount itself.
    pub(crate) fn refuse_own(&self, fd: impl AsFd, name: &std::ffi::OsStr) -> Result<(), Errno> {
        let Some(own) = self.device() else {
            return Ok(());
        };
        let stx = rustix::fs::statx(
            fd,
            c"",
            AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW | AtFlags::STATX_DONT_SYNC,
            StatxFlags::TYPE,
        )?;
        if rustix::fs::makedev(stx.stx_dev_major, stx.stx_dev_minor) != own {
            return Ok(());
        }
        if self.inner.warned.swap(true, Ordering::Relaxed) {
            tracing::debug!(?name, "refused a lookup that reaches this mount itself");
        } else {
            tracing::warn!(
                ?name,
                "refused a lookup that reaches this mount itself (EDEADLK): the source tree \
                 contains the mount point or a bind mount of it"
            );
        }
        Err(Errno::DEADLK)
    }
}

impl Passthrough {
    /// The handle through which the mount's device is made known to this filesystem (see
    /// [`OwnMount`]); all clones share it.
    pub fn own_mount(&self) -> OwnMount {
        self.opts.own_mount.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{Mode, OFlags};

    fn open_path(p: &str) -> std::os::fd::OwnedFd {
        rustix::fs::open(p, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).unwrap()
    }

    #[test]
    fn refuses_only_objects_on_the_set_device() {
        let guard = OwnMount::default();
        let fd = open_path("/proc/self");
        assert_eq!(
            guard.refuse_own(&fd, "x".as_ref()),
            Ok(()),
            "unset: no check"
        );
        let st = rustix::fs::fstat(&fd).unwrap();
        guard.set_device(st.st_dev);
        assert_eq!(guard.clone().device(), Some(st.st_dev));
        assert_eq!(guard.refuse_own(&fd, "x".as_ref()), Err(Errno::DEADLK));
        let other = open_path("/");
        if rustix::fs::fstat(&other).unwrap().st_dev != st.st_dev {
            assert_eq!(guard.refuse_own(&other, "y".as_ref()), Ok(()));
        }
    }

    #[test]
    fn a_path_without_a_fuse_mount_is_named() {
        let e = OwnMount::default()
            .set_from_mountpoint(Path::new("/proc"))
            .unwrap_err();
        assert!(e.to_string().contains("/proc"), "{e}");
    }
}
