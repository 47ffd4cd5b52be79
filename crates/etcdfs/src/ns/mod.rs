//! Namespace operations on an etcdfs tree. Each change (create, mknod, mkdir, symlink, link,
//! unlink, rmdir, rename with RENAME_NOREPLACE / RENAME_EXCHANGE) is ONE etcd transaction built
//! by a `Plan` (module `plan`): read what the change depends on, guard every read with a compare, write
//! everything at once, and start over on conflict (at most [`MAX_ATTEMPTS`] times). A crash at
//! any point therefore leaves either the whole change or none of it: no dangling entry, no lost
//! inode, no directory cycle.
//!
//! Open-but-unlinked inodes: when a change drops an inode's last link while the caller says it
//! is open (the `is_open` argument, answered from the daemon's own handle table), the inode is
//! kept with nlink 0 and an orphan key naming the daemon's session lease, in the same
//! transaction; [`Namespace::release`] deletes it at last close, and
//! [`Namespace::reclaim_expired_orphans`] deletes the orphans of daemons whose lease expired.
//! Like NFS, this covers handles of the daemon that removes the name: an inode removed on one
//! host while open only on another is deleted.

mod alloc;
pub(crate) mod ambiguous;
mod attr;
mod create;
mod data;
mod error;
mod orphan;
pub(crate) mod plan;
mod remove;
mod rename;
mod xattr;

use std::time::Duration;

pub use attr::SetAttr;
pub use create::NewNode;
pub use data::MAX_WRITE;
pub use error::FsError;
pub use orphan::Session;
pub use remove::IsOpen;
pub use rename::RenameFlags;
pub use xattr::{XattrFlags, XATTR_NAME_MAX, XATTR_SIZE_MAX};

use crate::schema::{Entry, Inode, Keys, NAME_MAX};
use crate::store::{prefix_end, LeaseId, Store};
use alloc::InoAllocator;

/// Attempts of one namespace change against concurrent conflicting changes.
pub const MAX_ATTEMPTS: usize = 32;

/// Builds a plan, commits it as one transaction (a commit of unknown outcome is resolved by
/// `ambiguous::commit`), and retries on conflict. `$body` reads and
/// writes through `$plan` and evaluates to the operation's result; `?` and `return` in it leave
/// the operation without committing anything.
macro_rules! transact {
    ($ns:expr, |$plan:ident| $body:block) => {{
        let mut attempt = 0usize;
        loop {
            #[allow(unused_mut)]
            let mut $plan = $crate::ns::plan::Plan::new(&$ns.store, &$ns.keys);
            let out = $body;
            let txn = $plan.build();
            if $crate::ns::ambiguous::commit(&$ns.store, txn).await? {
                break out;
            }
            attempt += 1;
            if attempt >= $crate::ns::MAX_ATTEMPTS {
                return Err($crate::ns::FsError::Contention(attempt));
            }
            $crate::ns::backoff(attempt).await;
        }
    }};
}
pub(crate) use transact;

/// A short, jittered pause before retrying a conflicting transaction.
pub(crate) async fn backoff(attempt: usize) {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() % 1000);
    let micros = 200 * attempt.min(10) as u64 + u64::from(jitter);
    tokio::time::sleep(Duration::from_micros(micros)).await;
}

/// Checks a name for one directory entry.
pub(crate) fn check_name(name: &[u8]) -> Result<(), FsError> {
    if name.len() > NAME_MAX {
        return Err(FsError::NameTooLong);
    }
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0)
    {
        return Err(FsError::Invalid("bad file name"));
    }
    Ok(())
}

/// The namespace of one etcdfs tree, as seen by one daemon.
pub struct Namespace<S> {
    pub(crate) store: S,
    pub(crate) keys: Keys,
    pub(crate) session: Option<LeaseId>,
    alloc: InoAllocator,
}

impl<S> std::fmt::Debug for Namespace<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("prefix", &String::from_utf8_lossy(self.keys.prefix()))
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Namespace<S> {
    /// The tree under `prefix`. `session` is the daemon's [`Session`] lease; without one,
    /// removing the last name of an open inode deletes it at once.
    pub fn new(store: S, prefix: impl Into<Vec<u8>>, session: Option<LeaseId>) -> Namespace<S> {
        Namespace {
            store,
            keys: Keys::new(prefix),
            session,
            alloc: InoAllocator::default(),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The inode `ino`.
    pub async fn getattr(&self, ino: u64) -> Result<Inode, FsError> {
        let kv = self
            .store
            .get(&self.keys.inode(ino))
            .await?
            .ok_or(FsError::NotFound)?;
        Inode::decode(&kv.value).ok_or_else(|| FsError::Corrupt(format!("inode {ino} record")))
    }

    /// The inode named `name` in `parent`.
    pub async fn lookup(&self, parent: u64, name: &[u8]) -> Result<(u64, Inode), FsError> {
        if name.len() > NAME_MAX {
            return Err(FsError::NameTooLong);
        }
        let kv = self
            .store
            .get(&self.keys.entry(parent, name))
            .await?
            .ok_or(FsError::NotFound)?;
        let entry = Entry::decode(&kv.value)
            .ok_or_else(|| FsError::Corrupt(format!("an entry of {parent}")))?;
        Ok((entry.ino, self.getattr(entry.ino).await?))
    }

    /// Up to `limit` entries of `dir` whose names sort after `after` (empty: from the start).
    pub async fn readdir(
        &self,
        dir: u64,
        after: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Entry)>, FsError> {
        let prefix = self.keys.entries(dir);
        let mut start = prefix.clone();
        if !after.is_empty() {
            start.extend_from_slice(after);
            start.push(0);
        }
        let r = self
            .store
            .range(&start, &prefix_end(&prefix), limit, 0)
            .await?;
        r.kvs
            .into_iter()
            .map(|kv| {
                let name = kv.key[prefix.len()..].to_vec();
                let entry = Entry::decode(&kv.value)
                    .ok_or_else(|| FsError::Corrupt(format!("an entry of {dir}")))?;
                Ok((name, entry))
            })
            .collect()
    }
}
