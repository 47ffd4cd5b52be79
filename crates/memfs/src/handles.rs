//! Open file and directory handles: what each `fh` refers to (inode, open flags, kind).
//! Sharded so that reads and writes on different handles do not contend.

use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashMap;
use parking_lot::Mutex;
use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::types::{Fh, Ino};

/// What a handle was opened as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Handle {
    pub(crate) ino: Ino,
    pub(crate) flags: u32,
    pub(crate) dir: bool,
    /// Directory handles: the cookie the current listing stops before (0: none started).
    /// Set from the directory's next cookie when a listing starts (offset 0), so entries
    /// added or renamed within the directory meanwhile — they get new, higher cookies — are
    /// not listed again: a listing that renames each entry it is given ends (POSIX leaves
    /// entries added after opendir/rewinddir unspecified).
    pub(crate) end: u64,
}

impl Handle {
    fn access(&self) -> u32 {
        self.flags & OFlags::ACCMODE.bits()
    }

    pub(crate) fn readable(&self) -> bool {
        self.access() != OFlags::WRONLY.bits()
    }

    pub(crate) fn writable(&self) -> bool {
        let a = self.access();
        a == OFlags::WRONLY.bits() || a == OFlags::RDWR.bits()
    }

    pub(crate) fn append(&self) -> bool {
        self.flags & OFlags::APPEND.bits() != 0
    }
}

const SHARDS: usize = 16;

#[derive(Debug)]
pub(crate) struct Handles {
    shards: Box<[Mutex<HashMap<Fh, Handle>>]>,
    next: AtomicU64,
}

impl Handles {
    pub(crate) fn new() -> Handles {
        Handles {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            next: AtomicU64::new(1),
        }
    }

    fn shard(&self, fh: Fh) -> &Mutex<HashMap<Fh, Handle>> {
        &self.shards[(fh as usize) % SHARDS]
    }

    pub(crate) fn insert(&self, h: Handle) -> Fh {
        let fh = self.next.fetch_add(1, Ordering::Relaxed);
        self.shard(fh).lock().insert(fh, h);
        fh
    }

    /// The handle `fh`, which must belong to `ino` and be of the right kind (`EBADF`).
    pub(crate) fn get(&self, fh: Fh, ino: Ino, dir: bool) -> Result<Handle, Errno> {
        match self.shard(fh).lock().get(&fh) {
            Some(h) if h.ino == ino && h.dir == dir => Ok(*h),
            _ => Err(Errno::BADF),
        }
    }

    /// Removes `fh` if it belongs to `ino` with the right kind.
    pub(crate) fn remove(&self, fh: Fh, ino: Ino, dir: bool) -> Result<Handle, Errno> {
        let mut shard = self.shard(fh).lock();
        match shard.get(&fh).copied() {
            Some(h) if h.ino == ino && h.dir == dir => {
                shard.remove(&fh);
                Ok(h)
            }
            _ => Err(Errno::BADF),
        }
    }

    /// The end cookie of the listing through directory handle `fh` at `offset`: a listing
    /// from the start (offset 0), or the first one through the handle, ends before
    /// `next_cookie` (the directory's next cookie now); later calls keep that end.
    pub(crate) fn listing_end(&self, fh: Fh, offset: u64, next_cookie: u64) -> u64 {
        let mut shard = self.shard(fh).lock();
        match shard.get_mut(&fh) {
            Some(h) => {
                if offset == 0 || h.end == 0 {
                    h.end = next_cookie;
                }
                h.end
            }
            None => next_cookie,
        }
    }

    /// Removes and returns every handle.
    pub(crate) fn drain(&self) -> Vec<(Fh, Handle)> {
        self.shards
            .iter()
            .flat_map(|s| s.lock().drain().collect::<Vec<_>>())
            .collect()
    }

    pub(crate) fn len(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_check_owner_and_access() {
        let hs = Handles::new();
        let fh = hs.insert(Handle {
            ino: 7,
            flags: OFlags::WRONLY.bits(),
            dir: false,
            end: 0,
        });
        let h = hs.get(fh, 7, false).unwrap();
        assert!(h.writable() && !h.readable());
        assert_eq!(hs.get(fh, 8, false), Err(Errno::BADF));
        assert_eq!(hs.get(fh, 7, true), Err(Errno::BADF));
        assert!(hs.remove(fh, 7, false).is_ok());
        assert_eq!(hs.get(fh, 7, false), Err(Errno::BADF));
        assert_eq!(hs.len(), 0);
    }
}
