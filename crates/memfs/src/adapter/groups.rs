//! Supplementary groups of a calling process. FUSE does not send them, so they are read from
//! `/proc/<pid>/status` — only where an answer depends on them and the primary group does not
//! decide it (a write by a non-member must drop setgid even without group-execute).

use crate::{Caller, FileAttr, FileType};

const S_ISGID: u32 = 0o2000;
const S_IXGRP: u32 = 0o010;

/// The supplementary groups of process `pid` (`None` when it is gone or unreadable).
pub(super) fn of_pid(pid: u32) -> Option<Vec<u32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Groups:"))?;
    line.split_whitespace().map(|g| g.parse().ok()).collect()
}

/// Fills `c.groups` when a data change by `c` to a file with attributes `a` would keep or
/// drop setgid depending on supplementary group membership.
pub(super) fn fill_for_data_change(c: &mut Caller, a: &FileAttr) {
    let sgid_without_x = a.mode & (S_ISGID | S_IXGRP) == S_ISGID;
    if a.kind() == Some(FileType::RegularFile) && sgid_without_x && c.gid != a.gid {
        c.groups = of_pid(c.pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_groups() {
        let me = rustix::process::getpid().as_raw_nonzero().get() as u32;
        let groups = of_pid(me).expect("own /proc status");
        let want: Vec<u32> = rustix::process::getgroups()
            .expect("getgroups")
            .iter()
            .map(|g| g.as_raw())
            .collect();
        assert_eq!(groups, want);
    }
}
