//! Acting as the caller: for create-like requests a root daemon switches the serving
//! thread's effective uid, gid and supplementary groups to the caller's (raw per-thread
//! syscalls, not the process-wide libc wrappers), so new nodes are owned by the caller and the
//! source filesystem checks permissions (including setgid directories) as for the caller.
//! The guard restores root on drop; a thread that cannot get its identity back aborts the
//! process rather than serve further requests with the wrong credentials.

use fusekit::Request;
use rustix::io::Errno;
use rustix::process::{Gid, Uid};

/// The caller's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) groups: Vec<u32>,
}

impl Caller {
    /// The identity of `req`'s caller: uid and gid from the request, supplementary groups
    /// from `/proc/<pid>/status` (as libfuse's `fuse_req_getgroups` does), plus the group the
    /// kernel attached to a create request (FUSE_CREATE_SUPP_GROUP) when it did.
    pub(crate) fn of(req: &Request<'_>) -> Caller {
        let mut groups = if req.pid() != 0 {
            proc_groups(req.pid()).unwrap_or_default()
        } else {
            Vec::new()
        };
        if let Some(g) = req.supplementary_group() {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        Caller {
            uid: req.uid(),
            gid: req.gid(),
            groups,
        }
    }
}

/// The `Groups:` line of `/proc/<pid>/status`.
fn proc_groups(pid: u32) -> Option<Vec<u32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_groups(&status)
}

fn parse_groups(status: &str) -> Option<Vec<u32>> {
    let line = status.lines().find(|l| l.starts_with("Groups:"))?;
    Some(
        line["Groups:".len()..]
            .split_whitespace()
            .filter_map(|g| g.parse().ok())
            .collect(),
    )
}

/// While alive, the current thread acts as a caller; dropping it restores the daemon's
/// identity.
#[derive(Debug)]
pub(crate) struct CredGuard {
    restore: Option<(Gid, Vec<Gid>)>,
}

impl CredGuard {
    /// A guard that changes nothing.
    pub(crate) fn none() -> CredGuard {
        CredGuard { restore: None }
    }

    /// Switches the thread to `caller` when the daemon is root and the caller is not.
    pub(crate) fn become_caller(caller: &Caller) -> Result<CredGuard, Errno> {
        if !rustix::process::geteuid().is_root() || (caller.uid == 0 && caller.gid == 0) {
            return Ok(CredGuard::none());
        }
        let saved = (rustix::process::getegid(), rustix::process::getgroups()?);
        let groups: Vec<Gid> = caller.groups.iter().map(|&g| Gid::from_raw(g)).collect();
        // Order matters: groups and gid need CAP_SETGID, which leaves the effective set
        // when the euid stops being 0.
        rustix::thread::set_thread_groups(&groups)?;
        let guard = CredGuard {
            restore: Some(saved),
        };
        rustix::thread::set_thread_res_gid(None, Some(Gid::from_raw(caller.gid)), None)?;
        rustix::thread::set_thread_res_uid(None, Some(Uid::from_raw(caller.uid)), None)?;
        Ok(guard)
    }
}

impl Drop for CredGuard {
    fn drop(&mut self) {
        let Some((gid, groups)) = self.restore.take() else {
            return;
        };
        let result = rustix::thread::set_thread_res_uid(None, Some(Uid::ROOT), None)
            .and_then(|()| rustix::thread::set_thread_res_gid(None, Some(gid), None))
            .and_then(|()| rustix::thread::set_thread_groups(&groups));
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot restore the daemon's credentials; aborting");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_line_is_parsed() {
        let status = "Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 27 1000 \nNgid:\t0\n";
        assert_eq!(parse_groups(status), Some(vec![4, 24, 27, 1000]));
        assert_eq!(parse_groups("Groups:\t\n"), Some(vec![]));
        assert_eq!(parse_groups("Name: x\n"), None);
    }

    #[test]
    fn own_groups_are_readable() {
        let pid = std::process::id();
        assert!(proc_groups(pid).is_some());
    }
}
