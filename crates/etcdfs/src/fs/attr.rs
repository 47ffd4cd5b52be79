//! Attributes: an etcdfs inode as the kernel sees it ([`to_attr`]), SETATTR's arguments in the
//! namespace's terms ([`changes`]), and relatime access-time updates.

use fusekit::{FileAttr, SetAttr, TimeOrNow};

use crate::ns::{self, transact, FsError, Namespace};
use crate::schema::{Inode, Timestamp, CHUNK_SIZE};
use crate::store::{Store, StoreError};

/// Bytes per block reported to `stat` (st_blksize): one chunk, the unit the store writes.
pub(crate) const BLOCK_SIZE: u32 = CHUNK_SIZE as u32;

fn ts(t: Timestamp) -> fusekit::Timestamp {
    fusekit::Timestamp {
        secs: t.secs,
        nsecs: t.nsecs,
    }
}

/// `inode` (number `ino`) as `stat` reports it.
pub(crate) fn to_attr(ino: u64, inode: &Inode) -> FileAttr {
    FileAttr {
        ino,
        size: inode.size,
        blocks: inode.size.div_ceil(512),
        atime: ts(inode.atime),
        mtime: ts(inode.mtime),
        ctime: ts(inode.ctime),
        mode: inode.mode,
        nlink: u32::try_from(inode.nlink).unwrap_or(u32::MAX),
        uid: inode.uid,
        gid: inode.gid,
        rdev: u32::try_from(inode.rdev).unwrap_or(0),
        blksize: BLOCK_SIZE,
        flags: 0,
    }
}

fn resolve(t: TimeOrNow, now: Timestamp) -> Timestamp {
    match t {
        TimeOrNow::Now => now,
        TimeOrNow::At(t) => Timestamp {
            secs: t.secs,
            nsecs: t.nsecs,
        },
    }
}

/// SETATTR as the namespace's changes. The kernel checked permissions (default_permissions)
/// and already turned privilege clearing into mode changes (HANDLE_KILLPRIV is not asked for).
pub(crate) fn changes(set: &SetAttr) -> ns::SetAttr {
    let now = Timestamp::now();
    ns::SetAttr {
        mode: set.mode,
        uid: set.uid,
        gid: set.gid,
        size: set.size,
        atime: set.atime.map(|t| resolve(t, now)),
        mtime: set.mtime.map(|t| resolve(t, now)),
    }
}

/// Whether reading now should update the access time (relatime, Linux's default): when the
/// access time is not after the last modification or change, or is a day old.
pub(crate) fn atime_due(inode: &Inode) -> bool {
    let a = (inode.atime.secs, inode.atime.nsecs);
    a <= (inode.mtime.secs, inode.mtime.nsecs)
        || a <= (inode.ctime.secs, inode.ctime.nsecs)
        || Timestamp::now().secs - inode.atime.secs >= 24 * 3600
}

/// Sets the access time of `ino` to now if [`atime_due`] still holds (relatime). A full quota
/// refuses every write, an access time's too: the read that asked for it still succeeds.
pub(crate) async fn touch_atime<S: Store>(ns: &Namespace<S>, ino: u64) -> Result<(), FsError> {
    match set_atime(ns, ino).await {
        Err(FsError::Store(StoreError::NoSpace)) => {
            tracing::debug!(ino, "access time not recorded: etcd quota full");
            Ok(())
        }
        r => r,
    }
}

async fn set_atime<S: Store>(ns: &Namespace<S>, ino: u64) -> Result<(), FsError> {
    transact!(ns, |plan| {
        let mut inode = plan.need_inode(ino).await?;
        if !atime_due(&inode) {
            return Ok(());
        }
        inode.atime = Timestamp::now();
        plan.put_inode(ino, inode);
    });
    Ok(())
}

/// The mode a regular file keeps after a data change (write, truncate) by a caller who is not
/// root, as Linux clears privileges: setuid always; setgid when group-execute is set, or when
/// the caller is not in the file's group (supplementary groups read from /proc: FUSE does not
/// send them; unknown membership keeps it). Root keeps everything.
pub(crate) fn mode_after_data_change(inode: &Inode, uid: u32, gid: u32, pid: u32) -> u32 {
    let mode = inode.mode;
    if uid == 0 || mode & (libc::S_ISUID | libc::S_ISGID) == 0 || inode.is_dir() {
        return mode;
    }
    let mut kept = mode & !libc::S_ISUID;
    if kept & libc::S_ISGID != 0 {
        let drop = kept & libc::S_IXGRP != 0
            || (gid != inode.gid
                && supplementary_groups(pid).is_some_and(|g| !g.contains(&inode.gid)));
        if drop {
            kept &= !libc::S_ISGID;
        }
    }
    kept
}

/// The supplementary groups of process `pid` (`None` when it is gone or unreadable).
fn supplementary_groups(pid: u32) -> Option<Vec<u32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Groups:"))?;
    line.split_whitespace().map(|g| g.parse().ok()).collect()
}
