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
    /// (close-to-open). A change another host made that the kernel may not have heard of yet
    /// drops the kernel's attributes and pages first.
    pub(super) async fn open_handle(&self, ino: u64) -> Result<(u64, Inode), Errno> {
        let cached = self.ns.getattr(ino).await.map_err(stale)?;
        if cached.is_dir() {
            return Err(Errno::ISDIR);
        }
        let _serial = self.open_locks.lock(ino).await;
        let (fh, first) = self.handles.open_file(ino);
        let fresh = if first {
            self.ns
                .open(ino)
                .await
                .inspect(|_| self.handles.set_recorded(ino))
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
        if inode.size != cached.size || inode.mtime != cached.mtime {
            self.invalidate_inode(ino);
        }
        Ok((fh, inode))
    }

    /// A file handle made by CREATE, whose transaction wrote the open record.
    pub(super) fn created_handle(&self, ino: u64) -> u64 {
        let (fh, _) = self.handles.open_file(ino);
        self.handles.set_recorded(ino);
        fh
    }

    /// Closes file handle `fh`; the last handle on its inode drops the open record (and an
    /// orphan of ours goes, or passes to another holder).
    pub(super) async fn close_handle(&self, fh: u64) -> Result<(), Errno> {
        let Some(ino) = self.handles.ino_of(fh) else {
            return Ok(());
        };
        let _serial = self.open_locks.lock(ino).await;
        let Some(LastClose {
            ino,
            recorded,
            maybe_orphan,
        }) = self.handles.close_file(fh)
        else {
            return Ok(());
        };
        if recorded || maybe_orphan {
            self.ns.release(ino, recorded).await.map_err(errno)?;
        }
        Ok(())
    }
}
