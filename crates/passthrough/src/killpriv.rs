//! Clearing setuid/setgid when an unprivileged caller writes. Without HANDLE_KILLPRIV_V2 the
//! FUSE client clears S_ISUID and S_ISGID-with-group-exec itself (a SETATTR before the write),
//! by an older rule that keeps S_ISGID on files without group-exec; with it (negotiated
//! whenever offered) it clears nothing. The daemon writes as root, so the source filesystem
//! never clears these bits on its own. The daemon applies today's Linux rule
//! instead — S_ISUID always goes, S_ISGID goes when group-exec is set or the writer is not in
//! the file's group — in two situations:
//! - handles open for writing on such files are served by the daemon (not kernel
//!   passthrough), and each write by an unprivileged caller applies the rule;
//! - HANDLE_KILLPRIV_V2 is negotiated: the kernel flags the WRITE or truncating SETATTR with
//!   "kill suid/sgid" instead of clearing anything itself (with the writeback cache it writes
//!   such files through, in the writer's context). security.capability needs nothing here:
//!   the source filesystem drops it on any write or truncate, the daemon's included.

use std::os::fd::{AsFd, BorrowedFd};

use fusekit::Request;
use rustix::fs::Mode;
use rustix::io::Errno;

use crate::creds::Caller;

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_IXGRP: u32 = 0o0010;

/// The mode after a write by `caller` (`None` when nothing changes).
pub(crate) fn killed_mode(
    mode: u32,
    file_gid: u32,
    caller: impl FnOnce() -> Caller,
) -> Option<u32> {
    if mode & (S_ISUID | S_ISGID) == 0 {
        return None;
    }
    let mut kill = mode & S_ISUID;
    if mode & S_ISGID != 0 {
        let drop_sgid = mode & S_IXGRP != 0 || {
            let c = caller();
            c.gid != file_gid && !c.groups.contains(&file_gid)
        };
        if drop_sgid {
            kill |= S_ISGID;
        }
    }
    (kill != 0).then_some(mode & !kill)
}

/// Clears the bits on the open file `fd` as a write by `req`'s caller must. Returns whether
/// the mode changed.
pub(crate) fn kill_suidgid(req: &Request<'_>, fd: BorrowedFd<'_>) -> Result<bool, Errno> {
    let st = rustix::fs::fstat(fd)?;
    match killed_mode(st.st_mode, st.st_gid, || Caller::of(req)) {
        Some(mode) => {
            rustix::fs::fchmod(fd, Mode::from_raw_mode(mode & 0o7777))?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// After a WRITE cleared the bits: the kernel does not refresh its cached mode after a
/// direct-I/O write (no SETATTR came before it, see docs/kernel-notes.md), so `stat` would
/// show the old mode until the attribute timeout. Dropping the cached attributes only (a
/// negative offset) takes no inode lock, so it is safe while the WRITE is in flight.
pub(crate) fn forget_cached_mode(req: &Request<'_>, ino: u64) {
    if let Err(e) = req.notifier().inval_inode(ino, -1, 0) {
        tracing::debug!(ino, error = %e, "invalidating attributes after clearing setuid/setgid");
    }
}

/// Like [`kill_suidgid`] for a file known only by its `O_PATH` descriptor (a truncate by
/// path): the mode is changed through the `/proc/self/fd` magic link.
pub(crate) fn kill_suidgid_path(
    req: &Request<'_>,
    path_fd: &crate::fdstore::InodeFd,
) -> Result<(), Errno> {
    let st = crate::sys::stat_fd(path_fd.as_fd())?;
    if st.st_mode & 0o170000 != 0o100000 {
        return Ok(());
    }
    if let Some(mode) = killed_mode(st.st_mode, st.st_gid, || Caller::of(req)) {
        rustix::fs::chmodat(
            rustix::fs::CWD,
            path_fd.proc_path().as_c_str(),
            Mode::from_raw_mode(mode & 0o7777),
            rustix::fs::AtFlags::empty(),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(gid: u32, groups: &[u32]) -> Caller {
        Caller {
            uid: 65534,
            gid,
            groups: groups.to_vec(),
        }
    }

    #[test]
    fn linux_rule() {
        let member = || caller(100, &[]);
        let outsider = || caller(65534, &[7]);
        assert_eq!(killed_mode(0o100644, 100, outsider), None);
        assert_eq!(killed_mode(0o104755, 100, member), Some(0o100755));
        assert_eq!(killed_mode(0o102755, 100, member), Some(0o100755));
        assert_eq!(killed_mode(0o102644, 100, member), None);
        assert_eq!(killed_mode(0o102644, 100, outsider), Some(0o100644));
        assert_eq!(killed_mode(0o102644, 7, outsider), None);
        assert_eq!(killed_mode(0o106744, 100, outsider), Some(0o100744));
    }
}
