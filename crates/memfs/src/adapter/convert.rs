//! Conversions between the engine's types and fusekit's wire-facing types.

use std::time::Duration;

use fusekit::abi;

use crate::{Attr, FileLock, LockType, SetAttr, StatFs, TimeOrNow, Timespec};

pub(super) fn timestamp(t: Timespec) -> fusekit::Timestamp {
    fusekit::Timestamp::new(t.sec, t.nsec)
}

pub(super) fn file_attr(a: &Attr) -> fusekit::FileAttr {
    fusekit::FileAttr {
        ino: a.ino,
        size: a.size,
        blocks: a.blocks,
        atime: timestamp(a.atime),
        mtime: timestamp(a.mtime),
        ctime: timestamp(a.ctime),
        mode: a.mode,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        blksize: a.blksize,
        flags: 0,
    }
}

pub(super) fn entry(a: &Attr, ttl: Duration) -> fusekit::Entry {
    fusekit::Entry {
        ino: a.ino,
        generation: a.generation,
        attr: file_attr(a),
        entry_ttl: ttl,
        attr_ttl: ttl,
    }
}

fn time_or_now(t: fusekit::TimeOrNow) -> TimeOrNow {
    match t {
        fusekit::TimeOrNow::Now => TimeOrNow::Now,
        fusekit::TimeOrNow::At(ts) => TimeOrNow::Set(Timespec {
            sec: ts.secs,
            nsec: ts.nsecs,
        }),
    }
}

pub(super) fn set_attr(s: &fusekit::SetAttr) -> SetAttr {
    SetAttr {
        mode: s.mode,
        uid: s.uid,
        gid: s.gid,
        size: s.size,
        atime: s.atime.map(time_or_now),
        mtime: s.mtime.map(time_or_now),
        ctime: s.ctime.map(|t| Timespec {
            sec: t.secs,
            nsec: t.nsecs,
        }),
        fh: s.fh,
        kill_suidgid: s.kill_suidgid,
    }
}

pub(super) fn statfs(s: &StatFs) -> fusekit::Statfs {
    fusekit::Statfs {
        blocks: s.blocks,
        bfree: s.bfree,
        bavail: s.bavail,
        files: s.files,
        ffree: s.ffree,
        bsize: s.bsize,
        namelen: s.namelen,
        frsize: s.frsize,
    }
}

const F_RDLCK: i32 = 0;
const F_WRLCK: i32 = 1;
const F_UNLCK: i32 = 2;

pub(super) fn lock_in(l: &fusekit::Lock) -> Option<FileLock> {
    let typ = match l.typ {
        F_RDLCK => LockType::Read,
        F_WRLCK => LockType::Write,
        F_UNLCK => LockType::Unlock,
        _ => return None,
    };
    Some(FileLock {
        start: l.start,
        end: l.end,
        typ,
        pid: l.pid,
    })
}

pub(super) fn lock_out(l: &FileLock) -> fusekit::Lock {
    fusekit::Lock {
        start: l.start,
        end: l.end,
        typ: match l.typ {
            LockType::Read => F_RDLCK,
            LockType::Write => F_WRLCK,
            LockType::Unlock => F_UNLCK,
        },
        pid: l.pid,
    }
}

fn sx_time(t: Timespec) -> abi::SxTime {
    abi::SxTime {
        tv_sec: t.sec,
        tv_nsec: t.nsec,
        ..Default::default()
    }
}

/// STATX_BASIC_STATS | STATX_BTIME.
const STATX_MASK: u32 = 0x7ff | 0x800;

pub(super) fn statx(a: &Attr) -> abi::Statx {
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
        btime: sx_time(a.btime),
        ctime: sx_time(a.ctime),
        mtime: sx_time(a.mtime),
        rdev_major: (a.rdev >> 8) & 0xfff,
        rdev_minor: (a.rdev & 0xff) | ((a.rdev >> 12) & 0xfff00),
        ..Default::default()
    }
}
