//! fusekit-mount: mounting and unmounting FUSE filesystems on Linux.
//!
//! [`mount`] validates the mountpoint, then mounts with mount(2) when the process is
//! privileged or through the setuid helper `fusermount3` when it is not, and returns a
//! [`Mount`]: the /dev/fuse fd (to be served by a FUSE session, which this crate knows
//! nothing about) and an [`Unmounter`] usable from any thread. [`unmount`] and
//! [`abort_connection`] serve the command line.
//!
//! Rules kept here (fusekit ARCHITECTURE.md, rule 2): every fd is O_CLOEXEC from birth;
//! the fusermount3 child inherits exactly one fd (its socket); FUSE fds never sit on
//! 0–2; many threads may mount and unmount concurrently with no global state beyond a
//! lock around mounting fusectl. Strict mode never falls back and says why it failed.
//!
//! Hazard: until a session answers INIT, any access to the mountpoint (stat, open, ...)
//! blocks. This crate itself never touches a mountpoint's root; it observes mounts
//! through /proc/self/mountinfo.
//!
//! ```no_run
//! use fusekit_mount::{mount, MountOptions};
//! let m = mount("/mnt/x".as_ref(), &MountOptions::new().subtype("memfs"))?;
//! let (fd, unmounter) = m.into_parts();
//! // ... serve `fd` ...
//! unmounter.unmount()?;
//! # drop(fd);
//! # Ok::<(), fusekit_mount::MountError>(())
//! ```

mod abort;
mod error;
mod fd;
mod fusermount;
mod handle;
mod kernel;
pub mod mountinfo;
mod options;
mod privilege;
mod target;
mod unmount;

use std::path::{Path, PathBuf};

pub use abort::{abort_connection, ensure_fusectl, CONNECTIONS_DIR};
pub use error::MountError;
pub use handle::{Mount, MountedBy, Unmounter};
pub use mountinfo::{fuse_mounts, MountInfo};
pub use options::{MountMethod, MountOptions, DEFAULT_FSNAME};
pub use privilege::is_privileged;
pub use unmount::{unmount, unmount_with, UnmountHow};

use kernel::KernelError;
use target::Resolved;

/// Mounts a FUSE filesystem on `mountpoint` (an existing directory with no FUSE mount on
/// it) as `opts` says, and returns the mount. See [`MountMethod`] for how the method is
/// chosen; every failure names the path, option or cause at fault.
pub fn mount(mountpoint: &Path, opts: &MountOptions) -> Result<Mount, MountError> {
    opts.validate()?;
    let target = match target::resolve(mountpoint)? {
        Resolved::FuseMounted(path) => return Err(MountError::AlreadyMounted(path)),
        Resolved::Plain(path, meta) if !meta.is_dir() => {
            return Err(MountError::NotADirectory(path))
        }
        Resolved::Plain(path, _) => path,
    };
    if let Err(e) = std::fs::metadata(kernel::DEV_FUSE) {
        return Err(MountError::NoDevFuse { source: e });
    }
    let privileged = is_privileged();
    match opts.method {
        MountMethod::Fusermount => via_fusermount(&target, opts),
        MountMethod::Strict => {
            if opts.auto_unmount {
                return Err(MountError::InvalidOption {
                    option: "auto_unmount".into(),
                    reason: "only fusermount3 provides it, and strict mode forbids fusermount3"
                        .into(),
                });
            }
            if !privileged {
                // mount(2) is certain to answer EPERM; say so before touching /dev/fuse.
                return Err(MountError::StrictNeedsPrivilege {
                    mountpoint: target,
                    cause: privilege::eperm_cause(false),
                });
            }
            match kernel::mount(&target, opts) {
                Ok(fd) => Ok(finish(fd, target, MountedBy::Kernel, None, None)),
                Err(KernelError::NotPermitted) => Err(MountError::StrictNeedsPrivilege {
                    mountpoint: target,
                    cause: privilege::eperm_cause(privileged),
                }),
                Err(KernelError::Failed(e)) => Err(e),
            }
        }
        MountMethod::Auto if opts.auto_unmount => {
            tracing::debug!(target = %target.display(), "auto_unmount needs fusermount3");
            via_fusermount(&target, opts)
        }
        MountMethod::Auto if !privileged => {
            tracing::debug!(target = %target.display(),
                "no CAP_SYS_ADMIN: mounting through fusermount3");
            via_fusermount(&target, opts)
        }
        MountMethod::Auto => match kernel::mount(&target, opts) {
            Ok(fd) => Ok(finish(fd, target, MountedBy::Kernel, None, None)),
            Err(KernelError::NotPermitted) => {
                tracing::debug!(target = %target.display(), cause = %privilege::eperm_cause(true),
                    "mount(2) refused; falling back to fusermount3");
                via_fusermount(&target, opts)
            }
            Err(KernelError::Failed(e)) => Err(e),
        },
    }
}

/// Whether a FUSE filesystem is mounted exactly on `path` (resolved without touching the
/// mount itself). Errors (e.g. a missing path) count as "no".
pub fn is_fuse_mounted(path: &Path) -> bool {
    matches!(target::resolve(path), Ok(Resolved::FuseMounted(..)))
}

fn via_fusermount(target: &Path, opts: &MountOptions) -> Result<Mount, MountError> {
    let program = fusermount::find(opts.fusermount.as_deref())?;
    let mounted = fusermount::mount(&program, target, opts)?;
    Ok(finish(
        mounted.fd,
        target.to_path_buf(),
        MountedBy::Fusermount,
        Some(program),
        mounted.auto_unmount_socket,
    ))
}

fn finish(
    fd: std::os::fd::OwnedFd,
    target: PathBuf,
    method: MountedBy,
    fusermount: Option<PathBuf>,
    auto_unmount_socket: Option<std::os::fd::OwnedFd>,
) -> Mount {
    let id = unmount::Identity::observe(target);
    tracing::debug!(target = %id.mountpoint.display(), ?method, connection_id = ?id.connection_id,
        mount_id = ?id.mount_id, "mounted");
    Mount::new(
        fd,
        Unmounter::new(id, method, fusermount, auto_unmount_socket),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn handles_and_errors_cross_threads() {
        send_sync::<Mount>();
        send_sync::<Unmounter>();
        send_sync::<MountError>();
        send_sync::<MountOptions>();
    }
}
