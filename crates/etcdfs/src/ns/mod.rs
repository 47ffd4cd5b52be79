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
mod chunks;
mod create;
mod data;
mod error;
mod fallocate;
mod lock_attempt;
mod lock_ranges;
mod locks;
mod orphan;
pub(crate) mod plan;
mod remove;
mod rename;
mod tmpfile;
mod xattr;

use std::sync::Arc;
use std::time::Duration;

pub use attr::SetAttr;
pub use chunks::SeekTo;
pub use create::NewNode;
pub use data::MAX_WRITE;
pub use error::FsError;
pub use fallocate::{FallocMode, MAX_ALLOCATE};
pub use lock_ranges::LockRange;
pub use locks::{Applied, HeldLock, LockChange, Locks, SetOutcome};
pub use orphan::Session;
pub use remove::IsOpen;
pub use rename::RenameFlags;
pub use xattr::{XattrFlags, XATTR_NAME_MAX, XATTR_SIZE_MAX};

use crate::cache::MetaCache;
use crate::schema::{Entry, Inode, Keys, NAME_MAX};
use crate::store::{prefix_end, KeyValue, LeaseId, Store, Txn, TxnOp};
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
            let mut $plan = $crate::ns::plan::Plan::new(&$ns);
            let out = $body;
            let txn = $plan.build();
            if $ns.commit(txn).await? {
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

/// A jittered pause before retrying a conflicting transaction, growing with the attempts
/// (from about 0.2 ms to 13 ms) so that contenders spread out instead of colliding again.
pub(crate) async fn backoff(attempt: usize) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let ceiling = 200u64 << attempt.min(6);
    let micros = ceiling / 2 + nanos % (ceiling / 2 + 1);
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
    cache: Option<Arc<MetaCache>>,
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
            cache: None,
        }
    }

    /// Serves reads from `cache` (a mirror of [`Keys::cached_range`], kept by a
    /// [`crate::cache::Follower`]) while it is confirmed, and keeps it up to date with this
    /// namespace's own changes.
    pub fn attach_cache(&mut self, cache: Arc<MetaCache>) {
        self.cache = Some(cache);
    }

    /// The metadata cache, if any.
    pub fn cache(&self) -> Option<&Arc<MetaCache>> {
        self.cache.as_ref()
    }

    /// `key`, from the cache when it may answer, else from the store.
    pub(crate) async fn read_key(&self, key: &[u8]) -> Result<Option<KeyValue>, FsError> {
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(key)) {
            return Ok(hit);
        }
        Ok(self.store.get(key).await?)
    }

    /// Keys of `[start, end)` (at most `limit`, 0: all), from the cache when it may answer,
    /// else from the store.
    pub(crate) async fn read_range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, FsError> {
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.range(start, end, limit)) {
            return Ok(hit);
        }
        Ok(self.store.range(start, end, limit, 0).await?.kvs)
    }

    /// Runs `txn`; returns whether its guards held. With a cache: a committed transaction is
    /// applied to it at once (read your writes); after failed guards, the guarded keys are read
    /// again from the store, so that the next plan sees what changed.
    pub(crate) async fn commit(&self, txn: Txn) -> Result<bool, FsError> {
        let Some(cache) = &self.cache else {
            return Ok(ambiguous::commit(&self.store, txn).await?.applied());
        };
        let ops = cache.covered_ops(&txn.then);
        let guarded: Vec<Vec<u8>> = txn
            .compares
            .iter()
            .filter(|c| cache.covers(&c.key))
            .map(|c| c.key.clone())
            .collect();
        match ambiguous::commit(&self.store, txn).await? {
            ambiguous::Outcome::Applied(revision) => {
                cache.committed(&ops, revision);
                Ok(true)
            }
            ambiguous::Outcome::AppliedAtUnknownRevision => {
                // Applied, but at which revision is not known: read what it wrote.
                for op in &ops {
                    if let TxnOp::Put { key, .. } | TxnOp::Delete { key } = op {
                        self.refresh(cache, key).await?;
                    }
                }
                Ok(true)
            }
            ambiguous::Outcome::NotApplied => {
                for key in guarded {
                    self.refresh(cache, &key).await?;
                }
                Ok(false)
            }
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

    /// Reads `key` from the store into `cache`.
    async fn refresh(&self, cache: &MetaCache, key: &[u8]) -> Result<(), FsError> {
        let mut end = key.to_vec();
        end.push(0);
        let read = self.store.range(key, &end, 1, 0).await?;
        cache.read(key, read.kvs.into_iter().next(), read.revision);
        Ok(())
    }

    /// The inode `ino`.
    pub async fn getattr(&self, ino: u64) -> Result<Inode, FsError> {
        let kv = self
            .read_key(&self.keys.inode(ino))
            .await?
            .ok_or(FsError::NotFound)?;
        Inode::decode(&kv.value).ok_or_else(|| FsError::Corrupt(format!("inode {ino} record")))
    }

    /// The inode `ino` read from the store, not the cache (which it refreshes): what `open`
    /// needs for close-to-open consistency with other hosts. The flag says whether the cache
    /// held an older version (a change by another host that its watch has not brought yet).
    pub async fn getattr_fresh(&self, ino: u64) -> Result<(Inode, bool), FsError> {
        let key = self.keys.inode(ino);
        let mut end = key.clone();
        end.push(0);
        let read = self.store.range(&key, &end, 1, 0).await?;
        let kv = read.kvs.into_iter().next();
        let newer = match &self.cache {
            Some(cache) => cache.read(&key, kv.clone(), read.revision),
            None => false,
        };
        let kv = kv.ok_or(FsError::NotFound)?;
        let inode = Inode::decode(&kv.value)
            .ok_or_else(|| FsError::Corrupt(format!("inode {ino} record")))?;
        Ok((inode, newer))
    }

    /// The inode named `name` in `parent`.
    pub async fn lookup(&self, parent: u64, name: &[u8]) -> Result<(u64, Inode), FsError> {
        if name.len() > NAME_MAX {
            return Err(FsError::NameTooLong);
        }
        let kv = self
            .read_key(&self.keys.entry(parent, name))
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
        self.read_range(&start, &prefix_end(&prefix), limit)
            .await?
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
