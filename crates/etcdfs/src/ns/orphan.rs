//! Daemon sessions and orphans. A [`Session`] is an etcd lease kept alive by a background task,
//! plus the key `P s <lease>` attached to it: while the daemon lives, the key exists; when the
//! daemon dies, the lease expires and etcd deletes the key. An orphan `P o <ino>` names the
//! session holding the nlink-0 inode open, so an orphan whose session key is gone is
//! reclaimable by anyone.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::{transact, FsError, Namespace};
use crate::schema::{Inode, Keys};
use crate::store::{CmpOp, CmpTarget, Compare, LeaseId, Store, Txn, TxnOp};

/// A daemon's liveness in the store; the keep-alive task stops when this is dropped.
#[derive(Debug)]
pub struct Session {
    lease: LeaseId,
    keeper: JoinHandle<()>,
}

impl Session {
    /// Grants a lease of `ttl_secs`, writes the session key attached to it, and keeps the lease
    /// alive every third of its TTL (on the current tokio runtime).
    pub async fn start<S: Store>(
        store: &S,
        keys: &Keys,
        ttl_secs: i64,
    ) -> Result<Session, FsError> {
        let lease = store.lease_grant(ttl_secs).await?;
        let txn = Txn {
            compares: Vec::new(),
            then: vec![TxnOp::Put {
                key: keys.session(lease.0),
                value: Vec::new(),
                lease: Some(lease),
            }],
            otherwise: Vec::new(),
        };
        store.txn(txn).await?;
        let period = Duration::from_millis((ttl_secs.max(1) as u64) * 1000 / 3);
        let store = store.clone();
        let keeper = tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                match store.lease_keep_alive(lease).await {
                    Ok(0) => {
                        tracing::error!(lease = lease.0, "etcdfs session lease expired");
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(lease = lease.0, "session keep-alive failed: {e}"),
                }
            }
        });
        Ok(Session { lease, keeper })
    }

    /// The session's lease.
    pub fn lease(&self) -> LeaseId {
        self.lease
    }

    /// Stops the keep-alive without revoking: the lease expires after its TTL, as if the daemon
    /// had died.
    pub fn abandon(self) {
        self.keeper.abort();
    }

    /// Stops the keep-alive and revokes the lease (its session key goes at once).
    pub async fn end<S: Store>(self, store: &S) -> Result<(), FsError> {
        self.keeper.abort();
        store.lease_revoke(self.lease).await?;
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.keeper.abort();
    }
}

impl<S: Store> Namespace<S> {
    /// This daemon opens `ino` (its first handle on it): records the session as a holder and
    /// returns the inode, in one transaction guarded on the inode, so what it returns is the
    /// inode as committed (close-to-open). Without a session, just reads the inode.
    pub async fn open(&self, ino: u64) -> Result<Inode, FsError> {
        let Some(lease) = self.session else {
            return Ok(self.getattr_fresh(ino).await?.0);
        };
        let inode = transact!(self, |plan| {
            let inode = plan.need_inode(ino).await?;
            plan.put_open(ino, lease);
            plan.put_inode(ino, inode.clone());
            inode
        });
        Ok(inode)
    }

    /// The daemon's last handle on `ino` closed: drops its open record (`recorded`: it made
    /// one, see [`Namespace::open`]) and, if the inode is an orphan of this daemon's session,
    /// hands it to another holder or deletes it with its data, in one transaction. Returns
    /// whether it was deleted.
    pub async fn release(&self, ino: u64, recorded: bool) -> Result<bool, FsError> {
        let Some(lease) = self.session else {
            return Ok(false);
        };
        let deleted = transact!(self, |plan| {
            if recorded {
                plan.delete_open(ino, lease);
            }
            match plan.inode(ino).await? {
                // Deleted meanwhile: only the open record goes.
                None => false,
                Some(inode) => {
                    self.close_inode(&mut plan, ino, inode, lease, recorded)
                        .await?
                }
            }
        });
        Ok(deleted)
    }

    /// Many last closes at once, in one transaction: drops this daemon's open record of every
    /// inode in `inos` that still has a name (each inode rewritten, as every change of its
    /// open records does). Returns the inodes left out, those with no name left (deleted or
    /// orphaned meanwhile), for [`Namespace::release`] one by one.
    pub async fn release_many(&self, inos: &[u64]) -> Result<Vec<u64>, FsError> {
        let Some(lease) = self.session else {
            return Ok(Vec::new());
        };
        let left = transact!(self, |plan| {
            let mut left = Vec::new();
            for &ino in inos {
                match plan.inode(ino).await? {
                    Some(inode) if inode.nlink > 0 => {
                        plan.delete_open(ino, lease);
                        plan.put_inode(ino, inode);
                    }
                    _ => left.push(ino),
                }
            }
            left
        });
        Ok(left)
    }

    /// The part of [`Namespace::release`] for an inode that exists.
    async fn close_inode(
        &self,
        plan: &mut super::plan::Plan<'_, S>,
        ino: u64,
        inode: Inode,
        lease: LeaseId,
        recorded: bool,
    ) -> Result<bool, FsError> {
        let orphan = self.keys.orphan(ino);
        let ours = inode.nlink == 0
            && match plan.other(orphan.clone()).await? {
                Some(holder) => holder == lease.0.to_be_bytes(),
                None => false,
            };
        let next = if ours {
            plan.other_holders(ino, Some(lease)).await?.first().copied()
        } else {
            None
        };
        if !ours || next.is_some() {
            if let Some(next) = next {
                plan.set_other(orphan, Some(next.0.to_be_bytes().to_vec()));
            }
            if recorded || next.is_some() {
                // The open records changed: so does the inode (see Plan::put_open).
                plan.put_inode(ino, inode);
            }
            return Ok(false);
        }
        plan.delete_inode(ino);
        Ok(true)
    }

    /// Deletes every orphan whose session has ended (its lease expired or was revoked), each
    /// with its inode and data in one transaction guarded on the session key still being
    /// absent. Returns how many were deleted.
    pub async fn reclaim_expired_orphans(&self) -> Result<usize, FsError> {
        let prefix = self.keys.orphans();
        let end = crate::store::prefix_end(&prefix);
        let orphans = self.store.range(&prefix, &end, 0, 0).await?;
        let mut reclaimed = 0;
        for kv in orphans.kvs {
            let Some(crate::schema::ParsedKey::Orphan(ino)) = self.keys.parse(&kv.key) else {
                continue;
            };
            let Ok(lease) = <[u8; 8]>::try_from(kv.value.as_slice()).map(i64::from_be_bytes) else {
                continue;
            };
            let session = self.keys.session(lease);
            if self.store.get(&session).await?.is_some() {
                continue;
            }
            let txn = {
                let mut plan = super::plan::Plan::new(self);
                plan.guard(Compare {
                    key: session,
                    op: CmpOp::Equal,
                    target: CmpTarget::Version(0),
                });
                plan.guard(Compare::mod_revision(kv.key.clone(), kv.mod_revision));
                let inode = plan.inode(ino).await?;
                // Still open on a live host: that host deletes it at its last close.
                match (inode, plan.other_holders(ino, None).await?.first()) {
                    (Some(inode), Some(next)) => {
                        plan.set_other(kv.key.clone(), Some(next.0.to_be_bytes().to_vec()));
                        plan.put_inode(ino, inode);
                    }
                    _ => plan.delete_inode(ino),
                }
                plan.build()
            };
            if self.commit(txn).await? {
                reclaimed += 1;
            }
        }
        Ok(reclaimed)
    }
}
