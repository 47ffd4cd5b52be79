//! Notifications: messages the filesystem sends to the kernel unasked, from any thread —
//! invalidate cached attributes, data or names, push data into the page cache, ask for cached
//! data back, wake pollers, and (7.44+) bump the epoch or prune unused nodes.
//!
//! Errors are returned, not logged: ENOENT from an invalidation just means the kernel had
//! nothing cached, which is often fine. ENOSYS means the kernel's protocol is too old.

use std::ffi::OsStr;
use std::io::IoSlice;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use fusekit_abi as abi;
use rustix::io::Errno;
use zerocopy::{Immutable, IntoBytes};

use crate::conn::{Connection, Stats};

/// Sends notifications for one session. Cheap to clone; `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Notifier {
    conn: Arc<Connection>,
}

/// A poll wake-up handle (the `kh` of a POLL request that asked to be notified).
#[derive(Debug, Clone)]
pub struct PollHandle {
    kh: u64,
    notifier: Notifier,
}

impl PollHandle {
    pub(crate) fn new(kh: u64, notifier: Notifier) -> Self {
        PollHandle { kh, notifier }
    }

    /// The kernel's handle value.
    pub fn kh(&self) -> u64 {
        self.kh
    }

    /// Tells the kernel the file may be ready now: pollers re-poll.
    pub fn wake(&self) -> Result<(), Errno> {
        self.notifier.poll_wakeup(self.kh)
    }
}

impl Notifier {
    pub(crate) fn new(conn: Arc<Connection>) -> Self {
        Notifier { conn }
    }

    fn require_minor(&self, minor: u32) -> Result<(), Errno> {
        if self.conn.minor() < minor {
            return Err(Errno::NOSYS);
        }
        Ok(())
    }

    fn send(&self, code: abi::NotifyCode, payload: &[IoSlice<'_>]) -> Result<(), Errno> {
        let len =
            core::mem::size_of::<abi::OutHeader>() + payload.iter().map(|s| s.len()).sum::<usize>();
        let header = abi::OutHeader {
            len: len as u32,
            error: code as i32,
            unique: 0,
        };
        let result = self.conn.notify_sink().send(&header, payload);
        if let Err(e) = result {
            Stats::bump(&self.conn.stats.notify_errors);
            tracing::debug!(?code, error = %e, "notification refused");
        }
        result
    }

    fn send_struct<T: IntoBytes + Immutable>(
        &self,
        code: abi::NotifyCode,
        value: &T,
        tail: &[u8],
    ) -> Result<(), Errno> {
        self.send(code, &[IoSlice::new(value.as_bytes()), IoSlice::new(tail)])
    }

    /// Drops cached attributes of `ino`, and cached data in `[offset, offset+len)` (`len == 0`
    /// means to the end of the file; a negative offset invalidates attributes only).
    pub fn inval_inode(&self, ino: u64, offset: i64, len: i64) -> Result<(), Errno> {
        let out = abi::NotifyInvalInodeOut {
            ino,
            off: offset,
            len,
        };
        self.send_struct(abi::NotifyCode::InvalInode, &out, &[])
    }

    /// Drops the cached name `name` in directory `parent`.
    pub fn inval_entry(&self, parent: u64, name: &OsStr) -> Result<(), Errno> {
        self.inval_entry_flags(parent, name, 0)
    }

    /// Marks the cached name as expired without dropping it (FUSE_EXPIRE_ONLY, 7.38+).
    pub fn expire_entry(&self, parent: u64, name: &OsStr) -> Result<(), Errno> {
        self.require_minor(38)?;
        self.inval_entry_flags(parent, name, abi::NotifyInvalEntryFlags::EXPIRE_ONLY.bits())
    }

    fn inval_entry_flags(&self, parent: u64, name: &OsStr, flags: u32) -> Result<(), Errno> {
        let name = name.as_bytes();
        let out = abi::NotifyInvalEntryOut {
            parent,
            namelen: name.len() as u32,
            flags,
        };
        self.send(
            abi::NotifyCode::InvalEntry,
            &[
                IoSlice::new(out.as_bytes()),
                IoSlice::new(name),
                IoSlice::new(&[0]),
            ],
        )
    }

    /// Tells the kernel that `name` in `parent`, which pointed to `child`, was deleted
    /// (also drops the dentry, and unlike inval_entry works on directories in use).
    pub fn delete(&self, parent: u64, child: u64, name: &OsStr) -> Result<(), Errno> {
        let name = name.as_bytes();
        let out = abi::NotifyDeleteOut {
            parent,
            child,
            namelen: name.len() as u32,
            padding: 0,
        };
        self.send(
            abi::NotifyCode::Delete,
            &[
                IoSlice::new(out.as_bytes()),
                IoSlice::new(name),
                IoSlice::new(&[0]),
            ],
        )
    }

    /// Puts `data` into the kernel's page cache of `ino` at `offset` (extending the cached size).
    pub fn store(&self, ino: u64, offset: u64, data: &[u8]) -> Result<(), Errno> {
        let out = abi::NotifyStoreOut {
            nodeid: ino,
            offset,
            size: data.len() as u32,
            padding: 0,
        };
        self.send_struct(abi::NotifyCode::Store, &out, data)
    }

    /// Asks the kernel for up to `size` cached bytes of `ino` at `offset`. The data arrives later
    /// through `Filesystem::retrieve_reply` with the returned cookie.
    pub fn retrieve(&self, ino: u64, offset: u64, size: u32) -> Result<u64, Errno> {
        let cookie = self.conn.next_notify_unique();
        let out = abi::NotifyRetrieveOut {
            notify_unique: cookie,
            nodeid: ino,
            offset,
            size,
            padding: 0,
        };
        self.send_struct(abi::NotifyCode::Retrieve, &out, &[])?;
        Ok(cookie)
    }

    /// Wakes pollers waiting on the poll handle `kh`.
    pub fn poll_wakeup(&self, kh: u64) -> Result<(), Errno> {
        let out = abi::NotifyPollWakeupOut { kh };
        self.send_struct(abi::NotifyCode::Poll, &out, &[])
    }

    /// Increments the connection's epoch: every cached name becomes stale (7.44+).
    pub fn inc_epoch(&self) -> Result<(), Errno> {
        self.require_minor(44)?;
        self.send(abi::NotifyCode::IncEpoch, &[])
    }

    /// Asks the kernel to forget the given nodes if they are unused (7.45+).
    pub fn prune(&self, inodes: &[u64]) -> Result<(), Errno> {
        self.require_minor(45)?;
        let out = abi::NotifyPruneOut {
            count: inodes.len() as u32,
            padding: 0,
            spare: 0,
        };
        self.send(
            abi::NotifyCode::Prune,
            &[
                IoSlice::new(out.as_bytes()),
                IoSlice::new(inodes.as_bytes()),
            ],
        )
    }

    /// Asks the kernel to resend every request it is still waiting on (7.40+, HAS_RESEND).
    pub fn resend(&self) -> Result<(), Errno> {
        self.require_minor(40)?;
        self.send(abi::NotifyCode::Resend, &[])
    }
}
