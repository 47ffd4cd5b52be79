//! Unmounting: umount2(MNT_DETACH) when privileged, `fusermount3 -u -z` otherwise. Lazy
//! (detaching) unmounts never block on a filesystem that does not answer, and work on a
//! dead (ENOTCONN) mount too. [`unmount_with`] also offers a non-lazy unmount that is
//! refused while the mount is busy (what `fusekit unmount` does by default) and an abort
//! first. The mountpoint itself is never stat'ed.

use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::mount::{unmount as umount2, UnmountFlags};

use crate::error::MountError;
use crate::fusermount;
use crate::mountinfo::{self, MountInfo};
use crate::privilege::is_privileged;
use crate::target::{resolve, Resolved};

/// Unmounts the FUSE filesystem mounted on `mountpoint` (the topmost one, if stacked),
/// lazily ([`UnmountHow::Lazy`]). Fails with [`MountError::NotMounted`] if there is none:
/// this never detaches other kinds of mounts.
pub fn unmount(mountpoint: &Path) -> Result<(), MountError> {
    unmount_with(mountpoint, UnmountHow::Lazy)
}

/// How [`unmount_with`] unmounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmountHow {
    /// umount2 without flags (`fusermount3 -u`): refused with [`MountError::Busy`] while
    /// the mount is in use, so success means the mount is gone, as with umount(8).
    Normal,
    /// umount2(MNT_DETACH) (`fusermount3 -u -z`): detached at once, even when busy; the
    /// filesystem lives on until its last user lets go.
    Lazy,
    /// Abort the FUSE connection first (every request in progress and to come fails with
    /// ENOTCONN, so callers stuck on a hung filesystem return), then detach.
    Abort,
}

/// Unmounts the FUSE filesystem on `mountpoint` (the topmost one, if stacked) as `how`
/// says. Fails with [`MountError::NotMounted`] if there is none.
pub fn unmount_with(mountpoint: &Path, how: UnmountHow) -> Result<(), MountError> {
    let path = match resolve(mountpoint) {
        Ok(Resolved::FuseMounted(path)) => path,
        Ok(Resolved::Plain(path, _)) => return Err(MountError::NotMounted(path)),
        Err(MountError::MountpointMissing(path)) => return Err(MountError::NotMounted(path)),
        Err(e) => return Err(e),
    };
    match how {
        UnmountHow::Normal => unmount_now(&path),
        UnmountHow::Lazy => detach(&path, None),
        UnmountHow::Abort => {
            let id = mountinfo::fuse_mount_at(&mountinfo::read()?, &path)
                .and_then(|m| m.connection_id())
                .ok_or_else(|| MountError::ConnectionUnknown(path.clone()))?;
            crate::abort_connection(id)?;
            detach(&path, None)
        }
    }
}

/// Unmounts the topmost mount at `path` unless it is busy.
fn unmount_now(path: &Path) -> Result<(), MountError> {
    if is_privileged() {
        tracing::debug!(path = %path.display(), "umount2");
        match umount2(path, UnmountFlags::empty()) {
            Ok(()) => return Ok(()),
            Err(Errno::BUSY) => return Err(MountError::Busy(path.to_path_buf())),
            Err(Errno::PERM) => {
                tracing::debug!(path = %path.display(),
                    "umount2 answered EPERM despite CAP_SYS_ADMIN; trying fusermount3");
            }
            Err(e) => return Err(MountError::io(format!("umount2({})", path.display()), e)),
        }
    }
    let program = fusermount::find(None)?;
    fusermount::unmount(&program, path, false)
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
    fusermount::unmount(&program, path, true)
}
