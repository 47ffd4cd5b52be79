//! Attributes: an etcdfs inode as the kernel sees it ([`to_attr`], [`to_statx`] with the birth
//! time, st_blocks from the stored chunks), SETATTR's arguments in the namespace's terms
//! ([`changes`]), relatime access-time updates, and privilege clearing after data changes.

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
        blocks: blocks(inode),
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

/// st_blocks (512-byte units) from the stored chunks, 64 KiB each, capped at the size (a small
/// file does not report a whole chunk) unless chunks were allocated past the end. A sparse file
/// reports only its stored chunks. Inodes of the previous format, with no chunk count, report
/// their size.
pub(crate) fn blocks(inode: &Inode) -> u64 {
    let Some(chunks) = inode.chunks else {
        return inode.size.div_ceil(512);
    };
    let stored = chunks.saturating_mul(CHUNK_SIZE as u64);
    let bytes = if inode.chunks_past_eof {
        stored
    } else {
        stored.min(inode.size)
    };
    bytes.div_ceil(512)
}

/// The statx(2) answer: [`to_attr`]'s fields, plus the birth time when the inode has one.
pub(crate) fn to_statx(ino: u64, inode: &Inode) -> fusekit::abi::Statx {
    /// STATX_BASIC_STATS, and STATX_BTIME.
    const BASIC: u32 = 0x7ff;
    const BTIME: u32 = 0x800;
    let a = to_attr(ino, inode);
    let sx = |t: fusekit::Timestamp| fusekit::abi::SxTime {
        tv_sec: t.secs,
        tv_nsec: t.nsecs,
        ..Default::default()
    };
    fusekit::abi::Statx {
        mask: BASIC | inode.btime.map_or(0, |_| BTIME),
        blksize: a.blksize,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        mode: a.mode as u16,
        ino: a.ino,
        size: a.size,
        blocks: a.blocks,
        atime: sx(a.atime),
        btime: inode.btime.map(ts).map(sx).unwrap_or_default(),
        ctime: sx(a.ctime),
        mtime: sx(a.mtime),
        rdev_major: (a.rdev >> 8) & 0xfff,
        rdev_minor: (a.rdev & 0xff) | ((a.rdev >> 12) & 0xfff00),
        ..Default::default()
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

/// After a data change (write, fallocate) of `inode` by the caller of `ctx`: clears setuid and
/// setgid as [`mode_after_data_change`] says (the kernel leaves this to the filesystem).
pub(crate) async fn clear_privileges<S: Store>(
    ns: &Namespace<S>,
    ctx: &fusekit::asyncfs::RequestContext,
    ino: u64,
    inode: &Inode,
) -> Result<(), FsError> {
    let mode = mode_after_data_change(inode, ctx.uid(), ctx.gid(), ctx.pid());
    if mode != inode.mode {
        let changes = ns::SetAttr {
            mode: Some(mode),
            ..Default::default()
        };
        ns.setattr(ino, changes).await?;
    }
    Ok(())
}

/// The supplementary groups of process `pid` (`None` when it is gone or unreadable).
fn supplementary_groups(pid: u32) -> Option<Vec<u32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Groups:"))?;
    line.split_whitespace().map(|g| g.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_stored_chunks() {
        let c = CHUNK_SIZE as u64;
        let file = |size, chunks, past_eof| Inode {
            size,
            chunks,
            chunks_past_eof: past_eof,
            ..Inode::new(libc::S_IFREG | 0o644, 1, 0, 0, 0, Timestamp::now())
        };
        // A small file reports its bytes, not a whole chunk.
        assert_eq!(blocks(&file(10, Some(1), false)), 1);
        assert_eq!(blocks(&file(10_000, Some(1), false)), 20);
        // Sparse: 4 KiB at 5 GiB is one chunk; a truncated-up file stores nothing.
        assert_eq!(blocks(&file((5 << 30) + 4096, Some(1), false)), c / 512);
        assert_eq!(blocks(&file(1 << 30, Some(0), false)), 0);
        // Chunks allocated past the end count whole.
        assert_eq!(blocks(&file(3, Some(16), true)), 16 * c / 512);
        // An inode of the previous format reports its size.
        assert_eq!(blocks(&file(1 << 20, None, false)), 2048);
    }
}
