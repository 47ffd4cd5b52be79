//! The inode table: one [`Inode`] per source file, keyed by `(st_dev, st_ino)` so hard links
//! share a node and trees spanning several filesystems never collide. Each inode has an
//! `O_PATH | O_NOFOLLOW` descriptor, the base of every `*at()` call about it, which
//! [`Inode::fd`] hands out as a guard: pinned for the inode's life, or — when the source
//! filesystem makes file handles — kept in a bounded cache and reopened from the handle
//! after eviction (see `fdstore`), so a tree of any size fits the open-file limit.
//!
//! A key alone does not identify a file once its descriptor is closed: the file may have
//! been deleted and its inode number given to a new one. So a key only matches a known
//! inode whose descriptor is open right now (which pins the number), or whose file handle
//! equals the new file's. Otherwise the name gets a new node, and the old node id — still
//! referenced by the kernel — answers ESTALE from then on.
//!
//! Lookup counting: every reply that hands the kernel a node id (LOOKUP, create-like calls,
//! READDIRPLUS entries) adds one; FORGET subtracts. At zero the node id is gone for good
//! (ids are never reused, and every inode also gets a fresh generation) and the descriptor
//! is closed once no open handle still holds the inode.
//!
//! File handles of the mount (`name_to_handle_at` through it, then `open_by_handle_at` after
//! the kernel dropped the inode from its cache, FUSE_EXPORT_SUPPORT): the kernel asks a LOOKUP
//! of "." in the forgotten node id. So a node whose file has a source handle is remembered
//! after its last FORGET ([`FORGOTTEN_MAX`] of them, oldest dropped first) and revived with
//! its id and generation while its file still exists; a deleted file answers ESTALE.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use fusekit::{BackingId, FileType, Ino, ROOT_ID};
use rustix::fs::Stat;
use rustix::io::Errno;

use crate::fdstore::{FdSlot, FdStore, InodeFd};
use crate::locks::LockOwners;
use crate::stats::Counters;
use crate::sys::{handle_of, FileHandle};

/// How many forgotten nodes are remembered for `open_by_handle_at` (see the module docs).
pub(crate) const FORGOTTEN_MAX: usize = 65536;

/// `(st_dev, st_ino)` of a source file.
pub(crate) type Key = (u64, u64);

/// The key of a stat result.
pub(crate) fn key_of(st: &Stat) -> Key {
    (st.st_dev, st.st_ino)
}

/// One source file known to the kernel.
#[derive(Debug)]
pub(crate) struct Inode {
    fd: Arc<FdSlot>,
    pub(crate) key: Key,
    pub(crate) generation: u64,
    pub(crate) kind: FileType,
    /// The kernel-passthrough backing id shared by this inode's open handles (they hold the
    /// strong references; the id is closed with the last of them).
    pub(crate) backing: Mutex<Weak<BackingId>>,
    /// POSIX/OFD lock owners with their lock descriptors.
    pub(crate) locks: Mutex<LockOwners>,
}

impl Inode {
    /// The `O_PATH` descriptor, open while the guard lives. Fails when an evicted
    /// descriptor cannot be reopened: ESTALE when the file is gone, EMFILE/ENFILE when the
    /// process is out of descriptors.
    pub(crate) fn fd(&self) -> Result<InodeFd, Errno> {
        self.fd.fd()
    }

    pub(crate) fn is_symlink(&self) -> bool {
        self.kind == FileType::Symlink
    }
}

#[derive(Debug)]
struct Slot {
    inode: Arc<Inode>,
    nlookup: u64,
}

#[derive(Debug)]
struct Inner {
    by_id: HashMap<Ino, Slot>,
    by_key: HashMap<Key, Ino>,
    /// Forgotten nodes that can be reopened from a source handle, oldest first in `order`.
    forgotten: HashMap<Ino, Arc<Inode>>,
    forgotten_order: VecDeque<Ino>,
    next_id: Ino,
    next_generation: u64,
}

impl Inner {
    fn remember_forgotten(&mut self, ino: Ino, inode: Arc<Inode>) {
        if self.forgotten.insert(ino, inode).is_none() {
            self.forgotten_order.push_back(ino);
        }
        while self.forgotten_order.len() > FORGOTTEN_MAX {
            if let Some(old) = self.forgotten_order.pop_front() {
                self.forgotten.remove(&old);
            }
        }
    }

    /// Adds one lookup reference to the node of `key` when it is the same file as the one
    /// with `handle` (see the module docs).
    fn reference_same(
        &mut self,
        key: Key,
        handle: Option<&FileHandle>,
    ) -> Option<(Ino, Arc<Inode>)> {
        let id = *self.by_key.get(&key)?;
        let slot = self.by_id.get_mut(&id)?;
        let fd = &slot.inode.fd;
        let same = fd.is_open() || (handle.is_some() && fd.handle() == handle);
        if !same {
            return None;
        }
        slot.nlookup += 1;
        Some((id, Arc::clone(&slot.inode)))
    }
}

/// All inodes the kernel currently holds lookup references to.
#[derive(Debug)]
pub(crate) struct InodeTable {
    inner: Mutex<Inner>,
    store: Arc<FdStore>,
    counters: Arc<Counters>,
}

fn kind_of(st: &Stat) -> FileType {
    FileType::from_mode(st.st_mode).unwrap_or(FileType::RegularFile)
}

impl InodeTable {
    /// A table holding only the root (`fd` is the source directory, `O_PATH`, pinned), with
    /// at most `budget` inode descriptors open.
    pub(crate) fn new(
        root_fd: OwnedFd,
        root: &Stat,
        budget: usize,
        counters: Arc<Counters>,
    ) -> Self {
        let key = key_of(root);
        let store = FdStore::new(budget, Arc::clone(&counters));
        store.learn_mount(root_fd.as_fd());
        let inode = Arc::new(Inode {
            fd: store.pin_always(root_fd, key),
            key,
            generation: 0,
            kind: FileType::Directory,
            backing: Mutex::new(Weak::new()),
            locks: Mutex::new(LockOwners::default()),
        });
        let mut by_id = HashMap::new();
        // The root is never forgotten: the kernel holds it for the whole mount.
        by_id.insert(
            ROOT_ID,
            Slot {
                inode,
                nlookup: u64::MAX / 2,
            },
        );
        let mut by_key = HashMap::new();
        by_key.insert(key, ROOT_ID);
        counters.inodes.store(1, Ordering::Relaxed);
        InodeTable {
            inner: Mutex::new(Inner {
                by_id,
                by_key,
                forgotten: HashMap::new(),
                forgotten_order: VecDeque::new(),
                next_id: ROOT_ID + 1,
                next_generation: 1,
            }),
            store,
            counters,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The inode with node id `ino` (ESTALE when the kernel names one it already forgot).
    pub(crate) fn get(&self, ino: Ino) -> Result<Arc<Inode>, Errno> {
        self.lock()
            .by_id
            .get(&ino)
            .map(|s| Arc::clone(&s.inode))
            .ok_or(Errno::STALE)
    }

    /// Adds one lookup reference to the node `ino` (ESTALE when it was forgotten).
    pub(crate) fn reference_id(&self, ino: Ino) -> Result<Arc<Inode>, Errno> {
        let mut inner = self.lock();
        let slot = inner.by_id.get_mut(&ino).ok_or(Errno::STALE)?;
        slot.nlookup += 1;
        Ok(Arc::clone(&slot.inode))
    }

    /// Adds one lookup reference to the node of the file `fd` (an `O_PATH` descriptor) with
    /// attributes `st`, making the node when the file is new. A surplus `fd` is closed (or
    /// refills the cache of an evicted node). EMFILE when the file needs a pinned
    /// descriptor and the budget is spent.
    pub(crate) fn resolve(&self, fd: OwnedFd, st: &Stat) -> Result<(Ino, Arc<Inode>), Errno> {
        let key = key_of(st);
        if let Some(found) = self.lock().reference_same(key, None) {
            return Ok(found);
        }
        // Unknown, or known with its descriptor evicted: compare file handles.
        let probe = handle_of(fd.as_fd());
        let handle = probe.as_ref().ok().map(|(h, _)| h);
        if let Some(found) = self.lock().reference_same(key, handle) {
            found.1.fd.refill(fd);
            return Ok(found);
        }
        let slot = self
            .store
            .slot(fd, key, probe, kind_of(st) == FileType::Directory)?;
        let mut inner = self.lock();
        // Made by another request meanwhile? (Ours is open: `reference_same` is exact.)
        if let Some(found) = inner.reference_same(key, slot.handle()) {
            return Ok(found);
        }
        if let Some(old) = inner.by_key.get(&key) {
            tracing::debug!(
                old,
                ?key,
                "source inode number reused; the old node goes stale"
            );
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let generation = inner.next_generation;
        inner.next_generation += 1;
        let inode = Arc::new(Inode {
            fd: slot,
            key,
            generation,
            kind: kind_of(st),
            backing: Mutex::new(Weak::new()),
            locks: Mutex::new(LockOwners::default()),
        });
        inner.by_id.insert(
            id,
            Slot {
                inode: Arc::clone(&inode),
                nlookup: 1,
            },
        );
        inner.by_key.insert(key, id);
        Counters::add(&self.counters.inodes, 1);
        Ok((id, inode))
    }

    /// `fd` (an `O_PATH` descriptor) is a file that just lost its last name through the
    /// mount: when the kernel knows its node, keep the file alive with `fd` until the node is
    /// forgotten (an inode lives while the kernel holds a lookup count on it).
    pub(crate) fn keep_if_orphaned(&self, fd: OwnedFd) {
        let Ok(st) = rustix::fs::fstat(&fd) else {
            return;
        };
        if st.st_nlink != 0 {
            return;
        }
        let inode = {
            let inner = self.lock();
            let Some(id) = inner.by_key.get(&key_of(&st)) else {
                return;
            };
            match inner.by_id.get(id) {
                Some(slot) => Arc::clone(&slot.inode),
                None => return,
            }
        };
        // The node under this key may be an older file that had the number (see the module
        // docs): only the same file (open now, or with an equal handle) is kept.
        let same = inode.fd.is_open()
            || handle_of(fd.as_fd()).is_ok_and(|(h, _)| inode.fd.handle() == Some(&h));
        if same && inode.fd.handle().is_some() {
            inode.fd.keep_alive(fd);
        }
    }

    /// Drops `n` lookup references; at zero the node id is removed.
    pub(crate) fn forget(&self, ino: Ino, n: u64) {
        if ino == ROOT_ID {
            return;
        }
        let mut inner = self.lock();
        let Some(slot) = inner.by_id.get_mut(&ino) else {
            tracing::debug!(ino, "FORGET of an unknown node");
            return;
        };
        slot.nlookup = slot.nlookup.saturating_sub(n);
        if slot.nlookup > 0 {
            return;
        }
        let key = slot.inode.key;
        let removed = inner.by_id.remove(&ino);
        if inner.by_key.get(&key) == Some(&ino) {
            inner.by_key.remove(&key);
        }
        self.counters.inodes.fetch_sub(1, Ordering::Relaxed);
        if let Some(slot) = &removed {
            if slot.inode.fd.handle().is_some() && !slot.inode.fd.is_kept_alive() {
                inner.remember_forgotten(ino, Arc::clone(&slot.inode));
            }
        }
        drop(inner);
        // The descriptor closes here, or with the last open handle of the inode.
        drop(removed);
    }

    /// Brings the forgotten node `ino` back with one lookup reference (LOOKUP of "." by node
    /// id, from the kernel's export operations) when its file still exists and has a name:
    /// ESTALE otherwise. A node still known just gains the reference.
    pub(crate) fn revive(&self, ino: Ino) -> Result<(Arc<Inode>, Stat), Errno> {
        let inode = {
            let mut inner = self.lock();
            if let Some(slot) = inner.by_id.get_mut(&ino) {
                slot.nlookup += 1;
                Arc::clone(&slot.inode)
            } else {
                let inode = inner.forgotten.remove(&ino).ok_or(Errno::STALE)?;
                inner.forgotten_order.retain(|i| *i != ino);
                inner.by_id.insert(
                    ino,
                    Slot {
                        inode: Arc::clone(&inode),
                        nlookup: 1,
                    },
                );
                inner.by_key.entry(inode.key).or_insert(ino);
                Counters::add(&self.counters.inodes, 1);
                inode
            }
        };
        // Reopened from the handle: ESTALE once the file is gone.
        let st = inode
            .fd()
            .and_then(|fd| crate::sys::stat_fd(fd.as_fd()))
            .and_then(|st| {
                if st.st_nlink == 0 {
                    Err(Errno::STALE)
                } else {
                    Ok(st)
                }
            });
        match st {
            Ok(st) => Ok((inode, st)),
            Err(e) => {
                self.forget(ino, 1);
                Err(if e == Errno::NOENT { Errno::STALE } else { e })
            }
        }
    }

    /// Number of node ids known (the root included).
    pub(crate) fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// The lookup count of `ino` (tests).
    #[cfg(test)]
    pub(crate) fn nlookup(&self, ino: Ino) -> Option<u64> {
        self.lock().by_id.get(&ino).map(|s| s.nlookup)
    }
}
