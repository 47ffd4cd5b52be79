//! The one error type of this crate.
//!
//! Every message names the path, option or cause at fault in plain words, because the
//! `fusekit` command line prints these messages as they are.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// Why mounting, unmounting or aborting a FUSE filesystem failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    /// The mountpoint (or one of its parent directories) does not exist.
    #[error("cannot mount on {}: no such file or directory", .0.display())]
    MountpointMissing(PathBuf),

    /// The mountpoint exists but is not a directory.
    #[error("cannot mount on {}: not a directory", .0.display())]
    NotADirectory(PathBuf),

    /// A FUSE filesystem is already mounted on the mountpoint.
    #[error("cannot mount on {}: a FUSE filesystem is already mounted there", .0.display())]
    AlreadyMounted(PathBuf),

    /// `unmount` was asked to unmount a path that carries no FUSE mount.
    #[error("cannot unmount {}: no FUSE filesystem is mounted there", .0.display())]
    NotMounted(PathBuf),

    /// The mount is in use (an open file, a working directory, a request in progress), so
    /// a non-lazy unmount was refused and nothing changed.
    #[error(
        "cannot unmount {}: it is busy (a process has a file or directory open in it, or a \
         request is in progress); nothing was changed. Close what uses it and retry, or \
         `fusekit unmount --lazy` to detach it now (it goes away when the last user lets \
         go), or `fusekit unmount --abort` to fail every request in progress (unsticks \
         callers of a hung filesystem) and detach it",
        .0.display()
    )]
    Busy(PathBuf),

    /// `/dev/fuse` is missing or cannot be used.
    #[error(
        "/dev/fuse is not available ({source}); load the fuse kernel module \
         (`modprobe fuse`) or, in a container, pass the device in"
    )]
    NoDevFuse {
        /// What opening or inspecting `/dev/fuse` reported.
        source: io::Error,
    },

    /// The operating system refused access to a path.
    #[error("permission denied {action} {}: {source}", .path.display())]
    PermissionDenied {
        /// What we were doing, e.g. "opening" or "mounting on".
        action: &'static str,
        /// The path that was refused.
        path: PathBuf,
        /// The underlying error (EACCES or EPERM).
        source: io::Error,
    },

    /// The fusermount3 helper program cannot be found.
    #[error("{}", fusermount_missing(.path.as_deref()))]
    FusermountMissing {
        /// The explicitly configured program that does not exist, or `None` when `PATH`
        /// was searched.
        path: Option<PathBuf>,
    },

    /// fusermount3 ran and reported failure.
    #[error(
        "fusermount3 failed to {action} {} ({status}): {}{}",
        .mountpoint.display(),
        stderr_text(.stderr),
        fusermount_hint(.stderr)
    )]
    FusermountFailed {
        /// "mount" or "unmount".
        action: &'static str,
        /// The mountpoint it was working on.
        mountpoint: PathBuf,
        /// Its exit status.
        status: ExitStatus,
        /// What it wrote to its standard error.
        stderr: String,
    },

    /// Strict mode was asked for, and mount(2) refused; no fallback is allowed.
    #[error(
        "strict mount of {} refused: {cause}; strict mode forbids the fusermount3 fallback",
        .mountpoint.display()
    )]
    StrictNeedsPrivilege {
        /// The mountpoint.
        mountpoint: PathBuf,
        /// Why mount(2) was refused, in words.
        cause: String,
    },

    /// A mount option is malformed or not allowed.
    #[error("invalid mount option {option:?}: {reason}")]
    InvalidOption {
        /// The option as given.
        option: String,
        /// Why it is rejected.
        reason: String,
    },

    /// mount(2) rejected the option string (EINVAL and friends).
    #[error(
        "the kernel refused to mount {} with options \"{options}\": {source}",
        .mountpoint.display()
    )]
    KernelRejected {
        /// The mountpoint.
        mountpoint: PathBuf,
        /// The mount(2) data string (without the fd number's meaning).
        options: String,
        /// The errno mount(2) returned.
        source: io::Error,
    },

    /// The mount's connection id is unknown, so it cannot be aborted.
    #[error(
        "cannot abort the FUSE connection of {}: its connection id could not be read \
         from /proc/self/mountinfo",
        .0.display()
    )]
    ConnectionUnknown(PathBuf),

    /// No such FUSE connection in the fusectl filesystem.
    #[error("cannot abort FUSE connection {0}: /sys/fs/fuse/connections/{0} does not exist")]
    ConnectionNotFound(u32),

    /// fusectl is not mounted, and we may not mount it.
    #[error(
        "cannot reach FUSE connection controls: the fusectl filesystem is not mounted on \
         /sys/fs/fuse/connections and mounting it needs root"
    )]
    FusectlUnavailable,

    /// Any other I/O failure, with what we were doing.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing, naming the path or program involved.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
}

impl MountError {
    /// Builds [`MountError::Io`] with a context naming what we were doing.
    pub(crate) fn io(context: impl Into<String>, source: impl Into<io::Error>) -> Self {
        Self::Io {
            context: context.into(),
            source: source.into(),
        }
    }

    /// Maps an error about `path` to the most specific variant: missing, not a
    /// directory, permission denied, or plain I/O.
    pub(crate) fn about_path(
        action: &'static str,
        path: &Path,
        source: impl Into<io::Error>,
    ) -> Self {
        let source = source.into();
        match source.raw_os_error() {
            Some(code) if code == rustix::io::Errno::NOENT.raw_os_error() => {
                Self::MountpointMissing(path.to_path_buf())
            }
            Some(code) if code == rustix::io::Errno::NOTDIR.raw_os_error() => {
                Self::NotADirectory(path.to_path_buf())
            }
            Some(code)
                if code == rustix::io::Errno::ACCESS.raw_os_error()
                    || code == rustix::io::Errno::PERM.raw_os_error() =>
            {
                Self::PermissionDenied {
                    action,
                    path: path.to_path_buf(),
                    source,
                }
            }
            _ => Self::io(format!("{action} {}", path.display()), source),
        }
    }
}

fn fusermount_missing(path: Option<&Path>) -> String {
    match path {
        Some(path) => format!("fusermount3 not found at {}", path.display()),
        None => "fusermount3 not found in PATH (install the fuse3 package)".to_string(),
    }
}

/// What to do about a failure fusermount3 reported, when we know (empty otherwise).
fn fusermount_hint(stderr: &str) -> String {
    if stderr.contains("/dev/fuse") && stderr.contains("Permission denied") {
        use std::os::unix::fs::MetadataExt;
        let mode = std::fs::metadata("/dev/fuse")
            .map(|m| format!("mode {:04o}", m.mode() & 0o7777))
            .unwrap_or_else(|_| "not accessible".into());
        format!(
            ". /dev/fuse is {mode}: unprivileged mounts need it readable and writable by \
             everyone (0666, what the fuse3 package's udev rule sets); as root run \
             `chmod 0666 /dev/fuse`, or mount as root"
        )
    } else {
        String::new()
    }
}

fn stderr_text(stderr: &str) -> String {
    let trimmed = stderr.trim();
    if trimmed.is_empty() {
        "it printed no message".to_string()
    } else {
        trimmed.replace('\n', "; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_path_and_cause() {
        let e = MountError::NotADirectory(PathBuf::from("/x"));
        assert_eq!(e.to_string(), "cannot mount on /x: not a directory");
        let e = MountError::FusermountMissing { path: None };
        assert_eq!(
            e.to_string(),
            "fusermount3 not found in PATH (install the fuse3 package)"
        );
        let e = MountError::StrictNeedsPrivilege {
            mountpoint: PathBuf::from("/x"),
            cause: "mount(2) needs CAP_SYS_ADMIN (you are uid 1000)".into(),
        };
        assert_eq!(
            e.to_string(),
            "strict mount of /x refused: mount(2) needs CAP_SYS_ADMIN (you are uid 1000); \
             strict mode forbids the fusermount3 fallback"
        );
    }

    #[test]
    fn about_path_picks_the_specific_variant() {
        let p = Path::new("/a/b");
        let missing = io::Error::from_raw_os_error(rustix::io::Errno::NOENT.raw_os_error());
        assert!(matches!(
            MountError::about_path("mounting on", p, missing),
            MountError::MountpointMissing(ref q) if q == p
        ));
        let denied = io::Error::from_raw_os_error(rustix::io::Errno::ACCESS.raw_os_error());
        let e = MountError::about_path("mounting on", p, denied);
        assert!(e
            .to_string()
            .starts_with("permission denied mounting on /a/b: "));
        let busy = io::Error::from_raw_os_error(rustix::io::Errno::BUSY.raw_os_error());
        let e = MountError::about_path("mounting on", p, busy);
        assert!(e.to_string().starts_with("mounting on /a/b: "), "{e}");
    }
}
