//! The STATX answer: fusekit's [`FileAttr`] plus the birth time it does not carry, in the
//! kernel's `fuse_statx` layout.

use fusekit::{abi, FileAttr, Timestamp};

fn sx_time(t: Timestamp) -> abi::SxTime {
    abi::SxTime {
        tv_sec: t.secs,
        tv_nsec: t.nsecs,
        ..Default::default()
    }
}

/// STATX_BASIC_STATS | STATX_BTIME.
const STATX_MASK: u32 = 0x7ff | 0x800;

/// The statx of a node with attributes `a` born at `btime`.
pub(super) fn statx(a: &FileAttr, btime: Timestamp) -> abi::Statx {
    abi::Statx {
        mask: STATX_MASK,
        blksize: a.blksize,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        mode: a.mode as u16,
        ino: a.ino,
        size: a.size,
        blocks: a.blocks,
        atime: sx_time(a.atime),
        btime: sx_time(btime),
        ctime: sx_time(a.ctime),
        mtime: sx_time(a.mtime),
        rdev_major: (a.rdev >> 8) & 0xfff,
        rdev_minor: (a.rdev & 0xff) | ((a.rdev >> 12) & 0xfff00),
        ..Default::default()
    }
}
