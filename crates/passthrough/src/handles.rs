//! Open handles: the `fh` the kernel passes back on every request about an open file or
//! directory. File handles own a real descriptor (opened with the caller's flags), so
//! open-unlink-close, fstat and locks behave exactly as on the source filesystem.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use fusekit::BackingId;
use rustix::io::Errno;

use crate::dir::DirStream;
use crate::inode::Inode;

/// An open regular (or special) file.
#[derive(Debug)]
pub(crate) struct FileHandle {
    fd: OwnedFd,
    pub(crate) inode: Arc<Inode>,
    /// Held while open: the inode's backing id stays registered until its last handle goes.
    pub(crate) _backing: Option<Arc<BackingId>>,
    /// Open for writing on a setuid/setgid file: unprivileged writes clear the bits.
    pub(crate) kill_privs: bool,
}

impl FileHandle {
    pub(crate) fn new(
        fd: OwnedFd,
        inode: Arc<Inode>,
        backing: Option<Arc<BackingId>>,
        kill_privs: bool,
    ) -> Self {
        FileHandle {
            fd,
            inode,
            _backing: backing,
            kill_privs,
        }
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// An open directory with its stream position.
#[derive(Debug)]
pub(crate) struct DirHandle {
    pub(crate) inode: Arc<Inode>,
    pub(crate) stream: Mutex<DirStream>,
}

/// Handles of one kind, by `fh`. Numbers are never reused within a mount, and each table
/// numbers from its own base so that a directory's `fh` can never name a file handle.
#[derive(Debug)]
pub(crate) struct HandleTable<T> {
    map: RwLock<HashMap<u64, Arc<T>>>,
    next: AtomicU64,
}

/// Where file handle numbers start.
pub(crate) const FILE_BASE: u64 = 1;
/// Where directory handle numbers start.
pub(crate) const DIR_BASE: u64 = 1 << 62;

impl<T> HandleTable<T> {
    pub(crate) fn new(base: u64) -> Self {
        HandleTable {
            map: RwLock::new(HashMap::new()),
            next: AtomicU64::new(base),
        }
    }

    pub(crate) fn insert(&self, handle: T) -> u64 {
        let fh = self.next.fetch_add(1, Ordering::Relaxed);
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(fh, Arc::new(handle));
        fh
    }

    /// The handle `fh` (EBADF when unknown).
    pub(crate) fn get(&self, fh: u64) -> Result<Arc<T>, Errno> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&fh)
            .cloned()
            .ok_or(Errno::BADF)
    }

    pub(crate) fn remove(&self, fh: u64) -> Option<Arc<T>> {
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&fh)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}
