//! Advisory locks held in etcd, so that they exclude across every daemon mounting the tree:
//! POSIX record locks (OFD locks too: the kernel sends them as POSIX locks whose owner is the
//! open file) and flock locks, which, as on Linux, do not interact with each other.
//!
//! Storage: one record per (inode, kind, daemon session, lock owner), `P l <ino> <kind>
//! <lease> <owner>`, holding the owner's ranges ([`LockRange`]), written attached to the
//! daemon's session lease (see [`super::Session`]); and one lock version key per inode,
//! `P l <ino>`, which every change of the inode's locks rewrites. A change is one
//! transaction: read the version key and every record of the inode, check the request against
//! the other owners' ranges, write the owner's new record and the version key, guarded on the
//! version key's mod_revision being what was read (so no conflicting lock can slip in between),
//! on the inode existing and, when a lock is taken, on the session key existing. The version
//! key is deleted with the inode's last record, and with the inode.
//!
//! The first attempt reads the daemon's metadata cache (the lock keys lie in the cached range);
//! a conflict seen there, a failed guard, and every unlock read the store itself (a
//! linearizable read), so an answer of "held by another owner" and every release are as of
//! the store's present. Only this module's own committed transactions (and the watch) update
//! the cache's lock keys, never a partial re-read, so a cached version key always matches the
//! cached records it guards.
//!
//! Guarantees:
//! - A lock taken through one daemon excludes conflicting locks through every other daemon as
//!   soon as the call returns (both sides go through one etcd transaction on the inode).
//! - Owners are per daemon: (session lease, kernel lock owner). A daemon's own owners never
//!   conflict with themselves, as on one host.
//! - A daemon that dies (or is cut off from the quorum) loses its locks when its session lease
//!   expires: at most the session TTL after its last keep-alive
//!   ([`crate::fs::EtcdFsOptions::session_ttl_secs`]). etcd deletes the records with the
//!   lease; waiters elsewhere see that through their watch.
//! - On a partition: the cut-off daemon's lock calls fail with EIO within the store's request
//!   timeout; the others keep locking. Once its lease expired, its locks are gone: a process on
//!   that host that still believes it holds one is no longer protected (the same contract as
//!   NFSv4 lease expiry). Its session does not come back; new locks through it fail with EIO
//!   until it is mounted again.
//! - Not provided: deadlock detection across owners (F_SETLKW never answers EDEADLK), and
//!   mandatory locking.
//!
//! Waiting (F_SETLKW, blocking flock) is the caller's loop over [`Locks::set`] (see
//! `crate::fs::locks`), woken by the cache's watch of the lock keys.

use std::sync::Arc;

use super::lock_ranges::{self, LockRange};
use super::{backoff, FsError, Namespace, MAX_ATTEMPTS};
use crate::cache::MetaCache;
use crate::schema::{Keys, ParsedKey};
use crate::store::{prefix_end, CmpOp, CmpTarget, Compare, LeaseId, Store, Txn, TxnOp};

/// What an owner asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockChange {
    /// Take (or convert to) a lock of `start..=end`.
    Lock {
        start: u64,
        end: u64,
        write: bool,
        pid: u32,
    },
    /// Release whatever the owner holds in `start..=end`.
    Unlock { start: u64, end: u64 },
}

/// A lock held by some owner, as a conflict answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldLock {
    /// The session (daemon) of the holder.
    pub lease: i64,
    /// The holder's kernel lock owner on its daemon.
    pub owner: u64,
    pub range: LockRange,
}

/// An owner's record value (`None`: no record), before and after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
}

/// The answer of [`Locks::set`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetOutcome {
    /// The change is committed (or there was nothing to change).
    Applied(Applied),
    /// Another owner holds a conflicting lock; nothing was changed.
    Conflict(HeldLock),
}

/// One record of a snapshot.
struct Record {
    key: Vec<u8>,
    lease: i64,
    owner: u64,
    flock: bool,
    value: Vec<u8>,
    ranges: Vec<LockRange>,
}

/// The lock keys of one inode as read at one moment.
struct Snapshot {
    /// mod_revision of the version key (0: absent).
    version: i64,
    records: Vec<Record>,
}

impl Snapshot {
    fn conflict(
        &self,
        mine: &[u8],
        flock: bool,
        start: u64,
        end: u64,
        write: bool,
    ) -> Option<HeldLock> {
        self.records
            .iter()
            .filter(|r| r.flock == flock && r.key != mine)
            .find_map(|r| {
                let range = r.ranges.iter().find(|x| x.conflicts(start, end, write))?;
                Some(HeldLock {
                    lease: r.lease,
                    owner: r.owner,
                    range: *range,
                })
            })
    }
}

/// The lock table of a tree as one daemon session uses it; cheap to clone, `'static` (so a
/// change can finish on a task of its own after its caller went away).
#[derive(Clone)]
pub struct Locks<S> {
    store: S,
    keys: Keys,
    lease: LeaseId,
    cache: Option<Arc<MetaCache>>,
}

impl<S> std::fmt::Debug for Locks<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locks")
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Namespace<S> {
    /// The lock table as this namespace's session uses it; `None` without a session (locks
    /// must vanish with their daemon, so they need its lease).
    pub fn locks(&self) -> Option<Locks<S>> {
        Some(Locks {
            store: self.store.clone(),
            keys: self.keys.clone(),
            lease: self.session?,
            cache: self.cache().cloned(),
        })
    }
}

fn exists(key: Vec<u8>) -> Compare {
    Compare {
        key,
        op: CmpOp::Greater,
        target: CmpTarget::Version(0),
    }
}

impl<S: Store> Locks<S> {
    /// The session lease the records are attached to.
    pub fn lease(&self) -> LeaseId {
        self.lease
    }

    /// The lock keys of `ino`: from the cache when `fresh` is false and it may answer, else
    /// from the store.
    async fn snapshot(&self, ino: u64, fresh: bool) -> Result<Snapshot, FsError> {
        let start = self.keys.locks(ino);
        let end = prefix_end(&start);
        let cached = if fresh {
            None
        } else {
            self.cache.as_ref().and_then(|c| c.range(&start, &end, 0))
        };
        let kvs = match cached {
            Some(kvs) => kvs,
            None => self.store.range(&start, &end, 0, 0).await?.kvs,
        };
        let mut snap = Snapshot {
            version: 0,
            records: Vec::with_capacity(kvs.len()),
        };
        for kv in kvs {
            let corrupt = || FsError::Corrupt(format!("lock key of inode {ino}"));
            match self.keys.parse(&kv.key) {
                Some(ParsedKey::LockVersion(i)) if i == ino => snap.version = kv.mod_revision,
                Some(ParsedKey::Lock {
                    ino: i,
                    flock,
                    lease,
                    owner,
                }) if i == ino => {
                    let ranges = lock_ranges::decode(&kv.value).ok_or_else(corrupt)?;
                    snap.records.push(Record {
                        key: kv.key,
                        lease,
                        owner,
                        flock,
                        value: kv.value,
                        ranges,
                    });
                }
                _ => return Err(corrupt()),
            }
        }
        Ok(snap)
    }

    /// Runs `txn`; a committed one is applied to the cache at once.
    async fn commit(&self, txn: Txn) -> Result<bool, FsError> {
        let ops = self.cache.as_ref().map(|c| c.covered_ops(&txn.then));
        let result = self.store.txn(txn).await?;
        if result.succeeded {
            if let (Some(cache), Some(ops)) = (&self.cache, ops) {
                cache.committed(&ops, result.revision);
            }
        }
        Ok(result.succeeded)
    }

    /// F_GETLK: the first lock of another owner that conflicts with a `write` (or read) lock
    /// of `start..=end` by `owner` (flock locks when `flock`), read from the store.
    pub async fn test(
        &self,
        ino: u64,
        flock: bool,
        owner: u64,
        start: u64,
        end: u64,
        write: bool,
    ) -> Result<Option<HeldLock>, FsError> {
        let snap = self.snapshot(ino, true).await?;
        let mine = self.keys.lock(ino, flock, self.lease.0, owner);
        Ok(snap.conflict(&mine, flock, start, end, write))
    }

    /// One non-blocking attempt at `change` for `owner` (flock locks when `flock`, whose range
    /// is always the whole file): committed, or refused with the conflicting lock.
    pub async fn set(
        &self,
        ino: u64,
        flock: bool,
        owner: u64,
        change: LockChange,
    ) -> Result<SetOutcome, FsError> {
        let (start, end, new) = match change {
            LockChange::Lock {
                start,
                end,
                write,
                pid,
            } => (start, end, Some((write, pid))),
            LockChange::Unlock { start, end } => (start, end, None),
        };
        let (start, end) = if flock { (0, u64::MAX) } else { (start, end) };
        if start > end {
            return Err(FsError::Invalid("lock range ends before it starts"));
        }
        let mine = self.keys.lock(ino, flock, self.lease.0, owner);
        // Unlocks read the store: what this daemon holds must be released even if its cache
        // lost track of it.
        let mut fresh = new.is_none();
        let mut attempt = 0;
        loop {
            let snap = self.snapshot(ino, fresh).await?;
            if let Some((write, _)) = new {
                if let Some(held) = snap.conflict(&mine, flock, start, end, write) {
                    if fresh {
                        return Ok(SetOutcome::Conflict(held));
                    }
                    // Seen in the cache: confirm against the store before refusing.
                    fresh = true;
                    continue;
                }
            }
            let record = snap.records.iter().find(|r| r.key == mine);
            let current = record.map(|r| r.ranges.clone()).unwrap_or_default();
            let ranges = lock_ranges::apply(&current, start, end, new);
            let applied = Applied {
                before: record.map(|r| r.value.clone()),
                after: (!ranges.is_empty()).then(|| lock_ranges::encode(&ranges)),
            };
            if applied.before == applied.after {
                return Ok(SetOutcome::Applied(applied));
            }
            let others = snap.records.iter().any(|r| r.key != mine);
            let txn = self.change_txn(ino, &mine, snap.version, applied.after.clone(), others);
            if self.commit(txn).await? {
                return Ok(SetOutcome::Applied(applied));
            }
            if new.is_some() {
                self.why_refused(ino).await?;
            }
            attempt += 1;
            if attempt >= MAX_ATTEMPTS {
                return Err(FsError::Contention(attempt));
            }
            fresh = true;
            backoff(attempt).await;
        }
    }

    /// Sets `owner`'s record back to `to` if it is still `from` (undoing a change whose caller
    /// went away before it learnt the answer). Returns whether it did.
    pub async fn restore(
        &self,
        ino: u64,
        flock: bool,
        owner: u64,
        from: Option<Vec<u8>>,
        to: Option<Vec<u8>>,
    ) -> Result<bool, FsError> {
        let mine = self.keys.lock(ino, flock, self.lease.0, owner);
        for attempt in 1..=MAX_ATTEMPTS {
            let snap = self.snapshot(ino, true).await?;
            let record = snap.records.iter().find(|r| r.key == mine);
            if record.map(|r| &r.value) != from.as_ref() {
                return Ok(false);
            }
            let others = snap.records.iter().any(|r| r.key != mine);
            let txn = self.change_txn(ino, &mine, snap.version, to.clone(), others);
            if self.commit(txn).await? {
                return Ok(true);
            }
            if to.is_some() {
                self.why_refused(ino).await?;
            }
            backoff(attempt).await;
        }
        Err(FsError::Contention(MAX_ATTEMPTS))
    }

    /// Releases every lock of `owner` of one kind on `ino`.
    pub async fn release(&self, ino: u64, flock: bool, owner: u64) -> Result<(), FsError> {
        let change = LockChange::Unlock {
            start: 0,
            end: u64::MAX,
        };
        self.set(ino, flock, owner, change).await.map(drop)
    }

    /// The transaction writing `value` as the record `mine` (attached to the session lease;
    /// `None`: deleting it) and bumping the version key read at `version` (deleting it when no
    /// record remains: `others` says whether other owners have records).
    fn change_txn(
        &self,
        ino: u64,
        mine: &[u8],
        version: i64,
        value: Option<Vec<u8>>,
        others: bool,
    ) -> Txn {
        let version_key = self.keys.locks(ino);
        let mut compares = vec![Compare::mod_revision(version_key.clone(), version)];
        let mut then = Vec::with_capacity(2);
        let remains = others || value.is_some();
        match value {
            Some(value) => {
                compares.push(exists(self.keys.inode(ino)));
                compares.push(exists(self.keys.session(self.lease.0)));
                then.push(TxnOp::Put {
                    key: mine.to_vec(),
                    value,
                    lease: Some(self.lease),
                });
            }
            None => then.push(TxnOp::Delete { key: mine.to_vec() }),
        }
        then.push(if remains {
            TxnOp::Put {
                key: version_key,
                value: Vec::new(),
                lease: None,
            }
        } else {
            TxnOp::Delete { key: version_key }
        });
        Txn {
            compares,
            then,
            otherwise: Vec::new(),
        }
    }

    /// After a refused lock-taking transaction: `NotFound` if the inode is gone,
    /// `SessionEnded` if the session is; else the lock keys changed (try again).
    async fn why_refused(&self, ino: u64) -> Result<(), FsError> {
        if self.store.get(&self.keys.inode(ino)).await?.is_none() {
            return Err(FsError::NotFound);
        }
        if self
            .store
            .get(&self.keys.session(self.lease.0))
            .await?
            .is_none()
        {
            return Err(FsError::SessionEnded);
        }
        Ok(())
    }
}
