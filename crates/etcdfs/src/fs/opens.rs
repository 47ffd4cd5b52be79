//! Opening and closing files, across hosts: the first handle this daemon opens on an inode
//! writes the session's open record (`P h <ino> <session>`, attached to the session lease) in
//! one transaction with the inode, and the last handle's close drops it. A removal on any
//! host that takes an inode's last name then finds every holder and keeps the inode as an
//! orphan until the last of them closes (or dies: the record goes with its lease).
//!
//! The first open and the last close of one inode are serialized per daemon (striped
//! locks), so that a record is never dropped by a close that overtook the open after it.

use fusekit::Errno;

use super::handles::LastClose;
use super::{errno, stale, EtcdFs};
use crate::schema::Inode;
use crate::store::Store;

impl<S: Store> EtcdFs<S> {
    /// Opens a handle on file `ino`; returns it with the inode as the store has it now
    /// (close-to-open), and makes the kernel ask for the inode's attributes again.
    pub(super) async fn open_handle(&self, ino: u64) -> Result<(u64, Inode), Errno> {
        if self.ns.getattr(ino).await.map_err(stale)?.is_dir() {
            return Err(Errno::ISDIR);
        }
        let _serial = self.open_locks.lock(ino).await;
        let (fh, first) = self.handles.open_file(ino);
        let fresh = if first {
            match self.ns.open(ino).await {
                Ok(inode) => {
                    self.handles.set_recorded(ino);
                    Ok(inode)
                }
                // A full quota refuses the open record, not the open: read what is there
                // (an unlink on another host meanwhile would not see this holder).
                Err(e) if e.errno() == libc::ENOSPC => {
                    tracing::debug!(ino, "etcd quota full: opened without an open record");
                    self.ns.getattr_fresh(ino).await.map(|(inode, _)| inode)
                }
                Err(e) => Err(e),
            }
        } else {
            self.ns.getattr_fresh(ino).await.map(|(inode, _)| inode)
        };
        let inode = match fresh {
            Ok(inode) => inode,
            Err(e) => {
                self.handles.close_file(fh);
                return Err(stale(e));
            }
        };
        // Close-to-open: whatever size and times this kernel was told before (a LOOKUP
        // answered while this daemon's cache had only the create, say), it asks again now;
        // its pages of the file go at every open anyway (no FOPEN_KEEP_CACHE).
        self.invalidate_attributes(ino);
        Ok((fh, inode))
    }

    /// A file handle made by CREATE, whose transaction wrote the open record.
    pub(super) fn created_handle(&self, ino: u64) -> u64 {
        let (fh, _) = self.handles.open_file(ino);
        self.handles.set_recorded(ino);
        fh
    }

    /// Closes file handle `fh`; the last handle on its inode drops the open record (grouped
    /// with other closes), or, when a removal found the inode open, releases it at once (an
    /// orphan of ours goes, or passes to another holder).
    pub(super) async fn close_handle(&self, fh: u64) -> Result<(), Errno> {
        let Some(ino) = self.handles.ino_of(fh) else {
            return Ok(());
        };
        let serial = self.open_locks.lock(ino).await;
        let Some(LastClose {
            ino,
            recorded,
            maybe_orphan,
        }) = self.handles.close_file(fh)
        else {
            return Ok(());
        };
        if maybe_orphan {
            self.ns.release(ino, recorded).await.map_err(errno)?;
        } else if recorded {
            // The common case: grouped with other closes (see `releases`).
            drop(serial);
            self.release_later(ino).await;
        }
        Ok(())
    }
}
