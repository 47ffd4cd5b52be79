//! `St`: stat fields normalized to one set of types (rustix's `Stat` differs per
//! architecture), with `Ts` timestamps that order and print as `sec.nsec`.

use std::fmt::{Debug, Display};
use std::os::fd::AsFd;

/// A timestamp (seconds, nanoseconds), ordered; shown as `sec.nnnnnnnnn`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts {
    /// Seconds since the epoch (may be negative).
    pub sec: i64,
    /// Nanoseconds, 0..1e9.
    pub nsec: i64,
}

impl Debug for Ts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Display::fmt(self, f)
    }
}

impl Display for Ts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:09}", self.sec, self.nsec)
    }
}

impl Ts {
    /// The current real-time clock.
    pub fn now() -> Ts {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Ts {
            sec: d.as_secs() as i64,
            nsec: d.subsec_nanos() as i64,
        }
    }
}

/// Stat fields normalized to one set of types (rustix's `Stat` differs per architecture).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct St {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blocks: u64,
    pub atime: Ts,
    pub mtime: Ts,
    pub ctime: Ts,
}

impl St {
    /// The file type bits (`mode & S_IFMT`).
    pub fn kind(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    /// The permission bits including setuid/setgid/sticky (`mode & 0o7777`).
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
}

impl From<rustix::fs::Stat> for St {
    #[allow(clippy::unnecessary_cast)]
    fn from(s: rustix::fs::Stat) -> St {
        St {
            dev: s.st_dev as u64,
            ino: s.st_ino as u64,
            mode: s.st_mode as u32,
            nlink: s.st_nlink as u64,
            uid: s.st_uid as u32,
            gid: s.st_gid as u32,
            rdev: s.st_rdev as u64,
            size: s.st_size as i64,
            blocks: s.st_blocks as u64,
            atime: Ts {
                sec: s.st_atime as i64,
                nsec: s.st_atime_nsec as i64,
            },
            mtime: Ts {
                sec: s.st_mtime as i64,
                nsec: s.st_mtime_nsec as i64,
            },
            ctime: Ts {
                sec: s.st_ctime as i64,
                nsec: s.st_ctime_nsec as i64,
            },
        }
    }
}

/// `fstat` as an `St`.
pub fn fst<Fd: AsFd>(fd: Fd) -> rustix::io::Result<St> {
    rustix::fs::fstat(fd).map(St::from)
}
