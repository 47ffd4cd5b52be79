//! Ownership and permission rules that the engine itself enforces.
//!
//! Access checks (rwx on files, search/write on directories) are the kernel's job: the mount
//! uses `default_permissions`, so the kernel checks them with full knowledge of the caller's
//! groups before a request reaches us. [`may_access`] implements the same rule for
//! [`crate::MemFs::access`] (used when mounting without `default_permissions`). The engine
//! does enforce the rules that are *semantics* rather than access control: who may chmod,
//! chown and set times, the sticky-bit deletion rule, and clearing setuid/setgid on chown,
//! write and truncate. Root (uid 0) stands in for the capabilities.

use crate::table::State;
use crate::types::{Caller, FileType, S_ISGID, S_ISUID, S_ISVTX, S_IXGRP};

/// `W_OK` and `X_OK` bits as in `access(2)`.
pub(crate) const W_OK: u32 = 2;
pub(crate) const X_OK: u32 = 1;

/// Owner or root (`inode_owner_or_capable`).
pub(crate) fn is_owner(c: &Caller, st: &State) -> bool {
    c.is_root() || c.uid == st.uid
}

/// The POSIX access rule for `mask` (R_OK|W_OK|X_OK). Root may read and write anything and
/// execute anything with at least one execute bit (directories always). Unknown group
/// membership counts as membership (the kernel has checked).
pub(crate) fn may_access(c: &Caller, st: &State, mask: u32) -> bool {
    let mask = mask & 7;
    if c.is_root() {
        let needs_x = mask & X_OK != 0;
        return !needs_x || st.kind() == FileType::Directory || st.mode & 0o111 != 0;
    }
    let bits = if c.uid == st.uid {
        (st.mode >> 6) & 7
    } else if c.in_group(st.gid).unwrap_or(true) {
        (st.mode >> 3) & 7
    } else {
        st.mode & 7
    };
    bits & mask == mask
}

/// The sticky-bit rule: in a sticky directory only the file's owner, the directory's owner or
/// root may remove or rename an entry.
pub(crate) fn sticky_allows(c: &Caller, dir: &State, victim: &State) -> bool {
    dir.mode & S_ISVTX == 0 || c.is_root() || c.uid == victim.uid || c.uid == dir.uid
}

/// The mode after removing privileges (chown, write or truncate by a non-root caller):
/// setuid always goes, setgid only together with group-execute (otherwise it means
/// mandatory locking, not privilege). Every non-directory, as the kernel's `chown_common`
/// asks for (FIFOs, sockets and device nodes too: tmpfs clears them all); directories keep
/// their bits (setgid there means "inherit the group"). Write and truncate only reach
/// regular files.
pub(crate) fn killed_priv_mode(st: &State) -> u32 {
    if st.kind() == FileType::Directory {
        return st.mode;
    }
    let mut mode = st.mode & !S_ISUID;
    if mode & S_ISGID != 0 && mode & S_IXGRP != 0 {
        mode &= !S_ISGID;
    }
    mode
}

/// The mode after a data change (write, truncate) by `c`: [`killed_priv_mode`] for non-root
/// callers and for callers the kernel flags (`kill_priv`: no CAP_FSETID, root included), and,
/// as Linux does, setgid without group-execute also goes when the caller is known not to
/// belong to the file's group (unknown membership keeps it).
pub(crate) fn mode_after_data_change(c: &Caller, st: &State, kill_priv: bool) -> u32 {
    if c.is_root() && !kill_priv {
        return st.mode;
    }
    let mode = killed_priv_mode(st);
    if st.kind() == FileType::RegularFile && c.in_group(st.gid) == Some(false) {
        return mode & !S_ISGID;
    }
    mode
}
