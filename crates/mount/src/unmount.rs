//! Unmounting: umount2(MNT_DETACH) when privileged, `fusermount3 -u -z` otherwise. Lazy
//! (detaching) unmounts never block on a filesystem that does not answer, and work on a
//! dead (ENOTCONN) mount too. The mountpoint itself is never stat'ed.

use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::mount::{unmount as umount2, UnmountFlags};

use crate::error::MountError;
use crate::fusermount;
use crate::mountinfo::{self, MountInfo};
use crate::privilege::is_privileged;
use crate::target::{resolve, Resolved};

/// Unmounts the FUSE filesystem mounted on `mountpoint` (the topmost one, if stacked).
/// Fails with [`MountError::NotMounted`] if there is none: this never detaches other
/// kinds of mounts.
pub fn unmount(mountpoint: &Path) -> Result<(), MountError> {
    match resolve(mountpoint) {
        Ok(Resolved::FuseMounted(path)) => detach(&path, None),
        Ok(Resolved::Plain(path, _)) => Err(MountError::NotMounted(path)),
        Err(MountError::MountpointMissing(path)) => Err(MountError::NotMounted(path)),
        Err(e) => Err(e),
    }
}

/// Which mount an [`Unmounter`](crate::Unmounter) means: its path plus the ids mountinfo
/// showed right after mounting. The kernel reuses both ids (lowest free), so this identity
/// is strong but not absolute: see `Unmounter::unmount`.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) mountpoint: PathBuf,
    pub(crate) connection_id: Option<u32>,
    pub(crate) mount_id: Option<u32>,
}

impl Identity {
    /// Reads the ids of the FUSE mount now on `mountpoint`.
    pub(crate) fn observe(mountpoint: PathBuf) -> Self {
        let found = match mountinfo::read() {
            Ok(mounts) => mountinfo::fuse_mount_at(&mounts, &mountpoint),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the new mount's ids");
                None
            }
        };
        Self {
            mountpoint,
            connection_id: found.as_ref().and_then(MountInfo::connection_id),
            mount_id: found.map(|m| m.mount_id),
        }
    }

    fn matches(&self, m: &MountInfo) -> bool {
        m.is_fuse()
            && m.mount_point == self.mountpoint
            && self
                .connection_id
                .is_none_or(|id| m.connection_id() == Some(id))
            && self.mount_id.is_none_or(|id| m.mount_id == id)
    }

    /// Whether this mount is still in mountinfo.
    pub(crate) fn still_mounted(&self) -> Result<bool, MountError> {
        Ok(mountinfo::read()?.iter().any(|m| self.matches(m)))
    }
}

/// Unmounts exactly the mount `id` names. Already unmounted — or replaced by another
/// mount — is success.
pub(crate) fn unmount_exact(id: &Identity, fusermount: Option<&Path>) -> Result<(), MountError> {
    if !id.still_mounted()? {
        return Ok(());
    }
    match detach(&id.mountpoint, fusermount) {
        Ok(()) => Ok(()),
        // Lost a race with another unmount of the same mount: that is what we wanted.
        Err(_) if !id.still_mounted()? => Ok(()),
        Err(e) => Err(e),
    }
}

/// Detaches the topmost mount at `path`.
fn detach(path: &Path, fusermount: Option<&Path>) -> Result<(), MountError> {
    if is_privileged() {
        tracing::debug!(path = %path.display(), "umount2(MNT_DETACH)");
        match umount2(path, UnmountFlags::DETACH) {
            Ok(()) => return Ok(()),
            Err(Errno::PERM) => {
                tracing::debug!(path = %path.display(),
                    "umount2 answered EPERM despite CAP_SYS_ADMIN; trying fusermount3");
            }
            Err(e) => {
                return Err(MountError::io(
                    format!("umount2({}, MNT_DETACH)", path.display()),
                    e,
                ))
            }
        }
    }
    let program = fusermount::find(fusermount)?;
    fusermount::unmount(&program, path)
}
