//! Building and parsing keys under one prefix.

use super::varint;
use crate::store::prefix_end;

const NEXT: u8 = b'n';
const INODE: u8 = b'i';
const ENTRY: u8 = b'd';
const XATTR: u8 = b'x';
const CHUNK: u8 = b'c';
const ORPHAN: u8 = b'o';
const SESSION: u8 = b's';
const OPEN: u8 = b'h';
const LOCK: u8 = b'l';
/// The kind byte of a POSIX (and OFD) record lock key.
const LOCK_POSIX: u8 = b'p';
/// The kind byte of a flock key.
const LOCK_FLOCK: u8 = b'f';

/// The keys of one etcdfs tree.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: Vec<u8>,
}

/// What a key under the prefix is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedKey {
    Next,
    Inode(u64),
    Entry {
        parent: u64,
        name: Vec<u8>,
    },
    Xattr {
        ino: u64,
        name: Vec<u8>,
    },
    Chunk {
        ino: u64,
        index: u64,
    },
    Orphan(u64),
    Session(i64),
    /// A daemon session holds the inode open.
    Open {
        ino: u64,
        lease: i64,
    },
    /// `P l <ino>`: the inode's lock version, bumped by every lock change.
    LockVersion(u64),
    /// `P l <ino> <kind> <lease> <owner>`: one owner's locks of one kind on an inode.
    Lock {
        ino: u64,
        flock: bool,
        lease: i64,
        owner: u64,
    },
}

impl Keys {
    /// Keys under `prefix` (e.g. `b"/fs1/"`).
    pub fn new(prefix: impl Into<Vec<u8>>) -> Keys {
        Keys {
            prefix: prefix.into(),
        }
    }

    /// The prefix itself.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    fn tagged(&self, tag: u8, ino: Option<u64>) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + 12);
        k.extend_from_slice(&self.prefix);
        k.push(tag);
        if let Some(ino) = ino {
            varint::put(&mut k, ino);
        }
        k
    }

    /// `P n`.
    pub fn next(&self) -> Vec<u8> {
        self.tagged(NEXT, None)
    }

    /// `P i <ino>`.
    pub fn inode(&self, ino: u64) -> Vec<u8> {
        self.tagged(INODE, Some(ino))
    }

    /// `P d <parent> <name>`.
    pub fn entry(&self, parent: u64, name: &[u8]) -> Vec<u8> {
        let mut k = self.entries(parent);
        k.extend_from_slice(name);
        k
    }

    /// `P d <parent>`: the prefix of a directory's entries.
    pub fn entries(&self, parent: u64) -> Vec<u8> {
        self.tagged(ENTRY, Some(parent))
    }

    /// `P x <ino> <name>`.
    pub fn xattr(&self, ino: u64, name: &[u8]) -> Vec<u8> {
        let mut k = self.xattrs(ino);
        k.extend_from_slice(name);
        k
    }

    /// `P x <ino>`: the prefix of an inode's xattrs.
    pub fn xattrs(&self, ino: u64) -> Vec<u8> {
        self.tagged(XATTR, Some(ino))
    }

    /// `P c <ino> <index>`; the index is 8 bytes big endian, so an inode's chunks sort in
    /// file order and "every chunk from index k on" is one key range.
    pub fn chunk(&self, ino: u64, index: u64) -> Vec<u8> {
        let mut k = self.chunks(ino);
        k.extend_from_slice(&index.to_be_bytes());
        k
    }

    /// `P c <ino>`: the prefix of an inode's chunks.
    pub fn chunks(&self, ino: u64) -> Vec<u8> {
        self.tagged(CHUNK, Some(ino))
    }

    /// `P o <ino>`.
    pub fn orphan(&self, ino: u64) -> Vec<u8> {
        self.tagged(ORPHAN, Some(ino))
    }

    /// `P o`: the prefix of every orphan.
    pub fn orphans(&self) -> Vec<u8> {
        self.tagged(ORPHAN, None)
    }

    /// `P h <ino> <lease>`: the session `lease` holds `ino` open (attached to the lease).
    pub fn open(&self, ino: u64, lease: i64) -> Vec<u8> {
        let mut k = self.opens(ino);
        k.extend_from_slice(&lease.to_be_bytes());
        k
    }

    /// `P h <ino>`: the prefix of the sessions holding `ino` open.
    pub fn opens(&self, ino: u64) -> Vec<u8> {
        self.tagged(OPEN, Some(ino))
    }

    /// `P s <lease>`.
    pub fn session(&self, lease: i64) -> Vec<u8> {
        let mut k = self.tagged(SESSION, None);
        k.extend_from_slice(&lease.to_be_bytes());
        k
    }

    /// `P l <ino>`: the inode's lock version key, also the prefix of its lock records.
    pub fn locks(&self, ino: u64) -> Vec<u8> {
        self.tagged(LOCK, Some(ino))
    }

    /// `P l <ino> <kind> <lease> <owner>` (kind `p` for POSIX, `f` for flock; lease and owner
    /// 8 bytes big endian): the locks of one owner of one daemon.
    pub fn lock(&self, ino: u64, flock: bool, lease: i64, owner: u64) -> Vec<u8> {
        let mut k = self.locks(ino);
        k.push(if flock { LOCK_FLOCK } else { LOCK_POSIX });
        k.extend_from_slice(&lease.to_be_bytes());
        k.extend_from_slice(&owner.to_be_bytes());
        k
    }

    /// Prefixes of the key kinds whose values are small metadata (counter, inodes, entries,
    /// orphans, locks), as opposed to chunks and xattrs, whose values may be large.
    pub fn metadata_sections(&self) -> [Vec<u8>; 5] {
        [
            self.tagged(NEXT, None),
            self.tagged(INODE, None),
            self.tagged(ENTRY, None),
            self.tagged(ORPHAN, None),
            self.tagged(LOCK, None),
        ]
    }

    /// `[start, end)` of every key but file data: entries, inodes, the counter, orphans,
    /// sessions, locks and xattrs (the daemon's metadata cache mirrors these). Chunk keys sort before
    /// all of them.
    pub fn cached_range(&self) -> (Vec<u8>, Vec<u8>) {
        (self.tagged(ENTRY, None), prefix_end(&self.prefix))
    }

    /// `[start, end)` of every key of the tree.
    pub fn all(&self) -> (Vec<u8>, Vec<u8>) {
        (self.prefix.clone(), prefix_end(&self.prefix))
    }

    /// Tells what `key` (a full key, with the prefix) is; `None` if it is not one of ours.
    pub fn parse(&self, key: &[u8]) -> Option<ParsedKey> {
        let rest = key.strip_prefix(self.prefix.as_slice())?;
        let (&tag, mut rest) = rest.split_first()?;
        let parsed = match tag {
            NEXT if rest.is_empty() => ParsedKey::Next,
            SESSION => ParsedKey::Session(i64::from_be_bytes(rest.try_into().ok()?)),
            _ => {
                let ino = varint::get(&mut rest)?;
                match tag {
                    INODE if rest.is_empty() => ParsedKey::Inode(ino),
                    ORPHAN if rest.is_empty() => ParsedKey::Orphan(ino),
                    ENTRY if !rest.is_empty() => ParsedKey::Entry {
                        parent: ino,
                        name: rest.to_vec(),
                    },
                    XATTR if !rest.is_empty() => ParsedKey::Xattr {
                        ino,
                        name: rest.to_vec(),
                    },
                    OPEN => ParsedKey::Open {
                        ino,
                        lease: i64::from_be_bytes(rest.try_into().ok()?),
                    },
                    LOCK if rest.is_empty() => ParsedKey::LockVersion(ino),
                    LOCK if rest.len() == 17 => {
                        let flock = match rest[0] {
                            LOCK_POSIX => false,
                            LOCK_FLOCK => true,
                            _ => return None,
                        };
                        ParsedKey::Lock {
                            ino,
                            flock,
                            lease: i64::from_be_bytes(rest[1..9].try_into().ok()?),
                            owner: u64::from_be_bytes(rest[9..17].try_into().ok()?),
                        }
                    }
                    CHUNK => ParsedKey::Chunk {
                        ino,
                        index: u64::from_be_bytes(rest.try_into().ok()?),
                    },
                    _ => return None,
                }
            }
        };
        Some(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses_back() {
        let k = Keys::new(b"/t/".to_vec());
        let cases = [
            (k.next(), ParsedKey::Next),
            (k.inode(300), ParsedKey::Inode(300)),
            (
                k.entry(1, b"name"),
                ParsedKey::Entry {
                    parent: 1,
                    name: b"name".to_vec(),
                },
            ),
            (
                k.xattr(7, b"user.a"),
                ParsedKey::Xattr {
                    ino: 7,
                    name: b"user.a".to_vec(),
                },
            ),
            (
                k.chunk(9, 1000),
                ParsedKey::Chunk {
                    ino: 9,
                    index: 1000,
                },
            ),
            (k.orphan(5), ParsedKey::Orphan(5)),
            (k.session(-3), ParsedKey::Session(-3)),
            (k.open(5, 77), ParsedKey::Open { ino: 5, lease: 77 }),
            (k.locks(12), ParsedKey::LockVersion(12)),
            (
                k.lock(12, true, 77, u64::MAX),
                ParsedKey::Lock {
                    ino: 12,
                    flock: true,
                    lease: 77,
                    owner: u64::MAX,
                },
            ),
            (
                k.lock(300, false, 1, 0),
                ParsedKey::Lock {
                    ino: 300,
                    flock: false,
                    lease: 1,
                    owner: 0,
                },
            ),
        ];
        for (key, want) in cases {
            assert_eq!(k.parse(&key), Some(want));
        }
        assert_eq!(k.parse(b"/u/i\x01"), None);
        assert_eq!(k.parse(b"/t/i\x01x"), None);
        assert_eq!(k.parse(b"/t/d\x01"), None);
        assert_eq!(k.parse(b"/t/c\x01\x00"), None);
        let mut bad_kind = k.lock(1, false, 1, 1);
        bad_kind[5] = b'z';
        assert_eq!(k.parse(&bad_kind), None);
        assert_eq!(k.parse(&k.lock(1, false, 1, 1)[..10]), None);
        assert!(k.chunk(1, 255) < k.chunk(1, 256));
    }

    #[test]
    fn the_cached_range_holds_all_metadata_and_no_chunk() {
        let k = Keys::new(b"t/".to_vec());
        let (start, end) = k.cached_range();
        let inside = |key: &[u8]| key >= start.as_slice() && key < end.as_slice();
        for key in [
            k.next(),
            k.inode(1),
            k.entry(1, b"a"),
            k.xattr(7, b"user.x"),
            k.orphan(7),
            k.session(42),
            k.open(7, 42),
            k.locks(7),
            k.lock(7, false, 42, 9),
        ] {
            assert!(inside(&key), "{key:?} outside the cached range");
        }
        assert!(!inside(&k.chunk(7, 0)));
        assert!(!inside(&k.chunk(u64::MAX, u64::MAX)));
        assert!(!inside(b"u/i"));
    }

    #[test]
    fn keys_of_an_empty_file_are_short() {
        let k = Keys::new(b"/t/".to_vec());
        assert_eq!(k.inode(1000).len(), 3 + 1 + 2);
        assert_eq!(k.entry(1, b"f").len(), 3 + 1 + 1 + 1);
    }
}
