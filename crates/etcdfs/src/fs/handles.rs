//! The daemon's open handles: which inode each file handle opened, how many handles each inode
//! has (so that removing the last name of an open inode keeps it as an orphan), and the entry
//! list a directory handle took when it was opened (so readdir offsets stay stable while the
//! directory changes).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One directory entry as a directory handle lists it.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) ino: u64,
    /// `DT_*` type.
    pub(crate) typ: u32,
    pub(crate) name: Vec<u8>,
}

/// A directory handle: its directory and, once read, its listing.
type DirHandle = (u64, Option<Arc<Vec<Listed>>>);

#[derive(Debug, Default)]
struct Table {
    /// File handle → inode.
    files: HashMap<u64, u64>,
    /// Inode → open file handles.
    open: HashMap<u64, usize>,
    /// Directory handle → its directory and its listing (taken at the first readdir).
    dirs: HashMap<u64, DirHandle>,
    /// Open inodes a removal found open: they may have become orphans of this daemon, to be
    /// deleted at their last close.
    maybe_orphans: HashSet<u64>,
    /// Inodes whose open record (`P h <ino> <session>`) this daemon wrote: dropped at their
    /// last close.
    recorded: HashSet<u64>,
}

/// What closing a file handle leaves to do in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LastClose {
    pub(crate) ino: u64,
    /// The daemon wrote an open record for the inode.
    pub(crate) recorded: bool,
    /// A removal found the inode open: it may be an orphan now.
    pub(crate) maybe_orphan: bool,
}

/// Open file and directory handles.
#[derive(Debug, Default)]
pub(crate) struct Handles {
    next: AtomicU64,
    table: Mutex<Table>,
}

impl Handles {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A new file handle on `ino`, and whether it is the inode's first handle here.
    pub(crate) fn open_file(&self, ino: u64) -> (u64, bool) {
        let fh = self.fresh();
        let mut t = self.lock();
        t.files.insert(fh, ino);
        let count = t.open.entry(ino).or_default();
        *count += 1;
        (fh, *count == 1)
    }

    /// The inode file handle `fh` opened.
    pub(crate) fn ino_of(&self, fh: u64) -> Option<u64> {
        self.lock().files.get(&fh).copied()
    }

    /// A new file handle on `ino`, an inode born as an orphan of this daemon (O_TMPFILE): its
    /// last close must ask the store whether it is still one.
    pub(crate) fn open_orphan(&self, ino: u64) -> u64 {
        let (fh, _) = self.open_file(ino);
        self.lock().maybe_orphans.insert(ino);
        fh
    }

    /// The daemon wrote `ino`'s open record.
    pub(crate) fn set_recorded(&self, ino: u64) {
        self.lock().recorded.insert(ino);
    }

    /// Closes file handle `fh`; returns what the store must learn when that was its inode's
    /// last handle here.
    pub(crate) fn close_file(&self, fh: u64) -> Option<LastClose> {
        let mut t = self.lock();
        let ino = t.files.remove(&fh)?;
        let maybe_orphan = Self::unref(&mut t, ino)?;
        let recorded = t.recorded.remove(&ino);
        Some(LastClose {
            ino,
            recorded,
            maybe_orphan,
        })
    }

    /// Drops one handle of `ino`; when that was its last handle, returns whether a removal
    /// found it open (it may be an orphan now).
    fn unref(t: &mut Table, ino: u64) -> Option<bool> {
        let count = t.open.get_mut(&ino)?;
        *count -= 1;
        if *count > 0 {
            return None;
        }
        t.open.remove(&ino);
        Some(t.maybe_orphans.remove(&ino))
    }

    /// Whether any file or directory handle of this daemon has `ino` open. Asked by removals
    /// about the inode losing a name: an open one is remembered as a possible orphan.
    pub(crate) fn is_open(&self, ino: u64) -> bool {
        let mut t = self.lock();
        let open = t.open.contains_key(&ino);
        if open {
            t.maybe_orphans.insert(ino);
        }
        open
    }

    /// Whether any handle of this daemon has `ino` open (no side effect, unlike
    /// [`Handles::is_open`]).
    pub(crate) fn has_handles(&self, ino: u64) -> bool {
        self.lock().open.contains_key(&ino)
    }

    /// A new directory handle on directory `ino` (an open directory counts as open: removed,
    /// it stays until closed).
    pub(crate) fn open_dir(&self, ino: u64) -> u64 {
        let fh = self.fresh();
        let mut t = self.lock();
        t.dirs.insert(fh, (ino, None));
        *t.open.entry(ino).or_default() += 1;
        fh
    }

    /// The listing of directory handle `fh`, if it has one yet.
    pub(crate) fn listing(&self, fh: u64) -> Option<Arc<Vec<Listed>>> {
        self.lock().dirs.get(&fh).and_then(|(_, l)| l.clone())
    }

    /// Stores the listing of directory handle `fh` (ignored if the handle was closed).
    pub(crate) fn set_listing(&self, fh: u64, listing: Arc<Vec<Listed>>) {
        if let Some(slot) = self.lock().dirs.get_mut(&fh) {
            slot.1 = Some(listing);
        }
    }

    /// Closes directory handle `fh`; returns its directory when that was its last handle and
    /// it may be an orphan.
    pub(crate) fn close_dir(&self, fh: u64) -> Option<u64> {
        let mut t = self.lock();
        let (ino, _) = t.dirs.remove(&fh)?;
        Self::unref(&mut t, ino)?.then_some(ino)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_close_names_the_inode() {
        let h = Handles::default();
        let (a, first) = h.open_file(7);
        assert!(first);
        let (b, first) = h.open_file(7);
        assert!(!first);
        h.set_recorded(7);
        assert!(h.is_open(7));
        assert_eq!(h.close_file(a), None);
        assert!(h.is_open(7));
        assert_eq!(
            h.close_file(b),
            Some(LastClose {
                ino: 7,
                recorded: true,
                maybe_orphan: true
            })
        );
        assert!(!h.is_open(7));
        assert_eq!(
            h.close_file(b),
            None,
            "a second close of one handle is ignored"
        );
    }

    #[test]
    fn a_born_orphan_is_named_at_its_last_close() {
        let h = Handles::default();
        let a = h.open_orphan(9);
        let (b, _) = h.open_file(9);
        assert_eq!(h.close_file(b), None);
        assert_eq!(
            h.close_file(a),
            Some(LastClose {
                ino: 9,
                recorded: false,
                maybe_orphan: true
            })
        );
        // An ordinary file no removal found open, without an open record: nothing to do.
        let (c, _) = h.open_file(10);
        assert_eq!(
            h.close_file(c),
            Some(LastClose {
                ino: 10,
                recorded: false,
                maybe_orphan: false
            })
        );
    }
}
