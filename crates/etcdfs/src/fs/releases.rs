//! Group commit of last closes: the open record a file's last close drops (see `opens`) is
//! dropped together with those of other files closed meanwhile, in one transaction of up to
//! [`BATCH`] inodes, instead of one transaction per close. A close queues its inode; the first
//! closer to find no flush running flushes the queue until it is empty, the others return at
//! once (a RELEASE is asynchronous for the closing process: close(2) does not wait for it).
//! A file opened again before its record is dropped keeps the record; an inode that lost its
//! last name meanwhile is released on its own (it may be an orphan to delete or hand over).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::EtcdFs;
use crate::store::Store;

/// Inodes per transaction: two operations each, under etcd's default of 128 per transaction.
const BATCH: usize = 50;

/// The queue of last closes whose open records are still to drop.
#[derive(Debug, Default)]
pub(super) struct Releases {
    pending: Mutex<Vec<u64>>,
    flushing: AtomicBool,
}

impl Releases {
    fn push(&self, ino: u64) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ino);
    }

    fn take(&self) -> Vec<u64> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let n = pending.len().min(BATCH);
        let batch: BTreeSet<u64> = pending.drain(..n).collect();
        batch.into_iter().collect()
    }

    fn is_empty(&self) -> bool {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }
}

impl<S: Store> EtcdFs<S> {
    /// Queues the release of `ino`'s open record and flushes the queue unless another
    /// request is flushing it.
    pub(super) async fn release_later(&self, ino: u64) {
        self.releases.push(ino);
        loop {
            if self.releases.flushing.swap(true, Ordering::AcqRel) {
                return;
            }
            self.flush_releases().await;
            self.releases.flushing.store(false, Ordering::Release);
            // Something queued after the last take, while this request was still flushing,
            // saw a flush running and left it to us.
            if self.releases.is_empty() {
                return;
            }
        }
    }

    /// Drops the queued open records until the queue is empty.
    async fn flush_releases(&self) {
        loop {
            let batch = self.releases.take();
            if batch.is_empty() {
                return;
            }
            // Hold the open/close lock of every inode of the batch (in stripe order: no
            // deadlock with an open, which takes one), so that none is opened again between
            // the check below and the commit.
            let stripes: BTreeSet<u64> = batch
                .iter()
                .map(|&ino| self.open_locks.stripe(ino))
                .collect();
            let mut guards = Vec::with_capacity(stripes.len());
            for stripe in stripes {
                guards.push(self.open_locks.lock_stripe(stripe).await);
            }
            let mut closed = Vec::with_capacity(batch.len());
            for ino in batch {
                if self.handles.has_handles(ino) {
                    // Opened again: the record stays, for that handle's last close to drop.
                    self.handles.set_recorded(ino);
                } else {
                    closed.push(ino);
                }
            }
            let singles = match self.ns.release_many(&closed).await {
                Ok(left) => left,
                Err(e) => {
                    tracing::debug!(error = %e, "etcdfs: batched release failed; one by one");
                    closed
                }
            };
            for ino in singles {
                if let Err(e) = self.ns.release(ino, true).await {
                    tracing::warn!(ino, error = %e, "etcdfs: releasing an open record failed");
                }
            }
            drop(guards);
        }
    }
}
