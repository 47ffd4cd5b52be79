//! The daemon's metadata cache: a mirror of every inode, directory entry, xattr, orphan and
//! session key of the tree (everything but file data), loaded once and kept current by a watch
//! of the prefix, so that stat, lookup, readdir and the reads every change plans need no etcd
//! round trip on a warm tree.
//!
//! Coherence, in three rules:
//! - Read your writes: a transaction this daemon commits is applied to the mirror as soon as it
//!   commits ([`MetaCache::committed`]); the watch's echo of it later changes nothing.
//! - Others' writes arrive by the watch, a few milliseconds after they commit. A change planned
//!   on a stale mirror is still safe: every read becomes a guard of the transaction, which then
//!   fails; the keys it guarded are read again from the store ([`MetaCache::read`]) and the
//!   change is planned anew.
//! - Served only while confirmed: every quarter of the validity period the follower reads the
//!   store's current revision (a linearizable, quorum read) and asks the watch for its progress;
//!   once the watch has caught up with that revision, the mirror is confirmed current as of the
//!   moment of the read, for the validity period. A daemon cut off from the quorum (or whose
//!   watch stalls) stops being confirmed within that period, and its reads go to the store,
//!   which fails them with EIO in bounded time. Nothing stale is ever served as current for
//!   longer than the validity period.

mod follow;
mod mirror;

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

pub use follow::Follower;
pub use mirror::{Change, Mirror};

use crate::store::{KeyValue, TxnOp};

/// How the cache confirms itself.
#[derive(Debug, Clone, Copy)]
pub struct CacheOptions {
    /// How long one confirmation keeps the mirror servable (it is renewed every quarter of it).
    pub validity: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            validity: Duration::from_secs(1),
        }
    }
}

/// What the follower tells a listener (see [`MetaCache::add_listener`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheEvent {
    /// Changes made by others, as the watch brought them, in revision order.
    Changed(Vec<Change>),
    /// The mirror was loaded afresh (the watch's history was compacted away): anything may
    /// have changed.
    Reloaded,
}

/// A listener of the cache's changes.
type Listener = Box<dyn Fn(CacheEvent) + Send + Sync>;

/// A mirror of `[start, end)` with its confirmation.
pub struct MetaCache {
    mirror: RwLock<Mirror>,
    listeners: Mutex<Vec<Listener>>,
    /// Until when the mirror may be served (`None`: not confirmed, or not loaded yet).
    fresh_until: Mutex<Option<Instant>>,
    options: CacheOptions,
}

impl std::fmt::Debug for MetaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaCache")
            .field("keys", &self.len())
            .field("confirmed", &self.is_confirmed())
            .finish_non_exhaustive()
    }
}

impl MetaCache {
    /// An empty, unconfirmed cache of `[start, end)`; a [`Follower`] loads and keeps it.
    pub fn new(start: Vec<u8>, end: Vec<u8>, options: CacheOptions) -> Arc<MetaCache> {
        Arc::new(MetaCache {
            mirror: RwLock::new(Mirror::new(start, end, 0)),
            listeners: Mutex::new(Vec::new()),
            fresh_until: Mutex::new(None),
            options,
        })
    }

    fn mirror(&self) -> std::sync::RwLockReadGuard<'_, Mirror> {
        self.mirror.read().unwrap_or_else(|p| p.into_inner())
    }

    fn mirror_mut(&self) -> std::sync::RwLockWriteGuard<'_, Mirror> {
        self.mirror.write().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self) -> bool {
        let until = *self.fresh_until.lock().unwrap_or_else(|p| p.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }

    /// Whether reads are served from the mirror now.
    pub fn is_confirmed(&self) -> bool {
        self.fresh()
    }

    /// `key`'s value if the mirror may answer (`Some(None)`: the key does not exist); `None`:
    /// ask the store.
    pub fn get(&self, key: &[u8]) -> Option<Option<KeyValue>> {
        if !self.fresh() {
            return None;
        }
        let mirror = self.mirror();
        mirror.covers(key).then(|| mirror.get(key).cloned())
    }

    /// The keys of `[start, end)`, at most `limit` (0: all), if the mirror may answer.
    pub fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Option<Vec<KeyValue>> {
        if !self.fresh() || end.is_empty() {
            return None;
        }
        let mirror = self.mirror();
        mirror
            .covers_range(start, end)
            .then(|| mirror.range(start, end, limit))
    }

    /// Whether `key` is mirrored.
    pub fn covers(&self, key: &[u8]) -> bool {
        self.mirror().covers(key)
    }

    /// The operations of `ops` that touch mirrored keys (kept to apply once committed).
    pub fn covered_ops(&self, ops: &[TxnOp]) -> Vec<TxnOp> {
        let mirror = self.mirror();
        ops.iter()
            .filter(|op| match op {
                TxnOp::Put { key, .. } | TxnOp::Delete { key } => mirror.covers(key),
                TxnOp::DeleteRange { start, .. } => mirror.covers(start),
            })
            .cloned()
            .collect()
    }

    /// This daemon committed `ops` at `revision`.
    pub fn committed(&self, ops: &[TxnOp], revision: i64) {
        if !ops.is_empty() {
            self.mirror_mut().apply_committed(ops, revision);
        }
    }

    /// A read of `key` from the store at `revision` (after a transaction failed its guards,
    /// or for close-to-open). Returns whether the mirror held an older state of the key: a
    /// change the watch has not brought yet, and whose echo will now change nothing.
    pub fn read(&self, key: &[u8], kv: Option<KeyValue>, revision: i64) -> bool {
        self.mirror_mut().apply_read(key, kv, revision)
    }

    /// Keys held (for statistics and tests).
    pub fn len(&self) -> usize {
        self.mirror().len()
    }

    /// Whether the mirror holds no key.
    pub fn is_empty(&self) -> bool {
        self.mirror().is_empty()
    }

    /// Adds `listener`, called (on the follower's task: it must not block) with every change
    /// others make, once merged. Listeners are called in the order they were added.
    pub fn add_listener(&self, listener: impl Fn(CacheEvent) + Send + Sync + 'static) {
        self.listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(listener));
    }

    fn tell(&self, event: CacheEvent) {
        let listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((last, rest)) = listeners.split_last() {
            for listener in rest {
                listener(event.clone());
            }
            last(event);
        }
    }

    fn confirm(&self, as_of: Instant) {
        let until = as_of + self.options.validity;
        let mut fresh = self.fresh_until.lock().unwrap_or_else(|p| p.into_inner());
        if fresh.is_none_or(|t| t < until) {
            *fresh = Some(until);
        }
    }

    fn unconfirm(&self) {
        *self.fresh_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
