//! Inodes and the inode table: per-inode state behind a per-inode `RwLock`, a sharded map
//! from inode number to inode, inode-number allocation, and the helper that locks several
//! inodes in the one global order.
//!
//! Lock order (deadlock freedom): (1) the filesystem's rename lock, only for cross-directory
//! renames; (2) inode locks, several at once only through [`lock_ordered`], i.e. in ascending
//! inode number; a thread holding an inode lock never waits for another inode lock outside
//! that helper; (3) leaf locks that never wait for anything while held: table shards, handle
//! shards, the byte-range lock manager (which may take a table shard inside it, never the
//! other way round).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hashbrown::HashMap;
use parking_lot::{Mutex, RwLock, RwLockWriteGuard};
use rustix::io::Errno;

use crate::data::Pages;
use crate::dir::Dir;
use crate::types::{FileAttr, FileType, Ino, Timestamp, PAGE_SIZE, S_IFMT};
use crate::xattr::Xattrs;

/// Index of each timestamp in [`State`]'s time arrays.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Time {
    A = 0,
    M = 1,
    C = 2,
    B = 3,
}

/// The inode has been freed: it is gone from the table and every operation on it fails.
pub(crate) const DEAD: u8 = 1;
/// An O_TMPFILE inode that may still be linked into the tree while its nlink is 0.
pub(crate) const LINKABLE: u8 = 2;

/// What an inode holds besides its metadata. Kept small (16 bytes): empty files are the
/// common case at scale.
#[derive(Debug)]
pub(crate) enum Content {
    /// Regular file data.
    File(Pages),
    /// Directory entries.
    Dir(Box<Dir>),
    /// Symlink target (boxed twice to keep `Content` at 16 bytes).
    Symlink(Box<Box<[u8]>>),
    /// Device number of a device node; 0 for FIFOs and sockets.
    Special(u32),
}

/// Everything about an inode, protected by its lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) nlink: u32,
    /// Open handles (files and directories).
    pub(crate) opens: u32,
    /// Kernel lookup references (FUSE nlookup).
    pub(crate) lookups: u64,
    /// st_size.
    pub(crate) size: u64,
    secs: [i64; 4],
    nsecs: [u32; 4],
    pub(crate) flags: u8,
    pub(crate) content: Content,
    pub(crate) xattrs: Option<Box<Xattrs>>,
}

impl State {
    /// A fresh inode with all four timestamps set to `now`.
    pub(crate) fn new(mode: u32, uid: u32, gid: u32, content: Content, now: Timestamp) -> State {
        State {
            mode,
            uid,
            gid,
            nlink: 1,
            opens: 0,
            lookups: 0,
            size: 0,
            secs: [now.secs; 4],
            nsecs: [now.nsecs; 4],
            flags: 0,
            content,
            xattrs: None,
        }
    }

    pub(crate) fn time(&self, t: Time) -> Timestamp {
        Timestamp {
            secs: self.secs[t as usize],
            nsecs: self.nsecs[t as usize],
        }
    }

    pub(crate) fn set_time(&mut self, t: Time, v: Timestamp) {
        self.secs[t as usize] = v.secs;
        self.nsecs[t as usize] = v.nsecs;
    }

    /// ctime = now.
    pub(crate) fn touch_c(&mut self, now: Timestamp) {
        self.set_time(Time::C, now);
    }

    /// mtime = ctime = now.
    pub(crate) fn touch_mc(&mut self, now: Timestamp) {
        self.set_time(Time::M, now);
        self.set_time(Time::C, now);
    }

    pub(crate) fn kind(&self) -> FileType {
        FileType::from_mode(self.mode).unwrap_or(FileType::RegularFile)
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.flags & DEAD != 0
    }

    /// Fails with `ENOENT` once the inode has been freed.
    pub(crate) fn check_live(&self) -> Result<(), Errno> {
        if self.is_dead() {
            Err(Errno::NOENT)
        } else {
            Ok(())
        }
    }

    /// The directory contents, or `ENOTDIR`.
    pub(crate) fn dir(&self) -> Result<&Dir, Errno> {
        match &self.content {
            Content::Dir(d) => Ok(d),
            _ => Err(Errno::NOTDIR),
        }
    }

    pub(crate) fn dir_mut(&mut self) -> Result<&mut Dir, Errno> {
        match &mut self.content {
            Content::Dir(d) => Ok(d),
            _ => Err(Errno::NOTDIR),
        }
    }

    /// A directory that may receive new entries: live and not removed (`ENOENT` otherwise).
    pub(crate) fn dir_for_insert(&mut self) -> Result<&mut Dir, Errno> {
        self.check_live()?;
        if matches!(self.content, Content::Dir(_)) && self.nlink == 0 {
            return Err(Errno::NOENT);
        }
        self.dir_mut()
    }

    pub(crate) fn pages(&self) -> Option<&Pages> {
        match &self.content {
            Content::File(p) => Some(p),
            _ => None,
        }
    }

    pub(crate) fn attr(&self, ino: Ino) -> FileAttr {
        let blocks = self
            .pages()
            .map_or(0, |p| p.page_count() * (PAGE_SIZE / 512));
        FileAttr {
            ino,
            size: self.size,
            blocks,
            atime: self.time(Time::A),
            mtime: self.time(Time::M),
            ctime: self.time(Time::C),
            mode: self.mode,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: match self.content {
                Content::Special(rdev) => rdev,
                _ => 0,
            },
            blksize: PAGE_SIZE as u32,
            flags: 0,
        }
    }

    /// Replaces the permission bits, keeping the type bits.
    pub(crate) fn set_perm(&mut self, perm: u32) {
        self.mode = (self.mode & S_IFMT) | (perm & 0o7777);
    }
}

/// One inode. Shared as `Arc<Inode>`; the table holds one reference while the inode lives.
#[derive(Debug)]
pub(crate) struct Inode {
    pub(crate) state: RwLock<State>,
}

const SHARDS: usize = 64;

type Shard = Mutex<HashMap<Ino, Arc<Inode>>>;

/// The inode table: inode number to inode, sharded to keep contention low.
#[derive(Debug)]
pub(crate) struct Table {
    shards: Box<[Shard]>,
    next_ino: AtomicU64,
}

impl Table {
    pub(crate) fn new(first_free: Ino) -> Table {
        Table {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            next_ino: AtomicU64::new(first_free),
        }
    }

    fn shard(&self, ino: Ino) -> &Shard {
        &self.shards[(ino as usize) % SHARDS]
    }

    /// A fresh inode number (never reused).
    pub(crate) fn alloc_ino(&self) -> Ino {
        self.next_ino.fetch_add(1, Ordering::Relaxed)
    }

    /// The live inode `ino`, or `ENOENT`.
    pub(crate) fn get(&self, ino: Ino) -> Result<Arc<Inode>, Errno> {
        self.shard(ino)
            .lock()
            .get(&ino)
            .cloned()
            .ok_or(Errno::NOENT)
    }

    pub(crate) fn insert(&self, ino: Ino, state: State) -> Arc<Inode> {
        let inode = Arc::new(Inode {
            state: RwLock::new(state),
        });
        self.shard(ino).lock().insert(ino, Arc::clone(&inode));
        inode
    }

    /// Removes `ino`; a shard that has become mostly empty gives its memory back.
    pub(crate) fn remove(&self, ino: Ino) {
        let mut shard = self.shard(ino).lock();
        shard.remove(&ino);
        if shard.capacity() > 64 && shard.len() * 4 < shard.capacity() {
            let keep = shard.len() * 2;
            shard.shrink_to(keep);
        }
    }

    /// Every live inode number (a snapshot).
    pub(crate) fn inos(&self) -> Vec<Ino> {
        self.shards
            .iter()
            .flat_map(|s| s.lock().keys().copied().collect::<Vec<_>>())
            .collect()
    }

    pub(crate) fn len(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().len() as u64).sum()
    }
}

/// Write-locks several inodes in ascending inode order. The result is in input order; a
/// repeated inode number gets `None` after its first occurrence.
pub(crate) fn lock_ordered<'a>(
    items: &[(Ino, &'a Inode)],
) -> Vec<Option<RwLockWriteGuard<'a, State>>> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].0);
    let mut out: Vec<Option<RwLockWriteGuard<'a, State>>> =
        (0..items.len()).map(|_| None).collect();
    let mut last: Option<Ino> = None;
    for i in order {
        let (ino, inode) = items[i];
        if last == Some(ino) {
            continue;
        }
        last = Some(ino);
        out[i] = Some(inode.state.write());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_ordered_dedups_and_keeps_input_order() {
        let t = Table::new(2);
        let now = Timestamp::now();
        let a = t.insert(5, State::new(0o100644, 0, 0, Content::Special(0), now));
        let b = t.insert(3, State::new(0o100600, 0, 0, Content::Special(0), now));
        let g = lock_ordered(&[(5, &a), (3, &b), (5, &a)]);
        assert_eq!(g[0].as_ref().map(|s| s.mode), Some(0o100644));
        assert_eq!(g[1].as_ref().map(|s| s.mode), Some(0o100600));
        assert!(g[2].is_none());
    }

    #[test]
    fn table_get_insert_remove() {
        let t = Table::new(2);
        let ino = t.alloc_ino();
        assert_eq!(t.get(ino).err(), Some(Errno::NOENT));
        t.insert(
            ino,
            State::new(0o100644, 0, 0, Content::Special(0), Timestamp::now()),
        );
        assert!(t.get(ino).is_ok());
        assert_eq!(t.len(), 1);
        t.remove(ino);
        assert_eq!(t.len(), 0);
        assert_ne!(t.alloc_ino(), ino);
    }
}
