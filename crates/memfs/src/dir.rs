//! The entries of one directory, with stable readdir cookies.
//!
//! Entries live in a `BTreeMap` ordered by cookie (assigned from a per-directory counter at
//! insert, never reused), so a listing resumed from any cookie continues exactly after it:
//! concurrent inserts and removals never duplicate or skip an entry that survives the whole
//! listing. A hash index from name to cookie makes lookup independent of directory size
//! (one hash probe plus one `O(log n)` map access). Cookies 1 and 2 are "." and "..".

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::types::{FileType, Ino};

/// Cookie of ".".
pub(crate) const DOT_COOKIE: u64 = 1;
/// Cookie of "..".
pub(crate) const DOTDOT_COOKIE: u64 = 2;
const FIRST_COOKIE: u64 = 3;

const KIND_SHIFT: u32 = 60;
const INO_MASK: u64 = (1 << KIND_SHIFT) - 1;

const KINDS: [FileType; 7] = [
    FileType::RegularFile,
    FileType::Directory,
    FileType::Symlink,
    FileType::CharDevice,
    FileType::BlockDevice,
    FileType::NamedPipe,
    FileType::Socket,
];

/// One entry: the name and the inode number with its type packed in the top bits.
#[derive(Debug)]
pub(crate) struct Entry {
    name: Box<[u8]>,
    ino_kind: u64,
}

impl Entry {
    fn new(name: &[u8], ino: Ino, kind: FileType) -> Entry {
        debug_assert!(ino <= INO_MASK);
        let k = KINDS.iter().position(|&k| k == kind).unwrap_or(0) as u64;
        Entry {
            name: name.into(),
            ino_kind: ino | (k << KIND_SHIFT),
        }
    }

    pub(crate) fn name(&self) -> &[u8] {
        &self.name
    }

    pub(crate) fn ino(&self) -> Ino {
        self.ino_kind & INO_MASK
    }

    pub(crate) fn kind(&self) -> FileType {
        KINDS[(self.ino_kind >> KIND_SHIFT) as usize]
    }
}

/// A directory's entries (not "." and "..") plus its parent pointer.
#[derive(Debug)]
pub(crate) struct Dir {
    entries: BTreeMap<u64, Entry>,
    index: HashTable<u64>,
    hasher: DefaultHashBuilder,
    next_cookie: u64,
    /// The parent directory (the root is its own parent). Changed only by cross-directory
    /// renames, which hold the filesystem's rename lock.
    pub(crate) parent: Ino,
}

impl Dir {
    pub(crate) fn new(parent: Ino) -> Dir {
        Dir {
            entries: BTreeMap::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            next_cookie: FIRST_COOKIE,
            parent,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn cookie_of(&self, name: &[u8]) -> Option<u64> {
        let hash = self.hasher.hash_one(name);
        let entries = &self.entries;
        self.index
            .find(hash, |c| entries.get(c).is_some_and(|e| &*e.name == name))
            .copied()
    }

    /// The entry called `name`.
    pub(crate) fn get(&self, name: &[u8]) -> Option<&Entry> {
        self.cookie_of(name).and_then(|c| self.entries.get(&c))
    }

    /// Adds `name`; the caller has checked it is absent. Returns its cookie.
    pub(crate) fn insert(&mut self, name: &[u8], ino: Ino, kind: FileType) -> u64 {
        debug_assert!(self.get(name).is_none(), "duplicate directory entry");
        let cookie = self.next_cookie;
        self.next_cookie += 1;
        self.entries.insert(cookie, Entry::new(name, ino, kind));
        let hash = self.hasher.hash_one(name);
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index
            .insert_unique(hash, cookie, |c| match entries.get(c) {
                Some(e) => hasher.hash_one(&*e.name),
                None => 0,
            });
        cookie
    }

    /// Removes `name`, returning its inode and type.
    pub(crate) fn remove(&mut self, name: &[u8]) -> Option<(Ino, FileType)> {
        let hash = self.hasher.hash_one(name);
        let entries = &self.entries;
        let slot = self
            .index
            .find_entry(hash, |c| entries.get(c).is_some_and(|e| &*e.name == name))
            .ok()?;
        let (cookie, _) = slot.remove();
        let entry = self.entries.remove(&cookie)?;
        if self.index.capacity() > 64 && self.index.len() * 4 < self.index.capacity() {
            let (entries, hasher) = (&self.entries, &self.hasher);
            self.index.shrink_to_fit(|c| match entries.get(c) {
                Some(e) => hasher.hash_one(&*e.name),
                None => 0,
            });
        }
        Some((entry.ino(), entry.kind()))
    }

    /// Points the existing entry `name` at another inode, keeping its cookie (rename over an
    /// existing name, exchange). Returns the previous inode and type.
    pub(crate) fn retarget(
        &mut self,
        name: &[u8],
        ino: Ino,
        kind: FileType,
    ) -> Option<(Ino, FileType)> {
        let cookie = self.cookie_of(name)?;
        let e = self.entries.get_mut(&cookie)?;
        let old = (e.ino(), e.kind());
        *e = Entry::new(name, ino, kind);
        Some(old)
    }

    /// Entries with a cookie greater than `after`, in cookie order.
    /// The cookie the next inserted entry gets.
    pub(crate) fn next_cookie(&self) -> u64 {
        self.next_cookie
    }

    pub(crate) fn after(&self, after: u64) -> impl Iterator<Item = (u64, &Entry)> {
        self.entries
            .range(after.saturating_add(1).max(FIRST_COOKIE)..)
            .map(|(&c, e)| (c, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove() {
        let mut d = Dir::new(1);
        let c1 = d.insert(b"a", 10, FileType::RegularFile);
        let c2 = d.insert(b"b", 11, FileType::Directory);
        assert!(c2 > c1 && c1 >= FIRST_COOKIE);
        assert_eq!(
            d.get(b"b").map(|e| (e.ino(), e.kind())),
            Some((11, FileType::Directory))
        );
        assert_eq!(d.remove(b"a"), Some((10, FileType::RegularFile)));
        assert!(d.get(b"a").is_none());
        assert_eq!(d.remove(b"a"), None);
        let c3 = d.insert(b"a", 12, FileType::Symlink);
        assert!(c3 > c2, "cookies are never reused");
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn listing_survives_concurrent_changes() {
        let mut d = Dir::new(1);
        for i in 0..100u64 {
            d.insert(format!("f{i}").as_bytes(), 100 + i, FileType::RegularFile);
        }
        let mut seen = Vec::new();
        let mut off = 0;
        let mut rounds = 0;
        loop {
            rounds += 1;
            let batch: Vec<(u64, Vec<u8>)> = d
                .after(off)
                .take(7)
                .map(|(c, e)| (c, e.name().to_vec()))
                .collect();
            let Some(&(last, _)) = batch.last() else {
                break;
            };
            seen.extend(batch.into_iter().map(|(_, n)| n));
            off = last;
            // Remove something already seen and something not yet seen, add something new.
            let seen_name = seen[seen.len() / 2].clone();
            d.remove(&seen_name);
            if rounds <= 10 {
                d.insert(
                    format!("new{off}").as_bytes(),
                    1000 + off,
                    FileType::RegularFile,
                );
            }
        }
        let mut names: Vec<_> = seen.iter().filter(|n| n.starts_with(b"f")).collect();
        let total = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), total, "no duplicates");
        assert_eq!(total, 100, "every original entry seen exactly once");
        assert_eq!(
            seen.iter().filter(|n| n.starts_with(b"new")).count(),
            10,
            "entries added later are seen"
        );
    }

    #[test]
    fn retarget_keeps_cookie() {
        let mut d = Dir::new(1);
        let c = d.insert(b"x", 5, FileType::RegularFile);
        assert_eq!(
            d.retarget(b"x", 6, FileType::Directory),
            Some((5, FileType::RegularFile))
        );
        let (c2, e) = d.after(0).next().unwrap();
        assert_eq!((c2, e.ino(), e.kind()), (c, 6, FileType::Directory));
    }
}
