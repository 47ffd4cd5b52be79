//! O_TMPFILE: a regular file born without a name. Its inode is written with nlink 0 together
//! with an orphan key naming this daemon's session, in one transaction guarded on the
//! directory and on the session key; from then on it is exactly an open unlinked file:
//! [`Namespace::release`] deletes it at the daemon's last close, a `link` of it (linkat through
//! `/proc/self/fd`) gives it a name and drops the orphan key, and if the daemon dies first,
//! [`Namespace::reclaim_expired_orphans`] deletes it once the session's lease expires.

use super::{transact, FsError, Namespace, NewNode};
use crate::schema::{Inode, Timestamp};
use crate::store::Store;

impl<S: Store> Namespace<S> {
    /// Creates an unnamed regular file "in" directory `parent` (which must exist: its group
    /// and setgid bit apply as for `create`). The caller holds it open; it needs the daemon's
    /// session, without which it is refused (EOPNOTSUPP).
    pub async fn tmpfile(&self, parent: u64, node: NewNode) -> Result<(u64, Inode), FsError> {
        let lease = self
            .session
            .ok_or(FsError::Unsupported("O_TMPFILE without a session"))?;
        let mode = libc::S_IFREG | (node.mode & 0o7777);
        // Allocated once: a retry reuses it (its key is guarded on being absent).
        let ino = self.alloc.alloc(&self.store, &self.keys).await?;
        let inode = transact!(self, |plan| {
            let dir = plan.need_dir(parent).await?;
            let gid = if dir.mode & libc::S_ISGID != 0 {
                dir.gid
            } else {
                node.gid
            };
            let inode = Inode::new(mode, 0, node.uid, gid, 0, Timestamp::now());
            plan.put_inode(ino, inode.clone());
            plan.put_orphan(ino, lease).await?;
            inode
        });
        Ok((ino, inode))
    }
}
