//! The inode table: one [`Inode`] per source file, keyed by `(st_dev, st_ino)` so hard links
//! share a node and trees spanning several filesystems never collide. Each inode holds an
//! `O_PATH | O_NOFOLLOW` descriptor that pins the source inode (its number cannot be reused
//! while we hold it) and is the base of every `*at()` call about it.
//!
//! Lookup counting: every reply that hands the kernel a node id (LOOKUP, create-like calls,
//! READDIRPLUS entries) adds one; FORGET subtracts. At zero the node id is gone for good
//! (ids are never reused, and every inode also gets a fresh generation) and the descriptor
//! is closed once no open handle still holds the inode.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use fusekit::{BackingId, FileType, Ino, ROOT_ID};
use rustix::fs::Stat;
use rustix::io::Errno;

use crate::locks::LockOwners;

/// `(st_dev, st_ino)` of a source file.
pub(crate) type Key = (u64, u64);

/// The key of a stat result.
pub(crate) fn key_of(st: &Stat) -> Key {
    (st.st_dev, st.st_ino)
}

/// One source file known to the kernel.
#[derive(Debug)]
pub(crate) struct Inode {
    fd: OwnedFd,
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
    /// The `O_PATH` descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
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
    next_id: Ino,
    next_generation: u64,
}

/// All inodes the kernel currently holds lookup references to.
#[derive(Debug)]
pub(crate) struct InodeTable {
    inner: Mutex<Inner>,
}

fn kind_of(st: &Stat) -> FileType {
    FileType::from_mode(st.st_mode).unwrap_or(FileType::RegularFile)
}

impl InodeTable {
    /// A table holding only the root (`fd` is the source directory, `O_PATH`).
    pub(crate) fn new(root_fd: OwnedFd, root: &Stat) -> Self {
        let key = key_of(root);
        let inode = Arc::new(Inode {
            fd: root_fd,
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
        InodeTable {
            inner: Mutex::new(Inner {
                by_id,
                by_key,
                next_id: ROOT_ID + 1,
                next_generation: 1,
            }),
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

    /// Adds one lookup reference to the inode with `key`, if known.
    pub(crate) fn reference(&self, key: Key) -> Option<(Ino, Arc<Inode>)> {
        let mut inner = self.lock();
        let id = *inner.by_key.get(&key)?;
        let slot = inner.by_id.get_mut(&id)?;
        slot.nlookup += 1;
        Some((id, Arc::clone(&slot.inode)))
    }

    /// Adds one lookup reference to the inode of `st`, creating it with `fd` (an `O_PATH`
    /// descriptor of the same file) when it is new. A surplus `fd` is closed.
    pub(crate) fn insert(&self, fd: OwnedFd, st: &Stat) -> (Ino, Arc<Inode>) {
        let key = key_of(st);
        let mut inner = self.lock();
        if let Some(&id) = inner.by_key.get(&key) {
            if let Some(slot) = inner.by_id.get_mut(&id) {
                slot.nlookup += 1;
                return (id, Arc::clone(&slot.inode));
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let generation = inner.next_generation;
        inner.next_generation += 1;
        let inode = Arc::new(Inode {
            fd,
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
        (id, inode)
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
        inner.by_id.remove(&ino);
        if inner.by_key.get(&key) == Some(&ino) {
            inner.by_key.remove(&key);
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
