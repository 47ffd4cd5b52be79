//! The FUSE face of etcdfs: [`EtcdFs`] implements fusekit's async inode-level trait over a
//! [`Namespace`]. Metadata reads (stat, lookup, readdir, xattrs) are answered from the
//! daemon's watch-fed cache ([`crate::cache`]) while it is confirmed, else from the store;
//! open reads the inode from the store (close-to-open); data reads go to the store. Namespace
//! changes, data writes, SETATTR and xattr changes are each one etcd transaction, so an
//! acknowledged call is committed by a quorum and survives the daemon.
//!
//! Shape: `handles` (open handles, open counts, directory listings), `attr` (inode → stat,
//! SETATTR arguments, relatime), and `ops` (the trait implementation over `crate::ns`).

mod attr;
mod coherence;
mod handles;
mod locks;
mod opens;
mod ops;
mod reclaimer;
mod releases;
mod stripes;

use std::sync::Mutex;
use std::time::Duration;

use fusekit::Errno;

use crate::cache::{CacheOptions, Follower, MetaCache};
use crate::ns::{FsError, Namespace, Session};
use crate::schema::Keys;
use crate::store::Store;
use coherence::Coherence;
use handles::Handles;
use locks::LockState;
use reclaimer::Reclaimer;
use releases::Releases;
use stripes::Stripes;

/// How an etcdfs mount behaves.
#[derive(Debug, Clone)]
pub struct EtcdFsOptions {
    /// How long the kernel may cache names and attributes.
    pub cache_ttl: Duration,
    /// The daemon's session lease: after this long without the daemon, its open-but-unlinked
    /// files are reclaimable by any other daemon (each reclaims every this long), and its locks
    /// are gone.
    pub session_ttl_secs: i64,
    /// Owner of the root directory when the tree is new.
    pub root_owner: (u32, u32),
    /// The kernel's request timeout (FUSE_REQUEST_TIMEOUT), if any.
    pub request_timeout: Option<Duration>,
    /// The daemon's metadata cache (`None`: every read goes to the store).
    pub cache: Option<CacheOptions>,
}

impl Default for EtcdFsOptions {
    fn default() -> Self {
        EtcdFsOptions {
            cache_ttl: Duration::from_secs(1),
            session_ttl_secs: 10,
            root_owner: (0, 0),
            request_timeout: None,
            cache: Some(CacheOptions::default()),
        }
    }
}

/// An etcdfs tree served to the kernel. Wrap it in `fusekit::asyncfs::AsyncAdapter` to mount.
pub struct EtcdFs<S: Store> {
    ns: Namespace<S>,
    session: Mutex<Option<Session>>,
    handles: Handles,
    /// Serializes the first open and last close of an inode (see `opens`).
    open_locks: Stripes,
    /// Serializes this daemon's writes to one inode: each rewrites the inode, so concurrent
    /// ones would only conflict in the store (and the one that just committed, reading its
    /// own write from the cache at once, would keep winning).
    write_locks: Stripes,
    /// Last closes whose open records are still to drop (group commit, see `releases`).
    releases: Releases,
    /// Deletes the orphans of ended sessions every session TTL.
    reclaimer: Mutex<Option<Reclaimer>>,
    ttl: Duration,
    request_timeout: Option<Duration>,
    /// Keeps the cache's follower task running; dropped with the filesystem.
    _follower: Option<Follower>,
    /// Turns other hosts' changes into kernel invalidations (with the cache only).
    coherence: Option<Coherence>,
    /// Lock waiters and the locks taken through each handle (`locks`).
    locks: LockState,
}

impl<S: Store> std::fmt::Debug for EtcdFs<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdFs")
            .field("ns", &self.ns)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<S: Store> EtcdFs<S> {
    /// Opens the tree under `prefix` (creating its root when the prefix is empty), starts this
    /// daemon's session lease, and reclaims the open-but-unlinked files of daemons whose lease
    /// expired. Runs on a tokio runtime (the session's keep-alive task is spawned on it).
    pub async fn start(
        store: S,
        prefix: impl Into<Vec<u8>>,
        options: &EtcdFsOptions,
    ) -> Result<EtcdFs<S>, FsError> {
        let prefix = prefix.into();
        let keys = Keys::new(prefix.clone());
        let session = Session::start(&store, &keys, options.session_ttl_secs).await?;
        let reclaimer = Reclaimer::start(
            Namespace::new(store.clone(), prefix.clone(), Some(session.lease())),
            Duration::from_secs(options.session_ttl_secs.max(1) as u64),
        );
        let mut ns = Namespace::new(store.clone(), prefix, Some(session.lease()));
        ns.format(options.root_owner.0, options.root_owner.1)
            .await?;
        let mut coherence = None;
        let mut follower = None;
        let locks = LockState::default();
        if let Some(cache_options) = options.cache {
            let (start, end) = keys.cached_range();
            let cache = MetaCache::new(start, end, cache_options);
            let invalidator = Coherence::start(keys.clone()).map_err(|e| {
                FsError::Store(crate::store::StoreError::Other(format!(
                    "starting the invalidation thread: {e}"
                )))
            })?;
            cache.add_listener(invalidator.listener());
            cache.add_listener(locks.listener(keys.clone()));
            ns.attach_cache(std::sync::Arc::clone(&cache));
            follower = Some(Follower::start(store, cache));
            coherence = Some(invalidator);
        }
        match ns.reclaim_expired_orphans().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reclaimed = n, "reclaimed files of ended sessions"),
            Err(e) => tracing::warn!(error = %e, "reclaiming files of ended sessions failed"),
        }
        Ok(EtcdFs {
            ns,
            session: Mutex::new(Some(session)),
            handles: Handles::default(),
            open_locks: Stripes::default(),
            write_locks: Stripes::default(),
            releases: Releases::default(),
            reclaimer: Mutex::new(Some(reclaimer)),
            ttl: options.cache_ttl,
            request_timeout: options.request_timeout,
            _follower: follower,
            coherence,
            locks,
        })
    }

    /// The namespace this filesystem serves.
    pub fn namespace(&self) -> &Namespace<S> {
        &self.ns
    }

    /// Drops the kernel's cached attributes of `ino` (if the kernel is attached). Safe from a
    /// request's handler: it takes no lock a request holds.
    fn invalidate_attributes(&self, ino: u64) {
        if let Some(notifier) = self.coherence.as_ref().and_then(|c| c.notifier()) {
            match notifier.inval_inode(ino, -1, 0) {
                Ok(()) => {}
                Err(e) if e == Errno::NOENT => {}
                Err(e) => tracing::debug!(ino, error = %e, "etcdfs: invalidation at open failed"),
            }
        }
    }

    /// Drops the kernel's attributes and cached pages of `ino`, from the invalidation thread,
    /// after the current request is answered (a write holds page locks until then).
    fn invalidate_inode_later(&self, ino: u64) {
        if let Some(coherence) = &self.coherence {
            coherence.invalidate_later(ino);
        }
    }

    /// Ends the session: revokes the lease and deletes this daemon's own orphans.
    async fn end(&self) {
        if let Some(coherence) = &self.coherence {
            coherence.stop();
        }
        self.reclaimer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let session = self
            .session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(session) = session else { return };
        if let Err(e) = session.end(self.ns.store()).await {
            tracing::warn!(error = %e, "ending the etcdfs session failed; its lease will expire");
            return;
        }
        if let Err(e) = self.ns.reclaim_expired_orphans().await {
            tracing::warn!(error = %e, "reclaiming this session's files failed");
        }
    }
}

/// [`errno`] for operations addressed by node id alone: a node that no longer exists is
/// ESTALE (the kernel then revalidates the path and retries), not ENOENT.
fn stale(e: FsError) -> Errno {
    match e {
        FsError::NotFound => Errno::STALE,
        e => errno(e),
    }
}

/// The errno for a failed operation; failures of the store itself are logged.
fn errno(e: FsError) -> Errno {
    match &e {
        FsError::Store(_) | FsError::Corrupt(_) | FsError::Contention(_) => {
            tracing::warn!(error = %e, "etcdfs operation failed");
        }
        _ => tracing::debug!(error = %e, "etcdfs operation refused"),
    }
    Errno::from_raw_os_error(e.errno())
}
