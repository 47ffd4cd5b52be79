//! The [`MemFs`] value: construction, inode lifetime (lookup counts, forget, freeing), and the
//! filesystem-wide queries `getattr`, `statfs` and `stats`. The operations themselves live in
//! the sibling modules, one concern each.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use fusekit::AtimePolicy;
use parking_lot::Mutex;
use rustix::io::Errno;

use crate::advisory_locks::LockManager;
use crate::dir::Dir;
use crate::handles::Handles;
use crate::limits::{Limits, Usage};
use crate::table::{Content, Inode, State, Table, Time, DEAD};
use crate::types::{
    FileAttr, FileType, Ino, Statfs, Stats, Timestamp, NAME_MAX, PAGE_SIZE, ROOT_ID,
};

/// Directory size accounting, as tmpfs: 2 entries for "." and ".." plus 20 bytes per entry.
pub(crate) const BOGO_DIRENT_SIZE: u64 = 20;

/// An in-memory filesystem engine with tmpfs semantics, driven inode by inode.
///
/// `Send + Sync`: every method may be called from any thread at any time. See the crate
/// documentation for the lock order and the inode lifetime rules.
#[derive(Debug)]
pub struct MemFs {
    pub(crate) table: Table,
    pub(crate) handles: Handles,
    pub(crate) usage: Usage,
    pub(crate) locks: LockManager,
    /// Serialises cross-directory renames so directory parent pointers are stable while a
    /// rename checks for loops (Linux's `s_vfs_rename_mutex`).
    pub(crate) rename_lock: Mutex<()>,
    /// The mount's atime policy (`fusekit::AtimePolicy` as u8; see [`MemFs::set_atime_policy`]).
    atime: AtomicU8,
}

impl MemFs {
    /// How reads and directory listings update atime from now on: the mount's `relatime`
    /// (the default), `noatime` or `strictatime` (the kernel leaves atime to FUSE
    /// filesystems without telling them the mount's options; the adapter passes
    /// `KernelConfig::atime_policy`). An `O_NOATIME` descriptor never updates it.
    pub fn set_atime_policy(&self, policy: AtimePolicy) {
        let v = match policy {
            AtimePolicy::Relatime => 0,
            AtimePolicy::NoAtime => 1,
            AtimePolicy::StrictAtime => 2,
        };
        self.atime.store(v, Ordering::Relaxed);
    }

    pub(crate) fn atime_policy(&self) -> AtimePolicy {
        match self.atime.load(Ordering::Relaxed) {
            1 => AtimePolicy::NoAtime,
            2 => AtimePolicy::StrictAtime,
            _ => AtimePolicy::Relatime,
        }
    }

    /// A filesystem holding only its root directory, owned by `root_owner` (uid, gid) with
    /// permission bits `root_mode & 0o7777`. The root uses one inode slot of `limits`.
    pub fn new(limits: Limits, root_owner: (u32, u32), root_mode: u32) -> MemFs {
        let fs = MemFs {
            table: Table::new(ROOT_ID + 1),
            handles: Handles::new(),
            usage: Usage::new(limits),
            locks: LockManager::default(),
            rename_lock: Mutex::new(()),
            atime: AtomicU8::new(0),
        };
        // A limit of zero inodes still gets its root (uncharged); it has no room for more.
        let _ = fs.usage.charge_inode();
        let mut st = State::new(
            FileType::Directory.mode_bits() | (root_mode & 0o7777),
            root_owner.0,
            root_owner.1,
            Content::Dir(Box::new(Dir::new(ROOT_ID))),
            Timestamp::now(),
        );
        st.nlink = 2;
        st.size = 2 * BOGO_DIRENT_SIZE;
        fs.table.insert(ROOT_ID, st);
        fs
    }

    /// The attributes of `ino`. Does not change lookup counts.
    pub fn getattr(&self, ino: Ino) -> Result<FileAttr, Errno> {
        let inode = self.table.get(ino)?;
        let st = inode.state.read();
        st.check_live()?;
        Ok(st.attr(ino))
    }

    /// The attributes of `ino` and its birth time (statx's `btime`, which [`FileAttr`] does
    /// not carry), read together. Does not change lookup counts.
    pub fn getattr_with_btime(&self, ino: Ino) -> Result<(FileAttr, Timestamp), Errno> {
        let inode = self.table.get(ino)?;
        let st = inode.state.read();
        st.check_live()?;
        Ok((st.attr(ino), st.time(Time::B)))
    }

    /// Drops `nlookup` kernel references to `ino` (FUSE FORGET). Frees the inode when it has
    /// no name, no lookup reference and no open handle left. Unknown inodes are ignored, as
    /// FORGET has no reply.
    pub fn forget(&self, ino: Ino, nlookup: u64) {
        let Ok(inode) = self.table.get(ino) else {
            return;
        };
        let mut st = inode.state.write();
        st.lookups = st.lookups.saturating_sub(nlookup);
        self.free_if_unused(ino, &mut st);
    }

    /// The kernel connection ended (unmount or abort): the kernel now holds no lookup
    /// reference and no open handle, and may never send the FORGETs and RELEASEs for them.
    /// Drops them all, with every lock, and frees what only they kept alive (unlinked files);
    /// named files stay, so the same engine can be served again by a new connection. Only
    /// for an engine served by one connection at a time (the adapter calls it from
    /// `destroy`): another live connection's references would be dropped too.
    pub fn connection_ended(&self) {
        let handles = self.handles.drain();
        self.locks.clear();
        for (_, h) in handles {
            if let Ok(inode) = self.table.get(h.ino) {
                let mut st = inode.state.write();
                st.opens = st.opens.saturating_sub(1);
            }
        }
        for ino in self.table.inos() {
            if let Ok(inode) = self.table.get(ino) {
                let mut st = inode.state.write();
                st.lookups = 0;
                self.free_if_unused(ino, &mut st);
            }
        }
    }

    /// FUSE BATCH_FORGET: [`MemFs::forget`] for each `(ino, nlookup)`.
    pub fn batch_forget(&self, items: &[(Ino, u64)]) {
        for &(ino, n) in items {
            self.forget(ino, n);
        }
    }

    /// Filesystem numbers for `statfs(2)`. With no byte limit, `blocks`/`bfree`/`bavail` are 0
    /// (as tmpfs mounted with `size=0`); likewise `files`/`ffree` with no inode limit.
    pub fn statfs(&self) -> Statfs {
        let (blocks, bfree) = match self.usage.max_bytes() {
            u64::MAX => (0, 0),
            max => {
                let total = max / PAGE_SIZE;
                (
                    total,
                    total.saturating_sub(self.usage.bytes().div_ceil(PAGE_SIZE)),
                )
            }
        };
        let (files, ffree) = match self.usage.max_inodes() {
            u64::MAX => (0, 0),
            max => (max, max.saturating_sub(self.usage.inodes())),
        };
        Statfs {
            blocks,
            bfree,
            bavail: bfree,
            files,
            ffree,
            bsize: PAGE_SIZE as u32,
            namelen: NAME_MAX as u32,
            frsize: PAGE_SIZE as u32,
        }
    }

    /// Live counts, for tests and monitoring.
    pub fn stats(&self) -> Stats {
        Stats {
            inodes: self.table.len(),
            inode_slots: self.usage.inodes(),
            bytes_used: self.usage.bytes(),
            open_handles: self.handles.len(),
        }
    }

    /// Frees the inode if nothing keeps it alive any more: no name (nlink 0), no lookup
    /// reference, no open handle. Called with the inode's lock held; takes only leaf locks.
    ///
    /// A file with no name and no open handle can never be read again (the kernel's lookup
    /// reference alone gives no access to its data), so its data pages are returned at once,
    /// as tmpfs returns them at the last close: `df` and the byte limit see the space free
    /// without waiting for the kernel's lazy FORGET.
    pub(crate) fn free_if_unused(&self, ino: Ino, st: &mut State) {
        if ino == ROOT_ID || st.is_dead() || st.nlink != 0 || st.opens != 0 {
            return;
        }
        if st.lookups != 0 {
            if let Content::File(pages) = &mut st.content {
                let bytes = pages.clear();
                if bytes != 0 {
                    self.usage.uncharge_bytes(bytes);
                    st.size = 0;
                }
            }
            return;
        }
        st.flags |= DEAD;
        let bytes = match &mut st.content {
            Content::File(pages) => pages.clear(),
            Content::Symlink(target) => target.len() as u64,
            Content::Dir(_) | Content::Special(_) => 0,
        };
        st.content = Content::Special(0);
        let xattr_bytes = st.xattrs.take().map_or(0, |x| x.charged_bytes());
        self.usage.uncharge_bytes(bytes + xattr_bytes);
        self.usage.uncharge_inode();
        self.locks.forget_inode(ino);
        self.table.remove(ino);
    }

    /// Takes one lookup reference on a live, named (or linkable) inode and returns its
    /// attributes, or `None` if it has been unlinked/freed meanwhile.
    pub(crate) fn take_lookup(&self, ino: Ino, inode: &Arc<Inode>) -> Option<FileAttr> {
        let mut st = inode.state.write();
        if st.is_dead() || st.nlink == 0 {
            return None;
        }
        st.lookups += 1;
        Some(st.attr(ino))
    }
}
