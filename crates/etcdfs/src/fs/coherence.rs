//! Coherence with the other daemons of a tree: what they change reaches this daemon's cache
//! through its watch, and from there the kernel of this host, as invalidations sent from a
//! thread of their own (a notification may wait for the kernel's page locks; it must never
//! hold up a request's future): a name added, removed or re-pointed drops the cached dentry
//! and the attributes of the inode it named; an inode whose size or
//! mtime changed drops its attributes and cached pages, any other change its attributes. A
//! reloaded cache (history compacted away) bumps the kernel's epoch, dropping every name.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use fusekit::{Errno, Notifier};

use crate::cache::{CacheEvent, Change};
use crate::schema::{Entry, Inode, Keys, ParsedKey};

/// The invalidation thread's handle: [`Coherence::listener`] feeds it from the cache,
/// [`Coherence::attach`] gives it the kernel connection at INIT.
#[derive(Debug)]
pub(super) struct Coherence {
    notifier: Arc<OnceLock<Notifier>>,
    tx: Mutex<Option<Sender<Job>>>,
}

/// Work for the invalidation thread.
#[derive(Debug)]
enum Job {
    /// Changes others made, from the cache.
    Cache(CacheEvent),
    /// Drop the attributes and pages of one inode (this daemon's own request asked).
    Inode(u64),
}

impl Coherence {
    /// Starts the invalidation thread for the tree `keys`.
    pub(super) fn start(keys: Keys) -> std::io::Result<Coherence> {
        let notifier = Arc::new(OnceLock::new());
        let (tx, rx) = channel();
        let shared = Arc::clone(&notifier);
        std::thread::Builder::new()
            .name("etcdfs-inval".into())
            .spawn(move || run(&keys, &shared, rx))?;
        Ok(Coherence {
            notifier,
            tx: Mutex::new(Some(tx)),
        })
    }

    /// The kernel connection, once INIT gave it.
    pub(super) fn attach(&self, notifier: Notifier) {
        let _ = self.notifier.set(notifier);
    }

    /// The notifier, for invalidations a request makes itself.
    pub(super) fn notifier(&self) -> Option<&Notifier> {
        self.notifier.get()
    }

    /// Drops `ino`'s attributes and pages on the thread, soon.
    pub(super) fn invalidate_later(&self, ino: u64) {
        if let Some(tx) = &*self.tx.lock().unwrap_or_else(|p| p.into_inner()) {
            let _ = tx.send(Job::Inode(ino));
        }
    }

    /// A listener for [`crate::cache::MetaCache::add_listener`]: never blocks.
    pub(super) fn listener(&self) -> impl Fn(CacheEvent) + Send + Sync + 'static {
        let tx = self
            .tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .map(Mutex::new);
        move |event| {
            if let Some(tx) = &tx {
                let _ = tx
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .send(Job::Cache(event));
            }
        }
    }

    /// Ends the thread (once every listener is gone too).
    pub(super) fn stop(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

fn run(keys: &Keys, notifier: &OnceLock<Notifier>, rx: Receiver<Job>) {
    for job in rx {
        // Before INIT the kernel has nothing cached.
        let Some(notifier) = notifier.get() else {
            continue;
        };
        match job {
            Job::Cache(CacheEvent::Changed(changes)) => {
                for change in &changes {
                    invalidate(keys, notifier, change);
                }
            }
            Job::Cache(CacheEvent::Reloaded) => report("epoch", notifier.inc_epoch()),
            Job::Inode(ino) => report("inode", notifier.inval_inode(ino, 0, 0)),
        }
    }
}

/// The invalidation one change calls for.
fn invalidate(keys: &Keys, notifier: &Notifier, change: &Change) {
    match keys.parse(&change.key) {
        Some(ParsedKey::Entry { parent, name }) => {
            let name = OsStr::from_bytes(&name);
            report("entry", notifier.inval_entry(parent, name));
            // The inode that lost (or changed) this name: its link count and ctime moved.
            // Not `delete`: that also zeroes the kernel's link count of the inode, wrong for
            // a file with other names (a link(2) of it then fails ENOENT), and the watch may
            // bring this daemon's own removal before its commit is applied to the mirror.
            if let Some(old) = change.old.as_deref().and_then(Entry::decode) {
                report("inode", notifier.inval_inode(old.ino, -1, 0));
            }
        }
        // Rewritten unchanged (a holder's open record came or went): nothing to drop.
        Some(ParsedKey::Inode(_)) if change.old == change.new => {}
        Some(ParsedKey::Inode(ino)) => {
            let old = change.old.as_deref().and_then(Inode::decode);
            let new = change.new.as_deref().and_then(Inode::decode);
            let data_changed = match (&old, &new) {
                (Some(o), Some(n)) => o.size != n.size || o.mtime != n.mtime,
                _ => true,
            };
            let offset = if data_changed { 0 } else { -1 };
            report("inode", notifier.inval_inode(ino, offset, 0));
        }
        _ => {}
    }
}

/// ENOENT means the kernel had nothing cached; anything else is worth a debug line.
fn report(what: &str, result: Result<(), Errno>) {
    match result {
        Ok(()) => {}
        Err(e) if e == Errno::NOENT || e == Errno::NOSYS => {}
        Err(e) => tracing::debug!(%what, error = %e, "etcdfs: invalidation failed"),
    }
}
