//! Capacity limits (`size=` / `nr_inodes=` in tmpfs terms) and the lock-free accounting that
//! turns "out of space" into `ENOSPC` instead of an out-of-memory abort.
//!
//! What is charged: every allocated data page ([`crate::PAGE_SIZE`] bytes), symlink targets and
//! extended attributes (name + value bytes) count against `max_bytes`; every inode, plus every
//! extra hard link to a non-directory (as tmpfs does, to bound dentry memory), counts against
//! `max_inodes`. The root directory is an inode too.

use std::sync::atomic::{AtomicU64, Ordering};

use rustix::io::Errno;

/// Capacity limits of one filesystem; `None` means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Maximum bytes of file data, symlink targets and xattrs.
    pub max_bytes: Option<u64>,
    /// Maximum number of inodes (plus extra hard links).
    pub max_inodes: Option<u64>,
}

impl Limits {
    /// No limits at all: only physical memory bounds the filesystem (it can then run the
    /// process out of memory, which a limited filesystem never does).
    pub const UNLIMITED: Limits = Limits {
        max_bytes: None,
        max_inodes: None,
    };

    /// tmpfs's defaults: half of physical RAM for data, and half of RAM's page count for
    /// inodes.
    pub fn tmpfs_default() -> Limits {
        let info = rustix::system::sysinfo();
        let ram = (info.totalram as u64).saturating_mul(u64::from(info.mem_unit.max(1)));
        Limits {
            max_bytes: Some(ram / 2),
            max_inodes: Some(ram / 4096 / 2),
        }
    }
}

/// Live usage counters checked against the limits.
#[derive(Debug)]
pub(crate) struct Usage {
    bytes: AtomicU64,
    inodes: AtomicU64,
    max_bytes: u64,
    max_inodes: u64,
}

fn charge(counter: &AtomicU64, max: u64, n: u64) -> Result<(), Errno> {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            used.checked_add(n).filter(|&total| total <= max)
        })
        .map(|_| ())
        .map_err(|_| Errno::NOSPC)
}

impl Usage {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            bytes: AtomicU64::new(0),
            inodes: AtomicU64::new(0),
            max_bytes: limits.max_bytes.unwrap_or(u64::MAX),
            max_inodes: limits.max_inodes.unwrap_or(u64::MAX),
        }
    }

    /// Reserves `n` bytes or fails with `ENOSPC` without reserving anything.
    pub(crate) fn charge_bytes(&self, n: u64) -> Result<(), Errno> {
        charge(&self.bytes, self.max_bytes, n)
    }

    pub(crate) fn uncharge_bytes(&self, n: u64) {
        let prev = self.bytes.fetch_sub(n, Ordering::AcqRel);
        debug_assert!(prev >= n, "byte accounting underflow");
    }

    /// Reserves one inode slot or fails with `ENOSPC`.
    pub(crate) fn charge_inode(&self) -> Result<(), Errno> {
        charge(&self.inodes, self.max_inodes, 1)
    }

    pub(crate) fn uncharge_inode(&self) {
        let prev = self.inodes.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(prev >= 1, "inode accounting underflow");
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Acquire)
    }

    pub(crate) fn inodes(&self) -> u64 {
        self.inodes.load(Ordering::Acquire)
    }

    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub(crate) fn max_inodes(&self) -> u64 {
        self.max_inodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit_and_no_further() {
        let u = Usage::new(Limits {
            max_bytes: Some(10),
            max_inodes: Some(1),
        });
        u.charge_bytes(6).unwrap();
        assert_eq!(u.charge_bytes(5), Err(Errno::NOSPC));
        u.charge_bytes(4).unwrap();
        u.uncharge_bytes(10);
        assert_eq!(u.bytes(), 0);
        u.charge_inode().unwrap();
        assert_eq!(u.charge_inode(), Err(Errno::NOSPC));
        u.uncharge_inode();
        u.charge_inode().unwrap();
    }
}
