//! Mounting with mount(2): open /dev/fuse, call mount(2) with the fd in the data string.
//! Needs CAP_SYS_ADMIN; an EPERM is reported as such so the caller can decide whether to
//! fall back to fusermount3.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{open, Mode, OFlags};
use rustix::io::Errno;

use crate::error::MountError;
use crate::fd::above_stdio;
use crate::options::MountOptions;
use crate::privilege::owner_ids;

/// The FUSE device.
pub(crate) const DEV_FUSE: &str = "/dev/fuse";

/// Why a kernel mount did not happen.
#[derive(Debug)]
pub(crate) enum KernelError {
    /// mount(2) answered EPERM: not privileged enough (a fallback may help).
    NotPermitted,
    /// Anything else; no fallback would help.
    Failed(MountError),
}

/// Opens /dev/fuse (O_RDWR|O_CLOEXEC, never on fds 0–2).
pub(crate) fn open_dev_fuse() -> Result<OwnedFd, MountError> {
    let fd =
        open(DEV_FUSE, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).map_err(|e| match e {
            Errno::ACCESS | Errno::PERM => MountError::PermissionDenied {
                action: "opening",
                path: DEV_FUSE.into(),
                source: e.into(),
            },
            _ => MountError::NoDevFuse { source: e.into() },
        })?;
    above_stdio(fd).map_err(|e| MountError::io(format!("moving the {DEV_FUSE} fd above stdio"), e))
}

/// Mounts a FUSE filesystem on `target` (canonical, an existing directory) and returns
/// the /dev/fuse fd serving it.
pub(crate) fn mount(target: &Path, opts: &MountOptions) -> Result<OwnedFd, KernelError> {
    let fd = open_dev_fuse().map_err(KernelError::Failed)?;
    let (uid, gid) = owner_ids();
    let data = opts.kernel_data(fd.as_raw_fd(), uid, gid);
    let (flags, _) = opts.kernel_flags_and_data();
    let data_c = CString::new(data.clone()).map_err(|_| {
        KernelError::Failed(MountError::InvalidOption {
            option: data.clone(),
            reason: "contains a NUL byte".into(),
        })
    })?;
    let fstype = opts.fstype();
    tracing::debug!(
        target = %target.display(),
        %fstype,
        source = opts.fsname_or_default(),
        ?flags,
        %data,
        "mount(2)"
    );
    let result = rustix::mount::mount(
        opts.fsname_or_default(),
        target,
        fstype.as_str(),
        flags,
        Some(data_c.as_c_str()),
    );
    match result {
        Ok(()) => Ok(fd),
        Err(Errno::PERM) => Err(KernelError::NotPermitted),
        Err(e) => Err(KernelError::Failed(match e {
            Errno::NOENT | Errno::NOTDIR | Errno::ACCESS => {
                MountError::about_path("mounting on", target, e)
            }
            Errno::INVAL | Errno::NODEV => MountError::KernelRejected {
                mountpoint: target.to_path_buf(),
                options: data,
                source: e.into(),
            },
            _ => MountError::io(format!("mount(2) on {}", target.display()), e),
        })),
    }
}
